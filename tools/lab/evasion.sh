# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The lab's evasion scenario (issue 17). Sourced by tools/lab/lab after lib.sh.
#
# Kamailio with TCP (kamailio.cfg's WITH_TCP), one lab; each attack runs twice
# in the same run, first against the unprotected PBX, then with sipguard (its
# default config, started in between), from a fresh attacker address each
# time (10.77.141-160.66 / fd00:77:141-154::66 unprotected, 10.77.171-190.66 /
# fd00:77:161-174::66 with sipguard: a /24 and a /48 each), each protected
# guesser and enumerator against a sipguard of its own (restarted, no state):
#   tcp-enum-inorder, tcp-enum-tail      REGISTER for extensions 100-199 over TCP
#                                        (tools/lab/rawsip.py, raw socket), each
#                                        message whole, or its final CRLF first
#   tcp-guess-inorder, tcp-guess-tail(6) user 105's password (svcrack-dict.txt:
#                                        1234 is the 40th word), REGISTER + REGISTER
#                                        with credentials, the same two orders
#   tcp-notify, tcp-notify-tail          an OPTIONS, then a check-sync NOTIFY that
#                                        the sender's TCP retransmits for 3 s
#   tcp-notify-urgent                    the NOTIFY with a byte inside "check-sync" sent
#                                        as TCP urgent data (the PBX's socket drops it)
#   tcp-smuggle-cl-n-0, -l-n-cl-0        an OPTIONS with two Content-Lengths (long and
#                                        long, compact and long), the first counting
#                                        the NOTIFY behind it as its body, the second 0
#   udp-notify-maxfwd                    the check-sync NOTIFY over UDP with Max-Forwards: 256
#                                        (out of range: sipguard's parser refuses it, Kamailio not)
#   udp-notify-2events                the same with a second Event header (dialog) after it
#   udp-guess(6), udp-guess-frag(6)      guess.py over UDP, unpadded and padded to
#                                        about 3000 bytes (IPv4 / IPv6 fragments)
# Every attack is bounded in count (100 extensions, 60 passwords), in time
# (--max-time and `timeout`) and stops after 3 failed requests in a row.
# What reached Kamailio comes from its own log; evasion_tally.py prints the table.

EVA_ATTACKS_DEFAULT=(tcp-enum-inorder tcp-enum-tail tcp-guess-inorder tcp-guess-tail tcp-guess-tail6
	tcp-notify tcp-notify-tail tcp-notify-urgent tcp-smuggle-cl-n-0 tcp-smuggle-l-n-cl-0
	udp-notify-maxfwd udp-notify-2events udp-guess udp-guess-frag udp-guess6 udp-guess-frag6)
EVA_PAD=3000 # bytes of padding for the fragmented guesses (MTU 1500)
EVA_GUESSES=${EVA_GUESSES:-60} # passwords per guesser (1234 is the 40th)

# eva_addr PASS I V: attacker address I (1..20) of pass PASS (0 unprotected, 1 sipguard), IPv4 or 6.
eva_addr() {
	if [ "$3" = 6 ]; then
		printf 'fd00:77:%x::66\n' $((0x140 + 0x20 * $1 + $2))
	else
		echo "10.77.$((140 + 30 * $1 + $2)).66"
	fi
}

# The attacker's addresses, and the rule rawsip.py needs: the attacker's
# kernel has no socket for the raw sender's ports and would answer the PBX's
# SYN-ACKs with RSTs; its unmarked RSTs to port 5060 are dropped (rawtcp.py's
# own segments carry mark 0x5347). Attacker namespace only.
eva_net_up() {
	local n=$1 pass i
	{
		for pass in 0 1; do
			for i in $(seq 1 "$n"); do
				echo "addr add $(eva_addr "$pass" "$i" 4)/16 dev eth0"
				echo "addr add $(eva_addr "$pass" "$i" 6)/32 dev eth0 nodad"
			done
		done
	} | ip -n "$NS_ATK" -batch - || lab_die "cannot add the evasion attacker addresses"
	ip netns exec "$NS_ATK" nft -f - <<-'EOF' || lab_die "cannot add the attacker's RST rule"
		table inet rawtcp {
			chain out {
				type filter hook output priority 0; policy accept;
				meta mark != 0x5347 tcp dport 5060 tcp flags & rst == rst drop
			}
		}
	EOF
}

