// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's parameter rows and the merged table of every config key.
#include "agent/daemon/params.h"

#include <array>

#include <fmt/core.h>

#include "agent/calls/config.h"
#include "agent/daemon/duration.h"

namespace sipguard::daemon {

namespace {

using T = ParamType;

// The call tracker's enum rows carry their choices in their setter: its
// error for an impossible value is the expectation ("expected \"drop\" or
// \"accept\"").
std::string calls_enum_expected(const Param& p)
{
	auto* row = static_cast<const calls::Parameter*>(p.ext);
	calls::Config scratch;
	std::string err;
	if (row && row->set_text && !row->set_text(scratch, "\x01", err) && !err.empty())
		return err;
	return "expected a valid value";
}

// Daemon-level keys. Engine (detect.*, ban.*, policy.*) and call tracker
// (calls.*) rows come from their own tables; see all_params().
const std::array kDaemonParams{
	Param{.name = "daemon.queues", .type = T::Int, .default_value = "0",
	      .help = "Number of NFQUEUE queues, one agent thread each. 0 = one per online CPU.\n"
	              "The kernel balances SIP flows over them by the symmetric address hash.",
	      .min = 0, .max = 64, .apply = Param::Apply::Restart},
	Param{.name = "daemon.queue_base", .type = T::Int, .default_value = "0",
	      .help = "First NFQUEUE number; queues are queue_base..queue_base+queues-1.\n"
	              "Change it only if another program on this host uses these queue numbers.",
	      .min = 0, .max = 65000, .apply = Param::Apply::Restart},
	Param{.name = "daemon.queue_maxlen", .type = T::Int, .default_value = "4096",
	      .help = "Packets the kernel holds per queue while the agent is busy.",
	      .min = 64, .max = 1048576, .apply = Param::Apply::Restart},
	Param{.name = "daemon.fail_open", .type = T::Bool, .default_value = "true",
	      .help = "When a queue is full, let packets pass (true) instead of dropping them (false).\n"
	              "Overload shows in sipguard_kernel_queue_dropped_total (fail_open = false) or as uninspected packets.",
	      .apply = Param::Apply::Restart},
	Param{.name = "daemon.dry_run", .type = T::Bool, .default_value = "false",
	      .help = "Detect and log, but ban nothing and drop nothing."},
	Param{.name = "daemon.remove_table_on_exit", .type = T::Bool, .default_value = "false",
	      .help = "Remove table inet sipguard (and with it every ban) when the daemon stops.\n"
	              "Default false: bans stay in force and SIP passes (queue bypass) while stopped."},
	Param{.name = "daemon.state_dir", .type = T::Path, .default_value = "\"/var/lib/sipguard\"",
	      .help = "Where active bans and offence history are saved (state.json) and restored at start.",
	      .min = 1, .apply = Param::Apply::Restart},
	Param{.name = "daemon.save_interval", .type = T::Duration, .default_value = "\"1s\"",
	      .help = "Saves of the state file are batched: at most one per interval.",
	      .min = 100, .max = 3600 * 1000},
	Param{.name = "daemon.ban_log", .type = T::Path, .default_value = "\"/var/log/sipguard/bans.log\"",
	      .help = "Ban log, one JSON line per ban, unban, expiry and detection. \"\" = no file.\n"
	              "Reopened on SIGHUP (logrotate).",
	      .min = 0, .apply = Param::Apply::Restart},
	Param{.name = "daemon.control_socket", .type = T::Path, .default_value = "\"/run/sipguard/control.sock\"",
	      .help = "Unix socket of the control CLI (sipguard status/bans/ban/unban/...).\n"
	              "Mode 0660; root and members of control_group may use it.",
	      .min = 1, .apply = Param::Apply::Restart},
	Param{.name = "daemon.control_group", .type = T::String, .default_value = "\"sipguard\"",
	      .help = "Group allowed to use the control and metrics sockets besides root (ignored if absent).",
	      .max_items = 64, .apply = Param::Apply::Restart},
	Param{.name = "daemon.log_level", .type = T::Enum, .default_value = "\"info\"",
	      .help = "Journal/stderr log level.", .choices = "debug|info|warning|error"},
	Param{.name = "sip.ports", .type = T::PortList, .default_value = "[5060]",
	      .help = "Local SIP ports (UDP and TCP) whose traffic is queued to the agent.",
	      .max_items = 32, .apply = Param::Apply::Rules},
	Param{.name = "media.pinning", .type = T::Bool, .default_value = "false",
	      .help = "Close media.rtp_range to everyone but the endpoints of live calls.\n"
	              "Enable only with rtp_range matching the PBX (Asterisk rtp.conf rtpstart..rtpend).",
	      .apply = Param::Apply::Rules},
	Param{.name = "media.rtp_range", .type = T::PortRange, .default_value = "\"10000-20000\"",
	      .help = "The PBX's RTP port range, \"LO-HI\".", .apply = Param::Apply::Rules},
	Param{.name = "policy.allowlist", .type = T::CidrList, .default_value = "[]",
	      .help = "Addresses and CIDR blocks that are never banned nor inspected for bans\n"
	              "(e.g. [\"192.0.2.10\", \"2001:db8:1::/48\"]).",
	      .max_items = 4096},
	Param{.name = "policy.trusted", .type = T::CidrList, .default_value = "[]",
	      .help = "Trusted SIP peers (trunks, SBCs): never banned, may send NOTIFY check-sync.",
	      .max_items = 4096},
	Param{.name = "metrics.socket", .type = T::Path, .default_value = "\"/run/sipguard/metrics.sock\"",
	      .help = "Unix socket serving Prometheus metrics (HTTP GET /metrics). \"\" = off.",
	      .min = 0, .apply = Param::Apply::Restart},
	Param{.name = "metrics.listen", .type = T::Endpoint, .default_value = "\"\"",
	      .help = "Also serve metrics on this local TCP address, e.g. \"127.0.0.1:9260\". \"\" = off.\n"
	              "Under systemd this needs a drop-in allowing AF_INET/AF_INET6 (see README).",
	      .apply = Param::Apply::Restart},
};

// Last in the file (after the call tracker's [calls] keys), so the generated
// config has one [calls] section.
const Param kTrunkParam = {.name = "calls.trunk", .type = T::TrunkList, .default_value = "[]",
	      .help = "SIP trunks (ITSPs): a name, the networks of their signalling and media nodes, whether they\n"
	              "are trusted (exempt from forged/unknown-dialog checks; default true) and their call limits\n"
	              "(0 = unlimited, the default), replacing the per-source limits for their addresses. Example:\n"
	              "trunk = [{name = \"itsp\", networks = [\"203.0.113.0/28\"], max_calls = 30}]\n"
	              "(or delete this line and write [[calls.trunk]] tables at the end of the file).",
	      .max_items = 255, .apply = Param::Apply::Restart};

std::string range_ms(int64_t lo, int64_t hi)
{
	return fmt::format("{}..{}", format_duration(Millis(lo)), format_duration(Millis(hi)));
}

} // namespace

std::string describe_expected(const Param& p)
{
	switch (p.type) {
	case T::Bool: return "expected true or false";
	case T::Int: return fmt::format("expected an integer in {}..{}", p.min, p.max);
	case T::Float: return fmt::format("expected a number in {}..{}", p.fmin, p.fmax);
	case T::Duration:
		return fmt::format("expected a duration in {} like \"90s\", \"10m\", \"1h30m\"", range_ms(p.min, p.max));
	case T::DurationList:
		return fmt::format("expected an array of 1..{} durations in {} like [\"10m\", \"1h\"]", p.max_items,
		                   range_ms(p.min, p.max));
	case T::String: return "expected a string";
	case T::Path: return p.min ? "expected an absolute path" : "expected an absolute path or \"\"";
	case T::Enum: {
		if (p.choices.empty() && p.origin == Param::Origin::Calls)
			return calls_enum_expected(p);
		std::string out = "expected one of";
		std::string_view c = p.choices;
		bool first = true;
		while (!c.empty()) {
			size_t bar = c.find('|');
			out += fmt::format("{} \"{}\"", first ? "" : ",", c.substr(0, bar));
			first = false;
			c = bar == std::string_view::npos ? std::string_view{} : c.substr(bar + 1);
		}
		return out;
	}
	case T::CidrList:
		return fmt::format("expected an array of at most {} addresses or CIDR blocks like \"192.0.2.0/24\"",
		                   p.max_items);
	case T::PortList: return fmt::format("expected an array of 1..{} distinct ports in 1..65535", p.max_items);
	case T::PortRange: return "expected a port range \"LO-HI\" with 1 <= LO <= HI <= 65535";
	case T::Endpoint: return "expected \"ADDRESS:PORT\" (\"[V6]:PORT\" for IPv6) or \"\"";
	case T::TrunkList:
		return "expected an array of tables {name = \"...\", networks = [\"CIDR\", ...], trusted = true, "
		       "max_calls = 0, max_call_attempts = 0}";
	case T::StringList:
		return fmt::format("expected an array of at most {} non-empty strings of at most 128 bytes", p.max_items);
	}
	return "expected a valid value";
}

std::span<const Param> daemon_params() { return kDaemonParams; }
const Param& trunk_param() { return kTrunkParam; }

} // namespace sipguard::daemon
