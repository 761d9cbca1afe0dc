// SPDX-License-Identifier: GPL-2.0-or-later
// The pinhole mirror that lets a kernel check re-add lost media elements.
#include "agent/daemon/pinhole_index.h"

#include <chrono>

#include "agent/util/hash.h"

namespace sipguard::daemon {

PinholeIndex::PinholeIndex(size_t capacity, uint64_t hash_seed) : table_(capacity), seed_(hash_seed) {}

uint64_t PinholeIndex::hash(const net::IpAddress& addr, uint16_t port) const
{
	return util::hash_combine(net::hash_address(addr, seed_), port);
}

void PinholeIndex::update(const calls::PinholeUpdate& u, util::TimePoint now)
{
	const uint64_t h = hash(u.remote, u.local_port);
	uint32_t slot = table_.find(h, [&u](const Entry& e) { return e.addr == u.remote && e.port == u.local_port; });
	if (u.op == calls::PinholeOp::Close) {
		if (slot != util::kNoSlot)
			table_.erase(slot);
		return;
	}
	if (slot == util::kNoSlot) {
		if (table_.full())
			table_.evict(table_.clock_victim());
		slot = table_.insert(h);
		table_[slot].addr = u.remote;
		table_[slot].port = u.local_port;
	} else {
		table_.touch(slot);
	}
	table_[slot].until = now + u.timeout;
}

std::vector<rules::MediaElement> PinholeIndex::live(util::TimePoint now)
{
	std::vector<rules::MediaElement> out;
	std::vector<uint32_t> expired;
	out.reserve(table_.size());
	table_.for_each([&](const Entry& e) {
		if (e.until <= now)
			expired.push_back(table_.slot_of(e));
		else
			out.push_back({e.addr, e.port, std::chrono::ceil<std::chrono::seconds>(e.until - now)});
	});
	for (uint32_t s : expired)
		table_.erase(s);
	return out;
}

} // namespace sipguard::daemon
