// SPDX-License-Identifier: GPL-2.0-or-later
// (source address, account) pairs of one engine shard: whether the account
// authenticated from that source, its recent failures there, and whether
// its requests from there are blocked. A source's packets all reach one
// shard, so the table needs no lock.
#pragma once

#include <cstddef>
#include <cstdint>

#include "agent/net/ip_address.h"
#include "agent/util/bounded_table.h"
#include "agent/util/clock.h"
#include "agent/util/hash.h"

namespace sipguard::detect {

struct PairState {
	util::TimePoint failures_since{}; // the failure window's start
	uint16_t failures = 0;            // failed authentications in the window
	uint16_t blocks = 0;              // blocks so far: the ladder's step of the next one
	bool succeeded = false;           // the account authenticated from this source
	util::TimePoint blocked_until{};
	uint32_t dropped = 0;             // requests dropped while blocked
	uint64_t guarded_txn = 0;         // the last transaction dropped for a guarded account
};

// Fixed capacity, CLOCK eviction (counted): a pair that keeps
// authenticating is touched and stays, and one that ever authenticated is
// passed over for one that never did.
class PairTable {
public:
	explicit PairTable(size_t capacity) : table_(capacity) {}

	// `source_hash`: net::hash_address of `addr` under the shard's seed.
	PairState* find(const net::IpAddress& addr, uint64_t source_hash, uint64_t account)
	{
		const uint32_t s = table_.find(util::hash_combine(source_hash, account),
		                               [&](const Entry& e) { return e.account == account && e.addr == addr; });
		if (s == util::kNoSlot)
			return nullptr;
		table_.touch(s);
		return &table_[s].value;
	}
	PairState& find_or_insert(const net::IpAddress& addr, uint64_t source_hash, uint64_t account)
	{
		if (PairState* p = find(addr, source_hash, account))
			return *p;
		if (table_.full()) {
			// A pair that authenticated keeps its account's phone in service
			// while the account is guarded; a spoofed flood inserts only pairs
			// that never did: those go first (a few passes of the hand at most).
			uint32_t victim = table_.clock_victim();
			for (int i = 0; i < kSpareSucceeded && table_[victim].value.succeeded; ++i) {
				table_.touch(victim);
				victim = table_.clock_victim();
			}
			table_.evict(victim);
		}
		const uint32_t s = table_.insert(util::hash_combine(source_hash, account));
		table_[s] = Entry{addr, account, PairState{}};
		return table_[s].value;
	}

	size_t bytes() const { return table_.bytes(); }
	uint64_t evictions() const { return table_.evictions(); }

private:
	static constexpr int kSpareSucceeded = 8;
	struct Entry {
		net::IpAddress addr;
		uint64_t account = 0;
		PairState value;
	};
	util::BoundedTable<Entry> table_;
};

} // namespace sipguard::detect
