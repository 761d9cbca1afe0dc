#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end: the toll-fraud guard (issue 19) in front of Kamailio, which
# sends numbers starting with 0 to the provider: a sipp UAS at its own
# address (10.77.5.50, a [[calls.trunk]]) in a namespace of its own.
#   business hours (fraud.clock_offset makes it 10:30): the peer 10.77.4.40 (a
#     trunk, so its calls in are not decided) sends +881 and a national number:
#     the PBX forwards both, sipguard drops the +881 INVITE on its way to the
#     provider; extension 101 calls
#     national and mobile numbers, 999 and 112; sales user 102 calls 30 French
#     numbers (an allowed country): every call completes, no fraud lock, no ban;
#   03:00 (the offset changed by a reload): a compromised extension (103, its
#     real password, a new address) calls +881, UK 09 and a list of countries
#     not allowed at 1 call/s: none of them reaches the PBX with credentials (so
#     none reaches the gateway), the account is locked within 15 calls and its
#     address banned; unlocked, 103 calls a national number again;
#   104 dials a bad-list number: dropped, locked at once;
#   106 calls France slowly after hours: locked by its 30th call in the hour;
#   101 dials 999 and 112 at 03:00, and locked 104 dials 999: they reach the PBX.
# About 2 minutes. Usage: lab_fraud_e2e.sh [PATH/TO/sipguard]
# Exit 0 pass, 1 fail, 77 skip (not root, a peer missing, sipguard lacking what the lab needs).
set -euo pipefail
E2E_DIR=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=tools/lab/lib.sh
source "$E2E_DIR/../../tools/lab/lib.sh"
# shellcheck source=tools/lab/accounts.sh
source "$E2E_DIR/../../tools/lab/accounts.sh"
# shellcheck source=tests/e2e/checks.sh
source "$E2E_DIR/checks.sh"

e2e_lab_ready "${1:-}"
if ! "$SIPGUARD_BIN" fraud --help >/dev/null 2>&1; then
	echo "SKIP: $SIPGUARD_BIN has no fraud command" >&2
	exit 77
fi

pw() { awk -F';' -v u="$1" '$1 == u {print $2}' "$LAB_DIR/users.csv"; }
# offset_to HH:MM: fraud.clock_offset that makes the wall clock read HH:MM (UTC zone).
offset_to() {
	python3 -c 'import sys,time; h,m=map(int,sys.argv[1].split(":")); t=time.time(); d=int((h*3600+m*60-t%86400)%86400); d=d-86400 if d>43200 else d; print(("-" if d<0 else "+")+str(abs(d))+"s")' "$1"
}
fraud_config() { # fraud_config CLOCK_OFFSET
	cat <<-EOF

		[fraud]
		enabled = true
		country_code = "44"
		data_dir = "$LAB_ROOT/data/fraud"
		bad_number_files = ["$LAB_TMP/irsf.txt"]
		allow_countries = ["FR"]
		business_hours = "08:00-18:00"
		business_days = "mon-sun"
		clock_offset = "$1"

		[[calls.trunk]]
		name = "itsp"
		networks = ["$ITSP_IP/32"]

		[[calls.trunk]]
		name = "peer"
		networks = ["$TRUNK_IP/32"]
	EOF
}
# calls NS SRC USER NUMBERS INTERVAL [more fraudcall.py options]: JSON lines in $LAB_TMP/calls-USER-SRC.jsonl
calls() {
	local ns=$1 src=$2 user=$3 numbers=$4 interval=$5
	shift 5
	ip netns exec "$ns" timeout 300 python3 "$LAB_DIR/fraudcall.py" --src "$src" --dst "$PBX_IP" --user "$user" \
		--password "$(pw "$user")" --numbers "$numbers" --interval "$interval" "$@" >>"$LAB_TMP/calls-$user-$src.jsonl"
}
# answered FILE: "answered/calls"
answered() { python3 -c 'import json,sys; c=[json.loads(l) for l in open(sys.argv[1]) if "\"number\"" in l]; print(str(sum(1 for x in c if 200<=x["status"]<300))+"/"+str(len(c)))' "$1"; }
all_ok() { [ "${1%/*}" = "${1#*/}" ] && [ "${1#*/}" -gt 0 ]; }
# fraud_events ACCOUNT VERDICT: fraud lines of the ban log.
fraud_events() { grep '"event":"fraud"' "$SG_BANLOG" | grep -c "\"verdict\":\"$2\".*\"account\":\"$1\"" || true; }
# lock_seq ACCOUNT: the ban log's fraud line that locked the account.
lock_seq() { grep '"event":"fraud"' "$SG_BANLOG" | grep "\"verdict\":\"deny-and-lock\"" | grep "\"account\":\"$1\"" | grep -v '"reason":"locked"' | head -1; }
# pbx_saw NUMBER USER: INVITEs for NUMBER with USER's credentials that reached the PBX.
pbx_saw() { grep -c "SGLAB req .* m=INVITE ru=$1 .* au=$2\$" "$KAM_LOG" || true; }

