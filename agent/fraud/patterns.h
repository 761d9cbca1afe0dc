// SPDX-License-Identifier: GPL-2.0-or-later
// Per-account call patterns: sliding-window counts of one account's calls
// compared with PatternConfig's warn and critical levels, and the learned
// baseline of countries each account has called. Fixed-size state per
// account in an LRU table; no allocation per call.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/fraud/config.h"
#include "agent/fraud/guard.h"
#include "agent/fraud/number.h"
#include "agent/util/clock.h"
#include "agent/util/lru_table.h"
#include "agent/util/status.h"

namespace sipguard::fraud {

// Counts in N buckets of a fixed width; the total covers the last N
// buckets including the current one (a sliding window at bucket
// granularity).
template <size_t N>
struct Window {
	int64_t last = INT64_MIN; // bucket number of counts[last % N]
	uint32_t counts[N] = {};
	uint32_t sum = 0;         // of counts

	void advance(int64_t bucket)
	{
		if (last != INT64_MIN && bucket <= last)
			return;
		if (last == INT64_MIN || bucket - last >= static_cast<int64_t>(N)) {
			for (uint32_t& c : counts)
				c = 0;
			sum = 0;
		} else {
			for (int64_t b = last + 1; b <= bucket; ++b) {
				uint32_t& c = counts[static_cast<size_t>(b % static_cast<int64_t>(N))];
				sum -= c;
				c = 0;
			}
		}
		last = bucket;
	}
	// Adds one in `bucket` (an older bucket counts in the newest) and returns the total.
	uint32_t add(int64_t bucket)
	{
		advance(bucket);
		++counts[static_cast<size_t>(last % static_cast<int64_t>(N))];
		return ++sum;
	}
	uint32_t total(int64_t bucket)
	{
		advance(bucket);
		return sum;
	}
	// Empty again; the counts are cleared by the next advance().
	void reset()
	{
		last = INT64_MIN;
		sum = 0;
	}
};

inline constexpr size_t kMaxAccountName = 64;
inline constexpr size_t kInternationalSlots = 128; // fraud.pattern.international_per_hour_* at most this
inline constexpr size_t kAccountCountries = 8;     // per-account summary rows, the last one "other" when full

struct AccountState {
	char name[kMaxAccountName] = {}; // cut to fit; compared with its length and full hash
	uint8_t name_len = 0;
	uint16_t full_len = 0;
	uint64_t hash = 0;

	Window<60> minute;         // 1 s buckets
	Window<24> day;            // 1 h buckets
	Window<60> denied;         // 1 min buckets
	Window<60> after_hours;    // 1 min buckets
	Window<24> new_countries;  // 1 h buckets
	uint64_t last_number = 0;  // hash of the last number called
	uint32_t same_run = 0;
	uint32_t concurrent = 0;
	struct Recent {
		uint32_t number = 0;   // hash of an international number (low bits)
		int32_t minute = INT32_MIN;
	};
	Recent international[kInternationalSlots] = {};
	// international[0, used) have been filled; the rest are empty (they fill in order).
	uint32_t international_used = 0;
	std::bitset<NumberTables::kMaxCountries> countries; // baseline: country ids called
	struct Use {
		int32_t country = kNoCountry; // id; kOther: every country once the slots are full
		uint32_t calls = 0;
		uint64_t seconds = 0;
	};
	static constexpr int32_t kNoCountry = -1;
	static constexpr int32_t kOther = -2;
	Use use[kAccountCountries] = {}; // answered calls per country
};

struct PatternFinding {
	Pattern pattern = Pattern::CallsPerMinute;
	bool critical = false;
	uint32_t count = 0;
	uint32_t threshold = 0;
};

class Patterns {
public:
	Patterns(const PatternConfig& config, size_t max_accounts, uint64_t seed);

	void set_config(const PatternConfig& config) { config_ = config; }

	struct Call {
		std::string_view account;
		const Number* number = nullptr;
		util::TimePoint now{};
		bool after_hours = false; // outside business hours (clock_offset applied)
		bool denied = false;      // denied by policy or a bad-number list
	};

	// The seeded hash the table keys accounts by: callers that hold it pass
	// it on instead of hashing the name again.
	uint64_t hash_of(std::string_view account) const;
	// The account's slot, created (or its LRU entry refreshed) now; valid
	// until the next call that may insert (observe, call_started, record_use).
	uint32_t slot(std::string_view account, uint64_t hash) { return get_slot(account, hash); }

	// Counts an external call (not internal, not emergency) against its
	// account and returns how many thresholds it reached (0: none). `worst`
	// is the first critical finding in Pattern order, else the first warning.
	// A warning fires when a count reaches its level exactly (once per
	// crossing); a critical level fires at and above it. `warn_hits` and
	// `critical_hits` are incremented per pattern.
	uint32_t observe(const Call& call, PatternFinding& worst, std::array<uint64_t, kPatternCount>& warn_hits,
	                 std::array<uint64_t, kPatternCount>& critical_hits)
	{
		return observe(get_slot(call.account, hash_of(call.account)), call, worst, warn_hits, critical_hits);
	}
	// The same for the account at `slot` (from slot()).
	uint32_t observe(uint32_t slot, const Call& call, PatternFinding& worst,
	                 std::array<uint64_t, kPatternCount>& warn_hits,
	                 std::array<uint64_t, kPatternCount>& critical_hits);
	// A call allowed through (concurrent calls) and its end.
	void call_started(std::string_view account) { call_started_at(get_slot(account, hash_of(account))); }
	void call_started_at(uint32_t slot) { ++accounts_[slot].concurrent; }
	void call_ended(std::string_view account) { call_ended(account, hash_of(account)); }
	void call_ended(std::string_view account, uint64_t hash);

	// An answered call (calls = 1) or an ended one's seconds, per country id (not -1).
	void record_use(std::string_view account, int32_t country, uint32_t calls, uint64_t seconds)
	{
		record_use(account, hash_of(account), country, calls, seconds);
	}
	void record_use(std::string_view account, uint64_t hash, int32_t country, uint32_t calls, uint64_t seconds);
	// Calls f(account, const AccountState&) for every live account.
	template <class F>
	void for_each_account(F&& f) const
	{
		for (size_t s = 0; s < accounts_.capacity(); ++s) {
			const auto slot = static_cast<uint32_t>(s);
			const AccountState& a = accounts_[slot];
			if (a.name_len > 0 && slot_of(std::string_view(a.name, a.name_len), a.hash) == slot)
				f(std::string_view(a.name, a.name_len), a);
		}
	}

	uint64_t evictions() const { return accounts_.evictions(); }
	size_t size() const { return accounts_.size(); }
	const AccountState* find(std::string_view account) const;

	// "account<TAB>code,code,...\n" per account with a baseline; restore
	// takes the same text (unknown codes are skipped, bad lines are errors
	// "source:line: what").
	std::string save_baseline(const NumberTables& tables);
	util::Status restore_baseline(std::string_view text, std::string_view source, const NumberTables& tables);
	// The tables changed (reconfigure): carry each baseline over by country code.
	void remap_countries(const NumberTables& from, const NumberTables& to);

private:
	uint32_t slot_of(std::string_view account, uint64_t h) const;
	uint32_t get_slot(std::string_view account, uint64_t h);
	[[gnu::noinline]] uint32_t create(std::string_view account, uint64_t h); // a new account's slot, reset
	AccountState& get(std::string_view account) { return accounts_[get_slot(account, hash_of(account))]; }

	PatternConfig config_;
	uint64_t seed_;
	util::LruTable<AccountState> accounts_;
};

} // namespace sipguard::fraud
