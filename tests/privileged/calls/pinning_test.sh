#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Media pinning and in-dialog validation on the real kernel: a phone calls a
# PBX (sipp UAS) through `sipguard run` with media pinning on, in three
# network namespaces (pbx, phone, third) this script creates and removes.
# Checks: the call's RTP arrives; the same port from a third namespace is
# dropped; a forged BYE from the third namespace is dropped and the call
# continues; after the BYE the pinhole is gone within one second; a
# concurrent-call limit holds; an IPv6 call pins into @media6; a call's
# pinholes are back within 3 s of `nft delete table inet sipguard` (the
# repair re-adds them from the call tracker); at the end no process the test
# started is left (sipguard, sipp).
# Usage: pinning_test.sh SIPGUARD_BINARY
# Exit 0 pass, 1 fail, 77 skip (not root, no sipp/nft/python3).
set -u

SIPGUARD=${1:?usage: pinning_test.sh SIPGUARD_BINARY}
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for t in sipp nft ip python3 timeout; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed (tools/setup)"; exit 77; }
done
[ -r /usr/share/sip-tester/g711a.pcap ] || { echo "SKIP: /usr/share/sip-tester/g711a.pcap missing (sip-tester)"; exit 77; }
"$SIPGUARD" run --help 2>&1 | grep -q -- --config || { echo "FAIL: '$SIPGUARD run --config' is not available"; exit 1; }

TAG=sgcalls-$$
NS_PBX=$TAG-pbx
NS_PHONE=$TAG-phone
NS_THIRD=$TAG-third
PBX=10.88.1.1
PHONE=10.88.1.2
PBX2=10.88.2.1
THIRD=10.88.2.2
PBX6=fd00:88:1::1
PHONE6=fd00:88:1::2
PBX26=fd00:88:2::1
THIRD6=fd00:88:2::2
TMP=$(mktemp -d /tmp/sgcalls.XXXXXX) || exit 1
# The pids of what runs in the background, as started by bg_in_ns: `ip netns
# exec` execs `timeout`, which runs the program as its child and passes a
# SIGTERM on to it, waiting for it; so each pid here is the process to kill
# and wait for (a shell function run with & would be a subshell, whose
# death leaves the program running).
PIDS=()
FAILURES=0