lab_init
# The provider: a sipp UAS at its own address in a namespace of its own, a
# [[calls.trunk]]; Kamailio sends outside numbers there, so the PBX-to-trunk
# leg crosses sipguard's queue.
ITSP_IP=10.77.5.50
NS_ITSP=sglab-itsp-$LAB_ID
LAB_GW_ADDR=$ITSP_IP:5060
lab_pbx_up
lab_ns_add "$NS_ITSP"
ip -n "$NS_BR" link add v-itsp type veth peer name eth0 netns "$NS_ITSP"
ip -n "$NS_BR" link set v-itsp master br0 up
ip -n "$NS_ITSP" link set eth0 up
ip -n "$NS_ITSP" addr add "$ITSP_IP/16" dev eth0
ip netns exec "$NS_ITSP" timeout 600 sipp -sf "$LAB_DIR/scenarios/gateway-uas.xml" -i "$ITSP_IP" -p 5060 \
	-mi "$ITSP_IP" -mp 21000 -nostdin -trace_msg -message_file "$LAB_TMP/itsp-messages.log" >"$LAB_TMP/itsp.out" 2>&1 &
lab_track $!
lab_wait_udp "$NS_ITSP" 5060 "$ITSP_IP" || lab_die "the provider's UAS did not start"
# itsp_saw NUMBER: INVITEs for NUMBER that reached the provider.
itsp_saw() { grep -c "^INVITE sip:$1@" "$LAB_TMP/itsp-messages.log" || true; }
printf '# known IRSF numbers\n+447700900123\n' >"$LAB_TMP/irsf.txt"
LAB_SIPGUARD_EXTRA_CONFIG=$(fraud_config "$(offset_to 10:30)")
lab_sipguard_start
LAB_PROTECTED=1

# ---- business hours ----------------------------------------------------------
lab_log "10:30: 101 calls national and mobile numbers, 999 and 112; 102 calls 30 French numbers"
NAT="02079460001,07700900456,02079460002,07700900457,01614960000,07700900458"
calls "$NS_LEG" "$LEGIT_IP" 101 "$NAT" 0.5 &
P1=$!
FR=$(seq -f "00331426853%02g" 0 29 | paste -sd,)
calls "$NS_LEG" "$OFFICE_IP" 102 "$FR" 0.5
wait "$P1"
calls "$NS_LEG" "$LEGIT_IP" 101 "999,112" 0.5 --no-register
R101=$(answered "$LAB_TMP/calls-101-$LEGIT_IP.jsonl")
R102=$(answered "$LAB_TMP/calls-102-$OFFICE_IP.jsonl")
lab_log "10:30: the peer $TRUNK_IP (a trunk: its calls in are not decided) sends +881 and a national number; the PBX forwards both"
TRUNK_PW=$(awk -F';' '$1 == "trunk1" {print $2}' "$LAB_DIR/trunk.csv")
ip netns exec "$NS_LEG" timeout 60 python3 "$LAB_DIR/fraudcall.py" --src "$TRUNK_IP" --dst "$PBX_IP" --user trunk1 \
	--password "$TRUNK_PW" --numbers "00881631234568,02079460005" --interval 1.0 --timeout 3 \
	>>"$LAB_TMP/calls-trunk1.jsonl"
