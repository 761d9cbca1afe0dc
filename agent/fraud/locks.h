// SPDX-License-Identifier: GPL-2.0-or-later
// Account locks: a critical finding locks the account for the next step of
// a ladder (1h, 6h, 24h, 7d by default); steps are forgotten after
// lock_forget. Fixed-size table; no allocation when locking or checking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/fraud/guard.h"
#include "agent/fraud/patterns.h"
#include "agent/util/bounded_table.h"
#include "agent/util/clock.h"
#include "agent/util/status.h"

namespace sipguard::fraud {

class Locks {
public:
	Locks(size_t capacity, std::vector<util::Duration> ladder, util::Duration forget, uint64_t seed);

	void set_ladder(std::vector<util::Duration> ladder, util::Duration forget);

	struct Lock {
		uint32_t step = 0; // 1-based
		util::Duration duration{};
		util::TimePoint until{};
	};
	// Locks (or re-locks) the account from `now` for its next ladder step.
	Lock lock(std::string_view account, util::TimePoint now, std::string_view reason);

	// The account's stopped-calls counter when it is locked at `now` (the
	// caller increments it), else null.
	uint32_t* locked(std::string_view account, util::TimePoint now)
	{
		return locked(account, hash_of(account), now);
	}
	// The same with the account's hash_of() known.
	uint32_t* locked(std::string_view account, uint64_t hash, util::TimePoint now);
	uint64_t hash_of(std::string_view account) const;

	// True when the account was locked at `now`; the ladder step is kept.
	bool unlock(std::string_view account, util::TimePoint now);
	bool is_locked(std::string_view account, util::TimePoint now) const;
	// Forgets ladder history older than lock_forget.
	void expire(util::TimePoint now);
	std::vector<LockInfo> list(util::TimePoint now) const;
	size_t evictions() const { return table_.evictions(); }

	// "account<TAB>since_ns<TAB>until_ns<TAB>step<TAB>stopped<TAB>reason\n"
	// per entry (expired ones too: they carry the ladder step).
	std::string save() const;
	util::Status restore(std::string_view text, std::string_view source);

private:
	struct Entry {
		char name[kMaxAccountName] = {};
		uint8_t name_len = 0;
		uint64_t hash = 0;
		util::TimePoint since{}, until{};
		uint32_t step = 0;
		uint32_t stopped = 0;
		char reason[48] = {};
	};
	uint32_t find(std::string_view account) const;
	uint32_t find(std::string_view account, uint64_t hash) const;
	Entry& get(std::string_view account);

	std::vector<util::Duration> ladder_;
	util::Duration forget_;
	uint64_t seed_;
	util::BoundedTable<Entry> table_;
};

} // namespace sipguard::fraud
