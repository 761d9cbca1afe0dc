// SPDX-License-Identifier: GPL-2.0-or-later
// Per-account call patterns and the learned country baseline.
#include "agent/fraud/patterns.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "agent/fraud/text_file.h"
#include "agent/util/hash.h"

namespace sipguard::fraud {

Patterns::Patterns(const PatternConfig& config, size_t max_accounts, uint64_t seed)
	: config_(config), seed_(seed), accounts_(max_accounts)
{
}

uint64_t Patterns::hash_of(std::string_view account) const { return util::hash_text(account, seed_); }

uint32_t Patterns::slot_of(std::string_view account, uint64_t h) const
{
	const size_t cut = std::min(account.size(), kMaxAccountName);
	return accounts_.find(h, [&](const AccountState& a) {
		return a.hash == h && a.full_len == account.size() && a.name_len == cut &&
		       std::memcmp(a.name, account.data(), cut) == 0;
	});
}

const AccountState* Patterns::find(std::string_view account) const
{
	const uint32_t slot = slot_of(account, hash_of(account));
	return slot == util::kNoSlot ? nullptr : &accounts_[slot];
}

uint32_t Patterns::get_slot(std::string_view account, uint64_t h)
{
	const uint32_t slot = slot_of(account, h);
	if (slot == util::kNoSlot)
		return create(account, h);
	accounts_.touch(slot);
	return slot;
}

uint32_t Patterns::create(std::string_view account, uint64_t h)
{
	const uint32_t slot = accounts_.insert(h);
	AccountState& a = accounts_[slot];
	// Reset field by field: assignment from a temporary would put 3 KB on the
	// stack per new account. Windows and international slots are cleared
	// when first used.
	a.name_len = static_cast<uint8_t>(std::min(account.size(), kMaxAccountName));
	std::memcpy(a.name, account.data(), a.name_len);
	a.full_len = static_cast<uint16_t>(std::min<size_t>(account.size(), UINT16_MAX));
	a.hash = h;
	a.minute.reset();
	a.day.reset();
	a.denied.reset();
	a.after_hours.reset();
	a.new_countries.reset();
	a.last_number = 0;
	a.same_run = 0;
	a.concurrent = 0;
	a.international_used = 0;
	a.countries.reset();
	for (auto& u : a.use)
		u = {};
	return slot;
}

void Patterns::record_use(std::string_view account, uint64_t hash, int32_t country, uint32_t calls,
                          uint64_t seconds)
{
	if (country < 0 || account.empty())
		return;
	AccountState& a = accounts_[get_slot(account, hash)];
	AccountState::Use* slot = nullptr;
	for (auto& u : a.use)
		if (u.country == country || u.country == AccountState::kNoCountry) {
			slot = &u;
			break;
		}
	if (!slot) {
		// Full: the last row becomes "other" and takes every further country.
		slot = &a.use[kAccountCountries - 1];
		if (slot->country != AccountState::kOther)
			slot->country = AccountState::kOther;
	}
	if (slot->country == AccountState::kNoCountry)
		slot->country = country;
	slot->calls += calls;
	slot->seconds += seconds;
}

uint32_t Patterns::observe(uint32_t slot, const Call& call, PatternFinding& worst,
                           std::array<uint64_t, kPatternCount>& warn_hits,
                           std::array<uint64_t, kPatternCount>& critical_hits)
{
	AccountState& a = accounts_[slot];
	const int64_t secs = std::chrono::duration_cast<std::chrono::seconds>(call.now.time_since_epoch()).count();
	const int64_t minute = secs / 60, hour = secs / 3600;
	const Number& n = *call.number;

	uint32_t counts[kPatternCount] = {};
	counts[static_cast<size_t>(Pattern::CallsPerMinute)] = a.minute.add(secs);
	counts[static_cast<size_t>(Pattern::CallsPerDay)] = a.day.add(hour);
	counts[static_cast<size_t>(Pattern::ConcurrentCalls)] = a.concurrent + 1;

	// The encoded digits identify the number exactly; mixing them with the seed is the number's hash.
	const uint64_t number_hash = util::mix64(n.key.bits ^ seed_);
	a.same_run = a.same_run > 0 && a.last_number == number_hash ? a.same_run + 1 : 1;
	a.last_number = number_hash;
	counts[static_cast<size_t>(Pattern::SameNumber)] = a.same_run;

	const bool foreign = n.country && !n.home;
	if (foreign) {
		// Distinct international numbers called in the last hour.
		const auto h32 = static_cast<uint32_t>(number_hash);
		const auto m32 = static_cast<int32_t>(minute);
		// One pass over the filled slots: the number's live slot and the live
		// count. A new number takes the first empty slot, or when all are
		// filled the oldest (a stale one first).
		const size_t used = a.international_used;
		size_t seen = kInternationalSlots;
		uint32_t distinct = 0;
		for (size_t i = 0; i < used; ++i) {
			const auto& r = a.international[i];
			const bool live = r.minute != INT32_MIN && r.minute > m32 - 60;
			distinct += live;
			if (live && r.number == h32 && seen == kInternationalSlots)
				seen = i;
		}
		if (seen != kInternationalSlots) {
			a.international[seen].minute = m32;
		} else {
			size_t oldest = used;
			if (used == kInternationalSlots) {
				oldest = 0;
				for (size_t i = 1; i < kInternationalSlots; ++i)
					if (a.international[i].minute < a.international[oldest].minute)
						oldest = i;
			} else if (m32 != INT32_MIN) {
				++a.international_used; // a slot written with INT32_MIN stays empty
			}
			auto& o = a.international[oldest];
			distinct += oldest >= used || !(o.minute != INT32_MIN && o.minute > m32 - 60); // a stale slot becomes live
			o = {h32, m32};
		}
		counts[static_cast<size_t>(Pattern::InternationalPerHour)] = distinct;

		const uint16_t id = n.country->id;
		if (!a.countries.test(id)) {
			a.countries.set(id);
			counts[static_cast<size_t>(Pattern::NewCountriesPerDay)] = a.new_countries.add(hour);
		}
	}
	if (call.after_hours)
		counts[static_cast<size_t>(Pattern::AfterHoursPerHour)] = a.after_hours.add(minute);
	if (call.denied)
		counts[static_cast<size_t>(Pattern::DeniedPerHour)] = a.denied.add(minute);

	const Threshold levels[kPatternCount] = {
		config_.calls_per_minute,       config_.concurrent_calls,     config_.calls_per_day,
		config_.same_number,            config_.international_per_hour, config_.after_hours_per_hour,
		config_.new_countries_per_day,  config_.denied_per_hour,
	};
	uint32_t found = 0;
	bool have = false;
	for (size_t i = 0; i < kPatternCount; ++i) {
		const uint32_t c = counts[i];
		if (c == 0)
			continue;
		PatternFinding f{static_cast<Pattern>(i), false, c, 0};
		if (levels[i].critical && c >= levels[i].critical) {
			f.critical = true;
			f.threshold = levels[i].critical;
			++critical_hits[i];
		} else if (levels[i].warn && c == levels[i].warn) {
			f.threshold = levels[i].warn;
			++warn_hits[i];
		} else {
			continue;
		}
		++found;
		if (!have || (f.critical && !worst.critical)) {
			worst = f;
			have = true;
		}
	}
	return found;
}

void Patterns::call_ended(std::string_view account, uint64_t hash)
{
	const uint32_t slot = slot_of(account, hash);
	if (slot != util::kNoSlot && accounts_[slot].concurrent > 0)
		--accounts_[slot].concurrent;
}

std::string Patterns::save_baseline(const NumberTables& tables)
{
	std::string out;
	const auto countries = tables.countries();
	// Slot order is enough: the file is read back as a set.
	for_each_account([&](std::string_view name, const AccountState& a) {
		if (a.countries.none() || a.full_len != a.name_len)
			return;
		out += name;
		char sep = '\t';
		for (size_t id = 0; id < countries.size(); ++id)
			if (a.countries.test(id)) {
				out += sep;
				out += countries[id].code;
				sep = ',';
			}
		out += '\n';
	});
	return out;
}

util::Status Patterns::restore_baseline(std::string_view text, std::string_view source, const NumberTables& tables)
{
	return for_each_line(text, [&](size_t line, std::string_view l) -> util::Status {
		const size_t tab = l.find('\t');
		if (tab == std::string_view::npos || tab == 0 || tab > kMaxAccountName)
			return line_error(source, line, "expected \"account<TAB>code,code,...\"");
		AccountState& a = get(l.substr(0, tab));
		std::string_view rest = l.substr(tab + 1);
		while (!rest.empty()) {
			const size_t comma = rest.find(',');
			const std::string_view code = rest.substr(0, comma);
			rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
			if (code.empty() || code.size() > 7 || code.find_first_not_of("0123456789") != std::string_view::npos)
				return line_error(source, line, fmt::format("\"{}\" is not a country code", code));
			for (const CountryEntry& c : tables.countries())
				if (c.code == code)
					a.countries.set(c.id);
		}
		return util::Status::success();
	});
}

void Patterns::remap_countries(const NumberTables& from, const NumberTables& to)
{
	std::vector<int> map(from.countries().size(), -1);
	for (const CountryEntry& c : from.countries())
		for (const CountryEntry& d : to.countries())
			if (c.code == d.code)
				map[c.id] = d.id;
	for (size_t s = 0; s < accounts_.capacity(); ++s) {
		AccountState& a = accounts_[static_cast<uint32_t>(s)];
		if (a.countries.none())
			continue;
		std::bitset<NumberTables::kMaxCountries> next;
		for (size_t id = 0; id < map.size(); ++id)
			if (a.countries.test(id) && map[id] >= 0)
				next.set(static_cast<size_t>(map[id]));
		a.countries = next;
	}
	for (size_t s = 0; s < accounts_.capacity(); ++s)
		for (auto& u : accounts_[static_cast<uint32_t>(s)].use)
			if (u.country >= 0)
				u.country = static_cast<size_t>(u.country) < map.size() && map[static_cast<size_t>(u.country)] >= 0
				                    ? map[static_cast<size_t>(u.country)]
				                    : AccountState::kOther;
}

} // namespace sipguard::fraud
