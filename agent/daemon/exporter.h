// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's Prometheus families, every one from a counter table
// (metrics::CounterTable): summed over the shards, the daemon's own counters,
// one series per queue (labelled queue="N"), and snapshots read once per
// scrape (rules writer, kernel counters and health). Collected on the
// control thread.
#pragma once

#include "agent/daemon/metrics.h"
#include "nfq/proc_stats.h"
#include "nfq/queue.h"
#include "rules/netlink.h"

namespace sipguard::daemon {

struct Runtime;

// The per-queue families (one series per queue, labelled queue="N"): our
// receive side and the kernel's view from /proc. Exposed for the tests,
// which have no queue to bind.
const metrics::CounterTable<nfq::QueueStats>& queue_table();
const metrics::CounterTable<nfq::KernelQueueStats>& kernel_queue_table();

// The toll-fraud guard's families (fraud_metrics.cpp); present with zero
// values while the guard is off.
void export_fraud(metrics::Exposition& e, const Runtime& rt);

class Exporter {
public:
	explicit Exporter(const Runtime& rt) : rt_(rt) {}
	void collect(metrics::Exposition& e);

private:
	void queues(metrics::Exposition& e) const;
	void rules_writer(metrics::Exposition& e) const;
	void kernel_counters(metrics::Exposition& e);

	const Runtime& rt_;
	rules::Netlink nl_; // the kernel's rule counters; control thread only
};

} // namespace sipguard::daemon
