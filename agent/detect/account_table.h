// SPDX-License-Identifier: GPL-2.0-or-later
// The accounts (digest usernames) under judgement, shared by all engine
// shards: the kernel spreads sources over queues by address, so what one
// account suffers from many sources is only seen by a table they share.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string_view>

#include "agent/detect/config.h"
#include "agent/detect/source_state.h"
#include "agent/util/bounded_table.h"
#include "agent/util/clock.h"
#include "agent/util/hash.h"

namespace sipguard::detect {

// Fixed capacity (CLOCK eviction, counted), a seeded hash of its own so that
// shards with different seeds name an account alike. A mutex guards it; it
// is taken for failed authentications only (the slow path: each one cost
// the PBX a digest check and a response), never for a benign request.
class AccountTable {
public:
	explicit AccountTable(size_t capacity, uint64_t seed = util::kDefaultHashSeed);
	AccountTable(const AccountTable&) = delete;
	AccountTable& operator=(const AccountTable&) = delete;

	// The key of an account name (exact bytes: digest usernames are
	// case-sensitive, RFC 7616 §3.4.4); never 0.
	uint64_t hash(std::string_view name) const { return util::hash_text(name, seed_) | 1; }

	// What the table knows of an account after a failure was added.
	struct Failure {
		uint32_t failures = 0;     // for the account from all sources within the window
		uint32_t sources = 0;      // distinct failing addresses within the guard window (up to kSources)
		bool guarded = false;      // the account is under attack from several sources
		bool newly_guarded = false; // ... since this failure
		bool evicted = false;      // recording it pushed another account out
	};
	// A failed authentication (or credentials refused while guarded) for
	// `account` from the source whose address hashes to `source` (any fixed
	// hash; only compared). `cfg` says when the account becomes guarded.
	Failure on_failure(uint64_t account, uint64_t source, util::TimePoint now, util::Millis window,
	                   const AccountConfig& cfg);
	// Is `account` guarded? Without any guarded account (the usual case) a
	// single atomic load, no lock.
	bool guarded(uint64_t account, util::TimePoint now) const;

	// One request with `account`'s credentials under a rate limit (Rate
	// rate > 0): false when its bucket is empty. `report` is set on the
	// first refusal of a minute (all shards together); `dropped` counts the
	// refusals since the last report.
	bool take(uint64_t account, const Rate& rate, util::TimePoint now, bool& report, uint64_t& dropped);

	size_t capacity() const { return table_.capacity(); }
	size_t bytes() const { return table_.bytes(); }
	uint64_t evictions() const;

	static constexpr size_t kSources = 8;

private:
	struct Entry {
		uint64_t account = 0;
		util::TimePoint window_start{};
		uint32_t failures = 0;
		uint8_t next_source = 0;
		std::array<uint64_t, kSources> sources{};
		std::array<util::TimePoint, kSources> source_at{};
		TokenBucket bucket;
		util::TimePoint reported{};
		uint64_t dropped = 0;
		util::TimePoint guarded_until{};
	};
	// The entry of `account`, inserted (evicting the CLOCK victim) when absent.
	Entry& get(uint64_t account, bool& evicted);

	mutable std::mutex mu_;
	util::BoundedTable<Entry> table_;
	uint64_t seed_;
	// The latest guarded_until of any account (nanoseconds): past it no
	// account is guarded and guarded() needs no lock.
	std::atomic<int64_t> guard_end_{0};
};

} // namespace sipguard::detect
