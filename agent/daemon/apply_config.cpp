// SPDX-License-Identifier: GPL-2.0-or-later
// Config to table spec, and the reload that keeps the old config on any error.
#include "agent/daemon/apply_config.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include <fmt/core.h>
#include <fmt/format.h>

#include "agent/daemon/runtime.h"
#include "agent/util/log.h"

namespace sipguard::daemon {

namespace {

bool same_spec(const rules::TableSpec& a, const rules::TableSpec& b)
{
	return a.sip_ports == b.sip_ports && a.queue_base == b.queue_base && a.queue_count == b.queue_count &&
	       a.pin_media == b.pin_media && a.rtp_min == b.rtp_min && a.rtp_max == b.rtp_max && a.allow == b.allow &&
	       a.prefilter == b.prefilter;
}

// Keys that changed and apply only at a restart.
std::vector<std::string> restart_keys(const std::vector<std::string>& changed)
{
	std::vector<std::string> out;
	for (const auto& k : changed)
		for (const Param& p : all_params())
			if (p.name == k && p.apply == Param::Apply::Restart)
				out.push_back(k);
	return out;
}

} // namespace

uint32_t unknown_rate(const Config& cfg)
{
	const DaemonSettings& d = cfg.daemon();
	return d.prefilter.unknown_rate ? d.prefilter.unknown_rate : derived_unknown_rate(d.queues, online_cpus());
}

rules::TableSpec table_spec(const Config& cfg)
{
	const DaemonSettings& d = cfg.daemon();
	rules::TableSpec spec;
	spec.sip_ports = d.sip_ports;
	spec.queue_base = d.queue_base;
	spec.queue_count = static_cast<uint16_t>(d.queues);
	spec.pin_media = d.media_pinning;
	spec.rtp_min = d.rtp_range.lo;
	spec.rtp_max = d.rtp_range.hi;
	spec.allow = d.allowlist;
	spec.allow.insert(spec.allow.end(), d.trusted.begin(), d.trusted.end());
	spec.keep_elements = true;
	const auto& pf = d.prefilter;
	spec.prefilter.enabled = pf.enabled;
	// Known sources pass when no agent listens only with fail_open; unknown
	// ones never do.
	spec.prefilter.known_bypass = d.fail_open;
	spec.prefilter.source_rate = pf.source_rate;
	spec.prefilter.source_burst = pf.source_burst;
	spec.prefilter.unknown_rate = unknown_rate(cfg);
	// A tenth of a second's budget at once.
	spec.prefilter.unknown_burst = std::max<uint32_t>(spec.prefilter.unknown_rate / 10, 1);
	spec.prefilter.known_size = pf.max_known;
	spec.prefilter.proven_size = pf.max_proven;
	spec.prefilter.meter_size = pf.meter_size;
	// An entry outlives the time its bucket takes to refill, so one that
	// expires would have been full anyway.
	spec.prefilter.meter_timeout =
		std::chrono::seconds(std::max<uint32_t>(10, pf.source_burst / std::max<uint32_t>(pf.source_rate, 1) + 1));
	return spec;
}

void apply_log_level(const Config& cfg)
{
	log::Level level;
	if (log::parse_level(cfg.daemon().log_level, level))
		log::set_threshold(level);
}

util::Status apply_config_file(Runtime& rt, rules::Netlink& nl, rules::TableSpec& spec, const std::string& path,
                               bool path_explicit)
{
	LoadResult r;
	if (path_explicit || std::filesystem::exists(path))
		r = load_config_file(path);
	else
		r.config = default_config();
	for (const auto& e : r.errors)
		LOG(Daemon, Error, "reload: {}", e.to_string());
	if (!r.config)
		return util::Status::invalid(fmt::format("{} is invalid ({} error{}: {})", path, r.error_count,
		                                         r.error_count == 1 ? "" : "s",
		                                         r.errors.empty() ? "" : r.errors[0].to_string()));

	ConfigPtr next = r.config;
	std::vector<std::string> changed = next->diff(*rt.config());
	if (auto keys = restart_keys(changed); !keys.empty())
		return util::Status::invalid(fmt::format("{} change{} only at a restart (systemctl restart sipguard)",
		                                         fmt::join(keys, ", "), keys.size() == 1 ? "s" : ""));

	if (rt.fraud)
		if (util::Status st = rt.fraud->check(*next); !st)
			return st;

	rules::TableSpec next_spec = table_spec(*next);
	next_spec.defrag = rt.defrag; // probed at start, not configured
	next_spec.prefilter.limits = rt.prefilter.limits;
	if (!same_spec(next_spec, spec)) {
		// One transaction replaces the whole table, carrying bans and
		// pinholes over: the kernel sees the old ruleset or the new one. On
		// the writer's thread, so it is ordered with bans and checks, and
		// later checks compare the kernel with the new spec.
		util::Status st = rt.writer ? rt.kernel.replace_table(next_spec) : rules::install(nl, next_spec, rt.backend);
		if (!st)
			return util::Status::failure(st.error, fmt::format("replacing table inet sipguard failed: {}", st.message));
		if (!rt.writer)
			rt.kernel.set_table(next_spec, rt.backend);
		spec = next_spec;
	}
	rt.bans->reconfigure(*next->engine());
	// Checked above: a failure here is a data file changed meanwhile; the
	// guard keeps its old settings and says so.
	if (rt.fraud)
		if (util::Status st = rt.fraud->apply(*next); !st)
			LOG(Daemon, Error, "reload: {}; the fraud guard keeps its previous settings", st.message);
	rt.set_config(next);
	apply_log_level(*next);
	LOG(Daemon, Info, "reload: {} applied ({})", next->source(),
	    changed.empty() ? std::string("no changes") : fmt::format("changed: {}", fmt::join(changed, ", ")));
	return util::Status::success();
}

} // namespace sipguard::daemon
