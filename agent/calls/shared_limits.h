// SPDX-License-Identifier: GPL-2.0-or-later
// The per-user and per-trunk call-limit counters, one table shared by every
// tracker shard: the kernel spreads remote addresses over the queues, so a
// user calling from several addresses, or a trunk with several, would reach
// `daemon.queues` times its limit with a table per shard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <vector>

#include "agent/calls/config.h"
#include "agent/util/clock.h"
#include "agent/util/hash.h"
#include "agent/util/lru_table.h"

namespace sipguard::calls {

// The outcome of a limit check.
struct LimitCheck {
	bool over = false;
	bool report = false; // the first refusal of this key within a minute (all shards together)
	uint32_t count = 0;
	uint32_t limit = 0;
	std::string_view reason; // static text
};

// A mutex guards it, taken only for a new INVITE, a verified call or a call's
// end, and only while a per-user or trunk limit is set: INVITEs are rare
// next to packets, and with every limit off (the default) it is never taken.
// Fixed capacity: the users are an LRU table (evictions counted); trunks an
// array by the index of `calls.trunk`.
class SharedLimits {
public:
	SharedLimits(size_t max_users, size_t trunks, uint64_t seed = util::kDefaultHashSeed);
	SharedLimits(const SharedLimits&) = delete;
	SharedLimits& operator=(const SharedLimits&) = delete;

	// The key of a digest username (exact bytes, RFC 7616 §3.4.4) under the
	// table's own seed, so that shards with different seeds name a user
	// alike; never 0.
	uint64_t user_key(std::string_view user) const { return util::hash_text(user, seed_) | 1; }
	size_t trunks() const { return trunks_.size(); }

	// A new INVITE from or to `trunk`: refused when over `l`, else, under
	// the same lock, its attempt (not for `retry`, the credentialed repeat
	// of an INVITE admitted a moment ago, whose concurrency alone is
	// checked) and its concurrent call are counted: two queue threads
	// cannot both take the last call.
	LimitCheck admit_trunk(size_t trunk, const Limits& l, bool retry, util::TimePoint now);
	// Undoes admit_trunk (another limit refused the call after all).
	void unadmit_trunk(size_t trunk, bool retry);
	// An admitted call ended.
	void trunk_call_ended(size_t trunk);

	// A new INVITE with `user`'s credentials: refused when the user's
	// verified calls are over `l`. Counts nothing: the credentials are
	// whatever the sender wrote until the PBX accepts them (user_verified).
	LimitCheck check_user(uint64_t user, const Limits& l, util::TimePoint now);
	// The PBX accepted `user`'s credentials for a call: one attempt, and one
	// concurrent call while `concurrent`. True when an entry was evicted.
	bool user_verified(uint64_t user, bool concurrent, util::TimePoint now);
	void user_call_ended(uint64_t user);

	// Tests and metrics.
	uint32_t user_concurrent(uint64_t user) const;
	uint32_t trunk_concurrent(size_t trunk) const;

private:
	struct Counts {
		uint64_t key = 0;
		uint32_t concurrent = 0;
		uint32_t attempts = 0;
		util::TimePoint attempts_since{};
		util::TimePoint last_report{};
	};
	static LimitCheck over(const Limits& l, Counts& c, bool check_attempts, util::TimePoint now);
	Counts* find_user(uint64_t user);
	const Counts* find_user(uint64_t user) const;

	mutable std::mutex mu_;
	util::LruTable<Counts> users_;
	std::vector<Counts> trunks_;
	uint64_t seed_;
};

} // namespace sipguard::calls
