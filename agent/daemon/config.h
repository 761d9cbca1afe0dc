// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon configuration: the daemon's own rows (queues, ports, paths,
// metrics) bound to DaemonSettings, and the immutable, validated Config that
// joins them with the engine's and the call tracker's and that the daemon
// applies as one snapshot. The loader itself is agent/config.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/calls/config.h"
#include "agent/config/loader.h"
#include "agent/config/row.h"
#include "agent/config/schema.h"
#include "agent/config/value.h"
#include "agent/engine/config.h"
#include "agent/fraud/config.h"
#include "agent/net/ip_address.h"

namespace sipguard::daemon {

inline constexpr std::string_view kDefaultConfigPath = "/etc/sipguard/sipguard.toml";

using config::Endpoint;
using config::PortRange;
// One validation problem, formatted "file:line:column: key: message".
using ConfigError = config::Error;
// A row as the daemon reads it (name, apply, help, ...).
using Param = config::Spec;
using config::describe_expected;

// Daemon-level settings, filled by the daemon's rows' binders.
struct DaemonSettings {
	unsigned queues = 0;       // resolved: never 0 (0 in the file = online CPUs)
	uint16_t queue_base = 0;
	uint32_t queue_maxlen = 0;
	bool fail_open = true;
	bool dry_run = false;
	bool remove_table_on_exit = false;
	std::string state_dir;
	std::string ban_log;
	std::string control_socket;
	std::string control_group;
	std::string log_level;
	util::Millis save_interval{1000};
	std::vector<uint16_t> sip_ports;
	bool media_pinning = false;
	PortRange rtp_range;
	std::vector<net::Cidr> allowlist;
	std::vector<net::Cidr> trusted;
	std::string metrics_socket;
	Endpoint metrics_listen;
	// The kernel-side pre-filter (rules/README.md, "Pre-filter").
	struct Prefilter {
		bool enabled = true;
		uint32_t source_rate = 0; // packets/s per unknown source
		uint32_t source_burst = 0;
		uint32_t unknown_rate = 0; // packets/s for all unknown sources; 0 = derived_unknown_rate()
		util::Millis known_timeout{3600 * 1000};
		util::Millis refresh{60 * 1000};
		uint32_t max_known = 0;
		util::Millis proven_timeout{600 * 1000};
		uint32_t max_proven = 0;
		uint32_t meter_size = 0;
	} prefilter;
};

// Default budget for unknown sources per queue, packets/s: a fifth of one
// queue's measured capacity (docs/operations.md), so known sources keep the rest.
inline constexpr uint32_t kUnknownRatePerQueue = 48000;

// prefilter.unknown_rate 0: kUnknownRatePerQueue for each queue that can have
// a core of its own while the PBX keeps one (min(queues, cpus - 1), at least 1).
// Queues sharing cores with the PBX inspect less than the bench's figure; a
// budget above that fills the queues, which then drop known sources too.
constexpr uint32_t derived_unknown_rate(unsigned queues, unsigned cpus)
{
	const unsigned spare = cpus > 1 ? cpus - 1 : 1;
	const unsigned n = queues < spare ? queues : spare;
	return kUnknownRatePerQueue * (n > 0 ? n : 1);
}

// The daemon's own rows (daemon.*, sip.*, media.*, policy.*, metrics.*).
std::span<const config::Row<DaemonSettings>> daemon_rows();

// Every row the config file accepts: the daemon's, the engine's (detectors,
// ban ladder, table sizes), the call tracker's and the toll-fraud guard's,
// in file order.
const config::Schema& all_params();

class Config {
public:
	// Where the values came from: a path, or "<embedded defaults>".
	const std::string& source() const { return source_; }
	const DaemonSettings& daemon() const { return daemon_; }
	// The engine's snapshot (detectors, ban ladder, policy) and the call
	// tracker's settings, filled by their rows' binders.
	const std::shared_ptr<const engine::Config>& engine() const { return engine_; }
	const calls::Config& calls() const { return calls_; }
	// The toll-fraud guard's settings ([fraud]), read by the daemon's guard.
	const fraud::Config& fraud() const { return fraud_; }

	// True when the key was set in the file rather than defaulted.
	bool is_set(std::string_view key) const { return values_.is_set(key); }
	// Keys whose values (as written, or defaulted) differ between two configs,
	// sorted (for reload logging and the restart-only check).
	std::vector<std::string> diff(const Config& other) const { return values_.diff(other.values_); }

private:
	friend class ConfigLoader;
	std::string source_;
	config::Values values_;
	DaemonSettings daemon_;
	std::shared_ptr<const engine::Config> engine_;
	calls::Config calls_;
	fraud::Config fraud_;
};

using ConfigPtr = std::shared_ptr<const Config>;

struct LoadResult {
	ConfigPtr config;                 // set only when `errors` is empty
	std::vector<ConfigError> errors;  // at most config::kMaxErrors, then "... and N more errors"
	bool unreadable = false;          // the file could not be opened/read, or is a directory (exit 2)
	size_t error_count = 0;           // problems found, before the cap on `errors`
};

// Parses and validates. Every problem is reported (not only the first).
LoadResult load_config_file(const std::string& path);
LoadResult load_config_text(std::string_view text, const std::string& source_name);
// The table's defaults, as used when /etc/sipguard/sipguard.toml is absent.
ConfigPtr default_config();

// The commented default config, generated from the rows; the shipped
// agent/daemon/sipguard.toml must equal it (tests/daemon/config_test.cpp).
std::string default_config_text();

// Online CPUs, used when `daemon.queues = 0`.
unsigned online_cpus();

} // namespace sipguard::daemon
