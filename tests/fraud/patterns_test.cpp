// SPDX-License-Identifier: GPL-2.0-or-later
// Every per-account pattern at its boundary through Guard::decide: count - 1
// passes, the warning level warns, the critical level denies and locks.
#include <doctest/doctest.h>

#include <random>

#include <fmt/format.h>

#include "agent/fraud/patterns.h"
#include "tests/fraud/fixture.h"

using namespace sipguard;
using namespace sipguard::fraud;
using namespace sipguard::fraud::test;

namespace {

// Every pattern off, then the one under test set.
Config quiet_config()
{
	Config c = uk_config();
	c.pattern = PatternConfig{{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}};
	return c;
}

struct Caller {
	std::unique_ptr<Guard> guard;
	int next_id = 0;
	std::string account = "alice";

	explicit Caller(const Config& c) : guard(make_guard(c)) {}

	Decision call(std::string_view dialled, util::TimePoint now)
	{
		const std::string cid = fmt::format("call-{}", next_id++);
		return guard->decide(attempt(dialled, account, cid), now);
	}
	// A different national number per call.
	Decision national(int i, util::TimePoint now) { return call(fmt::format("0207946{:04}", i), now); }
};

void check_pattern(const Decision& d, Pattern p, bool critical, uint32_t count)
{
	CHECK(d.event.reason == Reason::Pattern);
	CHECK(d.event.pattern == p);
	CHECK(d.event.critical == critical);
	CHECK(d.event.count == count);
	CHECK(std::string_view(d.event.rule.data()) == to_string(p));
}

} // namespace

TEST_CASE("calls_per_minute: n-1 allowed, warn at n, lock at the critical level, window slides")
{
	Config c = quiet_config();
	c.pattern.calls_per_minute = {3, 5};
	Caller x(c);
	const auto t = at_seconds(kMonday10);
	CHECK(x.national(1, t).verdict == Verdict::Allow);
	CHECK(x.national(2, t + std::chrono::seconds(1)).verdict == Verdict::Allow);
	const Decision w = x.national(3, t + std::chrono::seconds(2));
	CHECK(w.verdict == Verdict::Warn);
	check_pattern(w, Pattern::CallsPerMinute, false, 3);
	CHECK(x.national(4, t + std::chrono::seconds(3)).verdict == Verdict::Allow); // warned once per crossing
	const Decision l = x.national(5, t + std::chrono::seconds(4));
	CHECK(l.verdict == Verdict::DenyAndLock);
	check_pattern(l, Pattern::CallsPerMinute, true, 5);
	CHECK(l.event.lock_step == 1);

	Caller y(c);
	// Two calls every 61 s never have three within 60 s.
	for (int i = 0; i < 20; ++i)
		CHECK(y.national(i, t + std::chrono::seconds(61 * (i / 2) + i % 2)).verdict == Verdict::Allow);
}

TEST_CASE("concurrent_calls counts calls until they end")
{
	Config c = quiet_config();
	c.pattern.concurrent_calls = {2, 3};
	Caller x(c);
	const auto t = at_seconds(kMonday10);
	CHECK(x.national(1, t).verdict == Verdict::Allow);          // call-0
	const Decision w = x.national(2, t);                        // call-1
	CHECK(w.verdict == Verdict::Warn);
	check_pattern(w, Pattern::ConcurrentCalls, false, 2);
	x.guard->on_ended("call-0", t);
	x.guard->on_ended("call-1", t);
	CHECK(x.national(3, t).verdict == Verdict::Allow);          // 1
	CHECK(x.national(4, t).verdict == Verdict::Warn);           // 2
	const Decision l = x.national(5, t);                        // 3
	CHECK(l.verdict == Verdict::DenyAndLock);
	check_pattern(l, Pattern::ConcurrentCalls, true, 3);
}

TEST_CASE("calls_per_day over 24 one-hour buckets")
{
	Config c = quiet_config();
	c.pattern.calls_per_day = {3, 4};
	Caller x(c);
	const auto t = at_seconds(kMonday10);
	CHECK(x.national(1, t).verdict == Verdict::Allow);
	CHECK(x.national(2, t + std::chrono::hours(5)).verdict == Verdict::Allow);
	CHECK(x.national(3, t + std::chrono::hours(10)).verdict == Verdict::Warn);
	CHECK(x.national(4, t + std::chrono::hours(23)).verdict == Verdict::DenyAndLock);
	Caller y(c);
	for (int i = 0; i < 10; ++i) // one call every 9 h: at most three in 24 h, never four
		CHECK(y.national(i, t + std::chrono::hours(9 * i)).verdict != Verdict::DenyAndLock);
}

