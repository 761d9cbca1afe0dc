# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The lab's overload scenario (issue 20). Sourced by tools/lab/lab after lib.sh.
#
# For each configuration, in a fresh lab of its own (namespaces created and
# removed per configuration):
#   - the ten legitimate phones register (before the flood: they are the PBX's phones);
#   - a spoofed-source SIP flood (tools/lab/spoof_flood.c, built with cc) from
#     10.128.0.0/9, routed to the attacker namespace, so that no /24 aggregation
#     applies: INVITEs naming the real users in From, REGISTERs naming them in To,
#     a phone User-Agent, as fast as the machine sends, for OVL_SECONDS (20) s;
#   - one second in, a password guesser with a phone User-Agent from one real
#     address (tools/lab/guess.py, user 105, svcrack-dict.txt: 1234 is the 40th word,
#     5 guesses/s);
#   - the phones register three more times and place 9 calls to voicemail (sipp).
# Configurations: none (no sipguard), prefilter (sipguard's default config: the
# kernel pre-filter on, daemon.fail_open = true), open (prefilter.enabled = false,
# fail_open = true: the design before the pre-filter), closed (prefilter.enabled =
# false, fail_open = false), quiet (sipguard default, no flood: the guesser's
# baseline). Each writes OVL_OUT/CONFIG.json; overload_tally.py prints the table.

OVL_CONFIGS_DEFAULT=(none prefilter open closed quiet)
OVL_SPOOF_NET=10.128.0.0/9
OVL_GUESS_K=2 # the guesser's attacker address: atk_ip 2

ovl_log() { lab_log "overload[$OVL_CONFIG]: $*"; }

# CPU seconds (user + system, all threads) of the given PIDs.
ovl_cpu() {
	python3 - "$@" <<-'EOF'
		import os, sys
		tck = os.sysconf("SC_CLK_TCK")
		t = 0
		for p in sys.argv[1:]:
		    try:
		        f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
		        t += int(f[11]) + int(f[12])
		    except (OSError, IndexError, ValueError):
		        pass
		print(f"{t / tck:.2f}")
	EOF
}

# The Kamailio processes (it forks its workers) in the PBX namespace.
ovl_kamailio_pids() {
	local p
	for p in $(ip netns pids "$NS_PBX" 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = kamailio ] && echo "$p"
	done
}

# "queued dropped": packets the kernel numbered into sipguard's queues (id
# sequence) and the queues' own drops (queue full + socket full), all queues.
ovl_queue_stats() {
	ip netns exec "$NS_PBX" cat /proc/net/netfilter/nfnetlink_queue 2>/dev/null |
		awk '{q += $8; d += $6 + $7} END {printf "%d %d\n", q, d}'
}

# sipguard's Prometheus metrics (HTTP GET /metrics on its unix socket) into FILE.
# The first scrape also starts its failed-open count (docs/operations.md).
ovl_scrape() {
	curl -s --max-time 5 --unix-socket "$LAB_TMP/sipguard-metrics.sock" http://sipguard/metrics >"$1" 2>/dev/null || true
}

# A counting table of the lab's own in the PBX namespace: SIP datagrams into
# the input hook and out of the output hook, ahead of sipguard's queue rules
# (priority -20 < -10); bans in prerouting (raw) drop before it.
ovl_count_table() {
	ip netns exec "$NS_PBX" nft -f - <<-EOF
		table inet sglab_count {
			chain in { type filter hook input priority -20; policy accept; udp dport 5060 counter; }
			chain out { type filter hook output priority -20; policy accept; udp sport 5060 counter; }
		}
	EOF
}
ovl_count_read() {
	ip netns exec "$NS_PBX" nft -j list table inet sglab_count 2>/dev/null | python3 -c '
import json, sys
t = 0
try:
    for o in json.load(sys.stdin)["nftables"]:
        for e in o.get("rule", {}).get("expr", []):
            if "counter" in e:
                t += e["counter"]["packets"]
except Exception:
    pass
print(t)'
}

