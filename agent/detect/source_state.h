// SPDX-License-Identifier: GPL-2.0-or-later
// Per-source and per-prefix detector state: fixed size (no pointers, no
// heap), so it can live in an AddressTable slot and be reset by assignment.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string_view>

#include "agent/detect/config.h"
#include "agent/detect/finding.h"

namespace sipguard::detect {

// Counting windows: a window starts with the first event and lasts
// `window`; the next event after it starts a new one. Returns true when it
// started one at `now` (the caller zeroes the window's counters).
inline bool restart_window(util::TimePoint& start, util::TimePoint now, util::Millis window)
{
	if (start != util::TimePoint{} && now - start <= window)
		return false;
	start = now;
	return true;
}

// Counts one event in a window that starts afresh once `window` has lapsed;
// returns the count so far.
inline uint16_t count_in_window(util::TimePoint& start, uint16_t& count, util::TimePoint now, util::Millis window)
{
	if (restart_window(start, now, window))
		count = 0;
	return ++count;
}

// A token bucket in double precision; `last` is when it was last refilled.
struct TokenBucket {
	double tokens = -1; // < 0: not yet initialised (starts full)
	util::TimePoint last{};

	// Takes one token; false when the bucket is empty.
	bool take(const Rate& r, double scale, util::TimePoint now)
	{
		refill(r, scale, now);
		if (tokens < 1)
			return false;
		tokens -= 1;
		return true;
	}
	void refund(const Rate& r, double scale, double n, util::TimePoint now)
	{
		refill(r, scale, now);
		tokens = std::min(tokens + n, r.burst * scale);
	}
	void refill(const Rate& r, double scale, util::TimePoint now)
	{
		double cap = r.burst * scale;
		if (tokens < 0) {
			tokens = cap;
			last = now;
			return;
		}
		if (now > last) {
			double dt = std::chrono::duration<double>(now - last).count();
			tokens = std::min(cap, tokens + dt * r.rate * scale);
			last = now;
		}
	}
};

// FNV-1a over the ASCII-lowercased text: user names are compared
// case-insensitively (extensions are digits; SIP user parts are
// case-sensitive per RFC 3261 §19.1.4, but a scanner gains nothing by
// changing case, so folding only makes counting stricter).
inline uint32_t hash_user(std::string_view s)
{
	uint32_t h = 2166136261u;
	for (char c : s) {
		unsigned char u = static_cast<unsigned char>(c);
		if (u >= 'A' && u <= 'Z')
			u = static_cast<unsigned char>(u + 32);
		h = (h ^ u) * 16777619u;
	}
	return h ? h : 1; // 0 marks an empty slot
}

// One target user seen from a source within the users window. Times are
// kept in 16 bits relative to SourceState::epoch and compared modulo 2^16:
// a slot leaves the table once it is older than the window (at most 18 h),
// long before its seconds wrap.
struct UserSlot {
	enum Flag : uint8_t {
		Probed = 1,        // OPTIONS probe
		Challenged = 2,    // 401/407 to a request without credentials
		CredsSent = 4,     // a request with credentials followed
		FailedHard = 8,    // 404/403/484/604 without credentials
		Success = 16,      // 2xx to REGISTER/INVITE/...
		InHistory = 32,    // counted failed in the source's long history
		InPrefix = 64,     // noted in the prefix's long history
	};
	uint32_t hash = 0;
	uint8_t flags = 0;
	uint8_t pending_failures = 0; // credentialed attempts answered 401/407/403
	uint16_t seen_s = 0;           // last event for the user (seconds, SourceState::seconds)
	uint16_t challenged_at_ds = 0; // deciseconds (SourceState::deciseconds)
	uint16_t port = 0;             // remote port the user was first targeted from
	// Brute force, fast repeat: failures of one method in a row, since fast_start_ds.
	uint8_t fast_failures = 0;
	uint8_t fast_method = 0;   // sip::Method of those failures
	uint16_t fast_start_ds = 0;
};

struct SampleText {
	std::array<char, 24> text{};
	uint8_t len = 0;
	void set(std::string_view s)
	{
		len = static_cast<uint8_t>(std::min(s.size(), text.size()));
		std::copy_n(s.data(), len, text.data());
	}
	std::string_view view() const { return {text.data(), len}; }
};

enum class MethodClass : uint8_t { Invite, Register, Options, Other, Count };

struct SourceState {
	// Room for a NATed office's phones challenged at once (see
	// enumeration.max_unanswered_challenges, which must stay below it).
	static constexpr size_t kUsers = 48;
	static constexpr size_t kUserSamples = 4;

