// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged: ban and media elements are added, listed with timeouts and deleted in batches, at scale.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>

#include "rules/elements.h"
#include "rules/elements_internal.h"
#include "rules/netlink.h"
#include "rules/table.h"
#include "rules/writer.h"
#include "tests/privileged/rules/kernel_table.h"

using namespace sipguard;
using namespace std::chrono_literals;
using sipguard::test::EnterNetns;
using sipguard::test::Netns;

namespace {

// The table with the media pinhole sets.
rules::TableSpec with_media()
{
	rules::TableSpec spec;
	spec.pin_media = true;
	return spec;
}

net::Cidr cidr(const char* text)
{
	auto c = net::Cidr::parse(text);
	REQUIRE_MESSAGE(c.ok(), text);
	return *c;
}

// 100.64.0.0/10-style spread of distinct IPv4 hosts (only inside the namespace).
net::Cidr nth_v4(uint32_t i) { return net::Cidr::host(net::IpAddress::v4(0x0a000000u + i)); }

net::Cidr nth_v6(uint32_t i)
{
	uint8_t b[16] = {0xfd, 0x00, 0x00, 0x5a, 0, 0, 0, 0, 0, 0, 0, 0};
	b[12] = static_cast<uint8_t>(i >> 24);
	b[13] = static_cast<uint8_t>(i >> 16);
	b[14] = static_cast<uint8_t>(i >> 8);
	b[15] = static_cast<uint8_t>(i);
	return net::Cidr::host(net::IpAddress::v6(b));
}

} // namespace

TEST_CASE("bans: hosts and prefixes, IPv4 and IPv6, listed back with their timeouts")
{
	test::require_root_or_skip();
	Netns ns("rules-elem");
	rules::Netlink nl = test::open_with_table(ns);

	std::vector<rules::BanElement> bans = {
		{cidr("192.0.2.10"), 600s},
		{cidr("2001:db8::10"), 3600s},
		{cidr("198.51.100.0/24"), 86400s},
		{cidr("2001:db8:1::/64"), 120s},
		{cidr("203.0.113.7"), 0s}, // no timeout
	};
	rules::Status st = rules::add_bans(nl, bans);
	REQUIRE_MESSAGE(st.ok(), st.message);

	std::vector<rules::ListedBan> listed;
	st = rules::list_bans(nl, listed);
	REQUIRE_MESSAGE(st.ok(), st.message);
	REQUIRE(listed.size() == bans.size());
	for (const auto& b : bans) {
		auto it = std::find_if(listed.begin(), listed.end(), [&](const auto& l) { return l.target == b.target; });
		REQUIRE_MESSAGE(it != listed.end(), b.target.to_string());
		CHECK(it->timeout == std::chrono::duration_cast<std::chrono::milliseconds>(b.timeout));
		if (b.timeout.count() > 0) {
			CHECK(it->expires_in <= it->timeout);
			CHECK(it->expires_in > it->timeout - 10s);
		} else {
			CHECK(it->expires_in.count() == 0);
		}
	}
	std::string text = ns.exec_capture("nft list table inet sipguard");
	CHECK(text.find("198.51.100.0/24 timeout 1d expires") != std::string::npos);
	CHECK(text.find("2001:db8:1::/64 timeout 2m expires") != std::string::npos);

	// Idempotent: adding the same elements again succeeds.
	st = rules::add_bans(nl, bans, /*refresh=*/false);
	CHECK_MESSAGE(st.ok(), st.message);
	// Refresh sets a new timeout atomically.
	std::vector<rules::BanElement> again = {{cidr("192.0.2.10"), 30s}};
	st = rules::add_bans(nl, again);
	REQUIRE_MESSAGE(st.ok(), st.message);
	REQUIRE(rules::list_bans(nl, listed).ok());
	auto it = std::find_if(listed.begin(), listed.end(), [&](const auto& l) { return l.target == cidr("192.0.2.10"); });
	REQUIRE(it != listed.end());
	CHECK(it->timeout == 30s);

	// Deleting present and absent elements in one call succeeds, and only
	// the present ones were there to go.
	std::vector<net::Cidr> del = {cidr("192.0.2.10"), cidr("192.0.2.99"), cidr("198.51.100.0/24"),
	                              cidr("10.99.0.0/16"), cidr("2001:db8::10"), cidr("2001:db8::99")};
	st = rules::delete_bans(nl, del);
	REQUIRE_MESSAGE(st.ok(), st.message);
	st = rules::delete_bans(nl, del); // all absent now
	REQUIRE_MESSAGE(st.ok(), st.message);
	REQUIRE(rules::list_bans(nl, listed).ok());
	std::set<std::string> left;
	for (const auto& l : listed)
		left.insert(l.target.to_string());
	CHECK(left == std::set<std::string>{"2001:db8:1::/64", "203.0.113.7"});
}

