// SPDX-License-Identifier: GPL-2.0-or-later
// The rules tests' table in a namespace: installed over netlink, its ban
// pieces read back; a failure fails the test.
#pragma once

#include <doctest/doctest.h>

#include <vector>

#include "rules/elements.h"
#include "rules/netlink.h"
#include "rules/table.h"
#include "tests/privileged/netns.h"

namespace sipguard::test {

// A netlink socket bound in `ns`, with table inet sipguard installed from `spec`.
inline rules::Netlink open_with_table(const Netns& ns, const rules::TableSpec& spec = {})
{
	rules::Netlink nl;
	{
		EnterNetns in(ns);
		rules::Status st = nl.open();
		REQUIRE_MESSAGE(st.ok(), st.message);
	}
	rules::QueueBackend backend;
	REQUIRE(rules::probe_queue_backend(nl, backend).ok());
	rules::Status st = rules::install(nl, spec, backend);
	REQUIRE_MESSAGE(st.ok(), st.message);
	return nl;
}

// The ban sets' pieces as the kernel lists them.
inline std::vector<rules::ListedPiece> ban_pieces(rules::Netlink& nl)
{
	std::vector<rules::ListedPiece> listed;
	rules::Status st = rules::list_ban_pieces(nl, listed);
	REQUIRE_MESSAGE(st.ok(), st.message);
	return listed;
}

} // namespace sipguard::test
