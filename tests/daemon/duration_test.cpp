// SPDX-License-Identifier: GPL-2.0-or-later
// Durations as operators type them: accepted forms, clear errors, round trip.
#include <doctest/doctest.h>

#include <cerrno>

#include "agent/config/duration.h"
#include "agent/daemon/duration.h"

using namespace sipguard::daemon;
using namespace std::chrono_literals;

TEST_CASE("durations in the documented forms parse to the right length")
{
	CHECK(parse_duration("90s") == Millis(90s));
	CHECK(parse_duration("10m") == Millis(10min));
	CHECK(parse_duration("1h") == Millis(1h));
	CHECK(parse_duration("7d") == Millis(7 * 24h));
	CHECK(parse_duration("1h30m") == Millis(90min));
	CHECK(parse_duration("1d2h3m4s") == Millis(24h + 2h + 3min + 4s));
	CHECK(parse_duration("250ms") == Millis(250));
	CHECK(parse_duration("1m500ms") == Millis(60500));
	CHECK(parse_duration("2w") == Millis(14 * 24h));
	CHECK(parse_duration("0s") == Millis(0));
}

TEST_CASE("bad durations are rejected with a reason")
{
	std::string err;
	CHECK_FALSE(parse_duration("", &err));
	CHECK(err.find("empty") != std::string::npos);
	CHECK_FALSE(parse_duration("10", &err));
	CHECK(err.find("unit is required") != std::string::npos);
	CHECK_FALSE(parse_duration("10x", &err));
	CHECK(err.find("unknown unit \"x\"") != std::string::npos);
	CHECK_FALSE(parse_duration("30m1h", &err));
	CHECK(err.find("largest first") != std::string::npos);
	CHECK_FALSE(parse_duration("1h1h", &err));
	CHECK_FALSE(parse_duration("h", &err));
	CHECK_FALSE(parse_duration("-5m", &err));
	CHECK_FALSE(parse_duration("1.5h", &err));
	CHECK_FALSE(parse_duration("1 h", &err));
	CHECK_FALSE(parse_duration("99999999999999d", &err));
	CHECK(err.find("too long") != std::string::npos);
}

TEST_CASE("durations format back to their shortest exact form")
{
	CHECK(format_duration(Millis(0)) == "0s");
	CHECK(format_duration(Millis(90min)) == "1h30m");
	CHECK(format_duration(Millis(7 * 24h)) == "7d");
	CHECK(format_duration(Millis(61500)) == "1m1s500ms");
	CHECK(format_duration(Millis(90000)) == "1m30s");
	for (const char* s : {"10m", "1h", "7d", "1h30m", "2d3h", "1s250ms"})
		CHECK(format_duration(*parse_duration(s)) == s);
}

TEST_CASE("config::parse_duration: a value or the reason as a util::Status")
{
	auto ok = sipguard::config::parse_duration("1h30m");
	REQUIRE(ok);
	CHECK(*ok == Millis(90min));
	auto bad = sipguard::config::parse_duration("10x");
	REQUIRE_FALSE(bad);
	CHECK(bad.status().error == EINVAL);
	CHECK(bad.error().find("unknown unit \"x\"") != std::string::npos);
}

TEST_CASE("a count whose product with its unit overflows 64 bits is too long, not wrapped (fuzz-control)")
{
	for (const char* s : {"30500568905w", "15250284453w", "9223372036854775s", "1w99999999999999d"}) {
		CAPTURE(s);
		auto r = sipguard::config::parse_duration(s);
		REQUIRE_FALSE(r);
		CHECK(r.error().find("is too long") != std::string::npos);
	}
	CHECK(sipguard::config::parse_duration("5200w").ok()); // 99.7 years: the longest accepted kind
}
