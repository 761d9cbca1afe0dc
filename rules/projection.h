// SPDX-License-Identifier: GPL-2.0-or-later
// Projection of the agent's ban records (overlapping prefixes, each with its own expiry) onto non-overlapping kernel elements.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "agent/net/ip_address.h"

namespace sipguard::rules {

// The agent's clock (agent/detect/finding.h, agent/calls/events.h use the
// same type), so the ban manager's records convert without a cast.
using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;
// A record that never expires (no kernel timeout).
inline constexpr TimePoint kNever = TimePoint::max();

// The four ban sets of the table (rules/table.h names them).
enum class BanSet : uint8_t {
	Host4, // ban4: hash set of IPv4 hosts
	Host6, // ban6: hash set of IPv6 hosts
	Net4,  // bannet4: interval set of IPv4 ranges
	Net6,  // bannet6: interval set of IPv6 ranges
};
const char* set_name(BanSet set);
inline bool is_interval(BanSet set) { return set == BanSet::Net4 || set == BanSet::Net6; }

// One ban as the ban manager holds it. Records may overlap, nest and repeat.
struct BanRecord {
	net::Cidr target;
	TimePoint expires = kNever;
};

// One kernel element. Hosts are keys of ban4/ban6 (first == last); interval
// pieces are inclusive ranges [first, last] of bannet4/bannet6, written as a
// start element (key first, carrying the timeout) and an end element (key
// last + 1, flagged NFT_SET_ELEM_INTERVAL_END), the end left out when last is
// the top of the address space (rules/encode.h range_keys). A piece is a
// range, not necessarily a prefix: a /12 around a longer-lived /24 becomes
// three pieces.
struct BanPiece {
	BanSet set = BanSet::Host4;
	net::IpAddress first;
	net::IpAddress last;
	// Remaining time at the projection's `now`, rounded up to the
	// millisecond (a timeout of 0 would mean "never expires"); 0 = permanent.
	std::chrono::milliseconds timeout{0};

	friend bool operator==(const BanPiece&, const BanPiece&) = default;
};

struct Projection {
	std::vector<BanPiece> pieces;  // sorted by set, then first; no two interval pieces overlap
	std::vector<size_t> invalid;   // indices of records without a valid address or prefix length
	size_t expired = 0;            // records whose expiry is not after `now` (left out)
};

// Hosts (/32, /128) go to ban4/ban6, one element per address with the
// latest expiry of its records. Shorter prefixes go to bannet4/bannet6: each
// address covered by prefix records gets the latest expiry among them, and
// maximal runs of addresses with the same remaining time (to the ms) become
// one piece. So at any later time t the kernel, expiring pieces on its own,
// drops exactly the addresses some record still bans at t: a covered record
// that outlives its cover is already its own piece when the cover ends.
// IPv4-mapped IPv6 records (::ffff:0:0/96 and longer) are projected as the
// IPv4 records they mean (a packet from such a sender arrives as IPv4).
// A host may also lie inside an interval piece: the two sets are separate
// and the drop rules consult both, so that needs no merging.
Projection project(std::span<const BanRecord> records, TimePoint now);

// ::ffff:a.b.c.d/(96+n) -> a.b.c.d/n; anything else unchanged.
net::Cidr unmap_v4(const net::Cidr& c);
net::IpAddress unmap_v4(const net::IpAddress& a);

// The smallest list of prefixes whose union is [first, last], in order
// (for showing an interval piece as CIDRs).
std::vector<net::Cidr> prefix_cover(const net::IpAddress& first, const net::IpAddress& last);

// "192.0.2.0/24", "10.0.0.1-10.0.0.9" or a host address.
std::string piece_text(const net::IpAddress& first, const net::IpAddress& last);

} // namespace sipguard::rules
