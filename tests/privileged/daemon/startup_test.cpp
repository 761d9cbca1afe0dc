// SPDX-License-Identifier: GPL-2.0-or-later
// Start-up: a state file with overlapping and invalid bans restores every
// valid one into the kernel and reports the bad ones (no expiry included)
// and those the safety rails refuse; a second `sipguard run`
// refuses to start and leaves the first one's table and bans alone.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
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

const std::vector<std::string> kProbes = {"172.16.5.1", "172.16.200.1", "172.32.0.1",    "10.1.0.1",
                                          "10.2.0.1",   "11.0.0.1",     "192.0.2.7",     "192.0.2.8",
                                          "192.0.2.9",  "2001:db8:1::1", "2001:db8:2::1", "2001:db9::1"};

std::string ban_line(const std::string& net, int64_t expires_ms, int64_t now_ms)
{
	return fmt::format("{{\"t\":\"ban\",\"net\":\"{}\",\"expires_ms\":{},\"since_ms\":{},\"detector\":\"scanner\","
	                   "\"reason\":\"saved\",\"offences\":1}}\n",
	                   net, expires_ms, now_ms - 60000);
}

} // namespace

TEST_CASE("daemon restore: overlapping saved bans all reach the kernel; invalid ones are counted and logged")
{
	test::require_root_or_skip();
	DaemonLab lab(kProbes);
	test::TempDir dir;
	Agent agent(lab.pbx(), dir.path);
	std::filesystem::create_directories(agent.state_dir());
	const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
		std::chrono::system_clock::now().time_since_epoch()).count();
	{
		std::ofstream out(std::filesystem::path(agent.state_dir()) / "state.json");
		out << "{\"sipguard_state\":1,\"saved_at_ms\":" << now << ",\"bans\":15,\"offences\":0}\n";
		// Overlapping: nested prefixes with either one living longer, a
		// host inside a prefix, the same host twice, an IPv4-mapped host.
		out << ban_line("172.16.5.0/24", now + 1200000, now) << ban_line("172.16.0.0/12", now + 600000, now)
		    << ban_line("10.0.0.0/8", now + 600000, now) << ban_line("10.1.0.0/16", now + 1200000, now)
		    << ban_line("2001:db8::/32", now + 1200000, now) << ban_line("2001:db8:1::/48", now + 600000, now)
		    << ban_line("192.0.2.7", now + 600000, now) << ban_line("192.0.2.7", now + 900000, now)
		    << ban_line("172.16.5.9", now + 600000, now) << ban_line("::ffff:192.0.2.9", now + 600000, now);
		// Expired while stopped: dropped, not a failure.
		out << ban_line("11.0.0.0/8", now - 1000, now);
		// Invalid: a bad address, a bad length, host bits set, a torn line.
		out << ban_line("172.16.300.0/24", now + 600000, now) << ban_line("10.0.0.0/33", now + 600000, now)
		    << ban_line("10.1.2.3/8", now + 600000, now) << "{\"t\":\"ban\",\"net\":\"192.0.2.1\",\"expi\n";
		// No expiry ("permanent"): unreadable, not silently dropped.
		out << ban_line("192.0.2.8", 0, now);
		// Valid, but the safety rails refuse it now: loopback.
		out << ban_line("127.0.0.0/8", now + 600000, now);
	}
	agent.start();

	util::json::Value s = agent.status();
	CHECK(s["bans_active"].as_int() == 9);
	CHECK(s["restored_bans"].as_int() == 9);
	CHECK(s["restore_failed"].as_int() == 5);
	CHECK(s["restore_refused"].as_int() == 1);
	CHECK(s["refused_bans"]["restored"].as_int() == 1);
	CHECK(s["kernel"]["in_sync"].as_bool());
	const std::string text = agent.cli("status");
	CHECK_MESSAGE(text.find("(9 restored at start, 5 failed, 1 refused by the safety rails, in ") != std::string::npos,
	              text);
	CHECK_MESSAGE(text.find("\nrefused:     1 saved bans (safety rails:") != std::string::npos, text);
	const std::string m = agent.metrics();
	CHECK(m.find("\nsipguard_restored_bans{result=\"restored\"} 9\n") != std::string::npos);
	CHECK(m.find("\nsipguard_restored_bans{result=\"failed\"} 5\n") != std::string::npos);
	const std::string log = agent.log();
	CHECK_MESSAGE(log.find("restored 9 bans (1 expired while stopped, 5 failed: 5 unreadable in the state file, 0 "
	                       "not enforced by the kernel, 1 refused by the safety rails)") != std::string::npos,
	              log);
	for (const char* bad : {":13: bad ban network: not an IPv4 or IPv6 address",
	                        ":14: bad ban network: IPv4 prefix length must be 0..32",
	                        ":15: bad ban network: address has bits set past the prefix length",
	                        ":16: not a JSON object", ":17: ban without an expiry",
	                        "saved ban not restored: refusing to ban 127.0.0.0/8: it covers loopback"})
		CHECK_MESSAGE(log.find(bad) != std::string::npos, bad, "\n", log);

	// Every valid ban is in the kernel and drops; nothing else does.
	daemon::LoadResult cfg = daemon::load_config_file(agent.config_path());
	REQUIRE(cfg.config);
	util::json::Value bans = agent.bans();
	auto rep = test::check_kernel(lab, daemon::table_spec(*cfg.config), test::records_of(bans));
	REQUIRE_MESSAGE(rep.ok(), rep.error());
	CHECK_MESSAGE(rep->clean(), rep->summary());
	const std::set<std::string> banned = {"172.16.5.1", "172.16.200.1", "10.1.0.1",      "10.2.0.1",
	                                      "192.0.2.7",  "192.0.2.9",    "2001:db8:1::1", "2001:db8:2::1"};
	CHECK(test::covered(bans, kProbes) == banned);
	auto got = lab.send_probes();
	for (const auto& p : kProbes)
		CHECK_MESSAGE(got[p] == (banned.count(p) ? 0 : 2), p);
	CHECK(agent.stop(SIGTERM) == 0);
}

