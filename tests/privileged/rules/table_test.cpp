// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged: `table inet sipguard` is created, replaced and removed as specified, and nothing else is touched.
#include <doctest/doctest.h>

#include <string>

#include "rules/netlink.h"
#include "rules/table.h"
#include "tests/privileged/netns.h"

using namespace sipguard;
using sipguard::test::EnterNetns;
using sipguard::test::Netns;

namespace {

rules::TableSpec spec_for_test()
{
	rules::TableSpec spec;
	spec.sip_ports = {5060, 5080};
	spec.queue_base = 3;
	spec.queue_count = 2;
	spec.pin_media = true;
	spec.rtp_min = 10000;
	spec.rtp_max = 20000;
	spec.allow = {*net::Cidr::parse("10.200.9.0/24"), *net::Cidr::parse("fd00:5a:9::/48")};
	return spec;
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

} // namespace

TEST_CASE("install creates the table as specified; the queue backend is probed without side effects")
{
	test::require_root_or_skip();
	Netns ns("rules-tbl");
	rules::QueueBackend backend;
	{
		EnterNetns in(ns);
		rules::Netlink nl;
		REQUIRE(nl.open().ok());
		rules::Status st = rules::probe_queue_backend(nl, backend);
		REQUIRE_MESSAGE(st.ok(), st.message);
		MESSAGE("queue backend: ", rules::to_string(backend));
		// Probing commits nothing.
		CHECK(ns.exec_capture("nft list tables") == "");
		st = rules::install(nl, spec_for_test(), backend);
		REQUIRE_MESSAGE(st.ok(), st.message);
	}
	std::string text = ns.exec_capture("nft list table inet sipguard");
	std::string json = ns.exec_capture("nft -j list table inet sipguard");
	// Chains, hooks and priorities.
	CHECK(contains(json, R"("name": "prerouting", "handle")"));
	CHECK(contains(text, "type filter hook prerouting priority raw; policy accept;"));
	CHECK(contains(text, "type filter hook input priority filter - 10; policy accept;"));
	CHECK(contains(text, "type filter hook output priority filter - 10; policy accept;"));
	CHECK(contains(text, "chain media {"));
	// Sets with types, flags and sizes.
	CHECK(contains(text, "set ban4 {\n\t\ttype ipv4_addr\n\t\tsize 1048576\n\t\tflags timeout\n"));
	CHECK(contains(text, "set ban6 {\n\t\ttype ipv6_addr\n\t\tsize 1048576\n\t\tflags timeout\n"));
	CHECK(contains(text, "set bannet4 {\n\t\ttype ipv4_addr\n\t\tsize 1048576\n\t\tflags interval,timeout\n"));
	CHECK(contains(text, "set bannet6 {\n\t\ttype ipv6_addr\n\t\tsize 1048576\n\t\tflags interval,timeout\n"));
	CHECK(contains(text, "set allow4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.200.9.0/24 }"));
	CHECK(contains(text, "set allow6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t\telements = { fd00:5a:9::/48 }"));
	CHECK(contains(text, "set media4 {\n\t\ttype ipv4_addr . inet_service\n\t\tsize 65536\n\t\tflags timeout\n"));
	CHECK(contains(text, "set media6 {\n\t\ttype ipv6_addr . inet_service\n\t\tsize 65536\n\t\tflags timeout\n"));
	CHECK(contains(text, "set sipports {\n\t\ttype inet_service\n\t\telements = { 5060, 5080 }"));
	// Rules.
	CHECK(contains(text, "ip saddr @allow4 accept"));
	CHECK(contains(text, "ip6 saddr @allow6 accept"));
	CHECK(contains(text, "ip saddr @ban4 counter packets 0 bytes 0 drop comment \"sipguard-ban-drop\""));
	CHECK(contains(text, "ip6 saddr @bannet6 counter packets 0 bytes 0 drop"));
	CHECK(contains(text, "udp dport 10000-20000 jump media"));
	// The media chain is only jumped to for UDP, hence `th dport`.
	CHECK(contains(text, "ip saddr . th dport @media4 accept"));
	CHECK(contains(text, "ip6 saddr . th dport @media6 accept"));
	CHECK(contains(text, "counter packets 0 bytes 0 drop comment \"sipguard-media-drop\""));
	// nft prints the xt NFQUEUE v3 target translated, like the native one.
	CHECK(contains(text, "udp dport @sipports queue num 3-4 bypass"));
	CHECK(contains(text, "tcp dport @sipports queue num 3-4 bypass"));
	CHECK(contains(text, "udp sport @sipports queue num 3-4 bypass"));
	CHECK(contains(text, "tcp sport @sipports queue num 3-4 bypass"));
	std::string json_input = ns.exec_capture("nft -j list chain inet sipguard input");
	if (backend == rules::QueueBackend::CompatNfqueueV3)
		CHECK(contains(json_input, R"({"xt": {"type": "target", "name": "NFQUEUE"}})"));
	else
		CHECK(contains(json_input, R"({"queue": {"num": {"range": [3, 4]}, "flags": "bypass"}})"));
	CHECK(contains(json, R"("hook": "prerouting", "prio": -300)"));
}
