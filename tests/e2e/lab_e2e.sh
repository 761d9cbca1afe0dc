#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end: the lab (tools/lab) with sipguard protecting Kamailio, asserting
# what an operator would check. Usage: lab_e2e.sh [PATH/TO/sipguard]
# Exit 0 pass, 1 fail, 77 skip (not root, a peer missing, or sipguard lacking
# what the lab needs; the message says what).
#
# Each attack comes from a fresh attacker address in its own /24, so no unban
# is needed between attacks and prefix aggregation of one cannot pre-ban the next.
set -euo pipefail
# shellcheck source=tools/lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/lab/lib.sh"

[ -n "${1:-}" ] && SIPGUARD_BIN=$1
lab_require_peers
if ! lab_sipguard_available; then
	echo "SKIP: $LAB_SIPGUARD_MISSING" >&2
	exit 77
fi

# shellcheck source=tests/e2e/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

lab_init
lab_pbx_up
lab_sipguard_start
LAB_PROTECTED=1
lab_capture_start wire "udp"

REG1=$(lab_legit_register)
check "legit: all 10 users register before the attacks ($REG1)" eq "$REG1" "10/10"
LEGIT_CALLS=14
lab_legit_calls_start "$LEGIT_CALLS" 3000

# The ban log's lines for IP: exactly one ban (or prefix ban covering it), with
# a detector and a non-empty evidence object; `sipguard explain IP` shows it.
check_banlog() {
	local name=$1 ip=$2 out
	out=$(python3 - "$SG_BANLOG" "$ip" <<-'EOF'
		import sys, json, ipaddress
		ip = ipaddress.ip_address(sys.argv[2])
		bans = []
		for l in open(sys.argv[1]):
		    try:
		        e = json.loads(l)
		    except ValueError:
		        print(f"not JSON: {l.strip()}"); sys.exit(1)
		    if e.get("event") not in ("ban", "prefix_ban"):
		        continue
		    net = ipaddress.ip_network(f"{e['addr']}/{e.get('prefix_len', ip.max_prefixlen)}", strict=False)
		    if ip in net:
		        bans.append(e)
		if len(bans) != 1:
		    print(f"{len(bans)} ban lines"); sys.exit(1)
		e = bans[0]
		if not e.get("detector") or not isinstance(e.get("evidence"), dict) or not e["evidence"]:
		    print(f"no detector/evidence: {json.dumps(e)}"); sys.exit(1)
		print(e["detector"])
	EOF
	) || { bad "$name: ban log holds one JSON ban line with detector and evidence for $ip ($out)"; return; }
	ok "$name: ban log holds one JSON ban line for $ip, detector $out"
	local ex
	if ex=$("$SIPGUARD_BIN" explain --socket "$SIPGUARD_SOCKET" "$ip" 2>&1) && grep -q "$out" <<<"$ex"; then
		ok "$name: sipguard explain $ip shows the ban ($out)"
	else
		bad "$name: sipguard explain $ip does not show the $out ban: $(head -3 <<<"$ex")"
	fi
}

banned() { # banned IP -> epoch of the ban or empty
	local b
	read -r b _ < <(lab_sipguard_ban_of "$1")
	if [ "$b" != "-" ]; then echo "$b"; fi
}

k=0
FLOODS=()
run() { k=$((k + 1)); IP=$(atk_addr "$1" "$k"); lab_log "attack $k: $1 from $IP"; lab_attack "$1" "$k"; sleep 0.5; }

# svmap: banned on its first probe; a second scan gets nothing through.
run svmap
check "svmap: banned" test -n "$(banned "$IP")"
check "svmap: at most its first probe reached the PBX ($(lab_pbx_count "$IP"))" le "$(lab_pbx_count "$IP")" 1
lab_attack svmap "$k"
check "svmap: a second scan from the banned source reaches nothing ($(lab_pbx_count "$IP") in total)" le "$(lab_pbx_count "$IP")" 1
check "svmap: the scanner learnt nothing on its second run" eq "$(lab_attack_result svmap)" "nothing found"
check_banlog svmap "$IP"

