// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's rows, the schema of the whole file, and the Config snapshot:
// parse (agent/config), bind each area's rows into its struct, then the
// checks that span several keys.
#include "agent/daemon/config.h"

#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include <fmt/core.h>

#include "agent/engine/ban_safety.h"

namespace sipguard::daemon {

namespace {

using T = config::Type;
using config::Apply;

const config::Row<DaemonSettings> kDaemonRows[] = {
	{{.name = "daemon.queues", .type = T::Int, .default_value = "0",
	  .help = "Number of queue threads (one NFQUEUE each; two with the pre-filter on). 0 = one per online CPU.\n"
	          "The kernel balances SIP flows over them by the symmetric address hash.",
	  .min = 0, .max = 64, .apply = Apply::Restart},
	 config::bind<&DaemonSettings::queues>()},
	{{.name = "daemon.queue_base", .type = T::Int, .default_value = "0",
	  .help = "First NFQUEUE number; queues are queue_base..queue_base+queues-1, and with the pre-filter on\n"
	          "also queue_base+queues..queue_base+2*queues-1 (known sources, read by the same threads).\n"
	          "Change it only if another program on this host uses these queue numbers.",
	  .min = 0, .max = 65000, .apply = Apply::Restart},
	 config::bind<&DaemonSettings::queue_base>()},
	{{.name = "daemon.queue_maxlen", .type = T::Int, .default_value = "4096",
	  .help = "Packets the kernel holds per queue while the agent is busy.", .min = 64, .max = 1048576,
	  .apply = Apply::Restart},
	 config::bind<&DaemonSettings::queue_maxlen>()},
	{{.name = "daemon.fail_open", .type = T::Bool, .default_value = "true",
	  .help = "Let known sources' SIP pass uninspected when no agent listens or their queue is full (true)\n"
	          "instead of dropping it. With the pre-filter on, unknown sources have queues of their own that\n"
	          "never fail open; with it off, true lets everything pass at a full queue.\n"
	          "Shown as sipguard_kernel_failed_open_packets_total and sipguard_kernel_queue_dropped_total.",
	  .apply = Apply::Restart},
	 config::bind<&DaemonSettings::fail_open>()},
	{{.name = "daemon.dry_run", .type = T::Bool, .default_value = "false",
	  .help = "Detect and log, but ban nothing and drop nothing."},
	 config::bind<&DaemonSettings::dry_run>()},
	{{.name = "daemon.remove_table_on_exit", .type = T::Bool, .default_value = "false",
	  .help = "Remove table inet sipguard (and with it every ban) when the daemon stops.\n"
	          "Default false: bans stay in force and SIP passes (queue bypass) while stopped."},
	 config::bind<&DaemonSettings::remove_table_on_exit>()},
	{{.name = "daemon.state_dir", .type = T::Path, .default_value = "\"/var/lib/sipguard\"",
	  .help = "Where active bans and offence history are saved (state.json) and restored at start.", .min = 1,
	  .apply = Apply::Restart},
	 config::bind<&DaemonSettings::state_dir>()},
	{{.name = "daemon.save_interval", .type = T::Duration, .default_value = "\"1s\"",
	  .help = "Saves of the state file are batched: at most one per interval.", .min = 100, .max = 3600 * 1000},
	 config::bind<&DaemonSettings::save_interval>()},
	{{.name = "daemon.ban_log", .type = T::Path, .default_value = "\"/var/log/sipguard/bans.log\"",
	  .help = "Ban log, one JSON line per ban, unban, expiry and detection. \"\" = no file.\n"
	          "Reopened on SIGHUP (logrotate).",
	  .min = 0, .apply = Apply::Restart},
	 config::bind<&DaemonSettings::ban_log>()},
	{{.name = "daemon.control_socket", .type = T::SocketPath, .default_value = "\"/run/sipguard/control.sock\"",
	  .help = "Unix socket of the control CLI (sipguard status/bans/ban/unban/...).\n"
	          "Mode 0660; root and members of control_group may use it.",
	  .min = 1, .apply = Apply::Restart},
	 config::bind<&DaemonSettings::control_socket>()},
	{{.name = "daemon.control_group", .type = T::String, .default_value = "\"sipguard\"",
	  .help = "Group allowed to use the control and metrics sockets besides root (ignored if absent).", .max = 64,
	  .apply = Apply::Restart},
	 config::bind<&DaemonSettings::control_group>()},
	{{.name = "daemon.log_level", .type = T::Enum, .default_value = "\"info\"", .help = "Journal/stderr log level.",
	  .choices = "debug|info|warning|error"},
	 config::bind<&DaemonSettings::log_level>()},
	{{.name = "sip.ports", .type = T::PortList, .default_value = "[5060]",
	  .help = "Local SIP ports (UDP and TCP) whose traffic is queued to the agent.", .min_items = 1,
	  .max_items = 32, .apply = Apply::Rules},
	 config::bind<&DaemonSettings::sip_ports>()},
	{{.name = "media.pinning", .type = T::Bool, .default_value = "false",
	  .help = "Close media.rtp_range to everyone but the endpoints of live calls.\n"
	          "Enable only with rtp_range matching the PBX (Asterisk rtp.conf rtpstart..rtpend).",
	  .apply = Apply::Rules},
	 config::bind<&DaemonSettings::media_pinning>()},
	{{.name = "media.rtp_range", .type = T::PortRange, .default_value = "\"10000-20000\"",
	  .help = "The PBX's RTP port range, \"LO-HI\".", .apply = Apply::Rules},
	 config::bind<&DaemonSettings::rtp_range>()},
	{{.name = "policy.allowlist", .type = T::CidrList, .default_value = "[]",
	  .help = "Addresses and CIDR blocks that are never banned nor inspected for bans\n"
	          "(e.g. [\"192.0.2.10\", \"2001:db8:1::/48\"]).",
	  .max_items = 4096},
	 config::bind<&DaemonSettings::allowlist>()},
	{{.name = "policy.trusted", .type = T::CidrList, .default_value = "[]",
	  .help = "Trusted SIP peers (trunks, SBCs): never banned, may send NOTIFY check-sync.", .max_items = 4096},
	 config::bind<&DaemonSettings::trusted>()},
	{{.name = "prefilter.enabled", .type = T::Bool, .default_value = "true",
	  .help = "Kernel-side pre-filter in front of the queue: known sources (registered or authenticated,\n"
	          "contacted by the PBX, allowlisted, trusted) go to the agent; others pass a per-source rate and a\n"
	          "global budget, the excess dropped in the kernel. Unknown sources never pass uninspected.\n"
	          "Restart-only: it also decides whether the queues may fail open.",
	  .apply = Apply::Restart},
	 config::bind<&DaemonSettings::prefilter, &DaemonSettings::Prefilter::enabled>()},
	{{.name = "prefilter.source_rate", .type = T::Int, .default_value = "100",
	  .help = "Packets/s one unknown source may send to the SIP ports; the excess is dropped in the kernel.\n"
	          "Registered phones and trunks are known and never metered.",
	  .min = 1, .max = 1000000, .apply = Apply::Rules},
	 config::bind<&DaemonSettings::prefilter, &DaemonSettings::Prefilter::source_rate>()},
	{{.name = "prefilter.source_burst", .type = T::Int, .default_value = "500",
	  .help = "Packets an unknown source may send at once before source_rate applies (a NATed office\n"
	          "registering its phones after a power cut).",
	  .min = 1, .max = 1000000, .apply = Apply::Rules},
	 config::bind<&DaemonSettings::prefilter, &DaemonSettings::Prefilter::source_burst>()},
	{{.name = "prefilter.unknown_rate", .type = T::Int, .default_value = "0",
	  .help = "Packets/s all unknown sources together may send; the excess is dropped in the kernel.\n"
	          "0 = 48000 per queue, for at most (CPUs - 1) queues (a fifth of one queue's measured capacity;\n"
	          "one core left to the PBX).",
	  .min = 0, .max = 100000000, .apply = Apply::Rules},
	 config::bind<&DaemonSettings::prefilter, &DaemonSettings::Prefilter::unknown_rate>()},
	{{.name = "prefilter.known_timeout", .type = T::Duration, .default_value = "\"1h\"",
	  .help = "A known source stays in the kernel's known set this long after its last activity.",
	  .min = 10 * 1000, .max = 7 * 24 * 3600 * 1000LL},
	 config::bind<&DaemonSettings::prefilter, &DaemonSettings::Prefilter::known_timeout>()},
	{{.name = "prefilter.refresh", .type = T::Duration, .default_value = "\"60s\"",
	  .help = "A known source's timeout is refreshed at most once per this interval.", .min = 1000,
	  .max = 3600 * 1000},
	 config::bind<&DaemonSettings::prefilter, &DaemonSettings::Prefilter::refresh>()},
	{{.name = "prefilter.max_known", .type = T::Int, .default_value = "65536",
	  .help = "Size of the kernel's known sets (each of IPv4 and IPv6); past it, new sources stay unknown.",
	  .min = 16, .max = 4194304, .apply = Apply::Rules},
	 config::bind<&DaemonSettings::prefilter, &DaemonSettings::Prefilter::max_known>()},
	{{.name = "prefilter.proven_timeout", .type = T::Duration, .default_value = "\"10m\"",
	  .help = "A proven receiver (a source that answered a challenge the PBX sent to its address; it is metered\n"
	          "per source but skips the global budget) stays in the kernel's proven set this long after its\n"
	          "last proof, refreshed at most once per prefilter.refresh.",
	  .min = 10 * 1000, .max = 24 * 3600 * 1000LL},
	 config::bind<&DaemonSettings::prefilter, &DaemonSettings::Prefilter::proven_timeout>()},
	{{.name = "prefilter.max_proven", .type = T::Int, .default_value = "65536",
	  .help = "Size of the kernel's proven sets (each of IPv4 and IPv6); past it, new proven receivers stay\n"
	          "under the global budget.",
	  .min = 16, .max = 4194304, .apply = Apply::Rules},
	 config::bind<&DaemonSettings::prefilter, &DaemonSettings::Prefilter::max_proven>()},
	{{.name = "prefilter.meter_size", .type = T::Int, .default_value = "65536",
	  .help = "Unknown sources metered at once (each of IPv4 and IPv6); past it, only the global budget applies.",
	  .min = 16, .max = 4194304, .apply = Apply::Rules},
	 config::bind<&DaemonSettings::prefilter, &DaemonSettings::Prefilter::meter_size>()},
	{{.name = "metrics.socket", .type = T::SocketPath, .default_value = "\"/run/sipguard/metrics.sock\"",
	  .help = "Unix socket serving Prometheus metrics (HTTP GET /metrics). \"\" = off.", .min = 0,
	  .apply = Apply::Restart},
	 config::bind<&DaemonSettings::metrics_socket>()},
	{{.name = "metrics.listen", .type = T::Endpoint, .default_value = "\"\"",
	  .help = "Also serve metrics on this local TCP address, e.g. \"127.0.0.1:9260\". \"\" = off.\n"
	          "Under systemd this needs a drop-in allowing AF_INET/AF_INET6 (see README).",
	  .apply = Apply::Restart},
	 config::bind<&DaemonSettings::metrics_listen>()},
};

} // namespace

std::span<const config::Row<DaemonSettings>> daemon_rows()
{
	return kDaemonRows;
}

namespace {

// The guard's rows with each TOML table's keys together: [fraud] keys, then
// those of [fraud.pattern]. The generated file writes a table header where
// the section changes, and TOML refuses a table defined twice.
std::span<const config::Row<fraud::Config>> fraud_rows()
{
	static const std::vector<config::Row<fraud::Config>> rows = [] {
		std::vector<config::Row<fraud::Config>> v(fraud::rows().begin(), fraud::rows().end());
		std::stable_partition(v.begin(), v.end(), [](const config::Spec& s) {
			return s.name.find('.', std::string_view("fraud.").size()) == std::string_view::npos;
		});
		return v;
	}();
	return rows;
}

} // namespace

const config::Schema& all_params()
{
	static const config::Schema schema(daemon_rows(), engine::params(), calls::rows(), fraud_rows());
	return schema;
}

class ConfigLoader {
public:
	static LoadResult load(std::string_view text, const std::string& source)
	{
		LoadResult r;
		config::Parsed parsed = config::parse(text, source, all_params());
		if (!parsed.errors.empty()) {
			r.errors = std::move(parsed.errors);
			r.error_count = parsed.error_count;
			return r;
		}
		auto cfg = std::make_shared<Config>();
		cfg->source_ = source;
		cfg->values_ = std::move(parsed.values);
		auto engine = std::make_shared<engine::Config>();
		config::assign_all(daemon_rows(), cfg->daemon_, cfg->values_);
		config::assign_all(engine::params(), *engine, cfg->values_);
		config::assign_all(calls::rows(), cfg->calls_, cfg->values_);
		config::assign_all(fraud_rows(), cfg->fraud_, cfg->values_);

		DaemonSettings& d = cfg->daemon_;
		if (d.queues == 0)
			d.queues = online_cpus();
		// An IPv4-mapped entry (::ffff:192.0.2.10) is the IPv4 block it
		// names, for the engine and the kernel's allow sets alike.
		for (auto* blocks : {&d.allowlist, &d.trusted})
			for (auto& c : *blocks)
				c = engine::unmap_v4(c);
		// Policy is the daemon's (policy.*, daemon.dry_run); the engine
		// applies it.
		engine->allowlist = d.allowlist;
		engine->trusted = d.trusted;
		engine->dry_run = d.dry_run;
		for (const calls::Trunk& t : cfg->calls_.trunks)
			for (const net::Cidr& c : t.networks)
				engine->trunks.push_back(engine::unmap_v4(c));
		cfg->engine_ = std::move(engine);

		r.errors = cross_check(*cfg);
		r.error_count = r.errors.size();
		if (r.errors.empty())
			r.config = std::move(cfg);
		return r;
	}

private:
	// Rules that span keys, reported at the key the file set.
	static std::vector<ConfigError> cross_check(const Config& cfg)
	{
		std::vector<ConfigError> errors;
		auto error = [&](std::string_view key, std::string msg) {
			errors.push_back(cfg.values_.error_at(cfg.source_, key, std::move(msg)));
		};
		const DaemonSettings& d = cfg.daemon_;
		if (const unsigned total = d.prefilter.enabled ? 2 * d.queues : d.queues; d.queue_base + total - 1 > 65535)
			error("daemon.queue_base", d.prefilter.enabled
			                               ? "queue_base + 2 × queues (pre-filter on) exceeds queue number 65535"
			                               : "queue_base + queues exceeds queue number 65535");
		for (uint16_t port : d.sip_ports)
			if (port >= d.rtp_range.lo && port <= d.rtp_range.hi)
				error("media.rtp_range",
				      fmt::format("the RTP range {}-{} contains SIP port {}", d.rtp_range.lo, d.rtp_range.hi, port));
		if (!d.metrics_socket.empty() && d.metrics_socket == d.control_socket)
			error("metrics.socket", "must differ from daemon.control_socket");
		// The guard's own cross-key rules: the message names its key first
		// ("fraud.business_hours: ..."); reported at that key when it is one.
		if (auto msg = cfg.fraud_.validate()) {
			const size_t end = msg->find_first_of(": ");
			const std::string key = msg->substr(0, end);
			if (end != std::string::npos && all_params().find(key) && (*msg)[end] == ':')
				error(key, msg->substr(msg->find_first_not_of(' ', end + 1) == std::string::npos
				                           ? msg->size()
				                           : msg->find_first_not_of(' ', end + 1)));
			else
				error("fraud.enabled", *msg);
		}
		return errors;
	}
};

LoadResult load_config_text(std::string_view text, const std::string& source_name)
{
	return ConfigLoader::load(text, source_name);
}

LoadResult load_config_file(const std::string& path)
{
	util::Result<std::string> text = config::read_file(path);
	if (!text) {
		LoadResult r;
		r.unreadable = true;
		r.errors.push_back({path, 0, 0, "", text.error()});
		r.error_count = 1;
		return r;
	}
	return load_config_text(*text, path);
}

ConfigPtr default_config()
{
	static const ConfigPtr cfg = [] {
		LoadResult r = ConfigLoader::load(default_config_text(), "<embedded defaults>");
		if (!r.config) {
			std::string all;
			for (const auto& e : r.errors) {
				all += '\n';
				all += e.to_string();
			}
			throw std::logic_error(fmt::format("the parameter table's defaults are invalid:{}", all));
		}
		return r.config;
	}();
	return cfg;
}

std::string default_config_text()
{
	return config::default_file_text(all_params());
}

unsigned online_cpus()
{
	long n = ::sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? static_cast<unsigned>(std::min<long>(n, 64)) : 1;
}

} // namespace sipguard::daemon
