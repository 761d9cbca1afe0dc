// SPDX-License-Identifier: GPL-2.0-or-later
// The ban manager's state survives the trip to the state file and back:
// bans keep their remaining time, detector, evidence and offence history;
// write and read failures come back as a Status naming the path.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>

#include "agent/daemon/persistence.h"
#include "agent/daemon/config.h"

using namespace sipguard;
using namespace sipguard::daemon;

TEST_CASE("a ban manager's snapshot is saved and restored with its remaining time")
{
	auto cfg = default_config();
	engine::BanManager before(*cfg->engine(), nullptr);
	const int64_t t0_ms = unix_now_ms();
	const detect::TimePoint t0 = from_unix_ms(t0_ms);
	REQUIRE(before.ban(*net::Cidr::parse("192.0.2.7"), std::chrono::seconds(600), "operator", t0).outcome ==
	        engine::BanOutcome::Banned);
	REQUIRE(before.ban(*net::Cidr::parse("2001:db8::/64"), std::chrono::seconds(3600), "prefix", t0).outcome ==
	        engine::BanOutcome::Banned);

	SavedState saved = to_saved_state(before.snapshot(t0), t0);
	CHECK(saved.saved_at_ms == t0_ms);
	REQUIRE(saved.bans.size() == 2);

	// Restored 90 s later.
	const int64_t t1_ms = t0_ms + 90000;
	const detect::TimePoint t1 = from_unix_ms(t1_ms);
	engine::BanManager after(*cfg->engine(), nullptr);
	after.restore(to_ban_snapshot(saved, t1_ms), t1);
	auto active = after.active(t1);
	REQUIRE(active.size() == 2);
	for (const auto& b : active) {
		CAPTURE(b.target.to_string());
		CHECK(b.detector == detect::Detector::Manual);
		const auto left = std::chrono::duration_cast<std::chrono::seconds>(b.remaining(t1)).count();
		CHECK(left == (b.target.prefix_len == 32 ? 510 : 3510));
	}
	auto x = after.explain(*net::IpAddress::parse("192.0.2.7"), t1);
	REQUIRE(x.history);
	CHECK(x.history->count == 1);
	CHECK(x.history->offences.at(0).reason == "operator");
}

TEST_CASE("state file failures are a Status naming the path")
{
	util::Status st = write_state("/proc/definitely/not/writable/state.json", SavedState{});
	CHECK_FALSE(st.ok());
	CHECK(st.message.find("/proc/definitely/not/writable/state.json.tmp") != std::string::npos);
	auto missing = read_state("/nonexistent/sipguard/state.json", 0);
	REQUIRE(missing.ok());
	CHECK_FALSE(missing->found);
}
