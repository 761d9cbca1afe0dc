// SPDX-License-Identifier: GPL-2.0-or-later
// SIP and other URIs (RFC 3261 §19.1.1, §25.1): the shortcut for the usual
// form and the general path (internal to parser.cpp).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "agent/sip/message.h"
#include "agent/sip/parse/chars.h"
#include "agent/sip/parse/cursor.h"
#include "agent/sip/parse/numbers.h"
#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace {

// IPv6reference contents (§25.1): hex digits, ':' and '.' (embedded IPv4).
bool valid_ipv6(std::string_view h)
{
	if (h.size() < 2 || h.size() > 45)
		return false;
	for (char ch : h)
		if (!is(ch, kHex) && ch != ':' && ch != '.')
			return false;
	return h.find(':') != std::string_view::npos;
}

// host [":" port] with optional LWS around ':' when `lws` (sent-by in Via).
[[gnu::always_inline]] inline bool parse_hostport(Cur& c, std::string_view& host, uint16_t& port, bool lws)
{
	if (c.eat('[')) {
		const char* s = c.p;
		while (c.p < c.e && *c.p != ']')
			++c.p;
		if (c.p >= c.e)
			return false;
		host = {s, static_cast<size_t>(c.p - s)};
		++c.p;
		if (!valid_ipv6(host))
			return false;
	} else {
		host = c.run<kHost>();
		if (host.empty() || host.size() > 255)
			return false;
	}
	if (lws ? c.eat_sep(':') : c.eat(':'))
		return parse_port(c.run<kDigit>(), port);
	return true;
}

// Where a URI's delimiters are, from one pass over it (npos when absent).
struct UriMarks {
	size_t colon = std::string_view::npos;  // first ':' (ends the scheme)
	size_t colon2 = std::string_view::npos; // second ':' (ends a SIP user, or the host)
	size_t at = std::string_view::npos;     // first '@'
	size_t question = std::string_view::npos; // last '?'
};

// One pass over a URI: checks its characters and %HH escapes (§25.1) and
// notes the delimiters; 16 bytes at a time while `lim` allows, only the
// bytes that are not common URI characters looked up one by one.
[[gnu::always_inline]] inline bool scan_uri(std::string_view s, const char* lim, UriMarks& k)
{
	const size_t n = s.size();
	const char* const d = s.data();
	auto note = [&k](char ch, size_t i) {
		if (ch == ':') {
			if (k.colon == std::string_view::npos)
				k.colon = i;
			else if (k.colon2 == std::string_view::npos)
				k.colon2 = i;
		} else if (ch == '@') {
			if (k.at == std::string_view::npos)
				k.at = i;
		} else {
			k.question = i;
		}
	};
	auto escape_ok = [&](size_t i) { return i + 2 < n && is(d[i + 1], kHex) && is(d[i + 2], kHex); };
	size_t i = 0;
#if defined(__SSE2__)
	for (; i < n && lim - (d + i) >= 16; i += 16) {
		const __m128i common = scan::class_mask<true, '.', '-', '_', ';', '='>(
		    _mm_loadu_si128(reinterpret_cast<const __m128i*>(d + i)));
		const unsigned valid = n - i >= 16 ? 0xffffu : (1u << (n - i)) - 1;
		unsigned rest = ~static_cast<unsigned>(_mm_movemask_epi8(common)) & valid;
		// In address order, so "first" and "last" keep their meaning.
		while (rest) {
			const size_t j = i + static_cast<size_t>(__builtin_ctz(rest));
			rest &= rest - 1;
			const char ch = d[j];
			if (ch == ':' || ch == '@' || ch == '?')
				note(ch, j);
			else if (ch == '%') {
				if (!escape_ok(j))
					return false;
			} else if (!is(ch, kUriPlain))
				return false;
		}
	}
#endif
	(void)lim;
	for (; i < n; ++i) {
		const char ch = d[i];
		if (is(ch, kUriPlain))
			continue;
		if (ch == ':' || ch == '@' || ch == '?')
			note(ch, i);
		else if (ch == '%') {
			if (!escape_ok(i))
				return false;
			i += 2;
		} else
			return false;
	}
	return true;
}

// Where a URI was written: what may follow its host differs.
enum class UriSite {
	NameAddr,    // inside <...>: URI headers ("?...") allowed
	RequestLine, // no URI headers (§19.1.1 table, RFC 4475 "escruri"); '?' in the user part is fine
	AddrSpec,    // without <>: no '?' at all (§20: else it needs brackets; RFC 4475 "regbadct")
};

// What the usual SIP URI holds before its parameters.
struct CommonUriHead {
	std::string_view user;
	std::string_view host;
	uint16_t port = 0;
};

