// SPDX-License-Identifier: GPL-2.0-or-later
// Zero-copy SDP parser: connection addresses, media lines, RTCP ports and
// direction attributes, nothing else (RFC 4566 §5, RFC 3605, RFC 3264 §5.1).
#include "agent/sip/sdp.h"

#include <cstring>

#include "agent/sip/scan.h"

namespace sipguard::sip::sdp {

std::string_view to_string(Direction d)
{
	switch (d) {
	case Direction::SendRecv: return "sendrecv";
	case Direction::SendOnly: return "sendonly";
	case Direction::RecvOnly: return "recvonly";
	case Direction::Inactive: return "inactive";
	}
	return "unknown";
}

std::string_view to_string(Error e)
{
	switch (e) {
	case Error::None: return "none";
	case Error::Empty: return "empty";
	case Error::BadLine: return "bad_line";
	case Error::BadConnection: return "bad_connection";
	case Error::BadMedia: return "bad_media";
	case Error::TooManyMedia: return "too_many_media";
	case Error::Oversized: return "oversized";
	case Error::NoConnection: return "no_connection";
	}
	return "unknown";
}

namespace {

// Splits on single spaces (RFC 4566 §5: fields are separated by one SP; a
// few more are tolerated).
struct Fields {
	std::string_view rest;
	std::string_view next()
	{
		while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
			rest.remove_prefix(1);
		const char* sp = scan::find2(rest.data(), rest.data() + rest.size(), ' ', '\t');
		const size_t i = sp ? static_cast<size_t>(sp - rest.data()) : rest.size();
		std::string_view f = scan::sub(rest, 0, i);
		rest.remove_prefix(i);
		return f;
	}
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

// Dotted-quad IPv4 (what nearly every c= and o= line holds) without the
// libc call; exactly what inet_pton accepts (1-3 digits per octet, no
// leading zero, <= 255). Anything else goes to IpAddress::parse.
bool fast_ipv4(std::string_view a, net::IpAddress& out)
{
	uint32_t v = 0;
	size_t i = 0;
	for (int octet = 0; octet < 4; ++octet) {
		if (octet > 0) {
			if (i >= a.size() || a[i] != '.')
				return false;
			++i;
		}
		const size_t s = i;
		uint32_t o = 0;
		while (i < a.size() && i - s < 3 && a[i] >= '0' && a[i] <= '9')
			o = o * 10 + static_cast<uint32_t>(a[i++] - '0');
		if (i == s || o > 255 || (i - s > 1 && a[s] == '0'))
			return false;
		v = (v << 8) | o;
	}
	if (i != a.size())
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
	if (const char* slash = scan::find(a.data(), a.data() + a.size(), '/'))
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

bool direction_attr(std::string_view a, Direction& d)
{
	if (a == "sendrecv")
		d = Direction::SendRecv;
	else if (a == "sendonly")
		d = Direction::SendOnly;
	else if (a == "recvonly")
		d = Direction::RecvOnly;
	else if (a == "inactive")
		d = Direction::Inactive;
	else
		return false;
	return true;
}

} // namespace

Error parse(std::string_view body, Session& out)
{
	out.clear();
	if (body.empty())
		return Error::Empty;
	if (body.size() > kMaxSdpBytes)
		return Error::Oversized;
	bool media_has_c[kMaxMedia] = {};
	bool media_has_dir[kMaxMedia] = {};
	bool session_c = false;
	Media* cur = nullptr;
	size_t pos = 0;
	while (pos < body.size()) {
		const char* nl = scan::find(body.data() + pos, body.data() + body.size(), '\n');
		const size_t e = nl ? static_cast<size_t>(nl - body.data()) : body.size();
		std::string_view line = scan::sub(body, pos, e - pos);
		pos = e + 1;
		if (!line.empty() && line.back() == '\r')
			line.remove_suffix(1);
		if (line.empty())
			continue; // a trailing blank line is common; tolerated
		// type "=" value, type one lowercase letter (RFC 4566 §5).
		if (line.size() < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z')
			return Error::BadLine;
		const std::string_view value = scan::sub(line, 2);
		Fields f{value};
		switch (line[0]) {
		case 'o': {
			// o=username sess-id sess-version nettype addrtype unicast-address
			f.next();
			f.next();
			f.next();
			net::IpAddress a;
			if (parse_address(f, a))
				out.origin = a;
			break;
		}
		case 'c': {
			net::IpAddress a;
			if (!parse_address(f, a))
				return Error::BadConnection;
			if (cur) {
				cur->address = a;
				media_has_c[cur - out.media.data()] = true;
			} else {
				out.connection = a;
				session_c = true;
			}
			break;
		}
		case 'm': {
			// m=<media> <port>[/<number of ports>] <proto> <fmt> ... (§5.14)
			if (out.media_count >= kMaxMedia)
				return Error::TooManyMedia;
			Media m;
			m.type = f.next();
			std::string_view port = f.next();
			m.proto = f.next();
			if (m.type.empty() || port.empty() || m.proto.empty())
				return Error::BadMedia;
			const size_t slash = port.find('/');
			if (slash != std::string_view::npos) {
				if (!parse_u16(scan::sub(port, slash + 1), m.port_count) || m.port_count == 0)
					return Error::BadMedia;
				port = scan::sub(port, 0, slash);
			}
			if (!parse_u16(port, m.port))
				return Error::BadMedia;
			out.media[out.media_count] = m;
			cur = &out.media[out.media_count];
			++out.media_count;
			break;
		}
		case 'a': {
			const char* cp = scan::find(value.data(), value.data() + value.size(), ':');
			const size_t colon = cp ? static_cast<size_t>(cp - value.data()) : std::string_view::npos;
			const std::string_view name = scan::sub(value, 0, colon);
			Direction d;
			if (direction_attr(name, d)) {
				if (cur) {
					cur->direction = d;
					media_has_dir[cur - out.media.data()] = true;
				} else {
					out.direction = d;
				}
			} else if (name == "rtcp-mux") {
				if (cur)
					cur->rtcp_mux = true;
			} else if (name == "rtcp" && colon != std::string_view::npos) {
				// a=rtcp:port [nettype SP addrtype SP connection-address] (RFC 3605 §2.1)
				Fields rf{scan::sub(value, colon + 1)};
				uint16_t p = 0;
				if (!parse_u16(rf.next(), p))
					return Error::BadLine;
				net::IpAddress a;
				if (!rf.rest.empty() && rf.rest.find_first_not_of(" \t") != std::string_view::npos) {
					if (!parse_address(rf, a))
						return Error::BadLine;
				}
				if (cur) {
					cur->rtcp_port = p;
					cur->rtcp_address = a;
				}
			}
			break;
		}
		default:
			break;
		}
	}
	for (uint8_t i = 0; i < out.media_count; ++i) {
		Media& m = out.media[i];
		if (!media_has_c[i]) {
			// RFC 4566 §5.7: c= at session level or in every media section
			// (a rejected stream, port 0, needs neither).
			if (!session_c && m.port != 0)
				return Error::NoConnection;
			m.address = out.connection;
		}
		if (!media_has_dir[i])
			m.direction = out.direction;
	}
	return Error::None;
}

} // namespace sipguard::sip::sdp
