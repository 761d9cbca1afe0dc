// SPDX-License-Identifier: GPL-2.0-or-later
// Authorization and challenge headers (RFC 3261 §22.4, RFC 2617 §3.2): the
// shortcuts for the usual forms and the general loop (internal to parser.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "agent/sip/message.h"
#include "agent/sip/parse/chars.h"
#include "agent/sip/parse/cursor.h"
#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace {

// The auth-params a Credentials or a Challenge keeps (§22.4; RFC 2617
// §3.2.1, §3.2.2); every other one is read for its syntax only.
enum class AuthParam : uint8_t { Other, Username, Realm, Nonce, Uri, Response, Qop };

// Which of them `name` (a token) is: dispatch on length, then one word compare.
[[gnu::always_inline]] inline AuthParam auth_param_of(std::string_view name)
{
	const char* const nd = name.data();
	switch (name.size()) {
	case 3:
		return scan::ieq<"uri">(nd) ? AuthParam::Uri : scan::ieq<"qop">(nd) ? AuthParam::Qop : AuthParam::Other;
	case 5:
		return scan::ieq<"realm">(nd) ? AuthParam::Realm : scan::ieq<"nonce">(nd) ? AuthParam::Nonce : AuthParam::Other;
	case 8:
		return scan::ieq<"username">(nd)   ? AuthParam::Username
		       : scan::ieq<"response">(nd) ? AuthParam::Response
		                                   : AuthParam::Other;
	default:
		return AuthParam::Other;
	}
}

// Keeps one auth-param's value in the credentials or the challenge.
[[gnu::always_inline]] inline Malformation note_auth_param(AuthParam which, std::string_view value,
                                                           Credentials* cred, Challenge* chal)
{
	if (cred) {
		switch (which) {
		case AuthParam::Username:
			if (value.size() > kMaxTokenBytes)
				return Malformation::OversizedField;
			cred->username = value;
			break;
		case AuthParam::Realm: cred->realm = value; break;
		case AuthParam::Nonce:
			cred->has_nonce = true;
			cred->nonce = value;
			break;
		case AuthParam::Uri: cred->uri = value; break;
		case AuthParam::Response: cred->has_response = true; break;
		default: break;
		}
	} else {
		switch (which) {
		case AuthParam::Realm: chal->realm = value; break;
		case AuthParam::Nonce:
			chal->has_nonce = true;
			chal->nonce = value;
			break;
		case AuthParam::Qop: chal->qop = value; break;
		default: break;
		}
	}
	return Malformation::None;
}

// A usual auth-param name (RFC 2617 §3.2.1, §3.2.2) and its '=' at p (`left`
// >= 1 bytes readable): their length and which param it is, or 0.
[[gnu::always_inline]] inline size_t common_auth_name(const char* p, ptrdiff_t left, AuthParam& which)
{
	which = AuthParam::Other;
	switch (*p | 0x20) {
	case 'a':
		return left >= 10 && scan::ieq<"algorithm=">(p) ? 10 : 0;
	case 'c':
		return left >= 7 && scan::ieq<"cnonce=">(p) ? 7 : 0;
	case 'd':
		return left >= 7 && scan::ieq<"domain=">(p) ? 7 : 0;
	case 'n':
		if (left >= 3 && scan::ieq<"nc=">(p))
			return 3;
		which = AuthParam::Nonce;
		return left >= 6 && scan::ieq<"nonce=">(p) ? 6 : 0;
	case 'o':
		return left >= 7 && scan::ieq<"opaque=">(p) ? 7 : 0;
	case 'q':
		which = AuthParam::Qop;
		return left >= 4 && scan::ieq<"qop=">(p) ? 4 : 0;
	case 'r':
		if (left >= 6 && scan::ieq<"realm=">(p)) {
			which = AuthParam::Realm;
			return 6;
		}
		which = AuthParam::Response;
		return left >= 9 && scan::ieq<"response=">(p) ? 9 : 0;
	case 's':
		return left >= 6 && scan::ieq<"stale=">(p) ? 6 : 0;
	case 'u':
		if (left >= 4 && scan::ieq<"uri=">(p)) {
			which = AuthParam::Uri;
			return 4;
		}
		which = AuthParam::Username;
		return left >= 9 && scan::ieq<"username=">(p) ? 9 : 0;
	default:
		return 0;
	}
}

// The DQUOTE closing a quoted-string whose content starts at p, or nullptr
// when a '\' comes first (quoted() judges those) or none comes before e.
// Reads up to `lim` so the search keeps its 16-byte steps to the end.
[[gnu::always_inline]] inline const char* plain_quote_end(const char* p, const char* e, const char* lim)
{
	const char* const f = scan::find2_in(p, e, lim, '"', '\\');
	return f && *f == '"' ? f : nullptr;
}

// Where the general loop's unquoted auth-param value from p ends: the first
// ',' or byte up to SP, or e. Searched like plain_quote_end().
[[gnu::always_inline]] inline const char* unquoted_auth_value_end(const char* p, const char* e, const char* lim)
{
#if defined(__SSE2__)
	const __m128i comma = _mm_set1_epi8(',');
	const __m128i sp = _mm_set1_epi8(' ');
	for (; p < e && lim - p >= 16; p += 16) {
		const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
		const __m128i stop = _mm_or_si128(_mm_cmpeq_epi8(x, comma), _mm_cmpeq_epi8(_mm_min_epu8(x, sp), x));
		if (const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(stop))) {
			const char* const f = p + __builtin_ctz(mask);
			return f < e ? f : e;
		}
	}
