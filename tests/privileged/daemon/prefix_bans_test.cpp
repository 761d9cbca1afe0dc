// SPDX-License-Identifier: GPL-2.0-or-later
// Overlapping prefix bans through the control socket (`sipguard ban ...
// --for`, `unban`) and their expiry in every order: after each step the
// kernel drops exactly the addresses the agent says are banned, probed from
// inside and outside each prefix.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/daemon/apply_config.h"
#include "agent/daemon/config.h"
#include "tests/privileged/daemon/agent.h"
#include "tests/privileged/daemon/lab.h"

using namespace sipguard;
using namespace std::chrono_literals;
using test::Agent;
using test::DaemonLab;
using Banned = std::set<std::string>;

namespace {

// Inside and outside each prefix of the matrix.
const std::vector<std::string> kProbes = {
	"172.16.5.1",    // 172.16.5.0/24, 172.16.0.0/12
	"172.16.200.1",  // 172.16.0.0/12 only
	"172.32.0.1",    // outside the /12
	"10.1.0.1",      // 10.1.0.0/16, 10.0.0.0/8
	"10.2.0.1",      // 10.0.0.0/8 only
	"11.0.0.1",      // outside the /8
	"192.0.2.7",     // host ban inside 192.0.2.0/24
	"192.0.2.8",     // 192.0.2.0/24 only
	"192.0.2.9",     // banned as 192.0.2.9 and as ::ffff:192.0.2.9
	"2001:db8:1::1", // 2001:db8:1::/48, 2001:db8::/32
	"2001:db8:2::1", // 2001:db8::/32 only
	"2001:db9::1",   // outside the /32
};

struct Matrix {
	DaemonLab lab{kProbes};
	test::TempDir dir;
	Agent agent{lab.pbx(), dir.path};
	rules::TableSpec spec;

	Matrix()
	{
		agent.start();
		daemon::LoadResult cfg = daemon::load_config_file(agent.config_path());
		REQUIRE(cfg.config);
		spec = daemon::table_spec(*cfg.config);
	}

	void run(const std::string& args) { agent.cli(args); }

	// The agent's view, the kernel's table and the packets agree, and the
	// agent bans exactly `expected` among the probes. The agent is asked
	// before and after the probes; should a ban end in between (it never
	// should with the timings below), the step is retried once.
	void expect(const std::string& step, const Banned& expected)
	{
		for (int attempt = 0; attempt < 2; ++attempt) {
			util::json::Value before = agent.bans();
			auto rep = test::check_kernel(lab, spec, test::records_of(before));
			auto got = lab.send_probes(kProbes);
			util::json::Value after = agent.bans();
			const Banned agent_says = test::covered(before, kProbes);
			if (attempt == 0 && agent_says != test::covered(after, kProbes))
				continue;
			CAPTURE(step);
			REQUIRE_MESSAGE(rep.ok(), rep.error());
			CHECK_MESSAGE(rep->clean(), rep->summary());
			CHECK(agent_says == expected);
			for (const auto& p : kProbes) {
				const bool banned = agent_says.count(p) > 0;
				CHECK_MESSAGE(got[p] == (banned ? 0 : 2), p, (banned ? " is banned but was delivered"
				                                                      : " is not banned but was dropped"));
			}
			// `explain` agrees with the list.
			for (const char* p : {"172.16.200.1", "10.1.0.1", "2001:db8:2::1"}) {
				const bool says = agent.cli(std::string("explain ") + p).find("not banned") == std::string::npos;
				CHECK_MESSAGE(says == (agent_says.count(p) > 0), "explain ", p);
			}
			return;
		}
	}

	// Sleeps until `t` after `t0`.
	static void at(std::chrono::steady_clock::time_point t0, std::chrono::milliseconds t)
	{
		std::this_thread::sleep_until(t0 + t);
	}
};

} // namespace

