// SPDX-License-Identifier: GPL-2.0-or-later
// SDP parser: the facts the call tracker needs to open media pinholes.
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "agent/sip/sdp.h"

using namespace sipguard::sip::sdp;
using sipguard::net::IpAddress;

namespace {
IpAddress ip(const char* s) { return *IpAddress::parse(s); }
}

TEST_CASE("session-level c= applies to every m= without its own")
{
	Session s;
	REQUIRE(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
	              "m=audio 49170 RTP/AVP 0 8\r\nm=video 51372/2 RTP/SAVP 99\r\nc=IN IP4 192.0.2.11\r\n",
	              s) == Error::None);
	CHECK(s.origin == ip("192.0.2.1"));
	CHECK(s.connection == ip("192.0.2.10"));
	REQUIRE(s.media_count == 2);
	CHECK(s.media[0].type == "audio");
	CHECK(s.media[0].port == 49170);
	CHECK(s.media[0].port_count == 1);
	CHECK(s.media[0].proto == "RTP/AVP");
	CHECK(s.media[0].address == ip("192.0.2.10"));
	CHECK(s.media[1].port == 51372);
	CHECK(s.media[1].port_count == 2);
	CHECK(s.media[1].proto == "RTP/SAVP");
	CHECK(s.media[1].address == ip("192.0.2.11"));
	CHECK_FALSE(s.media[0].on_hold());
}

TEST_CASE("IPv6, a=rtcp with and without address, rtcp-mux, LF-only lines")
{
	Session s;
	REQUIRE(parse("v=0\no=- 1 1 IN IP6 2001:db8::1\ns=-\nc=IN IP6 2001:db8::2\nt=0 0\n"
	              "m=audio 5004 UDP/TLS/RTP/SAVPF 111\na=rtcp:5005\na=rtcp-mux\n"
	              "m=audio 6000 RTP/AVP 0\na=rtcp:53020 IN IP4 126.16.64.4\n",
	              s) == Error::None);
	REQUIRE(s.media_count == 2);
	CHECK(s.media[0].address == ip("2001:db8::2"));
	CHECK(s.media[0].rtcp_port == 5005);
	CHECK_FALSE(s.media[0].rtcp_address.valid());
	CHECK(s.media[0].rtcp_mux);
	CHECK(s.media[0].proto == "UDP/TLS/RTP/SAVPF");
	CHECK(s.media[1].rtcp_port == 53020);
	CHECK(s.media[1].rtcp_address == ip("126.16.64.4"));
	CHECK_FALSE(s.media[1].rtcp_mux);
}

TEST_CASE("hold: 0.0.0.0, sendonly, inactive; session-level direction inherited")
{
	Session s;
	REQUIRE(parse("v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 4000 RTP/AVP 0\r\n", s) == Error::None);
	CHECK(s.media[0].on_hold());
	REQUIRE(parse("v=0\r\nc=IN IP4 192.0.2.1\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 0\r\na=recvonly\r\n", s)
	        == Error::None);
	CHECK(s.direction == Direction::SendOnly);
	CHECK(s.media[0].direction == Direction::SendOnly);
	CHECK(s.media[0].on_hold());
	CHECK(s.media[1].direction == Direction::RecvOnly);
	CHECK_FALSE(s.media[1].on_hold());
	REQUIRE(parse("v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=inactive\r\n", s) == Error::None);
	CHECK(s.media[0].direction == Direction::Inactive);
	CHECK(s.media[0].on_hold());
}

TEST_CASE("multicast TTL, FQDN connection, rejected stream")
{
	Session s;
	REQUIRE(parse("v=0\r\nc=IN IP4 224.2.1.1/127/3\r\nm=audio 0 RTP/AVP 0\r\n", s) == Error::None);
	CHECK(s.connection == ip("224.2.1.1"));
	CHECK(s.media[0].port == 0);
	REQUIRE(parse("v=0\r\nc=IN IP4 media.example.com\r\nm=audio 4000 RTP/AVP 0\r\n", s) == Error::None);
	CHECK_FALSE(s.media[0].address.valid());
	REQUIRE(parse("v=0\r\nm=audio 0 RTP/AVP 0\r\n", s) == Error::None);
}

