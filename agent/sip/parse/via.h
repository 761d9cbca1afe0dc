// SPDX-License-Identifier: GPL-2.0-or-later
// Via header values (RFC 3261 §20.42): the shortcut for the usual form and
// the general path (internal to parser.cpp).
#pragma once

#include <cstddef>
#include <string_view>

#include "agent/sip/message.h"
#include "agent/sip/parse/chars.h"
#include "agent/sip/parse/cursor.h"
#include "agent/sip/parse/numbers.h"
#include "agent/sip/parse/uri.h"
#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace {

// One Via value written the usual way, "SIP/2.0/" transport SP host[:port]
// then ";name[=value]" of letters, digits, '-', '.', '_', read as the general
// path would (via_shortcut_agrees()). Anything else: false, `c` untouched,
// `v` partly written, and the general path reads it, errors included.
[[gnu::always_inline]] inline bool parse_common_via(Cur& c, Via& v)
{
	const char* p = c.p;
	const char* const e = c.e;
	if (e - p < 12 || !scan::ieq<"sip/2.0/">(p))
		return false;
	// Such runs ended by SP are the general path's token and kHost runs; the
	// usual transports (RFC 3261 §18) by one word compare.
	const char* const ts = p + 8;
	if (scan::ieq<"udp ">(ts) || scan::ieq<"tcp ">(ts) || scan::ieq<"tls ">(ts)) {
		p = ts + 3;
	} else {
		p = scan::skip_set<true, '-', '.'>(ts, e, c.lim);
		if (p == ts || p >= e || *p != ' ' || static_cast<size_t>(p - ts) > kMaxTokenBytes)
			return false;
	}
	v.transport = {ts, static_cast<size_t>(p - ts)};
	const char* const hs = p + 1;
	p = scan::skip_set<true, '-', '.', '_'>(hs, e, c.lim);
	if (p == hs || p - hs > 255)
		return false;
	v.host = {hs, static_cast<size_t>(p - hs)};
	if (p < e && *p == ':' && !(p = common_port(p + 1, e, c.lim, v.port)))
		return false;
	// Every run below stops at ';' and ','; a parameter ended by anything
	// else ends the loop and the value is declined.
	while (p < e && *p == ';') {
		const ptrdiff_t left = e - p;
		if (left > 8 && scan::ieq<";branch=">(p)) {
			// via-branch is a token (§20.42); its bound is the general path's.
			const char* const vs = p + 8;
			p = scan::skip_set<true, '-', '.', '_'>(vs, e, c.lim);
			if (p == vs || static_cast<size_t>(p - vs) > kMaxTokenBytes)
				return false;
			v.branch = {vs, static_cast<size_t>(p - vs)};
		} else if (left > 7 && scan::ieq<";rport=">(p)) {
			if (!(p = common_port(p + 7, e, c.lim, v.rport)))
				return false;
			v.has_rport = true;
		} else if (left >= 6 && scan::ieq<";rport">(p) && (left == 6 || p[6] == ';' || p[6] == ',')) {
			v.has_rport = true; // RFC 3581 §3: a request's rport has no value
			p += 6;
		} else if (left > 10 && scan::ieq<";received=">(p)) {
			const char* const vs = p + 10;
			p = scan::skip_set<true, '-', '.', '_'>(vs, e, c.lim);
			if (p == vs)
				return false;
			v.received = {vs, static_cast<size_t>(p - vs)};
		} else {
			// Any other parameter; the three names above written another
			// way (";branch" alone) are the general path's to judge.
			const char* const ns = p + 1;
			p = scan::skip_set<true, '-', '.', '_'>(ns, e, c.lim);
			const size_t n = static_cast<size_t>(p - ns);
			if (n == 0 || (n == 6 && scan::ieq<"branch">(ns)) || (n == 8 && scan::ieq<"received">(ns))
			    || (n == 5 && scan::ieq<"rport">(ns)))
				return false;
			if (p < e && *p == '=') {
				const char* const vs = p + 1;
				p = scan::skip_set<true, '-', '.', '_'>(vs, e, c.lim);
				if (p == vs)
					return false;
			}
		}
	}
	if (p < e && *p != ',')
		return false;
	c.p = p;
	return true;
}

