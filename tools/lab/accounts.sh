# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The lab's account scenarios (issue 18): what an address-only judgement gets
# wrong both ways. Sourced by tools/lab/lab and tests/e2e after lib.sh.
#
#   office-nat          ten phones behind one address (10.77.3.30, one source port per
#                       phone, users 100-109): 109 has an old password and retries REGISTER;
#                       the nine others re-register and call voicemail with RTP
#   trunk               one address (10.77.4.40), one account (trunk1), 20 calls/s then
#                       40 calls/s to outside numbers answered by the gateway UAS
#   enum-register, enum-invite            20 requests/s, a new source port per request
#   enum-register-rot3, enum-invite-rot3  20 requests/s, a new source port every 3 requests
#   enum-slow-register, enum-slow-invite  1 request per 10 s, a new source port every 3
#                       (all: extensions from 100, phone User-Agent, tools/lab/enum.py)
#   guess-spread        user 105's password guessed from 20 addresses in 20 /24s, 3 guesses
#                       each, interleaved (tools/lab/guess.py, svcrack-dict.txt: 1234 is the 40th)
#   guess-spread6       the same for user 107 (password not in the dictionary; another
#                       account, so the two runs do not share per-user state), one
#                       address per guess, 60 addresses of one /64
#
# ACCT_LONG=1 runs the issue's lengths (office 10 min with a 20 s retry, trunk 60 s
# at 20/s then 30 s at 40/s, slow enumeration of 60 extensions); otherwise the
# short ones the e2e test uses (office 90 s with an 8 s retry, trunk 15 s + 10 s,
# slow enumeration of 20 extensions = 200 s). Every generator runs under `timeout`
# with a bounded count.

ACCT_SCENARIOS=(office-nat trunk enum-register enum-invite enum-register-rot3 enum-invite-rot3
	enum-slow-register enum-slow-invite guess-spread guess-spread6)
OFFICE_BAD_USER=109
OFFICE_BAD_PORT=5109

acct_is_scenario() { [[ " ${ACCT_SCENARIOS[*]} " == *" $1 "* ]]; }

# acct_params: the lengths of this run (short or ACCT_LONG=1).
acct_params() {
	if [ "${ACCT_LONG:-0}" = 1 ]; then
		OFFICE_SECONDS=600 OFFICE_REG_EVERY=60 OFFICE_CALL_EVERY=60 OFFICE_BAD_EVERY=20
		TRUNK_SLOW_SECONDS=60 TRUNK_FAST_SECONDS=30 ENUM_SLOW_COUNT=60
	else
		# The bad phone retries every 8 s, not 5: brute_force.fast_window is 5 s, and a
		# retry inside it would test the svcrack rule instead of a phone's behaviour.
		OFFICE_SECONDS=90 OFFICE_REG_EVERY=20 OFFICE_CALL_EVERY=20 OFFICE_BAD_EVERY=8
		TRUNK_SLOW_SECONDS=15 TRUNK_FAST_SECONDS=10 ENUM_SLOW_COUNT=20
	fi
}

# acct_bg CMD...: run in the background, tracked; the PID is appended to ACCT_BG.
acct_bg() {
	"$@" &
	local pid=$!
	lab_track "$pid"
	ACCT_BG+=("$pid")
}

