// SPDX-License-Identifier: GPL-2.0-or-later
// What the kernel-side pre-filter did, for `sipguard status` and the metrics.
#include "agent/daemon/prefilter_report.h"

#include <algorithm>
#include <vector>

#include "agent/daemon/runtime.h"
#include "rules/elements_internal.h"

namespace sipguard::daemon {

void FailedOpenMeter::update(uint64_t queued_by_rules, uint64_t taken_by_queues)
{
	if (first_) {
		// Only what happens from the first reading on is ours to report.
		first_ = false;
		last_q_ = queued_by_rules;
		last_t_ = taken_by_queues;
		return;
	}
	// A reading below the last one: the counter started again from zero
	// (table replaced, queue bound anew), so all of it is new.
	const uint64_t dq = queued_by_rules >= last_q_ ? queued_by_rules - last_q_ : queued_by_rules;
	const uint64_t dt = taken_by_queues >= last_t_ ? taken_by_queues - last_t_ : taken_by_queues;
	last_q_ = queued_by_rules;
	last_t_ = taken_by_queues;
	balance_ += static_cast<int64_t>(dq) - static_cast<int64_t>(dt);
	if (balance_ > 0) {
		failed_ += static_cast<uint64_t>(balance_);
		balance_ = 0;
	}
	balance_ = std::max(balance_, -kMaxDeficit);
}

uint64_t taken_by_queues(std::span<const nfq::KernelQueueStats> stats)
{
	uint64_t n = 0;
	for (const auto& q : stats)
		n += uint64_t{q.id_sequence} + q.queue_dropped;
	return n;
}

PrefilterScrape PrefilterReader::read(const Runtime& rt)
{
	PrefilterScrape s;
	const ConfigPtr cfg = rt.config();
	s.enabled = cfg->daemon().prefilter.enabled;
	s.limits = s.enabled && rt.prefilter.limits;
	for (const auto& shard : rt.shards) {
		s.refreshes += shard->known.sent.get();
		s.refreshes_rejected += shard->known.rejected.get();
		s.proven_refreshes += shard->proven.sent.get();
		s.proven_refreshes_rejected += shard->proven.rejected.get();
	}
	std::lock_guard lock(mu_);
	if (!nl_.is_open())
		(void)nl_.open();
	if (!nl_.is_open() || !rules::read_counters(nl_, s.counters).ok())
		return s;
	s.read_ok = true;
	const auto now = std::chrono::steady_clock::now();
	if (s.enabled && now >= next_count_) {
		for (bool v4 : {true, false}) {
			std::vector<rules::RawElement> raw;
			if (rules::list_set_raw(nl_, v4 ? rules::kSetKnown4 : rules::kSetKnown6, raw).ok())
				(v4 ? known4_ : known6_) = raw.size();
			raw.clear();
			if (rules::list_set_raw(nl_, v4 ? rules::kSetProven4 : rules::kSetProven6, raw).ok())
				(v4 ? proven4_ : proven6_) = raw.size();
		}
		next_count_ = now + (std::chrono::steady_clock::now() - now) * kKnownCountSpacing;
	}
	s.known4 = s.enabled ? known4_ : 0;
	s.known6 = s.enabled ? known6_ : 0;
	s.proven4 = s.enabled ? proven4_ : 0;
	s.proven6 = s.enabled ? proven6_ : 0;
	const auto queues = rt.kernel_queue_stats();
	meter_.update(s.counters.queued(), taken_by_queues(queues));
	s.failed_open = meter_.total();
	return s;
}

const metrics::CounterTable<PrefilterScrape>& prefilter_table()
{
	using metrics::Type;
	auto ctr = [](uint64_t rules::Counters::*m) {
		return [m](const PrefilterScrape& s) { return s.counters.*m; };
	};
	static const metrics::CounterTable<PrefilterScrape> table = {
		{"sipguard_kernel_queued_packets_total", Type::Counter,
		 "Packets table inet sipguard's queue rules sent to the agent's queues, by source: known (pre-filter, "
		 "bypass), proven (pre-filter, metered, no budget, no bypass), unknown (pre-filter, no bypass), other "
		 "(no pre-filter, and the PBX's own).",
		 {{{{"source", "known"}}, ctr(&rules::Counters::queued_known)},
		  {{{"source", "proven"}}, ctr(&rules::Counters::queued_proven)},
		  {{{"source", "unknown"}}, ctr(&rules::Counters::queued_unknown)},
		  {{{"source", "other"}}, ctr(&rules::Counters::queued_other)}}},
		{"sipguard_kernel_failed_open_packets_total", Type::Counter,
		 "Packets a queue rule counted that no queue took (accepted uninspected at a full queue, or by bypass "
		 "with no agent), since the first reading.",
		 {{{}, metrics::field(&PrefilterScrape::failed_open)}}},
		{"sipguard_prefilter_known_sources", Type::Gauge,
		 "Sources in the pre-filter's known sets (go to the agent without the rate limits).",
		 {{{{"family", "ipv4"}}, metrics::field(&PrefilterScrape::known4)},
		  {{{"family", "ipv6"}}, metrics::field(&PrefilterScrape::known6)}}},
		{"sipguard_prefilter_known_updates_total", Type::Counter,
		 "Known-set additions and refreshes the queue threads asked for, by outcome.",
		 {{{{"outcome", "submitted"}}, metrics::field(&PrefilterScrape::refreshes)},
		  {{{"outcome", "queue_full"}}, metrics::field(&PrefilterScrape::refreshes_rejected)}}},
		{"sipguard_prefilter_proven_sources", Type::Gauge,
		 "Sources in the pre-filter's proven sets (answered a challenge sent to their address: metered per source, "
		 "never the global budget).",
		 {{{{"family", "ipv4"}}, metrics::field(&PrefilterScrape::proven4)},
		  {{{"family", "ipv6"}}, metrics::field(&PrefilterScrape::proven6)}}},
		{"sipguard_prefilter_proven_updates_total", Type::Counter,
		 "Proven-set additions and refreshes the queue threads asked for, by outcome.",
		 {{{{"outcome", "submitted"}}, metrics::field(&PrefilterScrape::proven_refreshes)},
		  {{{"outcome", "queue_full"}}, metrics::field(&PrefilterScrape::proven_refreshes_rejected)}}},
	};
	return table;
}

util::json::Value prefilter_json(const PrefilterScrape& s, const PrefilterState& state, uint32_t unknown_rate)
{
	using util::json::Value;
	Value v = util::json::Object{};
	v.set("enabled", s.enabled);
	v.set("limits", s.limits);
	if (s.enabled && !state.limits)
		v.set("limits_missing", state.limits_detail);
	v.set("unknown_rate", static_cast<uint64_t>(unknown_rate));
	v.set("known_sources", s.known4 + s.known6);
	v.set("proven_sources", s.proven4 + s.proven6);
	Value drops = util::json::Object{};
	drops.set("source_rate", s.counters.source_drop_packets);
	drops.set("unknown_budget", s.counters.budget_drop_packets);
	v.set("drops", std::move(drops));
	Value queued = util::json::Object{};
	queued.set("known", s.counters.queued_known);
	queued.set("proven", s.counters.queued_proven);
	queued.set("unknown", s.counters.queued_unknown);
	queued.set("other", s.counters.queued_other);
	v.set("queued", std::move(queued));
	v.set("failed_open", s.failed_open);
	v.set("kernel_read", s.read_ok);
	return v;
}

} // namespace sipguard::daemon
