// SPDX-License-Identifier: GPL-2.0-or-later
// Bounded IPv4/IPv6 fragment reassembly for replay (RFC 791 §3.2, RFC 8200
// §4.5): at most kMaxDatagrams in progress, each at most 64 KiB, dropped
// after kTimeout of capture time; overlapping fragments keep the first copy.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "agent/net/ip_address.h"
#include "agent/util/clock.h"

namespace sipguard::replay {

class Reassembler {
public:
	static constexpr size_t kMaxDatagrams = 64;
	static constexpr size_t kMaxFragments = 64; // per datagram
	static constexpr std::chrono::seconds kTimeout{30};

	enum class Result : uint8_t {
		NotFragment, // `ip` is not a fragment: use it as is
		Pending,     // fragment stored, datagram incomplete
		Complete,    // `out` holds the reassembled IP packet
		Dropped,     // invalid or over a bound (counted)
	};

	Reassembler();
	// `ip` starts at an IPv4/IPv6 header. On Complete, `out` views a buffer
	// owned by the reassembler, valid until the next call.
	Result feed(std::span<const uint8_t> ip, util::TimePoint now, std::span<const uint8_t>& out);

	uint64_t completed() const { return completed_; }
	uint64_t dropped() const { return dropped_; }
	uint64_t timeouts() const { return timeouts_; }
	uint64_t evictions() const { return evictions_; }

private:
	struct Datagram {
		bool used = false;
		bool v6 = false;
		net::IpAddress src, dst;
		uint32_t id = 0;
		uint8_t proto = 0;
		util::TimePoint first{};
		std::vector<uint8_t> header;  // unfragmentable part, rewritten on completion
		std::vector<uint8_t> payload; // 64 KiB, reserved once
		std::array<std::pair<uint32_t, uint32_t>, kMaxFragments> ranges{};
		size_t range_count = 0;
		int64_t total = -1; // known once the last fragment arrived
	};
	Datagram* slot_for(bool v6, const net::IpAddress& src, const net::IpAddress& dst, uint32_t id, uint8_t proto,
	                   util::TimePoint now);
	Result add(Datagram& d, uint32_t offset, std::span<const uint8_t> data, bool more, std::span<const uint8_t>& out);

	std::array<Datagram, kMaxDatagrams> slots_;
	std::vector<uint8_t> out_;
	uint64_t completed_ = 0, dropped_ = 0, timeouts_ = 0, evictions_ = 0;
};

} // namespace sipguard::replay
