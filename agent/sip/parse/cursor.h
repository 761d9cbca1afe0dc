// SPDX-License-Identifier: GPL-2.0-or-later
// A cursor over one header value: LWS, separators, class runs, quoted
// strings and parameter values (RFC 3261 §7.3.1, §25.1; internal to parser.cpp).
#pragma once

#include <cstddef>
#include <string_view>

#include "agent/sip/message.h"
#include "agent/sip/parse/chars.h"
#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace {

// A cursor over one header value [p, e), folded lines included: CR and LF in
// it are always followed by SP/HT, so reading them as LWS unfolds it (RFC
// 3261 §7.3.1). Bytes up to `lim`, the buffer's end, may be read, never judged.
struct Cur {
	const char* p;
	const char* e;
	const char* lim;

	bool end() const { return p >= e; }
	char peek() const { return p < e ? *p : '\0'; }
	void skip_lws()
	{
		while (p < e && is_lws(*p))
			++p;
	}
	bool eat(char c)
	{
		if (p < e && *p == c) {
			++p;
			return true;
		}
		return false;
	}
	// SWS c SWS, e.g. SEMI, COLON, EQUAL, SLASH, COMMA (§25.1).
	bool eat_sep(char c)
	{
		if (p < e && *p == c) { // the common case: no LWS before the separator
			++p;
			skip_lws();
			return true;
		}
		const char* save = p;
		skip_lws();
		if (eat(c)) {
			skip_lws();
			return true;
		}
		p = save;
		return false;
	}
	// The longest run of class Cls from p: its common bytes 16 at a time,
	// the rare ones (e.g. '!' in a token) one by one.
	template <uint16_t Cls>
	std::string_view run()
	{
		bool fast_only;
		return run<Cls>(fast_only);
	}
	// Same, and whether every byte was in the fast subset (for token-like
	// classes letters, digits, '-', '.'): such a run is also a token.
	template <uint16_t Cls>
	std::string_view run(bool& fast_only)
	{
		const char* s = p;
		fast_only = true;
		for (;;) {
			p = skip_fast<Cls>();
			if (p < e && is(*p, Cls)) {
				fast_only = false;
				++p;
				continue;
			}
			return {s, static_cast<size_t>(p - s)};
		}
	}
	std::string_view rest() const { return {p, static_cast<size_t>(e - p)}; }

private:
	template <uint16_t Cls>
	const char* skip_fast() const
	{
		if constexpr (Cls == kDigit)
			return scan::skip_set<false>(p, e, lim);
		else if constexpr (Cls == kToken || Cls == kHost || Cls == kParam)
			// Only token characters: run(fast_only) relies on it.
			return scan::skip_set<true, '-', '.'>(p, e, lim);
		else if constexpr (Cls == kCallId)
			return scan::skip_set<true, '-', '.', '@'>(p, e, lim);
		else if constexpr (Cls == kAddrSpec)
			return scan::skip_set<true, '-', '.', '@', ':'>(p, e, lim);
		else
			return p; // no fast subset: the byte loop in run() does it all
	}
};

[[gnu::always_inline]] inline std::string_view trim(std::string_view v)
{
	while (!v.empty() && is_lws(v.front()))
		v.remove_prefix(1);
	while (!v.empty() && is_lws(v.back()))
		v.remove_suffix(1);
	return v;
}

// A header value [s, e) without the LWS around it. *e (the line's CR or LF,
// never SP) may be read; the usual "Name: value" takes two compares.
[[gnu::always_inline]] inline std::string_view trim_value(const char* s, const char* e)
{
	s += *s == ' ';
	if (static_cast<unsigned char>(*s) > ' ' && static_cast<unsigned char>(e[-1]) > ' ')
		return {s, static_cast<size_t>(e - s)};
	return trim({s, static_cast<size_t>(e - s)});
}

// quoted-string (§25.1): DQUOTE *(qdtext / quoted-pair) DQUOTE. On success the
// view is the content without the quotes, escapes left in place.
enum class QResult { Ok, Unbalanced, Bad };
[[gnu::always_inline]] inline QResult quoted(Cur& c, std::string_view& out)
{
	if (!c.eat('"'))
		return QResult::Bad;
	const char* s = c.p;
	while (c.p < c.e) {
		c.p = scan::find2(c.p, c.e, '"', '\\');
		if (!c.p) {
			c.p = c.e;
			break;
		}
		const char ch = *c.p;
		if (ch == '"') {
			out = {s, static_cast<size_t>(c.p - s)};
			++c.p;
			return QResult::Ok;
		}
		if (ch == '\\') {
			// quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F): not CR or LF.
			if (c.p + 1 >= c.e || c.p[1] == '\r' || c.p[1] == '\n')
				return QResult::Unbalanced;
			c.p += 2;
			continue;
		}
		++c.p;
	}
	return QResult::Unbalanced;
}

// Every NUL in the header field [s, e) is the escaped byte of a quoted-pair
// in a quoted string, the one place §25.1 admits %x00 in a head (RFC 4475
// "intmeth"). Out of line and cold: called only once a NUL has been seen.
[[gnu::cold, gnu::noinline]] bool nuls_quoted(const char* s, const char* e)
{
	bool in_quotes = false;
	for (const char* p = s; p < e; ++p) {
		if (*p == '\0')
			return false;
		if (*p == '"')
			in_quotes = !in_quotes;
		else if (*p == '\\' && in_quotes)
			++p; // the escaped byte, a NUL included
	}
	return true;
}

// generic-param value (§25.1 gen-value = token / host / quoted-string).
[[gnu::always_inline]] inline bool param_value(Cur& c, std::string_view& v, Malformation& err)
{
	if (c.peek() == '"') {
		switch (quoted(c, v)) {
		case QResult::Ok: return true;
		case QResult::Unbalanced: err = Malformation::UnbalancedQuote; return false;
		case QResult::Bad: return false;
		}
	}
	v = c.run<kParam>();
	return !v.empty();
}

} // namespace

} // namespace sipguard::sip
