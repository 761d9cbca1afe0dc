// SPDX-License-Identifier: GPL-2.0-or-later
// Daemon start-up: table inet sipguard installed with what this kernel has
// (queue backend, fragment reassembly, rate limits), and logged.
#include "agent/daemon/table_install.h"

#include <string>

#include <fmt/core.h>
#include <fmt/format.h>

#include "agent/util/log.h"

namespace sipguard::daemon {

util::Status install_table(rules::Netlink& nl, const Config& cfg, Runtime& rt, rules::TableSpec& spec)
{
	const DaemonSettings& d = cfg.daemon();
	if (rules::Status st = rules::install_auto(nl, spec, rt.backend); !st)
		return util::Status::failure(st.error, "cannot install table inet sipguard: " + st.message);
	rt.defrag = spec.defrag;
	rt.prefilter.limits = spec.prefilter.limits;
	if (!spec.prefilter.limits)
		rt.prefilter.limits_detail = "the kernel has no nft_dynset/nft_limit (CONFIG_NFT_LIMIT): per-source and "
		                              "global rate limits are off, known and unknown sources are still told apart";
	if (d.prefilter.enabled)
		LOG(Daemon, Info, "pre-filter on: {} pkt/s per unknown source (burst {}), {} pkt/s for all unknown sources{}",
		    spec.prefilter.source_rate, spec.prefilter.source_burst, spec.prefilter.unknown_rate,
		    spec.prefilter.limits ? std::string() : "; " + rt.prefilter.limits_detail);
	LOG(Daemon, Info,
	    "table inet sipguard installed (queue backend {}, fragment reassembly {}, queues {}..{}, SIP ports {}, media "
	    "pinning {})",
	    rules::to_string(rt.backend), rules::to_string(spec.defrag), d.queue_base, d.queue_base + rules::total_queues(spec) - 1,
	    fmt::join(d.sip_ports, ","),
	    d.media_pinning ? fmt::format("on {}-{}", d.rtp_range.lo, d.rtp_range.hi) : std::string("off"));
	if (spec.defrag == rules::DefragBackend::None)
		LOG(Daemon, Warning, "the kernel has neither the nft tproxy nor the ct expression: fragmented SIP reaches the "
		                     "agent in pieces; first fragments from sources not known to be good are dropped");
	return util::Status::success();
}

} // namespace sipguard::daemon
