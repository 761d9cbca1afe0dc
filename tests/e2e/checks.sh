# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The e2e scripts' assertions: ok/bad count and print one line each;
# `check DESCRIPTION CONDITION...` runs the condition. Sourced.
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $*"; }
check() { # check DESCRIPTION CONDITION...
	local d=$1
	shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}
le() { [ "${1:-x}" != x ] && [ "${1:-x}" != - ] && [ "$1" -le "$2" ]; }
eq() { [ "$1" = "$2" ]; }
ms_between() { python3 -c "print(int(round(($2 - $1) * 1000)))"; }
# e2e_lab_ready [SIPGUARD]: the sipguard binary to test, or exit 77 (skip)
# without root, the lab's peers or what sipguard must have.
e2e_lab_ready() {
	[ -n "${1:-}" ] && SIPGUARD_BIN=$1
	lab_require_peers
	if ! lab_sipguard_available; then
		echo "SKIP: $LAB_SIPGUARD_MISSING" >&2
		exit 77
	fi
}
