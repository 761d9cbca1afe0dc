// SPDX-License-Identifier: GPL-2.0-or-later
// Durations as operators type them: accepted forms, clear errors, round trip.
#include <doctest/doctest.h>

#include <cerrno>

#include "agent/config/duration.h"

using namespace sipguard::config;
using namespace std::chrono_literals;

namespace {

Millis parsed(std::string_view text)
{
	auto r = parse_duration(text);
	REQUIRE_MESSAGE(r.ok(), r.error());
	return *r;
}

} // namespace

TEST_CASE("durations in the documented forms parse to the right length")
{
	CHECK(parsed("90s") == Millis(90s));
	CHECK(parsed("10m") == Millis(10min));
	CHECK(parsed("1h") == Millis(1h));
	CHECK(parsed("7d") == Millis(7 * 24h));
	CHECK(parsed("1h30m") == Millis(90min));
	CHECK(parsed("1d2h3m4s") == Millis(24h + 2h + 3min + 4s));
	CHECK(parsed("250ms") == Millis(250));
	CHECK(parsed("1m500ms") == Millis(60500));
	CHECK(parsed("2w") == Millis(14 * 24h));
	CHECK(parsed("0s") == Millis(0));
}

TEST_CASE("bad durations are rejected with a reason")
{
	auto reason = [](std::string_view text) {
		auto r = parse_duration(text);
		REQUIRE_FALSE(r.ok());
		return r.error();
	};
	CHECK(reason("").find("empty") != std::string::npos);
	CHECK(reason("10").find("unit is required") != std::string::npos);
	CHECK(reason("10x").find("unknown unit \"x\"") != std::string::npos);
	CHECK(reason("30m1h").find("largest first") != std::string::npos);
	for (const char* bad : {"1h1h", "h", "-5m", "1.5h", "1 h"}) {
		CAPTURE(bad);
		CHECK_FALSE(parse_duration(bad).ok());
	}
	CHECK(reason("99999999999999d").find("too long") != std::string::npos);
}

TEST_CASE("durations format back to their shortest exact form")
{
	CHECK(format_duration(Millis(0)) == "0s");
	CHECK(format_duration(Millis(90min)) == "1h30m");
	CHECK(format_duration(Millis(7 * 24h)) == "7d");
	CHECK(format_duration(Millis(61500)) == "1m1s500ms");
	CHECK(format_duration(Millis(90000)) == "1m30s");
	for (const char* s : {"10m", "1h", "7d", "1h30m", "2d3h", "1s250ms"})
		CHECK(format_duration(parsed(s)) == s);
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