# eva_run PASS I NAME: attack NAME from address I of PASS, in the foreground.
eva_run() {
	local pass=$1 i=$2 name=$3 v=4 src dst order
	[ "${name%6}" != "$name" ] && v=6
	src=$(eva_addr "$pass" "$i" "$v")
	dst=$PBX_IP
	[ "$v" = 6 ] && dst=$PBX_IP6
	local out=$LAB_TMP/eva-$pass-$name.out base=${name%6}
	order=inorder
	case $base in *-tail) order="tail" ;; esac
	lab_log "evasion: $name from $src ($([ "$pass" = 1 ] && echo sipguard || echo unprotected))"
	case $base in
	tcp-enum-*)
		ip netns exec "$NS_ATK" timeout 60 python3 "$LAB_DIR/rawsip.py" --mode enum --order "$order" \
			--src "$src" --dst "$dst" --first 100 --count 100 --rate 20 --max-time 45 >"$out" 2>&1 || true
		;;
	tcp-guess-*)
		ip netns exec "$NS_ATK" timeout 60 python3 "$LAB_DIR/rawsip.py" --mode guess --order "$order" \
			--src "$src" --dst "$dst" --user "$LAB_WEAK_USER" --dict "$LAB_DIR/svcrack-dict.txt" --count "$EVA_GUESSES" \
			--rate 10 --max-time 45 >"$out" 2>&1 || true
		;;
	tcp-smuggle-*)
		ip netns exec "$NS_ATK" timeout 30 python3 "$LAB_DIR/rawsip.py" --mode smuggle --variant "${base#tcp-smuggle-}" \
			--src "$src" --dst "$dst" --max-time 20 >"$out" 2>&1 || true
		;;
	tcp-notify-urgent)
		ip netns exec "$NS_ATK" timeout 30 python3 "$LAB_DIR/rawsip.py" --mode urgent \
			--src "$src" --dst "$dst" --notify-ms 3000 --max-time 20 >"$out" 2>&1 || true
		;;
	tcp-notify*)
		ip netns exec "$NS_ATK" timeout 30 python3 "$LAB_DIR/rawsip.py" --mode notify --order "$order" \
			--src "$src" --dst "$dst" --notify-ms 3000 --max-time 20 >"$out" 2>&1 || true
		;;
	udp-notify-*)
		local extra="Max-Forwards: 70" ev=""
		[ "$base" = udp-notify-maxfwd ] && extra="Max-Forwards: 256"
		[ "$base" = udp-notify-2events ] && ev="Event: dialog"
		ip netns exec "$NS_ATK" timeout 10 python3 "$LAB_DIR/sipsend.py" --src "$src" --dst "$dst" >"$out" 2>&1 <<-EOF || true
			NOTIFY sip:100@$dst SIP/2.0
			Via: SIP/2.0/UDP $src:5060;branch=z9hG4bK-ev$RANDOM;rport
			$extra
			From: <sip:$src>;tag=ev$RANDOM
			To: <sip:100@$dst>
			Call-ID: evasion-$RANDOM@$src
			CSeq: 1 NOTIFY
			Event: check-sync;reboot=true
			${ev:-Subscription-State: terminated}
			Content-Length: 0
		EOF
		;;
	udp-guess*)
		local pad=0
		[ "$base" = udp-guess-frag ] && pad=$EVA_PAD
		ip netns exec "$NS_ATK" timeout 40 python3 "$LAB_DIR/guess.py" --src "$src" --dst "$dst" \
			--user "$LAB_WEAK_USER" --dict "$LAB_DIR/svcrack-dict.txt" --count "$EVA_GUESSES" --rate 10 --wait 1 \
			--max-time 30 --pad "$pad" >"$out" 2>&1 || true
		;;
	*) lab_die "unknown evasion attack $name (known: ${EVA_ATTACKS_DEFAULT[*]})" ;;
	esac
	printf '%s\t%s\t%s\t%s\n' "$pass" "$name" "$src" "$out" >>"$LAB_TMP/eva-runs.tsv"
}

