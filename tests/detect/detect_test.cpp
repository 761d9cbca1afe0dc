// SPDX-License-Identifier: GPL-2.0-or-later
// Building blocks of the detectors: the bounded CLOCK table, token buckets,
// case-insensitive matching, evidence rendering, the user table.
#include <doctest/doctest.h>

#include "agent/detect/address_table.h"
#include "agent/detect/detectors.h"
#include "agent/detect/source_state.h"
#include "agent/detect/text.h"

using namespace sipguard;
using namespace sipguard::detect;
using namespace std::chrono_literals;

TEST_CASE("bounded table: fixed capacity, CLOCK eviction keeps referenced entries")
{
	AddressTable<int> t(128);
	CHECK(t.capacity() == 128);
	bool ins = false;
	for (uint32_t i = 0; i < 100000; ++i)
		t.find_or_insert(net::IpAddress::v4(i), ins) = static_cast<int>(i);
	CHECK(t.size() <= t.capacity());
	CHECK(t.evictions() >= 100000 - 128);
	// A hot entry touched between inserts survives a stream of new keys.
	auto hot = net::IpAddress::v4(0xC0000201);
	t.find_or_insert(hot, ins) = 42;
	for (uint32_t i = 0; i < 5000; ++i) {
		t.find_or_insert(net::IpAddress::v4(0x0b000000 + i), ins);
		REQUIRE(t.find(hot) != nullptr);
	}
	CHECK(*t.find(hot) == 42);
	t.erase(hot);
	CHECK(t.find(hot) == nullptr);
}

TEST_CASE("token bucket: burst, refill rate, refund capped at the burst")
{
	Rate r{10, 5};
	TokenBucket b;
	util::TimePoint t{std::chrono::seconds(100)};
	for (int i = 0; i < 5; ++i)
		CHECK(b.take(r, 1, t));
	CHECK_FALSE(b.take(r, 1, t));
	CHECK(b.take(r, 1, t + 100ms)); // 1 token per 100 ms
	CHECK_FALSE(b.take(r, 1, t + 100ms));
	b.refund(r, 1, 100, t + 100ms);
	for (int i = 0; i < 5; ++i)
		CHECK(b.take(r, 1, t + 100ms));
	CHECK_FALSE(b.take(r, 1, t + 100ms));
	TokenBucket big;
	int n = 0;
	while (big.take(r, 4, t))
		++n;
	CHECK(n == 20); // scaled bucket for known sources
}

TEST_CASE("text: case-insensitive substring and equality")
{
	CHECK(icontains("Friendly-Scanner 1.0", "friendly-scanner"));
	CHECK(icontains("x sipcli/v1.8", "SIPCLI"));
	CHECK_FALSE(icontains("Yealink", "yealinkx"));
	CHECK_FALSE(icontains("abc", ""));
	CHECK(iequals("Check-Sync", "check-sync"));
	CHECK_FALSE(iequals("check-sync2", "check-sync"));
	std::vector<std::string> p{"zz", "VaxSIPUserAgent"};
	CHECK(find_any("vaxsipuseragent/3.1", p) == &p[1]);
}

TEST_CASE("evidence: JSON groups samples by name, escapes and truncates")
{
	Evidence e;
	e.window = 60s;
	e.add_count("failed_users", 8);
	e.add_count("failed_users", 9); // same name replaces
	e.add_sample("users", "100");
	e.add_sample("users", "101");
	e.add_sample("user_agent", "evil\"\x01ua");
	std::string j;
	e.append_json(j);
	CHECK(j == "{\"window_s\":60,\"failed_users\":9,\"samples\":{\"users\":[\"100\",\"101\"],\"user_agent\":[\"evil\\\"?ua\"]}}");
	std::string t;
	e.append_text(t);
	CHECK(t == "failed_users=9 window=60s users=100 users=101 user_agent=evil\"?ua");
	Evidence l;
	l.add_sample("x", std::string(200, 'a'));
	CHECK(l.samples[0].view().size() == Evidence::kSampleBytes);
}

TEST_CASE("source state: user table keeps samples, recycles succeeded users when full")
{
	SourceState st;
	for (uint32_t i = 1; i <= SourceState::kUsers; ++i)
		REQUIRE(st.user(i, std::to_string(i), true) != nullptr);
	CHECK(st.user(9999, "x", true) == nullptr);
	st.user(3, "", false)->flags |= UserSlot::Success;
	UserSlot* u = st.user(9999, "x", true, 5060);
	REQUIRE(u != nullptr);
	CHECK(u->port == 5060);
	CHECK(st.user_sample_count == SourceState::kUserSamples);
	CHECK(st.user_samples[0].view() == "1");
	CHECK(hash_user("ABC") == hash_user("abc"));
}
