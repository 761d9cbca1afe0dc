// SPDX-License-Identifier: GPL-2.0-or-later
// Puts sipguard's own table (SIP ports queued to queue 0 with bypass, in and
// out) into a test namespace through rules::install, the path the daemon uses.
#pragma once

#include <doctest/doctest.h>

#include "rules/netlink.h"
#include "rules/table.h"
#include "tests/privileged/netns.h"

namespace sipguard::nfq {

inline void install_queue_rule(const test::Netns& ns, uint16_t port)
{
	test::EnterNetns in(ns);
	rules::Netlink nl;
	rules::Status st = nl.open();
	REQUIRE_MESSAGE(st.ok(), st.message);
	rules::TableSpec spec;
	spec.sip_ports = {port};
	spec.queue_base = 0;
	spec.queue_count = 1;
	rules::QueueBackend backend;
	st = rules::install_auto(nl, spec, backend);
	REQUIRE_MESSAGE(st.ok(), st.message);
}

} // namespace sipguard::nfq
