// SPDX-License-Identifier: GPL-2.0-or-later
// The long memory of enumeration: the distinct users a source (or a /24,
// /64) was refused or left challenged over hours, exact up to a few more
// than any threshold needs, in fixed memory. Independent of source ports.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "agent/util/clock.h"

namespace sipguard::detect {

struct UserHistoryBase {
	enum Kind : uint8_t {
		Empty = 0,
		Failed,     // refused (404/403/...), or a challenge confirmed left behind
		Challenged, // challenged, not answered (yet): failed once older than the grace
		Answered,   // a challenge answered with credentials (a phone, not a scanner)
		Succeeded,  // a 2xx: credits the source
	};
	struct Entry {
		uint32_t user = 0;   // hash_user
		uint32_t at_s = 0;   // last change, seconds of the system clock
		uint16_t source = 0; // which source of a prefix (a tag of its address hash)
		uint8_t kind = Empty;
	};
	static uint32_t seconds(util::TimePoint t)
	{
		return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
	}
};

template <size_t N>
struct UserHistory : UserHistoryBase {
	std::array<Entry, N> entries{};

	// Records `kind` for `user` (a user seen again keeps one entry); a full
	// history replaces its oldest entry. A challenge changes nothing but an
	// earlier challenge (its time): what was decided stays decided.
	void note(uint32_t user, Kind kind, uint16_t source, util::TimePoint now)
	{
		const uint32_t t = seconds(now);
		Entry* slot = nullptr;
		Entry* oldest = &entries[0];
		for (auto& e : entries) {
			if (e.kind != Empty && e.user == user) {
				slot = &e;
				break;
			}
			if (e.kind == Empty || (oldest->kind != Empty && e.at_s < oldest->at_s))
				oldest = &e;
		}
		if (!slot) {
			slot = oldest;
			*slot = Entry{user, t, source, kind};
			return;
		}
		if (kind == Challenged && slot->kind != Challenged)
			return;
		slot->kind = kind;
		slot->at_s = t;
		slot->source = source;
	}

	// Counts within `window`: failed users (challenges older than `grace`
	// included), succeeded users, and the distinct sources of the failed
	// ones (up to 8 told apart).
	struct Count {
		uint32_t failed = 0;
		uint32_t succeeded = 0;
		uint32_t sources = 0;
	};
	Count count(util::TimePoint now, util::Millis window, util::Millis grace) const
	{
		Count c;
		const uint32_t t = seconds(now);
		const auto window_s = static_cast<uint32_t>(window.count() / 1000);
		const auto grace_s = static_cast<uint32_t>((grace.count() + 999) / 1000);
		std::array<uint16_t, 8> seen{};
		for (const auto& e : entries) {
			if (e.kind == Empty || t - e.at_s > window_s)
				continue;
			if (e.kind == Succeeded) {
				++c.succeeded;
				continue;
			}
			if (e.kind != Failed && !(e.kind == Challenged && t - e.at_s >= grace_s))
				continue;
			++c.failed;
			bool dup = false;
			for (uint32_t i = 0; i < c.sources && i < seen.size(); ++i)
				dup = dup || seen[i] == e.source;
			if (!dup) {
				if (c.sources < seen.size())
					seen[c.sources] = e.source;
				++c.sources;
			}
		}
		return c;
	}
};

// A source's history: up to long_max_users (12) failed users beside some
// that succeeded. A prefix's: its sources that never sent credentials nor
// succeeded, one user per address when they rotate.
using SourceHistory = UserHistory<12>;
using PrefixHistory = UserHistory<16>;

} // namespace sipguard::detect