// One via-parm (§20.42: sent-protocol LWS sent-by *( SEMI via-params )) in
// any form, into `v` (reset first); leaves `c` at its ',' or the end.
Malformation parse_via_value_general(Cur& c, Via& v)
{
	v = Via{};
	// sent-protocol: "SIP/2.0/" by one word compare, any other form by runs.
	if (c.e - c.p >= 8 && scan::ieq<"sip/2.0/">(c.p)) {
		c.p += 8;
	} else {
		std::string_view proto = c.run<kToken>();
		if (proto.empty() || !c.eat_sep('/'))
			return Malformation::BadVia;
		std::string_view version = c.run<kToken>();
		if (version.empty() || !c.eat_sep('/'))
			return Malformation::BadVia;
	}
	v.transport = c.run<kToken>();
	if (v.transport.empty() || v.transport.size() > kMaxTokenBytes)
		return Malformation::BadVia;
	const char* before = c.p;
	c.skip_lws();
	if (c.p == before)
		return Malformation::BadVia;
	if (!parse_hostport(c, v.host, v.port, true))
		return Malformation::BadVia;
	for (;;) {
		c.skip_lws();
		if (c.end() || c.peek() == ',')
			return Malformation::None;
		// ";branch=", ";received=", ";rport=" and ";rport" without LWS or
		// quotes by one word compare; other forms by the loop below.
		const ptrdiff_t left = c.e - c.p;
		size_t word = 0; // length of the ";name=" matched
		if (left > 1 && c.p[0] == ';') {
			switch (c.p[1] | 0x20) {
			case 'b':
				word = left > 8 && scan::ieq<";branch=">(c.p) ? 8 : 0;
				break;
			case 'r':
				if (left >= 6 && scan::ieq<";rport">(c.p) && (left == 6 || c.p[6] == ';' || c.p[6] == ',')) {
					v.has_rport = true;
					c.p += 6;
					continue;
				}
				word = left > 7 && scan::ieq<";rport=">(c.p) ? 7 : left > 10 && scan::ieq<";received=">(c.p) ? 10 : 0;
				break;
			default:
				break;
			}
			if (word && (c.p[word] == '"' || is_lws(c.p[word])))
				word = 0;
		}
		std::string_view name;
		std::string_view value;
		bool has_value = false;
		bool token_value = false; // value known to be a token already
		if (word) {
			name = {c.p + 1, word - 2};
			c.p += word;
			has_value = true;
			value = c.run<kParam>(token_value);
			if (value.empty())
				return Malformation::BadVia;
		} else {
			if (!c.eat(';'))
				return Malformation::BadVia;
			c.skip_lws();
			name = c.run<kToken>();
			if (name.empty())
				return Malformation::BadVia;
			if (c.eat_sep('=')) {
				has_value = true;
				Malformation err = Malformation::BadVia;
				if (!param_value(c, value, err))
					return err;
			}
		}
		// Parameter names are tokens: a length check then one word compare.
		if (name.size() == 6 && scan::ieq<"branch">(name.data())) {
			if (value.size() > kMaxTokenBytes)
				return Malformation::OversizedField;
			// via-branch = "branch" EQUAL token (§20.42, §25.1).
			if (!has_value || value.empty() || value.data()[-1] == '"')
				return Malformation::BadVia;
			Cur t{value.data(), value.data() + value.size(), c.lim};
			if (!token_value && t.run<kToken>().size() != value.size())
				return Malformation::BadVia;
			v.branch = value;
		} else if (name.size() == 8 && scan::ieq<"received">(name.data())) {
			if (!has_value || value.empty())
				return Malformation::BadVia;
			v.received = value;
		} else if (name.size() == 5 && scan::ieq<"rport">(name.data())) {
			v.has_rport = true;
			if (has_value && !parse_port(value, v.rport))
				return Malformation::BadVia;
		}
	}
}

// Via (§20.42): 1#via-parm, each value by the shortcut when it can be
// (UseShortcut false, for via_shortcut_agrees(): all by the general path).
template <bool UseShortcut>
Malformation parse_via_values(Cur c, Message& m)
{
	for (;;) {
		c.skip_lws();
		// Into the next slot; past kMaxVia into a per-thread scratch Via,
		// which, unlike a local, is not zeroed on every call.
		static thread_local Via scratch;
		Via& v = m.via_count < kMaxVia ? m.via[m.via_count] : scratch;
		if (UseShortcut)
			v = Via{};
		if (!UseShortcut || !parse_common_via(c, v)) {
			const Malformation err = parse_via_value_general(c, v);
			if (err != Malformation::None)
				return err;
		}
		if (m.via_total >= kMaxViaTotal)
			return Malformation::OversizedField;
		if (m.via_count < kMaxVia)
			++m.via_count;
		++m.via_total;
		if (c.end())
			return Malformation::None;
		++c.p; // ','
	}
}

Malformation parse_via(Cur c, Message& m)
{
	return parse_via_values<true>(c, m);
}

} // namespace

} // namespace sipguard::sip