cleanup() {
	local rc=$? p ns left=""
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	# Nothing this test started may outlive it: any process still in one of
	# its namespaces is a leak (reported, killed, and the test fails).
	for ns in "$NS_PBX" "$NS_PHONE" "$NS_THIRD"; do
		left="$left $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
	done
	left=$(echo $left)
	if [ -n "$left" ]; then
		echo "FAIL: processes left behind by the test:"
		ps -o pid=,etimes=,args= -p "${left// /,}"
		kill -KILL $left 2>/dev/null
		rc=1
	else
		echo "no process left behind (ip netns pids of the test's namespaces: none)"
	fi
	for ns in "$NS_PBX" "$NS_PHONE" "$NS_THIRD"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM

log() { echo "[$(date +%T.%N | cut -c1-12)] $*"; }
pass() { log "PASS: $*"; }
fail() { log "FAIL: $*"; FAILURES=$((FAILURES + 1)); }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# bg_in_ns NS SECONDS CMD...: CMD in NS in the background, at most SECONDS;
# its pid (that of the `timeout` that `ip netns exec` became) in PIDS and BG.
bg_in_ns() {
	local ns=$1 secs=$2
	shift 2
	ip netns exec "$ns" timeout "$secs" "$@" &
	BG=$!
	PIDS+=("$BG")
}

# --- topology: phone -- pbx -- third, two /24s, pbx is the only router -----
for ns in "$NS_PBX" "$NS_PHONE" "$NS_THIRD"; do
	ip netns add "$ns" || { echo "FAIL: ip netns add $ns"; exit 1; }
	in_ns "$ns" ip link set lo up
done
ip -n "$NS_PBX" link add eth0 type veth peer name eth0 netns "$NS_PHONE" || exit 1
ip -n "$NS_PBX" link add eth1 type veth peer name eth0 netns "$NS_THIRD" || exit 1
ip -n "$NS_PBX" addr add $PBX/24 dev eth0
ip -n "$NS_PBX" addr add $PBX2/24 dev eth1
ip -n "$NS_PHONE" addr add $PHONE/24 dev eth0
ip -n "$NS_THIRD" addr add $THIRD/24 dev eth0
ip -n "$NS_PBX" link set eth0 up
ip -n "$NS_PBX" link set eth1 up
ip -n "$NS_PHONE" link set eth0 up
ip -n "$NS_THIRD" link set eth0 up
ip -n "$NS_PBX" addr add $PBX6/64 dev eth0 nodad
ip -n "$NS_PBX" addr add $PBX26/64 dev eth1 nodad
ip -n "$NS_PHONE" addr add $PHONE6/64 dev eth0 nodad
ip -n "$NS_THIRD" addr add $THIRD6/64 dev eth0 nodad
# The third party reaches the PBX's phone-side address through the PBX.
ip -n "$NS_THIRD" route add 10.88.1.0/24 via $PBX2
ip -n "$NS_PHONE" route add 10.88.2.0/24 via $PBX
ip -n "$NS_THIRD" -6 route add fd00:88:1::/64 via $PBX26
ip -n "$NS_PHONE" -6 route add fd00:88:2::/64 via $PBX6

# Counters of what survives sipguard's input chain (priority -10): a table of
# our own at priority 10, inside the PBX namespace only.
printf '%s\n' \
	"table inet sgtest {" \
	"  counter phone_rtp {}" \
	"  counter third_rtp {}" \
	"  counter phone6_rtp {}" \
	"  counter third6_rtp {}" \
	"  chain input {" \
	"    type filter hook input priority 10; policy accept;" \
	"    ip saddr $PHONE udp dport 20000-20999 counter name \"phone_rtp\"" \
	"    ip saddr $THIRD udp dport 20000-20999 counter name \"third_rtp\"" \
	"    ip6 saddr $PHONE6 udp dport 20000-20999 counter name \"phone6_rtp\"" \
	"    ip6 saddr $THIRD6 udp dport 20000-20999 counter name \"third6_rtp\"" \
	"  }" \
	"}" >"$TMP/sgtest.nft"
in_ns "$NS_PBX" nft -f "$TMP/sgtest.nft" || { echo "FAIL: test counter table"; exit 1; }
counter() { in_ns "$NS_PBX" nft list counter inet sgtest "$1" | awk '/packets/ { print $2 }'; }
media_elements() { in_ns "$NS_PBX" nft list set inet sipguard media4 | tr ',{}' '\n\n\n' | grep -c "$1 \. "; }
media4_listing() { in_ns "$NS_PBX" nft list set inet sipguard media4 2>&1 | tr -s ' \n' ' '; }
ms_between() { python3 -c "print(f'{($2 - $1) * 1000:.0f}')"; }
media6_elements() { in_ns "$NS_PBX" nft list set inet sipguard media6 | tr ',{}' '\n\n\n' | grep -c "$1 \. "; }

# --- sipguard with media pinning on 20000-20999 ------------------------------
SOCK=$TMP/sipguard.sock
mkdir -p "$TMP/state"
printf '%s\n' \
	"[daemon]" \
	"state_dir = \"$TMP/state\"" \
	"ban_log = \"$TMP/bans.log\"" \
	"control_socket = \"$SOCK\"" \
	"remove_table_on_exit = true" \
	"" \
	"[media]" \
	"pinning = true" \
	"rtp_range = \"20000-20999\"" \
	"" \
	"[calls]" \
	"max_calls_per_source = 2" \
	"" \
	"[metrics]" \
	"socket = \"$TMP/metrics.sock\"" >"$TMP/sipguard.toml"
"$SIPGUARD" check-config "$TMP/sipguard.toml" || { echo "FAIL: sipguard rejected the test config"; exit 1; }
bg_in_ns "$NS_PBX" 300 "$SIPGUARD" run --config "$TMP/sipguard.toml" >"$TMP/sipguard.log" 2>&1
SG_PID=$BG
up=0
for _ in $(seq 100); do
	kill -0 "$SG_PID" 2>/dev/null || break
	if "$SIPGUARD" status --socket "$SOCK" >/dev/null 2>&1; then
		up=1
		break
	fi
	sleep 0.1
done
if [ $up = 0 ]; then
	echo "FAIL: sipguard did not come up"
	cat "$TMP/sipguard.log"
	exit 1
fi
log "sipguard up (pid $SG_PID)"

# --- the PBX: sipp UAS answering with m=audio 20000 ---------------------------
bg_in_ns "$NS_PBX" 240 sipp -sn uas -i $PBX -p 5060 -mp 20000 -nostdin -trace_err \
	-error_file "$TMP/uas-errors.log" >"$TMP/uas.log" 2>&1
sleep 0.5

# send_udp NS SRC DST PORT COUNT: RTP-looking datagrams, 10 ms apart.
send_udp() {
	in_ns "$1" python3 -c '
import socket, sys, time
src, dst, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ":" in src else socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
rtp = bytes([0x80, 0x08, 0, 1, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78]) + bytes(160)
for i in range(count):
    s.sendto(rtp, (dst, port))
    time.sleep(0.01)
' "$2" "$3" "$4" "$5"
}

# phone_rtp_passed PORT COUNT: how many of COUNT datagrams from the phone to
# the PBX's PORT got past sipguard's input chain.
phone_rtp_passed() {
	local before
	before=$(counter phone_rtp)
	send_udp "$NS_PHONE" $PHONE $PBX "$1" "$2"
	echo $(($(counter phone_rtp) - before))
}

# forged_bye CALL-ID: two BYEs for the call from the third namespace (CSeq 2
# and 3), each sent three times like a UA's retransmissions. sipp's UAS matches
# in-dialog requests by Call-ID alone, so either would end the call. A
# retransmission is re-dropped without counting again (issue 17), so it takes
# two distinct forged requests to reach detect.forged.max_messages = 2.
forged_bye() {
	in_ns "$NS_THIRD" python3 -c '
import socket, sys
src, dst, call_id, phone = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 5060))
for cseq in (2, 3):
    msg = (f"BYE sip:200@{dst}:5060 SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP {src}:5060;branch=z9hG4bK-forged{cseq}\r\n"
           "Max-Forwards: 70\r\n"
           f"From: <sip:100@{phone}>;tag=uac1\r\n"
           f"To: <sip:200@{dst}>;tag=guessed\r\n"
           f"Call-ID: {call_id}\r\n"
           f"CSeq: {cseq} BYE\r\nContent-Length: 0\r\n\r\n")
    for _ in range(3):
        s.sendto(msg.encode(), (dst, 5060))