	util::TimePoint first_seen{};
	util::TimePoint last_seen{};
	uint32_t requests = 0;

	// Knowledge that makes a source less suspicious.
	bool ever_success = false;     // a 2xx to REGISTER/INVITE/SUBSCRIBE/MESSAGE
	bool ever_credentials = false; // sent Authorization/Proxy-Authorization
	bool pbx_peer = false;         // the PBX sent it requests (trunk, registered phone)
	bool allowlisted = false;      // cached policy (refreshed with ban_gen)
	bool trusted = false;

	// Enforcement cache.
	util::TimePoint banned_until{};
	uint64_t ban_gen = 0;
	std::array<util::TimePoint, kDetectorCount> suppress_until{}; // no repeated findings per detector

	// Users of the sliding window (scanner, enumeration, brute force): a
	// user stays while it saw an event within the window.
	util::TimePoint epoch{};        // base of the slots' times, set on first use
	util::TimePoint clock{};        // the current message's time (expire_users)
	util::TimePoint users_oldest{}; // no slot is older than this
	std::array<UserSlot, kUsers> users{};
	uint8_t user_count = 0;
	uint16_t users_untracked_failed = 0; // failures for users that found no slot
	std::array<SampleText, kUserSamples> user_samples{};
	uint8_t user_sample_count = 0;
	SampleText user_agent;

	// Enumeration over hours: the source has an entry in the engine's
	// history table (LazyState::history), which keeps the users refused or
	// left challenged, and those that succeeded (credit), whatever the port.
	bool has_history = false;

	// Scanner behaviour.
	util::TimePoint scan_window{};
	uint16_t probes = 0;
	uint16_t probe_errors = 0;

	// Brute force.
	util::TimePoint brute_window{};
	uint16_t auth_failures = 0;
	SampleText last_auth_user;

	// Accounts: an account authenticated from here (known good), when the
	// last of its blocked (source, account) pairs ends, and the accounts
	// that failed from here (low bits of their key, UserHistory seconds).
	bool auth_success = false;
	uint32_t throttled = 0;         // requests dropped over the flood buckets (authenticated sources)
	uint32_t last_auth_account = 0; // low bits of the account that succeeded last (its pair is on record)
	util::TimePoint pairs_blocked_until{};
	static constexpr size_t kFailingAccounts = 4;
	std::array<uint32_t, kFailingAccounts> failing_accounts{};
	std::array<uint32_t, kFailingAccounts> failing_at_s{};

	// Flood.
	std::array<TokenBucket, static_cast<size_t>(MethodClass::Count)> buckets{};

	// Malformed.
	util::TimePoint malformed_window{};
	uint16_t malformed = 0;
	uint8_t last_malformation = 0;

	// Forged control.
	util::TimePoint forged_window{};
	uint16_t forged = 0;

	bool known() const { return ever_success || pbx_peer; }

