// SPDX-License-Identifier: GPL-2.0-or-later
// Zero-copy SIP parser: start line, header fields (long and compact forms,
// folding, comma lists, quoted strings), framing by Content-Length, and the
// not-SIP classification (keep-alive, STUN, HTTP, junk).
#include "agent/sip/parser.h"

#include <array>
#include <bit>
#include <cstddef>
#include <cstring>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "agent/sip/header_names.h"
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

// A cursor over one header value. The value may span folded lines; CR and LF
// inside it are always followed by SP/HT (the line splitter guarantees that),
// so treating them as LWS is exactly the unfolding of RFC 3261 §7.3.1.
// `lim` is the end of the message buffer: bytes up to it may be read (never
// judged) so that class runs classify 16 bytes at a time (scan::skip_set).
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
	// The longest run of class Cls from p. Letters, digits and the class's
	// most common other members are classified 16 bytes at a time; any other
	// member of the class (e.g. '!' in a token) is stepped over one byte at a
	// time before the vector scan resumes.
	template <uint16_t Cls>
	std::string_view run()
	{
		bool fast_only;
		return run<Cls>(fast_only);
	}
	// Same, and says whether every byte of the run was in the fast subset
	// (letters, digits, '-', '.' for token-like classes): such a run is also
	// a token, with no second scan.
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

// A header value [s, e) without the LWS around it; s <= e and *e, the CR or
// LF that ends the header, may be read: it is never SP, so neither compare
// of *s needs s < e first. Nearly every UA writes one SP after the colon
// and nothing at the end of the line: that is told by two compares,
// anything else goes through trim().
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

// One pass over a URI: checks the character set and %HH escapes (§25.1
// escaped) and notes the delimiters. 16 bytes at a time while the message
// buffer (`lim`) holds a whole block: a mask of the delimiters and one of
// the common URI characters (letters, digits, ". - _ ; =") are built per
// block, and only the few other bytes are looked up in the class table.
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