TEST_CASE("a refused element names the set and the element and aborts only its own transaction")
{
	test::require_root_or_skip();
	Netns ns("rules-err");
	rules::TableSpec spec;
	spec.ban_set_size = 4;
	rules::Netlink nl = test::open_with_table(ns, spec);
	std::vector<rules::BanElement> bans;
	for (uint32_t i = 0; i < 6; ++i)
		bans.push_back({nth_v4(i), 60s});
	rules::Status st = rules::add_bans(nl, bans, false);
	REQUIRE_FALSE(st.ok());
	MESSAGE(st.message);
	CHECK(st.message.find("set inet sipguard ban4") != std::string::npos);
	CHECK(st.message.find("10.0.0.0") != std::string::npos);
	// ENFILE: the declared set size is full.
	CHECK(st.error == ENFILE);
	std::vector<rules::ListedBan> listed;
	REQUIRE(rules::list_bans(nl, listed).ok());
	CHECK(listed.empty()); // all or nothing
}

TEST_CASE("100,000 IPv4 and 20,000 IPv6 bans are inserted, listed and deleted in batches")
{
	test::require_root_or_skip();
	Netns ns("rules-scale");
	rules::Netlink nl = test::open_with_table(ns);
	std::vector<rules::BanElement> bans;
	for (uint32_t i = 0; i < 100000; ++i)
		bans.push_back({nth_v4(i), 3600s});
	for (uint32_t i = 0; i < 20000; ++i)
		bans.push_back({nth_v6(i), 3600s});
	auto t0 = std::chrono::steady_clock::now();
	rules::Status st = rules::add_bans(nl, bans, false);
	REQUIRE_MESSAGE(st.ok(), st.message);
	auto t1 = std::chrono::steady_clock::now();
	std::vector<rules::ListedBan> listed;
	st = rules::list_bans(nl, listed);
	REQUIRE_MESSAGE(st.ok(), st.message);
	auto t2 = std::chrono::steady_clock::now();
	CHECK(listed.size() == bans.size());
	std::set<net::IpAddress> seen;
	for (const auto& l : listed)
		seen.insert(l.target.base);
	CHECK(seen.size() == bans.size());
	CHECK(seen.count(nth_v4(99999).base) == 1);
	CHECK(seen.count(nth_v6(19999).base) == 1);

	std::vector<net::Cidr> targets;
	for (const auto& b : bans)
		targets.push_back(b.target);
	st = rules::delete_bans(nl, targets);
	REQUIRE_MESSAGE(st.ok(), st.message);
	auto t3 = std::chrono::steady_clock::now();
	REQUIRE(rules::list_bans(nl, listed).ok());
	CHECK(listed.empty());
	auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
	MESSAGE("120k bans: add ", ms(t1 - t0), " ms, list ", ms(t2 - t1), " ms, delete ", ms(t3 - t2), " ms");
}

