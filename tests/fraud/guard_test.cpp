// SPDX-License-Identifier: GPL-2.0-or-later
// The Guard facade: bad-number hits and reload, retransmissions, summaries,
// events, counters, unlock, reconfigure and config errors.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

#include <unistd.h>

#include <fmt/format.h>

#include "agent/config/loader.h"
#include "tests/fraud/fixture.h"

using namespace sipguard;
using namespace sipguard::fraud;
using namespace sipguard::fraud::test;

namespace {

struct TempFile {
	std::string path;
	explicit TempFile(const std::string& text)
	{
		char p[] = "/tmp/sipguard-fraud-XXXXXX";
		const int fd = mkstemp(p);
		if (fd < 0)
			throw std::runtime_error("mkstemp");
		close(fd);
		path = p;
		write(text);
	}
	void write(const std::string& text) const { std::ofstream(path) << text; }
	~TempFile() { std::remove(path.c_str()); }
};

} // namespace

TEST_CASE("a bad-number hit denies and locks, names the list, and counts per list; reload swaps lists")
{
	TempFile list("# shared list\n+44 909 879\n");
	Config c = uk_config();
	c.rules.push_back({.name = "allow-all", .action = "allow"}); // the list must stop it, not the premium rule
	c.bad_number_files = {list.path};
	auto g = make_guard(c);
	const auto t = at_seconds(kMonday10);
	const Decision d = g->decide(attempt("09098790000", "alice", "c1"), t);
	CHECK(d.verdict == Verdict::DenyAndLock);
	CHECK(d.event.reason == Reason::BadNumber);
	CHECK(std::string_view(d.event.rule.data()) == list.path.substr(5));
	CHECK(std::string_view(d.event.number.data()) == "449098790000");
	CHECK(std::string_view(d.event.dialled.data()) == "09098790000");
	CHECK(d.event.lock_step == 1);
	// Without an account there is nothing to lock: denied only.
	CHECK(g->decide(attempt("09098790001", "", "c2"), t).verdict == Verdict::Deny);
	Counters k = g->counters();
	REQUIRE(k.bad_list_hits.size() == 1);
	CHECK(k.bad_list_hits[0].second == 2);
	CHECK(k.locks == 1);

	list.write("+44 20 7946\n");
	REQUIRE(g->reload_bad_numbers());
	CHECK(g->decide(attempt("09098790000", "", "c3"), t).verdict == Verdict::Allow);
	CHECK(g->decide(attempt("02079460000", "", "c4"), t).verdict == Verdict::Deny);
	k = g->counters();
	CHECK(k.bad_list_hits[0].second == 3); // the same file keeps its count
	CHECK(k.bad_list_reloads == 1);
	list.write("+44 20 7946\nbogus\n");
	util::Status st = g->reload_bad_numbers();
	CHECK(st.message == "fraud.bad_number_files: " + list.path +
	                        ":2: expected an E.164 number or prefix (digits, '+', separators), got \"bogus\"");
	CHECK(g->decide(attempt("02079460000", "", "c5"), t).verdict == Verdict::Deny); // old lists kept

	c.lock_on_bad_number = false;
	list.write("+44 20 7946\n");
	auto h = make_guard(c);
	CHECK(h->decide(attempt("02079460000", "alice", "c1"), t).verdict == Verdict::Deny);
}

TEST_CASE("a retransmitted INVITE gets the first verdict and is not counted again; a new account is")
{
	Config c = uk_config();
	c.pattern.calls_per_minute = {2, 3};
	auto g = make_guard(c);
	const auto t = at_seconds(kMonday10);
	CHECK(g->decide(attempt("02079460000", "", "x1"), t).verdict == Verdict::Allow); // before the 407
	CHECK(g->decide(attempt("02079460000", "alice", "x1"), t).verdict == Verdict::Allow);
	for (int i = 0; i < 5; ++i) {
		const Decision d = g->decide(attempt("02079460000", "alice", "x1"), t);
		CHECK(d.verdict == Verdict::Allow);
		CHECK(!d.has_event);
	}
	CHECK(g->decide(attempt("02079460001", "alice", "x2"), t).verdict == Verdict::Warn);
	const Decision p = g->decide(attempt("09098790000", "bob", "x3"), t);
	CHECK(p.verdict == Verdict::Deny);
	const Decision again = g->decide(attempt("09098790000", "bob", "x3"), t);
	CHECK(again.verdict == Verdict::Deny);
	CHECK(!again.has_event);
	CHECK(g->counters().policy_denied == 1);
}