TEST_CASE("same_number: consecutive calls to one number; another number resets the run")
{
	Config c = quiet_config();
	c.pattern.same_number = {3, 4};
	Caller x(c);
	const auto t = at_seconds(kMonday10);
	CHECK(x.call("02079460000", t).verdict == Verdict::Allow);
	CHECK(x.call("02079460000", t).verdict == Verdict::Allow);
	CHECK(x.call("01632960000", t).verdict == Verdict::Allow);
	CHECK(x.call("+442079460000", t).verdict == Verdict::Allow); // same number, run starts again at 1
	CHECK(x.call("020 7946 0000", t).verdict == Verdict::Allow);
	const Decision w = x.call("00442079460000", t);
	CHECK(w.verdict == Verdict::Warn);
	check_pattern(w, Pattern::SameNumber, false, 3);
	CHECK(x.call("02079460000", t).verdict == Verdict::DenyAndLock);
}

TEST_CASE("international_per_hour: distinct international numbers in the last hour")
{
	Config c = quiet_config();
	c.allow_countries = {"FR"};
	c.pattern.international_per_hour = {3, 4};
	Caller x(c);
	const auto t = at_seconds(kMonday10);
	CHECK(x.call("0033142685301", t).verdict == Verdict::Allow);
	CHECK(x.call("0033142685301", t).verdict == Verdict::Allow); // the same number again: still 1
	CHECK(x.call("0033142685302", t).verdict == Verdict::Allow);
	const Decision w = x.call("0033142685303", t + std::chrono::minutes(30));
	CHECK(w.verdict == Verdict::Warn);
	check_pattern(w, Pattern::InternationalPerHour, false, 3);
	// An hour after the first two they no longer count: 2 distinct, then 3 (a new crossing).
	CHECK(x.call("0033142685304", t + std::chrono::minutes(61)).verdict == Verdict::Allow);
	CHECK(x.call("0033142685305", t + std::chrono::minutes(62)).verdict == Verdict::Warn);
	CHECK(x.call("0033142685306", t + std::chrono::minutes(63)).verdict == Verdict::DenyAndLock);
}

TEST_CASE("after_hours_per_hour with business hours, a zone and clock_offset pretending 03:00")
{
	Config c = quiet_config();
	c.business_hours = "08:00-18:00";
	c.business_days = "mon-fri";
	c.time_zone = "+00:00";
	c.pattern.after_hours_per_hour = {2, 3};
	const auto t = at_seconds(kMonday10); // 10:00 Monday: business time
	{
		Caller x(c);
		for (int i = 0; i < 5; ++i)
			CHECK(x.national(i, t).verdict == Verdict::Allow);
		CHECK(x.call("201", t).verdict == Verdict::Allow); // internal calls never count
	}
	c.clock_offset = "-7h"; // the guard believes it is 03:00
	Caller x(c);
	CHECK(x.call("201", t).verdict == Verdict::Allow);
	CHECK(x.call("999", t).verdict == Verdict::Allow);
	CHECK(x.national(1, t).verdict == Verdict::Allow);
	const Decision w = x.national(2, t);
	CHECK(w.verdict == Verdict::Warn);
	check_pattern(w, Pattern::AfterHoursPerHour, false, 2);
	CHECK(x.national(3, t).verdict == Verdict::DenyAndLock);
}

TEST_CASE("new_countries_per_day: first calls ever to a country, against the learned baseline")
{
	Config c = quiet_config();
	c.allow_countries = {"FR", "DE", "ES", "IT"};
	c.pattern.new_countries_per_day = {2, 3};
	Caller x(c);
	const auto t = at_seconds(kMonday10);
	CHECK(x.call("0033142685300", t).verdict == Verdict::Allow); // FR: 1 new
	CHECK(x.call("0033142685399", t).verdict == Verdict::Allow); // FR again: not new
	CHECK(x.call("02079460000", t).verdict == Verdict::Allow);   // home: never new
	const Decision w = x.call("004930123456", t);                 // DE: 2
	CHECK(w.verdict == Verdict::Warn);
	check_pattern(w, Pattern::NewCountriesPerDay, false, 2);
	const std::string saved = x.guard->save_baseline();
	CHECK(saved == "alice\t33,49\n");

	// Restored into a fresh guard, FR and DE are known; ES and IT are new.
	Caller y(c);
	REQUIRE(y.guard->restore_baseline(saved, "baseline.txt"));
	CHECK(y.guard->save_baseline() == saved);
	CHECK(y.call("0033142685300", t).verdict == Verdict::Allow);
	CHECK(y.call("004930123456", t).verdict == Verdict::Allow);
	CHECK(y.call("0034911234567", t).verdict == Verdict::Allow);  // ES: 1
	CHECK(y.call("00390612345678", t).verdict == Verdict::Warn);  // IT: 2
	CHECK(x.call("0034911234567", t).verdict == Verdict::DenyAndLock); // x: FR, DE, ES = 3
	util::Status bad = y.guard->restore_baseline("bob\t33\nno tab here\n", "b.txt");
	CHECK(bad.message == "b.txt:2: expected \"account<TAB>code,code,...\"");
}