RTRUNK=$(answered "$LAB_TMP/calls-trunk1.jsonl")

# ---- 03:00 ---------------------------------------------------------------------
python3 - "$SG_CONFIG" "$(offset_to 03:00)" <<-'EOF'
	import re, sys
	p, off = sys.argv[1], sys.argv[2]
	s = open(p).read()
	open(p, "w").write(re.sub(r'clock_offset = "[^"]*"', f'clock_offset = "{off}"', s))
EOF
"$SIPGUARD_BIN" reload >/dev/null || lab_die "reload refused"
lab_log "03:00: 103 (compromised, $(atk_ip 1)) calls +881, 09 and countries not allowed at 1 call/s"
ATTACK="00881631234567,09098790000,004930123456,00390612345678,0034911234567,0012125550123,0061212345678,0055112345678,0086101234567,0091112345678,0081312345678,007495123456,00201234567,0027211234567,0090212345678,0030210123456,0048221234567,0046812345678"
calls "$NS_ATK" "$(atk_ip 1)" 103 "$ATTACK" 1.0 --timeout 2
LOCKED_103=$("$SIPGUARD_BIN" fraud --json | python3 -c 'import json,sys; print(sum(1 for l in json.load(sys.stdin)["locks"] if l["account"]=="103"))')
"$SIPGUARD_BIN" unlock 103 >/dev/null || true
calls "$NS_LEG" "$LEGIT_IP" 103 "02079460003" 1.0
R103_AFTER=$(answered "$LAB_TMP/calls-103-$LEGIT_IP.jsonl")

lab_log "03:00: 104 ($(atk_ip 2)) dials a bad-list number"
calls "$NS_ATK" "$(atk_ip 2)" 104 "07700900123,02079460004" 1.0 --timeout 2
lab_log "03:00: 106 ($(atk_ip 3)) calls France slowly: locked by its 30th call after hours"
FR2=$(seq -f "00331426854%02g" 0 34 | paste -sd,)
calls "$NS_ATK" "$(atk_ip 3)" 106 "$FR2" 1.2 --timeout 2 --hold 0.1
lab_log "03:00: 101 dials 999 and 112; locked 104 dials 999 from the office"
calls "$NS_LEG" "$LEGIT_IP" 101 "999,112" 0.5 --no-register
calls "$NS_LEG" "$OFFICE_IP" 104 "999" 0.5
sleep 1
"$SIPGUARD_BIN" fraud >"$LAB_TMP/fraud.txt" 2>&1 || true

# ---- checks --------------------------------------------------------------------
cat "$LAB_TMP/fraud.txt"
echo
check "business hours: 101's national and mobile calls all completed ($R101 incl. 999/112 answered 404 by the PBX)" \
	eq "$(python3 -c 'import json,sys; c=[json.loads(l) for l in open(sys.argv[1]) if "\"number\"" in l and not json.loads(l)["number"] in ("999","112")]; print(all(200<=x["status"]<300 for x in c) and len(c)==6)' "$LAB_TMP/calls-101-$LEGIT_IP.jsonl")" True
check "business hours: sales user 102's 30 calls to France all completed ($R102)" all_ok "$R102"
check "business hours: no lock and no ban for 101 and 102" \
	eq "$(fraud_events 101 deny-and-lock)$(fraud_events 102 deny-and-lock)$(lab_sipguard_bans_of "$LEGIT_IP")$(lab_sipguard_bans_of "$OFFICE_IP")" 0000
for n in 00881631234567 09098790000 004930123456; do
	check "03:00: $n never reached the PBX with 103's credentials ($(pbx_saw "$n" 103))" eq "$(pbx_saw "$n" 103)" 0