// A port as parse_port() reads the run of digits at p: 1 to 5 digits
// worth at most 65535. Returns the end of the run, or nullptr for any
// other run (empty, longer, larger). `lim` (>= e) is the end of readable
// memory: with 8 bytes readable, the run is found and converted in one
// 64-bit word (digit test, then three multiplies, each joining pairs of
// digit groups), else digit by digit.
[[gnu::always_inline]] inline const char* common_port(const char* p, const char* e, const char* lim, uint16_t& port)
{
	const char* const s = p;
	uint32_t v = 0;
	if (lim - p >= 8) [[likely]] {
		// Little-endian: the first byte is the lowest. Each byte minus '0'
		// is a digit when below 10: adding 0x76 sets its top bit otherwise
		// (a byte's carry can only disturb the bytes after a non-digit).
		const uint64_t t = scan::load8(p) ^ 0x3030303030303030u;
		const uint64_t non_digit = ((t + 0x7676767676767676u) | t) & 0x8080808080808080u;
		ptrdiff_t n = non_digit ? std::countr_zero(non_digit) / 8 : 8;
		if (n > e - p)
			n = e - p;
		if (n == 0 || n > 5)
			return nullptr;
		// The n digits (each 0-9 after the xor) into the top bytes, the bytes
		// after the run shifted out and zero digits below: then bytes,
		// pairs and quads are each joined by one multiply.
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

// What the usual SIP URI holds before its parameters.
struct CommonUriHead {
	std::string_view user;
	std::string_view host;
	uint16_t port = 0;
};

// The usual SIP URI's "sip:" [user "@"] host [":" port] at d, user and host
// made of letters, digits, '-', '.' and '_' (no escapes, no IPv6, no
// password): read up to the first other byte, whose position it returns
// (e when none); nullptr when the bytes before it are not that form. One
// classification of the 32 bytes after "sip:" (two class runs where fewer
// are readable) and a port instead of the general scan, which costs about
// three times as much. What follows is the caller's to judge, so a URI
// whose end is not known yet (in a name-addr, an addr-spec) is read
// without a search for its end first.
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
		// The first two stops of the 32 bytes after "sip:" are the user's
		// end and the host's (skip_set's result, bounded by e the same way);
		// a run past them goes on by skip_set from there.
		uint32_t stops = scan::stops32<true, '-', '.', '_'>(s);
		p = stops ? s + std::countr_zero(stops) : scan::skip_set<true, '-', '.', '_'>(s + 32, e, lim);
		if (p < e && *p == '@') {
			h.user = {s, static_cast<size_t>(p - s)};
			if (h.user.empty() || h.user.size() > kMaxTokenBytes)
				return nullptr;
			hs = p + 1;
			// The host's bytes before s + 32 hold no stop; a user that ran
			// past them leaves the host to skip_set alone.
			stops &= stops - 1;
			p = stops ? s + std::countr_zero(stops) : scan::skip_set<true, '-', '.', '_'>(std::max(hs, s + 32), e, lim);
		}
		if (p > e)
			p = e;
	} else
#endif
	{
		// The same two runs by skip_set alone. One path for both, with the
		// run's end in a lambda, measured 1.5-5.5% fewer messages/s
		// (alternating runs of the parse bench), so the near-copy stays.
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

// The parameters after a usual URI head, [p, e) with *p == ';': the
// general scan's character and escape checks, and its rules for '?' at
// each site. An '@' there with no user before the host would make the
// general path read everything before it as the user: left to it.
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

// The usual SIP URI: the head above, then nothing or ";" params. Returns
// false for anything else, and the caller then takes the general path;
// for every URI it accepts, the general path gives the same Uri and the
// same verdict (checked by uri_shortcut_agrees() in the tests and the
// fuzzer).
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

// Fills `u` from `raw` (§19.1.1, §25.1 SIP-URI; other schemes keep only the
// scheme and the user part of tel:), as written at `site`, without the
// shortcut for the usual form.
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

// The usual SIP URI as an addr-spec (no display name, no brackets): the
// URI ends at the first ';', ',' or LWS, which start header parameters or
// the next value. Bytes other than those and the usual URI ones: false.
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

// The usual name-addr: an optional quoted display name without escapes, at
// most one SP, then "<" and a usual SIP URI (parse_common_sip_uri) and ">";
// or the usual SIP URI alone as an addr-spec.
// Reads it without the general path's LWS skips and display-name scan and
// with the URI shortcut inlined; returns false, `c` and `na` untouched,
// for anything else. What it accepts, the general path reads the same way
// (checked by name_addr_shortcut_agrees() in the tests and the fuzzer).
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
	// The URI ends at the first '>': right after its head, or after its
	// parameters.
	const char* const us = p + 1;
	CommonUriHead h;
	const char* gt = common_uri_head(us, e, c.lim, h);
	if (!gt || gt >= e)
		return false;
	if (*gt != '>') {
		// Searched up to the end of the buffer, not of the value: 32 bytes a
		// step where the value's last few bytes would otherwise be compared
		// one by one. A '>' past the value is no end (the parameter check
		// would reject the line break before it anyway). At most three
		// values a message are read here: From, To, the first Contact.
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
		// display-name = *(token LWS), and a '<' next means name-addr (RFC
		// 4475 "lwsdisp": no LWS before '<' is fine). Like most proxies we
		// accept any text before the '<' (real phones send `\"arik\" <sip:..>`,
		// seen in the suricata-verify captures): the display name is never
		// security-relevant, and rejecting it would make a working phone look
		// like a fuzzer. A ';' or ',' first means an addr-spec with parameters.
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
	// addr-spec without brackets ends at the first ';' (those are header
	// parameters), ',' or LWS. Such a URI MUST NOT hold ',', '?' or ';'
	// (§20: else it needs brackets; RFC 4475 "regbadct").
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

// One Via value written the usual way: "SIP/2.0/" transport, one SP, host
// (no IPv6 reference) [":" port], then parameters ";name[=value]" without
// LWS or quotes, names and values of letters, digits, '-', '.' and '_';
// branch, received and rport are read as the general path reads them and
// other names are ignored as it ignores them. On success `v` holds the
// value and `c` stands at its ',' or the end; for anything else it returns
// false, `c` untouched and `v` partly written (the caller resets it), and
// the general path reads the value, so every error is the general path's.
// Checked against it by via_shortcut_agrees() in the tests and the fuzzer.
[[gnu::always_inline]] inline bool parse_common_via(Cur& c, Via& v)
{
	const char* p = c.p;
	const char* const e = c.e;
	if (e - p < 12 || !scan::ieq<"sip/2.0/">(p))
		return false;
	// The general path reads the transport as a token and the host as a run
	// of kHost, which is exactly letters, digits, '-', '.' and '_': a run of
	// these ended by SP (not a token character) is the same token. The
	// usual transports (RFC 3261 §18, "TLS" for sips) by one word compare.
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
	// Every run below stops before ';' and ',' (neither is a parameter
	// character): a parameter ending in anything else ends the loop and
	// the value is declined.
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
			// Any other parameter (";alias", ";i=..."). One of the three
			// names written another way (";branch" without a value,
			// ";received=" at the end) is the general path's to judge.
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

// One via-parm (§20.42: sent-protocol LWS sent-by *( SEMI via-params ))
// in any form, into `v`, which it resets first. Leaves `c` at the ','
// ending the value or at the end.
Malformation parse_via_value_general(Cur& c, Via& v)
{
	v = Via{};
	// sent-protocol: nearly always "SIP/2.0/" without LWS, checked as one
	// word; anything else takes the general path.
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
		// The parameters nearly every Via carries, written without LWS
		// and with an unquoted value: ";branch=", ";received=",
		// ";rport=" matched as one word, a bare ";rport" as another.
		// Anything else (other names, LWS, quotes) takes the general
		// path below, which gives the same result for these.
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

// Via (§20.42): 1#( sent-protocol LWS sent-by *( SEMI via-params ) ).
// Each value is read by the shortcut for the usual form when it can be
// (UseShortcut false, for via_shortcut_agrees(), reads all by the general path).
template <bool UseShortcut>
Malformation parse_via_values(Cur c, Message& m)
{
	for (;;) {
		c.skip_lws();
		// Parse straight into the next slot; past kMaxVia only count, the
		// value read into a per-thread scratch Via (a local one would be
		// zeroed on every call for the rare message that needs it).
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
		case AuthParam::Nonce: cred->has_nonce = true; break;
		case AuthParam::Uri: cred->uri = value; break;
		case AuthParam::Response: cred->has_response = true; break;
		default: break;
		}
	} else {
		switch (which) {
		case AuthParam::Realm: chal->realm = value; break;
		case AuthParam::Nonce: chal->has_nonce = true; break;
		case AuthParam::Qop: chal->qop = value; break;
		default: break;
		}
	}
	return Malformation::None;
}

// The usual auth-param names of RFC 2617 §3.2.1 and §3.2.2 written with
// their '=' at p (`left` bytes readable, at least one): the length of
// name and '=' and which param it is, or 0. A token run from p stops at
// that '=' (not a token character), so the general loop reads the same
// name; one word compare each instead of a class run.
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

// The DQUOTE closing a quoted-string whose content starts at p, when no
// '\' comes before it; nullptr when there is none or a '\' comes first
// (quoted() judges those). One search for both bytes, reading up to the
// end of the message buffer: a search bounded by e would end a header's
// last value byte by byte.
[[gnu::always_inline]] inline const char* plain_quote_end(const char* p, const char* e, const char* lim)
{
	const char* const f = scan::find2_in(p, e, lim, '"', '\\');
	return f && *f == '"' ? f : nullptr;
}

// Where the general loop's unquoted auth-param value from p ends: at the
// first ',' or byte up to SP (LWS and control bytes), or at e. Searched
// like plain_quote_end().
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

// auth-params written the usual way: name=value or name="value" with
// nothing around the '=', a quoted value without '\', an unquoted one
// ended by ',' or the end, and ',' or ", " between them. Reads them in
// order from `c` (at the first param) as the general loop would, and stops
// before the first one written otherwise, leaving `c` and `first` as the
// general loop has them after the last param read (at its ',' or the end):
// every other form and every syntax error is the general loop's. Taken
// only when the whole header value is within kMaxUriBytes, so no value can
// exceed the general loop's bound on each. Checked against the general
// loop alone by auth_shortcut_agrees() in the tests and the fuzzer.
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

// The auth scheme "Digest " (RFC 3261 §22.4, RFC 2617 §3.2.1), as nearly
// every header writes it: one word compare instead of a token run. The
// scheme is what the run would read (SP ends a token); `c` is left after
// the SP.
[[gnu::always_inline]] inline bool common_auth_scheme(Cur& c, std::string_view& scheme)
{
	if (c.e - c.p < 7 || !scan::ieq<"digest ">(c.p))
		return false;
	scheme = {c.p, 6};
	c.p += 7;
	return true;
}

// Authorization / Proxy-Authorization (§22.4, §25.1 credentials) or a
// challenge (§20.27, §20.44): scheme LWS auth-param *(COMMA auth-param).
// The usual scheme and params are read by the shortcuts above, the rest by
// the general loop (UseShortcut false, for auth_shortcut_agrees(): all of it).
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

// Sets out's error and returns; keeps the call sites short.
inline void fail(Message& m, Malformation err, std::string_view detail)
{
	m.error = err;
	m.error_detail = detail;
}

// STUN (RFC 5389 §6): first two bits zero, magic cookie 0x2112A442 at offset
// 4; classic STUN (RFC 3489) has no cookie but a 20-byte header whose length
// field covers the rest of the datagram.
bool looks_like_stun(std::string_view d)
{
	if (d.size() < 20)
		return false;
	const auto* b = reinterpret_cast<const unsigned char*>(d.data());
	if ((b[0] & 0xC0) != 0)
		return false;
	if (b[4] == 0x21 && b[5] == 0x12 && b[6] == 0xA4 && b[7] == 0x42)
		return true;
	const size_t len = (static_cast<size_t>(b[2]) << 8) | b[3];
	return b[0] <= 0x01 && len + 20 == d.size() && (len % 4) == 0;
}

bool is_blank_keepalive(std::string_view d)
{
	if (d.size() > 32)
		return false;
	for (char c : d)
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\0')
			return false;
	return true;
}

bool all_text(std::string_view s)
{
	for (char ch : s)
		if (!is(ch, kText))
			return false;
	return true;
}

// Classifies the first line and parses the request or status line.
// Returns false when the message is finished (not SIP or a fatal error).
// Inlined by force: called once, but parse_impl() is near GCC's growth
// limit for inlining, and past it this call alone costs ~50 instructions
// a message.
[[gnu::always_inline]] inline bool parse_start_line(std::string_view line, Message& m, const char* lim)
{
	if (istarts<"sip/">(line)) {
		m.kind = Kind::Response;
		// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2);
		// "SIP" is case-insensitive (RFC 5234 string literal), 2.0 is exact.
		if (line.size() < 7 || scan::sub(line, 3, 4) != "/2.0" || (line.size() > 7 && line[7] != ' ')) {
			fail(m, Malformation::BadVersion, "Status-Line");
			return false;
		}
		if (line.size() < 11 || !is(line[8], kDigit) || !is(line[9], kDigit) || !is(line[10], kDigit)
		    || (line.size() > 11 && line[11] != ' ')) {
			fail(m, Malformation::BadStatusCode, "Status-Line");
			return false;
		}
		m.status = static_cast<uint16_t>((line[8] - '0') * 100 + (line[9] - '0') * 10 + (line[10] - '0'));
		if (m.status < 100 || m.status > 699) {
			fail(m, Malformation::BadStatusCode, "Status-Line");
			return false;
		}
		// Reason-Phrase may be empty (RFC 4475 "noreason") and hold UTF-8
		// (RFC 4475 "unreason"); control characters other than HT are not text.
		m.reason = line.size() > 12 ? scan::sub(line, 12) : std::string_view{};
		for (char ch : m.reason)
			if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t') {
				fail(m, Malformation::BadStartLine, "Reason-Phrase");
				return false;
			}
		return true;
	}
	if (istarts<"http/">(line)) {
		m.not_sip = NotSipKind::Http;
		return false;
	}
	// The line nearly always ends in " SIP/2.0" (which holds no other SP):
	// one word compare instead of a backward search.
	const size_t last_sp = line.size() > 8 && scan::ieq<" sip/2.0">(line.data() + line.size() - 8)
	                           ? line.size() - 8
	                           : line.rfind(' ');
	const std::string_view last_word = last_sp == std::string_view::npos ? std::string_view{} : scan::sub(line, last_sp + 1);
	if (istarts<"http/">(last_word)) {
		// "GET / HTTP/1.1", "M-SEARCH * HTTP/1.1" (SSDP), "NOTIFY * HTTP/1.1".
		m.not_sip = NotSipKind::Http;
		return false;
	}
	const bool sip_version = istarts<"sip/">(last_word);
	Cur mc{line.data(), line.data() + line.size(), lim};
	const size_t mlen = mc.run<kToken>().size();
	const bool token_sp = mlen > 0 && mlen < line.size() && line[mlen] == ' ';
	if (!sip_version && (!token_sp || !all_text(line))) {
		m.not_sip = all_text(line) ? NotSipKind::Text : NotSipKind::Binary;
		return false;
	}
	m.kind = Kind::Request;
	if (!token_sp) {
		fail(m, Malformation::BadMethod, "Request-Line");
		return false;
	}
	if (mlen > kMaxTokenBytes) {
		fail(m, Malformation::OversizedField, "Method");
		return false;
	}
	m.method_token = scan::sub(line, 0, mlen);
	m.method = method_from_token(m.method_token);
	// Request-Line = Method SP Request-URI SP SIP-Version CRLF (§7.1): exactly
	// one SP each, nothing after the version (RFC 4475 "lwsstart", "trws").
	if (is(line.back(), kLws)) {
		fail(m, Malformation::BadStartLine, "Request-Line");
		return false;
	}
	if (!sip_version) {
		fail(m, Malformation::BadStartLine, "Request-Line");
		return false;
	}
	if (last_word.size() != 7 || scan::sub(last_word, 3) != "/2.0") {
		fail(m, Malformation::BadVersion, "Request-Line");
		return false;
	}
	if (last_sp <= mlen) {
		fail(m, Malformation::BadStartLine, "Request-Line");
		return false;
	}
	std::string_view ruri = scan::sub(line, mlen + 1, last_sp - mlen - 1);
	if (ruri.size() > kMaxUriBytes) {
		fail(m, Malformation::OversizedField, "Request-URI");
		return false;
	}
	// LWS inside, "<...>" or headers make an invalid Request-URI (RFC 4475
	// "lwsruri", "ltgtruri", "escruri").
	if (!parse_uri(ruri, m.ruri, UriSite::RequestLine, lim)) {
		fail(m, Malformation::BadRequestUri, "Request-URI");
		return false;
	}
	return true;
}

// The n bytes at a equal those at b, where `lim` ends the readable memory
// at a and b lies before a in the same buffer: up to 8 bytes by one masked
// word compare, longer ones by memcmp.
[[gnu::always_inline]] inline bool same_bytes(const char* a, const char* b, size_t n, const char* lim)
{
	if (n <= 8 && lim - a >= 8) {
		const uint64_t mask = n == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * n)) - 1;
		return ((scan::load8(a) ^ scan::load8(b)) & mask) == 0;
	}
	return std::memcmp(a, b, n) == 0;
}

// One header field. `value` is trimmed, may span folded lines.
void parse_header(HeaderId id, std::string_view value, Message& m, uint32_t& seen, const char* lim)
{
	Cur c{value.data(), value.data() + value.size(), lim};
	auto once = [&](uint32_t bit) {
		if (seen & bit) {
			fail(m, Malformation::DuplicateHeader, header_name(id));
			return false;
		}
		seen |= bit;
		return true;
	};
	switch (id) {
	case HeaderId::Via: {
		const Malformation e = parse_via(c, m);
		if (e != Malformation::None)
			fail(m, e, "Via");
		break;
	}
	case HeaderId::From:
	case HeaderId::To: {
		if (!once(id == HeaderId::From ? 1u : 2u))
			return;
		NameAddr& na = id == HeaderId::From ? m.from : m.to;
		Malformation err = Malformation::BadFromTo;
		if (!parse_name_addr(c, na, err) || !c.end())
			fail(m, err, header_name(id));
		else if (na.tag.size() > kMaxTokenBytes)
			fail(m, Malformation::OversizedField, header_name(id));
		break;
	}
	case HeaderId::CallId: {
		if (!once(4))
			return;
		// callid = word [ "@" word ] (§25.1); '@' is itself a word character
		// in practice, so: one non-empty run of word characters and '@'.
		if (value.size() > kMaxCallIdBytes) {
			fail(m, Malformation::OversizedField, "Call-ID");
			return;
		}
		if (c.run<kCallId>().size() != value.size() || value.empty()) {
			fail(m, Malformation::BadHeaderSyntax, "Call-ID");
			return;
		}
		m.call_id = value;
		break;
	}
	case HeaderId::CSeq: {
		if (!once(8))
			return;
		// CSeq = 1*DIGIT LWS Method; the number is below 2^31 (§8.1.1.5,
		// RFC 4475 "scalar02").
		// Digit by digit (a CSeq number is a few digits, fewer than a class
		// run's set-up); more than 10 digits is over the bound anyway.
		uint64_t n = 0;
		const char* const digits = c.p;
		for (; c.p < c.e && c.p - digits <= 10; ++c.p) {
			const unsigned d = static_cast<unsigned>(static_cast<unsigned char>(*c.p)) - '0';
			if (d > 9)
				break;
			n = n * 10 + d;
		}
		if (c.p == digits || c.p - digits > 10 || n > 0x7fffffffu) {
			fail(m, Malformation::BadCSeq, "CSeq");
			return;
		}
		// The usual request CSeq: one SP, then the request's own method
		// (§8.1.1.5), whose token the start line has checked (a token of
		// at most kMaxTokenBytes): the same bytes need no token run and no
		// method lookup, and give what the general reading below gives.
		const std::string_view rm = m.method_token;
		if (m.kind == Kind::Request && c.p < c.e && *c.p == ' ' && static_cast<size_t>(c.e - c.p - 1) == rm.size()
		    && same_bytes(c.p + 1, rm.data(), rm.size(), c.lim)) {
			m.cseq = static_cast<uint32_t>(n);
			m.cseq_method_token = {c.p + 1, rm.size()};
			m.cseq_method = m.method;
			break;
		}
		const char* before = c.p;
		c.skip_lws();
		std::string_view method = c.run<kToken>();
		if (c.p == before || method.empty() || !c.end() || method.size() > kMaxTokenBytes) {
			fail(m, Malformation::BadCSeq, "CSeq");
			return;
		}
		m.cseq = static_cast<uint32_t>(n);
		m.cseq_method_token = method;
		m.cseq_method = method_from_token(method);
		break;
	}
	case HeaderId::Contact: {
		if (!m.contact.uri.raw.empty() || m.contact_star)
			return; // the first Contact value is what consumers use
		if (value == "*") {
			m.contact_star = true;
			return;
		}
		Malformation err = Malformation::BadContact;
		if (!parse_name_addr(c, m.contact, err))
			fail(m, err, "Contact");
		break;
	}
	case HeaderId::ContentLength: {
		if (!once(16))
			return;
		uint64_t n = 0;
		// Not a number (RFC 4475 "ncl": -999) or more than a message can hold.
		if (!parse_uint(value, kMaxMessageBytes, n)) {
			fail(m, Malformation::BadContentLength, "Content-Length");
			return;
		}
		m.content_length = static_cast<int64_t>(n);
		break;
	}
	case HeaderId::ContentType: {
		// "application/sdp", as nearly every message with a body writes it,
		// by one word compare: when no token character follows, the
		// general reading below keeps the same view.
		if (value.size() >= 15 && scan::ieq<"application/sdp">(value.data())
		    && (value.size() == 15 || !is(value[15], kToken))) {
			m.content_type = scan::sub(value, 0, 15);
			break;
		}
		// media-type = m-type SLASH m-subtype *(SEMI m-parameter) (§20.15).
		const std::string_view type = c.run<kToken>();
		if (type.empty() || !c.eat_sep('/')) {
			fail(m, Malformation::BadHeaderSyntax, "Content-Type");
			return;
		}
		const std::string_view subtype = c.run<kToken>();
		if (subtype.empty()) {
			fail(m, Malformation::BadHeaderSyntax, "Content-Type");
			return;
		}
		// "application / sdp" is legal but not matched by has_sdp(): only a
		// type written without LWS around the '/' is kept.
		const size_t span = static_cast<size_t>(c.p - type.data());
		if (span == type.size() + 1 + subtype.size())
			m.content_type = {type.data(), span};
		break;
	}
	case HeaderId::UserAgent:
		if (m.kind == Kind::Request && m.user_agent.empty())
			m.user_agent = value;
		break;
	case HeaderId::Server:
		if (m.kind == Kind::Response && m.user_agent.empty())
			m.user_agent = value;
		break;
	case HeaderId::Authorization:
	case HeaderId::ProxyAuthorization: {
		Credentials& cr = id == HeaderId::Authorization ? m.authorization : m.proxy_authorization;
		if (cr.present)
			return; // first credentials only (one per realm is legal)
		const Malformation e = parse_auth(c, &cr, nullptr);
		if (e != Malformation::None)
			fail(m, e, header_name(id));
		break;
	}
	case HeaderId::WwwAuthenticate:
	case HeaderId::ProxyAuthenticate: {
		Challenge& ch = id == HeaderId::WwwAuthenticate ? m.www_authenticate : m.proxy_authenticate;
		if (ch.present)
			return;
		const Malformation e = parse_auth(c, nullptr, &ch);
		if (e != Malformation::None)
			fail(m, e, header_name(id));
		break;
	}
	case HeaderId::Event: {
		// Event = event-type *( SEMI event-param ) (RFC 6665 §8.4).
		std::string_view type = c.run<kToken>();
		if (type.empty() || type.size() > kMaxTokenBytes) {
			fail(m, type.empty() ? Malformation::BadHeaderSyntax : Malformation::OversizedField, "Event");
			return;
		}
		m.event = type;
		if (c.eat_sep(';'))
			m.event_params = trim(c.rest());
		else if (!trim(c.rest()).empty())
			fail(m, Malformation::BadHeaderSyntax, "Event");
		break;
	}
	case HeaderId::MaxForwards: {
		uint64_t n = 0;
		// 0..255 (§20.22; RFC 4475 "scalar02" style overflow).
		if (!parse_uint(value, 255, n)) {
			fail(m, Malformation::BadNumber, "Max-Forwards");
			return;
		}
		m.max_forwards = static_cast<int32_t>(n);
		break;
	}
	case HeaderId::Expires: {
		uint64_t n = 0;
		// delta-seconds up to 2^32-1 (§20.19, §25.1; RFC 4475 "scalar02").
		if (!parse_uint(value, 0xffffffffu, n)) {
			fail(m, Malformation::BadNumber, "Expires");
			return;
		}
		m.expires = static_cast<int64_t>(n);
		break;
	}
	default:
		break;
	}
}

// Finds the end of the header block in a stream: the offset just past the
// empty line, or npos when it is not buffered yet.
size_t find_head_end(std::string_view d)
{
	size_t pos = 0;
	for (;;) {
		const void* nl = std::memchr(d.data() + pos, '\n', d.size() - pos);
		if (!nl)
			return std::string_view::npos;
		pos = static_cast<size_t>(static_cast<const char*>(nl) - d.data()) + 1;
		if (pos < d.size() && d[pos] == '\n')
			return pos + 1;
		if (pos + 1 < d.size() && d[pos] == '\r' && d[pos + 1] == '\n')
			return pos + 2;
	}
}

// Stream only: after a malformed message whose header block is complete,
// finds its Content-Length so the framer can skip exactly that message and
// stay in sync. Returns 0 when the length cannot be known.
size_t resync_length(std::string_view data)
{
	size_t start = 0;
	while (start < data.size() && (data[start] == '\r' || data[start] == '\n'))
		++start;
	const size_t head = find_head_end(scan::sub(data, start));
	if (head == std::string_view::npos)
		return 0;
	const std::string_view block = scan::sub(data, start, head);
	int64_t cl = -1;
	size_t pos = 0;
	while (pos < block.size()) {
		size_t e = block.find('\n', pos);
		if (e == std::string_view::npos)
			e = block.size();
		std::string_view line = scan::sub(block, pos, e - pos);
		pos = e + 1;
		Cur c{line.data(), line.data() + line.size(), data.data() + data.size()};
		const std::string_view name = c.run<kToken>();
		if (name.empty() || lookup_header(name) != HeaderId::ContentLength || !c.eat_sep(':'))
			continue;
		uint64_t n = 0;
		if (cl >= 0 || !parse_uint(trim(c.rest()), kMaxMessageBytes, n))
			return 0; // duplicate or bad Content-Length: framing is unknowable
		cl = static_cast<int64_t>(n);
	}
	if (cl < 0)
		return 0;
	return start + head + static_cast<size_t>(cl);
}

// The message's line ends, found 64 bytes at a time as the header loop
// advances: one bit per LF of a 64-byte window (4 SSE2 compares), each line
// end then a tzcnt and a clear of the lowest bit, instead of a search per
// line. Windows are read only when the loop reaches them, so a body after
// the header block costs at most the rest of the block's last window.
//
// Most lines are fast: the header loop takes them from a Cursor it keeps in
// registers and checks neither their length, nor for a NUL, nor the header
// count (see fast()). Any other line is found by next(), out of line, and
// its caller does those checks. A NUL is never legal in the header block
// (§25.1) but any byte may be in a body: each window read is checked for a
// NUL (one compare of its four blocks' minimum); fast() leaves a window
// with one to next(), which finds the first. Windows are read in order and
// every byte before a returned LF is in a window already read, so nul() is
// the buffer's first NUL from begin_headers() on wherever it lies before
// that LF.
class LineEnds {
public:
	// A window and its fast LFs not yet taken.
	struct Cursor {
		const char* win;
		uint64_t bits;
	};
	struct Next {
		const char* lf; // nullptr: none before the limit
		Cursor cur;
	};

	// [base, end) may be read.
	LineEnds(const char* base, const char* end) : base_(base), end_(end), nul_(end), nul_from_(end) {}

	// The line at hs, starting after the last LF taken, is fast: its LF is
	// in the cursor's window or in one of the next ones, and is taken by
	// take(). `headers` are complete. When false, the line is taken by
	// next(), which sets a new cursor. A fast line
	//  - is at most kMaxHeaderLineBytes long (fast() reads at most that far
	//    past its start);
	//  - holds no NUL (fast windows have none, nor any window before them);
	//  - is followed by at least one byte of the buffer (an LF at the
	//    buffer's last byte is never fast);
	//  - cannot take the header count past its limit: a fast window is read
	//    when at most kMaxHeaderCount - 64 headers are complete (none after
	//    a NUL is seen), and at most 64 lines end in it.
	[[gnu::always_inline]] bool fast(Cursor& cur, const char* hs, size_t headers) const
	{
		if (cur.bits != 0) [[likely]]
			return true;
#if defined(__SSE2__)
		if (static_cast<ptrdiff_t>(headers) > fast_headers_)
			return false;
		// The next windows, while each has no NUL and the line is not too
		// long. The last one is read from the buffer's last 64 bytes,
		// shifted (nothing outside the buffer is read), and an LF at its
		// last byte is left to next().
		for (;;) {
			const ptrdiff_t left = end_ - cur.win - 64; // from the next window on
			const char* const w = cur.win + 64;
			uint64_t m;
			if (left > 64) [[likely]] {
				if (!lf_bits_no_nul(w, m)) [[unlikely]]
					return false;
			} else {
				if (left <= 0 || !lf_bits_no_nul(end_ - 64, m)) // >= base_: cur.win is in the buffer
					return false;
				m = (m & ~(uint64_t{1} << 63)) >> (w - (end_ - 64));
			}
			cur = {w, m};
			if (m != 0) [[likely]]
				return true;
			if (w - hs > static_cast<ptrdiff_t>(kMaxHeaderLineBytes - 128))
				return false;
		}
#else
		(void)hs;
		(void)headers;
		return false;
#endif
	}

	[[gnu::always_inline]] static const char* take(Cursor& cur)
	{
		const char* const lf = cur.win + std::countr_zero(cur.bits);
		cur.bits &= cur.bits - 1;
		return lf;
	}

	// The first LF at or after `from`, found in the 64 bytes from there,
	// which end before the buffer does and hold no NUL, and a cursor with the
	// fast LFs after it; else false, and next() finds it. For the start
	// line, whose LF is nearly always in its first 64 bytes: the same window
	// then serves the first header lines.
	[[gnu::always_inline]] bool first_in_window(const char* from, Next& out) const
	{
#if defined(__SSE2__)
		uint64_t m;
		if (end_ - from <= 64 || !lf_bits_no_nul(from, m) || m == 0)
			return false;
		out = {from + std::countr_zero(m), {from, m & (m - 1)}};
		return true;
#else
		(void)from;
		(void)out;
		return false;
#endif
	}

	// The first LF at or after `from` and before `limit` (<= the buffer's
	// end), and a cursor with the fast LFs after it; `headers` are
	// complete.
	[[gnu::noinline]] Next next(const char* from, const char* limit, size_t headers)
	{
		for (const char* w = from; w < limit; w += 64) {
			const Bits b = window(w);
			if (b.nul) [[unlikely]] {
				saw_nul_ = true;
				if (nul_ == end_)
					nul_ = first_nul(w, b.nul, nul_from_, end_);
			}
			if (b.lf == 0)
				continue;
			const char* const lf = w + std::countr_zero(b.lf);
			if (lf >= limit)
				break;
			// The LFs after it in the window are fast when allowed, except
			// one at the buffer's last byte.
			uint64_t rest = b.lf & (b.lf - 1);
			if (headers > kMaxHeaderCount - 64 || nul_ != end_) {
				fast_headers_ = -1; // for good: the count only grows, a NUL stays
				rest = 0;
			} else if (end_ - w <= 64) {
				rest &= ~(uint64_t{1} << (end_ - 1 - w));
			}
			return {lf, {w, rest}};
		}
		return {nullptr, {}};
	}

	// The header block starts at p, just after the start line's LF, which
	// was taken with cursor `cur`: NULs before p (in the start line, which
	// its own parser checks) do not count.
	Cursor begin_headers(Cursor cur, const char* p)
	{
		nul_from_ = p;
		if (saw_nul_) [[unlikely]] {
			nul_ = first_nul(cur.win, window(cur.win).nul, nul_from_, end_);
			if (nul_ != end_) {
				fast_headers_ = -1;
				cur.bits = 0;
			}
		}
		return cur;
	}

	// The first NUL from begin_headers() on in the windows read so far, or
	// the buffer's end.
	const char* nul() const { return nul_; }

private:
	struct Bits {
		uint64_t lf;
		uint64_t nul;
	};

#if defined(__SSE2__)
	[[gnu::always_inline]] static uint64_t lf_bits(__m128i x0, __m128i x1, __m128i x2, __m128i x3)
	{
		const __m128i lf = _mm_set1_epi8('\n');
		return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x0, lf))))
		       | static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x1, lf)))) << 16
		       | static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x2, lf)))) << 32
		       | static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x3, lf)))) << 48;
	}
	// The LF bits of the 64 bytes at w, unless they hold a NUL.
	[[gnu::always_inline]] static bool lf_bits_no_nul(const char* w, uint64_t& m)
	{
		const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w));
		const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 16));
		const __m128i x2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 32));
		const __m128i x3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 48));
		m = lf_bits(x0, x1, x2, x3);
		return !has_zero(x0, x1, x2, x3);
	}
	// Any zero byte: the unsigned minimum of the four blocks has one.
	[[gnu::always_inline]] static bool has_zero(__m128i x0, __m128i x1, __m128i x2, __m128i x3)
	{
		const __m128i lo = _mm_min_epu8(_mm_min_epu8(x0, x1), _mm_min_epu8(x2, x3));
		return _mm_movemask_epi8(_mm_cmpeq_epi8(lo, _mm_setzero_si128())) != 0;
	}
	[[gnu::always_inline]] static uint64_t eq_bits(__m128i x, char c)
	{
		return static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(c))));
	}
