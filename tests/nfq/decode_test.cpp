// SPDX-License-Identifier: GPL-2.0-or-later
// nfq::decode_ip on hand-built IPv4/IPv6, UDP/TCP packets: options, extension
// headers, fragments, truncation and inconsistent length fields.
#include <doctest/doctest.h>

#include <string>

#include "nfq/decode.h"
#include "tests/nfq/packet_builder.h"

using namespace sipguard::nfq;
using namespace sipguard::nfq::test;
using sipguard::net::IpAddress;

namespace {

constexpr std::string_view kSip = "OPTIONS sip:pbx@198.51.100.5 SIP/2.0\r\nContent-Length: 0\r\n\r\n";

std::string_view text(std::span<const uint8_t> s)
{
	return {reinterpret_cast<const char*>(s.data()), s.size()};
}

// Keeps the packet alive until the next call: the view points into it.
Bytes g_packet;
DecodeStatus dec(Bytes b, PacketView& v)
{
	g_packet = std::move(b);
	return decode_ip(g_packet, v);
}

} // namespace

TEST_CASE("IPv4 UDP: addresses, ports and payload")
{
	PacketView v;
	REQUIRE(dec(ipv4(17, udp(5062, 5060, kSip)), v) == DecodeStatus::Ok);
	CHECK(v.src == *IpAddress::parse("192.0.2.10"));
	CHECK(v.dst == *IpAddress::parse("198.51.100.5"));
	CHECK(v.sport == 5062);
	CHECK(v.dport == 5060);
	CHECK(v.l4 == L4::Udp);
	CHECK(text(v.payload) == kSip);
	CHECK_FALSE(v.fragment);
	CHECK_FALSE(v.first_fragment);
	CHECK(v.remote(Direction::In) == v.src);
	CHECK(v.remote(Direction::Out) == v.dst);
}

TEST_CASE("IPv4 options are skipped via IHL")
{
	for (size_t opt : {4u, 20u, 40u}) {
		PacketView v;
		REQUIRE(dec(ipv4(17, udp(1, 5060, kSip), opt), v) == DecodeStatus::Ok);
		CHECK(text(v.payload) == kSip);
	}
}

TEST_CASE("IPv4: payload bounded by total length and UDP length, padding ignored")
{
	Bytes p = ipv4(17, udp(1, 5060, kSip));
	p.insert(p.end(), 6, 0xee); // Ethernet minimum-frame padding after the datagram
	PacketView v;
	REQUIRE(dec(p, v) == DecodeStatus::Ok);
	CHECK(text(v.payload) == kSip);

	// UDP length shorter than the IP payload: the UDP length wins.
	Bytes q = ipv4(17, udp(1, 5060, kSip));
	put16(q, 20 + 4, 8 + 7);
	REQUIRE(dec(q, v) == DecodeStatus::Ok);
	CHECK(text(v.payload) == "OPTIONS");
}

TEST_CASE("IPv4 bad lengths and truncation")
{
	PacketView v;
	Bytes good = ipv4(17, udp(1, 5060, kSip));
	CHECK(decode_ip(std::span<const uint8_t>(), v) == DecodeStatus::Truncated);
	CHECK(decode_ip(std::span(good).first(19), v) == DecodeStatus::Truncated);
	// Cut inside the payload: total length promises more than we have.
	CHECK(decode_ip(std::span(good).first(good.size() - 1), v) == DecodeStatus::Truncated);
	CHECK(v.src.valid()); // addresses are still filled for logging

	Bytes ihl = good;
	ihl[0] = 0x44;
	CHECK(dec(ihl, v) == DecodeStatus::BadHeader);

	Bytes ihl_long = good;
	ihl_long[0] = 0x4f; // 60-byte header in a packet whose total length is 20 + 8 + ...
	put16(ihl_long, 2, 40);
	CHECK(dec(ihl_long, v) == DecodeStatus::BadHeader);

	Bytes total_small = good;
	put16(total_small, 2, 19);
	CHECK(dec(total_small, v) == DecodeStatus::BadHeader);

	Bytes udp_len_small = good;
	put16(udp_len_small, 24, 7);
	CHECK(dec(udp_len_small, v) == DecodeStatus::BadHeader);

	Bytes udp_len_big = good;
	put16(udp_len_big, 24, static_cast<uint16_t>(8 + kSip.size() + 1));
	CHECK(dec(udp_len_big, v) == DecodeStatus::Truncated);

	Bytes udp_cut = ipv4(17, Bytes{0x13, 0xc4, 0x13});
	CHECK(dec(udp_cut, v) == DecodeStatus::Truncated);
}

