// SPDX-License-Identifier: GPL-2.0-or-later
// The parameter table format: one row per config key with its type, range,
// default and help (Snort 3's Parameter table). The loader validates against
// it, the default sipguard.toml is generated from it, and `check-config`
// documents it, so the three cannot drift apart.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sipguard::daemon {

enum class ParamType : uint8_t {
	Bool,
	Int,          // min..max
	Float,        // fmin..fmax
	Duration,     // TOML string "10m"; min..max in milliseconds
	DurationList, // array of durations, each in min..max ms, 1..max_items entries
	String,       // any string (max_items = max length, 0 = unlimited)
	Path,         // absolute path, or "" when `min` == 0 (optional)
	Enum,         // one of `choices` ("a|b|c")
	CidrList,     // array of addresses or CIDR blocks, 0..max_items
	PortList,     // array of ports 1..65535, 1..max_items, no duplicates
	PortRange,    // "LO-HI", 1 <= LO <= HI <= 65535
	Endpoint,     // "" (off) or "ADDR:PORT" / "[V6]:PORT"
	StringList,   // 0..max_items non-empty strings of at most 128 bytes
	TrunkList,    // array of tables {name, networks, trusted, max_calls, max_call_attempts}
};

struct Param {
	std::string_view name;          // dotted key: "detect.flood.invite_burst"
	ParamType type;
	std::string_view default_value; // TOML literal: `5060`, `"10m"`, `["10.0.0.0/8"]`
	std::string_view help;          // one or more sentences; '\n' splits comment lines
	int64_t min = 0;
	int64_t max = 0;
	double fmin = 0;
	double fmax = 0;
	std::string_view choices = {};
	uint32_t max_items = 0;
	// How a changed value takes effect on SIGHUP: an engine snapshot swap
	// (Live), one atomic replace of our nftables table (Rules), or only at the
	// next start (Restart: sockets, threads, paths), which reload logs.
	enum class Apply : uint8_t { Live, Rules, Restart } apply = Apply::Live;
	// Which table the row comes from; `ext` points at that table's own row
	// (engine::Param or calls::Parameter) whose setter fills its config.
	enum class Origin : uint8_t { Daemon, Engine, Calls } origin = Origin::Daemon;
	const void* ext = nullptr;
};

// "an integer in 1..100000", "a duration in 1s..7d like \"10m\"": the
// `expected ...` half of an error message.
std::string describe_expected(const Param& p);

// The daemon's own rows (ports, queues, paths, metrics, RTP range, ...).
std::span<const Param> daemon_params();
// calls.trunk: a daemon-parsed row that belongs after the tracker's keys.
const Param& trunk_param();

// Every row the config file accepts: the daemon's, the engine's (detectors,
// ban ladder, policy) and the call tracker's, in file order.
const std::vector<Param>& all_params();

} // namespace sipguard::daemon
