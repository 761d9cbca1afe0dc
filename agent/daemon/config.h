// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon configuration: a strict TOML loader over the parameter table and
// the immutable, validated Config that the daemon applies as one snapshot.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/calls/config.h"
#include "agent/daemon/duration.h"
#include "agent/daemon/params.h"
#include "agent/engine/config.h"
#include "agent/net/ip_address.h"

namespace sipguard::daemon {

inline constexpr std::string_view kDefaultConfigPath = "/etc/sipguard/sipguard.toml";

struct PortRange {
	uint16_t lo = 0;
	uint16_t hi = 0;
	friend bool operator==(const PortRange&, const PortRange&) = default;
};

struct Endpoint {
	net::IpAddress addr; // invalid = off
	uint16_t port = 0;
	bool enabled() const { return addr.valid(); }
	std::string to_string() const;
	friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// One [[calls.trunk]] entry as written (comparable, for reload diffs).
struct TrunkSpec {
	std::string name;
	std::vector<net::Cidr> networks;
	bool trusted = true;
	uint32_t max_calls = 0;
	uint32_t max_call_attempts = 0;
	friend bool operator==(const TrunkSpec&, const TrunkSpec&) = default;
};

using ParamValue = std::variant<bool, int64_t, double, std::string, Millis, std::vector<Millis>,
                                std::vector<net::Cidr>, std::vector<uint16_t>, PortRange, Endpoint,
                                std::vector<std::string>, std::vector<TrunkSpec>>;

// One validation problem, formatted "file:line:column: key: message".
struct ConfigError {
	std::string file;
	uint32_t line = 0;   // 0 when the problem has no position (unreadable file)
	uint32_t column = 0;
	std::string key;     // empty for syntax errors
	std::string message;
	std::string to_string() const;
};

// Daemon-level settings, decoded from the table once at load time.
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
	Millis save_interval{1000};
	std::vector<uint16_t> sip_ports;
	bool media_pinning = false;
	PortRange rtp_range;
	std::vector<net::Cidr> allowlist;
	std::vector<net::Cidr> trusted;
	std::string metrics_socket;
	Endpoint metrics_listen;
};

class Config {
public:
	// Where the values came from: a path, or "<embedded defaults>".
	const std::string& source() const { return source_; }
	const DaemonSettings& daemon() const { return daemon_; }
	// The engine's snapshot (detectors, ban ladder, policy) and the call
	// tracker's settings, filled through their tables' setters.
	const std::shared_ptr<const engine::Config>& engine() const { return engine_; }
	const calls::Config& calls() const { return calls_; }

	// Typed access by key; the key must be in the table (a typo is a bug: it
	// throws std::logic_error so tests catch it).
	bool get_bool(std::string_view key) const;
	int64_t get_int(std::string_view key) const;
	double get_float(std::string_view key) const;
	const std::string& get_string(std::string_view key) const;
	Millis get_duration(std::string_view key) const;
	const std::vector<Millis>& get_durations(std::string_view key) const;
	const std::vector<net::Cidr>& get_cidrs(std::string_view key) const;
	const std::vector<uint16_t>& get_ports(std::string_view key) const;
	PortRange get_port_range(std::string_view key) const;
	Endpoint get_endpoint(std::string_view key) const;
	const std::vector<std::string>& get_strings(std::string_view key) const;
	const std::vector<TrunkSpec>& get_trunks(std::string_view key) const;
	const ParamValue& get(std::string_view key) const;
	// True when the key was set in the file rather than defaulted.
	bool is_set(std::string_view key) const;

	// Keys whose values differ between two configs (for reload logging).
	std::vector<std::string> diff(const Config& other) const;

private:
	friend class ConfigLoader;
	std::string source_;
	std::map<std::string, ParamValue, std::less<>> values_;
	std::map<std::string, bool, std::less<>> set_in_file_;
	DaemonSettings daemon_;
	std::shared_ptr<const engine::Config> engine_;
	calls::Config calls_;
};

using ConfigPtr = std::shared_ptr<const Config>;

struct LoadResult {
	ConfigPtr config;                 // set only when `errors` is empty
	std::vector<ConfigError> errors;
	bool unreadable = false;          // the file could not be opened/read (exit 2)
};

// Parses and validates. Every problem is reported (not only the first).
LoadResult load_config_file(const std::string& path);
LoadResult load_config_text(std::string_view text, const std::string& source_name);
// The table's defaults, as used when /etc/sipguard/sipguard.toml is absent.
ConfigPtr default_config();

// The commented default config, generated from the table; the shipped
// agent/daemon/sipguard.toml must equal it (tests/daemon/config_test.cpp).
std::string default_config_text();

// Online CPUs, used when `daemon.queues = 0`.
unsigned online_cpus();

} // namespace sipguard::daemon
