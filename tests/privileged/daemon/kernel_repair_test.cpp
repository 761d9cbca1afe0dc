// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard run` repairs its table within 1 s of a firewall reload or a hand
// edit in its namespace (flush ruleset, delete table, delete or flush a set,
// delete the SIP queue rule): every ban is back and dropping, and SIP is
// inspected again (a scanner's first probe after the repair is banned).
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "agent/daemon/apply_config.h"
#include "agent/daemon/config.h"
#include "tests/privileged/daemon/agent.h"
#include "tests/privileged/daemon/lab.h"

using namespace sipguard;
using namespace std::chrono_literals;
using test::Agent;
using test::DaemonLab;

namespace {

const std::vector<std::string> kProbes = {"172.16.5.1", "172.16.200.1", "172.32.0.1", "192.0.2.7",
                                          "192.0.2.8",  "2001:db8:1::1", "2001:db9::1"};
const std::vector<std::string> kScanner = {"203.0.113.50"};

std::vector<std::string> sources()
{
	std::vector<std::string> all = kProbes;
	all.insert(all.end(), kScanner.begin(), kScanner.end());
	return all;
}

struct Guarded {
	DaemonLab lab{sources()};
	test::TempDir dir;
	Agent agent{lab.pbx(), dir.path};
	rules::TableSpec spec;
	std::string foreign; // another firewall's table, as listed at the start

	Guarded()
	{
		// Someone else's table in the same namespace: never touched by a repair.
		lab.pbx().must("nft add table inet other && nft add set inet other s '{ type ipv4_addr; }' && "
		               "nft add element inet other s '{ 192.0.2.200 }' && "
		               "nft add chain inet other in '{ type filter hook input priority 5; policy accept; }' && "
		               "nft add rule inet other in ip saddr @s counter accept");
		foreign = lab.pbx().exec_capture("nft -a list table inet other");
		REQUIRE(foreign.find("192.0.2.200") != std::string::npos);
		agent.start();
		for (const char* b : {"192.0.2.7 --for 10m", "172.16.5.0/24 --for 15m", "172.16.0.0/12 --for 5m --force",
		                      "2001:db8:1::/48 --for 10m"})
			agent.cli(std::string("ban ") + b);
		daemon::LoadResult cfg = daemon::load_config_file(agent.config_path());
		REQUIRE(cfg.config);
		spec = daemon::table_spec(*cfg.config);
		expect_enforced("before");
	}

	// The kernel holds what the agent lists, and drops exactly those probes.
	void expect_enforced(const char* when)
	{
		util::json::Value bans = agent.bans();
		auto rep = test::check_kernel(lab, spec, test::records_of(bans));
		REQUIRE_MESSAGE(rep.ok(), rep.error());
		CHECK_MESSAGE(rep->clean(), std::string(when), ": ", rep->summary());
		const std::set<std::string> banned = test::covered(bans, kProbes);
		CHECK(banned == std::set<std::string>{"172.16.5.1", "172.16.200.1", "192.0.2.7", "2001:db8:1::1"});
		auto got = lab.send_probes(kProbes);
		for (const auto& p : kProbes)
			CHECK_MESSAGE(got[p] == (banned.count(p) ? 0 : 2), std::string(when), ": ", p);
	}

	// Runs `command` in the pbx namespace and waits (at most 2 s) until
	// the kernel again holds the agent's table and bans; returns the time
	// from nft's return to the repair.
	std::chrono::milliseconds disrupt(const std::string& command)
	{
		const auto records = test::records_of(agent.bans());
		lab.pbx().must(command);
		const auto t0 = std::chrono::steady_clock::now();
		auto first = test::check_kernel(lab, spec, records);
		REQUIRE_MESSAGE(first.ok(), first.error());
		CHECK_MESSAGE(!first->clean(), "`", command, "` changed nothing");
		MESSAGE("`", command, "`: ", first->summary());
		bool clean = false;
		while (!clean && std::chrono::steady_clock::now() - t0 < 2s) {
			std::this_thread::sleep_for(5ms);
			auto rep = test::check_kernel(lab, spec, records);
			REQUIRE_MESSAGE(rep.ok(), rep.error());
			clean = rep->clean();
		}
		auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
		REQUIRE_MESSAGE(clean, "not repaired within 2 s of `", command, "`:\n", agent.log());
		MESSAGE("repaired ", took.count(), " ms after `", command, "` returned");
		CHECK(took < 1000ms);
		return took;
	}

	// After a repair: bans drop again, the daemon says so and counts it,
	// and a scanner's first OPTIONS gets it banned (SIP is queued again).
	void expect_repaired(const char* what)
	{
		expect_enforced("after the repair");
		util::json::Value s = agent.status();
		CHECK(s["kernel"]["in_sync"].as_bool());
		CHECK(s["kernel"]["divergent_elements"].as_int() == 0);
		CHECK(s["kernel"]["repairs"][what].as_int() >= 1);
		CHECK(agent.cli("status").find("kernel:      in sync") != std::string::npos);
		const std::string m = agent.metrics();
		CHECK(m.find("\nsipguard_kernel_in_sync 1\n") != std::string::npos);
		CHECK(m.find("\nsipguard_kernel_divergent_elements 0\n") != std::string::npos);
		CHECK(m.find(std::string("\nsipguard_kernel_repairs_total{what=\"") + what + "\"} 0\n") == std::string::npos);
		// Logged once, with the process that did it.
		const std::string log = agent.log();
		size_t at = log.find("differed from the ban records");
		REQUIRE_MESSAGE(at != std::string::npos, log);
		CHECK(log.find("by nft (pid ", at) != std::string::npos);
		CHECK(log.find("differed from the ban records", at + 1) == std::string::npos);

		const std::string& scanner = kScanner[0];
		lab.send_sip(scanner, test::scanner_options(scanner, 1));
		const util::json::Value* b = nullptr;
		util::json::Value bans;
		for (int i = 0; i < 40 && !b; ++i) {
			std::this_thread::sleep_for(50ms);
			bans = agent.bans();
			b = test::find_ban(bans, scanner);
		}
		REQUIRE_MESSAGE(b, "the scanner's first OPTIONS after the repair was not banned:\n", agent.log());
		CHECK((*b)["detector"].as_string() == "scanner");
		CHECK(lab.send_probes(kScanner)[scanner] == 0);
	}

