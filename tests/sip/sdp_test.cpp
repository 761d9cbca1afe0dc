// SPDX-License-Identifier: GPL-2.0-or-later
// SDP parser: the facts the call tracker needs to open media pinholes.
#include <doctest/doctest.h>

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
