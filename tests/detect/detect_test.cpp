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

TEST_CASE("text: printable_text keeps printable UTF-8; controls, format characters and invalid bytes become ?")
{
	// Kept: ASCII, Latin-1 letters, CJK, an emoji (4 bytes), a ZWJ sequence.
	for (std::string_view s : {"fraud at night", "Betrug \xc3\xbc" "ber Nacht", "\xe6\x94\xbb\xe6\x92\x83",
	                           "toll fraud \xf0\x9f\x93\x9e", "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb"})
		CHECK(printable_text(s, 256) == s);
	// C0 (newline, ESC, BEL), DEL, C1 (U+0085 NEL, U+009B CSI): one ? each.
	CHECK(printable_text("a\nb\x1b[2Jc\x07\x7f", 256) == "a?b?[2Jc??");
	CHECK(printable_text("x\xc2\x85y\xc2\x9b" "31mz", 256) == "x?y?31mz");
	// Bidi override (Trojan Source), line separator, BOM, a tag character.
	CHECK(printable_text("a\xe2\x80\xae" "b\xe2\x80\xa8" "c\xef\xbb\xbf" "d\xf3\xa0\x80\x81", 256) == "a?b?c?d?");
	// Not UTF-8: a lone continuation byte, a truncated sequence, an
	// overlong '/', a surrogate, Latin-1: one ? per byte.
	CHECK(printable_text("\x80", 256) == "?");
	CHECK(printable_text("\xe6\x94x", 256) == "??x");
	CHECK(printable_text("\xc0\xaf", 256) == "??");
	CHECK(printable_text("\xed\xa0\x80", 256) == "???");
	CHECK(printable_text("caf\xe9", 256) == "caf?");
	// Cut at the bound, never inside a character.
	CHECK(printable_text("ab\xc3\xbc", 3) == "ab");
	CHECK(printable_text("ab\xc3\xbc", 4) == "ab\xc3\xbc");
	CHECK(printable_text("abcdef", 4) == "abcd");
	CHECK(printable_text("a\n\n\n", 2) == "a?");
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

TEST_CASE("source state: the users window slides, each user leaving when its last event is too old")
{
	SourceState st;
	const util::TimePoint t0{std::chrono::seconds(1'800'000'000)};
	const auto window = std::chrono::seconds(60);
	for (uint32_t i = 1; i <= 6; ++i) {
		st.expire_users(t0 + std::chrono::seconds(10 * (i - 1)), window);
		REQUIRE(st.user(i, std::to_string(i), true) != nullptr);
	}
	// At 65 s the user of 0 s is gone, the others stay; touching user 2
	// keeps it.
	st.expire_users(t0 + std::chrono::seconds(65), window);
	CHECK(st.user_count == 5);
	CHECK(st.user(1, "", false) == nullptr);
	REQUIRE(st.user(2, "", false) != nullptr);
	st.expire_users(t0 + std::chrono::seconds(100), window);
	CHECK(st.user_count == 3); // 2 (touched at 65 s), 5 (40 s), 6 (50 s)
	CHECK(st.user(4, "", false) == nullptr);
	CHECK(st.user(2, "", false) != nullptr);
	// Idle for a day: everything is gone, also past the 16-bit seconds' wrap.
	st.expire_users(t0 + std::chrono::hours(24), window);
	CHECK(st.user_count == 0);
	CHECK(st.user_sample_count == 0);
}
