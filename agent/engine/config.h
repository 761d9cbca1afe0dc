// SPDX-License-Identifier: GPL-2.0-or-later
// Engine configuration: detector thresholds, ban ladder, policy and table
// sizes as plain structs with documented defaults, plus the engine's rows of
// the config schema (name, type, range, default, help, binder to the field).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/row.h"
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
using detect::AccountConfig;

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
	// No ban, however made, is broader than this (`ban --force` lifts it for
	// an operator); /0 is refused always. See BanSafety.
	uint8_t min_prefix_v4 = 16;
	uint8_t min_prefix_v6 = 32;
};

struct TableConfig {
	uint32_t sources = 16384;      // per-source states per engine shard (~1.3 KB each)
	uint32_t prefixes = 16384;     // per-/24 and per-/64 states per shard
	uint32_t transactions = 32768; // pending requests awaiting a response
	uint32_t tcp_flows = 256;      // TCP stream directions with a framer (64 KiB each, on first use)
	uint32_t tcp_flows_per_source = 32; // of those, held by one remote address (allowlisted: no limit)
	uint32_t accounts = 16384;     // accounts judged, shared by all shards (detect::AccountTable)
	uint32_t account_pairs = 32768; // (source, account) pairs per engine shard (detect::PairTable)
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
	AccountConfig account;
	BanConfig ban;
	TableConfig tables;
	// Policy, owned by the daemon's table (policy.allowlist, policy.trusted,
	// daemon.dry_run) and copied here by its loader.
	std::vector<net::Cidr> allowlist; // never banned, never dropped
	std::vector<net::Cidr> trusted;   // as allowlist, and may send check-sync
	bool dry_run = false;             // findings logged, nothing banned or dropped
	// The networks of calls.trunk, copied by the daemon's loader: INVITEs
	// to them are calls leaving the site, INVITEs from them are not judged
	// by the toll-fraud guard.
	std::vector<net::Cidr> trunks;
};

// ---- the engine's config rows (detect.*, ban.*, engine.*; agent/config/row.h) ----

using ParamType = config::Type;
using ParamValue = config::Value;
using Param = config::Row<Config>;

// Every engine key, in file order.
std::span<const Param> params();
const Param* find_param(std::string_view name);

// config::check, config::assign and config::check_all with the failure as a
// string, "" when fine ("expected an integer in 1..10000"; check: "ban.ladder:
// durations must not decrease").
std::string validate(const Param& p, const ParamValue& v);
std::string apply(Config& c, const Param& p, const ParamValue& v);
std::string check(const Config& c);

} // namespace sipguard::engine
