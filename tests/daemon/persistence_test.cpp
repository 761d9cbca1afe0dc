// SPDX-License-Identifier: GPL-2.0-or-later
// The state file: bans and offences survive a save/load with their expiry,
// expired bans are dropped, corrupt lines are skipped with a warning.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <fmt/core.h>

#include "agent/daemon/persistence.h"
#include "tests/temp_dir.h"

using namespace sipguard;
using test::TempDir;
using namespace sipguard::daemon;

TEST_CASE("bans and offence history round-trip with their absolute expiry")
{
	TempDir dir{"sipguard-persist"};
	const std::string path = (dir.path / "state.json").string();
	const int64_t now = unix_now_ms();
	SavedState s;
	s.saved_at_ms = now;
	s.bans.push_back({*net::Cidr::parse("192.0.2.7"), now + 600000, now - 1000, "scanner", "User-Agent \"sipvicious\"", 1,
	                  false, false, "{\"window_s\":60,\"samples\":{\"user_agent\":[\"sipvicious\"]}}", "ua=sipvicious"});
	s.bans.push_back({*net::Cidr::parse("198.51.100.0/24"), now + 3600000, now, "scanner", "3 hosts banned in /24", 2,
	                  false, true, "{}", ""});
	s.bans.push_back({*net::Cidr::parse("2001:db8::/64"), now + 7200000, now, "manual", "operator \xc3\xbc", 0, true,
	                  false, "{}", ""});
	s.offences.push_back({*net::Cidr::parse("203.0.113.5"), 3, now - 5000,
	                      {{now - 9000, "flood", "INVITE rate", 600000}, {now - 5000, "flood", "INVITE rate", 3600000}}});
	save_state(path, s);
	CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

	// Loaded 90 s later: the same bans, so remaining time = expiry - now.
	LoadedState l = load_state(path, now + 90000);
	CHECK(l.found);
	CHECK(l.warnings.empty());
	CHECK(l.state.saved_at_ms == now);
	REQUIRE(l.state.bans.size() == 3);
	CHECK(l.state.bans == s.bans);
	CHECK(l.state.bans[0].expires_ms - (now + 90000) == 510000);
	CHECK(l.state.offences == s.offences);
}

TEST_CASE("bans that expired while the daemon was down are dropped")
{
	TempDir dir{"sipguard-persist"};
	const std::string path = (dir.path / "state.json").string();
	SavedState s;
	s.bans.push_back({*net::Cidr::parse("192.0.2.1"), 1000, 0, "flood", "", 1, false});
	s.bans.push_back({*net::Cidr::parse("192.0.2.2"), 5000, 0, "flood", "", 1, false});
	save_state(path, s);
	LoadedState l = load_state(path, 2000);
	CHECK(l.expired_dropped == 1);
	REQUIRE(l.state.bans.size() == 1);
	CHECK(l.state.bans[0].net.to_string() == "192.0.2.2");
}

TEST_CASE("a missing file is a first start, corrupt lines are skipped")
{
	TempDir dir{"sipguard-persist"};
	const std::string path = (dir.path / "state.json").string();
	LoadedState none = load_state(path, 0);
	CHECK_FALSE(none.found);
	CHECK(none.state.bans.empty());

	std::ofstream(path) << "{\"sipguard_state\":1,\"saved_at_ms\":5}\n"
	                    << "{\"t\":\"ban\",\"net\":\"192.0.2.300\",\"expires_ms\":0}\n"
	                    << "garbage\n"
	                    << "{\"t\":\"ban\",\"net\":\"192.0.2.9/32\",\"expires_ms\":9000,\"detector\":\"manual\"}\n"
	                    << "{\"t\":\"ban\",\"net\":\"10.1.2.3/8\",\"expires_ms\":0}\n"
	                    << "{\"t\":\"ban\",\"net\":\"192.0.2.10\",\"exp\n";
	LoadedState l = load_state(path, 0);
	CHECK(l.found);
	CHECK(l.warnings.size() == 4);
	CHECK(l.warnings[0].find(path + ":2:") == 0);
	// Lost bans are counted for `status` (restore_failed): the two bad
	// networks and the torn ban line, not the garbage line.
	CHECK(l.bad_bans == 3);
	REQUIRE(l.state.bans.size() == 1);
	CHECK(l.state.bans[0].detector == "manual");

	std::ofstream(path, std::ios::trunc) << "{\"something\":\"else\"}\n";
	CHECK_FALSE(load_state(path, 0).found);
}

TEST_CASE("a ban line without a real expiry is unreadable, warned and counted: there are no permanent bans")
{
	TempDir dir{"sipguard-persist"};
	const std::string path = (dir.path / "state.json").string();
	const int64_t now = 1764450000000;
	const int64_t century = 100LL * 365 * 24 * 3600 * 1000;
	auto ban = [](const std::string& net, const std::string& expires) {
		return "{\"t\":\"ban\",\"net\":\"" + net + "\"" + expires + ",\"detector\":\"manual\"}\n";
	};
	std::ofstream(path) << "{\"sipguard_state\":1,\"saved_at_ms\":" << now << "}\n"
	                    << ban("192.0.2.1", ",\"expires_ms\":0")                       // line 2
	                    << ban("192.0.2.2", "")                                        // 3: missing
	                    << ban("192.0.2.3", ",\"expires_ms\":-5")                      // 4
	                    << ban("192.0.2.4", ",\"expires_ms\":\"soon\"")                // 5
	                    << ban("192.0.2.5", ",\"expires_ms\":1e300")                   // 6: not an integer
	                    << ban("192.0.2.6", fmt::format(",\"expires_ms\":{}", now + 2 * century)) // 7
	                    << ban("192.0.2.7", fmt::format(",\"expires_ms\":{}", now + century))     // kept
	                    << ban("192.0.2.8", fmt::format(",\"expires_ms\":{}", now - 1));          // expired
	LoadedState l = load_state(path, now);
	CHECK(l.bad_bans == 6);
	CHECK(l.expired_dropped == 1);
	REQUIRE(l.state.bans.size() == 1);
	CHECK(l.state.bans[0].net.to_string() == "192.0.2.7");
	REQUIRE(l.warnings.size() == 6);
	for (int line = 2; line <= 6; ++line)
		CHECK(l.warnings[size_t(line - 2)] ==
		      fmt::format("{}:{}: ban without an expiry: expires_ms must be a unix time in milliseconds (there are "
		                  "no permanent bans; a long ban is at most 100 years)",
		                  path, line));
	CHECK(l.warnings[5] == path + ":7: ban expires more than 100 years from now");
}

TEST_CASE("saving replaces the previous file atomically")
{
	TempDir dir{"sipguard-persist"};
	const std::string path = (dir.path / "state.json").string();
	SavedState a;
	a.bans.push_back({*net::Cidr::parse("192.0.2.1"), 0, 0, "x", "", 1, false});
	save_state(path, a);
	SavedState b;
	save_state(path, b);
	CHECK(load_state(path, 0).state.bans.empty());
	CHECK_THROWS_AS(save_state("/proc/definitely/not/writable/state.json", a), std::runtime_error);
}