' "$THIRD" "$PBX" "$1" "$PHONE"
}

# --- 1. one call with RTP ------------------------------------------------------
log "call 1: phone -> PBX with G.711 RTP (about 4.7 s), up 6 s"
bg_in_ns "$NS_PHONE" 40 sipp -sf "$HERE/uac-rtp.xml" -i $PHONE -p 5060 -mp 30000 -m 1 -d 6000 -nostdin -cid_str 'sgtest-%u@%s' \
	-trace_err -error_file "$TMP/uac-errors.log" $PBX:5060 >"$TMP/uac.log" 2>&1
UAC_PID=$BG
sleep 1.5

rtp1=$(counter phone_rtp)
if [ "${rtp1:-0}" -gt 0 ]; then pass "the call's RTP arrives ($rtp1 packets after 1.5 s)"; else fail "no RTP of the call reached the PBX"; fi
n=$(media_elements $PHONE)
if [ "$n" -ge 1 ]; then pass "pinholes for $PHONE in @media4 ($n)"; else fail "no pinhole for $PHONE in @media4"; fi

send_udp "$NS_THIRD" $THIRD $PBX 20000 50
send_udp "$NS_THIRD" $THIRD $PBX 20001 20
third=$(counter third_rtp)
if [ "${third:-1}" = 0 ]; then
	pass "70 packets from the third namespace to the call's RTP/RTCP ports were dropped"
else
	fail "$third packets from the third namespace passed"
fi