for name in svwar-register svwar-invite svwar-register-ua svwar-invite-ua; do
	run "$name"
	n=$(lab_pbx_distinct_users "$IP")
	check "$name: banned" test -n "$(banned "$IP")"
	check "$name: at most 10 distinct extensions reached the PBX ($n)" le "$n" 10
	check_banlog "$name" "$IP"
done

for name in svcrack svcrack-ua; do
	run "$name"
	n=$(lab_pbx_auth_failures "$IP")
	check "$name: banned" test -n "$(banned "$IP")"
	check "$name: at most 5 failed authentications reached the PBX ($n)" le "$n" 5
	check "$name: the password was not found ($(lab_attack_result "$name"))" eq "$(lab_attack_result "$name")" "not cracked"
	check_banlog "$name" "$IP"
done

for name in flood-invite flood-register flood-invite6 flood-register6; do
	run "$name"
	b=$(banned "$IP")
	check "$name: banned" test -n "$b"
	FLOODS+=("$name|$IP|${b:-}")
	check_banlog "$name" "$IP"
done

# Forged BYE to a live call, and a check-sync NOTIFY.
lab_forged_call_start 7000
sleep 3
k=$((k + 1))
BYE_IP=$(atk_ip "$k")
lab_forged_bye "$k" >/dev/null || bad "forged BYE: could not learn the live dialog's tags"
k=$((k + 1))
NOTIFY_IP=$(atk_ip "$k")
lab_check_sync "$k" >/dev/null
lab_forged_call_wait
check "forged BYE from $BYE_IP never reached the PBX" eq "$(lab_pbx_count "$BYE_IP")" 0
check "the attacked call continued and completed ($FORGED_RESULT)" eq "$FORGED_RESULT" "1/1"
check "check-sync NOTIFY from $NOTIFY_IP never reached the PBX" eq "$(lab_pbx_count "$NOTIFY_IP")" 0

lab_legit_calls_wait
REG2=$(lab_legit_register)
lab_capture_stop wire

# Flood ban latency: from the first flood request on the wire to the ban.
for f in "${FLOODS[@]}"; do
	IFS="|" read -r name ip b <<<"$f"
	first=$(lab_wire_first_ts "$LAB_TMP/wire.pcap" "$ip")
	if [ -n "$b" ] && [ -n "$first" ]; then
		d=$(ms_between "$first" "$b")
		check "$name: banned within 100 ms of its first request (${d} ms; $(lab_pbx_count "$ip") of $(lab_wire_sent "$LAB_TMP/wire.pcap" "$ip") requests reached the PBX)" le "$d" 100
	else
		bad "$name: no ban time or no first request on the wire"
	fi
done

check "legit: all calls completed with RTP ($LEGIT_CALLS_RESULT)" eq "$LEGIT_CALLS_RESULT" "$LEGIT_CALLS/$LEGIT_CALLS"
check "legit: all 10 users register after the attacks ($REG2)" eq "$REG2" "10/10"
sent=$(lab_wire_sent "$LAB_TMP/wire.pcap" "$LEGIT_IP")
seen=$(lab_pbx_count "$LEGIT_IP")
check "legit: zero legitimate requests dropped ($sent sent, $seen reached the PBX)" eq "$sent" "$seen"
check "legit: zero legitimate bans" eq "$(lab_sipguard_bans_of "$LEGIT_IP")" 0
read -r rtp_out rtp_back < <(lab_rtp_counts "$LAB_TMP/wire.pcap")
check "legit: RTP flowed to the PBX and back through the pinholes ($rtp_out out, $rtp_back echoed)" \
	test "$rtp_out" -gt 1000 -a "$rtp_back" -ge $((rtp_out * 95 / 100))

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
