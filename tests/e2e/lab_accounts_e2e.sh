#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# End-to-end: the account scenarios of tools/lab/accounts.sh (issue 18) with
# sipguard protecting Kamailio, asserting the issue's targets:
#   office NAT: the nine good phones fail no registration and no call, the bad
#     phone's requests stop reaching the PBX after at most 5 failures, no ban;
#   trunk: 20 then 40 calls/s, no ban and no failed call;
#   enumeration, a new source port per request or every 3, REGISTER and INVITE:
#     at 20/s at most 10 extensions reach the PBX; at 1 per 10 s banned within
#     20 extensions (the real rate: both slow runs go on in the background,
#     200 s, while the others run);
#   distributed guessing (20 /24s x 3 guesses; 60 addresses of one /64): at most
#     10 guesses (requests with credentials) reach the PBX, password not found.
# The short variants (office 90 s with an 8 s retry, trunk 15 s + 10 s); about
# 4 minutes. Usage: lab_accounts_e2e.sh [PATH/TO/sipguard]
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

SCENARIOS=(enum-slow-register enum-slow-invite office-nat trunk enum-register enum-invite enum-register-rot3
	enum-invite-rot3 guess-spread guess-spread6)
lab_init
acct_lifetimes
lab_pbx_up
acct_gateway_start
lab_sipguard_start
LAB_PROTECTED=1
lab_capture_start wire "udp port 5060"
acct_runs_from 0 "${SCENARIOS[@]}"
lab_capture_stop wire

lab_summary_header
for name in "${SCENARIOS[@]}"; do acct_row "$name" "$(acct_k "$name")"; done
for name in "${SCENARIOS[@]}"; do acct_legit "$name" "$(acct_k "$name")"; done
echo

J_OFFICE=$(acct_tally office-nat "$(acct_k office-nat)")
J_BAD=$(acct_tally office-nat "$(acct_k office-nat)" --port "$OFFICE_BAD_PORT")
all_ok() { [ "${1%/*}" = "${1#*/}" ] && [ "${1#*/}" -gt 0 ]; }
check "office-nat: the nine good phones' registrations all succeeded ($OFFICE_REG_RESULT)" all_ok "$OFFICE_REG_RESULT"
check "office-nat: the nine good phones' calls all completed ($OFFICE_CALL_RESULT)" all_ok "$OFFICE_CALL_RESULT"
check "office-nat: the office address was not banned ($(acct_get "$J_OFFICE" sources_banned) bans)" \
	eq "$(acct_get "$J_OFFICE" sources_banned)" 0
check "office-nat: at most 5 failed authentications of the bad phone reached the PBX ($(acct_get "$J_BAD" fails))" \
	le "$(acct_get "$J_BAD" fails)" 5
check "office-nat: the bad phone's requests stopped reaching the PBX before it stopped sending (last at PBX $(acct_get "$J_BAD" last_pbx), last sent $(acct_get "$J_BAD" last_wire))" \
	python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) + 1 < float(sys.argv[2]) else 1)' "$(acct_get "$J_BAD" last_pbx)" "$(acct_get "$J_BAD" last_wire)"

J=$(acct_tally trunk "$(acct_k trunk)")
check "trunk: not banned ($(acct_get "$J" sources_banned) bans, detector $(acct_get "$J" detectors))" eq "$(acct_get "$J" sources_banned)" 0
check "trunk: every call at 20 calls/s completed ($TRUNK_RESULT_20)" all_ok "$TRUNK_RESULT_20"
check "trunk: every call at 40 calls/s completed ($TRUNK_RESULT_40)" all_ok "$TRUNK_RESULT_40"

for name in enum-register enum-invite enum-register-rot3 enum-invite-rot3; do
	J=$(acct_tally "$name" "$(acct_k "$name")")
	check "$name: at most 10 extensions reached the PBX ($(acct_get "$J" users); $(acct_result "$name"))" le "$(acct_get "$J" users)" 10
done
for name in enum-slow-register enum-slow-invite; do
	J=$(acct_tally "$name" "$(acct_k "$name")")
	check "$name: banned within 20 extensions (tried before the ban: $(acct_get "$J" tries_before_ban); at PBX $(acct_get "$J" users))" \
		le "$(acct_get "$J" tries_before_ban)" 20
done
for name in guess-spread guess-spread6; do
	J=$(acct_tally "$name" "$(acct_k "$name")")
	check "$name: at most 10 guesses reached the PBX ($(acct_get "$J" creds))" le "$(acct_get "$J" creds)" 10
	check "$name: the password was not found ($(acct_result "$name"))" eq "$(acct_result "$name")" "not cracked"
done

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