done
GW_SAW=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if "\"number\"" in l and 200<=json.loads(l)["status"]<300))' "$LAB_TMP/calls-103-$(atk_ip 1).jsonl")
check "03:00: none of 103's calls abroad was answered by the gateway ($GW_SAW)" eq "$GW_SAW" 0
check "PBX to trunk: the peer's +881 reached the PBX with credentials ($(pbx_saw 00881631234568 trunk1))" \
	le 1 "$(pbx_saw 00881631234568 trunk1)"
check "PBX to trunk: the PBX's INVITE for +881 never reached the provider ($(itsp_saw 00881631234568))" \
	eq "$(itsp_saw 00881631234568)" 0
check "PBX to trunk: decided on the leg to the trunk ($(grep '"event":"fraud"' "$SG_BANLOG" | grep -c '"account":"trunk1".*"direction":"to-trunk"' || true) deny events)" \
	eq "$(grep '"event":"fraud"' "$SG_BANLOG" | grep '"account":"trunk1"' | grep '"direction":"to-trunk"' | grep -c '"verdict":"deny' || true)" 1
check "PBX to trunk: the peer's national call completed, its +881 did not ($RTRUNK answered)" eq "$RTRUNK" 1/2
check "PBX to trunk: the peer's national call reached the provider ($(itsp_saw 02079460005))" \
	le 1 "$(itsp_saw 02079460005)"
check "PBX to trunk: 102's allowed French calls reached the provider through the trunk leg ($(itsp_saw 0033142685300))" \
	le 1 "$(itsp_saw 0033142685300)"
LOCK_LINE=$(lock_seq 103)
N_DENIED_BEFORE=$(grep '"event":"fraud"' "$SG_BANLOG" | grep '"account":"103"' | grep -n '"verdict":"deny-and-lock"' | head -1 | cut -d: -f1)
check "03:00: 103 locked within 15 calls (at fraud event ${N_DENIED_BEFORE:-never}: $(echo "$LOCK_LINE" | grep -o '"reason":"call[^"]*"'))" \
	le "${N_DENIED_BEFORE:-99}" 15
check "03:00: 103 was locked before the unlock ($LOCKED_103)" eq "$LOCKED_103" 1
check "03:00: the compromised address $(atk_ip 1) was banned ($(lab_sipguard_bans_of "$(atk_ip 1)") bans)" \
	le 1 "$(lab_sipguard_bans_of "$(atk_ip 1)")"
check "03:00: unlocked, 103 calls a national number again ($R103_AFTER)" all_ok "$R103_AFTER"
check "03:00: 104's bad-list number never reached the PBX ($(pbx_saw 07700900123 104))" eq "$(pbx_saw 07700900123 104)" 0
check "03:00: 104 locked at once by the bad-list hit" eq "$(grep '"account":"104"' "$SG_BANLOG" | grep '"event":"fraud"' | head -1 | grep -c '"reason":"bad-number".*"verdict":"deny-and-lock"\|"verdict":"deny-and-lock".*"reason":"bad-number"')" 1
N106=$(grep '"event":"fraud"' "$SG_BANLOG" | grep '"account":"106"' | grep '"verdict":"deny-and-lock"' | grep -v '"reason":"locked"' | grep -o '"count":[0-9]*' | head -1 | cut -d: -f2)
check "03:00: 106's slow calls after hours locked by its 30th call (${N106:-never})" le "${N106:-99}" 30
check "03:00: 101's 999 and 112 reached the PBX ($(pbx_saw 999 101) and $(pbx_saw 112 101), day and night)" \
	eq "$(pbx_saw 999 101)$(pbx_saw 112 101)" 22
check "03:00: locked 104's 999 reached the PBX ($(pbx_saw 999 104))" eq "$(pbx_saw 999 104)" 1
check "no fraud event for an emergency number" eq "$(grep '"event":"fraud"' "$SG_BANLOG" | grep -c '"class":"emergency"' || true)" 0

echo
echo "$PASS passed, $FAIL failed (ban log $SG_BANLOG, PBX log $KAM_LOG)"
[ "$FAIL" -eq 0 ]
