// SPDX-License-Identifier: GPL-2.0-or-later
// Header field names in one table, long and compact forms (RFC 3261 §7.3.3,
// IANA "Header Fields" registry), from which the name lookup, the header
// loop's colon matcher and header_name() are generated.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "agent/sip/scan.h"

namespace sipguard::sip {

enum class HeaderId : uint8_t {
	Other,
	// The headers whose values the parser reads (reads_value()).
	Via,
	From,
	To,
	CallId,
	CSeq,
	Contact,
	ContentLength,
	ContentType,
	UserAgent,
	Server,
	Authorization,
	ProxyAuthorization,
	WwwAuthenticate,
	ProxyAuthenticate,
	Event,
	MaxForwards,
	Expires,
	// Named only: known compact forms, and common headers that the header
	// loop recognises with their colon instead of checking the name byte by
	// byte.
	AcceptContact,
	ReferredBy,
	RequestDisposition,
	ContentEncoding,
	RejectContact,
	Supported,
	IdentityInfo,
	ReferTo,
	Subject,
	AllowEvents,
	SessionExpires,
	Identity,
	Allow,
	Accept,
	Reason,
	Date,
	Route,
	RecordRoute,
	Require,
	MinSe,
};
inline constexpr size_t kHeaderIdCount = static_cast<size_t>(HeaderId::MinSe) + 1;

constexpr bool reads_value(HeaderId id)
{
	return id <= HeaderId::Expires;
}

// How the header loop recognises a name.
enum class Spelling : uint8_t {
	Any,   // colon search, name trim, lookup_header()
	Colon, // also "Name:" in one word compare (match_header_colon()), as nearly every UA writes it
};

struct HeaderName {
	HeaderId id;
	std::string_view name; // the canonical long form
	char compact;          // the compact form, '\0' for none
	Spelling spelling;
};

// Every named header once. match_header_colon() tries the names of one
// first letter in this order, so the frequent ones come first.
inline constexpr HeaderName kHeaderNames[] = {
	{HeaderId::Via, "Via", 'v', Spelling::Colon},
	{HeaderId::From, "From", 'f', Spelling::Colon},
	{HeaderId::To, "To", 't', Spelling::Colon},
	{HeaderId::CallId, "Call-ID", 'i', Spelling::Colon},
	{HeaderId::CSeq, "CSeq", '\0', Spelling::Colon},
	{HeaderId::Contact, "Contact", 'm', Spelling::Colon},
	{HeaderId::ContentLength, "Content-Length", 'l', Spelling::Colon},
	{HeaderId::ContentType, "Content-Type", 'c', Spelling::Colon},
	{HeaderId::MaxForwards, "Max-Forwards", '\0', Spelling::Colon},
	{HeaderId::MinSe, "Min-SE", '\0', Spelling::Colon},                  // RFC 4028
	{HeaderId::UserAgent, "User-Agent", '\0', Spelling::Colon},
	{HeaderId::Server, "Server", '\0', Spelling::Colon},
	{HeaderId::Supported, "Supported", 'k', Spelling::Colon},
	{HeaderId::SessionExpires, "Session-Expires", 'x', Spelling::Colon}, // RFC 4028
	{HeaderId::Expires, "Expires", '\0', Spelling::Colon},
	{HeaderId::Event, "Event", 'o', Spelling::Colon},                    // RFC 6665
	{HeaderId::Allow, "Allow", '\0', Spelling::Colon},
	{HeaderId::Authorization, "Authorization", '\0', Spelling::Colon},
	{HeaderId::Accept, "Accept", '\0', Spelling::Colon},
	{HeaderId::AllowEvents, "Allow-Events", 'u', Spelling::Colon},      // RFC 6665
	{HeaderId::Reason, "Reason", '\0', Spelling::Colon},                 // RFC 3326
	{HeaderId::RecordRoute, "Record-Route", '\0', Spelling::Colon},
	{HeaderId::Route, "Route", '\0', Spelling::Colon},
	{HeaderId::Require, "Require", '\0', Spelling::Colon},
	{HeaderId::Date, "Date", '\0', Spelling::Colon},
	{HeaderId::WwwAuthenticate, "WWW-Authenticate", '\0', Spelling::Colon},
	{HeaderId::ProxyAuthorization, "Proxy-Authorization", '\0', Spelling::Colon},
	{HeaderId::ProxyAuthenticate, "Proxy-Authenticate", '\0', Spelling::Colon},
	{HeaderId::AcceptContact, "Accept-Contact", 'a', Spelling::Any},           // RFC 3841
	{HeaderId::ReferredBy, "Referred-By", 'b', Spelling::Any},                 // RFC 3892
	{HeaderId::RequestDisposition, "Request-Disposition", 'd', Spelling::Any}, // RFC 3841
	{HeaderId::ContentEncoding, "Content-Encoding", 'e', Spelling::Any},
	{HeaderId::RejectContact, "Reject-Contact", 'j', Spelling::Any}, // RFC 3841
	{HeaderId::IdentityInfo, "Identity-Info", 'n', Spelling::Any},   // RFC 4474
	{HeaderId::ReferTo, "Refer-To", 'r', Spelling::Any},             // RFC 3515
	{HeaderId::Subject, "Subject", 's', Spelling::Any},
	{HeaderId::Identity, "Identity", 'y', Spelling::Any}, // RFC 8224
};

namespace header_table {

inline constexpr size_t kCount = std::size(kHeaderNames);

inline constexpr auto kNames = [] {
	std::array<std::string_view, kCount> a{};
	for (size_t i = 0; i < kCount; ++i)
		a[i] = kHeaderNames[i].name;
	return a;
}();

inline constexpr auto kNameOf = [] {
	std::array<std::string_view, kHeaderIdCount> a{};
	for (const HeaderName& h : kHeaderNames)
		a[static_cast<size_t>(h.id)] = h.name;
	return a;
}();

// Compact form 'a' + i is kCompact[i].
inline constexpr auto kCompact = [] {
	std::array<HeaderId, 26> a{};
	for (const HeaderName& h : kHeaderNames)
		if (h.compact != '\0')
			a[static_cast<size_t>(h.compact - 'a')] = h.id;
	return a;
}();

constexpr char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
}

// What the generated code relies on: every id once, names of letters and
// '-' that fit scan::ieq with their colon (24 bytes), compact forms
// distinct lowercase letters.
constexpr bool well_formed()
{
	std::array<int, kHeaderIdCount> ids{};
	std::array<int, 26> compact{};
	for (const HeaderName& h : kHeaderNames) {
		if (h.id == HeaderId::Other || ++ids[static_cast<size_t>(h.id)] != 1)
			return false;
		if (h.name.empty() || h.name.size() > 23)
			return false;
		for (char c : h.name)
			if (!((lower(c) >= 'a' && lower(c) <= 'z') || c == '-'))
				return false;
		if (h.compact == '\0')
			continue;
		if (h.compact < 'a' || h.compact > 'z' || ++compact[static_cast<size_t>(h.compact - 'a')] != 1)
			return false;
	}
	return kCount == kHeaderIdCount - 1;
}
static_assert(well_formed());

// The shortest name matched with its colon: shorter lines need no compare.
inline constexpr size_t kShortestColon = [] {
	size_t n = SIZE_MAX;
	for (const HeaderName& h : kHeaderNames)
		if (h.spelling == Spelling::Colon && h.name.size() < n)
			n = h.name.size();
	return n;
}();

// The names from entry I on that start with First and are matched with
// their colon, tried in table order: "name:" at p (n readable bytes) in one
// word compare each.
template <char First, size_t I = 0>
[[gnu::always_inline]] inline HeaderId colon_match(const char* p, size_t n, size_t& name_len)
{
	if constexpr (I == kCount) {
		return HeaderId::Other;
	} else {
		constexpr HeaderName h = kHeaderNames[I];
		if constexpr (h.spelling == Spelling::Colon && lower(h.name[0]) == First) {
			if (n > h.name.size() && scan::ieq<scan::lit_of<kNames, I, true, ':'>()>(p)) {
				name_len = h.name.size();
				return h.id;
			}
		}
		return colon_match<First, I + 1>(p, n, name_len);
	}
}

// Written out as a switch: the same dispatch as a fold of compares costs
// GCC's code more instructions a message (README.md, benchmark section).
[[gnu::always_inline]] inline HeaderId colon_match_letters(const char* p, size_t n, size_t& name_len)
{
	switch (static_cast<unsigned char>(p[0]) | 0x20) {
	case 'a': return colon_match<'a'>(p, n, name_len);
	case 'b': return colon_match<'b'>(p, n, name_len);
	case 'c': return colon_match<'c'>(p, n, name_len);
	case 'd': return colon_match<'d'>(p, n, name_len);
	case 'e': return colon_match<'e'>(p, n, name_len);
	case 'f': return colon_match<'f'>(p, n, name_len);
	case 'g': return colon_match<'g'>(p, n, name_len);
	case 'h': return colon_match<'h'>(p, n, name_len);
	case 'i': return colon_match<'i'>(p, n, name_len);
	case 'j': return colon_match<'j'>(p, n, name_len);
	case 'k': return colon_match<'k'>(p, n, name_len);
	case 'l': return colon_match<'l'>(p, n, name_len);
	case 'm': return colon_match<'m'>(p, n, name_len);
	case 'n': return colon_match<'n'>(p, n, name_len);
	case 'o': return colon_match<'o'>(p, n, name_len);
	case 'p': return colon_match<'p'>(p, n, name_len);
	case 'q': return colon_match<'q'>(p, n, name_len);
	case 'r': return colon_match<'r'>(p, n, name_len);
	case 's': return colon_match<'s'>(p, n, name_len);
	case 't': return colon_match<'t'>(p, n, name_len);
	case 'u': return colon_match<'u'>(p, n, name_len);
	case 'v': return colon_match<'v'>(p, n, name_len);
	case 'w': return colon_match<'w'>(p, n, name_len);
	case 'x': return colon_match<'x'>(p, n, name_len);
	case 'y': return colon_match<'y'>(p, n, name_len);
	case 'z': return colon_match<'z'>(p, n, name_len);
	default: return HeaderId::Other;
	}
}

} // namespace header_table

// `name` is the header name as written (any case). Exact for any bytes: a
// name with a non-token character is Other.
HeaderId lookup_header(std::string_view name);

// A Spelling::Colon name written "Name:" (any case) at the start of the
// header line `p` (n readable bytes): its id, `name_len` set, in one word
// compare per candidate; else Other, and the general path decides.
[[gnu::always_inline]] inline HeaderId match_header_colon(const char* p, size_t n, size_t& name_len)
{
	if (n <= header_table::kShortestColon)
		return HeaderId::Other;
	return header_table::colon_match_letters(p, n, name_len);
}

// The canonical long name ("Call-ID"); "" for Other. Out of line: inlined
// into the parser's error paths it costs the header loop (README.md).
std::string_view header_name(HeaderId id);

} // namespace sipguard::sip
