// SPDX-License-Identifier: GPL-2.0-or-later
// Per-user and per-trunk call-limit counters shared by the tracker shards.
#include "agent/calls/shared_limits.h"

namespace sipguard::calls {

namespace {

constexpr auto kMinute = std::chrono::seconds(60);

// Fixed one-minute windows: simple, bounded, and at most 2x the limit across
// a window edge, which is fine for a guard meant never to bite normal traffic.
void roll_minute(uint32_t& attempts, util::TimePoint& since, util::TimePoint now)
{
	if (since == util::TimePoint{} || now - since >= kMinute || now < since) {
		attempts = 0;
		since = now;
	}
}

} // namespace

SharedLimits::SharedLimits(size_t max_users, size_t trunks, uint64_t seed)
	: users_(max_users), trunks_(trunks), seed_(seed)
{
}

LimitCheck SharedLimits::over(const Limits& l, Counts& c, bool check_attempts, util::TimePoint now)
{
	LimitCheck out;
	roll_minute(c.attempts, c.attempts_since, now);
	if (l.max_concurrent_calls && c.concurrent >= l.max_concurrent_calls) {
		out = {true, false, c.concurrent, l.max_concurrent_calls, "concurrent calls at the limit"};
	} else if (check_attempts && l.max_call_attempts_per_minute && c.attempts >= l.max_call_attempts_per_minute) {
		out = {true, false, c.attempts, l.max_call_attempts_per_minute, "call attempts per minute at the limit"};
	} else {
		return out;
	}
	// At most one finding per key and minute: the drops are counted anyway.
	if (c.last_report == util::TimePoint{} || now - c.last_report >= kMinute || now < c.last_report) {
		out.report = true;
		c.last_report = now;
	}
	return out;
}

LimitCheck SharedLimits::admit_trunk(size_t trunk, const Limits& l, bool retry, util::TimePoint now)
{
	if (trunk >= trunks_.size())
		return {};
	std::lock_guard lock(mu_);
	Counts& c = trunks_[trunk];
	LimitCheck out = over(l, c, !retry, now);
	if (!out.over) {
		c.attempts += retry ? 0 : 1;
		++c.concurrent;
	}
	return out;
}

void SharedLimits::unadmit_trunk(size_t trunk, bool retry)
{
	if (trunk >= trunks_.size())
		return;
	std::lock_guard lock(mu_);
	Counts& c = trunks_[trunk];
	c.concurrent -= c.concurrent > 0;
	if (!retry)
		c.attempts -= c.attempts > 0;
}

void SharedLimits::trunk_call_ended(size_t trunk)
{
	if (trunk >= trunks_.size())
		return;
	std::lock_guard lock(mu_);
	uint32_t& c = trunks_[trunk].concurrent;
	c -= c > 0;
}

SharedLimits::Counts* SharedLimits::find_user(uint64_t user)
{
	const uint32_t s = users_.find(util::mix64(user ^ seed_), [&](const Counts& c) { return c.key == user; });
	return s == util::kNoSlot ? nullptr : &users_[s];
}

const SharedLimits::Counts* SharedLimits::find_user(uint64_t user) const
{
	const uint32_t s = users_.find(util::mix64(user ^ seed_), [&](const Counts& c) { return c.key == user; });
	return s == util::kNoSlot ? nullptr : &users_[s];
}

LimitCheck SharedLimits::check_user(uint64_t user, const Limits& l, util::TimePoint now)
{
	std::lock_guard lock(mu_);
	Counts* c = find_user(user);
	return c ? over(l, *c, true, now) : LimitCheck{};
}

bool SharedLimits::user_verified(uint64_t user, bool concurrent, util::TimePoint now)
{
	std::lock_guard lock(mu_);
	bool evicted = false;
	Counts* c = find_user(user);
	if (!c) {
		evicted = users_.full();
		const uint32_t s = users_.insert(util::mix64(user ^ seed_));
		users_[s] = Counts{};
		users_[s].key = user;
		c = &users_[s];
	} else {
		users_.touch(users_.slot_of(*c));
	}
	roll_minute(c->attempts, c->attempts_since, now);
	++c->attempts;
	if (concurrent)
		++c->concurrent;
	return evicted;
}

void SharedLimits::user_call_ended(uint64_t user)
{
	std::lock_guard lock(mu_);
	// An evicted entry simply forgets (the table is bounded).
	if (Counts* c = find_user(user))
		c->concurrent -= c->concurrent > 0;
}

uint32_t SharedLimits::user_concurrent(uint64_t user) const
{
	std::lock_guard lock(mu_);
	const Counts* c = find_user(user);
	return c ? c->concurrent : 0;
}

uint32_t SharedLimits::trunk_concurrent(size_t trunk) const
{
	std::lock_guard lock(mu_);
	return trunk < trunks_.size() ? trunks_[trunk].concurrent : 0;
}

} // namespace sipguard::calls