TEST_CASE("an INVITE re-sent with credentials replaces the first: one call in the summary")
{
	auto g = make_guard(uk_config());
	const auto t = at_seconds(kMonday10);
	REQUIRE(g->decide(attempt("07700900123", "", "auth-1"), t).verdict == Verdict::Allow);
	REQUIRE(g->decide(attempt("07700900123", "alice", "auth-1"), t).verdict == Verdict::Allow);
	CHECK(g->counters().live_calls == 1);
	g->on_answered("auth-1", t);
	g->on_ended("auth-1", t + std::chrono::seconds(30));
	const Counters k = g->counters();
	REQUIRE(k.summaries.size() == 1);
	CHECK(k.summaries[0].calls == 1);
	CHECK(k.summaries[0].seconds == 30);
	CHECK(k.live_calls == 0);
}

TEST_CASE("answered calls are summarised per country and class with their minutes")
{
	Config c = uk_config();
	c.allow_countries = {"FR"};
	auto g = make_guard(c);
	const auto t = at_seconds(kMonday10);
	REQUIRE(g->decide(attempt("0033142685300", "alice", "f1"), t).verdict != Verdict::Deny);
	g->on_answered("f1", t + std::chrono::seconds(5));
	g->on_ended("f1", t + std::chrono::seconds(125));
	REQUIRE(g->decide(attempt("07700900123", "alice", "m1"), t).verdict == Verdict::Allow);
	g->on_answered("m1", t);
	REQUIRE(g->decide(attempt("07700900124", "alice", "m2"), t).verdict == Verdict::Allow); // never answered
	g->on_ended("m2", t + std::chrono::seconds(10));
	g->on_tick(t + std::chrono::hours(7)); // m1 had no BYE: ends at max_call_duration (6 h)
	const Counters k = g->counters();
	CHECK(k.live_calls == 0);
	uint64_t fr_seconds = 0, mobile_calls = 0, mobile_seconds = 0;
	for (const Summary& s : k.summaries) {
		if (s.country == "FR" && s.number_class == NumberClass::International)
			fr_seconds += s.seconds;
		if (s.country == "GB" && s.number_class == NumberClass::Mobile) {
			mobile_calls += s.calls;
			mobile_seconds += s.seconds;
		}
	}
	CHECK(fr_seconds == 120);
	CHECK(mobile_calls == 1);
	CHECK(mobile_seconds == 6 * 3600);
	CHECK(k.by_class[static_cast<size_t>(NumberClass::Mobile)] == 2);

	// The same calls per account and country.
	const auto per_account = g->account_summaries();
	REQUIRE(per_account.size() == 2);
	for (const AccountSummary& r : per_account) {
		CHECK(r.account == "alice");
		if (r.country == "FR") {
			CHECK(r.calls == 1);
			CHECK(r.seconds == 120);
		} else {
			CHECK(r.country == "GB");
			CHECK(r.calls == 1);
			CHECK(r.seconds == 6 * 3600);
		}
	}
}

