// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged: `table inet sipguard` is created, replaced and removed as specified, and nothing else is touched.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include <unistd.h>

#include "rules/elements.h"
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

// A socket opened inside the namespace stays bound to it after the thread
// returns to its own namespace (so shell commands run from here work).
rules::Netlink open_in(const Netns& ns)
{
	EnterNetns in(ns);
	rules::Netlink nl;
	rules::Status st = nl.open();
	REQUIRE_MESSAGE(st.ok(), st.message);
	return nl;
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
	CHECK(contains(text, "udp dport @sipports counter packets 0 bytes 0 queue num 3-4 bypass comment \"sipguard-queue\""));
	CHECK(contains(text, "tcp dport @sipports counter packets 0 bytes 0 queue num 3-4 bypass comment \"sipguard-queue\""));
	CHECK(contains(text, "udp sport @sipports counter packets 0 bytes 0 queue num 3-4 bypass comment \"sipguard-queue-pbx\""));
	CHECK(contains(text, "tcp sport @sipports counter packets 0 bytes 0 queue num 3-4 bypass comment \"sipguard-queue-pbx\""));
	std::string json_input = ns.exec_capture("nft -j list chain inet sipguard input");
	if (backend == rules::QueueBackend::CompatNfqueueV3)
		CHECK(contains(json_input, R"({"xt": {"type": "target", "name": "NFQUEUE"}})"));
	else
		CHECK(contains(json_input, R"({"queue": {"num": {"range": [3, 4]}, "flags": "bypass"}})"));
	CHECK(contains(json, R"("hook": "prerouting", "prio": -300)"));
}

namespace {

// Foreign tables an operator may have: they must survive our install,
// replace and remove byte for byte.
void create_foreign_tables(const Netns& ns)
{
	ns.must("nft add table inet filter");
	ns.must("nft add chain inet filter input '{ type filter hook input priority 0; policy accept; }'");
	ns.must("nft add rule inet filter input tcp dport 22 accept");
	ns.must("nft add table ip fail2ban");
	ns.must("nft add set ip fail2ban f2b-sshd '{ type ipv4_addr; }'");
	ns.must("nft add element ip fail2ban f2b-sshd '{ 192.0.2.7 }'");
	ns.must("nft add chain ip fail2ban f2b-chain '{ type filter hook input priority -1; }'");
	ns.must("nft add rule ip fail2ban f2b-chain ip saddr @f2b-sshd reject");
	ns.must("nft add table ip6 dockerlike");
	ns.must("nft add chain ip6 dockerlike forward_chain '{ type filter hook forward priority 0; }'");
	ns.must("nft add rule ip6 dockerlike forward_chain ip6 saddr fd00:5a::/64 counter accept");
}

std::string foreign_snapshot(const Netns& ns)
{
	return ns.exec_capture("nft list table inet filter; nft list table ip fail2ban; nft list table ip6 dockerlike");
}

} // namespace

TEST_CASE("install, replace and remove leave foreign tables untouched")
{
	test::require_root_or_skip();
	Netns ns("rules-foreign");
	create_foreign_tables(ns);
	std::string before = foreign_snapshot(ns);
	REQUIRE(contains(before, "192.0.2.7"));
	REQUIRE(contains(before, "tcp dport 22 accept"));

	rules::Netlink nl = open_in(ns);
	rules::QueueBackend backend;
	REQUIRE(rules::probe_queue_backend(nl, backend).ok());
	auto spec = spec_for_test();
	rules::Status st = rules::install(nl, spec, backend);
	REQUIRE_MESSAGE(st.ok(), st.message);
	CHECK(foreign_snapshot(ns) == before);

	// Replace with a different spec: new ports, no media pinning.
	spec.sip_ports = {5070};
	spec.pin_media = false;
	st = rules::install(nl, spec, backend);
	REQUIRE_MESSAGE(st.ok(), st.message);
	std::string text = ns.exec_capture("nft list table inet sipguard");
	CHECK(contains(text, "elements = { 5070 }"));
	CHECK_FALSE(contains(text, "5060"));
	CHECK_FALSE(contains(text, "jump media"));
	CHECK(foreign_snapshot(ns) == before);

	st = rules::remove(nl);
	REQUIRE_MESSAGE(st.ok(), st.message);
	int status = 0;
	ns.exec_capture("nft list table inet sipguard 2>/dev/null", &status);
	CHECK(status != 0);
	bool exists = true;
	REQUIRE(rules::table_exists(nl, exists).ok());
	CHECK_FALSE(exists);
	// Removing what is not there is not an error.
	st = rules::remove(nl);
	CHECK_MESSAGE(st.ok(), st.message);
	CHECK(foreign_snapshot(ns) == before);
	CHECK(ns.exec_capture("nft list tables") == "table inet filter\ntable ip fail2ban\ntable ip6 dockerlike\n");
}