TEST_CASE("not IP, not UDP/TCP")
{
	PacketView v;
	Bytes p = ipv4(17, udp(1, 5060, kSip));
	p[0] = 0x55;
	CHECK(dec(p, v) == DecodeStatus::NotIpv4OrIpv6);
	Bytes icmp = ipv4(1, Bytes(8, 0));
	CHECK(dec(icmp, v) == DecodeStatus::NotUdpOrTcp);
	CHECK(v.src == *IpAddress::parse("192.0.2.10"));
	CHECK(v.l4 == L4::Other);
}

TEST_CASE("IPv4 fragments: non-first flagged, first decoded with a partial payload")
{
	PacketView v;
	Bytes later = ipv4(17, Bytes(64, 'x'), 0, 185); // offset 185*8, no ports in it
	CHECK(dec(later, v) == DecodeStatus::Fragment);
	CHECK(v.fragment);
	CHECK(v.sport == 0);
	CHECK(v.src == *IpAddress::parse("192.0.2.10"));

	// First fragment: the UDP length covers the whole datagram, only part is here.
	Bytes u = udp(5062, 5060, kSip);
	put16(u, 4, 1400);
	Bytes first = ipv4(17, u, 0, 0x2000);
	REQUIRE(dec(first, v) == DecodeStatus::Ok);
	CHECK(v.first_fragment);
	CHECK_FALSE(v.fragment);
	CHECK(v.dport == 5060);
	CHECK(text(v.payload) == kSip);

	// The same UDP length without MF is a truncated packet, not a fragment.
	Bytes no_mf = ipv4(17, u);
	CHECK(dec(no_mf, v) == DecodeStatus::Truncated);

	// DF set, no fragmentation: ordinary.
	REQUIRE(dec(ipv4(17, udp(1, 5060, kSip), 0, 0x4000), v) == DecodeStatus::Ok);
	CHECK_FALSE(v.first_fragment);
}

TEST_CASE("TCP: header length, sequence, flags, payload")
{
	PacketView v;
	REQUIRE(dec(ipv4(6, tcp(40000, 5060, 0x01020304, 0x18, kSip, 12)), v) == DecodeStatus::Ok);
	CHECK(v.l4 == L4::Tcp);
	CHECK(v.sport == 40000);
	CHECK(v.dport == 5060);
	CHECK(v.tcp_seq == 0x01020304);
	CHECK(v.tcp_flags == 0x18);
	CHECK(text(v.payload) == kSip);

	REQUIRE(dec(ipv4(6, tcp(40000, 5060, 7, 0x02, "")), v) == DecodeStatus::Ok);
	CHECK(v.payload.empty());

	Bytes small_doff = ipv4(6, tcp(1, 5060, 0, 0x10, kSip));
	small_doff[20 + 12] = 4 << 4;
	CHECK(dec(small_doff, v) == DecodeStatus::BadHeader);

	Bytes big_doff = ipv4(6, tcp(1, 5060, 0, 0x10, "abc"));
	big_doff[20 + 12] = 15 << 4; // 60 bytes of header, 23 present
	CHECK(dec(big_doff, v) == DecodeStatus::Truncated);

	Bytes short_tcp = ipv4(6, Bytes(19, 0));
	CHECK(dec(short_tcp, v) == DecodeStatus::Truncated);
}