TEST_CASE("per-account summaries keep 8 countries, then add up under \"other\"")
{
	Config c = uk_config();
	c.allow_countries = {"FR", "DE", "ES", "IT", "NL", "BE", "AT", "CH", "SE", "NO"};
	c.pattern.new_countries_per_day = {0, 0};
	auto g = make_guard(c);
	const auto t = at_seconds(kMonday10);
	const char* numbers[] = {"0033142685300", "004930123456", "0034911234567", "00390612345678", "0031201234567",
	                         "003221234567",  "004312345678", "0041441234567", "004681234567",   "004721234567"};
	int i = 0;
	for (const char* n : numbers) {
		const std::string cid = fmt::format("o{}", i++);
		REQUIRE(g->decide(attempt(n, "bob", cid), t).verdict == Verdict::Allow);
		g->on_answered(cid, t);
		g->on_ended(cid, t + std::chrono::seconds(10));
	}
	const auto rows = g->account_summaries();
	REQUIRE(rows.size() == 8);
	uint64_t calls = 0, seconds = 0, other = 0;
	for (const AccountSummary& r : rows) {
		calls += r.calls;
		seconds += r.seconds;
		if (r.country == "other")
			other = r.calls;
	}
	CHECK(calls == 10);
	CHECK(seconds == 100);
	CHECK(other == 3); // CH, SE, NO
}

TEST_CASE("events: JSON with the dialled text escaped, recent ring, unlock through the guard")
{
	Config c = uk_config();
	c.recent_findings = 2;
	auto g = make_guard(c);
	const auto t = at_seconds(kMonday10);
	const Decision d = g->decide(attempt("+881 6\"12345678", "alice", "s1"), t);
	CHECK(d.verdict == Verdict::Deny);
	const std::string json = d.event.to_json();
	CHECK(json.find("\"verdict\":\"deny\"") != std::string::npos);
	CHECK(json.find("\"rule\":\"default-deny-unparsable\"") != std::string::npos);
	CHECK(json.find("\"dialled\":\"+881 6\\\"12345678\"") != std::string::npos);
	g->decide(attempt("+881612345678", "alice", "s2"), t);
	g->decide(attempt("09098790000", "alice", "s3"), t);
	const auto recent = g->recent(10);
	REQUIRE(recent.size() == 2);
	CHECK(std::string_view(recent[0].rule.data()) == "default-deny-satellite");
	CHECK(std::string_view(recent[1].rule.data()) == "default-deny-premium");
	CHECK(recent[0].seq < recent[1].seq);
	CHECK(d.event.to_text().rfind("fraud deny (policy default-deny-unparsable) account=alice", 0) == 0);
}

TEST_CASE("unlock through the guard, locks survive reconfigure")
{
	Config c = uk_config();
	c.pattern.denied_per_hour = {0, 1};
	auto g = make_guard(c);
	const auto t = at_seconds(kMonday10);
	CHECK(g->decide(attempt("09098790000", "alice", "u1"), t).verdict == Verdict::DenyAndLock);
	CHECK(g->locks(t).size() == 1);
	Config c2 = c;
	c2.allow_countries = {"FR"};
	REQUIRE(g->reconfigure(c2));
	CHECK(g->decide(attempt("02079460000", "alice", "u2"), t).verdict == Verdict::DenyAndLock);
	CHECK(g->unlock("alice"));
	CHECK(!g->unlock("alice"));
	CHECK(g->decide(attempt("02079460000", "alice", "u3"), t).verdict == Verdict::Allow);
	CHECK(g->decide(attempt("0033142685300", "alice", "u4"), t).verdict != Verdict::Deny);
	Config bad = c;
	bad.country_code = "1234";
	CHECK(!g->reconfigure(bad));
	CHECK(g->decide(attempt("0033142685300", "alice", "u5"), t).verdict != Verdict::Deny); // unchanged
}

