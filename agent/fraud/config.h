// SPDX-License-Identifier: GPL-2.0-or-later
// Toll-fraud guard settings: plain structs with documented defaults, plus the
// guard's rows of the config schema (section [fraud], [fraud.pattern] and the
// [[fraud.rule]] tables), each bound to its field.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/row.h"

namespace sipguard::fraud {

// What a dialled number is, after normalisation (number.h). The names are
// the ones the config, the data files and the events use (to_string).
enum class NumberClass : uint8_t {
	Unparsable,    // not a number: non-digit, overlong, empty
	Internal,      // a short extension or a feature code (*72): never leaves the PBX
	Emergency,     // 999, 112, 911 and fraud.emergency: always allowed
	National,      // a geographic number of the home country
	Mobile,        // a mobile number of the home country
	TollFree,      // freephone (UK 080, NANP 8xx, +800)
	Special,       // non-geographic, personal, pager, directory (UK 084/087/070/076/118)
	Premium,       // premium rate (UK 09, NANP 900/976, +979)
	International, // another country
	Satellite,     // satellite and international networks (+881, +882, +883)
};
inline constexpr size_t kNumberClassCount = 10;
std::string_view to_string(NumberClass c);
std::optional<NumberClass> number_class_from_string(std::string_view s);

// Where an INVITE comes from, as the engine classifies its source address.
enum class SourceClass : uint8_t { Extension, Trunk, Unknown };
inline constexpr size_t kSourceClassCount = 3;
std::string_view to_string(SourceClass c);

// Which way an INVITE goes: from a phone to the PBX (the PBX has not seen
// it yet) or from the PBX to a trunk (the call leaves the site).
enum class CallDirection : uint8_t { ToPbx, ToTrunk };
std::string_view to_string(CallDirection d);

enum class RuleAction : uint8_t { Allow, Deny };

// One [[fraud.rule]] table: every non-empty criterion must match (an empty
// one matches anything); the first rule that matches decides. Texts are
// checked and compiled by Policy::compile (policy.h), which names the rule.
struct RuleConfig {
	std::string name;                   // reported in the decision
	std::string action = "deny";        // "allow" | "deny"
	std::vector<std::string> classes;   // NumberClass names
	std::vector<std::string> countries; // country codes ("33", "1876") or table labels ("FR", "JM")
	std::vector<std::string> prefixes;  // E.164 prefixes, with or without '+'
	std::string source = "any";         // "extension" | "trunk" | "unknown" | "any"
	std::vector<std::string> accounts;  // account names; empty = any
	std::string direction = "any";      // "to-pbx" | "to-trunk" | "any"
};

// A pattern's two levels: reaching `warn` alerts, reaching `critical` locks
// the account. 0 turns a level off.
struct Threshold {
	uint32_t warn = 0;
	uint32_t critical = 0;
};

// Per-account call patterns (patterns.h). Counts include the call being
// decided; the windows slide with the granularity given per field.
struct PatternConfig {
	Threshold calls_per_minute{20, 60};        // INVITEs in the last 60 s (1 s buckets)
	Threshold concurrent_calls{10, 30};        // calls set up and not ended
	Threshold calls_per_day{500, 2000};        // INVITEs in the last 24 h (1 h buckets)
	Threshold same_number{15, 40};             // consecutive INVITEs to one number
	Threshold international_per_hour{40, 80};  // distinct international numbers in the last hour
	Threshold after_hours_per_hour{10, 30};    // external calls outside business hours in the last hour
	Threshold new_countries_per_day{1, 5};     // countries never called before, in the last 24 h
	Threshold denied_per_hour{5, 15};          // calls this guard denied (policy, bad number) in the last hour
};

struct Config {
	using Millis = std::chrono::milliseconds;

	// Off by default. The daemon turns the destination policy on when
	// country_code is set (see agent/fraud/README.md).
	bool enabled = false;

	// Numbering plan of the site.
	std::string country_code;                                   // "44"; "" = no home country (all numbers need '+' or an international prefix)
	std::string national_prefix = "0";                          // trunk prefix before a national number
	std::vector<std::string> international_prefixes = {"00"};   // '+' is always one
	std::string dial_out_prefix;                                // "9": stripped before an external number
	std::vector<std::string> emergency;                         // added to 999, 112, 911
	uint32_t internal_max_digits = 5;                           // digit strings up to this long are extensions

	// Data: the number tables and the bad-number lists.
	std::string data_dir = "/usr/share/sipguard/fraud";
	std::vector<std::string> number_tables = {"countries.txt", "uk.txt", "nanp.txt"}; // relative to data_dir
	std::vector<std::string> bad_number_files;                  // absolute paths

	// Destination policy: the rules, or the default rules when empty.
	std::vector<std::string> allow_countries;                   // for the default rules
	std::vector<RuleConfig> rules;

	// Time of day.
	std::string time_zone;            // "" = UTC, "+01:00", "Europe/London" (TZif under zoneinfo_dir) or a path
	std::string zoneinfo_dir = "/usr/share/zoneinfo";
	std::string business_hours;       // "08:00-18:00"; "" = no after-hours pattern
	std::string business_days = "mon-fri";
	std::string clock_offset = "0s";  // signed ("-2h", "+9h30m"): shifts the clock of time-of-day rules only

	PatternConfig pattern;

	// Account locks: the n-th lock within lock_forget lasts lock_ladder[n-1] (the last step repeats).
	std::vector<Millis> lock_ladder = {Millis(3600'000), Millis(6 * 3600'000), Millis(24 * 3600'000),
	                                   Millis(7 * 24 * 3600'000)};
	Millis lock_forget{30LL * 24 * 3600'000};
	bool lock_on_bad_number = true;   // a bad-number hit is a critical finding

	// Table sizes.
	uint32_t max_accounts = 4096;     // per-account state (LRU, evictions counted)
	uint32_t max_live_calls = 4096;   // calls between INVITE and end (oldest evicted, counted)
	uint32_t max_locks = 1024;
	uint32_t recent_findings = 256;   // ring of recent events for `sipguard fraud`

	// Calls without an end are forgotten after these (a lost BYE).
	Millis unanswered_timeout{300'000};
	Millis max_call_duration{6 * 3600'000};

	uint64_t hash_seed = 0x5eed5eedULL;

	// Every field checked against its row, then the cross-field rules
	// (clock_offset, business_hours, rules): a message naming the key, or nullopt.
	std::optional<std::string> validate() const;
};

// The guard's rows, in file order ("fraud.enabled", ..., "fraud.rule"
// last), bound to Config.
std::span<const config::Row<Config>> rows();

} // namespace sipguard::fraud