TEST_CASE("invalid SDP")
{
	Session s;
	CHECK(parse("", s) == Error::Empty);
	CHECK(parse("v=0\r\nthis is not sdp\r\n", s) == Error::BadLine);
	CHECK(parse("v=0\r\nc=IN IP4\r\n", s) == Error::BadConnection);
	CHECK(parse("v=0\r\nc=IN IP4 2001:db8::1\r\n", s) == Error::BadConnection);
	CHECK(parse("v=0\r\nc=XX IP4 192.0.2.1\r\n", s) == Error::BadConnection);
	CHECK(parse("v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 70000 RTP/AVP 0\r\n", s) == Error::BadMedia);
	CHECK(parse("v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio\r\n", s) == Error::BadMedia);
	CHECK(parse("v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000/0 RTP/AVP 0\r\n", s) == Error::BadMedia);
	CHECK(parse("v=0\r\nm=audio 4000 RTP/AVP 0\r\n", s) == Error::NoConnection);
	CHECK(parse("v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=rtcp:x\r\n", s) == Error::BadLine);
	std::string many = "v=0\r\nc=IN IP4 192.0.2.1\r\n";
	for (int i = 0; i < 9; ++i)
		many += "m=audio 4000 RTP/AVP 0\r\n";
	CHECK(parse(many, s) == Error::TooManyMedia);
	CHECK(parse(std::string(kMaxSdpBytes + 1, 'a'), s) == Error::Oversized);
}

namespace {

// Two bodies parse to the same error and the same session (views compared
// by content, addresses by value).
bool same_outcome(std::string_view x, std::string_view y)
{
	Session a, b;
	if (parse(x, a) != parse(y, b))
		return false;
	if (a.connection != b.connection || a.origin != b.origin || a.direction != b.direction || a.media_count != b.media_count)
		return false;
	for (uint8_t i = 0; i < a.media_count; ++i) {
		const Media& p = a.media[i];
		const Media& q = b.media[i];
		if (p.type != q.type || p.port != q.port || p.port_count != q.port_count || p.proto != q.proto
		    || p.address != q.address || p.rtcp_port != q.rtcp_port || p.rtcp_address != q.rtcp_address
		    || p.direction != q.direction || p.rtcp_mux != q.rtcp_mux)
			return false;
	}
	return true;
}

// The line endings a body can use, the last line with or without one.
const char* const kEnds[] = {"\r\n", "\n", ""};

} // namespace

TEST_CASE("c= and o= shortcut (\"IN IP4 \" and a dotted quad) agrees with the general path")
{
	// The shortcut takes "IN IP4 " followed by a dotted quad ended by a
	// blank, '/' or the line end; a second blank after IP4 declines it, so
	// the same address with "IN IP4  " is read by the general path.
	const char* const addrs[] = {"192.0.2.1", "0.0.0.0", "255.255.255.255", "1.2.3.4/127", "224.2.1.1/127/3",
	                             "9.9.9.9/", "1.2.3.4 extra", "1.2.3.4\t", "01.2.3.4", "1.2.3.04", "0.0.0.00",
	                             "1.2.3.256", "1.2.3", "1.2.3.4.5", "1.2.3.4x", "1..2.3", "1234.1.1.1", "[1.2.3.4]",
	                             "2001:db8::1", "host.example", "bad!host", ""};
	for (const char* a : addrs) {
		for (const char* end : kEnds) {
			CAPTURE(a);
			CAPTURE(end);
			const std::string media = std::string("v=0") + end + "m=audio 4000 RTP/AVP 0" + (*end ? end : "\n");
			// Media-level c= as the last line (with and without a line end),
			// session-level o= and c= before it.
			CHECK(same_outcome(media + "c=IN IP4 " + a + end, media + "c=IN IP4  " + a + end));
			const std::string o_fast = std::string("o=- 1 1 IN IP4 ") + a + "\r\nc=IN IP4 " + a + "\r\n";
			const std::string o_general = std::string("o=- 1 1 IN  IP4 ") + a + "\r\nc=IN\tIP4 " + a + "\r\n";
			CHECK(same_outcome(o_fast + "m=audio 4000 RTP/AVP 0" + end, o_general + "m=audio 4000 RTP/AVP 0" + end));
		}
	}
	Session s;
	REQUIRE(parse("m=audio 4000 RTP/AVP 0\r\nc=IN IP4 203.0.113.5", s) == Error::None);
	CHECK(s.media[0].address == ip("203.0.113.5"));
	REQUIRE(parse("c=IN IP4 224.2.1.1/127/3\r\nm=audio 4000 RTP/AVP 0\r\n", s) == Error::None);
	CHECK(s.media[0].address == ip("224.2.1.1"));
	REQUIRE(parse("c=IN IP4 01.2.3.4\r\nm=audio 4000 RTP/AVP 0\r\n", s) == Error::None);
	CHECK_FALSE(s.connection.valid()); // not a dotted quad: read as a host name
	REQUIRE(parse("c=IN IP4 [1.2.3.4]\r\nm=audio 4000 RTP/AVP 0\r\n", s) == Error::None);
	CHECK(s.connection == ip("1.2.3.4"));
	CHECK(parse("c=IN IP4 bad!host\r\n", s) == Error::BadConnection);
	CHECK(parse("c=in ip4 1.2.3.4\r\n", s) == Error::BadConnection);
	CHECK(parse("C=IN IP4 1.2.3.4\r\n", s) == Error::BadLine);
	REQUIRE(parse("o=- 1 1 IN IP4 1.2.3.4/8\r\nc= \t IN IP4 5.6.7.8\r\n", s) == Error::None);
	CHECK(s.origin == ip("1.2.3.4"));
	CHECK(s.connection == ip("5.6.7.8"));
}

