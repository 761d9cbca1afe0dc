// SPDX-License-Identifier: GPL-2.0-or-later
// The engine parameter table: every row's default equals the struct's
// default, setters reach their field, ranges are enforced.
#include <cstdlib>
#include <set>
#include <string>

#include <doctest/doctest.h>

#include "agent/engine/config.h"

using namespace sipguard;
using namespace std::chrono_literals;

TEST_CASE("param table: unique names, help, getters and setters for every row")
{
	std::set<std::string_view> names;
	for (const auto& p : engine::params()) {
		CAPTURE(p.name);
		CHECK(names.insert(p.name).second);
		CHECK_FALSE(p.help.empty());
		CHECK_FALSE(p.default_value.empty());
		REQUIRE(static_cast<bool>(p.set));
		REQUIRE(static_cast<bool>(p.get));
		engine::Config c;
		// The default value validates against its own row.
		CHECK(engine::validate(p, p.get(c)) == "");
	}
	CHECK(names.size() >= 40);
	CHECK(engine::find_param("detect.flood.invite_burst"));
	CHECK_FALSE(engine::find_param("detect.flood.nope"));
}

TEST_CASE("param table: setters reach the struct and ranges are checked")
{
	engine::Config c;
	const auto* p = engine::find_param("detect.brute_force.max_failures");
	REQUIRE(p);
	CHECK(engine::apply(c, *p, int64_t{3}) == "");
	CHECK(c.brute_force.max_failures == 3);
	CHECK(engine::apply(c, *p, int64_t{0}) == "expected an integer in 1..10000");
	CHECK(engine::apply(c, *p, true) != "");

	const auto* ladder = engine::find_param("ban.ladder");
	REQUIRE(ladder);
	CHECK(engine::apply(c, *ladder, std::vector<detect::Millis>{1min, 1h}) == "");
	CHECK(c.ban.ladder.size() == 2);
	CHECK(engine::apply(c, *ladder, std::vector<detect::Millis>{}) != "");
	c.ban.ladder = {1h, 1min};
	CHECK(engine::check(c) != "");

	const auto* ua = engine::find_param("detect.scanner.user_agents");
	REQUIRE(ua);
	CHECK(engine::apply(c, *ua, std::vector<std::string>{"evil"}) == "");
	CHECK(c.scanner.user_agents == std::vector<std::string>{"evil"});
	CHECK(engine::apply(c, *ua, std::vector<std::string>{""}) != "");

	const auto* rate = engine::find_param("detect.flood.prefix_rate");
	REQUIRE(rate);
	CHECK(engine::apply(c, *rate, 12.5) == "");
	CHECK(c.flood.prefix.rate == 12.5);
}

TEST_CASE("param table: every scalar row's default_value is the struct's default")
{
	engine::Config c;
	for (const auto& p : engine::params()) {
		CAPTURE(p.name);
		engine::ParamValue v = p.get(c);
		switch (p.type) {
		case engine::ParamType::Bool:
			CHECK(p.default_value == (std::get<bool>(v) ? "true" : "false"));
			break;
		case engine::ParamType::Int:
			CHECK(std::string(p.default_value) == std::to_string(std::get<int64_t>(v)));
			break;
		case engine::ParamType::Float:
			CHECK(std::strtod(std::string(p.default_value).c_str(), nullptr) == std::get<double>(v));
			break;
		case engine::ParamType::Duration: {
			auto ms = std::get<detect::Millis>(v).count();
			std::string d(p.default_value);
			long n = std::strtol(d.c_str() + 1, nullptr, 10);
			char unit = d[d.size() - 2];
			long mult = unit == 's' ? 1000 : unit == 'm' ? 60000 : unit == 'h' ? 3600000 : 86400000;
			CHECK(n * mult == ms);
			break;
		}
		default:
			break;
		}
	}
}

TEST_CASE("param table: documented defaults match the structs")
{
	engine::Config c;
	CHECK(std::get<int64_t>(engine::find_param("detect.enumeration.max_users")->get(c)) == 8);
	CHECK(std::get<int64_t>(engine::find_param("ban.prefix_threshold")->get(c)) == 3);
	CHECK(std::get<double>(engine::find_param("detect.flood.invite_burst")->get(c)) == 40.0);
	CHECK(engine::find_param("detect.flood.invite_burst")->default_value == "40.0");
	CHECK(std::get<std::vector<detect::Millis>>(engine::find_param("ban.ladder")->get(c)).size() == 4);
}

TEST_CASE("param table: an integer for a number row is stored as that number")
{
	engine::Config c;
	const auto* rate = engine::find_param("detect.flood.invite_rate");
	REQUIRE(rate);
	CHECK(engine::apply(c, *rate, int64_t{12}) == "");
	CHECK(c.flood.invite.rate == 12.0);
	CHECK(engine::apply(c, *rate, int64_t{0}) == "expected a number in 0.1..1000000");
}