#endif

	// LF and NUL bits of the window at w (bits past the buffer's end clear).
	// Near the end the last 64 bytes of the buffer are loaded instead,
	// shifted, so nothing outside it is read (the last 16 bytes, by 16-byte
	// blocks, in a buffer under 64 bytes).
	Bits window(const char* w) const
	{
#if defined(__SSE2__)
		if (end_ - base_ >= 64) {
			const char* const q = end_ - w >= 64 ? w : end_ - 64;
			const __m128i x0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
			const __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16));
			const __m128i x2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 32));
			const __m128i x3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 48));
			Bits b{lf_bits(x0, x1, x2, x3) >> (w - q), 0};
			if (has_zero(x0, x1, x2, x3)) [[unlikely]]
				b.nul = (eq_bits(x0, '\0') | eq_bits(x1, '\0') << 16 | eq_bits(x2, '\0') << 32
				         | eq_bits(x3, '\0') << 48)
				        >> (w - q);
			return b;
		}
#endif
		Bits b{0, 0};
		const ptrdiff_t n = std::min<ptrdiff_t>(64, end_ - w);
#if defined(__SSE2__)
		if (end_ - base_ >= 16) {
			for (ptrdiff_t k = 0; k < n; k += 16) {
				const char* const p = w + k;
				const char* const q = end_ - p >= 16 ? p : end_ - 16;
				const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
				b.lf |= eq_bits(x, '\n') >> (p - q) << k;
				b.nul |= eq_bits(x, '\0') >> (p - q) << k;
			}
			return b;
		}
