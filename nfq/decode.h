// SPDX-License-Identifier: GPL-2.0-or-later
// L3/L4 decoder: turns one IPv4 or IPv6 packet (as queued by NFQUEUE or read
// from a pcap) into a PacketView with addresses, ports and a payload view.
#pragma once

#include <cstdint>
#include <span>

#include "nfq/packet_view.h"

namespace sipguard::nfq {

enum class DecodeStatus : uint8_t {
	Ok,
	Truncated,     // a header or the payload promised by a length field is cut off
	NotIpv4OrIpv6, // version nibble is neither 4 nor 6
	NotUdpOrTcp,   // valid IP, other transport (ICMP, ESP, no next header, ...)
	Fragment,      // a non-first fragment: addresses set, `fragment` true, no ports
	BadHeader,     // a length or header field that cannot be right (IHL < 5, UDP length < 8, ...)
};

const char* to_string(DecodeStatus status);

// Decodes `ip_packet` (starting at the IP header; bytes after the IP total
// length, e.g. Ethernet padding, are ignored). `out` is reset first, then
// filled as far as decoding got: on Fragment and NotUdpOrTcp the addresses
// are valid; on Ok everything is.
//
// - IPv4: options skipped via IHL. The header checksum is not verified (the
//   kernel did so before queueing; pcap input is trusted as captured).
// - IPv6: hop-by-hop (must come first, RFC 8200 §4.1), routing, destination
//   options, fragment and AH headers are walked; at most 8 of them.
// - Fragments (IPv4 offset > 0, IPv6 fragment header offset > 0): Fragment.
//   A first fragment (offset 0, more-fragments set) decodes its L4 header,
//   sets `first_fragment`, and its payload is the bytes present in this
//   fragment only (the UDP length is not enforced for it). An atomic fragment
//   (RFC 6946: offset 0, M clear) is an ordinary packet.
// - UDP: the payload is bounded by the UDP length, which must fit in the IP
//   payload. TCP: the data offset is honoured; seq and flags are filled.
// - `capture_cut`: the queue copied only the start of a longer packet (the
//   kernel caps the copy range at 65531 bytes, and a reassembled datagram
//   reaches 65535, IPv6 65575). A UDP datagram is then decoded like a first
//   fragment (`first_fragment`, payload = the bytes present); anything else
//   cut short stays Truncated.
// - A datagram the kernel reassembled (nf_defrag_ipv4/ipv6) is an ordinary
//   packet: nf_ct_frag6_reasm removes the IPv6 fragment header and rewrites
//   the payload length; were a fragment header left (offset 0, M clear),
//   it would decode as the atomic fragment it then is.
//
// Never reads outside `ip_packet`, never allocates.
DecodeStatus decode_ip(std::span<const uint8_t> ip_packet, PacketView& out, bool capture_cut = false);

} // namespace sipguard::nfq
