// SPDX-License-Identifier: GPL-2.0-or-later
// IPv4/IPv6 + UDP/TCP decoding into a PacketView, bounds-checked at every step.
#include "nfq/decode.h"

#include <cstddef>

namespace sipguard::nfq {

namespace {

// IANA protocol numbers used in IPv4 "protocol" and IPv6 "next header".
constexpr uint8_t kProtoHopByHop = 0;  // RFC 8200 §4.3
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoRouting = 43;  // RFC 8200 §4.4
constexpr uint8_t kProtoFragment = 44; // RFC 8200 §4.5
constexpr uint8_t kProtoAh = 51;       // RFC 4302 §2.2: length in 4-octet units minus 2
constexpr uint8_t kProtoDestOpts = 60; // RFC 8200 §4.6

constexpr size_t kIpv4MinHeader = 20;
constexpr size_t kIpv6Header = 40;
constexpr size_t kUdpHeader = 8;
constexpr size_t kTcpMinHeader = 20;
// Real traffic carries one or two extension headers; a long chain is either an
// evasion attempt or garbage, and bounding it bounds the work per packet.
constexpr int kMaxExtensionHeaders = 8;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p)
{
	return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
	       static_cast<uint32_t>(p[2]) << 8 | p[3];
}

// Decodes the transport header in `l4` (already bounded by the IP length).
// `first_fragment`: the datagram continues in later fragments, so the UDP
// length may exceed what is here.
DecodeStatus decode_l4(uint8_t proto, std::span<const uint8_t> l4, bool first_fragment, PacketView& out)
{
	if (proto != kProtoUdp && proto != kProtoTcp)
		return DecodeStatus::NotUdpOrTcp;
	const bool udp = proto == kProtoUdp;
	out.l4 = udp ? L4::Udp : L4::Tcp;
	if (l4.size() < (udp ? kUdpHeader : kTcpMinHeader))
		return DecodeStatus::Truncated;
	// Both headers start with the source and destination ports.
	out.sport = be16(l4.data());
	out.dport = be16(l4.data() + 2);
	if (udp) {
		size_t ulen = be16(l4.data() + 4);
		// RFC 768: the length includes the header. Zero is only legal for an
		// IPv6 jumbogram (RFC 2675), which cannot carry SIP here.
		if (ulen < kUdpHeader)
			return DecodeStatus::BadHeader;
		if (ulen > l4.size()) {
			if (!first_fragment)
				return DecodeStatus::Truncated;
			ulen = l4.size();
		}
		out.payload = l4.subspan(kUdpHeader, ulen - kUdpHeader);
		return DecodeStatus::Ok;
	}
	out.tcp_seq = be32(l4.data() + 4);
	out.tcp_flags = l4[13];
	size_t doff = static_cast<size_t>(l4[12] >> 4) * 4; // RFC 9293 §3.1
	if (doff < kTcpMinHeader)
		return DecodeStatus::BadHeader;
	if (doff > l4.size())
		return DecodeStatus::Truncated;
	out.payload = l4.subspan(doff);
	return DecodeStatus::Ok;
}

DecodeStatus decode_v4(std::span<const uint8_t> p, PacketView& out, bool cut)
{
	if (p.size() < kIpv4MinHeader)
		return DecodeStatus::Truncated;
	size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
	if (ihl < kIpv4MinHeader)
		return DecodeStatus::BadHeader;
	size_t total = be16(p.data() + 2);
	if (total < ihl)
		return DecodeStatus::BadHeader;
	out.src = net::IpAddress::v4(p.data() + 12);
	out.dst = net::IpAddress::v4(p.data() + 16);
	if (ihl > p.size())
		return DecodeStatus::Truncated;
	uint8_t proto = p[9];
	// Only a UDP datagram's start can be judged (like a first fragment).
	const bool partial = total > p.size();
	if (partial && (!cut || proto != kProtoUdp))
		return DecodeStatus::Truncated;
	if (partial)
		total = p.size();
	uint16_t frag = be16(p.data() + 6);
	uint16_t offset = frag & 0x1fff; // RFC 791 §3.1, in 8-octet units
	bool more = frag & 0x2000;
	out.l4 = proto == kProtoUdp ? L4::Udp : proto == kProtoTcp ? L4::Tcp : L4::Other;
	if (offset != 0) {
		out.fragment = true;
		return DecodeStatus::Fragment;
	}
	out.first_fragment = more || partial;
	return decode_l4(proto, p.subspan(ihl, total - ihl), more || partial, out);
}

DecodeStatus decode_v6(std::span<const uint8_t> p, PacketView& out, bool cut)
{
	if (p.size() < kIpv6Header)
		return DecodeStatus::Truncated;
	out.src = net::IpAddress::v6(p.data() + 8);
	out.dst = net::IpAddress::v6(p.data() + 24);
	size_t plen = be16(p.data() + 4);
	// Zero means a jumbogram (RFC 2675) or a BIG TCP super-packet, neither of
	// which we inspect.
	if (plen == 0)
		return DecodeStatus::BadHeader;
	const bool partial = kIpv6Header + plen > p.size();
	if (partial && !cut)
		return DecodeStatus::Truncated;
	if (partial)
		plen = p.size() - kIpv6Header;
	std::span<const uint8_t> rest = p.subspan(kIpv6Header, plen);
	uint8_t next = p[6];
	bool more = false;
	for (int n = 0;; ++n) {
		if (next == kProtoUdp || next == kProtoTcp)
			break;
		if (next != kProtoHopByHop && next != kProtoRouting && next != kProtoDestOpts &&
		    next != kProtoFragment && next != kProtoAh)
			return DecodeStatus::NotUdpOrTcp; // includes 59 "no next header", ESP
		if (n >= kMaxExtensionHeaders)
			return DecodeStatus::BadHeader;
		// RFC 8200 §4.1: hop-by-hop only immediately after the IPv6 header.
		if (next == kProtoHopByHop && n != 0)
			return DecodeStatus::BadHeader;
		if (rest.size() < 8)
			return DecodeStatus::Truncated;
		size_t len;
		if (next == kProtoFragment) {
			len = 8;
			uint16_t offlg = be16(rest.data() + 2);
			uint16_t offset = offlg >> 3;
			more = offlg & 1;
			uint8_t inner = rest[0];
			out.l4 = inner == kProtoUdp ? L4::Udp : inner == kProtoTcp ? L4::Tcp : L4::Other;
			if (offset != 0) {
				out.fragment = true;
				return DecodeStatus::Fragment;
			}
		} else if (next == kProtoAh) {
			len = (static_cast<size_t>(rest[1]) + 2) * 4;
		} else {
			len = (static_cast<size_t>(rest[1]) + 1) * 8; // RFC 8200 §4.3-4.6 "Hdr Ext Len"
		}
		if (len > rest.size())
			return DecodeStatus::Truncated;
		next = rest[0];
		rest = rest.subspan(len);
	}
	// Only a UDP datagram's start can be judged (like a first fragment).
	if (partial && next != kProtoUdp)
		return DecodeStatus::Truncated;
	out.first_fragment = more || partial;
	return decode_l4(next, rest, more || partial, out);
}

} // namespace

const char* to_string(DecodeStatus status)
{
	switch (status) {
	case DecodeStatus::Ok: return "ok";
	case DecodeStatus::Truncated: return "truncated";
	case DecodeStatus::NotIpv4OrIpv6: return "not IPv4 or IPv6";
	case DecodeStatus::NotUdpOrTcp: return "not UDP or TCP";
	case DecodeStatus::Fragment: return "non-first fragment";
	case DecodeStatus::BadHeader: return "bad header";
	}
	return "unknown";
}

DecodeStatus decode_ip(std::span<const uint8_t> ip_packet, PacketView& out, bool capture_cut)
{
	out = PacketView{};
	if (ip_packet.empty())
		return DecodeStatus::Truncated;
	switch (ip_packet[0] >> 4) {
	case 4: return decode_v4(ip_packet, out, capture_cut);
	case 6: return decode_v6(ip_packet, out, capture_cut);
	default: return DecodeStatus::NotIpv4OrIpv6;
	}
}

} // namespace sipguard::nfq