TEST_CASE("IPv6 UDP and TCP without extension headers")
{
	PacketView v;
	REQUIRE(dec(ipv6(17, udp(5062, 5060, kSip)), v) == DecodeStatus::Ok);
	CHECK(v.src == *IpAddress::parse("2001:db8::1"));
	CHECK(v.dst == *IpAddress::parse("2001:db8::2"));
	CHECK(v.dport == 5060);
	CHECK(text(v.payload) == kSip);

	REQUIRE(dec(ipv6(6, tcp(5061, 40000, 99, 0x11, kSip)), v) == DecodeStatus::Ok);
	CHECK(v.l4 == L4::Tcp);
	CHECK(v.sport == 5061);
	CHECK(v.tcp_seq == 99);
	CHECK(text(v.payload) == kSip);
}

TEST_CASE("IPv6 extension header chain is walked")
{
	PacketView v;
	Bytes p = ipv6(17, udp(1, 5060, kSip), {{0, 8}, {60, 16}, {43, 24}, {44, 8, 0}, {51, 16}, {60, 8}});
	REQUIRE(dec(p, v) == DecodeStatus::Ok);
	CHECK(v.dport == 5060);
	CHECK(text(v.payload) == kSip);
	CHECK_FALSE(v.first_fragment); // atomic fragment (RFC 6946): offset 0, M clear
}

TEST_CASE("IPv6 extension header errors")
{
	PacketView v;
	// Hop-by-hop after another header (RFC 8200 §4.1).
	CHECK(dec(ipv6(17, udp(1, 5060, kSip), {{60, 8}, {0, 8}}), v) == DecodeStatus::BadHeader);
	// Too many headers.
	std::vector<Ext> many(9, Ext{60, 8});
	CHECK(dec(ipv6(17, udp(1, 5060, kSip), many), v) == DecodeStatus::BadHeader);
	// Header length pointing past the payload.
	Bytes p = ipv6(17, udp(1, 5060, kSip), {{60, 8}});
	p[41] = 200;
	CHECK(dec(p, v) == DecodeStatus::Truncated);
	// No next header (59), ESP (50).
	CHECK(dec(ipv6(59, Bytes(8, 0)), v) == DecodeStatus::NotUdpOrTcp);
	CHECK(dec(ipv6(50, Bytes(16, 0)), v) == DecodeStatus::NotUdpOrTcp);
	// Payload length larger than the buffer, zero (jumbogram), and a cut header.
	Bytes big = ipv6(17, udp(1, 5060, kSip));
	put16(big, 4, static_cast<uint16_t>(big.size()));
	CHECK(dec(big, v) == DecodeStatus::Truncated);
	Bytes jumbo = ipv6(17, udp(1, 5060, kSip));
	put16(jumbo, 4, 0);
	CHECK(dec(jumbo, v) == DecodeStatus::BadHeader);
	Bytes hdr = ipv6(17, udp(1, 5060, kSip));
	CHECK(decode_ip(std::span(hdr).first(39), v) == DecodeStatus::Truncated);
	// Extension header with fewer than 8 bytes left.
	Bytes cut = ipv6(60, Bytes(4, 0));
	CHECK(dec(cut, v) == DecodeStatus::Truncated);
}

TEST_CASE("IPv6 fragments")
{
	PacketView v;
	Bytes later = ipv6(17, Bytes(32, 'x'), {{44, 8, static_cast<uint16_t>(181 << 3)}});
	CHECK(dec(later, v) == DecodeStatus::Fragment);
	CHECK(v.fragment);
	CHECK(v.l4 == L4::Udp);
	CHECK(v.src == *IpAddress::parse("2001:db8::1"));

	Bytes u = udp(5062, 5060, kSip);
	put16(u, 4, 3000);
	Bytes first = ipv6(17, u, {{44, 8, 1}});
	REQUIRE(dec(first, v) == DecodeStatus::Ok);
	CHECK(v.first_fragment);
	CHECK(text(v.payload) == kSip);
}

