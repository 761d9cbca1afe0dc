// SPDX-License-Identifier: GPL-2.0-or-later
// Time zones from TZif files (real zones when /usr/share/zoneinfo has them),
// the POSIX footer rule, fixed offsets, business hours and clock_offset.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include "agent/fraud/text_file.h"
#include "agent/fraud/time_zone.h"
#include "tests/fraud/fixture.h"

using namespace sipguard;
using namespace sipguard::fraud;
using namespace sipguard::fraud::test;

namespace {

bool have_zone(const char* name)
{
	struct stat st;
	return ::stat((std::string("/usr/share/zoneinfo/") + name).c_str(), &st) == 0;
}

void put32(std::string& s, uint32_t v)
{
	for (int i = 3; i >= 0; --i)
		s += static_cast<char>(v >> (8 * i));
}

// A version 2 TZif file with one type (offset 0, "GMT"), no transitions and `footer`.
std::string tzif_with_footer(std::string_view footer)
{
	std::string header = "TZif2";
	header.append(15, '\0');
	for (uint32_t c : {0u, 0u, 0u, 0u, 1u, 4u}) // isut, isstd, leap, time, type, char counts
		put32(header, c);
	std::string block;
	put32(block, 0); // utoff
	block += '\0';   // isdst
	block += '\0';   // desigidx
	block += std::string("GMT", 4);
	return header + block + header + block + "\n" + std::string(footer) + "\n";
}

} // namespace

TEST_CASE("Europe/London from zoneinfo: GMT in winter, BST in summer, the change to the second")
{
	if (!have_zone("Europe/London")) {
		MESSAGE("skipped: /usr/share/zoneinfo/Europe/London absent");
		return;
	}
	auto z = TimeZone::load("Europe/London", "/usr/share/zoneinfo");
	REQUIRE_MESSAGE(z.ok(), (z.ok() ? std::string() : z.error()));
	CHECK(z->offset_at(1774745999) == 0);    // 2026-03-29 00:59:59 UTC
	CHECK(z->offset_at(1774746000) == 3600); // 01:00:00 UTC: clocks go forward
	CHECK(z->offset_at(1792889999) == 3600); // 2026-10-25 00:59:59 UTC
	CHECK(z->offset_at(1792890000) == 0);
	CHECK(z->offset_at(2224756800) == 3600); // July 2040
	CHECK(z->offset_at(2209032000) == 0);    // January 2040
}

TEST_CASE("America/New_York: EST to EDT on the second Sunday of March")
{
	if (!have_zone("America/New_York")) {
		MESSAGE("skipped: /usr/share/zoneinfo/America/New_York absent");
		return;
	}
	auto z = TimeZone::load("America/New_York", "/usr/share/zoneinfo");
	REQUIRE(z);
	CHECK(z->offset_at(1772953199) == -5 * 3600); // 2026-03-08 06:59:59 UTC = 01:59:59 EST
	CHECK(z->offset_at(1772953200) == -4 * 3600); // 07:00 UTC = 03:00 EDT
}

TEST_CASE("the POSIX footer rule gives the offset after the last transition")
{
	auto z = TimeZone::from_tzif(tzif_with_footer("GMT0BST,M3.5.0/1,M10.5.0"), "test");
	REQUIRE_MESSAGE(z.ok(), (z.ok() ? std::string() : z.error()));
	CHECK(z->offset_at(2216249999) == 0);    // 2040-03-25 00:59:59 UTC
	CHECK(z->offset_at(2216250000) == 3600); // 01:00 UTC, last Sunday of March
	CHECK(z->offset_at(1792889999) == 3600);
	CHECK(z->offset_at(1792890000) == 0);
	// Southern hemisphere: DST spans the new year.
	auto nz = TimeZone::from_tzif(tzif_with_footer("NZST-12NZDT,M9.5.0,M4.1.0/3"), "nz");
	REQUIRE(nz);
	CHECK(nz->offset_at(2209032000) == 13 * 3600); // January: summer
	CHECK(nz->offset_at(2224756800) == 12 * 3600); // July: winter
	auto fixed = TimeZone::from_tzif(tzif_with_footer("<+0530>-5:30"), "in");
	REQUIRE(fixed);
	CHECK(fixed->offset_at(2224756800) == 5 * 3600 + 1800);
}

TEST_CASE("bad zones are errors that name the zone")
{
	CHECK(!TimeZone::from_tzif("TZif2 but short", "short"));
	CHECK(TimeZone::from_tzif("not a zone file at all, not at all, really not, no", "x").error() ==
	      "x: not a TZif file: no TZif header");
	auto missing = TimeZone::load("Nowhere/Atlantis", "/usr/share/zoneinfo");
	REQUIRE(!missing);
	CHECK(missing.error().rfind("fraud.time_zone: /usr/share/zoneinfo/Nowhere/Atlantis", 0) == 0);
	CHECK(!TimeZone::load("../etc/passwd", "/usr/share/zoneinfo"));
	CHECK(!TimeZone::load("+25:00", "/usr/share/zoneinfo"));
	CHECK(TimeZone::load("+01:00", "")->offset_at(0) == 3600);
	CHECK(TimeZone::load("-05:30", "")->offset_at(0) == -(5 * 3600 + 1800));
	CHECK(TimeZone::load("", "")->offset_at(0) == 0);
}