#endif
		for (ptrdiff_t k = 0; k < n; ++k) {
			b.lf |= static_cast<uint64_t>(w[k] == '\n') << k;
			b.nul |= static_cast<uint64_t>(w[k] == '\0') << k;
		}
		return b;
	}

	// The first NUL of z (the window at w) at or after `from`, or `end`.
	static const char* first_nul(const char* w, uint64_t z, const char* from, const char* end)
	{
		if (from > w) // bits before it dropped; a shift of 64 or more drops all
			z = from - w >= 64 ? 0 : z >> (from - w) << (from - w);
		return z ? w + std::countr_zero(z) : end;
	}

	const char* base_;
	const char* end_;
	ptrdiff_t fast_headers_ = kMaxHeaderCount - 64; // fast() reads windows only up to this many headers
	const char* nul_;
	const char* nul_from_; // no NUL counts before begin_headers()
	bool saw_nul_ = false;
};

void parse_impl(std::string_view data, Transport transport, Message& out);

// Message is trivially copyable and 2 KB, most of it the Via array of which
// only via[0..via_count) is ever read: everything but that array, which is
// its last member, is reset by zeroing it in one run of stores (no copy
// from a template; 32-byte stores where the CPU has AVX2, see
// scan::zero_fixed_wide) and setting the few fields whose default is not
// zero. detail::reset_gives_default() checks the result equals a default
// Message both ways, so a new field with a non-zero default cannot be
// missed. Out of line: inlined, it pushes the header loop past GCC's
// inlining limits (+300 instructions a message).
static_assert(std::is_trivially_copyable_v<Message> && std::is_standard_layout_v<Message>);
constexpr size_t kViaBegin = offsetof(Message, via);
static_assert(kViaBegin + sizeof(Message::via) == sizeof(Message), "via is Message's last member");
[[gnu::noinline]] void reset(Message& out, bool wide_stores)
{
	auto* const d = reinterpret_cast<unsigned char*>(&out);
	if (wide_stores)
		scan::zero_fixed_wide<kViaBegin>(d);
	else
		scan::zero_fixed<kViaBegin>(d);
	out.kind = Kind::NotSip;
	out.max_forwards = -1;
	out.content_length = -1;
	out.expires = -1;
}

} // namespace

