// SPDX-License-Identifier: GPL-2.0-or-later
// One decoded IP packet as the agent sees it: addresses, ports, L4 protocol and
// a view of the payload. Produced by nfq::decode from a queued packet and by
// the pcap reader in `sipguard replay`; consumed by the engine.
#pragma once

#include <cstdint>
#include <span>

#include "agent/net/ip_address.h"

namespace sipguard::nfq {

// In: sent to the protected host (a request from a phone or scanner, or a
// response to the PBX's own request). Out: sent by the protected host.
enum class Direction : uint8_t { In, Out };

enum class L4 : uint8_t { Other = 0, Tcp = 6, Udp = 17 };

struct PacketView {
	net::IpAddress src;
	net::IpAddress dst;
	uint16_t sport = 0;
	uint16_t dport = 0;
	L4 l4 = L4::Other;
	// TCP only: sequence number and flags, for the per-flow framer.
	uint32_t tcp_seq = 0;
	uint8_t tcp_flags = 0;
	bool fragment = false; // a non-first fragment or one the decoder could not reassemble
	// Only the start of the datagram is here: the first fragment of a
	// fragmented one, or a UDP datagram longer than the queue's copy range.
	// Ports are valid; the payload must not be judged as a whole (truncated)
	// SIP message. Our table has the kernel reassemble before the queue
	// (rules/README.md, "Reassembly"), so the queue sees first fragments only
	// on a kernel without tproxy or ct (IPv6; IPv4 is reassembled before
	// LOCAL_IN by ip_local_deliver anyway).
	bool first_fragment = false;
	std::span<const uint8_t> payload;

	// The far end of the packet as seen from the protected host.
	const net::IpAddress& remote(Direction d) const { return d == Direction::In ? src : dst; }
	uint16_t remote_port(Direction d) const { return d == Direction::In ? sport : dport; }
	uint16_t local_port(Direction d) const { return d == Direction::In ? dport : sport; }
};

} // namespace sipguard::nfq
