// SPDX-License-Identifier: GPL-2.0-or-later
// Zero-copy SDP parser: connection addresses, media lines, RTCP ports and
// direction attributes, nothing else (RFC 4566 §5, RFC 3605, RFC 3264 §5.1).
#include "agent/sip/sdp.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "agent/sip/scan.h"
#include "agent/util/enum_names.h"

namespace sipguard::sip::sdp {

namespace {

constexpr auto kDirectionNames = util::enum_names<Direction::Inactive>({
	"sendrecv", "sendonly", "recvonly", "inactive"
}, "unknown");
constexpr auto kErrorNames = util::enum_names<Error::NoConnection>({
	"none", "empty", "bad_line", "bad_connection", "bad_media", "too_many_media", "oversized",
	"no_connection"
}, "unknown");

} // namespace

std::string_view to_string(Direction d) { return kDirectionNames(d); }
std::string_view to_string(Error e) { return kErrorNames(e); }

namespace {

// The body as readable memory. Searches inside it (a line, a field of a
// few to a few tens of bytes) load 16 bytes at a time from anywhere in the
// body, not only from the searched range, so a short field takes one
// vector compare instead of a byte loop; bits outside the range are
// dropped and nothing outside the body is read. Bodies under 16 bytes use
// the byte loops.
struct Body {
	const char* lo;
	const char* hi;

	bool vector() const { return hi - lo >= 16; }

	// The first byte equal to `c` in [p, e), or nullptr; lo <= p, e <= hi.
	const char* find(const char* p, const char* e, char c) const
	{
#if defined(__SSE2__)
		if (vector())
			return find_vec(p, e, Eq{_mm_set1_epi8(c)});
#endif
		return scan::find(p, e, c);
	}

	// The first SP or HTAB in [p, e), or nullptr.
	const char* find_blank(const char* p, const char* e) const
	{
#if defined(__SSE2__)
		if (vector())
			return find_vec(p, e, Blank{});
#endif
		return scan::find2(p, e, ' ', '\t');
	}

	// Bit i set when byte lo[w + i] (i < 64, w + i < hi - lo) is `c`.
	uint64_t mask64(size_t w, char c) const
	{
		const size_t n = static_cast<size_t>(hi - lo);
#if defined(__SSE2__)
		if (vector()) {
			const Eq eq{_mm_set1_epi8(c)};
			if (n - w >= 64)
				return whole16(lo + w, eq) | whole16(lo + w + 16, eq) << 16 | whole16(lo + w + 32, eq) << 32
				       | whole16(lo + w + 48, eq) << 48;
			uint64_t m = 0;
			for (size_t k = 0; k < 64 && w + k < n; k += 16)
				m |= bits16(lo + w + k, eq) << k;
			return m;
		}
#endif
		uint64_t m = 0;
		for (size_t k = 0; k < 64 && w + k < n; ++k)
			m |= static_cast<uint64_t>(lo[w + k] == c) << k;
		return m;
	}

#if defined(__SSE2__)
	struct Eq {
		__m128i v;
		__m128i operator()(__m128i x) const { return _mm_cmpeq_epi8(x, v); }
	};
	struct Blank {
		__m128i operator()(__m128i x) const
		{
			return _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\t')));
		}
	};

	// Bit i set when p[i] matches, for the 16 bytes at p; needs p + 16 <= hi.
	template <typename Match>
	static uint64_t whole16(const char* p, Match match)
	{
		const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
		return static_cast<uint32_t>(_mm_movemask_epi8(match(x)));
	}

	// Same for any p in [lo, hi] (needs vector()), bits at or past hi
	// clear: near the end the block loaded is the body's last 16 bytes,
	// shifted so that bit 0 is still p.
	template <typename Match>
	uint64_t bits16(const char* p, Match match) const
	{
		const char* q = hi - p >= 16 ? p : hi - 16;
		return whole16(q, match) >> (p - q);
	}

	template <typename Match>
	const char* find_vec(const char* p, const char* e, Match match) const
	{
		for (; p < e; p += 16) {
			if (const uint64_t m = bits16(p, match)) {
				const char* r = p + std::countr_zero(m);
				return r < e ? r : nullptr;
			}
		}
		return nullptr;
	}
#endif
};

bool blank(char c) { return c == ' ' || c == '\t'; }

// Splits on single spaces (RFC 4566 §5: fields are separated by one SP; a
// few more are tolerated).
struct Fields {
	const Body& body;
	const char* p; // the rest of the line: [p, e)
	const char* e; // the line's end: its CR or LF, or the body's end

