// SPDX-License-Identifier: GPL-2.0-or-later
// The toll-fraud guard: the one object the engine asks about every initial
// INVITE (decide), tells about answered and ended calls, and the control
// socket asks for locks, findings and counters. Thread-safe, shared by all
// queue threads; pure (time passed in, no syscalls after construction).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/fraud/config.h"
#include "agent/net/ip_address.h"
#include "agent/util/clock.h"
#include "agent/util/status.h"

namespace sipguard::fraud {

// One initial INVITE as the engine sees it. Views are read during decide()
// only; nothing is kept.
struct CallAttempt {
	std::string_view dialled;   // Request-URI user or tel: number, as in the message ("tel:+44-20..." accepted)
	std::string_view account;   // authenticated user; for trunks the From user (the caller decides); "" = none
	std::string_view call_id;
	net::IpAddress source;
	SourceClass source_class = SourceClass::Unknown;
	CallDirection direction = CallDirection::ToPbx;
};

enum class Verdict : uint8_t {
	Allow,        // nothing to report
	Warn,         // allowed, with an event (a warning threshold)
	Deny,         // drop the INVITE (policy, bad number)
	DenyAndLock,  // drop it; the account is locked (critical threshold, bad number, or already locked)
};
inline constexpr size_t kVerdictCount = 4;
std::string_view to_string(Verdict v);

// Why an event was raised.
enum class Reason : uint8_t {
	None,
	Policy,        // a deny rule (rule = its name)
	BadNumber,     // a bad-number list (list = its name)
	Pattern,       // a threshold (rule = the pattern's name, level warn/critical)
	Locked,        // the account was already locked
};
std::string_view to_string(Reason r);

// The patterns of PatternConfig, in its order; names as in [fraud.pattern].
enum class Pattern : uint8_t {
	CallsPerMinute,
	ConcurrentCalls,
	CallsPerDay,
	SameNumber,
	InternationalPerHour,
	AfterHoursPerHour,
	NewCountriesPerDay,
	DeniedPerHour,
};
inline constexpr size_t kPatternCount = 8;
std::string_view to_string(Pattern p);

// A fixed-size description of one decision (no heap): what the ban log and
// `sipguard fraud` show. Texts are NUL-terminated and cut to fit.
struct Event {
	util::TimePoint when{};
	Verdict verdict = Verdict::Allow;
	Reason reason = Reason::None;
	bool critical = false;                  // Pattern: the critical level (else warn)
	Pattern pattern = Pattern::CallsPerMinute; // Reason::Pattern only
	NumberClass number_class = NumberClass::Unparsable;
	SourceClass source_class = SourceClass::Unknown;
	CallDirection direction = CallDirection::ToPbx;
	net::IpAddress source;
	std::array<char, 64> account{};
	std::array<char, 64> dialled{};         // as dialled
	std::array<char, 17> number{};          // normalised E.164 digits without '+' ("" when unparsable or internal)
	std::array<char, 8> country_code{};     // "44", "1876"; "" when none
	std::array<char, 8> country{};          // the country table's label ("GB", "JM")
	std::array<char, 48> rule{};            // rule name, pattern name or list name
	uint32_t count = 0;                     // Pattern: the count that reached the threshold
	uint32_t threshold = 0;                 // Pattern: the level reached
	uint32_t stopped_calls = 0;             // Locked / DenyAndLock: INVITEs of this account stopped by its lock so far
	uint32_t lock_step = 0;                 // DenyAndLock: which ladder step (1 = first lock)
	util::Duration lock_duration{};         // DenyAndLock: how long
	uint64_t seq = 0;                       // increasing per guard

