// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged: a firewall reload or a hand edit that wipes protection is seen by the monitor within 1 s, named by reconcile, and undone by repair.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "rules/elements.h"
#include "rules/monitor.h"
#include "rules/reconcile.h"
#include "rules/table.h"
#include "tests/privileged/rules/probe_lab.h"

using namespace sipguard;
using namespace std::chrono_literals;
using sipguard::test::EnterNetns;

namespace {

const std::vector<std::string> kProbes = {"172.16.5.1", "172.16.200.1", "172.32.0.1", "192.0.2.7", "192.0.2.8",
                                          "2001:db8:1::1", "2001:db9::1"};

net::Cidr cidr(const char* text) { return *net::Cidr::parse(text); }

struct Guarded {
	test::ProbeLab lab{kProbes};
	rules::TableSpec spec;
	rules::Monitor monitor;
	std::vector<rules::BanRecord> records;

	Guarded()
	{
		spec.sip_ports = {5060, 5080};
		spec.allow = {cidr("10.200.9.0/24")};
		{
			EnterNetns in(lab.pbx());
			rules::Status st = monitor.open();
			REQUIRE_MESSAGE(st.ok(), st.message);
		}
		// Our own changes (install, repair) come from this port.
		monitor.ignore_port(lab.nl().portid());
		auto now = rules::system_now();
		records = {{cidr("192.0.2.7"), now + 600s},
		           {cidr("172.16.5.0/24"), now + 900s},
		           {cidr("172.16.0.0/12"), now + 300s},
		           {cidr("2001:db8:1::/48"), now + 600s}};
		auto r = rules::repair(lab.nl(), spec, lab.backend(), records);
		REQUIRE_MESSAGE(r.ok(), r.error());
		CHECK(r->found.table_missing);
		CHECK(r->reinstalled);
		CHECK(r->elements.applied == 5); // the host, the /12 cut around its longer-lived /24 (3), the /48
		expect_clean("after the first repair");
		// Nothing we did is reported.
		std::vector<rules::MonitorEvent> events;
		REQUIRE(monitor.wait(200, events).ok());
		CHECK_MESSAGE(events.empty(), (events.empty() ? "" : rules::describe(events[0])));
	}

	void expect_clean(const char* when)
	{
		auto rep = rules::reconcile(lab.nl(), spec, lab.backend(), records, rules::system_now());
		REQUIRE_MESSAGE(rep.ok(), rep.error());
		CHECK_MESSAGE(rep->clean(), when, ": ", rep->summary());
		auto got = lab.send_all(2);
		for (const auto& p : kProbes) {
			net::IpAddress a = *net::IpAddress::parse(p);
			bool banned = false;
			for (const auto& rec : records)
				banned = banned || rec.target.contains(a);
			CHECK_MESSAGE(got[p] == (banned ? 0 : 2), when, ": ", p);
		}
	}

	// Runs `command` with nft inside the pbx namespace, then waits (at most
	// 1 s after it returns) until the monitor has reported `what`.
	std::vector<rules::MonitorEvent> disrupt(const std::string& command, rules::What what,
	                                         rules::MonitorEvent::Op op)
	{
		lab.pbx().must(command);
		auto returned = std::chrono::steady_clock::now();
		auto deadline = returned + 1s;
		std::vector<rules::MonitorEvent> events;
		auto seen = [&] {
			for (const auto& e : events)
				if (e.what == what && e.op == op)
					return true;
			return false;
		};
		while (!seen() && std::chrono::steady_clock::now() < deadline) {
			int left = static_cast<int>(
				std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
					.count());
			REQUIRE(monitor.wait(std::max(left, 0), events).ok());
		}
		auto latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - returned);
		// Let the rest of the transaction's notifications arrive.
		REQUIRE(monitor.wait(50, events).ok());
		std::string text;
		for (const auto& e : events)
			text += rules::describe(e) + "\n";
		CHECK_MESSAGE(seen(), "within 1 s of `", command, "` the monitor reported:\n", text);
		MESSAGE("`", command, "` reported ", latency.count(), " us after nft returned:\n", text);
		return events;
	}