TEST_CASE("daemon prefix bans: nested and overlapping prefixes, banned and unbanned in every order")
{
	test::require_root_or_skip();
	Matrix m;
	m.expect("nothing banned", {});

	// A /24 inside a /12: the kernel used to refuse the /12 (EEXIST) while
	// both were listed.
	m.run("ban 172.16.5.0/24 --for 5m");
	m.run("ban 172.16.0.0/12 --for 5m --force");
	m.expect("/24 then /12", {"172.16.5.1", "172.16.200.1"});
	m.run("unban 172.16.5.0/24");
	m.expect("/12 left", {"172.16.5.1", "172.16.200.1"});
	m.run("unban 172.16.0.0/12");
	m.expect("both gone", {});

	// The /12 first, then a /24 inside it; the /12 goes first.
	m.run("ban 172.16.0.0/12 --for 5m --force");
	m.run("ban 172.16.5.0/24 --for 10m");
	m.expect("/12 then /24", {"172.16.5.1", "172.16.200.1"});
	m.run("unban 172.16.0.0/12");
	m.expect("/24 outlives its /12", {"172.16.5.1"});
	m.run("unban 172.16.5.0/24");

	// A /16 banned inside a live /8, then the /8 unbanned: the /16 stays.
	m.run("ban 10.0.0.0/8 --for 5m --force");
	m.run("ban 10.1.0.0/16 --for 5m");
	m.expect("/16 inside /8", {"10.1.0.1", "10.2.0.1"});
	m.run("unban 10.0.0.0/8");
	m.expect("/16 after the /8 is unbanned", {"10.1.0.1"});
	m.run("unban 10.1.0.0/16");

	// IPv6: a /48, then the /32 around it; a host inside a /24.
	m.run("ban 2001:db8:1::/48 --for 5m");
	m.run("ban 2001:db8::/32 --for 5m");
	m.run("ban 192.0.2.0/24 --for 5m");
	m.run("ban 192.0.2.7 --for 5m");
	m.expect("::/48 then ::/32, a host in a /24", {"2001:db8:1::1", "2001:db8:2::1", "192.0.2.7", "192.0.2.8", "192.0.2.9"});
	m.run("unban 2001:db8::/32");
	m.run("unban 192.0.2.0/24");
	m.expect("the /48 and the host stay", {"2001:db8:1::1", "192.0.2.7"});
	m.run("unban 2001:db8:1::/48");
	m.run("unban 192.0.2.7");
	m.expect("all unbanned", {});

	// An IPv4-mapped address enters as the IPv4 host it is: one record, one
	// kernel element, and either spelling unbans it.
	m.run("ban ::ffff:192.0.2.9 --for 10m");
	m.expect("the mapped spelling bans the IPv4 host", {"192.0.2.9"});
	m.run("unban 192.0.2.9");
	m.expect("the IPv4 spelling unbans it", {});
	m.run("ban 192.0.2.9 --for 5m");
	m.run("unban ::ffff:192.0.2.9");
	m.expect("the mapped spelling unbans it", {});
	CHECK(m.agent.status()["kernel"]["in_sync"].as_bool());
	CHECK(m.agent.stop(SIGTERM) == 0);
}

TEST_CASE("daemon prefix bans: expiry in every order")
{
	test::require_root_or_skip();
	Matrix m;
	// Four nested pairs, each once with the outer ban ending first and once
	// with the inner one (the first round mixes both orders, the second
	// swaps every pair). Checks fall at least 0.4 s after the agent's last
	// expiry (the kernel ends an element to the ms, the agent within its
	// 1 s expiry tick) and finish before the next expiry.
	for (bool first_round : {true, false}) {
		CAPTURE(first_round);
		const char* a = first_round ? "3s" : "6s";
		const char* b = first_round ? "6s" : "3s";
		const auto t0 = std::chrono::steady_clock::now();
		m.run(std::string("ban 172.16.0.0/12 --force --for ") + a);
		m.run(std::string("ban 172.16.5.0/24 --for ") + b);
		m.run(std::string("ban 10.0.0.0/8 --force --for ") + b);
		m.run(std::string("ban 10.1.0.0/16 --for ") + a);
		m.run(std::string("ban 2001:db8::/32 --for ") + a);
		m.run(std::string("ban 2001:db8:1::/48 --for ") + b);
		m.run(std::string("ban 192.0.2.0/24 --for ") + a);
		m.run(std::string("ban 192.0.2.7 --for ") + b);
		Matrix::at(t0, 1000ms);
		m.expect("all live", {"172.16.5.1", "172.16.200.1", "10.1.0.1", "10.2.0.1", "192.0.2.7", "192.0.2.8",
		                      "192.0.2.9", "2001:db8:1::1", "2001:db8:2::1"});
		Matrix::at(t0, 4600ms);
		if (first_round)
			m.expect("the 3 s bans ended (outer /12, /32, /24; inner /16)",
			         {"172.16.5.1", "10.1.0.1", "10.2.0.1", "192.0.2.7", "2001:db8:1::1"});
		else
			m.expect("the 3 s bans ended (inner /24, /48, host; outer /8)",
			         {"172.16.5.1", "172.16.200.1", "10.1.0.1", "192.0.2.7", "192.0.2.8", "192.0.2.9",
			          "2001:db8:1::1", "2001:db8:2::1"});
		Matrix::at(t0, 7600ms);
		m.expect("everything ended", {});
	}
	CHECK(m.agent.status()["bans_active"].as_int() == 0);
	CHECK(m.agent.stop(SIGTERM) == 0);
}
