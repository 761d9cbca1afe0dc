// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged: writer jobs run in order with the writer's requests; sync_bans brings the prefix sets to the records and leaves host bans alone.
#include <doctest/doctest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rules/elements.h"
#include "rules/reconcile.h"
#include "rules/table.h"
#include "rules/writer.h"
#include "tests/privileged/rules/kernel_table.h"

using namespace sipguard;
using namespace std::chrono_literals;
using sipguard::test::EnterNetns;
using sipguard::test::Netns;

namespace {

net::Cidr cidr(const char* text) { return *net::Cidr::parse(text); }

std::set<std::string> elements(rules::Netlink& nl)
{
	std::set<std::string> out;
	for (const auto& p : test::ban_pieces(nl))
		out.insert(std::string(rules::set_name(p.set)) + " " + rules::piece_text(p.first, p.last));
	return out;
}

} // namespace

TEST_CASE("a writer job sees the requests before it, not those after it; sync_bans(Prefixes) replaces only prefix pieces")
{
	test::require_root_or_skip();
	Netns ns("rules-sync");
	rules::Netlink wnl, nl;
	{
		EnterNetns in(ns);
		REQUIRE(wnl.open().ok());
		REQUIRE(nl.open().ok());
	}
	rules::QueueBackend backend;
	REQUIRE(rules::probe_queue_backend(nl, backend).ok());
	REQUIRE(rules::install(nl, {}, backend).ok());

	auto now = rules::system_now();
	std::vector<rules::BanRecord> prefixes = {{cidr("172.16.5.0/24"), now + 900s}, {cidr("172.16.0.0/12"), now + 300s}};
	std::optional<std::set<std::string>> seen_by_job;
	std::optional<util::Result<rules::ApplyResult>> synced;
	{
		rules::Writer writer(std::move(wnl));
		CHECK(writer.portid() != 0);
		CHECK(writer.ban(cidr("192.0.2.1"), 600s));
		CHECK(writer.ban(cidr("10.50.0.0/16"), 600s)); // a prefix the records no longer hold
		CHECK(writer.submit_job([&](rules::Netlink& jnl) {
			seen_by_job = elements(jnl);
			synced.emplace(rules::sync_bans(jnl, prefixes, rules::system_now, rules::BanScope::Prefixes));
		}));
		CHECK(writer.unban(cidr("192.0.2.1")));
		writer.flush();
		CHECK(writer.stats().jobs == 1);
	}
	REQUIRE(seen_by_job.has_value());
	CHECK(*seen_by_job == std::set<std::string>{"ban4 192.0.2.1", "bannet4 10.50.0.0/16"});
	REQUIRE(synced.has_value());
	REQUIRE_MESSAGE(synced->ok(), synced->error());
	CHECK((*synced)->applied == 4); // one removal, the /12 cut in two around the /24, the /24
	CHECK((*synced)->ok());
	CHECK(elements(nl) == std::set<std::string>{"bannet4 172.16.0.0-172.16.4.255", "bannet4 172.16.5.0/24",
	                                            "bannet4 172.16.6.0-172.31.255.255"});
	// Nothing left to do.
	auto again = rules::sync_bans(nl, prefixes, rules::system_now, rules::BanScope::Prefixes);
	REQUIRE(again.ok());
	CHECK(again->applied == 0);
	CHECK(again->transactions == 0);
}