TEST_CASE("replacing is atomic: a concurrent reader always sees the whole table")
{
	test::require_root_or_skip();
	Netns ns("rules-atomic");
	rules::Netlink nl = open_in(ns);
	rules::QueueBackend backend;
	REQUIRE(rules::probe_queue_backend(nl, backend).ok());
	auto spec = spec_for_test();
	REQUIRE(rules::install(nl, spec, backend).ok());

	// A reader process lists the table in a loop while we replace it; every
	// listing must show all 6 chains and 9 sets (bounded: 200 listings).
	std::string script = "i=0; bad=0; while [ $i -lt 200 ]; do "
	                     "o=$(nft list table inet sipguard 2>&1); "
	                     "c=$(printf '%s\\n' \"$o\" | grep -c '^\tchain '); "
	                     "s=$(printf '%s\\n' \"$o\" | grep -c '^\tset '); "
	                     "if [ \"$c\" != 6 ] || [ \"$s\" != 9 ]; then bad=$((bad+1)); fi; i=$((i+1)); done; echo $bad";
	std::string path = "/tmp/sg-rules-reader-" + std::to_string(getpid()) + ".sh";
	{
		FILE* f = fopen(path.c_str(), "w");
		REQUIRE(f != nullptr);
		fputs(script.c_str(), f);
		fclose(f);
	}
	struct Reader {
		FILE* f;
		std::string path;
		~Reader()
		{
			if (f)
				pclose(f);
			unlink(path.c_str());
		}
	} reader{popen(("ip netns exec " + ns.name() + " sh " + path).c_str(), "r"), path};
	REQUIRE(reader.f != nullptr);
	int replaced = 0;
	for (int i = 0; i < 100; ++i) {
		spec.sip_ports = {static_cast<uint16_t>(5060 + (i % 7))};
		rules::Status st = rules::install(nl, spec, backend);
		REQUIRE_MESSAGE(st.ok(), st.message);
		++replaced;
	}
	char buf[64] = {};
	size_t n = fread(buf, 1, sizeof buf - 1, reader.f);
	std::string bad(buf, n);
	CHECK(replaced == 100);
	CHECK(bad == "0\n");
}

TEST_CASE("replacing the table keeps bans and pinholes with their remaining time")
{
	test::require_root_or_skip();
	Netns ns("rules-keep");
	rules::Netlink nl = open_in(ns);
	rules::QueueBackend backend;
	REQUIRE(rules::probe_queue_backend(nl, backend).ok());
	auto spec = spec_for_test();
	REQUIRE(rules::install(nl, spec, backend).ok());
	std::vector<rules::BanElement> bans = {{*net::Cidr::parse("192.0.2.10"), std::chrono::seconds(600)},
	                                       {*net::Cidr::parse("198.51.100.0/24"), std::chrono::seconds(3600)},
	                                       {*net::Cidr::parse("2001:db8::/32"), std::chrono::seconds(0)},
	                                       {*net::Cidr::parse("2001:db8:ffff::1"), std::chrono::seconds(60)}};
	REQUIRE(rules::add_bans(nl, bans).ok());
	std::vector<rules::MediaElement> media = {{*net::IpAddress::parse("192.0.2.20"), 10002, std::chrono::seconds(90)}};
	REQUIRE(rules::add_media(nl, media).ok());

	spec.sip_ports = {5070};
	rules::Status st = rules::install(nl, spec, backend);
	REQUIRE_MESSAGE(st.ok(), st.message);
	std::vector<rules::ListedBan> listed;
	REQUIRE(rules::list_bans(nl, listed).ok());
	REQUIRE(listed.size() == bans.size());
	for (const auto& b : bans) {
		auto it = std::find_if(listed.begin(), listed.end(), [&](const auto& l) { return l.target == b.target; });
		REQUIRE_MESSAGE(it != listed.end(), b.target.to_string());
		CHECK(it->timeout == std::chrono::duration_cast<std::chrono::milliseconds>(b.timeout));
		if (b.timeout.count() > 0)
			CHECK(it->expires_in > it->timeout - std::chrono::seconds(10));
	}
	std::vector<rules::ListedMedia> pins;
	REQUIRE(rules::list_media(nl, pins).ok());
	REQUIRE(pins.size() == 1);
	CHECK(pins[0].port == 10002);
	CHECK(pins[0].timeout == std::chrono::seconds(90));

	// Without keep_elements the new table starts empty.
	spec.keep_elements = false;
	REQUIRE(rules::install(nl, spec, backend).ok());
	REQUIRE(rules::list_bans(nl, listed).ok());
	CHECK(listed.empty());
}