TEST_CASE("config errors name the key; struct defaults equal the rows' defaults")
{
	Config c = uk_config();
	c.clock_offset = "yesterday";
	auto g = Guard::create(c);
	REQUIRE(!g);
	CHECK(g.error().rfind("fraud.clock_offset", 0) == 0);
	c = uk_config();
	c.pattern.same_number = {10, 5};
	CHECK(Guard::create(c).error() == "fraud.pattern.same_number_warn: 10 must be below the critical level 5");
	c = uk_config();
	c.country_code = "";
	CHECK(Guard::create(c).error().rfind("fraud.country_code: required when fraud.enabled is true", 0) == 0);
	c.enabled = false;
	CHECK(Guard::create(c));
	c = uk_config();
	c.bad_number_files = {"lists/itspa.txt"};
	CHECK(Guard::create(c).error() == "fraud.bad_number_files: \"lists/itspa.txt\" is not an absolute path");
	c = uk_config();
	c.data_dir = "/nonexistent";
	CHECK(Guard::create(c).error().rfind("fraud.number_tables: /nonexistent/countries.txt", 0) == 0);
	c = uk_config();
	c.time_zone = "Nowhere/Atlantis";
	CHECK(Guard::create(c).error().rfind("fraud.time_zone", 0) == 0);

	// An empty file loads every row's default text; it must equal the struct's default.
	const Config defaults;
	const config::Schema schema(rows());
	const config::Parsed parsed = config::parse("", "empty.toml", schema);
	REQUIRE(parsed.errors.empty());
	Config loaded;
	loaded.enabled = !defaults.enabled;
	loaded.pattern = PatternConfig{{1, 2}, {1, 2}, {1, 2}, {1, 2}, {1, 2}, {1, 2}, {1, 2}, {1, 2}};
	loaded.number_tables.clear();
	config::assign_all(rows(), loaded, parsed.values);
	for (const auto& row : rows()) {
		CAPTURE(row.name);
		CHECK(row.get(loaded) == row.get(defaults));
	}
	// A [[fraud.rule]] table and thresholds from TOML text.
	const config::Parsed rule = config::parse("[fraud]\ncountry_code = \"44\"\n[fraud.pattern]\nsame_number_warn = 3\n"
	                                          "[[fraud.rule]]\nname = \"no-fr\"\ncountries = [\"FR\"]\n",
	                                          "rule.toml", schema);
	REQUIRE(rule.errors.empty());
	Config with_rule;
	config::assign_all(rows(), with_rule, rule.values);
	CHECK(with_rule.country_code == "44");
	CHECK(with_rule.pattern.same_number.warn == 3);
	REQUIRE(with_rule.rules.size() == 1);
	CHECK(with_rule.rules[0].name == "no-fr");
	CHECK(with_rule.rules[0].action == "deny");
	CHECK(with_rule.rules[0].countries == std::vector<std::string>{"FR"});
	CHECK(!defaults.validate());
}

TEST_CASE("explain() gives the destination verdict and counts nothing")
{
	TempFile list("+44 20 7946\n");
	Config c = uk_config();
	c.bad_number_files = {list.path};
	c.pattern.calls_per_minute = {1, 2};
	auto g = make_guard(c);
	const auto t = at_seconds(kMonday10);
	Explanation x = g->explain(attempt("tel:+44-909-879-0000", "alice", "e1"), t);
	CHECK(x.number_class == NumberClass::Premium);
	CHECK(x.number == "449098790000");
	CHECK(x.country == "GB");
	CHECK(x.verdict == Verdict::Deny);
	CHECK(x.rule == "default-deny-premium");
	x = g->explain(attempt("02079460000", "alice", "e2"), t);
	CHECK(x.reason == Reason::BadNumber);
	x = g->explain(attempt("999", "alice", "e3"), t);
	CHECK(x.verdict == Verdict::Allow);
	CHECK(x.rule == "emergency");
	x = g->explain(attempt("alice", "alice", "e4"), t);
	CHECK(x.number_class == NumberClass::Unparsable);
	CHECK(x.why == "not a telephone number");
	for (int i = 0; i < 5; ++i)
		CHECK(g->explain(attempt("07700900123", "alice", "e5"), t).verdict == Verdict::Allow);
	const Counters k = g->counters();
	CHECK(k.locks == 0);
	CHECK(k.live_calls == 0);
	CHECK(k.by_verdict[0] + k.by_verdict[1] + k.by_verdict[2] + k.by_verdict[3] == 0);
}