#endif
	for (; p < e; ++p)
		if (*p == ',' || static_cast<unsigned char>(*p) <= ' ')
			return p;
	return e;
}

// auth-params written name=value or name="value" (no '\'), separated by ","
// or ", ", read as the general loop would (auth_shortcut_agrees()). Stops
// before the first param written otherwise, leaving `c` and `first` for the
// general loop. Only for values within kMaxUriBytes: no value can exceed it.
[[gnu::always_inline]] inline Malformation parse_common_auth_params(Cur& c, bool& first, Credentials* cred,
                                                                   Challenge* chal)
{
	const char* const e = c.e;
	if (e - c.p > static_cast<ptrdiff_t>(kMaxUriBytes))
		return Malformation::None;
	for (const char* p = c.p; p < e;) {
		AuthParam which;
		const char* vs;
		if (const size_t n = common_auth_name(p, e - p, which)) {
			vs = p + n;
		} else {
			const char* const ns = p;
			p = scan::skip_set<true, '-', '.', '_'>(ns, e, c.lim);
			if (p == ns || p >= e || *p != '=')
				return Malformation::None;
			which = auth_param_of({ns, static_cast<size_t>(p - ns)});
			vs = p + 1;
		}
		std::string_view value;
		if (vs < e && *vs == '"') {
			++vs;
			p = plain_quote_end(vs, e, c.lim);
			if (!p)
				return Malformation::None;
			value = {vs, static_cast<size_t>(p - vs)};
			++p;
		} else {
			p = unquoted_auth_value_end(vs, e, c.lim);
			if (p == vs)
				return Malformation::None;
			value = {vs, static_cast<size_t>(p - vs)};
		}
		if (p < e && *p != ',')
			return Malformation::None;
		// The general loop reaches this param with this name and value.
		const Malformation err = note_auth_param(which, value, cred, chal);
		if (err != Malformation::None)
			return err;
		c.p = p;
		first = false;
		if (p < e && ++p < e && *p == ' ')
			++p;
	}
	return Malformation::None;
}

// The scheme "Digest " (RFC 2617 §3.2.1) by one word compare instead of a
// token run; `c` is left after the SP.
[[gnu::always_inline]] inline bool common_auth_scheme(Cur& c, std::string_view& scheme)
{
	if (c.e - c.p < 7 || !scan::ieq<"digest ">(c.p))
		return false;
	scheme = {c.p, 6};
	c.p += 7;
	return true;
}

// Credentials (§22.4, §25.1) or a challenge (§20.27, §20.44): scheme LWS
// auth-param *(COMMA auth-param), the usual forms by the shortcuts above
// (UseShortcut false, for auth_shortcut_agrees(): all by the general loop).
template <bool UseShortcut>
Malformation parse_auth_params(Cur c, Credentials* cred, Challenge* chal)
{
	c.skip_lws();
	std::string_view scheme;
	if (!UseShortcut || !common_auth_scheme(c, scheme)) {
		scheme = c.run<kToken>();
		if (scheme.empty() || scheme.size() > kMaxTokenBytes)
			return Malformation::BadAuthorization;
	}
	if (cred) {
		cred->present = true;
		cred->scheme = scheme;
	} else {
		chal->present = true;
		chal->scheme = scheme;
	}
	c.skip_lws();
	bool first = true;
	if (UseShortcut) {
		const Malformation err = parse_common_auth_params(c, first, cred, chal);
		if (err != Malformation::None)
			return err;
	}
	while (!c.end()) {
		if (!first && !c.eat_sep(','))
			return Malformation::BadAuthorization;
		first = false;
		c.skip_lws();
		std::string_view name = c.run<kToken>();
		if (name.empty() || !c.eat_sep('='))
			return Malformation::BadAuthorization;
		std::string_view value;
		if (c.peek() == '"') {
			switch (quoted(c, value)) {
			case QResult::Ok: break;
			case QResult::Unbalanced: return Malformation::UnbalancedQuote;
			case QResult::Bad: return Malformation::BadAuthorization;
			}
		} else {
			// token / unquoted value; tolerate stray characters up to the next
			// ',' or LWS (backslash-escaped quotes are seen from real UAs).
			const char* vs = c.p;
			while (c.p < c.e && *c.p != ',' && !is(*c.p, kLws) && static_cast<unsigned char>(*c.p) >= 0x20)
				++c.p;
			value = {vs, static_cast<size_t>(c.p - vs)};
			if (value.empty())
				return Malformation::BadAuthorization;
		}
		if (value.size() > kMaxUriBytes)
			return Malformation::OversizedField;
		const Malformation err = note_auth_param(auth_param_of(name), value, cred, chal);
		if (err != Malformation::None)
			return err;
		c.skip_lws();
	}
	return Malformation::None;
}

Malformation parse_auth(Cur c, Credentials* cred, Challenge* chal)
{
	return parse_auth_params<true>(c, cred, chal);
}

} // namespace

} // namespace sipguard::sip