	// Handle of the first rule of `chain` whose listing contains `needle`.
	std::string handle_of(const char* chain, const char* needle)
	{
		std::string text = lab.pbx().exec_capture(std::string("nft -a list chain inet sipguard ") + chain +
		                                          " 2>/dev/null");
		size_t pos = 0;
		while (pos < text.size()) {
			size_t end = text.find('\n', pos);
			std::string line = text.substr(pos, end - pos);
			size_t h = line.find("# handle ");
			if (line.find(needle) != std::string::npos && h != std::string::npos)
				return line.substr(h + 9);
			pos = end == std::string::npos ? text.size() : end + 1;
		}
		FAIL("no rule with `", needle, "` in chain ", chain, ":\n", text);
		return "";
	}
};

} // namespace

TEST_CASE("daemon repair: `nft flush ruleset` (a firewall reload) in the namespace")
{
	test::require_root_or_skip();
	Guarded g;
	g.disrupt("nft flush ruleset");
	g.expect_repaired("table");
	CHECK(g.agent.log().find("table inet sipguard deleted by nft") != std::string::npos);
	CHECK(g.agent.stop(SIGTERM) == 0);
}

TEST_CASE("daemon repair: `nft delete table inet sipguard`")
{
	test::require_root_or_skip();
	Guarded g;
	g.disrupt("nft delete table inet sipguard");
	g.expect_repaired("table");
	CHECK(g.lab.pbx().exec_capture("nft -a list table inet other") == g.foreign);
	CHECK(g.agent.stop(SIGTERM) == 0);
}

TEST_CASE("daemon repair: one ban set deleted (with the rule that uses it)")
{
	test::require_root_or_skip();
	Guarded g;
	const std::string handle = g.handle_of("prerouting", "@bannet4");
	// A set in use cannot be deleted (EBUSY): its rule goes in the same transaction.
	g.disrupt("printf 'delete rule inet sipguard prerouting handle " + handle +
	          "\\ndelete set inet sipguard bannet4\\n' | nft -f -");
	g.expect_repaired("set");
	CHECK(g.agent.status()["kernel"]["repairs"]["rule"].as_int() >= 1);
	CHECK(g.lab.pbx().exec_capture("nft -a list table inet other") == g.foreign);
	CHECK(g.agent.stop(SIGTERM) == 0);
}

TEST_CASE("daemon repair: one ban set flushed")
{
	test::require_root_or_skip();
	Guarded g;
	g.disrupt("nft flush set inet sipguard bannet4");
	g.expect_repaired("element");
	CHECK(g.agent.status()["kernel"]["repairs"]["table"].as_int() == 0);
	CHECK(g.lab.pbx().exec_capture("nft -a list table inet other") == g.foreign);
	CHECK(g.agent.stop(SIGTERM) == 0);
}

TEST_CASE("daemon repair: the SIP queue rule deleted (SIP would bypass the agent)")
{
	test::require_root_or_skip();
	Guarded g;
	const std::string handle = g.handle_of("input", "udp dport");
	g.disrupt("nft delete rule inet sipguard input handle " + handle);
	g.expect_repaired("rule");
	CHECK(g.lab.pbx().exec_capture("nft -a list table inet other") == g.foreign);
	CHECK(g.agent.stop(SIGTERM) == 0);
}

TEST_CASE("daemon repair: an element added by hand is removed, and ban churn around the checks is not a repair")
{
	test::require_root_or_skip();
	Guarded g;
	// Bans that end around each check (the agent expires records on a 1 s
	// tick, the kernel to the jiffy) and a prefix sync queued right before
	// it: only the hand-added element is a difference.
	for (int round = 1; round <= 6; ++round) {
		CAPTURE(round);
		for (int i = 0; i < 5; ++i)
			g.agent.cli(fmt::format("ban 198.51.100.{} --for 1s", round * 10 + i));
		g.agent.cli(fmt::format("ban 10.{}.0.0/16 --for 2s", round));
		std::this_thread::sleep_for(std::chrono::milliseconds(850 + 50 * round));
		g.agent.cli(fmt::format("ban 10.{}.0.0/24 --for 1s", 100 + round));
		g.lab.pbx().must("nft add element inet sipguard ban4 '{ 203.0.113.99 timeout 1h }'");
		std::this_thread::sleep_for(400ms);
		CHECK(g.lab.pbx().exec_capture("nft list set inet sipguard ban4").find("203.0.113.99") == std::string::npos);
		util::json::Value k = g.agent.status()["kernel"];
		CHECK(k["repairs"]["element"].as_int() == round);
		CHECK(k["repairs"]["table"].as_int() == 0);
		CHECK(k["in_sync"].as_bool());
	}
	std::this_thread::sleep_for(2s);
	g.expect_enforced("after the churn");
	CHECK(g.agent.stop(SIGTERM) == 0);
}
