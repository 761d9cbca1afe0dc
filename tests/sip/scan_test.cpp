// SPDX-License-Identifier: GPL-2.0-or-later
// The vector scans under the parser (agent/sip/scan.h) against one-byte-at-a-
// time definitions: every byte value at every position of a 16-byte block,
// and runs ending before, at and after the searched range's end and the
// readable limit. Buffers are heap blocks of the exact size, so the
// sanitized build catches any read past the limit.
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <string>

#include "agent/sip/scan.h"

using namespace sipguard::sip;

namespace {

bool digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// The definition skip_set<Letters, Extra...> implements.
template <bool Letters, char... Extra>
bool member(unsigned char c)
{
	return digit(c) || (Letters && letter(c)) || ((c == static_cast<unsigned char>(Extra)) || ...);
}

template <bool Letters, char... Extra>
const char* skip_ref(const char* p, const char* e)
{
	while (p < e && member<Letters, Extra...>(static_cast<unsigned char>(*p)))
		++p;
	return p;
}

// A heap copy of exactly s.size() bytes: reading past it is an ASan error.
std::unique_ptr<char[]> exact(const std::string& s)
{
	// The size is read once and nothing is copied into an empty block: GCC 12
	// -Warray-bounds otherwise flags a copy into the zero-size allocation.
	const size_t n = s.size();
	auto b = std::make_unique<char[]>(n);
	if (n != 0)
		std::memcpy(b.get(), s.data(), n);
	return b;
}

// Every byte value at every offset of a run of members, in a buffer with
// and without room for a whole block after the run's start, with the
// range's end before, at and after the odd byte.
template <bool Letters, char... Extra>
void check_skip_set()
{
	for (size_t len : {1u, 5u, 15u, 16u, 17u, 31u, 40u}) {
		for (size_t at = 0; at < len; ++at) {
			for (int v = 0; v < 256; ++v) {
				std::string s(len, 'a');
				for (size_t i = 0; i < len; ++i)
					s[i] = "0aZ9-._@:"[i % 9];
				for (char& ch : s)
					if (!member<Letters, Extra...>(static_cast<unsigned char>(ch)))
						ch = '7';
				s[at] = static_cast<char>(v);
				const auto b = exact(s);
				const char* const lim = b.get() + len;
				for (size_t end : {at, at + 1, len}) {
					const char* const e = b.get() + end;
					const char* const got = scan::skip_set<Letters, Extra...>(b.get(), e, lim);
					const char* const want = skip_ref<Letters, Extra...>(b.get(), e);
					if (got != want) {
						FAIL("skip_set differs: len ", len, " byte ", v, " at ", at, " end ", end, ": got ",
						     got - b.get(), ", want ", want - b.get());
					}
				}
			}
		}
	}
}

} // namespace

TEST_CASE("skip_set classifies every byte as the one-byte definition does")
{
	// Every set the parsers use.
	check_skip_set<false>();
	check_skip_set<true, '-', '.'>();
	check_skip_set<true, '-', '.', '_'>();
	check_skip_set<true, '-', '.', '@'>();
	check_skip_set<true, '-', '.', '@', ':'>();
	// Sets without the '-'/'.' pair take the separate range per class.
	check_skip_set<true, '-'>();
	check_skip_set<true, '_', '~'>();
}

TEST_CASE("find, find2 and find2_in find the first match, never past the range")
{
	for (size_t len : {0u, 1u, 15u, 16u, 17u, 31u, 32u, 33u, 64u, 70u}) {
		for (size_t at = 0; at <= len; ++at) {
			std::string s(len, 'x');
			if (at < len)
				s[at] = '>';
			if (at + 3 < len)
				s[at + 3] = '"'; // a second match after the first
			const auto b = exact(s);
			const char* const p = b.get();
			const char* const want = at < len ? p + at : nullptr;
			CHECK(scan::find(p, p + len, '>') == want);
			CHECK(scan::find2(p, p + len, '>', '<') == want);
			CHECK(scan::find2(p, p + len, '<', '>') == want);
			// find2_in: the range may end before the match, the limit not.
			for (size_t end = 0; end <= len; ++end) {
				const char* const w = at < end ? p + at : nullptr;
				CHECK(scan::find2_in(p, p + end, p + len, '>', '<') == w);
			}
		}
	}
}

TEST_CASE("ieq matches a lowercase literal in any case and nothing else")
{
	CHECK(scan::ieq<"call-id:">("Call-ID:"));
	CHECK(scan::ieq<"call-id:">("CALL-ID:"));
	CHECK_FALSE(scan::ieq<"call-id:">("call_id:"));
	CHECK_FALSE(scan::ieq<"call-id:">("call-id;"));
	// Only letters fold: '-' | 0x20 is '-', but '\r' | 0x20 is '-' too and
	// must not match, nor '@' (0x40 | 0x20 is '`').
	CHECK_FALSE(scan::ieq<"a-b">("a\rb"));
	CHECK(scan::ieq<"www-authenticate:">("WWW-Authenticate:"));
	CHECK_FALSE(scan::ieq<"www-authenticate:">("WWW-Authenticate;"));
	CHECK(scan::ieq<"x">("X"));
	CHECK_FALSE(scan::ieq<"x">("y"));
	// Every byte in place of every letter and non-letter of a literal.
	const std::string lit = "content-length:";
	for (size_t i = 0; i < lit.size(); ++i)
		for (int v = 0; v < 256; ++v) {
			std::string s = lit;
			s[i] = static_cast<char>(v);
			const unsigned char l = static_cast<unsigned char>(lit[i]);
			const bool same = v == l || (letter(l) && (v | 0x20) == l);
			CHECK(scan::ieq<"content-length:">(s.data()) == same);
		}
}
