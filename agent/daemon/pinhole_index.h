// SPDX-License-Identifier: GPL-2.0-or-later
// The media pinholes the kernel should hold (remote . local port, with an
// expiry), mirrored from every pinhole request, so a check can put back what
// the kernel lost (a deleted table, a flushed set). Fixed capacity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "agent/calls/events.h"
#include "agent/net/ip_address.h"
#include "agent/util/bounded_table.h"
#include "agent/util/clock.h"
#include "rules/elements.h"

namespace sipguard::daemon {

// Not thread-safe: KernelSync locks it. Allocates only at construction, so a
// queue thread's update costs no allocation.
class PinholeIndex {
public:
	// `capacity`: the media sets' size (no more pinholes fit in the kernel).
	PinholeIndex(size_t capacity, uint64_t hash_seed);

	// Open and Refresh set the expiry to `now` + the update's timeout (the
	// kernel timeout the writer is given); Close forgets the pinhole. When
	// full, the entry the CLOCK hand finds unused goes (counted).
	void update(const calls::PinholeUpdate& u, util::TimePoint now);

	// Every pinhole whose expiry is still ahead, with the remaining time as
	// kernel timeout (whole seconds, rounded up); expired ones are dropped.
	std::vector<rules::MediaElement> live(util::TimePoint now);

	size_t size() const { return table_.size(); }
	uint64_t evictions() const { return table_.evictions(); }

private:
	struct Entry {
		net::IpAddress addr;
		uint16_t port = 0;
		util::TimePoint until{};
	};
	uint64_t hash(const net::IpAddress& addr, uint16_t port) const;

	util::BoundedTable<Entry> table_;
	uint64_t seed_;
};

} // namespace sipguard::daemon