# acct_sipp_ok PLANNED STAT.csv...: "ok/PLANNED", ok summed over sipp statistics
# files; calls that sipp never placed (its -timeout came first) count as failed.
acct_sipp_ok() {
	local planned=$1 f ok=0 r
	shift
	for f in "$@"; do
		r=$(lab_sipp_result "$f")
		ok=$((ok + ${r%/*}))
	done
	echo "$ok/$planned"
}

# acct_office: sipp's -r 1 -rp P starts call k at k * P, so a phone's periodic
# sipp places its first registration or call one period after it starts; each
# phone registers once at the start (the office was working before), then
# re-registers and calls on its own port. -l 3 keeps the schedule when a request
# goes unanswered (a dropped REGISTER is retransmitted for 32 s, RFC 3261 Timer F).
acct_office() {
	acct_params
	local d=$OFFICE_SECONDS i u line off n reg_planned=0 call_planned=0
	ACCT_BG=()
	lab_log "office-nat: $d s, 9 good phones (re-register every $OFFICE_REG_EVERY s, call every $OFFICE_CALL_EVERY s)," \
		"phone $OFFICE_BAD_USER with an old password retrying every $OFFICE_BAD_EVERY s, all from $OFFICE_IP"
	i=0
	for u in 100 101 102 103 104 105 106 107 108; do
		line=$(grep "^$u;" "$LAB_DIR/users.csv")
		printf 'SEQUENTIAL\n%s\n' "$line" >"$LAB_TMP/office-$u.csv"
		acct_bg ip netns exec "$NS_LEG" timeout 30 sipp -sf "$LAB_DIR/scenarios/legit-register.xml" \
			-inf "$LAB_TMP/office-$u.csv" -i "$OFFICE_IP" -p $((5100 + i)) -m 1 -r 1 -rp 100 -timeout 20s -nostdin \
			-trace_stat -stf "$LAB_TMP/office-reg0-$u.csv" -cid_str "oreg0-%u-%p@%s" "$PBX_IP:5060" \
			>"$LAB_TMP/office-reg0-$u.log" 2>&1
		i=$((i + 1))
	done
	for u in "${ACCT_BG[@]}"; do wait "$u" 2>/dev/null || true; done
	ACCT_BG=()
	i=0
	for u in 100 101 102 103 104 105 106 107 108; do
		n=$(((d - 5) / OFFICE_REG_EVERY))
		reg_planned=$((reg_planned + 1 + n))
		acct_bg ip netns exec "$NS_LEG" timeout $((d + 45)) sipp -sf "$LAB_DIR/scenarios/legit-register.xml" \
			-inf "$LAB_TMP/office-$u.csv" -i "$OFFICE_IP" -p $((5100 + i)) -m "$n" -r 1 -rp $((OFFICE_REG_EVERY * 1000)) \
			-l 3 -timeout $((d + 40))s -nostdin -trace_stat -stf "$LAB_TMP/office-reg-$u.csv" -cid_str "oreg-%u-%p@%s" \
			"$PBX_IP:5060" >"$LAB_TMP/office-reg-$u.log" 2>&1
		# Calls spread over the office: phone i's sipp starts i * period / 9 s in.
		off=$((i * OFFICE_CALL_EVERY / 9))
		n=$(((d - off - 12) / OFFICE_CALL_EVERY))
		[ "$n" -ge 1 ] || n=1
		call_planned=$((call_planned + n))
		acct_bg bash -c 'sleep "$1"; shift; exec "$@"' _ "$off" ip netns exec "$NS_LEG" timeout $((d + 45)) sipp \
			-sf "$LAB_DIR/scenarios/legit-call.xml" -inf "$LAB_TMP/office-$u.csv" -i "$OFFICE_IP" -p $((5200 + i)) \
			-mi "$OFFICE_IP" -mp $((32000 + 100 * i)) -m "$n" -r 1 -rp $((OFFICE_CALL_EVERY * 1000)) -l 3 -d 2000 \
			-timeout $((d + 40))s -nostdin -trace_stat -stf "$LAB_TMP/office-call-$u.csv" -cid_str "ocall-%u-%p@%s" \
			"$PBX_IP:5060" >"$LAB_TMP/office-call-$u.log" 2>&1
		i=$((i + 1))
	done
	printf 'SEQUENTIAL\n%s;x;[authentication username=%s password=Lab-%s-old1]\n' "$OFFICE_BAD_USER" "$OFFICE_BAD_USER" \
		"$OFFICE_BAD_USER" >"$LAB_TMP/office-bad.csv"
	OFFICE_BAD_ATTEMPTS=$(((d - 5) / OFFICE_BAD_EVERY))
	acct_bg ip netns exec "$NS_LEG" timeout $((d + 45)) sipp -sf "$LAB_DIR/scenarios/bad-phone-register.xml" \
		-inf "$LAB_TMP/office-bad.csv" -i "$OFFICE_IP" -p "$OFFICE_BAD_PORT" -m "$OFFICE_BAD_ATTEMPTS" -r 1 -rp $((OFFICE_BAD_EVERY * 1000)) \
		-l 3 -timeout $((d + 40))s -nostdin -trace_stat -stf "$LAB_TMP/office-bad-stat.csv" -cid_str "obad-%u-%p@%s" \
		"$PBX_IP:5060" >"$LAB_TMP/office-bad.log" 2>&1
	for u in "${ACCT_BG[@]}"; do wait "$u" 2>/dev/null || true; done
	OFFICE_REG_RESULT=$(acct_sipp_ok "$reg_planned" "$LAB_TMP"/office-reg0-1??.csv "$LAB_TMP"/office-reg-1??.csv)
	OFFICE_CALL_RESULT=$(acct_sipp_ok "$call_planned" "$LAB_TMP"/office-call-1??.csv)
	lab_log "office-nat: good phones' registrations $OFFICE_REG_RESULT, calls $OFFICE_CALL_RESULT"
}

acct_gateway_start() {
	[ -n "${GW_PID:-}" ] && return 0
	ip netns exec "$NS_PBX" timeout "${LAB_VM_SECONDS:-900}" sipp -sf "$LAB_DIR/scenarios/gateway-uas.xml" \
		-i "$PBX_IP" -p "$GW_PORT" -mi "$PBX_IP" -mp 21000 -nostdin -trace_err -error_file "$LAB_TMP/gw-errors.log" \
		>"$LAB_TMP/gw.out" 2>&1 &
	GW_PID=$!
	lab_track "$GW_PID"
	lab_wait_udp "$NS_PBX" "$GW_PORT" "$PBX_IP" || lab_die "gateway UAS did not start"
}

# acct_trunk_phase NAME RATE SECONDS: RATE calls/s from the trunk for SECONDS, 1 s each.
acct_trunk_phase() {
	local name=$1 rate=$2 secs=$3
	ip netns exec "$NS_LEG" timeout $((secs + 40)) sipp -sf "$LAB_DIR/scenarios/trunk-call.xml" -inf "$LAB_DIR/trunk.csv" \
		-i "$TRUNK_IP" -p 5070 -mi "$TRUNK_IP" -mp 33000 -r "$rate" -m $((rate * secs)) -l 400 -d 1000 \
		-timeout $((secs + 30))s -nostdin -trace_stat -stf "$LAB_TMP/trunk-$name.csv" -trace_err \
		-error_file "$LAB_TMP/trunk-$name-errors.log" -cid_str "trunk-$name-%u-%p@%s" "$PBX_IP:5060" \
		>"$LAB_TMP/trunk-$name.log" 2>&1 || true
	acct_sipp_ok $((rate * secs)) "$LAB_TMP/trunk-$name.csv"
}

acct_trunk() {
	acct_params
	acct_gateway_start
	lab_log "trunk: account trunk1 from $TRUNK_IP, 20 calls/s for $TRUNK_SLOW_SECONDS s, then 40 calls/s for $TRUNK_FAST_SECONDS s"
	TRUNK_RESULT_20=$(acct_trunk_phase 20cps 20 "$TRUNK_SLOW_SECONDS")
	TRUNK_RESULT_40=$(acct_trunk_phase 40cps 40 "$TRUNK_FAST_SECONDS")
	lab_log "trunk: calls completed at 20/s $TRUNK_RESULT_20, at 40/s $TRUNK_RESULT_40"
}

# acct_enum NAME K [bg]: enum-{register,invite}[-rot3], enum-slow-{register,invite} from
# attacker address k; with "bg" in the background (tracked, PID appended to ACCT_BG).
acct_enum() {
	acct_params
	local name=$1 ip method=REGISTER rate=20 rotate=1 count=100 max=60 run=()
	ip=$(atk_ip "$2")
	[[ $name == *invite* ]] && method=INVITE
	[[ $name == *-rot3 ]] && rotate=3
	if [[ $name == enum-slow-* ]]; then
		rate=0.1 rotate=3 count=$ENUM_SLOW_COUNT max=$((ENUM_SLOW_COUNT * 10 + 20))
	fi
	[ "${3:-}" = bg ] && run=(acct_bg)
	"${run[@]}" ip netns exec "$NS_ATK" timeout $((max + 10)) python3 "$LAB_DIR/enum.py" --src "$ip" --dst "$PBX_IP" \
		--method "$method" --first 100 --count "$count" --rate "$rate" --rotate "$rotate" --max-time "$max" \
		>"$LAB_TMP/attack-$name.log" 2>&1 || true
}

# The sources of scenario NAME run as attack k, comma-separated (tally.py --src).
acct_sources() {
	local name=$1 k=$2 i out=()
	case $name in
	office-nat) echo "$OFFICE_IP" ;;
	trunk) echo "$TRUNK_IP" ;;
	enum-*) atk_ip "$k" ;;
	guess-spread) for i in $(seq 1 20); do out+=("$(guess_ip "$i")"); done; (IFS=,; echo "${out[*]}") ;;
	guess-spread6) echo "fd00:77:99::/64" ;;
	esac
}

acct_guess() {
	local name=$1 srcs
	if [ "$name" = guess-spread ]; then
		srcs=$(acct_sources "$name" 0)
	else
		local i out=()
		for i in $(seq 1 60); do out+=("$(guess_ip6 "$i")"); done
		srcs=$(IFS=,; echo "${out[*]}")
	fi
	local dst=$PBX_IP user=$LAB_WEAK_USER
	[ "$name" = guess-spread6 ] && dst=$PBX_IP6 user=107
	ip netns exec "$NS_ATK" timeout 60 python3 "$LAB_DIR/guess.py" --src "$srcs" --dst "$dst" --user "$user" \
		--dict "$LAB_DIR/svcrack-dict.txt" --count 60 --rate 5 --max-time 40 >"$LAB_TMP/attack-$name.log" 2>&1 || true
}

# acct_lifetimes: capture and UAS lifetimes that cover a long run (before lab_pbx_up).
acct_lifetimes() {
	acct_params
	if [ "${ACCT_LONG:-0}" = 1 ]; then
		export LAB_CAPTURE_SECONDS=1500 LAB_VM_SECONDS=1600
	fi
}

# acct_runs_from BASE NAME...: run the scenarios as attacks BASE+1.., the slow
# enumerations in the background beside the others when there are others.
# Sets ACCT_K_<name> (the attack number, see acct_k).
acct_runs_from() {
	local base=$1 k name slow=()
	shift
	k=$base
	for name in "$@"; do
		k=$((k + 1))
		printf -v "ACCT_K_${name//-/_}" '%s' "$k"
		if [[ $name == enum-slow-* ]] && [ $# -gt 1 ]; then
			lab_log "attack $k: $name from $(atk_ip "$k") (background)"
			ACCT_BG=()
			acct_enum "$name" "$k" bg
			slow+=("${ACCT_BG[@]}")
		fi
	done
	k=$base
	for name in "$@"; do
		k=$((k + 1))
		[[ $name == enum-slow-* ]] && [ $# -gt 1 ] && continue
		lab_log "attack $k: $name"
		acct_run "$name" "$k"
		sleep 0.5
	done
	local pid
	[ ${#slow[@]} -gt 0 ] && lab_log "waiting for the slow enumerations"
	for pid in "${slow[@]}"; do wait "$pid" 2>/dev/null || true; done
}

acct_k() { local v="ACCT_K_${1//-/_}"; echo "${!v}"; }

# acct_run NAME K: run scenario NAME (attack k for the enumerations) in the foreground.
acct_run() {
	case $1 in
	office-nat) acct_office ;;
	trunk) acct_trunk ;;
	enum-*) acct_enum "$1" "$2" ;;
	guess-spread | guess-spread6) acct_guess "$1" ;;
	*) lab_die "unknown scenario $1 (known: ${ACCT_SCENARIOS[*]})" ;;
	esac
}

acct_result() {
	local log=$LAB_TMP/attack-$1.log
	case $1 in
	enum-*) echo "$(sed -nE 's/^found ([0-9]+):.*/\1/p' "$log" | tail -1) ext found" ;;
	guess-*) if grep -q "found none" "$log"; then echo "not cracked"; elif grep -q "^guesses .* found " "$log"; then echo "password found"; else echo "?"; fi ;;
	*) echo "-" ;;
	esac
}

# acct_tally NAME K [--port P]: the figures of scenario NAME as JSON, computed once
# after the run (cached in $LAB_TMP/tally-NAME[-P].json; ACCT_TALLY_FILE names it).
acct_tally() {
	local name=$1 k=$2
	shift 2
	ACCT_TALLY_FILE=$LAB_TMP/tally-$name${2:+-$2}.json
	if [ ! -s "$ACCT_TALLY_FILE" ]; then
		local bl=()
		[ "${LAB_PROTECTED:-0}" = 1 ] && bl=(--banlog "$SG_BANLOG")
		python3 "$LAB_DIR/tally.py" --kam "$KAM_LOG" --wire "$(lab_wire_tsv "$LAB_TMP/wire.pcap")" "${bl[@]}" \
			--src "$(acct_sources "$name" "$k")" "$@" >"$ACCT_TALLY_FILE"
	fi
	cat "$ACCT_TALLY_FILE"
}

# acct_get JSON KEY: one figure ("-" when null).
acct_get() {
	python3 -c 'import json,sys; v=json.loads(sys.argv[1]).get(sys.argv[2])
print("-" if v is None else f"{v:.1f}" if isinstance(v, float) else ",".join(v) if isinstance(v, list) else v)' "$1" "$2"
}

acct_row() {
	local name=$1 k=$2 label
	label=$(acct_sources "$name" "$k")
	[ "$name" = guess-spread ] && label="20 addrs, /24s"
	[ "$name" = guess-spread6 ] && label="60 addrs, /64"
	acct_tally "$name" "$k" >/dev/null
	python3 "$LAB_DIR/tally.py" --figures "$ACCT_TALLY_FILE" --row "$name" "$label" "$(acct_result "$name")"
}

# acct_legit NAME K: the legitimate side and the scenario's own figures, one line.
acct_legit() {
	local name=$1 k=$2 j b
	case $name in
	office-nat)
		j=$(acct_tally "$name" "$k" --port "$OFFICE_BAD_PORT")
		local first last
		first=$(acct_get "$j" first_wire)
		last=$(acct_get "$j" last_pbx)
		b=$(acct_tally "$name" "$k")
		echo "office-nat ($OFFICE_SECONDS s): good phones 100-108: registrations $OFFICE_REG_RESULT, calls $OFFICE_CALL_RESULT;" \
			"bad phone $OFFICE_BAD_USER (every $OFFICE_BAD_EVERY s, $OFFICE_BAD_ATTEMPTS attempts): requests sent $(acct_get "$j" sent)," \
			"at PBX $(acct_get "$j" pbx) ($(acct_get "$j" creds) with credentials), auth failures $(acct_get "$j" fails)," \
			"last at PBX $(python3 -c "import sys; print('-' if '-' in sys.argv[1:] else f'+{float(sys.argv[2]) - float(sys.argv[1]):.0f} s')" "$first" "$last");" \
			"ban log for $OFFICE_IP: bans $(acct_get "$b" sources_banned), findings $(acct_get "$b" findings)"
		;;
	trunk)
		j=$(acct_tally "$name" "$k")
		echo "trunk: calls completed at 20/s $TRUNK_RESULT_20, at 40/s $TRUNK_RESULT_40; requests at PBX $(acct_get "$j" pbx) of $(acct_get "$j" sent) sent;" \
			"banned: $([ "$(acct_get "$j" sources_banned)" = 0 ] && echo no || echo "yes, after $(acct_get "$j" ban_after_s) s ($(acct_get "$j" detectors))"); findings $(acct_get "$j" findings)"
		;;
	enum-*)
		j=$(acct_tally "$name" "$k")
		echo "$name: extensions tried $(acct_get "$j" tries), before the ban $(acct_get "$j" tries_before_ban); at PBX $(acct_get "$j" users); $(acct_result "$name")"
		;;
	guess-*)
		j=$(acct_tally "$name" "$k")
		echo "$name: $(tail -1 "$LAB_TMP/attack-$name.log"); guesses (requests with credentials) at PBX $(acct_get "$j" creds);" \
			"sources banned $(acct_get "$j" sources_banned) of $(acct_get "$j" sources_sent)"
		;;
	esac
}
