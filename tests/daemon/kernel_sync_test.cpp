// SPDX-License-Identifier: GPL-2.0-or-later
// Without a kernel: the index the rules writer's jobs project follows every
// ban and unban the ban manager announces (hosts and prefixes apart); status
// and metrics report the restore's failures and the kernel's health.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "agent/daemon/control_handlers.h"
#include "agent/daemon/exporter.h"
#include "tests/daemon/harness.h"

using namespace sipguard;
using namespace std::chrono_literals;

namespace {

net::Cidr cidr(const char* text) { return *net::Cidr::parse(text); }

std::vector<std::string> targets(const std::vector<rules::BanRecord>& records)
{
	std::vector<std::string> out;
	for (const auto& r : records)
		out.push_back(r.target.to_string());
	std::sort(out.begin(), out.end());
	return out;
}

} // namespace

TEST_CASE("the kernel index follows the ban manager: hosts and prefixes, bans, unbans and expiry")
{
	auto rt = test::make_runtime();
	rt->bans->set_listener(rt.get());
	const auto now = daemon::wall_now();
	rt->bans->ban(cidr("172.16.5.0/24"), 2h, "inner", now);
	rt->bans->ban(cidr("172.16.0.0/12"), 1h, "outer", now, /*force=*/true); // broader than the /16 minimum
	rt->bans->ban(cidr("192.0.2.7"), 10min, "host", now);
	rt->bans->ban(cidr("2001:db8::/32"), 1s, "short", now);
	CHECK(targets(rt->kernel.records(false)) ==
	      std::vector<std::string>{"172.16.0.0/12", "172.16.5.0/24", "192.0.2.7", "2001:db8::/32"});
	CHECK(targets(rt->kernel.records(true)) ==
	      std::vector<std::string>{"172.16.0.0/12", "172.16.5.0/24", "2001:db8::/32"});
	for (const auto& r : rt->kernel.records(false))
		if (r.target == cidr("172.16.5.0/24"))
			CHECK(r.expires == now + 2h);

	CHECK(rt->bans->unban(cidr("172.16.0.0/12"), now));
	rt->bans->expire(now + 2s);
	CHECK(targets(rt->kernel.records(false)) == std::vector<std::string>{"172.16.5.0/24", "192.0.2.7"});
	rt->bans->set_listener(nullptr);
}

TEST_CASE("status and metrics: restored and failed bans, kernel health")
{
	auto rt = test::make_runtime();
	rt->restored_bans = 7;
	rt->restore_failed = 2;
	util::json::Value s = daemon::status_json(*rt);
	CHECK(s["restored_bans"].as_int() == 7);
	CHECK(s["restore_failed"].as_int() == 2);
	// No check has run (no kernel): not "in sync".
	CHECK_FALSE(s["kernel"]["checked"].as_bool());
	CHECK_FALSE(s["kernel"]["in_sync"].as_bool());
	CHECK(s["kernel"]["repairs"]["table"].as_int() == 0);
	CHECK(s["kernel"]["repairs"]["element"].as_int() == 0);

	test::check_scrape_has(*rt, {
		"sipguard_kernel_in_sync 0",
		"sipguard_kernel_divergent_elements 0",
		"sipguard_kernel_repairs_total{what=\"table\"} 0",
		"sipguard_kernel_repairs_total{what=\"chain\"} 0",
		"sipguard_kernel_repairs_total{what=\"rule\"} 0",
		"sipguard_kernel_repairs_total{what=\"set\"} 0",
		"sipguard_kernel_repairs_total{what=\"element\"} 0",
		"sipguard_kernel_checks_total{result=\"failed\"} 0",
		"sipguard_restored_bans{result=\"restored\"} 7",
		"sipguard_restored_bans{result=\"failed\"} 2",
	});
}

TEST_CASE("a check counts real element differences, not elements ending within the tolerance")
{
	using std::chrono::milliseconds;
	auto ip = [](const char* t) { return *net::IpAddress::parse(t); };
	auto piece = [&](const char* a, milliseconds timeout) {
		return rules::BanPiece{rules::BanSet::Host4, ip(a), ip(a), timeout};
	};
	auto listed = [&](const char* a, milliseconds timeout, milliseconds left) {
		return rules::ListedPiece{rules::BanSet::Host4, ip(a), ip(a), true, timeout, left};
	};
	rules::ElementDiff d;
	d.add = {piece("192.0.2.1", 500ms),    // its record ends in 0.5 s: the kernel's element already ended
	         piece("192.0.2.2", 600000ms), // missing
	         piece("192.0.2.3", 0ms),      // missing, permanent
	         piece("192.0.2.4", 600000ms)}; // retimed (also removed below)
	d.remove = {listed("192.0.2.5", 10000ms, 800ms),     // record ended, element outlives it by < 1.5 s
	            listed("192.0.2.6", 600000ms, 300000ms), // no record: someone added it
	            listed("192.0.2.7", 0ms, 0ms),           // permanent, no record
	            listed("192.0.2.4", 600000ms, 20000ms)};  // retimed
	d.retimed = 1;
	CHECK(daemon::significant_elements(d) == 5);
	CHECK(daemon::significant_elements(rules::ElementDiff{}) == 0);
}
