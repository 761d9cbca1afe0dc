// SPDX-License-Identifier: GPL-2.0-or-later
// From, To and Contact values: name-addr / addr-spec and their parameters
// (RFC 3261 §20.10, §20.20, §20.39; internal to parser.cpp).
#pragma once

#include <cstddef>
#include <string_view>

#include "agent/sip/message.h"
#include "agent/sip/parse/chars.h"
#include "agent/sip/parse/cursor.h"
#include "agent/sip/parse/uri.h"
#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace {

// *( SEMI generic-param ) after a name-addr / addr-spec; stops at ',' or end.
// Fills the tag. An empty parameter (";;", RFC 4475 "badinv01") is malformed.
[[gnu::always_inline]] inline bool header_params(Cur& c, std::string_view* tag, Malformation& err)
{
	for (;;) {
		c.skip_lws();
		if (c.end() || c.peek() == ',')
			return true;
		// ";tag=" written without LWS, the usual case: one word compare.
		if (tag && c.e - c.p > 5 && scan::ieq<";tag=">(c.p) && c.p[5] != '"' && !is_lws(c.p[5])) {
			c.p += 5;
			const std::string_view value = c.run<kParam>();
			if (value.empty())
				return false;
			*tag = value;
			continue;
		}
		if (!c.eat(';'))
			return false;
		c.skip_lws();
		std::string_view name = c.run<kToken>();
		if (name.empty())
			return false;
		std::string_view value;
		if (c.eat_sep('=')) {
			if (!param_value(c, value, err))
				return false;
		}
		if (tag && scan::ieq<"tag">(name)) {
			if (value.empty())
				return false;
			*tag = value;
		}
	}
}

// The usual SIP URI as an addr-spec (no display name, no brackets), ended
// by ';', ',' or LWS; false for anything else.
[[gnu::always_inline]] inline bool parse_common_addr_spec(Cur& c, NameAddr& na)
{
	CommonUriHead h;
	const char* const q = common_uri_head(c.p, c.e, c.lim, h);
	if (!q || (q < c.e && *q != ';' && *q != ',' && !is_lws(*q)))
		return false;
	set_common_uri(na.uri, {c.p, static_cast<size_t>(q - c.p)}, h);
	c.p = q;
	return true;
}

// The usual name-addr, ["display"] [SP] "<" usual URI ">", or the usual
// addr-spec, read as the general path would (name_addr_shortcut_agrees());
// false with `c` and `na` untouched for anything else.
[[gnu::always_inline]] inline bool parse_common_name_addr(Cur& c, NameAddr& na)
{
	const char* p = c.p;
	const char* const e = c.e;
	const char* ds = p; // the display name: empty at the value's start unless quoted
	const char* de = p;
	if (p < e && *p == '"') {
		const char* q = scan::find2(p + 1, e, '"', '\\');
		if (!q || *q != '"')
			return false;
		ds = p + 1;
		de = q;
		p = q + 1;
		if (p < e && *p == ' ')
			++p;
	}
	if (p >= e || *p != '<')
		return p == c.p && parse_common_addr_spec(c, na);
	// The URI ends at the first '>', after its head or its parameters.
	const char* const us = p + 1;
	CommonUriHead h;
	const char* gt = common_uri_head(us, e, c.lim, h);
	if (!gt || gt >= e)
		return false;
	if (*gt != '>') {
		// Searched to the buffer's end, not the value's, so the search keeps
		// its 32-byte steps; a '>' past the value is no end.
		const char* const params = gt;
		gt = *params == ';' ? scan::find(params, c.lim, '>') : nullptr;
		if (!gt || gt >= e || !common_uri_params(params, gt, h, UriSite::NameAddr, c.lim))
			return false;
	}
	if (static_cast<size_t>(gt - us) > kMaxUriBytes)
		return false;
	set_common_uri(na.uri, {us, static_cast<size_t>(gt - us)}, h);
	na.display = {ds, static_cast<size_t>(de - ds)};
	c.p = gt + 1;
	return true;
}

// name-addr / addr-spec (§20.10 Contact, §20.20 From, §20.39 To) without its
// parameters, in any form. Leaves `c` just after it.
bool parse_name_addr_general(Cur& c, NameAddr& na, Malformation& err)
{
	c.skip_lws();
	const char* start = c.p;
	bool bracket = false;
	if (c.peek() == '"') {
		std::string_view d;
		switch (quoted(c, d)) {
		case QResult::Ok: break;
		case QResult::Unbalanced: err = Malformation::UnbalancedQuote; return false;
		case QResult::Bad: return false;
		}
		na.display = d;
		c.skip_lws();
		if (c.peek() != '<')
			return false;
		bracket = true;
	} else {
		// Any text before a '<' is the display name (RFC 4475 "lwsdisp";
		// phones send `\"arik\" <sip:..>`, and a display name is never
		// security-relevant). A ';' or ',' first means an addr-spec.
		while (c.p < c.e && *c.p != '<' && *c.p != ';' && *c.p != ',' && *c.p != ':'
		       && (static_cast<unsigned char>(*c.p) >= 0x20 || is(*c.p, kLws)))
			++c.p;
		if (c.peek() == '<') {
			na.display = trim({start, static_cast<size_t>(c.p - start)});
			bracket = true;
		} else {
			c.p = start;
		}
	}
	if (bracket) {
		++c.p; // '<'
		const char* s = c.p;
		c.p = scan::find(c.p, c.e, '>');
		if (!c.p)
			return false;
		// No LWS inside the brackets (§25.1 name-addr; RFC 4475 "badaspec").
		if (!parse_uri({s, static_cast<size_t>(c.p - s)}, na.uri, UriSite::NameAddr, c.lim))
			return false;
		++c.p;
		return true;
	}
	// An addr-spec ends at ';' (header parameters), ',' or LWS, and holds no
	// '?' (§20: else it needs brackets; RFC 4475 "regbadct").
	const std::string_view raw = c.run<kAddrSpec>();
	return parse_uri(raw, na.uri, UriSite::AddrSpec, c.lim);
}

// name-addr / addr-spec with parameters (§20.10 Contact, §20.20 From, §20.39 To).
// Leaves `c` at the ',' ending the value or at the end.
bool parse_name_addr(Cur& c, NameAddr& na, Malformation& err)
{
	if (!parse_common_name_addr(c, na) && !parse_name_addr_general(c, na, err))
		return false;
	return header_params(c, &na.tag, err);
}

} // namespace

} // namespace sipguard::sip
