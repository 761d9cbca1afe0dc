// SPDX-License-Identifier: GPL-2.0-or-later
// The shared account table: failures per account from all shards.
#include "agent/detect/account_table.h"

namespace sipguard::detect {

AccountTable::AccountTable(size_t capacity, uint64_t seed) : table_(capacity), seed_(seed) {}

uint64_t AccountTable::evictions() const
{
	std::lock_guard lock(mu_);
	return table_.evictions();
}

AccountTable::Entry& AccountTable::get(uint64_t account, bool& evicted)
{
	const uint64_t h = util::mix64(account ^ seed_);
	uint32_t s = table_.find(h, [&](const Entry& e) { return e.account == account; });
	evicted = false;
	if (s == util::kNoSlot) {
		if (table_.full()) {
			table_.evict(table_.clock_victim());
			evicted = true;
		}
		s = table_.insert(h);
		table_[s] = Entry{};
		table_[s].account = account;
	}
	table_.touch(s);
	return table_[s];
}

AccountTable::Failure AccountTable::on_failure(uint64_t account, uint64_t source, util::TimePoint now,
                                               util::Millis window, const AccountConfig& cfg)
{
	std::lock_guard lock(mu_);
	Failure out;
	Entry& e = get(account, out.evicted);
	if (restart_window(e.window_start, now, window))
		e.failures = 0;
	out.failures = ++e.failures;
	bool found = false;
	for (size_t i = 0; i < kSources; ++i)
		if (e.sources[i] == source) {
			e.source_at[i] = now;
			found = true;
		}
	if (!found) {
		e.sources[e.next_source] = source;
		e.source_at[e.next_source] = now;
		e.next_source = static_cast<uint8_t>((e.next_source + 1) % kSources);
	}
	for (size_t i = 0; i < kSources; ++i)
		out.sources += (e.source_at[i] != util::TimePoint{} && now - e.source_at[i] <= cfg.guard_window) ? 1 : 0;
	const bool was = e.guarded_until > now;
	if (cfg.enabled && (was || out.sources >= cfg.guard_sources)) {
		// Each further failure keeps it guarded.
		e.guarded_until = now + cfg.guard_time;
		const int64_t end = e.guarded_until.time_since_epoch().count();
		int64_t cur = guard_end_.load(std::memory_order_relaxed);
		while (cur < end && !guard_end_.compare_exchange_weak(cur, end, std::memory_order_release))
			;
		out.guarded = true;
		out.newly_guarded = !was;
	}
	return out;
}

bool AccountTable::guarded(uint64_t account, util::TimePoint now) const
{
	if (now.time_since_epoch().count() >= guard_end_.load(std::memory_order_acquire))
		return false;
	std::lock_guard lock(mu_);
	const uint32_t s = table_.find(util::mix64(account ^ seed_), [&](const Entry& e) { return e.account == account; });
	return s != util::kNoSlot && table_[s].guarded_until > now;
}

bool AccountTable::take(uint64_t account, const Rate& rate, util::TimePoint now, bool& report, uint64_t& dropped)
{
	std::lock_guard lock(mu_);
	bool evicted = false;
	Entry& e = get(account, evicted);
	report = false;
	if (e.bucket.take(rate, 1.0, now))
		return true;
	++e.dropped;
	if (e.reported == util::TimePoint{} || now - e.reported >= std::chrono::minutes(1)) {
		report = true;
		dropped = e.dropped;
		e.dropped = 0;
		e.reported = now;
	}
	return false;
}

} // namespace sipguard::detect
