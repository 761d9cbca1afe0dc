// SPDX-License-Identifier: GPL-2.0-or-later
// One queue thread's state: its engine shard, call tracker and counters. The
// queue thread alone runs it (run to completion, no locks on the packet
// path); the control thread reads its counters, torn reads accepted.
#pragma once

#include <cstdint>

#include "agent/calls/engine_hook.h"
#include "agent/daemon/known_sources.h"
#include "agent/daemon/metrics.h"
#include "agent/engine/engine.h"
#include "agent/util/hash.h"
#include "nfq/queue.h"

namespace sipguard::daemon {

struct Runtime;

class Shard final : public nfq::Handler, public engine::Sink {
public:
	// Reads the current engine config and its version from `rt`, which must
	// outlive the shard and hold the ban manager (and the shared account
	// table) already.
	Shard(Runtime& rt, const calls::Config& calls_config, uint64_t hash_seed = util::kDefaultHashSeed);

	nfq::Verdict on_packet(const nfq::PacketView& p, nfq::Direction dir) override;
	void on_idle() override;
	void on_finding(const detect::Finding& f, const engine::BanResult& result) override;
	void on_pinhole(const calls::PinholeUpdate& e) override;

	const engine::EngineCounters& engine_counters() const { return engine_.counters(); }
	const calls::Tracker& tracker() const { return hook_.tracker(); }

	// [direction]: In = 0, Out = 1.
	metrics::ShardCounter packets[2];
	metrics::ShardCounter accepted[2];
	metrics::ShardCounter dropped[2];
	metrics::ShardCounter pinhole_submit_failed;
	// This shard's known-good sources, fed to the pre-filter's known sets.
	KnownSources known;
	// Its proven receivers, fed to the pre-filter's proven sets.
	KnownSources proven;

private:
	void tick(util::TimePoint now);

	Runtime& rt_;
	calls::EngineHook hook_;
	engine::Engine engine_;
	uint64_t version_;
	util::TimePoint last_tick_{};
};

} // namespace sipguard::daemon