forged_bye "sgtest-1@$PHONE"
log "forged BYE for sgtest-1@$PHONE sent from $THIRD"
sleep 1
rtp2=$(counter phone_rtp)
sleep 1
rtp3=$(counter phone_rtp)
if [ "$rtp3" -gt "$rtp2" ]; then pass "RTP keeps flowing after the forged BYE ($rtp2 -> $rtp3 packets)"; else fail "RTP stopped after the forged BYE ($rtp2 -> $rtp3)"; fi

if grep -q "$THIRD" "$TMP/bans.log" 2>/dev/null && grep "$THIRD" "$TMP/bans.log" | grep -q forged; then
	pass "the forging source was banned: $(grep -m1 "$THIRD" "$TMP/bans.log" | cut -c1-160)"
else
	fail "no forged-control ban of $THIRD in the ban log"
fi

wait "$UAC_PID"
uac_rc=$?
t_end=$(date +%s.%N)
gone=""
for _ in $(seq 20); do
	if [ "$(media_elements $PHONE)" = 0 ]; then
		gone=$(date +%s.%N)
		break
	fi
	sleep 0.05
done
if [ $uac_rc = 0 ]; then
	pass "the phone's own BYE got 200: the PBX never saw the forged BYE and the call lasted until the phone hung up"
else
	fail "the call failed (sipp exit $uac_rc): $(tail -3 "$TMP/uac-errors.log" 2>/dev/null)"
fi
if [ -n "$gone" ]; then
	pass "pinholes gone at most $(ms_between "$t_end" "$gone") ms after the call ended (limit 1000 ms)"
else
	fail "pinholes still in @media4 1 s after the BYE: $(media4_listing)"
fi
n=$(phone_rtp_passed 20000 20)
if [ "$n" = 0 ]; then pass "RTP from the phone after the BYE is dropped"; else fail "RTP after the BYE passed ($n of 20)"; fi

# --- 2. concurrent-call limit (max_calls_per_source = 2) ---------------------
# Calls last 10 s; the 3rd INVITE is retransmitted at 0.5, 1.5 and 3.5 s and
# its call given up at 7.5 s (-max_retrans 3), while the first two are up.
log "3 concurrent calls from one source, limit 2"
bg_in_ns "$NS_PHONE" 40 sipp -sf "$HERE/uac-nortp.xml" -i $PHONE -p 5062 -mp 30010 -m 3 -l 3 -r 10 -d 10000 -cid_str 'sglimit-%u@%s' -max_retrans 3 \
	-nostdin -trace_stat -stf "$TMP/limit-stat.csv" -fd 1 $PBX:5060 >"$TMP/limit.log" 2>&1
LIM_PID=$BG
wait "$LIM_PID"
read -r ok failed < <(python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1]), delimiter=";"))
head, last = rows[0], rows[-1]
print(last[head.index("SuccessfulCall(C)")], last[head.index("FailedCall(C)")])
' "$TMP/limit-stat.csv")
if [ "${ok:-x}" = 2 ] && [ "${failed:-x}" = 1 ]; then
	pass "2 calls answered, the 3rd INVITE dropped (limit: 2 concurrent calls per source)"
else
	fail "expected 2 successful and 1 failed call, got ${ok:-?} and ${failed:-?}"
fi
if grep -q "call-limit" "$TMP/sipguard.log"; then
	pass "logged: $(grep -m1 call-limit "$TMP/sipguard.log")"
else
	fail "no call-limit line in the sipguard log"
fi

# --- 3. IPv6: a call over IPv6 (c=IN IP6) pins into @media6 -----------------
log "call over IPv6: phone [$PHONE6] -> PBX [$PBX6] (UAS media port 20100), up 4 s"
bg_in_ns "$NS_PBX" 60 sipp -sn uas -i $PBX6 -p 5060 -mp 20100 -nostdin >"$TMP/uas6.log" 2>&1
sleep 0.5
bg_in_ns "$NS_PHONE" 30 sipp -sf "$HERE/uac-nortp.xml" -i $PHONE6 -p 5064 -mp 30020 -m 1 -d 4000 -nostdin \
	-cid_str 'sgv6-%u@%s' "[$PBX6]:5060" >"$TMP/uac6.log" 2>&1