void parse(std::string_view data, Transport transport, Message& out)
{
	parse_impl(data, transport, out);
	if (transport == Transport::Datagram) {
		out.length = data.size(); // a datagram is used whole, valid or not
		return;
	}
	if (transport == Transport::Stream && out.error != Malformation::None && !out.incomplete
	    && out.kind != Kind::NotSip && out.length == 0) {
		// Decide at message completion: a malformed message whose header
		// block is still arriving is reported once it is complete, when its
		// Content-Length can say where the next message starts.
		size_t skip = 0;
		while (skip < data.size() && (data[skip] == '\r' || data[skip] == '\n'))
			++skip;
		if (find_head_end(scan::sub(data, skip)) == std::string_view::npos && data.size() < kMaxMessageBytes) {
			out.incomplete = true;
			return;
		}
		const size_t n = resync_length(data);
		if (n > 0 && n <= data.size())
			out.length = n;
	}
}

namespace {

void parse_impl(std::string_view data, Transport transport, Message& out)
{
	reset(out, scan::wide_stores());
	const bool stream = transport == Transport::Stream;
	if (data.empty()) {
		fail(out, Malformation::Empty, "message");
		if (stream)
			out.incomplete = true;
		return;
	}
	if (looks_like_stun(data)) {
		out.not_sip = NotSipKind::Stun;
		out.length = data.size();
		return;
	}
	// CRLFs before the start line are ignored (§7.5); a datagram of nothing
	// but CRLF is a keep-alive (RFC 5626 §3.5.1 "\r\n\r\n" ping, "\r\n" pong).
	size_t start = 0;
	while (start < data.size() && (data[start] == '\r' || data[start] == '\n'))
		++start;
	if (start == data.size()) {
		out.not_sip = NotSipKind::Keepalive;
		out.length = data.size();
		return;
	}
	// Some UAs keep NAT bindings open with a few spaces or NUL bytes instead
	// of CRLF: a short datagram of nothing but blanks is a keep-alive too.
	if (!stream && is_blank_keepalive(data)) {
		out.not_sip = NotSipKind::Keepalive;
		out.length = data.size();
		return;
	}
	if (!stream && data.size() > kMaxMessageBytes) {
		out.length = data.size();
		fail(out, Malformation::OversizedField, "message");
		// Still classify what it claims to be, for the counters.
	}

	const char* const base = data.data();
	const size_t size = data.size();

	// Start line. Its LF is the first line end; the header loop goes on from
	// the window it was found in.
	const size_t line_cap = std::min(size - start, kMaxHeaderLineBytes);
	LineEnds ends(base, base + size);
	LineEnds::Next start_end;
	if (!ends.first_in_window(base + start, start_end)) [[unlikely]]
		start_end = ends.next(base + start, base + start + line_cap, 0);
	const char* const nl = start_end.lf;
	std::string_view line;
	size_t pos = 0;
	if (nl) {
		const size_t e = static_cast<size_t>(nl - base);
		line = scan::sub(data, start, e - start);
		pos = e + 1;
	} else if (stream && size - start < kMaxHeaderLineBytes) {
		// A partial start line: only junk that can never become a SIP start
		// line is judged now, so it is not buffered until overflow.
		line = scan::sub(data, start);
		if (line.back() == '\r')
			line.remove_suffix(1);
		if (istarts<"http/">(line)) {
			out.not_sip = NotSipKind::Http;
			out.length = size;
			return;
		}
		if (!istarts<"sip/">(line) && !all_text(line)) {
			out.not_sip = NotSipKind::Binary;
			out.length = size;
			return;
		}
		out.kind = istarts<"sip/">(line) ? Kind::Response : Kind::Request;
		out.incomplete = true;
		fail(out, Malformation::NoHeaderEnd, "start line");
		return;
	} else {
		line = scan::sub(data, start, line_cap);
		pos = size;
	}
	if (!line.empty() && line.back() == '\r')
		line.remove_suffix(1);
	const Malformation oversized = out.error;
	if (!parse_start_line(line, out, base + size)) {
		if (out.kind == Kind::NotSip)
			out.length = size;
		return;
	}
	if (oversized != Malformation::None) {
		out.error = oversized;
		return;
	}
	if (!nl) {
		fail(out, line_cap < size - start ? Malformation::OversizedField : Malformation::NoHeaderEnd, "start line");
		return;
	}

	// Stream: wait for the whole header block before judging it.
	if (stream) {
		const size_t head_end = find_head_end(scan::sub(data, start));
		if (head_end == std::string_view::npos) {
			out.incomplete = true;
			fail(out, Malformation::NoHeaderEnd, "headers");
			return;
		}
	}

	// A NUL is never legal in the header block (§25.1: no production admits
	// %x00 outside an escaped %00), but a body may hold any byte: each
	// header's end is compared with the first NUL the line ends have seen.
	LineEnds::Cursor cur = ends.begin_headers(start_end.cur, base + pos);

	// Header fields. Each logical header is a line plus its folded
	// continuation lines (lines starting with SP/HT, §7.3.1).
	const char* const end = base + size;
	const char* p = base + pos;
	// The first byte of the line at p, 0 at the end of the buffer: read once,
	// both to tell a folded line from the next header and to start that header.
	unsigned char c = p < end ? static_cast<unsigned char>(*p) : 0;
	uint32_t seen = 0;
	size_t header_count = 0; // kept in a register; out.header_count is set on every exit
	auto stop = [&](Malformation err, std::string_view detail) {
		out.header_count = static_cast<uint16_t>(header_count);
		fail(out, err, detail);
	};
	size_t body_start = std::string_view::npos;
	for (;;) {
		// A header line starts with a name character: one compare sends the
		// rest (the end of the buffer, the empty line, a fold with nothing to
		// continue, control bytes, which the name check rejects) to the
		// checks below.
		if (c <= ' ') [[unlikely]] {
			if (p == end)
				break;
			if (c == '\n') {
				body_start = static_cast<size_t>(p + 1 - base);
				break;
			}
			if (c == '\r' && p + 1 < end && p[1] == '\n') {
				body_start = static_cast<size_t>(p + 2 - base);
				break;
			}
			if (c == ' ' || c == '\t') {
				// A continuation with no header to continue (right after the start line).
				fail(out, Malformation::BadHeaderSyntax, "folded line after start line");
				return;
			}
		}
		const char* const hs = p;
		const char* he = nullptr; // end of the logical header, excluding its final line break
		if (ends.fast(cur, hs, header_count)) [[likely]] {
			// Its length, NUL and the header count need no check (see
			// LineEnds::fast()); lf > hs, a line starting with LF being the
			// empty line, and a byte follows lf.
			const char* const lf = LineEnds::take(cur);
			he = lf[-1] == '\r' ? lf - 1 : lf;
			p = lf + 1;
			c = static_cast<unsigned char>(*p);
		}
		if (!he || (c <= ' ' && (c == ' ' || c == '\t'))) [[unlikely]] {
			// The line unless it was fast, then its continuation lines
			// (§7.3.1), each searched up to the end of the buffer, not of
			// the longest line allowed: the length is checked once the line
			// break is found.
			do {
				const LineEnds::Next n = ends.next(p, end, header_count);
				cur = n.cur;
				if (!n.lf) {
					if (end - p > static_cast<std::ptrdiff_t>(kMaxHeaderLineBytes + 2))
						stop(Malformation::OversizedField, "header line");
					else
						stop(Malformation::NoHeaderEnd, "headers");
					return;
				}
				he = n.lf[-1] == '\r' ? n.lf - 1 : n.lf;
				if (static_cast<size_t>(he - hs) > kMaxHeaderLineBytes) {
					stop(Malformation::OversizedField, "header line");
					return;
				}
				p = n.lf + 1;
				c = p < end ? static_cast<unsigned char>(*p) : 0;
			} while (c == ' ' || c == '\t');
			if (ends.nul() < p) {
				stop(Malformation::NulByte, "headers");
				return;
			}
			if (++header_count > kMaxHeaderCount) {
				stop(Malformation::TooManyHeaders, "headers");
				return;
			}
		} else {
			++header_count;
		}
		// header-name HCOLON value (§7.3.1: LWS allowed before the colon).
		// The first ':' ends the name (a token holds none); a known name
		// matched exactly is a token by construction, any other name is
		// checked character by character.
		size_t name_len = 0;
		HeaderId id = match_header_colon(hs, static_cast<size_t>(he - hs), name_len);
		const char* colon = hs + name_len;
		const char* ne = colon;
		if (id == HeaderId::Other) {
			colon = scan::find(hs, he, ':');
			ne = colon ? colon : hs;
			while (ne > hs && is_lws(ne[-1]))
				--ne;
			if (ne == hs) [[unlikely]] {
				stop(Malformation::BadHeaderSyntax, "header name");
				return;
			}
			id = lookup_header({hs, static_cast<size_t>(ne - hs)});
		}
		if (id != HeaderId::Other) {
			// Known names whose values nothing reads (Allow, Accept, ...)
			// are not even trimmed.
			if (reads_value(id)) {
				parse_header(id, trim_value(colon + 1, he), out, seen, end);
				if (out.error != Malformation::None) {
					out.header_count = static_cast<uint16_t>(header_count);
					return;
				}
			}
		} else {
			Cur t{hs, ne, end};
			if (t.run<kToken>().size() != static_cast<size_t>(ne - hs)) [[unlikely]] {
				stop(Malformation::BadHeaderSyntax, "header name");
				return;
			}
		}
	}
	out.header_count = static_cast<uint16_t>(header_count);
	if (body_start == std::string_view::npos) {
		fail(out, Malformation::NoHeaderEnd, "headers");
		return;
	}

	// Mandatory headers (§8.1.1, §8.2.6.2 responses copy the same five).
	if (out.via_total == 0) {
		fail(out, Malformation::MissingHeader, "Via");
		return;
	}
	if (!(seen & 1u)) {
		fail(out, Malformation::MissingHeader, "From");
		return;
	}
	if (!(seen & 2u)) {
		fail(out, Malformation::MissingHeader, "To");
		return;
	}
	if (!(seen & 4u)) {
		fail(out, Malformation::MissingHeader, "Call-ID");
		return;
	}
	if (!(seen & 8u)) {
		fail(out, Malformation::MissingHeader, "CSeq");
		return;
	}
	// The CSeq method matches the request method, ACK and CANCEL included
	// (their CSeq carries "ACK"/"CANCEL", §17.1.1.3, §9.1). Two known
	// methods match when their enums do (method_from_token is exact); only
	// extension methods need their tokens compared.
	const bool same_method = out.method != Method::Unknown || out.cseq_method != Method::Unknown
	                             ? out.method == out.cseq_method
	                             : out.cseq_method_token == out.method_token;
	if (out.kind == Kind::Request && !same_method) {
		fail(out, Malformation::CSeqMethodMismatch, "CSeq");
		return;
	}

	// Body framing (§18.3, §20.14).
	out.body_offset = body_start;
	const size_t avail = size - body_start;
	if (stream) {
		if (out.content_length < 0) {
			fail(out, Malformation::MissingHeader, "Content-Length");
			return;
		}
		const size_t cl = static_cast<size_t>(out.content_length);
		if (avail < cl) {
			out.incomplete = true;
			out.length = body_start + cl;
			fail(out, Malformation::ContentLengthMismatch, "body");
			return;
		}
		out.body = scan::sub(data, body_start, cl);
		out.length = body_start + cl;
		return;
	}
	out.length = size;
	if (out.content_length < 0) {
		out.body = scan::sub(data, body_start);
		return;
	}
	const size_t cl = static_cast<size_t>(out.content_length);
	if (avail < cl) {
		// The datagram ends before the declared body (RFC 4475 "clerr").
		fail(out, Malformation::ContentLengthMismatch, "Content-Length");
		return;
	}
	out.body = scan::sub(data, body_start, cl);
	out.trailing_bytes = avail - cl;
}

} // namespace