	rules::ReconcileReport reconcile()
	{
		auto rep = rules::reconcile(lab.nl(), spec, lab.backend(), records, rules::system_now());
		REQUIRE_MESSAGE(rep.ok(), rep.error());
		MESSAGE("reconcile: ", rep->summary());
		return *rep;
	}

	void repair_and_check(bool expect_reinstall)
	{
		auto r = rules::repair(lab.nl(), spec, lab.backend(), records);
		REQUIRE_MESSAGE(r.ok(), r.error());
		CHECK(r->reinstalled == expect_reinstall);
		CHECK(r->elements.ok());
		expect_clean("after repair");
		std::vector<rules::MonitorEvent> events;
		REQUIRE(monitor.wait(100, events).ok());
		CHECK_MESSAGE(events.empty(), "the repair echoed: ", (events.empty() ? "" : rules::describe(events[0])));
	}

	// Handle of the first rule in `chain` whose listing contains `needle`.
	std::string handle_of(const char* chain, const char* needle)
	{
		std::string text = lab.pbx().exec_capture(std::string("nft -a list chain inet sipguard ") + chain + " 2>/dev/null");
		size_t line_start = 0;
		while (line_start < text.size()) {
			size_t end = text.find('\n', line_start);
			std::string line = text.substr(line_start, end - line_start);
			size_t h = line.find("# handle ");
			if (line.find(needle) != std::string::npos && h != std::string::npos)
				return line.substr(h + 9);
			line_start = end == std::string::npos ? text.size() : end + 1;
		}
		FAIL("no rule with `", needle, "` in chain ", chain, ":\n", text);
		return "";
	}
};

size_t desired_elements(const std::vector<rules::BanRecord>& records)
{
	return rules::project(records, rules::system_now()).pieces.size();
}

} // namespace

TEST_CASE("monitor + reconcile: `nft flush ruleset` in the namespace")
{
	test::require_root_or_skip();
	Guarded g;
	auto events = g.disrupt("nft flush ruleset", rules::What::Table, rules::MonitorEvent::Op::Deleted);
	CHECK(events.back().process == "nft");
	auto rep = g.reconcile();
	CHECK(rep.table_missing);
	CHECK(rep.queue_rule_missing);
	CHECK(rep.count(rules::What::Table) == 1);
	CHECK(rep.structure.size() == 1);
	CHECK(rep.elements.missing() == desired_elements(g.records));
	CHECK(rep.elements.extra() == 0);
	g.repair_and_check(true);
}

TEST_CASE("monitor + reconcile: `nft delete table inet sipguard`")
{
	test::require_root_or_skip();
	Guarded g;
	g.disrupt("nft delete table inet sipguard", rules::What::Table, rules::MonitorEvent::Op::Deleted);
	auto rep = g.reconcile();
	CHECK(rep.table_missing);
	CHECK(rep.count(rules::What::Table) == 1);
	CHECK(rep.elements.missing() == desired_elements(g.records));
	g.repair_and_check(true);
}

TEST_CASE("monitor + reconcile: deleting one set (and the rule that uses it)")
{
	test::require_root_or_skip();
	Guarded g;
	std::string handle = g.handle_of("prerouting", "@bannet4");
	// A set in use cannot be deleted (EBUSY): its rule goes in the same transaction.
	g.disrupt("printf 'delete rule inet sipguard prerouting handle " + handle +
	              "\\ndelete set inet sipguard bannet4\\n' | nft -f -",
	          rules::What::Set, rules::MonitorEvent::Op::Deleted);
	auto rep = g.reconcile();
	CHECK_FALSE(rep.table_missing);
	CHECK_FALSE(rep.queue_rule_missing);
	CHECK(rep.count(rules::What::Set) == 1);
	CHECK(rep.count(rules::What::Rule) == 1);
	CHECK(rep.count(rules::What::Chain) == 0);
	CHECK(rep.structure.size() == 2);
	CHECK(rep.elements.missing() == 3); // the /12's two pieces and the /24
	CHECK(rep.elements.extra() == 0);
	g.repair_and_check(true);
}

