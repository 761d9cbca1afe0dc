// SPDX-License-Identifier: GPL-2.0-or-later
// Character classes of RFC 3261 §25.1 and the byte tests built on them, for
// the SIP parser (internal to parser.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace {

// Character classes of RFC 3261 §25.1.
enum : uint16_t {
	kToken = 1 << 0,  // token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
	kDigit = 1 << 1,  // DIGIT
	kHex = 1 << 2,    // HEXDIG (either case, RFC 3261 §25.1 note on case-insensitive hex)
	kAlpha = 1 << 3,  // ALPHA
	kUri = 1 << 4,    // unreserved / reserved / "%" (escaped is checked separately),
	                  // plus "[" "]" of IPv6reference (§25.1 SIP-URI, RFC 3986 absoluteURI)
	kWord = 1 << 5,   // word (Call-ID): token chars plus "(" ")" "<" ">" ":" "\" DQUOTE "/" "[" "]" "?" "{" "}"
	kLws = 1 << 6,    // SP / HTAB, and CR LF inside an unfolded header value (LWS, §25.1)
	kHost = 1 << 7,   // hostname / IPv4address: alphanum "-" "."  ("_" tolerated, seen in the wild)
	kParam = 1 << 8,  // gen-value / pvalue: token chars plus ":" "[" "]" "/" "@" (host values, §25.1)
	kText = 1 << 9,   // printable ASCII and HTAB: what a start line of a text protocol is made of
	kScheme = 1 << 10,// scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
	kUriPlain = 1 << 11, // kUri minus the characters URI parsing must look at: "%" "@" "?" ":"
	kCallId = 1 << 12, // word and "@" (callid = word [ "@" word ], §25.1)
	kAddrSpec = 1 << 13, // what an addr-spec without <> runs over: not ';' ',' LWS
};

constexpr std::array<uint16_t, 256> make_classes()
{
	std::array<uint16_t, 256> t{};
	auto add = [&t](const char* chars, uint16_t cls) {
		for (const char* c = chars; *c; ++c)
			t[static_cast<unsigned char>(*c)] |= cls;
	};
	for (int c = 'a'; c <= 'z'; ++c)
		t[c] |= kToken | kAlpha | kUri | kWord | kHost | kParam | kScheme;
	for (int c = 'A'; c <= 'Z'; ++c)
		t[c] |= kToken | kAlpha | kUri | kWord | kHost | kParam | kScheme;
	for (int c = '0'; c <= '9'; ++c)
		t[c] |= kToken | kDigit | kHex | kUri | kWord | kHost | kParam | kScheme;
	add("abcdefABCDEF", kHex);
	add("-.!%*_+`'~", kToken | kWord | kParam);
	add("-.!~*'()", kUri);          // mark
	add(";/?:@&=+$,%_", kUri);      // reserved, "%" and "_" (unreserved)
	add("[]", kUri);
	add("()<>:\\\"/[]?{}", kWord);
	add(":[]/@", kParam);
	add("-._", kHost);
	add("+-.", kScheme);
	add(" \t\r\n", kLws);
	for (int c = 0x20; c < 0x7f; ++c)
		t[c] |= kText;
	for (int c = 0; c < 256; ++c)
		if ((t[c] & kUri) && c != '%' && c != '@' && c != '?' && c != ':')
			t[c] |= kUriPlain;
	t['\t'] |= kText;
	for (int c = 0; c < 256; ++c)
		if ((t[c] & kWord) || c == '@')
			t[c] |= kCallId;
	for (int c = 0; c < 256; ++c)
		if (c != ';' && c != ',' && !(t[c] & kLws))
			t[c] |= kAddrSpec;
	return t;
}
constexpr auto kClass = make_classes();

inline bool is(char c, uint16_t cls) { return (kClass[static_cast<unsigned char>(c)] & cls) != 0; }

// `a` starts with the lowercase literal L, ignoring ASCII case.
template <scan::Lit L>
bool istarts(std::string_view a)
{
	return a.size() >= L.size && scan::ieq<L>(a.data());
}

// LWS bytes are all <= SP: one compare rejects the common case.
[[gnu::always_inline]] inline bool is_lws(char c)
{
	return static_cast<unsigned char>(c) <= ' ' && is(c, kLws);
}

} // namespace

} // namespace sipguard::sip
