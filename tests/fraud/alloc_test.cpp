// SPDX-License-Identifier: GPL-2.0-or-later
// Guard::decide allocates nothing in steady state: after the tables have
// seen every account, INVITEs (allowed, warned, denied, locked) and their
// answers and ends only touch fixed storage.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "tests/fraud/fixture.h"
#include "tests/util/counting_new.h"

using namespace sipguard;
using namespace sipguard::fraud;
using namespace sipguard::fraud::test;

TEST_CASE("no allocation per INVITE in steady state")
{
	Config c = uk_config();
	c.allow_countries = {"FR"};
	c.business_hours = "08:00-18:00";
	c.pattern.calls_per_minute = {30, 1000};
	auto g = make_guard(c);
	// Texts prepared up front: only the guard is measured.
	struct Call {
		std::string dialled, account, call_id;
	};
	const char* numbers[] = {"02079460000", "07700900123", "0033142685300", "09098790000", "+881612345678",
	                         "999",         "201",         "alice",         "tel:+44-20-7946-0001;phone-context=x"};
	auto script = [&](int round) {
		std::vector<Call> calls;
		for (int i = 0; i < 200; ++i)
			calls.push_back({numbers[i % std::size(numbers)], fmt::format("ext{}", i % 20),
			                 fmt::format("r{}-{}", round, i)});
		return calls;
	};
	const std::vector<Call> warm = script(0), measured = script(1);
	auto t = at_seconds(kMonday10);
	auto play = [&](const std::vector<Call>& calls) {
		for (const Call& k : calls) {
			const Decision d = g->decide(attempt(k.dialled, k.account, k.call_id), t);
			if (!d.drop())
				g->on_answered(k.call_id, t + std::chrono::seconds(1));
			t += std::chrono::milliseconds(500);
		}
		for (const Call& k : calls)
			g->on_ended(k.call_id, t);
		t += std::chrono::seconds(60);
		g->on_tick(t);
	};
	play(warm);
	const uint64_t before = sipguard::test::g_heap_allocations.load();
	play(measured);
	const uint64_t during = sipguard::test::g_heap_allocations.load() - before;
	CHECK(during == 0);
	const Counters k = g->counters();
	CHECK(k.by_verdict[static_cast<size_t>(Verdict::Deny)] > 0);   // the denied path was measured too
	CHECK(k.by_verdict[static_cast<size_t>(Verdict::Allow)] > 0);
	CHECK(k.live_calls == 0);
}