TEST_CASE("attributes: only the listed names, before any ':', case-sensitive")
{
	struct Case {
		const char* attr;
		Error error;
		Direction direction;
		bool mux;
		uint16_t rtcp_port;
		const char* rtcp_address; // nullptr: invalid
	};
	const Case cases[] = {
	        {"a=sendonly", Error::None, Direction::SendOnly, false, 0, nullptr},
	        {"a=recvonly:x", Error::None, Direction::RecvOnly, false, 0, nullptr},
	        {"a=inactive", Error::None, Direction::Inactive, false, 0, nullptr},
	        {"a=sendonlyx", Error::None, Direction::SendRecv, false, 0, nullptr},
	        {"a=sendonl", Error::None, Direction::SendRecv, false, 0, nullptr},
	        {"a=SENDONLY", Error::None, Direction::SendRecv, false, 0, nullptr},
	        {"a=sendonly x", Error::None, Direction::SendRecv, false, 0, nullptr},
	        {"a=rtcp-mux", Error::None, Direction::SendRecv, true, 0, nullptr},
	        {"a=rtcp-mux:1", Error::None, Direction::SendRecv, true, 0, nullptr},
	        {"a=rtcp-muxx", Error::None, Direction::SendRecv, false, 0, nullptr},
	        {"a=rtcp", Error::None, Direction::SendRecv, false, 0, nullptr},
	        {"a=rtcpx:5", Error::None, Direction::SendRecv, false, 0, nullptr},
	        {"a=rtcp:", Error::BadLine, Direction::SendRecv, false, 0, nullptr},
	        {"a=rtcp:5005", Error::None, Direction::SendRecv, false, 5005, nullptr},
	        {"a=rtcp:5005 \t", Error::None, Direction::SendRecv, false, 5005, nullptr},
	        {"a=rtcp: 5005", Error::None, Direction::SendRecv, false, 5005, nullptr},
	        {"a=rtcp:5005 IN IP4 192.0.2.9", Error::None, Direction::SendRecv, false, 5005, "192.0.2.9"},
	        {"a=rtcp:5005  IN\tIP4  192.0.2.9", Error::None, Direction::SendRecv, false, 5005, "192.0.2.9"},
	        {"a=rtcp:5005 IN IP6 2001:db8::9", Error::None, Direction::SendRecv, false, 5005, "2001:db8::9"},
	        {"a=rtcp:5005 IN IP4 2001:db8::9", Error::BadLine, Direction::SendRecv, false, 0, nullptr},
	        {"a=rtcp:5005 IN IP4 bad!", Error::BadLine, Direction::SendRecv, false, 0, nullptr},
	        {"a=rtcp:5005 IN", Error::BadLine, Direction::SendRecv, false, 0, nullptr},
	        {"a=rtcp:65536", Error::BadLine, Direction::SendRecv, false, 0, nullptr},
	};
	for (const Case& c : cases) {
		for (const char* end : kEnds) {
			CAPTURE(c.attr);
			CAPTURE(end);
			Session s;
			const std::string body = std::string("v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n") + c.attr + end;
			REQUIRE(parse(body, s) == c.error);
			if (c.error != Error::None)
				continue;
			CHECK(s.media[0].direction == c.direction);
			CHECK(s.media[0].rtcp_mux == c.mux);
			CHECK(s.media[0].rtcp_port == c.rtcp_port);
			if (c.rtcp_address)
				CHECK(s.media[0].rtcp_address == ip(c.rtcp_address));
			else
				CHECK_FALSE(s.media[0].rtcp_address.valid());
		}
	}
}