TEST_CASE("monitor + reconcile: flushing one set")
{
	test::require_root_or_skip();
	Guarded g;
	auto events = g.disrupt("nft flush set inet sipguard bannet4", rules::What::Element, rules::MonitorEvent::Op::Deleted);
	uint32_t deleted = 0;
	for (const auto& e : events)
		if (e.what == rules::What::Element && e.name == "bannet4")
			deleted += e.count;
	CHECK(deleted == 6); // three ranges: start and end elements
	auto rep = g.reconcile();
	CHECK_FALSE(rep.needs_reinstall());
	CHECK(rep.elements.missing() == 3);
	CHECK(rep.count(rules::What::Element) == 3);
	g.repair_and_check(false);

	// The SIP port set is fixed by the spec: flushing it stops queueing SIP.
	g.disrupt("nft flush set inet sipguard sipports", rules::What::Element, rules::MonitorEvent::Op::Deleted);
	rep = g.reconcile();
	CHECK(rep.needs_reinstall());
	CHECK(rep.count(rules::What::Element) == 1);
	g.repair_and_check(true);
}

TEST_CASE("monitor + reconcile: deleting the queue rule")
{
	test::require_root_or_skip();
	Guarded g;
	std::string handle = g.handle_of("input", "udp dport @sipports");
	g.disrupt("nft delete rule inet sipguard input handle " + handle, rules::What::Rule,
	          rules::MonitorEvent::Op::Deleted);
	auto rep = g.reconcile();
	CHECK(rep.queue_rule_missing);
	CHECK(rep.count(rules::What::Rule) == 1);
	CHECK(rep.structure.size() == 1);
	CHECK(rep.elements.empty());
	g.repair_and_check(true);
}

TEST_CASE("monitor + reconcile: a dormant table and an accept rule slipped in before the bans")
{
	test::require_root_or_skip();
	Guarded g;
	g.disrupt("nft insert rule inet sipguard prerouting accept", rules::What::Rule, rules::MonitorEvent::Op::Added);
	auto rep = g.reconcile();
	CHECK(rep.count(rules::What::Rule) == 1);
	CHECK(rep.structure.at(0).kind == rules::Discrepancy::Kind::Extra);
	g.repair_and_check(true);

	g.disrupt("nft add table inet sipguard '{ flags dormant; }'", rules::What::Table, rules::MonitorEvent::Op::Changed);
	rep = g.reconcile();
	CHECK(rep.count(rules::What::Table) == 1);
	g.repair_and_check(true);
}

TEST_CASE("monitor: changes to other tables and element expiry are not reported")
{
	test::require_root_or_skip();
	Guarded g;
	g.lab.pbx().must("nft add table inet filter; nft add set inet filter ban4 '{ type ipv4_addr; flags timeout; }'; "
	                 "nft add element inet filter ban4 '{ 192.0.2.1 }'; nft flush set inet filter ban4; "
	                 "nft delete table inet filter");
	std::vector<rules::BanRecord> short_lived = {{cidr("192.0.2.99"), rules::system_now() + 1s}};
	std::vector<rules::ElementOp> ops = {rules::add_op(rules::project(short_lived, rules::system_now()).pieces[0])};
	REQUIRE(rules::apply_robust(g.lab.nl(), ops).ok());
	std::vector<rules::MonitorEvent> events;
	REQUIRE(g.monitor.wait(1800, events).ok());
	REQUIRE(g.monitor.wait(200, events).ok());
	CHECK_MESSAGE(events.empty(), (events.empty() ? "" : rules::describe(events[0])));
}
