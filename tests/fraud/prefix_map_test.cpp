// SPDX-License-Identifier: GPL-2.0-or-later
// PrefixMap: the longest prefix in the map, checked against a plain search
// over every prefix length on random maps with nested prefixes.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>

#include "agent/fraud/prefix_map.h"

using namespace sipguard::fraud;

namespace {

// The reference: try every length from the longest down.
PrefixMap::Match plain_longest(const std::map<std::string, uint32_t>& m, std::string_view digits)
{
	for (size_t len = std::min(digits.size(), kMaxDigits); len > 0; --len)
		if (auto it = m.find(std::string(digits.substr(0, len))); it != m.end())
			return {it->second, static_cast<uint32_t>(len)};
	return {};
}

std::string random_digits(std::mt19937& rng, size_t min_len, size_t max_len, char max_digit)
{
	std::uniform_int_distribution<size_t> len(min_len, max_len);
	std::uniform_int_distribution<int> digit('0', max_digit);
	std::string s(len(rng), '0');
	for (char& c : s)
		c = static_cast<char>(digit(rng));
	return s;
}

} // namespace

TEST_CASE("longest prefix: nested entries, the first value of a repeated prefix, no match")
{
	PrefixMap m;
	m.add("44", 1);
	m.add("447", 2);
	m.add("4479", 3);
	m.add("1", 4);
	m.add("1876", 5);
	m.add("447", 9); // repeated: the first value stays
	m.add("", 7);    // ignored
	m.freeze();
	CHECK(m.size() == 5);
	auto check = [&](std::string_view digits, uint32_t value, uint32_t length) {
		CAPTURE(digits);
		const PrefixMap::Match r = m.longest(digits);
		CHECK(r.value == value);
		CHECK(r.length == length);
	};
	check("447911123456", 3, 4);
	check("447811123456", 2, 3);
	check("442071234567", 1, 2);
	check("4", PrefixMap::kNone, 0);
	check("44", 1, 2);
	check("18765551234", 5, 4);
	check("18775551234", 4, 1);
	check("33123456789", PrefixMap::kNone, 0);
	check("", PrefixMap::kNone, 0);
	check("0", PrefixMap::kNone, 0);
	check("999999999999999999", PrefixMap::kNone, 0);
	std::string listed;
	m.for_each([&](std::string_view d, uint32_t v) { listed += std::string(d) + "=" + std::to_string(v) + " "; });
	CHECK(listed == "1=4 1876=5 44=1 447=2 4479=3 ");
	PrefixMap empty;
	empty.freeze();
	CHECK(empty.longest("44").value == PrefixMap::kNone);
}

TEST_CASE("longest prefix agrees with a search over every length on random maps")
{
	std::mt19937 rng(20261207);
	for (int round = 0; round < 40; ++round) {
		// Few digit values and short entries make deep nesting likely.
		const char max_digit = round % 2 ? '2' : '9';
		std::map<std::string, uint32_t> reference;
		PrefixMap m;
		const int entries = 1 + round * 25;
		for (int i = 0; i < entries; ++i) {
			const std::string d = random_digits(rng, 1, round % 3 ? 6 : 15, max_digit);
			m.add(d, static_cast<uint32_t>(i));
			reference.emplace(d, static_cast<uint32_t>(i)); // keeps the first value
		}
		m.freeze();
		REQUIRE(m.size() == reference.size());
		for (int q = 0; q < 2000; ++q) {
			const std::string digits = random_digits(rng, 0, 17, max_digit);
			const PrefixMap::Match want = plain_longest(reference, digits);
			const PrefixMap::Match got = m.longest(digits);
			if (got.value != want.value || got.length != want.length) {
				CAPTURE(round);
				CAPTURE(digits);
				CHECK(got.value == want.value);
				CHECK(got.length == want.length);
			}
		}
	}
}