	std::string_view next()
	{
#if defined(__SSE2__)
		// Usually the blanks before the field and the blank after it are
		// in the 16 bytes at p: one classification gives both.
		if (body.vector()) {
			const uint64_t m = body.bits16(p, Body::Blank{});
			const int lead = std::countr_zero(~m); // <= 16: bits 16 and up are 0 in m
			if (const uint64_t after = m >> lead) {
				const char* s = std::min(p + lead, e);
				p = std::min(p + lead + std::countr_zero(after), e);
				return {s, static_cast<size_t>(p - s)};
			}
		}
#endif
		skip_blanks();
		const char* s = p;
		const char* b = body.find_blank(p, e);
		p = b ? b : e;
		return {s, static_cast<size_t>(p - s)};
	}
	void skip_blanks()
	{
		while (p < e && blank(*p))
			++p;
	}
	bool at_end() const { return p == e; }
};

bool parse_u16(std::string_view s, uint16_t& out)
{
	if (s.empty() || s.size() > 5)
		return false;
	uint32_t v = 0;
	for (char c : s) {
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + static_cast<uint32_t>(c - '0');
	}
	if (v > 65535)
		return false;
	out = static_cast<uint16_t>(v);
	return true;
}

bool hostname_chars(std::string_view s)
{
	for (char c : s)
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	return !s.empty();
}

// A decimal digit's value, or > 9 for any other byte.
uint32_t digit(char c) { return static_cast<uint8_t>(c - '0'); }

// A dotted-quad IPv4 address at the start of [p, e), exactly as inet_pton
// reads one (1-3 digits per octet, no leading zero, <= 255): the end of
// the address, or nullptr. Whatever follows it is the caller's to check.
// Each octet's digits are read one by one, not in a loop: the loop's
// counter and bound checks were most of the cost of a c= line. Unbounded,
// p is not compared with e: the caller knows that *e is neither a digit
// nor a '.' (a line's CR or LF), so the reading stops there as it would at
// e.
template <bool Bounded = true>
const char* dotted_quad(const char* p, const char* e, uint32_t& out)
{
	const auto more = [e](const char* q) { return !Bounded || q < e; };
	uint32_t v = 0;
	for (int octet = 0; octet < 4; ++octet) {
		if (octet > 0) {
			if (!more(p) || *p != '.')
				return nullptr;
			++p;
		}
		if (!more(p))
			return nullptr;
		uint32_t o = digit(*p);
		if (o > 9)
			return nullptr;
		++p;
		if (more(p) && digit(*p) <= 9) {
			if (o == 0)
				return nullptr; // leading zero
			o = o * 10 + digit(*p++);
			if (more(p) && digit(*p) <= 9) {
				o = o * 10 + digit(*p++);
				if (o > 255)
					return nullptr;
			}
		}
		v = (v << 8) | o;
	}
	out = v;
	return p;
}

// Dotted-quad IPv4 (what nearly every c= and o= line holds) without the
// libc call. Anything else goes to IpAddress::parse.
bool fast_ipv4(std::string_view a, net::IpAddress& out)
{
	uint32_t v;
	if (dotted_quad(a.data(), a.data() + a.size(), v) != a.data() + a.size())
		return false;
	out = net::IpAddress::v4(v);
	return true;
}

// nettype SP addrtype SP connection-address (RFC 4566 §5.7). The address
// may carry "/ttl[/count]" (multicast); an FQDN is legal but cannot be
// pinned, so it leaves `addr` invalid without an error.
bool parse_address(Fields& f, net::IpAddress& addr)
{
	std::string_view nettype = f.next();
	std::string_view addrtype = f.next();
	std::string_view a = f.next();
	if (nettype != "IN" || (addrtype != "IP4" && addrtype != "IP6") || a.empty())
		return false;
	// IPv4 multicast "/ttl[/count]", IPv6 multicast "/count": the address
	// is what precedes the first '/'.
	if (const char* slash = f.body.find(a.data(), a.data() + a.size(), '/'))
		a = scan::sub(a, 0, static_cast<size_t>(slash - a.data()));
	if (addrtype == "IP4" && fast_ipv4(a, addr))
		return true;
	if (auto ip = net::IpAddress::parse(a)) {
		if ((addrtype == "IP4") != ip->is_v4())
			return false;
		addr = *ip;
		return true;
	}
	addr = net::IpAddress{};
	return hostname_chars(a);
}

// The usual form of the above, "IN IP4 " and a dotted quad ended by a
// blank, a '/' or the line end: what parse_address() would return, read
// without splitting the fields. False when it does not apply; only the
// leading blanks, which parse_address() skips too, are then consumed.
bool in_ip4_shortcut(Fields& f, net::IpAddress& addr)
{
	f.skip_blanks();
	if (f.e - f.p < 8 || std::memcmp(f.p, "IN IP4 ", 7) != 0)
		return false;
	uint32_t v;
	const char* end = f.e < f.body.hi ? dotted_quad<false>(f.p + 7, f.e, v) : dotted_quad(f.p + 7, f.e, v);
	if (!end || !(end == f.e || blank(*end) || *end == '/'))
		return false;
	addr = net::IpAddress::v4(v);
	return true;
}

bool address(Fields& f, net::IpAddress& addr)
{
	return in_ip4_shortcut(f, addr) || parse_address(f, addr);
}

// The attributes kept, by name (what precedes the first ':').
enum class Attr : uint8_t { Other, Direction, RtcpMux, Rtcp };

// An eight-byte attribute name as the word load8() reads.
template <scan::Lit L>
constexpr uint64_t name8()
{
	static_assert(L.size == 8, "eight-byte name");
	return L.template word<uint64_t>(0);
}

// Which kept attribute an a= value is, without searching for the ':':
// each kept name is eight bytes long but "rtcp", which counts only with a
// value, so one length check and one word compare decide. `d` is set for
// Attr::Direction.
Attr attribute_kind(std::string_view v, Direction& d)
{
	if (v.size() >= 5 && std::memcmp(v.data(), "rtcp:", 5) == 0)
		return Attr::Rtcp;
	if (v.size() < 8 || (v.size() > 8 && v[8] != ':'))
		return Attr::Other;
	const uint64_t w = scan::load8(v.data());
	if (w == name8<"sendrecv">())
		d = Direction::SendRecv;
	else if (w == name8<"sendonly">())
		d = Direction::SendOnly;
	else if (w == name8<"recvonly">())
		d = Direction::RecvOnly;
	else if (w == name8<"inactive">())
		d = Direction::Inactive;
	else
		return w == name8<"rtcp-mux">() ? Attr::RtcpMux : Attr::Other;
	return Attr::Direction;
}

} // namespace

namespace {

// The ends of the body's lines in order: each LF, then the end of the
// body. LFs are found 64 bytes at a time, one bit each, so a line costs a
// bit scan rather than a search of its own.
class LineEnds {
public:
	explicit LineEnds(const Body& b) : b_(b), n_(static_cast<size_t>(b.hi - b.lo)), bits_(b.mask64(0, '\n')) {}

