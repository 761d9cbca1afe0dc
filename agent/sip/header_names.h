// SPDX-License-Identifier: GPL-2.0-or-later
// Header-name lookup without allocation: long and compact forms (RFC 3261
// §7.3.3, IANA "Header Fields" registry) mapped to one id, case-insensitively.
#pragma once

#include <cstdint>
#include <string_view>

#include "agent/sip/scan.h"

namespace sipguard::sip {

enum class HeaderId : uint8_t {
	Other,
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
	// Known compact forms whose values the parser does not need.
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
	// Common headers without a compact form whose values the parser does
	// not need: named so the header loop recognises them with their colon
	// (match_header_colon) instead of searching for it and checking the
	// name byte by byte.
	Allow,
	Accept,
	Reason,
	Date,
	Route,
	RecordRoute,
	Require,
	MinSe,
};

// The parser reads the values of the ids up to Expires; the rest are only
// named.
constexpr bool reads_value(HeaderId id)
{
	return id <= HeaderId::Expires;
}

// `name` is the header name as written (any case). Exact for any bytes: a
// name with a non-token character is Other.
HeaderId lookup_header(std::string_view name);
// The header names the parser reads, spelled as nearly every UA writes them:
// the name directly followed by ':' (any case). Matches the start of the
// header line `p` (n readable bytes) with one word compare per candidate,
// so the per-line colon search, name trim and lookup_header() are skipped
// for them. Returns the id and sets `name_len`, or Other: the caller then
// takes the general path, which gives the same id for these lines.
// Inline: it runs once per header line.
[[gnu::always_inline]] inline HeaderId match_header_colon(const char* p, size_t n, size_t& name_len)
{
	auto hit = [&](HeaderId id, size_t len) {
		name_len = len;
		return id;
	};
	if (n < 3)
		return HeaderId::Other;
	switch (static_cast<unsigned char>(p[0]) | 0x20) {
	case 'v':
		return n >= 4 && scan::ieq<"via:">(p) ? hit(HeaderId::Via, 3) : HeaderId::Other;
	case 'f':
		return n >= 5 && scan::ieq<"from:">(p) ? hit(HeaderId::From, 4) : HeaderId::Other;
	case 't':
		return scan::ieq<"to:">(p) ? hit(HeaderId::To, 2) : HeaderId::Other;
	case 'c':
		if (n >= 8 && scan::ieq<"call-id:">(p))
			return hit(HeaderId::CallId, 7);
		if (n >= 5 && scan::ieq<"cseq:">(p))
			return hit(HeaderId::CSeq, 4);
		if (n >= 8 && scan::ieq<"contact:">(p))
			return hit(HeaderId::Contact, 7);
		if (n >= 15 && scan::ieq<"content-length:">(p))
			return hit(HeaderId::ContentLength, 14);
		if (n >= 13 && scan::ieq<"content-type:">(p))
			return hit(HeaderId::ContentType, 12);
		return HeaderId::Other;
	case 'm':
		if (n >= 13 && scan::ieq<"max-forwards:">(p))
			return hit(HeaderId::MaxForwards, 12);
		return n >= 7 && scan::ieq<"min-se:">(p) ? hit(HeaderId::MinSe, 6) : HeaderId::Other;
	case 'u':
		return n >= 11 && scan::ieq<"user-agent:">(p) ? hit(HeaderId::UserAgent, 10) : HeaderId::Other;
	case 's':
		if (n >= 7 && scan::ieq<"server:">(p))
			return hit(HeaderId::Server, 6);
		if (n >= 10 && scan::ieq<"supported:">(p))
			return hit(HeaderId::Supported, 9);
		return n >= 16 && scan::ieq<"session-expires:">(p) ? hit(HeaderId::SessionExpires, 15) : HeaderId::Other;
	case 'e':
		if (n >= 8 && scan::ieq<"expires:">(p))
			return hit(HeaderId::Expires, 7);
		return n >= 6 && scan::ieq<"event:">(p) ? hit(HeaderId::Event, 5) : HeaderId::Other;
	case 'a':
		if (n >= 6 && scan::ieq<"allow:">(p))
			return hit(HeaderId::Allow, 5);
		if (n >= 14 && scan::ieq<"authorization:">(p))
			return hit(HeaderId::Authorization, 13);
		if (n >= 7 && scan::ieq<"accept:">(p))
			return hit(HeaderId::Accept, 6);
		return n >= 13 && scan::ieq<"allow-events:">(p) ? hit(HeaderId::AllowEvents, 12) : HeaderId::Other;
	case 'r':
		if (n >= 7 && scan::ieq<"reason:">(p))
			return hit(HeaderId::Reason, 6);
		if (n >= 13 && scan::ieq<"record-route:">(p))
			return hit(HeaderId::RecordRoute, 12);
		if (n >= 6 && scan::ieq<"route:">(p))
			return hit(HeaderId::Route, 5);
		return n >= 8 && scan::ieq<"require:">(p) ? hit(HeaderId::Require, 7) : HeaderId::Other;
	case 'd':
		return n >= 5 && scan::ieq<"date:">(p) ? hit(HeaderId::Date, 4) : HeaderId::Other;
	case 'w':
		return n >= 17 && scan::ieq<"www-authenticate:">(p) ? hit(HeaderId::WwwAuthenticate, 16) : HeaderId::Other;
	case 'p':
		if (n >= 20 && scan::ieq<"proxy-authorization:">(p))
			return hit(HeaderId::ProxyAuthorization, 19);
		return n >= 19 && scan::ieq<"proxy-authenticate:">(p) ? hit(HeaderId::ProxyAuthenticate, 18) : HeaderId::Other;
	default:
		return HeaderId::Other;
	}
}

// The canonical long name ("Call-ID"); "" for Other.
std::string_view header_name(HeaderId id);

} // namespace sipguard::sip
