#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end: the evasion scenario (tools/lab/evasion.sh, issue 17) with
# sipguard only, against the lab's Kamailio with TCP: what an attacker with a
# raw socket gets to the PBX by cutting, retransmitting, marking urgent or
# fragmenting its requests is no more than what it gets by sending them plainly,
# and a check-sync NOTIFY that sipguard's parser refuses does not reach it either.
# Usage: lab_evasion_e2e.sh [PATH/TO/sipguard]; exit 0 pass, 1 fail, 77 skip.
set -euo pipefail
# shellcheck source=tools/lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/lab/lib.sh"
# shellcheck source=tools/lab/evasion.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/lab/evasion.sh"
# shellcheck source=tests/e2e/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

e2e_lab_ready "${1:-}"
command -v nft >/dev/null || { echo "SKIP: nft missing" >&2; exit 77; }
usage() { echo "lab_evasion_e2e.sh [PATH/TO/sipguard]" >&2; }

# The lab stays up until this script exits (lab_init's trap); the figures
# are in its temp dir. 45 passwords (1234 is the 40th) keep the run short.
EVA_GUESSES=45
cmd_evasion --protected-only tcp-guess-inorder tcp-guess-tail tcp-notify tcp-notify-tail tcp-notify-urgent \
	udp-notify-maxfwd udp-notify-2events udp-guess udp-guess-frag udp-guess6 udp-guess-frag6
EVA_JSON=$LAB_TMP/evasion.json

# get NAME FIELD: one figure of the attack's row.
get() {
	python3 - "$EVA_JSON" "$1" "$2" <<-'EOF'
		import json, sys
		r = [r for r in json.load(open(sys.argv[1])) if r["name"] == sys.argv[2]]
		v = r[0][sys.argv[3]] if r else "missing"
		print("-" if v is None else ",".join(v) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else v)
	EOF
}

echo
g_in=$(get tcp-guess-inorder guesses_pbx)
g_tail=$(get tcp-guess-tail guesses_pbx)
check "tcp: guesses over plain TCP reached the PBX and were stopped ($g_in, $(get tcp-guess-inorder detectors))" \
	eq "$(get tcp-guess-inorder detectors)" brute_force
check "tcp: tail-first guessing got no more guesses to Kamailio than in order, +1 ($g_tail vs $g_in)" \
	le "$g_tail" "$((g_in + 1))"
check "tcp: tail-first guessing was banned ($(get tcp-guess-tail detectors)) and did not crack the PIN ($(get tcp-guess-tail got))" \
	eq "$(get tcp-guess-tail detectors)/$(get tcp-guess-tail cracked)" brute_force/false
for n in tcp-notify tcp-notify-tail tcp-notify-urgent udp-notify-maxfwd udp-notify-2events; do
	check "$n: the forged check-sync NOTIFY never reached Kamailio ($(get "$n" notify_pbx); $(get "$n" got))" \
		eq "$(get "$n" notify_pbx)" 0
done
check "tcp-notify: its OPTIONS reached Kamailio (the connection worked: $(get tcp-notify pbx) requests)" \
	eq "$(get tcp-notify pbx)" 1
for v in "" 6; do
	plain=udp-guess$v frag=udp-guess-frag$v
	check "$frag: banned at the same count as $plain (guesses at the PBX $(get "$frag" guesses_pbx) vs $(get "$plain" guesses_pbx))" \
		eq "$(get "$frag" guesses_pbx)" "$(get "$plain" guesses_pbx)"
	check "$frag: banned by brute_force ($(get "$frag" detectors)) and not cracked ($(get "$frag" got))" \
		eq "$(get "$frag" detectors)/$(get "$frag" cracked)" brute_force/false
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
