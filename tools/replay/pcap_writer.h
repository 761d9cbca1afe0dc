// SPDX-License-Identifier: GPL-2.0-or-later
// Writes pcap files (nanosecond format, Ethernet or raw IP) with UDP and TCP
// packets built from addresses and a payload: used by the tests to script
// attack captures (svmap, svwar, svcrack, floods) for `sipguard replay`.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/net/ip_address.h"
#include "agent/util/clock.h"
#include "agent/util/status.h"

namespace sipguard::replay {

class PcapWriter {
public:
	enum class Link : uint8_t { Ethernet, EthernetVlan, Raw, Sll, Sll2, Null };

	PcapWriter() = default;
	~PcapWriter();
	PcapWriter(const PcapWriter&) = delete;
	PcapWriter& operator=(const PcapWriter&) = delete;

	// Creates `path` and writes the file header; a failure names the path.
	util::Status open(const std::string& path, Link link);
	bool close(); // flushes; false on a write error

	void udp(util::TimePoint ts, const net::IpAddress& src, uint16_t sport, const net::IpAddress& dst,
	         uint16_t dport, std::string_view payload);
	void tcp(util::TimePoint ts, const net::IpAddress& src, uint16_t sport, const net::IpAddress& dst,
	         uint16_t dport, uint32_t seq, uint8_t flags, std::string_view payload);
	// IPv4 UDP split into fragments of at most `mtu_payload` bytes (multiple of 8).
	void udp_fragmented_v4(util::TimePoint ts, const net::IpAddress& src, uint16_t sport,
	                       const net::IpAddress& dst, uint16_t dport, std::string_view payload, size_t mtu_payload,
	                       uint16_t ip_id);
	uint64_t packets() const { return packets_; }

	// The IP packet alone (no link header), for tests that feed decode_ip.
	static std::vector<uint8_t> build_ip(const net::IpAddress& src, uint16_t sport, const net::IpAddress& dst,
	                                     uint16_t dport, uint8_t proto, std::string_view l4_payload, uint32_t seq = 0,
	                                     uint8_t tcp_flags = 0);

private:
	void frame(util::TimePoint ts, std::span<const uint8_t> ip, bool v6);

	FILE* f_ = nullptr;
	Link link_ = Link::Ethernet;
	uint64_t packets_ = 0;
	bool error_ = false;
};

} // namespace sipguard::replay
