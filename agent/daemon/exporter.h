// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's Prometheus families. Fixed counters come from counter tables
// (metrics::CounterTable) over the shards' counters and the daemon's own;
// per-queue and kernel statistics follow with labels known only at scrape
// time. Collected on the control thread.
#pragma once

#include "agent/daemon/metrics.h"
#include "rules/netlink.h"

namespace sipguard::daemon {

struct Runtime;

class Exporter {
public:
	explicit Exporter(const Runtime& rt) : rt_(rt) {}
	void collect(metrics::Exposition& e);

private:
	void queues(metrics::Exposition& e) const;
	void rules_writer(metrics::Exposition& e) const;
	void kernel_counters(metrics::Exposition& e);
	void kernel_health(metrics::Exposition& e) const;

	const Runtime& rt_;
	rules::Netlink nl_; // the kernel's rule counters; control thread only
};

} // namespace sipguard::daemon