UAC6_PID=$BG
sleep 1.5
n6=$(media6_elements $PHONE6)
if [ "$n6" -ge 1 ]; then pass "pinholes for $PHONE6 in @media6 ($n6)"; else fail "no pinhole for $PHONE6 in @media6"; fi
send_udp "$NS_PHONE" $PHONE6 $PBX6 20100 20
send_udp "$NS_THIRD" $THIRD6 $PBX6 20100 20
p6=$(counter phone6_rtp)
t6=$(counter third6_rtp)
if [ "${p6:-0}" = 20 ] && [ "${t6:-1}" = 0 ]; then
	pass "IPv6 media: 20 of 20 packets from the phone passed, 0 of 20 from the third namespace"
else
	fail "IPv6 media: ${p6:-?} of 20 from the phone, ${t6:-?} of 20 from the third namespace passed"
fi
wait "$UAC6_PID"
rc6=$?
[ $rc6 = 0 ] || fail "the IPv6 call failed (sipp exit $rc6)"
gone6=0
for _ in $(seq 20); do
	if [ "$(media6_elements $PHONE6)" = 0 ]; then
		gone6=1
		break
	fi
	sleep 0.05
done
if [ "$n6" -ge 1 ] && [ $gone6 = 1 ]; then
	pass "IPv6 pinholes gone within 1 s of the BYE"
elif [ "$n6" -ge 1 ]; then
	fail "IPv6 pinholes still there 1 s after the BYE"
fi

# --- 4. the table deleted mid-call: the repair puts the call's pinholes back --
# The kernel check reinstalls the table within a second; the pinholes come
# from the call tracker at once, not at its next refresh (60 s).
log "call 4: phone -> PBX, up 6 s; nft delete table inet sipguard while it is up"
bg_in_ns "$NS_PHONE" 30 sipp -sf "$HERE/uac-nortp.xml" -i $PHONE -p 5066 -mp 30030 -m 1 -d 6000 -nostdin \
	-cid_str 'sgrepair-%u@%s' $PBX:5060 >"$TMP/uac4.log" 2>&1
UAC4_PID=$BG
sleep 1.5
n4=$(media_elements $PHONE)
if [ "$n4" -ge 1 ]; then pass "call 4 pinned: $n4 elements for $PHONE in @media4"; else fail "no pinhole for call 4"; fi
in_ns "$NS_PBX" nft delete table inet sipguard
t_del=$(date +%s.%N)
back=""
for _ in $(seq 60); do
	if [ "$(media_elements $PHONE 2>/dev/null)" -ge "$n4" ]; then
		back=$(date +%s.%N)
		break
	fi
	sleep 0.05
done
if [ "$n4" -ge 1 ] && [ -n "$back" ]; then
	pass "the call's $n4 pinholes back in @media4 $(ms_between "$t_del" "$back") ms after the table was deleted"
else
	fail "the call's pinholes not back within 3 s of nft delete table: $(media4_listing)"
fi
pinned=$(phone_rtp_passed 20000 20)
unpinned=$(phone_rtp_passed 20500 20)
if [ "$pinned" = 20 ] && [ "$unpinned" = 0 ]; then
	pass "after the repair: 20 of 20 RTP packets to the call's port passed, 0 of 20 to an unpinned port"
else
	fail "after the repair: $pinned of 20 to the call's port, $unpinned of 20 to an unpinned port passed"
fi
if grep -q "media pinholes\? missing (re-added from the call tracker)" "$TMP/sipguard.log"; then
	pass "logged: $(grep -m1 "re-added from the call tracker" "$TMP/sipguard.log" | cut -c1-220)"
else
	fail "no repair line naming the re-added pinholes in the sipguard log"
fi
wait "$UAC4_PID" || fail "call 4 failed (sipp exit $?)"

"$SIPGUARD" stats --socket "$SOCK" 2>&1 | grep -i -E 'call|pinhole|forged|dialog|media' | sed 's/^/    sipguard stats: /'

if [ $FAILURES != 0 ]; then
	echo "--- sipp limit run"
	grep -E 'Successful|Failed|INVITE|200|Retrans' "$TMP/limit.log" | tail -12
	echo "--- sipguard log"
	tail -40 "$TMP/sipguard.log"
	echo "--- $FAILURES check(s) failed"
	exit 1
fi
echo "all checks passed"
exit 0
