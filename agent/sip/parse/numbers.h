// SPDX-License-Identifier: GPL-2.0-or-later
// Decimal numbers and ports as the SIP parser reads them (internal to
// parser.cpp).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/sip/parse/chars.h"
#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace {

[[gnu::always_inline]] inline bool parse_uint(std::string_view s, uint64_t max, uint64_t& out)
{
	if (s.empty() || s.size() > 20)
		return false;
	uint64_t v = 0;
	if (s.size() < 20) {
		// 19 digits cannot overflow 64 bits: the bound is checked once, after.
		for (char ch : s) {
			const unsigned d = static_cast<unsigned>(static_cast<unsigned char>(ch)) - '0';
			if (d > 9)
				return false;
			v = v * 10 + d;
		}
		if (v > max)
			return false;
	} else {
		for (char ch : s) {
			if (!is(ch, kDigit))
				return false;
			v = v * 10 + static_cast<uint64_t>(ch - '0');
			if (v > max)
				return false;
		}
	}
	out = v;
	return true;
}

[[gnu::always_inline]] inline bool parse_port(std::string_view s, uint16_t& port)
{
	uint64_t v = 0;
	if (s.size() > 5 || !parse_uint(s, 65535, v))
		return false;
	port = static_cast<uint16_t>(v);
	return true;
}

// The port at p as parse_port() reads it (1-5 digits, at most 65535): the
// end of its digits, or nullptr. With 8 bytes readable before `lim`, found
// and converted in one 64-bit word (SWAR), else digit by digit.
[[gnu::always_inline]] inline const char* common_port(const char* p, const char* e, const char* lim, uint16_t& port)
{
	const char* const s = p;
	uint32_t v = 0;
	if (lim - p >= 8) [[likely]] {
		// Little-endian. A byte minus '0' above 9 gets its top bit from
		// + 0x76; a carry only disturbs bytes after the first non-digit.
		const uint64_t t = scan::load8(p) ^ 0x3030303030303030u;
		const uint64_t non_digit = ((t + 0x7676767676767676u) | t) & 0x8080808080808080u;
		ptrdiff_t n = non_digit ? std::countr_zero(non_digit) / 8 : 8;
		if (n > e - p)
			n = e - p;
		if (n == 0 || n > 5)
			return nullptr;
		// The n digits into the top bytes (zeros below), then digits, pairs
		// and quads each joined by one multiply.
		uint64_t x = t << (8 * (8 - n));
		x = (x * (10 * 256 + 1)) >> 8 & 0x00ff00ff00ff00ffu;
		x = (x * (100 * 65536 + 1)) >> 16 & 0x0000ffff0000ffffu;
		v = static_cast<uint32_t>((x * (10000 * (uint64_t{1} << 32) + 1)) >> 32);
		p += n;
	} else {
		// Six bytes at most are looked at: a sixth digit already makes it no port.
		const char* const stop = e - p > 6 ? p + 6 : e;
		for (; p < stop; ++p) {
			const unsigned d = static_cast<unsigned char>(*p) - unsigned{'0'};
			if (d > 9)
				break;
			v = v * 10 + d;
		}
		if (p == s || p - s > 5)
			return nullptr;
	}
	if (v > 65535)
		return nullptr;
	port = static_cast<uint16_t>(v);
	return p;
}

} // namespace

} // namespace sipguard::sip
