// SPDX-License-Identifier: GPL-2.0-or-later
// Account locks with a ladder.
#include "agent/fraud/locks.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "agent/fraud/text_file.h"
#include "agent/util/hash.h"

namespace sipguard::fraud {

Locks::Locks(size_t capacity, std::vector<util::Duration> ladder, util::Duration forget, uint64_t seed)
	: ladder_(std::move(ladder)), forget_(forget), seed_(seed), table_(capacity)
{
	if (ladder_.empty())
		ladder_.push_back(std::chrono::hours(1));
}

void Locks::set_ladder(std::vector<util::Duration> ladder, util::Duration forget)
{
	if (!ladder.empty())
		ladder_ = std::move(ladder);
	forget_ = forget;
}

uint64_t Locks::hash_of(std::string_view account) const { return util::hash_text(account, seed_); }

uint32_t Locks::find(std::string_view account) const { return find(account, util::hash_text(account, seed_)); }

uint32_t Locks::find(std::string_view account, uint64_t h) const
{
	// Accounts longer than kMaxAccountName are compared by their first bytes and full hash.
	const size_t cut = std::min(account.size(), kMaxAccountName);
	return table_.find(h, [&](const Entry& e) {
		return e.hash == h && e.name_len == cut && std::memcmp(e.name, account.data(), cut) == 0;
	});
}

Locks::Entry& Locks::get(std::string_view account)
{
	uint32_t slot = find(account);
	if (slot != util::kNoSlot)
		return table_[slot];
	if (table_.full()) {
		// Make room: the entry whose lock ended (or ends) first.
		uint32_t victim = util::kNoSlot;
		for (uint32_t s = 0; s < table_.capacity(); ++s)
			if (table_.live(s) && (victim == util::kNoSlot || table_[s].until < table_[victim].until))
				victim = s;
		table_.evict(victim);
	}
	const uint64_t h = util::hash_text(account, seed_);
	slot = table_.insert(h);
	Entry& e = table_[slot];
	e = Entry{};
	e.hash = h;
	e.name_len = static_cast<uint8_t>(std::min(account.size(), kMaxAccountName));
	std::memcpy(e.name, account.data(), e.name_len);
	return e;
}

Locks::Lock Locks::lock(std::string_view account, util::TimePoint now, std::string_view reason)
{
	Entry& e = get(account);
	if (e.step > 0 && now - e.since > forget_)
		e.step = 0; // the last lock is old enough to be forgotten
	if (e.until > now && e.step > 0) {
		// Already locked: keep the lock, only note the newer reason.
	} else {
		++e.step;
		e.since = now;
		e.until = now + ladder_[std::min<size_t>(e.step, ladder_.size()) - 1];
	}
	const size_t n = std::min(reason.size(), sizeof e.reason - 1);
	std::memcpy(e.reason, reason.data(), n);
	e.reason[n] = '\0';
	return {e.step, e.until - e.since, e.until};
}

uint32_t* Locks::locked(std::string_view account, uint64_t hash, util::TimePoint now)
{
	if (table_.size() == 0)
		return nullptr;
	const uint32_t slot = find(account, hash);
	if (slot == util::kNoSlot || table_[slot].until <= now)
		return nullptr;
	return &table_[slot].stopped;
}

bool Locks::is_locked(std::string_view account, util::TimePoint now) const
{
	const uint32_t slot = find(account);
	return slot != util::kNoSlot && table_[slot].until > now;
}

bool Locks::unlock(std::string_view account, util::TimePoint now)
{
	const uint32_t slot = find(account);
	if (slot == util::kNoSlot)
		return false;
	Entry& e = table_[slot];
	// The ladder step stays: the next lock within lock_forget is longer.
	const bool was = e.until > now;
	e.until = std::min(e.until, now);
	e.stopped = 0;
	return was;
}

void Locks::expire(util::TimePoint now)
{
	for (uint32_t s = 0; s < table_.capacity(); ++s)
		if (table_.live(s) && table_[s].until <= now && now - table_[s].since > forget_)
			table_.erase(s);
}

std::vector<LockInfo> Locks::list(util::TimePoint now) const
{
	std::vector<LockInfo> out;
	for (uint32_t s = 0; s < table_.capacity(); ++s) {
		if (!table_.live(s) || table_[s].until <= now)
			continue;
		const Entry& e = table_[s];
		out.push_back({std::string(e.name, e.name_len), e.since, e.until, e.step, e.stopped, e.reason});
	}
	std::sort(out.begin(), out.end(), [](const LockInfo& a, const LockInfo& b) { return a.since < b.since; });
	return out;
}

std::string Locks::save() const
{
	std::string out;
	for (uint32_t s = 0; s < table_.capacity(); ++s) {
		if (!table_.live(s))
			continue;
		const Entry& e = table_[s];
		out += fmt::format("{}\t{}\t{}\t{}\t{}\t{}\n", std::string_view(e.name, e.name_len),
		                   e.since.time_since_epoch().count(), e.until.time_since_epoch().count(), e.step, e.stopped,
		                   e.reason);
	}
	return out;
}

util::Status Locks::restore(std::string_view text, std::string_view source)
{
	return for_each_line(text, [&](size_t line, std::string_view l) -> util::Status {
		std::string_view f[6];
		size_t n = 0;
		while (n < 6) {
			const size_t tab = l.find('\t');
			f[n++] = l.substr(0, tab);
			if (tab == std::string_view::npos) {
				l = {};
				break;
			}
			l.remove_prefix(tab + 1);
		}
		int64_t since = 0, until = 0;
		uint32_t step = 0, stopped = 0;
		auto num = [](std::string_view s, auto& v) {
			auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
			return ec == std::errc() && p == s.data() + s.size();
		};
		if (n < 5 || f[0].empty() || f[0].size() > kMaxAccountName || !num(f[1], since) || !num(f[2], until) ||
		    !num(f[3], step) || !num(f[4], stopped) || step == 0 || until < since)
			return line_error(source, line, "expected \"account<TAB>since<TAB>until<TAB>step<TAB>stopped<TAB>reason\"");
		Entry& e = get(f[0]);
		e.since = util::TimePoint(util::Duration(since));
		e.until = util::TimePoint(util::Duration(until));
		e.step = step;
		e.stopped = stopped;
		const size_t len = std::min(f[5].size(), sizeof e.reason - 1);
		std::memcpy(e.reason, f[5].data(), len);
		e.reason[len] = '\0';
		return util::Status::success();
	});
}

} // namespace sipguard::fraud