namespace detail {

namespace {

// The same view: the same bytes of the same buffer, not only equal text.
bool eq(std::string_view x, std::string_view y)
{
	return x.data() == y.data() && x.size() == y.size();
}

bool same(const Uri& a, const Uri& b)
{
	return eq(a.raw, b.raw) && eq(a.scheme, b.scheme) && eq(a.user, b.user) && eq(a.host, b.host) && a.port == b.port;
}

} // namespace

bool uri_shortcut_agrees(std::string_view raw, size_t readable_after)
{
	const char* const lim = raw.data() + raw.size() + readable_after;
	for (UriSite site : {UriSite::NameAddr, UriSite::RequestLine, UriSite::AddrSpec}) {
		Uri fast, general;
		if (!parse_common_sip_uri(raw, fast, site, lim))
			continue; // not the usual form: only the general path reads it
		if (!parse_uri_general(raw, general, site, lim) || !same(fast, general))
			return false;
	}
	return true;
}

bool uri_shortcut_accepts(std::string_view raw, size_t readable_after)
{
	Uri u;
	return parse_common_sip_uri(raw, u, UriSite::NameAddr, raw.data() + raw.size() + readable_after);
}

bool name_addr_shortcut_agrees(std::string_view value, size_t readable_after)
{
	const char* const b = value.data();
	const char* const e = b + value.size();
	const char* const lim = e + readable_after;
	NameAddr fast, general;
	Cur f{b, e, lim};
	if (!parse_common_name_addr(f, fast))
		return f.p == b && fast.display.data() == nullptr && fast.uri.raw.data() == nullptr; // declined, untouched
	Cur g{b, e, lim};
	Malformation err = Malformation::None;
	if (!parse_name_addr_general(g, general, err))
		return false;
	return f.p == g.p && eq(fast.display, general.display) && same(fast.uri, general.uri);
}

bool reset_gives_default()
{
	// Static storage: zero-initialised first, so its padding bytes are zero
	// as reset() leaves them.
	static const Message kDefault{};
	// Both ways of zeroing, the wide one where the CPU has it.
	for (bool wide : {false, scan::wide_stores()}) {
		Message m;
		std::memset(static_cast<void*>(&m), 0xa5, sizeof m);
		reset(m, wide);
		if (std::memcmp(&m, &kDefault, kViaBegin) != 0)
			return false;
	}
	return true;
}

bool name_addr_shortcut_accepts(std::string_view value)
{
	NameAddr na;
	Cur c{value.data(), value.data() + value.size(), value.data() + value.size()};
	return parse_common_name_addr(c, na);
}

bool via_shortcut_agrees(std::string_view value)
{
	const char* const b = value.data();
	const char* const e = b + value.size();
	Message fast, general;
	const Malformation ef = parse_via_values<true>(Cur{b, e, e}, fast);
	const Malformation eg = parse_via_values<false>(Cur{b, e, e}, general);
	if (ef != eg || fast.via_count != general.via_count || fast.via_total != general.via_total)
		return false;
	// Every stored value, and the slot an error left partly written.
	for (size_t i = 0; i < kMaxVia && i <= fast.via_count; ++i) {
		const Via& x = fast.via[i];
		const Via& y = general.via[i];
		if (!eq(x.transport, y.transport) || !eq(x.host, y.host) || x.port != y.port || !eq(x.branch, y.branch)
		    || !eq(x.received, y.received) || x.has_rport != y.has_rport || x.rport != y.rport)
			return false;
	}
	return true;
}

bool via_shortcut_accepts(std::string_view value)
{
	const char* const e = value.data() + value.size();
	Cur c{value.data(), e, e};
	for (;;) {
		c.skip_lws();
		Via v;
		if (!parse_common_via(c, v))
			return false;
		if (c.end())
			return true;
		++c.p; // ','
	}
}

bool auth_shortcut_agrees(std::string_view value)
{
	const char* const b = value.data();
	const char* const e = b + value.size();
	Credentials cf, cg;
	if (parse_auth_params<true>(Cur{b, e, e}, &cf, nullptr) != parse_auth_params<false>(Cur{b, e, e}, &cg, nullptr))
		return false;
	if (cf.present != cg.present || !eq(cf.scheme, cg.scheme) || !eq(cf.username, cg.username)
	    || !eq(cf.realm, cg.realm) || !eq(cf.uri, cg.uri) || cf.has_nonce != cg.has_nonce
	    || cf.has_response != cg.has_response)
		return false;
	Challenge hf, hg;
	if (parse_auth_params<true>(Cur{b, e, e}, nullptr, &hf) != parse_auth_params<false>(Cur{b, e, e}, nullptr, &hg))
		return false;
	return hf.present == hg.present && eq(hf.scheme, hg.scheme) && eq(hf.realm, hg.realm)
	       && hf.has_nonce == hg.has_nonce && eq(hf.qop, hg.qop);
}

bool auth_shortcut_accepts(std::string_view value)
{
	const char* const e = value.data() + value.size();
	Cur c{value.data(), e, e};
	c.skip_lws();
	std::string_view scheme;
	if (!common_auth_scheme(c, scheme))
		return false;
	c.skip_lws();
	bool first = true;
	Credentials cr;
	return parse_common_auth_params(c, first, &cr, nullptr) == Malformation::None && c.end();
}

} // namespace detail

void parse(std::string_view data, Transport transport, Message& out, sdp::Session& session)
{
	parse(data, transport, out);
	if (!out.valid() || !out.has_sdp()) {
		session.clear(); // the call tracker passes every message here
		return;
	}
	const sdp::Error e = sdp::parse(out.body, session);
	if (e != sdp::Error::None)
		fail(out, Malformation::BadSdp, sdp::to_string(e));
}

} // namespace sipguard::sip
