// SPDX-License-Identifier: GPL-2.0-or-later
// Reads a capture with libpcap and yields IP packets: strips the link layer
// (Ethernet with VLAN tags, Linux cooked SLL/SLL2, raw IP, BSD null/loop),
// unwraps IP-in-IP and reassembles IPv4/IPv6 fragments in a bounded table.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <pcap/pcap.h>

#include "agent/util/clock.h"
#include "agent/util/status.h"
#include "tools/replay/reassembly.h"

namespace sipguard::replay {

// Owns a pcap_t (libpcap handle).
class PcapHandle {
public:
	PcapHandle() = default;
	explicit PcapHandle(pcap_t* p) : p_(p) {}
	~PcapHandle()
	{
		if (p_)
			pcap_close(p_);
	}
	PcapHandle(PcapHandle&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
	PcapHandle& operator=(PcapHandle&& o) noexcept
	{
		if (this != &o) {
			if (p_)
				pcap_close(p_);
			p_ = o.p_;
			o.p_ = nullptr;
		}
		return *this;
	}
	PcapHandle(const PcapHandle&) = delete;
	PcapHandle& operator=(const PcapHandle&) = delete;
	pcap_t* get() const { return p_; }
	[[nodiscard]] pcap_t* release()
	{
		pcap_t* p = p_;
		p_ = nullptr;
		return p;
	}

private:
	pcap_t* p_ = nullptr;
};

struct SourceCounters {
	uint64_t frames = 0;
	uint64_t non_ip = 0;        // ARP, LLDP, ...
	uint64_t truncated = 0;     // caplen shorter than the headers
	uint64_t tunnels = 0;       // IP-in-IP layers unwrapped
	uint64_t fragments = 0;     // fragments fed to the reassembler
	uint64_t reassembled = 0;   // datagrams completed from fragments
	uint64_t unsupported_link = 0;
};

class PcapSource {
public:
	// Opens `path`; a failure says "PATH: libpcap's error" (or the link type
	// it cannot strip).
	util::Status open(const std::string& path);
	int linktype() const { return linktype_; }

	// The next IP packet (after link stripping, tunnels and reassembly):
	// false at the end of the capture. `frame_no` is the 1-based number of
	// the frame that produced it (the last fragment for reassembled ones).
	bool next(std::span<const uint8_t>& ip, util::TimePoint& ts, uint64_t& frame_no);

	const SourceCounters& counters() const { return counters_; }
	const Reassembler& reassembler() const { return reasm_; }

private:
	// Strips the link layer; returns false for non-IP frames.
	bool strip_link(std::span<const uint8_t> frame, std::span<const uint8_t>& ip);

	PcapHandle handle_;
	int linktype_ = 0;
	uint64_t frame_no_ = 0;
	SourceCounters counters_;
	Reassembler reasm_;
};

} // namespace sipguard::replay