TEST_CASE("a datagram the kernel reassembled: no fragment header, or an atomic one, decodes whole")
{
	// nf_ct_frag6_reasm removes the fragment header and rewrites the
	// payload length: a plain IPv6 datagram larger than any link MTU.
	const std::string big = "REGISTER sip:pbx SIP/2.0\r\nX-Pad: " + std::string(3000, 'p') + "\r\n\r\n";
	PacketView v;
	REQUIRE(dec(ipv6(17, udp(5062, 5060, big)), v) == DecodeStatus::Ok);
	CHECK_FALSE(v.first_fragment);
	CHECK_FALSE(v.fragment);
	CHECK(text(v.payload) == big);
	// Were the header kept (offset 0, M clear), the datagram is an atomic
	// fragment (RFC 6946): still whole.
	REQUIRE(dec(ipv6(17, udp(5062, 5060, big), {{44, 8, 0}}), v) == DecodeStatus::Ok);
	CHECK_FALSE(v.first_fragment);
	CHECK(text(v.payload) == big);
	// IPv4 reassembled: flags and offset cleared, total length the whole.
	REQUIRE(dec(ipv4(17, udp(5062, 5060, big)), v) == DecodeStatus::Ok);
	CHECK_FALSE(v.first_fragment);
	CHECK(text(v.payload) == big);
}

TEST_CASE("a UDP datagram the queue's copy range cut is decoded like a first fragment; TCP stays truncated")
{
	const std::string big = "REGISTER sip:pbx SIP/2.0\r\nX-Pad: " + std::string(3000, 'p') + "\r\n\r\n";
	for (bool v6 : {false, true}) {
		CAPTURE(v6);
		Bytes whole = v6 ? ipv6(17, udp(5062, 5060, big), {{0, 8}}) : ipv4(17, udp(5062, 5060, big));
		std::span<const uint8_t> cut = std::span<const uint8_t>(whole).first(whole.size() - 100);
		PacketView v;
		// Without the queue saying so, a short buffer is a truncated packet.
		CHECK(decode_ip(cut, v) == DecodeStatus::Truncated);
		REQUIRE(decode_ip(cut, v, /*capture_cut=*/true) == DecodeStatus::Ok);
		CHECK(v.first_fragment);
		CHECK_FALSE(v.fragment);
		CHECK(v.sport == 5062);
		CHECK(v.dport == 5060);
		CHECK(text(v.payload) == std::string_view(big).substr(0, big.size() - 100));
		// A packet that is not cut decodes as before with the flag set.
		REQUIRE(decode_ip(whole, v, true) == DecodeStatus::Ok);
		CHECK_FALSE(v.first_fragment);

		Bytes seg = v6 ? ipv6(6, tcp(5062, 5060, 1, 0x18, big)) : ipv4(6, tcp(5062, 5060, 1, 0x18, big));
		CHECK(decode_ip(std::span<const uint8_t>(seg).first(seg.size() - 100), v, true) == DecodeStatus::Truncated);
		// Cut inside the IP header (or IPv6 extension headers): truncated.
		CHECK(decode_ip(std::span<const uint8_t>(whole).first(v6 ? 44 : 19), v, true) == DecodeStatus::Truncated);
	}
}

TEST_CASE("decode never reads past the buffer for any truncation of valid packets")
{
	std::vector<Bytes> packets = {
		ipv4(17, udp(1, 5060, kSip), 8),
		ipv4(6, tcp(1, 5060, 5, 0x18, kSip, 8)),
		ipv6(17, udp(1, 5060, kSip), {{0, 8}, {43, 24}, {44, 8}}),
		ipv6(6, tcp(1, 5060, 5, 0x18, kSip), {{60, 16}}),
	};
	for (const Bytes& p : packets) {
		PacketView v;
		REQUIRE(dec(p, v) == DecodeStatus::Ok);
		for (size_t n = 0; n < p.size(); ++n) {
			// An exact-size heap copy so that ASan sees any overread.
			std::vector<uint8_t> cut(p.begin(), p.begin() + static_cast<long>(n));
			DecodeStatus st = decode_ip(cut, v);
			CHECK(st != DecodeStatus::Ok);
		}
	}
}