TEST_CASE("business hours and days in a zone")
{
	auto b = BusinessHours::parse("08:00-18:00", "mon-fri", *TimeZone::fixed("+01:00"));
	REQUIRE(b);
	// Monday 2026-12-07 10:00 UTC = 11:00 local.
	CHECK(b->inside(at_seconds(kMonday10)));
	CHECK(b->inside(at_seconds(kMonday10 - 3 * 3600)));      // 08:00 local: opens
	CHECK(!b->inside(at_seconds(kMonday10 - 3 * 3600 - 1))); // 07:59:59
	CHECK(!b->inside(at_seconds(kMonday10 + 7 * 3600)));     // 18:00 local: closed
	CHECK(!b->inside(at_seconds(kMonday10 - 2 * 86400)));    // Saturday
	auto night = BusinessHours::parse("22:00-06:00", "mon", TimeZone());
	REQUIRE(night);
	CHECK(night->inside(at_seconds(kMonday10 + 13 * 3600)));  // Monday 23:00
	CHECK(night->inside(at_seconds(kMonday10 + 17 * 3600)));  // Tuesday 03:00, Monday's shift
	CHECK(!night->inside(at_seconds(kMonday10 - 7 * 3600)));  // Monday 03:00, Sunday's shift
	auto off = BusinessHours::parse("", "mon-fri", TimeZone());
	REQUIRE(off);
	CHECK(!off->enabled());
	CHECK(BusinessHours::parse("8-18", "mon-fri", TimeZone()).error().rfind("fraud.business_hours", 0) == 0);
	CHECK(BusinessHours::parse("08:00-18:00", "mon-fry", TimeZone()).error().rfind("fraud.business_days", 0) == 0);
	CHECK(BusinessHours::parse("08:00-18:00", "sat-mon", TimeZone())->inside(at_seconds(kMonday10)));
}

TEST_CASE("clock_offset is a signed duration")
{
	CHECK(*parse_clock_offset("-2h") == -std::chrono::hours(2));
	CHECK(*parse_clock_offset("+9h30m") == std::chrono::minutes(570));
	CHECK(*parse_clock_offset("0s") == util::Duration(0));
	CHECK(!parse_clock_offset("soon"));
}

TEST_CASE("every truncation of a real TZif file is an error or a zone, and offsets stay sane")
{
	if (!have_zone("Europe/London")) {
		MESSAGE("skipped: /usr/share/zoneinfo/Europe/London absent");
		return;
	}
	auto bytes = read_file("/usr/share/zoneinfo/Europe/London");
	REQUIRE(bytes);
	size_t zones = 0;
	for (size_t n = 0; n <= bytes->size(); ++n) {
		auto z = TimeZone::from_tzif(std::string_view(*bytes).substr(0, n), "cut");
		if (!z)
			continue;
		++zones;
		const int32_t off = z->offset_at(2224756800);
		CHECK(off >= -16 * 3600);
		CHECK(off <= 16 * 3600);
	}
	CHECK(zones > 0); // the whole file, at least
}

TEST_CASE("an offset span holds the offset from its start to its end, and a cached span answers as the zone does")
{
	std::vector<std::pair<std::string, TimeZone>> zones;
	zones.emplace_back("UTC", TimeZone());
	zones.emplace_back("+05:30", *TimeZone::fixed("+05:30"));
	zones.emplace_back("GMT0BST", *TimeZone::from_tzif(tzif_with_footer("GMT0BST,M3.5.0/1,M10.5.0"), "gb"));
	zones.emplace_back("NZ", *TimeZone::from_tzif(tzif_with_footer("NZST-12NZDT,M9.5.0,M4.1.0/3"), "nz"));
	for (const char* name : {"Europe/London", "America/New_York", "Australia/Sydney"})
		if (have_zone(name))
			zones.emplace_back(name, *TimeZone::load(name, "/usr/share/zoneinfo"));
	for (const auto& entry : zones) {
		// Named, not a structured binding: clang 14 cannot capture one in CAPTURE's lambda.
		const std::string& name = entry.first;
		const TimeZone& z = entry.second;
		CAPTURE(name);
		// 1960 to 2070 in uneven steps (about 5 days), and the seconds around each span's ends.
		for (int64_t t = -315619200; t < 3155760000; t += 432000 + t % 7919) {
			const TimeZone::Span s = z.span_at(t);
			CAPTURE(t);
			REQUIRE(s.contains(t));
			CHECK(s.offset == z.offset_at(t));
			if (s.from != INT64_MIN) {
				CHECK(z.offset_at(s.from) == s.offset);
			}
			if (s.until != INT64_MAX) {
				CHECK(z.offset_at(s.until - 1) == s.offset);
			}
		}
	}
	if (have_zone("Europe/London")) {
		// The spans end where the clocks change (2026-03-29 01:00 UTC, 2026-10-25 01:00 UTC).
		auto london = TimeZone::load("Europe/London", "/usr/share/zoneinfo");
		REQUIRE(london);
		CHECK(london->span_at(1774745999).until == 1774746000);
		CHECK(london->span_at(1774746000).from == 1774746000);
		CHECK(london->span_at(1792889999).until == 1792890000);
	}
	// Business hours with a kept span say what they say without one, hour by hour over two years.
	auto sydney = have_zone("Australia/Sydney") ? TimeZone::load("Australia/Sydney", "/usr/share/zoneinfo")
	                                            : TimeZone::from_tzif(tzif_with_footer("NZST-12NZDT,M9.5.0,M4.1.0/3"), "nz");
	REQUIRE(sydney);
	auto b = BusinessHours::parse("08:30-17:00", "mon-fri", *sydney);
	REQUIRE(b);
	TimeZone::Span cache;
	for (int64_t t = kMonday10; t < kMonday10 + 2 * 365 * 86400; t += 1800) {
		CAPTURE(t);
		CHECK(b->inside(at_seconds(t), cache) == b->inside(at_seconds(t)));
	}
}