TEST_CASE("denied_per_hour: calls the policy denied lock the account at the critical level")
{
	Config c = quiet_config();
	c.pattern.denied_per_hour = {2, 3};
	Caller x(c);
	const auto t = at_seconds(kMonday10);
	const Decision d1 = x.call("09098790001", t);
	CHECK(d1.verdict == Verdict::Deny);
	CHECK(d1.event.reason == Reason::Policy);
	CHECK(std::string_view(d1.event.rule.data()) == "default-deny-premium");
	CHECK(x.call("+881612345678", t).verdict == Verdict::Deny); // the warning does not hide the rule
	const Decision l = x.call("09098790003", t);
	CHECK(l.verdict == Verdict::DenyAndLock);
	check_pattern(l, Pattern::DeniedPerHour, true, 3);
	// Locked: even a national call is stopped, and counted.
	const Decision s = x.national(1, t + std::chrono::minutes(1));
	CHECK(s.verdict == Verdict::DenyAndLock);
	CHECK(s.event.reason == Reason::Locked);
	CHECK(s.event.stopped_calls == 1);
	CHECK(x.national(2, t + std::chrono::minutes(2)).event.stopped_calls == 2);
	// Emergency calls go through a lock.
	CHECK(x.call("999", t + std::chrono::minutes(3)).verdict == Verdict::Allow);
	CHECK(x.call("9112", t + std::chrono::minutes(3)).verdict == Verdict::Allow);
	// Another account is not affected.
	x.account = "bob";
	CHECK(x.national(3, t + std::chrono::minutes(4)).verdict == Verdict::Allow);
}

TEST_CASE("defaults: a busy small office day is never warned or locked")
{
	Config c = uk_config();
	c.allow_countries = {"FR"};
	c.business_hours = "08:00-18:00";
	Caller x(c);
	x.account = "sales";
	REQUIRE(x.guard->restore_baseline("sales\t33\n", "baseline")); // France is where sales always calls
	auto t = at_seconds(kMonday10 - 2 * 3600); // 08:00
	int id = 0;
	// 30 French numbers an hour and 20 national/mobile calls an hour, 8 hours, each call 2 minutes.
	for (int hour = 0; hour < 8; ++hour)
		for (int i = 0; i < 50; ++i) {
			const std::string dialled = i < 30 ? fmt::format("00331426{:05}", hour * 100 + i)
			                                   : fmt::format("07700{:06}", id);
			const std::string cid = fmt::format("busy-{}", id++);
			const Decision d = x.guard->decide(attempt(dialled, "sales", cid), t);
			CHECK_MESSAGE(d.verdict == Verdict::Allow, dialled, " ", d.event.to_text());
			x.guard->on_answered(cid, t);
			x.guard->on_ended(cid, t + std::chrono::minutes(1));
			t += std::chrono::seconds(72);
		}
	// 999 and 112 at any hour.
	CHECK(x.call("999", at_seconds(kMonday10 + 17 * 3600)).verdict == Verdict::Allow);
	CHECK(x.call("112", at_seconds(kMonday10 + 17 * 3600)).verdict == Verdict::Allow);
}

TEST_CASE("international_per_hour: distinct numbers in the last hour over 128 slots, against a model of the slots")
{
	// Patterns directly: critical 1 reports the count on every foreign call.
	const Config c = uk_config();
	const NumberingPlan plan = plan_of(c);
	PatternConfig pc{{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 1}, {0, 0}, {0, 0}, {0, 0}};
	Patterns patterns(pc, 16, 0x5eed);
	// The model: 128 slots of (number, minute); a known live number refreshes its
	// minute, a new one takes the slot with the oldest minute (the first such).
	struct Slot {
		std::string number;
		int64_t minute = INT64_MIN;
	};
	std::vector<Slot> model(kInternationalSlots);
	std::mt19937 rng(19);
	int64_t now = kMonday10;
	std::array<uint64_t, kPatternCount> warn{}, critical{};
	for (int call = 0; call < 6000; ++call) {
		// Mostly a few seconds apart, sometimes minutes, now and then hours.
		const uint32_t r = rng() % 100;
		now += r < 90 ? rng() % 20 : r < 99 ? rng() % 900 : rng() % 10000;
		// From 300 numbers: more than the slots hold within an hour.
		const std::string dialled = fmt::format("+4930{}", 1000 + rng() % 300);
		Number n;
		plan.normalise(dialled, n);
		REQUIRE(n.number_class == NumberClass::International);
		const int64_t minute = now / 60;
		size_t seen = model.size(), oldest = 0;
		uint32_t distinct = 0;
		for (size_t i = 0; i < model.size(); ++i) {
			const bool live = model[i].minute != INT64_MIN && model[i].minute > minute - 60;
			distinct += live;
			if (live && model[i].number == dialled && seen == model.size())
				seen = i;
			if (model[i].minute < model[oldest].minute)
				oldest = i;
		}
		if (seen != model.size()) {
			model[seen].minute = minute;
		} else {
			distinct += !(model[oldest].minute != INT64_MIN && model[oldest].minute > minute - 60);
			model[oldest] = {dialled, minute};
		}
		PatternFinding f;
		REQUIRE(patterns.observe({"alice", &n, at_seconds(now), false, false}, f, warn, critical) == 1);
		CHECK(f.pattern == Pattern::InternationalPerHour);
		if (f.count != distinct) {
			CAPTURE(call);
			CHECK(f.count == distinct);
		}
	}
}