	const char* next()
	{
		while (bits_ == 0) {
			w_ += 64;
			if (w_ >= n_)
				return b_.hi;
			bits_ = b_.mask64(w_, '\n');
		}
		const char* nl = b_.lo + w_ + std::countr_zero(bits_);
		bits_ &= bits_ - 1;
		return nl;
	}

private:
	const Body& b_;
	size_t n_;
	size_t w_ = 0;     // offset of the block bits_ describes
	uint64_t bits_;    // its LFs not yet returned
};

// One body's parse: the Session being filled, the media section being read
// and which sections set their own c= and direction.
class Parser {
public:
	Parser(const Body& b, Session& out) : b_(b), out_(out) {}

	// One line, [s, e) without its LF.
	Error line(const char* s, const char* e);
	// After the last line: media sections inherit the session's c= and
	// direction.
	Error finish();

private:
	Error attribute(Fields& f);

	const Body& b_;
	Session& out_;
	Media* cur_ = nullptr;
	bool session_c_ = false;
	bool media_has_c_[kMaxMedia] = {};
	bool media_has_dir_[kMaxMedia] = {};
};

Error Parser::line(const char* s, const char* e)
{
	if (e > s && e[-1] == '\r')
		--e;
	if (e == s)
		return Error::None; // a trailing blank line is common; tolerated
	// type "=" value, type one lowercase letter (RFC 4566 §5).
	if (e - s < 2 || s[1] != '=' || s[0] < 'a' || s[0] > 'z')
		return Error::BadLine;
	Fields f{b_, s + 2, e};
	switch (s[0]) {
	case 'o': {
		// o=username sess-id sess-version nettype addrtype unicast-address
		f.next();
		f.next();
		f.next();
		net::IpAddress a;
		if (address(f, a))
			out_.origin = a;
		break;
	}
	case 'c': {
		net::IpAddress a;
		if (!address(f, a))
			return Error::BadConnection;
		if (cur_) {
			cur_->address = a;
			media_has_c_[cur_ - out_.media.data()] = true;
		} else {
			out_.connection = a;
			session_c_ = true;
		}
		break;
	}
	case 'm': {
		// m=<media> <port>[/<number of ports>] <proto> <fmt> ... (§5.14)
		if (out_.media_count >= kMaxMedia)
			return Error::TooManyMedia;
		Media m;
		m.type = f.next();
		std::string_view port = f.next();
		m.proto = f.next();
		if (m.type.empty() || port.empty() || m.proto.empty())
			return Error::BadMedia;
		if (const char* slash = b_.find(port.data(), port.data() + port.size(), '/')) {
			const size_t i = static_cast<size_t>(slash - port.data());
			if (!parse_u16(scan::sub(port, i + 1), m.port_count) || m.port_count == 0)
				return Error::BadMedia;
			port = scan::sub(port, 0, i);
		}
		if (!parse_u16(port, m.port))
			return Error::BadMedia;
		out_.media[out_.media_count] = m;
		cur_ = &out_.media[out_.media_count];
		++out_.media_count;
		break;
	}
	case 'a':
		return attribute(f);
	default:
		break;
	}
	return Error::None;
}

Error Parser::attribute(Fields& f)
{
	Direction d;
	switch (attribute_kind({f.p, static_cast<size_t>(f.e - f.p)}, d)) {
	case Attr::Direction:
		if (cur_) {
			cur_->direction = d;
			media_has_dir_[cur_ - out_.media.data()] = true;
		} else {
			out_.direction = d;
		}
		break;
	case Attr::RtcpMux:
		if (cur_)
			cur_->rtcp_mux = true;
		break;
	case Attr::Rtcp: {
		// a=rtcp:port [nettype SP addrtype SP connection-address] (RFC 3605 §2.1)
		Fields rf{b_, f.p + 5, f.e};
		uint16_t port = 0;
		if (!parse_u16(rf.next(), port))
			return Error::BadLine;
		net::IpAddress a;
		rf.skip_blanks();
		if (!rf.at_end() && !address(rf, a))
			return Error::BadLine;
		if (cur_) {
			cur_->rtcp_port = port;
			cur_->rtcp_address = a;
		}
		break;
	}
	case Attr::Other:
		break;
	}
	return Error::None;
}

Error Parser::finish()
{
	for (uint8_t i = 0; i < out_.media_count; ++i) {
		Media& m = out_.media[i];
		if (!media_has_c_[i]) {
			// RFC 4566 §5.7: c= at session level or in every media section
			// (a rejected stream, port 0, needs neither).
			if (!session_c_ && m.port != 0)
				return Error::NoConnection;
			m.address = out_.connection;
		}
		if (!media_has_dir_[i])
			m.direction = out_.direction;
	}
	return Error::None;
}

} // namespace

Error parse(std::string_view body, Session& out)
{
	out.clear();
	if (body.empty())
		return Error::Empty;
	if (body.size() > kMaxSdpBytes)
		return Error::Oversized;
	const Body b{body.data(), body.data() + body.size()};
	Parser parser(b, out);
	LineEnds ends{b};
	for (const char* s = b.lo; s < b.hi;) {
		const char* e = ends.next();
		if (const Error err = parser.line(s, e); err != Error::None)
			return err;
		s = e + (e < b.hi);
	}
	return parser.finish();
}

} // namespace sipguard::sip::sdp