TEST_CASE("m= fields: runs of blanks, long fields, port counts")
{
	Session s;
	// Kept in a named string: the Session's views point into the body.
	const std::string wide =
	    "c=IN IP4 192.0.2.1\r\nm=audio" + std::string(20, ' ') + "4000/2\t\t" + std::string(30, 'X') + " 0\r\n";
	REQUIRE(parse(wide, s) == Error::None);
	CHECK(s.media[0].type == "audio");
	CHECK(s.media[0].port == 4000);
	CHECK(s.media[0].port_count == 2);
	CHECK(s.media[0].proto == std::string(30, 'X'));
	REQUIRE(parse("c=IN IP4 192.0.2.1\r\nm= \tapplication 9 UDP/TLS/RTP/SAVPF", s) == Error::None);
	CHECK(s.media[0].type == "application");
	CHECK(s.media[0].proto == "UDP/TLS/RTP/SAVPF");
	CHECK(parse("c=IN IP4 192.0.2.1\r\nm=audio 4000/ RTP/AVP 0\r\n", s) == Error::BadMedia);
	CHECK(parse("c=IN IP4 192.0.2.1\r\nm=audio /2 RTP/AVP 0\r\n", s) == Error::BadMedia);
	CHECK(parse("c=IN IP4 192.0.2.1\r\nm=audio 4000 \r\n", s) == Error::BadMedia);
	CHECK(parse("c=IN IP4 192.0.2.1\r\nm=audio 4000\t", s) == Error::BadMedia);
}

TEST_CASE("line ends at every offset around the 64-byte blocks give the same result")
{
	// Lines are found 64 bytes at a time: pad the s= line so every other
	// line's end crosses the block boundaries and the body's last 16 bytes.
	const char* const lines[] = {"o=- 1 1 IN IP4 192.0.2.7", "c=IN IP4 192.0.2.1", "m=audio 4000/2 RTP/AVP 0",
	                             "a=rtcp:4001 IN IP4 192.0.2.2", "a=sendonly", "m=video 0 RTP/AVP 31", "a=rtcp-mux"};
	for (const char* nl : {"\r\n", "\n"}) {
		std::string tail;
		for (const char* l : lines)
			tail += std::string(l) + nl;
		const std::string base = std::string("v=0") + nl + "s=-" + nl + tail;
		Session s;
		REQUIRE(parse(base, s) == Error::None);
		CHECK(s.media_count == 2);
		CHECK(s.media[0].rtcp_address == ip("192.0.2.2"));
		CHECK(s.media[1].rtcp_mux);
		for (size_t pad = 0; pad < 140; ++pad) {
			CAPTURE(pad);
			const std::string body = std::string("v=0") + nl + "s=" + std::string(pad + 1, '-') + nl + tail;
			CHECK(same_outcome(body, base));
			// Without the last line end.
			CHECK(same_outcome(body.substr(0, body.size() - std::strlen(nl)), base));
		}
	}
}

TEST_CASE("short bodies, too many media, size limit")
{
	Session s;
	CHECK(parse("v=0", s) == Error::None);
	CHECK(parse("\r\n\r\n", s) == Error::None);
	CHECK(parse("v", s) == Error::BadLine);
	CHECK(parse("v=0\r\n=\r\n", s) == Error::BadLine);
	REQUIRE(parse("c=IN IP4 1.2.3.4", s) == Error::None); // exactly 16 bytes
	CHECK(s.connection == ip("1.2.3.4"));
	REQUIRE(parse("c=IN IP4 1.2.3.", s) == Error::None); // 15 bytes: a host name
	CHECK_FALSE(s.connection.valid());
	REQUIRE(parse("m=a 0 b\nc=IN IP4 1.2.3.4", s) == Error::None);
	CHECK(s.media[0].address == ip("1.2.3.4"));

	std::string eight = "c=IN IP4 192.0.2.1\n";
	for (int i = 0; i < 8; ++i)
		eight += "m=audio " + std::to_string(4000 + 2 * i) + " RTP/AVP 0\n";
	REQUIRE(parse(eight, s) == Error::None);
	CHECK(s.media_count == kMaxMedia);
	CHECK(s.media[7].port == 4014);
	CHECK(parse(eight + "m=audio 5000 RTP/AVP 0", s) == Error::TooManyMedia);
	CHECK(s.media_count == kMaxMedia);

	std::string big = "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n";
	big += "a=x:" + std::string(kMaxSdpBytes - big.size() - 6, 'y') + "\r\n";
	REQUIRE(big.size() == kMaxSdpBytes);
	CHECK(parse(big, s) == Error::None);
	CHECK(s.media[0].port == 4000);
	CHECK(parse(big + "\n", s) == Error::Oversized);
}