	std::string to_json() const;            // one JSON object (off the packet path)
	std::string to_text() const;            // one log line
};

// Where decide() keeps the call: passed back to on_answered/on_ended, it
// spares them the Call-ID's hash and lookup (checked, so a stale one is
// harmless: they then look the Call-ID up).
struct CallRef {
	uint32_t slot = UINT32_MAX;
	uint64_t hash = 0;
};

struct Decision {
	Verdict verdict = Verdict::Allow;
	bool has_event = false;                 // false for a plain Allow
	Event event;                            // without has_event only event.number_class is set
	CallRef call;                           // for on_answered/on_ended
	bool drop() const { return verdict == Verdict::Deny || verdict == Verdict::DenyAndLock; }
};

struct LockInfo {
	std::string account;
	util::TimePoint since{};
	util::TimePoint until{};
	uint32_t step = 0;        // ladder step, 1-based
	uint32_t stopped_calls = 0;
	std::string reason;       // the event's rule ("calls_per_minute", list or rule name)
};

// Calls that took place, per (country, class): bounded labels (a country
// table label or "" for home, a class name), never numbers or accounts.
struct Summary {
	std::string country;      // table label ("GB"), "" when no country (internal, unparsable)
	NumberClass number_class = NumberClass::National;
	uint64_t calls = 0;       // answered calls
	uint64_t seconds = 0;     // answered time of ended calls
};

// Calls of one account to one country (answered calls and their seconds),
// for `sipguard stats`, not for metrics labels. Each account keeps
// kAccountCountries countries; calls to further ones add up under "other".
struct AccountSummary {
	std::string account;
	std::string country;      // table label ("GB", "FR"), or "other"
	uint64_t calls = 0;
	uint64_t seconds = 0;
};

struct Counters {
	std::array<uint64_t, kNumberClassCount> by_class{}; // decide() calls per number class
	std::array<uint64_t, kVerdictCount> by_verdict{};
	std::array<uint64_t, kPatternCount> pattern_warn{};
	std::array<uint64_t, kPatternCount> pattern_critical{};
	std::vector<std::pair<std::string, uint64_t>> bad_list_hits; // per list name, in load order
	uint64_t policy_denied = 0;
	uint64_t locked_stopped = 0;   // INVITEs stopped by an existing lock
	uint64_t locks = 0;            // locks imposed
	uint64_t account_evictions = 0;
	uint64_t live_call_evictions = 0;
	uint64_t live_calls = 0;       // now
	uint64_t bad_list_reloads = 0;
	std::vector<Summary> summaries; // non-zero (country, class) pairs
};

// What decide() would say about a number's destination, without counting
// anything (no patterns, no lock taken): for `sipguard fraud check` and tests.
struct Explanation {
	NumberClass number_class = NumberClass::Unparsable;
	std::string number;       // E.164 digits, "" when none
	std::string country_code; // "44"
	std::string country;      // "GB"
	std::string why;          // why the number is unparsable
	Verdict verdict = Verdict::Allow; // Allow or Deny from the lists and rules; DenyAndLock when the account is locked
	Reason reason = Reason::None;     // None, Policy, BadNumber or Locked
	std::string rule;         // rule name ("(no rule)", "emergency"), list name, or "locked"
};

class Guard {
public:
	// Loads the number tables, the bad-number lists and the time zone and
	// compiles the rules: every failure names the key, or the file and line.
	static util::Result<std::unique_ptr<Guard>> create(const Config& config);
	~Guard();
	Guard(const Guard&) = delete;
	Guard& operator=(const Guard&) = delete;

	// The config in use; not to be read while another thread reconfigures.
	const Config& config() const;

	// An initial INVITE (no To tag). Allocation-free in steady state.
	Decision decide(const CallAttempt& attempt, util::TimePoint now)
	{
		Decision d;
		decide(attempt, now, d);
		return d;
	}
	// The same into `out`: its event is rewritten whole when there is one,
	// else only its number_class.
	void decide(const CallAttempt& attempt, util::TimePoint now, Decision& out)
	{
		decide(attempt, call_hash(attempt.call_id), now, out);
	}
	// With `hash` = call_hash(attempt.call_id), for a caller that has it.
	void decide(const CallAttempt& attempt, uint64_t hash, util::TimePoint now, Decision& out);
	// The guard's seeded hash of a Call-ID (the seed never changes).
	uint64_t call_hash(std::string_view call_id) const;
	// The destination checks of decide() alone; counts and changes nothing.
	Explanation explain(const CallAttempt& attempt, util::TimePoint now) const;
	// The call's 200 OK and its end (BYE, CANCEL, failure, timeout): live
	// calls and summaries. Unknown Call-IDs are ignored.
	void on_answered(std::string_view call_id, util::TimePoint now, const CallRef& ref = {});
	void on_ended(std::string_view call_id, util::TimePoint now, const CallRef& ref = {});
	// Expires locks and forgets live calls that never ended.
	void on_tick(util::TimePoint now);

	// Rebuilds the bad-number lists from Config::bad_number_files and swaps
	// them in; on failure the old lists stay.
	util::Status reload_bad_numbers();
	// A new config (SIGHUP): tables, lists, rules and thresholds are rebuilt
	// and swapped; account state, live calls and locks are kept. On failure
	// nothing changes.
	util::Status reconfigure(const Config& config);

	std::vector<LockInfo> locks(util::TimePoint now) const;
	// False when the account was not locked.
	bool unlock(std::string_view account);
	// The most recent events (warn and above), oldest first, at most `max`.
	std::vector<Event> recent(size_t max) const;
	Counters counters() const;
	// Per account and country, for the accounts the guard still holds (LRU).
	std::vector<AccountSummary> account_summaries() const;

	// Persistence for the daemon (text, one record a line): the learned
	// per-account countries and the locks. restore_* reports file:line
	// style errors with `source` as the name.
	std::string save_baseline() const;
	util::Status restore_baseline(std::string_view text, std::string_view source);
	std::string save_locks() const;
	util::Status restore_locks(std::string_view text, std::string_view source);

private:
	struct Impl;
	explicit Guard(std::unique_ptr<Impl> impl);
	std::unique_ptr<Impl> impl_;
};

} // namespace sipguard::fraud