# ovl_one CONFIG OUTDIR: one configuration in a lab of its own (a subshell: its
# trap tears the namespaces down and stops what it started).
ovl_one() {
	(
		OVL_CONFIG=$1
		local out=$2 secs=${OVL_SECONDS:-20} flood=1 protect=1
		[ "$OVL_CONFIG" = none ] && protect=0
		[ "$OVL_CONFIG" = quiet ] && flood=0
		# shellcheck disable=SC2034 # lib.sh reads LAB_ID, LAB_PROTECTED, LAB_SIPGUARD_DAEMON_CONFIG
		LAB_ID=$$-$OVL_CONFIG
		export LAB_CAPTURE_SECONDS=$((secs + 60)) LAB_VM_SECONDS=$((secs + 120))
		lab_init
		lab_pbx_up
		# Replies to the spoofed sources go to the attacker namespace, which drops them.
		ip -n "$NS_PBX" route add "$OVL_SPOOF_NET" via "$(atk_ip 1)"
		ip netns exec "$NS_ATK" sysctl -qw net.ipv4.ip_forward=0
		LAB_PROTECTED=0
		if [ "$protect" = 1 ]; then
			lab_sipguard_available || lab_die "sipguard: $LAB_SIPGUARD_MISSING"
			# shellcheck disable=SC2034
			[ "$OVL_CONFIG" = closed ] && LAB_SIPGUARD_DAEMON_CONFIG="fail_open = false"
			# open/closed: today's design without the pre-filter, for comparison.
			# shellcheck disable=SC2034
			case $OVL_CONFIG in open | closed) LAB_SIPGUARD_EXTRA_CONFIG=$'[prefilter]\nenabled = false' ;; esac
			lab_sipguard_start
			# shellcheck disable=SC2034
			LAB_PROTECTED=1
		fi
		ovl_count_table
		local guesser legit_filter
		guesser=$(atk_ip "$OVL_GUESS_K")
		legit_filter="udp port 5060 and (host $guesser or host $LEGIT_IP)"
		lab_capture_start wire "$legit_filter"

		local reg0
		reg0=$(lab_legit_register)
		ovl_log "phones registered before the flood: $reg0"

		local kam_pids=() sg_cpu0=0 kam_cpu0 q0 c0 t0
		mapfile -t kam_pids < <(ovl_kamailio_pids)
		kam_cpu0=$(ovl_cpu "${kam_pids[@]}")
		[ "$protect" = 1 ] && sg_cpu0=$(ovl_cpu "$SIPGUARD_PID")
		[ "$protect" = 1 ] && ovl_scrape "$LAB_TMP/metrics0.txt"
		q0=$(ovl_queue_stats)
		c0=$(ovl_count_read)
		t0=$(date +%s.%N)

		local flood_pid=
		if [ "$flood" = 1 ]; then
			ovl_log "spoofed flood from $OVL_SPOOF_NET for $secs s"
			ip netns exec "$NS_ATK" timeout $((secs + 10)) "$OVL_FLOOD_BIN" --dst "$PBX_IP" \
				--net "${OVL_SPOOF_NET%/*}" --bits "${OVL_SPOOF_NET#*/}" --seconds "$secs" --count 20000000 \
				--rate "${OVL_RATE:-0}" \
				>"$LAB_TMP/flood.log" 2>&1 &
			flood_pid=$!
			lab_track "$flood_pid"
			sleep 1
		fi
		ovl_log "guesser from $guesser (user $LAB_WEAK_USER, phone User-Agent, 5 guesses/s)"
		ip netns exec "$NS_ATK" timeout $((secs + 10)) python3 "$LAB_DIR/guess.py" --src "$guesser" --dst "$PBX_IP" \
			--user "$LAB_WEAK_USER" --dict "$LAB_DIR/svcrack-dict.txt" --count 60 --rate 5 \
			--max-time $((secs - 2)) >"$LAB_TMP/guess.log" 2>&1 &
		local guess_pid=$!
		lab_track "$guess_pid"
		lab_legit_calls_start 9 2000
		local regs=() round
		for round in 1 2 3; do
			sleep 2
			ovl_log "phones register (round $round)"
			regs+=("$(lab_legit_register)")
		done
		wait "$guess_pid" 2>/dev/null || true
		lab_legit_calls_wait # calls sipp never placed count as failed (acct_sipp_ok)
		[ -n "$flood_pid" ] && { wait "$flood_pid" 2>/dev/null || true; }
		local t1 q1 c1 kam_cpu1 sg_cpu1=0
		t1=$(date +%s.%N)
		kam_cpu1=$(ovl_cpu "${kam_pids[@]}")
		[ "$protect" = 1 ] && sg_cpu1=$(ovl_cpu "$SIPGUARD_PID")
		[ "$protect" = 1 ] && ovl_scrape "$LAB_TMP/metrics1.txt"
		q1=$(ovl_queue_stats)
		c1=$(ovl_count_read)
		# sipguard's table as it stands (its pre-filter counters, once it has one).
		[ "$protect" = 1 ] && ip netns exec "$NS_PBX" nft -j list table inet sipguard >"$LAB_TMP/sipguard-table.json" 2>/dev/null
		lab_capture_stop wire
		local regs_after=0 regs_total=0 r
		for r in "${regs[@]}"; do
			regs_after=$((regs_after + ${r%/*}))
			regs_total=$((regs_total + 10))
		done
		local ban_ts=- det=- first
		first=$(lab_wire_first_ts "$LAB_TMP/wire.pcap" "$guesser")
		[ "$protect" = 1 ] && read -r ban_ts det < <(lab_sipguard_ban_of "$guesser")
		python3 "$LAB_DIR/overload_tally.py" --collect \
			--config "$OVL_CONFIG" --seconds "$secs" --kam "$KAM_LOG" --guesser "$guesser" --legit "$LEGIT_IP" \
			--flood-log "$LAB_TMP/flood.log" --guess-log "$LAB_TMP/guess.log" \
			--reg-before "$reg0" --reg-during "$regs_after/$regs_total" --calls "$(acct_sipp_ok 9 "$LEGIT_CALLS_STAT")" \
			--guess-first "${first:--}" --ban "${ban_ts:--}" --detector "${det:--}" \
			--sg-cpu "$(python3 -c "print(f'{$sg_cpu1 - $sg_cpu0:.2f}')")" \
			--kam-cpu "$(python3 -c "print(f'{$kam_cpu1 - $kam_cpu0:.2f}')")" \
			--wall "$(python3 -c "print(f'{$t1 - $t0:.1f}')")" \
			--queued "$((${q1% *} - ${q0% *}))" --queue-dropped "$((${q1#* } - ${q0#* }))" \
			--hooked "$((c1 - c0))" --protected "$protect" \
			--table-file "$LAB_TMP/sipguard-table.json" \
			--metrics-before "$LAB_TMP/metrics0.txt" --metrics-after "$LAB_TMP/metrics1.txt" \
			--banlog "${SG_BANLOG:--}" >"$out/$OVL_CONFIG.json"
		# The ban log, the metrics and sipp's call errors stay with the results, for the why.
		if [ "$protect" = 1 ]; then
			cp "$SG_BANLOG" "$out/$OVL_CONFIG-bans.log" 2>/dev/null || true
			cp "$LAB_TMP/metrics1.txt" "$out/$OVL_CONFIG-metrics.txt" 2>/dev/null || true
		fi
		cp "$LAB_TMP/legit-calls-errors.log" "$out/$OVL_CONFIG-calls-errors.log" 2>/dev/null || true
		ovl_log "$(cat "$out/$OVL_CONFIG.json")"
	)
}

# ovl_build: the flood generator, compiled into a directory of our own.
ovl_build() {
	OVL_BUILD_DIR=$(mktemp -d /tmp/sglab-ovl.XXXXXX)
	OVL_FLOOD_BIN=$OVL_BUILD_DIR/spoof_flood
	cc -O2 -o "$OVL_FLOOD_BIN" "$LAB_DIR/spoof_flood.c" || lab_die "cannot build tools/lab/spoof_flood.c (cc)"
}

# cmd_overload [--seconds S] [--rate PPS] [CONFIG...]: the configurations one after
# the other, one table. --rate caps the flood (default 0: as fast as it goes).
cmd_overload() {
	local configs=() a
	while [ $# -gt 0 ]; do
		case $1 in
		--seconds) OVL_SECONDS=$2; shift ;;
		--rate) OVL_RATE=$2; shift ;;
		none | prefilter | open | closed | quiet) configs+=("$1") ;;
		*) lab_die "overload: unknown argument $1 (configs: ${OVL_CONFIGS_DEFAULT[*]})" ;;
		esac
		shift
	done
	[ ${#configs[@]} -gt 0 ] || configs=("${OVL_CONFIGS_DEFAULT[@]}")
	case ${OVL_SECONDS:-20}/${OVL_RATE:-0} in
	*[!0-9/]* | /* | */) lab_die "overload: --seconds and --rate take whole numbers" ;;
	esac
	if [ "${OVL_SECONDS:-20}" -lt 10 ] || [ "${OVL_SECONDS:-20}" -gt 60 ]; then
		lab_die "overload: --seconds 10..60"
	fi
	lab_require_peers
	ovl_build
	local out=${OVL_OUT:-$OVL_BUILD_DIR}
	mkdir -p "$out"
	for a in "${configs[@]}"; do
		ovl_one "$a" "$out" || lab_log "overload[$a]: failed (exit $?)"
	done
	echo
	echo "## overload: spoofed flood from $OVL_SPOOF_NET for ${OVL_SECONDS:-20} s" \
		"($([ "${OVL_RATE:-0}" = 0 ] && echo "as fast as it goes" || echo "at most $OVL_RATE pps")) + guesser + phones ($(nproc) cores)"
	echo
	python3 "$LAB_DIR/overload_tally.py" --table "${configs[@]/#/$out/}"
	rm -rf "$OVL_BUILD_DIR" # the results stay in OVL_OUT when it was given
}