# A sipguard with no state for each protected guesser or enumerator: the
# guessers share user 105, and an account already under attack is guarded
# (agent/engine), so a later attack would meet a warier agent than the earlier
# one it is compared with. The NOTIFYs come from addresses of their own.
eva_sipguard_fresh() {
	if [ "${LAB_PROTECTED:-0}" = 1 ]; then
		lab_stop "$SIPGUARD_PID"
		rm -rf "$LAB_TMP/sipguard-state"
	fi
	lab_sipguard_start
	LAB_PROTECTED=1
}

# eva_tally [--json FILE]: the table of this run (evasion_tally.py).
eva_tally() {
	tshark -n -r "$LAB_TMP/eva-wire.pcap" -T fields -e frame.time_epoch -e ip.src -e ipv6.src \
		>"$LAB_TMP/eva-wire.tsv" 2>/dev/null || true
	python3 "$LAB_DIR/evasion_tally.py" --kam "$KAM_LOG" --banlog "${SG_BANLOG:-}" --wire "$LAB_TMP/eva-wire.tsv" \
		--runs "$LAB_TMP/eva-runs.tsv" --user "$LAB_WEAK_USER" "$@"
}

# tools/lab/lab evasion [--protected-only] [NAME ...]: the attacks (default all)
# unprotected, then with sipguard; --protected-only skips the first pass (the e2e test).
cmd_evasion() {
	local names=() passes=(0 1) a
	for a in "$@"; do
		case $a in
		--protected-only) passes=(1) ;;
		-*) usage; exit 2 ;;
		*) names+=("$a") ;;
		esac
	done
	[ ${#names[@]} -gt 0 ] || names=("${EVA_ATTACKS_DEFAULT[@]}")
	[ ${#names[@]} -le 20 ] || lab_die "at most 20 evasion attacks a run"
	lab_require_peers
	command -v nft >/dev/null || { echo "SKIP: nft missing" >&2; exit 77; }
	lab_sipguard_available || lab_die "sipguard not runnable ($LAB_SIPGUARD_MISSING)"
	lab_init
	export LAB_KAM_TCP=1
	lab_pbx_up
	eva_net_up ${#names[@]}
	lab_wait_udp "$NS_PBX" 5060 "$PBX_IP" t || lab_die "kamailio does not listen on TCP"
	: >"$LAB_TMP/eva-runs.tsv"
	lab_capture_start eva-wire "port 5060 or (ip[6:2] & 0x3fff != 0) or (ip6 and ip6[6] == 44)"
	LAB_PROTECTED=0
	local pass i
	for pass in "${passes[@]}"; do
		i=0
		for a in "${names[@]}"; do
			i=$((i + 1))
			# A fresh sipguard for the first protected attack and each guesser or enumerator.
			if [ "$pass" = 1 ] && { [ "${LAB_PROTECTED:-0}" = 0 ] || [[ $a == *-guess* || $a == *-enum* ]]; }; then
				eva_sipguard_fresh
			fi
			eva_run "$pass" "$i" "$a"
			sleep 0.3
		done
	done
	lab_capture_stop eva-wire
	echo
	echo "## evasion (issue 17): the same attacks against Kamailio unprotected, then with sipguard ($SIPGUARD_BIN)"
	echo
	eva_tally --json "${EVA_JSON:-$LAB_TMP/evasion.json}"
}