TEST_CASE("daemon: a second `sipguard run` exits non-zero and leaves the first one's table and bans alone")
{
	test::require_root_or_skip();
	DaemonLab lab({"172.16.5.1", "192.0.2.7"});
	test::TempDir dir;
	Agent first(lab.pbx(), dir.path);
	first.start();
	first.cli("ban 192.0.2.7 --for 10m");
	first.cli("ban 172.16.0.0/12 --for 10m --force");
	// The table's handle changes whenever the table is replaced.
	auto table_line = [&lab] { return lab.pbx().exec_capture("nft -a list table inet sipguard 2>/dev/null | head -1"); };
	const std::string before = table_line();
	REQUIRE(before.find("# handle ") != std::string::npos);

	int st = 0;
	const std::string out = lab.pbx().exec_capture(
		"timeout 10 " + test::sipguard_bin() + " run --config " + first.config_path() + " 2>&1", &st);
	CHECK(st == 1);
	CHECK_MESSAGE(out.find(fmt::format("another sipguard is running (pid {}); lock {}/sipguard.lock", first.pid(),
	                                   first.state_dir())) != std::string::npos,
	              out);
	CHECK(out.find("table inet sipguard installed") == std::string::npos);

	CHECK(table_line() == before);
	auto got = lab.send_probes();
	CHECK(got["172.16.5.1"] == 0);
	CHECK(got["192.0.2.7"] == 0);
	util::json::Value s = first.status();
	CHECK(s["bans_active"].as_int() == 2);
	CHECK(s["kernel"]["in_sync"].as_bool());
	CHECK(s["kernel"]["checks"]["repaired"].as_int() == 0);
	CHECK(first.stop(SIGTERM) == 0);
}

TEST_CASE("daemon: one per network namespace: another state directory in the same one is refused before the "
          "table is touched; in another namespace both run")
{
	test::require_root_or_skip();
	DaemonLab lab({"192.0.2.7"});
	test::TempDir dir1, dir2, dir3;
	Agent first(lab.pbx(), dir1.path);
	first.start();
	first.cli("ban 192.0.2.7 --for 10m");
	auto table_line = [&lab] { return lab.pbx().exec_capture("nft -a list table inet sipguard 2>/dev/null | head -1"); };
	const std::string before = table_line();
	REQUIRE(before.find("# handle ") != std::string::npos);

	// Its own state directory, control socket and ban log: only the
	// namespace is shared.
	Agent second(lab.pbx(), dir2.path);
	int st = 0;
	const std::string out = lab.pbx().exec_capture(
		"timeout 10 " + test::sipguard_bin() + " run --config " + second.config_path() + " 2>&1", &st);
	CHECK(st == 1);
	CHECK_MESSAGE(out.find(fmt::format("another sipguard is running in this network namespace (pid {}); it owns "
	                                   "table inet sipguard here (lock @sipguard/inet/sipguard)",
	                                   first.pid())) != std::string::npos,
	              out);
	CHECK(out.find("table inet sipguard installed") == std::string::npos);
	CHECK(out.find("kernel has no native nft queue") == std::string::npos); // not even the probe ran
	CHECK(table_line() == before);
	CHECK(lab.send_probes()["192.0.2.7"] == 0);
	util::json::Value s = first.status();
	CHECK(s["bans_active"].as_int() == 1);
	CHECK(s["kernel"]["checks"]["repaired"].as_int() == 0);

	// Another namespace is another table: a daemon there starts and runs
	// beside the first.
	test::Netns other("lock2");
	Agent third(other, dir3.path);
	third.start();
	third.cli("ban 198.51.100.9 --for 10m");
	CHECK(test::kernel_set(other, "ban4").find("198.51.100.9") != std::string::npos);
	CHECK(test::kernel_set(lab.pbx(), "ban4").find("198.51.100.9") == std::string::npos);
	CHECK(first.status()["bans_active"].as_int() == 1);
	CHECK(third.stop(SIGTERM) == 0);
	CHECK(first.stop(SIGTERM) == 0);
}
