// SPDX-License-Identifier: GPL-2.0-or-later
// What the kernel-side pre-filter did: its drops, what the queue rules sent
// to the queues (known / unknown / other), the known sets' size, and the
// packets that passed a queue rule without reaching a queue (failed open),
// for `sipguard status` and the metrics.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>

#include "agent/daemon/metrics.h"
#include "agent/util/json.h"
#include "nfq/proc_stats.h"
#include "rules/netlink.h"
#include "rules/table.h"

namespace sipguard::daemon {

struct Runtime;

// Packets the queue rules counted but no queue took: the fail-open flag
// accepting at a full queue (or a full socket), and `bypass` while no
// program listens. Fed cumulative readings: the rules' counters (reset when
// the table is replaced) and, over our queues, the kernel's id sequence plus
// its queue-full drops (reset when a queue is bound again). Exact up to the
// packets in flight between a rule and its queue at the moment of reading.
class FailedOpenMeter {
public:
	void update(uint64_t queued_by_rules, uint64_t taken_by_queues);
	uint64_t total() const { return failed_; }

	// A deficit (queues took more than the rules counted: the table was
	// replaced between readings) is forgotten beyond this many packets, so
	// it cannot hide later failed-open packets for long.
	static constexpr int64_t kMaxDeficit = 4096;

private:
	bool first_ = true;
	uint64_t last_q_ = 0, last_t_ = 0;
	int64_t balance_ = 0; // counted by the rules, not taken by a queue, not yet reported
	uint64_t failed_ = 0;
};

// Sum over our queues of what the kernel handed out or dropped at a full
// queue (id_sequence counts every packet given an id, socket-full drops
// included).
uint64_t taken_by_queues(std::span<const nfq::KernelQueueStats> stats);

// Set at start-up (probe) and read by status.
struct PrefilterState {
	bool limits = true;       // the kernel has dynset + limit
	std::string limits_detail; // why not
};

// One reading, per scrape or status.
struct PrefilterScrape {
	bool enabled = false;
	bool limits = false;
	rules::Counters counters;
	uint64_t known4 = 0, known6 = 0;   // elements in the known sets
	uint64_t proven4 = 0, proven6 = 0; // elements in the proven sets
	uint64_t failed_open = 0;
	uint64_t refreshes = 0, refreshes_rejected = 0; // known-set updates from the shards
	uint64_t proven_refreshes = 0, proven_refreshes_rejected = 0; // proven-set updates
	bool read_ok = false;
};

class PrefilterReader {
public:
	// Reads the kernel (rule counters, known sets, /proc queue stats) on its
	// own socket; control thread only.
	PrefilterScrape read(const Runtime& rt);

	// Listing the known sets costs a dump of up to prefilter.max_known
	// elements each: after a listing that took t, the next waits 50 t
	// (a few hundred microseconds for a small set, about 30 s for 65,536),
	// so counting takes at most 2% of the control thread.
	static constexpr int kKnownCountSpacing = 50;

private:
	rules::Netlink nl_;
	std::mutex mu_;
	FailedOpenMeter meter_;
	std::chrono::steady_clock::time_point next_count_{};
	uint64_t known4_ = 0, known6_ = 0;
	uint64_t proven4_ = 0, proven6_ = 0;
};

// The families: sipguard_kernel_queued_packets_total{source},
// sipguard_kernel_failed_open_packets_total, sipguard_prefilter_known_sources{family},
// sipguard_prefilter_known_updates_total{outcome}, sipguard_prefilter_proven_sources{family},
// sipguard_prefilter_proven_updates_total{outcome}.
const metrics::CounterTable<PrefilterScrape>& prefilter_table();

// The `prefilter` object of `status --json`.
util::json::Value prefilter_json(const PrefilterScrape& s, const PrefilterState& state, uint32_t unknown_rate);

} // namespace sipguard::daemon