// The usual URI's head at d: "sip:" [user "@"] host [":" port], user and
// host of letters, digits, '-', '.', '_'. Returns where that form ends (the
// caller judges what follows, so no search for the URI's end comes first),
// or nullptr.
[[gnu::always_inline]] inline const char* common_uri_head(const char* d, const char* e, const char* lim,
                                                          CommonUriHead& h)
{
	if (e - d < 5 || !scan::ieq<"sip:">(d))
		return nullptr;
	const char* const s = d + 4;
	const char* hs = s;
	const char* p;
#if defined(__SSE2__)
	if (lim - s >= 32) [[likely]] {
		// One classification of the 32 bytes after "sip:": its first two
		// stops end the user and the host; longer runs go on by skip_set.
		uint32_t stops = scan::stops32<true, '-', '.', '_'>(s);
		p = stops ? s + std::countr_zero(stops) : scan::skip_set<true, '-', '.', '_'>(s + 32, e, lim);
		if (p < e && *p == '@') {
			h.user = {s, static_cast<size_t>(p - s)};
			if (h.user.empty() || h.user.size() > kMaxTokenBytes)
				return nullptr;
			hs = p + 1;
			// A user that ran past s + 32 leaves the host to skip_set.
			stops &= stops - 1;
			p = stops ? s + std::countr_zero(stops) : scan::skip_set<true, '-', '.', '_'>(std::max(hs, s + 32), e, lim);
		}
		if (p > e)
			p = e;
	} else
#endif
	{
		// The same two runs by skip_set alone, near the buffer's end. Kept
		// apart from the path above: merged, the parse is slower (README).
		p = scan::skip_set<true, '-', '.', '_'>(s, e, lim);
		if (p < e && *p == '@') {
			h.user = {s, static_cast<size_t>(p - s)};
			if (h.user.empty() || h.user.size() > kMaxTokenBytes)
				return nullptr;
			hs = p + 1;
			p = scan::skip_set<true, '-', '.', '_'>(hs, e, lim);
		}
	}
	h.host = {hs, static_cast<size_t>(p - hs)};
	if (h.host.empty() || h.host.size() > 255)
		return nullptr;
	if (p < e && *p == ':')
		return common_port(p + 1, e, lim, h.port);
	return p;
}

// The parameters [p, e) after a usual URI head (*p == ';') under the general
// path's rules; an '@' in them without a user is left to the general path.
[[gnu::always_inline]] inline bool common_uri_params(const char* p, const char* e, const CommonUriHead& h,
                                                     UriSite site, const char* lim)
{
	UriMarks k;
	if (!scan_uri({p, static_cast<size_t>(e - p)}, lim, k))
		return false;
	if (k.question != std::string_view::npos && site != UriSite::NameAddr)
		return false;
	return !(h.user.empty() && k.at != std::string_view::npos);
}

[[gnu::always_inline]] inline void set_common_uri(Uri& u, std::string_view raw, const CommonUriHead& h)
{
	u.raw = raw;
	u.scheme = {raw.data(), 3};
	u.user = h.user;
	u.host = h.host;
	u.port = h.port;
}

// The usual SIP URI, its head then nothing or ";" params, read as the
// general path would (uri_shortcut_agrees()); false for anything else.
[[gnu::always_inline]] inline bool parse_common_sip_uri(std::string_view raw, Uri& u, UriSite site, const char* lim)
{
	const char* const d = raw.data();
	const char* const e = d + raw.size();
	if (raw.size() > kMaxUriBytes)
		return false;
	CommonUriHead h;
	const char* const p = common_uri_head(d, e, lim, h);
	if (!p || (p < e && (*p != ';' || !common_uri_params(p, e, h, site, lim))))
		return false;
	set_common_uri(u, raw, h);
	return true;
}

// Fills `u` from `raw` as written at `site` (§19.1.1, §25.1; other schemes
// keep the scheme and a tel: user only), without the shortcut.
bool parse_uri_general(std::string_view raw, Uri& u, UriSite site, const char* lim)
{
	u = Uri{};
	u.raw = raw;
	UriMarks k;
	if (raw.empty() || raw.size() > kMaxUriBytes || !scan_uri(raw, lim, k))
		return false;
	const size_t colon = k.colon, at = k.at, question = k.question;
	if (site == UriSite::AddrSpec && question != std::string_view::npos)
		return false;
	if (colon == std::string_view::npos || colon == 0 || !is(raw[0], kAlpha))
		return false;
	u.scheme = scan::sub(raw, 0, colon);
	const bool sip = scan::ieq<"sip">(u.scheme) || scan::ieq<"sips">(u.scheme);
	if (!sip)
		for (char ch : u.scheme)
			if (!is(ch, kScheme))
				return false;
	std::string_view rest = scan::sub(raw, colon + 1);
	if (sip) {
		// '@' is neither a param nor a header character, so the first one
		// ends the userinfo; the user part may hold ';' (RFC 4475 "semiuri").
		if (at != std::string_view::npos) {
			if (at < colon)
				return false;
			// user [":" password]
			const size_t ui = colon + 1;
			u.user = scan::sub(raw, ui, std::min(k.colon2, at) - ui);
			if (u.user.empty() || u.user.size() > kMaxTokenBytes)
				return false;
			rest = scan::sub(raw, at + 1);
		}
		// '?' in the user part is legal (user-unreserved, RFC 4475 "intmeth");
		// after the host it starts URI headers.
		if (site == UriSite::RequestLine && question != std::string_view::npos
		    && (at == std::string_view::npos || question > at))
			return false;
		Cur c{rest.data(), rest.data() + rest.size(), lim};
		if (!parse_hostport(c, u.host, u.port, false))
			return false;
		return c.end() || *c.p == ';' || *c.p == '?';
	}
	if (scan::ieq<"tel">(u.scheme)) {
		u.user = scan::sub(rest, 0, rest.find(';'));
		return !u.user.empty() && u.user.size() <= kMaxTokenBytes;
	}
	// absoluteURI of another scheme (e.g. urn:, http:): opaque.
	return !rest.empty();
}

// Fills `u` from `raw` as written at `site`: the usual form by the
// shortcut, anything else (and anything invalid) by the general path.
bool parse_uri(std::string_view raw, Uri& u, UriSite site, const char* lim)
{
	return parse_common_sip_uri(raw, u, site, lim) || parse_uri_general(raw, u, site, lim);
}

} // namespace

} // namespace sipguard::sip