	// Drops the users whose last event is older than `window` (which must
	// be at most 18 h: the slots' seconds are 16 bits). Call before user()
	// for each message: it also sets the clock user() stamps slots with.
	void expire_users(util::TimePoint now, util::Millis window)
	{
		if (epoch == util::TimePoint{})
			epoch = now;
		clock = now;
		if (user_count == 0 || now - users_oldest <= window)
			return;
		const auto window_s = static_cast<uint32_t>(window.count() / 1000);
		const bool all = now - users_oldest >= std::chrono::seconds(65535);
		const uint16_t now_s = seconds(now);
		uint8_t kept = 0;
		uint16_t oldest_age = 0;
		for (uint8_t i = 0; i < user_count; ++i) {
			const auto age = static_cast<uint16_t>(now_s - users[i].seen_s);
			if (all || age > window_s)
				continue;
			oldest_age = std::max(oldest_age, age);
			users[kept++] = users[i];
		}
		user_count = kept;
		users_oldest = now - std::chrono::seconds(oldest_age) - std::chrono::seconds(1);
		if (kept == 0) {
			users_untracked_failed = 0;
			user_sample_count = 0;
		}
	}
	// Time since `epoch`, modulo 2^16.
	uint16_t deciseconds(util::TimePoint now) const
	{
		return static_cast<uint16_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now - epoch).count() / 100);
	}
	uint16_t seconds(util::TimePoint now) const
	{
		return static_cast<uint16_t>(std::chrono::duration_cast<std::chrono::seconds>(now - epoch).count());
	}

	// Finds or adds a user. A full table reuses a slot whose user succeeded
	// (resolved, no longer evidence); else returns nullptr (untracked).
	UserSlot* user(uint32_t hash, std::string_view name, bool create, uint16_t port = 0)
	{
		for (uint8_t i = 0; i < user_count; ++i)
			if (users[i].hash == hash) {
				users[i].seen_s = seconds(clock);
				return &users[i];
			}
		if (!create)
			return nullptr;
		UserSlot* slot = nullptr;
		if (user_count < kUsers) {
			slot = &users[user_count++];
		} else {
			for (auto& u : users)
				if (u.flags & UserSlot::Success) {
					slot = &u;
					break;
				}
		}
		if (!slot)
			return nullptr;
		*slot = UserSlot{};
		slot->hash = hash;
		slot->port = port;
		slot->seen_s = seconds(clock);
		if (user_count == 1)
			users_oldest = clock;
		if (user_sample_count < kUserSamples && !name.empty()) {
			bool dup = false;
			for (uint8_t i = 0; i < user_sample_count; ++i)
				dup = dup || user_samples[i].view() == name;
			if (!dup)
				user_samples[user_sample_count++].set(name);
		}
		return slot;
	}
};

struct PrefixState {
	static constexpr size_t kRecentSources = 4;
	TokenBucket bucket;
	uint32_t requests = 0;
	// Recently seen sources of the prefix: the prefix bucket applies only
	// when several addresses share the load (one host's flood is that
	// host's ban, not its neighbours').
	std::array<uint64_t, kRecentSources> recent_sources{};
	std::array<util::TimePoint, kRecentSources> recent_seen{};
	uint8_t recent_next = 0;

	// Records `source_hash`; returns the distinct sources seen within `window`.
	size_t note_source(uint64_t source_hash, util::TimePoint now, util::Duration window)
	{
		bool found = false;
		for (size_t i = 0; i < kRecentSources; ++i)
			if (recent_sources[i] == source_hash) {
				recent_seen[i] = now;
				found = true;
			}
		if (!found) {
			recent_sources[recent_next] = source_hash;
			recent_seen[recent_next] = now;
			recent_next = static_cast<uint8_t>((recent_next + 1) % kRecentSources);
		}
		size_t n = 0;
		for (size_t i = 0; i < kRecentSources; ++i)
			n += (recent_sources[i] != 0 && now - recent_seen[i] <= window) ? 1 : 0;
		return n;
	}
	util::TimePoint banned_until{};
	uint64_t ban_gen = 0;
	util::TimePoint suppress_until{};
	// Failed authentications of the prefix's sources where no account
	// authenticated (an IPv6 host rotating addresses inside its /64), the
	// distinct sources among them (tags of their address hashes), and
	// whether an account authenticated from any address of the prefix.
	util::TimePoint auth_window{};
	uint16_t auth_failures = 0;
	bool auth_success = false;
	std::array<uint16_t, 4> auth_sources{};
};

} // namespace sipguard::detect
