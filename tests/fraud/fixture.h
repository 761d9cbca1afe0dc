// SPDX-License-Identifier: GPL-2.0-or-later
// Shared set-up of the fraud tests: the shipped data files from the source
// tree, a UK plan, a controlled clock and INVITE attempts built in one line.
#pragma once

#include <cstdlib>
#include <string>

#include "agent/fraud/guard.h"
#include "agent/fraud/number.h"

namespace sipguard::fraud::test {

inline std::string source_root()
{
	if (const char* r = std::getenv("SIPGUARD_SOURCE_ROOT"))
		return r;
	std::string here = __FILE__; // .../tests/fraud/fixture.h
	return here.substr(0, here.rfind("/tests/fraud/"));
}

inline std::string data_dir() { return source_root() + "/data/fraud"; }

// A UK office: +44, national prefix 0, international 00, dial-out 9.
inline Config uk_config()
{
	Config c;
	c.enabled = true;
	c.country_code = "44";
	// One-character literals assigned to a std::string trip GCC 12's
	// -Wrestrict false positive at -O3 (PR 105651); a moved temporary does not.
	c.national_prefix = std::string(1, '0');
	c.international_prefixes = {"00"};
	c.dial_out_prefix = std::string(1, '9');
	c.data_dir = data_dir();
	return c;
}

inline Config nanp_config()
{
	Config c = uk_config();
	c.country_code = std::string(1, '1');
	c.national_prefix = std::string(1, '1');
	c.international_prefixes = {"011"};
	c.dial_out_prefix = "";
	return c;
}

inline NumberingPlan plan_of(const Config& c)
{
	std::vector<std::string> paths;
	for (const auto& t : c.number_tables)
		paths.push_back(c.data_dir + "/" + t);
	auto tables = NumberTables::load(paths);
	if (!tables)
		throw std::runtime_error(tables.error());
	auto plan = NumberingPlan::create(c, *tables);
	if (!plan)
		throw std::runtime_error(plan.error());
	return std::move(*plan);
}

inline util::TimePoint at_seconds(int64_t s) { return util::TimePoint(std::chrono::seconds(s)); }

// 2026-12-07 10:00:00 UTC, a Monday.
inline constexpr int64_t kMonday10 = 1796637600;

inline CallAttempt attempt(std::string_view dialled, std::string_view account, std::string_view call_id,
                           SourceClass source = SourceClass::Extension)
{
	CallAttempt a;
	a.dialled = dialled;
	a.account = account;
	a.call_id = call_id;
	a.source = *net::IpAddress::parse("198.51.100.7");
	a.source_class = source;
	a.direction = CallDirection::ToPbx;
	return a;
}

inline std::unique_ptr<Guard> make_guard(const Config& c)
{
	auto g = Guard::create(c);
	if (!g)
		throw std::runtime_error(g.error());
	return std::move(*g);
}

} // namespace sipguard::fraud::test