TEST_CASE("media pinholes: addr . port elements with timeouts")
{
	test::require_root_or_skip();
	Netns ns("rules-media");
	rules::Netlink nl = test::open_with_table(ns, with_media());
	std::vector<rules::MediaElement> media = {
		{*net::IpAddress::parse("192.0.2.20"), 10002, 60s},
		{*net::IpAddress::parse("2001:db8::20"), 10004, 90s},
	};
	rules::Status st = rules::add_media(nl, media);
	REQUIRE_MESSAGE(st.ok(), st.message);
	std::string text = ns.exec_capture("nft list set inet sipguard media4; nft list set inet sipguard media6");
	CHECK(text.find("192.0.2.20 . 10002 timeout 1m expires") != std::string::npos);
	CHECK(text.find("2001:db8::20 . 10004 timeout 1m30s expires") != std::string::npos);
	std::vector<rules::ListedMedia> listed;
	REQUIRE(rules::list_media(nl, listed).ok());
	REQUIRE(listed.size() == 2);
	CHECK(((listed[0].port == 10002 && listed[1].port == 10004) || (listed[0].port == 10004 && listed[1].port == 10002)));
	media.push_back({*net::IpAddress::parse("192.0.2.21"), 10006, 0s}); // never added
	st = rules::delete_media(nl, media);
	REQUIRE_MESSAGE(st.ok(), st.message);
	REQUIRE(rules::list_media(nl, listed).ok());
	CHECK(listed.empty());
}

TEST_CASE("the writer thread batches requests from several threads")
{
	test::require_root_or_skip();
	Netns ns("rules-writer");
	rules::Netlink nl = test::open_with_table(ns, with_media());
	rules::Netlink for_listing;
	{
		EnterNetns in(ns);
		REQUIRE(for_listing.open().ok());
	}
	std::vector<std::string> failures;
	{
		rules::Writer writer(std::move(nl), {}, [&](const rules::WriterRequest&, const std::string& msg) {
			failures.push_back(msg);
		});
		std::vector<std::thread> threads;
		for (uint32_t t = 0; t < 4; ++t) {
			threads.emplace_back([&writer, t] {
				for (uint32_t i = 0; i < 2500; ++i)
					writer.ban(nth_v4(t * 10000 + i), 600s);
			});
		}
		for (auto& th : threads)
			th.join();
		writer.open_pinhole(*net::IpAddress::parse("192.0.2.30"), 12000, 60s);
		writer.unban(nth_v4(0));
		writer.unban(nth_v4(424242)); // never banned: must not fail anything
		// An overlapping prefix is refused by the kernel (EEXIST) and
		// reported, without costing the others in its batch.
		writer.ban(cidr("10.50.0.0/16"), 60s);
		writer.ban(cidr("10.50.1.0/24"), 60s);
		writer.ban(cidr("192.0.2.77"), 60s);
		writer.flush();
		rules::WriterStats stats = writer.stats();
		CHECK(stats.submitted == 10006);
		CHECK(stats.rejected_full == 0);
		CHECK(stats.failed_elements == 1);
		CHECK(stats.batches >= 3);
		CHECK(stats.batch_latency_ns_max > 0);
		MESSAGE("writer: ", stats.batches, " batches, max latency ", stats.batch_latency_ns_max / 1000, " us");
	}
	REQUIRE(failures.size() == 1);
	CHECK(failures[0].find("bannet4") != std::string::npos);
	std::vector<rules::ListedBan> listed;
	REQUIRE(rules::list_bans(for_listing, listed).ok());
	CHECK(listed.size() == 10000 - 1 + 2);
	std::vector<rules::ListedMedia> media;
	REQUIRE(rules::list_media(for_listing, media).ok());
	CHECK(media.size() == 1);
}

TEST_CASE("restoring an element sets its remaining time (NFTA_SET_ELEM_EXPIRATION), not only its timeout")
{
	test::require_root_or_skip();
	Netns ns("rules-expire");
	rules::Netlink nl = test::open_with_table(ns);
	rules::ElementOp op;
	op.kind = rules::ElementOp::Kind::Add;
	op.target = cidr("192.0.2.44");
	op.timeout = 600s;
	op.expires_in = 100s;
	rules::Status st = rules::commit_element_ops(nl, std::span<const rules::ElementOp>(&op, 1));
	REQUIRE_MESSAGE(st.ok(), st.message);
	std::vector<rules::ListedBan> listed;
	REQUIRE(rules::list_bans(nl, listed).ok());
	REQUIRE(listed.size() == 1);
	CHECK(listed[0].timeout == 600s);
	CHECK(listed[0].expires_in <= 100s);
	CHECK(listed[0].expires_in > 90s);
}
