// SPDX-License-Identifier: GPL-2.0-or-later
// Engine configuration: detector thresholds, ban ladder, policy and table
// sizes as plain structs with documented defaults, plus the parameter table
// (name, type, range, default, help, setter) that the TOML loader and
// `check-config` walk.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/detect/config.h"
#include "agent/detect/finding.h"
#include "agent/net/ip_address.h"

namespace sipguard::engine {

using detect::Millis;
using namespace std::chrono_literals;

using detect::Rate;
using detect::ScannerConfig;
using detect::EnumerationConfig;
using detect::BruteForceConfig;
using detect::FloodConfig;
using detect::MalformedConfig;
using detect::ForgedConfig;
using detect::CallLimitConfig;

struct BanConfig {
	// Offence n gets ladder[min(n, size) - 1].
	std::vector<Millis> ladder{10min, 1h, 24h, 7 * 24h};
	Millis history_ttl = 30 * 24h; // offences older than this are forgotten
	uint32_t max_history = 100000; // sources remembered; oldest forgotten first
	bool prefix_enabled = true;
	// A prefix ban when this many distinct addresses of one /24 (/64) are
	// banned within prefix_window. 3: two banned hosts may be coincidence,
	// three in one /24 within minutes is a distributed scan (or one host
	// rotating IPv6 privacy addresses).
	uint32_t prefix_threshold = 3;
	Millis prefix_window = 10min;
	uint8_t prefix_len_v4 = 24;
	uint8_t prefix_len_v6 = 64;
	uint32_t max_active = 200000; // bans held; past it new findings are logged, not banned
};

struct TableConfig {
	uint32_t sources = 16384;      // per-source states per engine shard (~1 KB each)
	uint32_t prefixes = 16384;     // per-/24 and per-/64 states per shard
	uint32_t transactions = 32768; // pending requests awaiting a response
	uint32_t tcp_flows = 256;      // TCP stream directions with a framer (64 KiB each, on first use)
	Millis transaction_timeout = 32s; // RFC 3261 Timer B/F (64*T1)
};

struct Config {
	ScannerConfig scanner;
	EnumerationConfig enumeration;
	BruteForceConfig brute_force;
	FloodConfig flood;
	MalformedConfig malformed;
	ForgedConfig forged;
	CallLimitConfig call_limit;
	BanConfig ban;
	TableConfig tables;
	// Policy, owned by the daemon's table (policy.allowlist, policy.trusted,
	// daemon.dry_run) and copied here by its loader.
	std::vector<net::Cidr> allowlist; // never banned, never dropped
	std::vector<net::Cidr> trusted;   // as allowlist, and may send check-sync
	bool dry_run = false;             // findings logged, nothing banned or dropped
};

// ---- parameter table ----

enum class ParamType : uint8_t {
	Bool,
	Int,          // min..max
	Float,        // fmin..fmax
	Duration,     // min..max in milliseconds; TOML string like "10m"
	DurationList, // 1..max_items durations in min..max ms
	StringList,   // 0..max_items strings, each non-empty, at most 128 bytes
};

using ParamValue = std::variant<bool, int64_t, double, Millis, std::vector<Millis>, std::vector<std::string>>;

struct Param {
	std::string_view name;          // dotted key: "detect.flood.invite_burst"
	ParamType type;
	std::string_view default_value; // TOML literal
	std::string_view help;
	int64_t min = 0;
	int64_t max = 0;
	double fmin = 0;
	double fmax = 0;
	uint32_t max_items = 0;
	// Stores a value of the row's type (range already checked by
	// validate()); returns false on a type mismatch.
	bool (*set)(Config&, const ParamValue&) = nullptr;
	ParamValue (*get)(const Config&) = nullptr;
};

// Every engine key (detect.*, ban.*, engine.*), in file order.
std::span<const Param> params();
const Param* find_param(std::string_view name);

// "" when `v` has the row's type and is within its range, else the reason
// ("expected an integer in 1..1000").
std::string validate(const Param& p, const ParamValue& v);
// validate() then set(); returns the error or "".
std::string apply(Config& c, const Param& p, const ParamValue& v);
// Cross-field checks (e.g. ladder not decreasing); "" when consistent.
std::string check(const Config& c);

} // namespace sipguard::engine
