// SPDX-License-Identifier: GPL-2.0-or-later
// Destination policy: default rules, first match, criteria, and compile errors.
#include <doctest/doctest.h>

#include "agent/fraud/policy.h"
#include "tests/fraud/fixture.h"

using namespace sipguard;
using namespace sipguard::fraud;
using namespace sipguard::fraud::test;

namespace {

struct Checker {
	Config config;
	NumberingPlan plan;
	Policy policy;

	explicit Checker(Config c) : config(std::move(c)), plan(plan_of(config)), policy(compile(config, plan)) {}

	static Policy compile(const Config& c, const NumberingPlan& p)
	{
		auto r = Policy::compile(c, p.tables());
		if (!r)
			throw std::runtime_error(r.error());
		return std::move(*r);
	}

	PolicyResult operator()(std::string_view dialled, SourceClass src = SourceClass::Extension,
	                        std::string_view account = "alice", CallDirection dir = CallDirection::ToPbx) const
	{
		Number n;
		plan.normalise(dialled, n);
		return policy.decide({&n, src, dir, account});
	}
};

} // namespace

TEST_CASE("default rules: national, mobile, internal allowed; premium, satellite, unparsable, international denied")
{
	Checker check(uk_config());
	CHECK(check.policy.defaults());
	CHECK(check("02079460000").action == RuleAction::Allow);
	CHECK(check("07700900123").action == RuleAction::Allow);
	CHECK(check("201").action == RuleAction::Allow);
	CHECK(check("08001234567").action == RuleAction::Allow);
	CHECK(check("09098790000").action == RuleAction::Deny);
	CHECK(check("09098790000").rule_name == "default-deny-premium");
	CHECK(check("+881612345678").rule_name == "default-deny-satellite");
	CHECK(check("alice").rule_name == "default-deny-unparsable");
	CHECK(check("0033142685300").rule_name == "default-deny-international");
}

TEST_CASE("default rules allow the countries of fraud.allow_countries, by code or label")
{
	Config c = uk_config();
	c.allow_countries = {"FR", "49"};
	Checker check(c);
	CHECK(check("0033142685300").action == RuleAction::Allow);
	CHECK(check("0033142685300").rule_name == "default-allow-countries");
	CHECK(check("004930123456").action == RuleAction::Allow);
	CHECK(check("0034911234567").action == RuleAction::Deny);
	// Premium stays denied even in an allowed country's range (+1 900 with US allowed).
	c.allow_countries = {"US"};
	Checker us(c);
	CHECK(us("0012125551234").action == RuleAction::Allow);
	CHECK(us("0019005551234").action == RuleAction::Deny);
	CHECK(us("0018765551234").action == RuleAction::Deny); // Jamaica is not the US
}

TEST_CASE("emergency numbers are allowed whatever the rules")
{
	Config c = uk_config();
	c.rules.push_back({.name = "deny-all", .action = "deny"});
	Checker check(c);
	CHECK(check("999").action == RuleAction::Allow);
	CHECK(check("999").rule_name == "emergency");
	CHECK(check("9112").action == RuleAction::Allow);
	CHECK(check("02079460000").rule_name == "deny-all");
}

TEST_CASE("first match wins; criteria on class, country, prefix, source, direction and account")
{
	Config c = uk_config();
	c.rules.push_back({.name = "sales-to-france", .action = "allow", .countries = {"33"}, .accounts = {"sales"}});
	c.rules.push_back({.name = "no-france", .action = "deny", .countries = {"FR"}});
	c.rules.push_back({.name = "no-london-from-trunk", .action = "deny", .prefixes = {"+4420"}, .source = "trunk"});
	c.rules.push_back({.name = "no-mobile-out", .action = "deny", .classes = {"mobile"}, .direction = "to-trunk"});
	Checker check(c);
	CHECK(check("0033142685300", SourceClass::Extension, "sales").rule_name == "sales-to-france");
	CHECK(check("0033142685300", SourceClass::Extension, "sales").action == RuleAction::Allow);
	CHECK(check("0033142685300", SourceClass::Extension, "bob").rule_name == "no-france");
	CHECK(check("02079460000", SourceClass::Trunk).rule_name == "no-london-from-trunk");
	CHECK(check("02079460000", SourceClass::Extension).rule == -1);
	CHECK(check("01632960000", SourceClass::Trunk).rule == -1);
	CHECK(check("07700900123", SourceClass::Extension, "a", CallDirection::ToTrunk).rule_name == "no-mobile-out");
	CHECK(check("07700900123", SourceClass::Extension, "a", CallDirection::ToPbx).action == RuleAction::Allow);
	// Configured rules replace the defaults: nothing matches premium, so it is allowed.
	CHECK(check("09098790000").rule_name == "(no rule)");
	CHECK(check("09098790000").action == RuleAction::Allow);
}

TEST_CASE("rule errors name the rule and the bad value")
{
	Config c = uk_config();
	NumberingPlan plan = plan_of(c);
	c.rules = {{.name = "x", .action = "deny", .classes = {"premum"}}};
	auto r = Policy::compile(c, plan.tables());
	REQUIRE(!r);
	CHECK(r.error() == "fraud.rule[0] (\"x\"): unknown class \"premum\"");
	c.rules = {{.name = "ok"}, {.name = "y", .countries = {"ZZ"}}};
	r = Policy::compile(c, plan.tables());
	REQUIRE(!r);
	CHECK(r.error().rfind("fraud.rule[1] (\"y\"): unknown country \"ZZ\"", 0) == 0);
	c.rules = {{.name = "z", .prefixes = {"+44-20"}}};
	CHECK(!Policy::compile(c, plan.tables()));
	c.rules = {};
	c.allow_countries = {"Narnia"};
	r = Policy::compile(c, plan.tables());
	REQUIRE(!r);
	CHECK(r.error().rfind("fraud.allow_countries: unknown country \"Narnia\"", 0) == 0);
}
