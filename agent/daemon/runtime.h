// SPDX-License-Identifier: GPL-2.0-or-later
// The parts of a running daemon, shared by the lifecycle (daemon.cpp), the
// queue threads' shards, the control command handlers and the metrics
// exporter. The lifecycle creates them in dependency order and is the only
// writer of the config.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/control/server.h"
#include "agent/daemon/config.h"
#include "agent/daemon/fraud_service.h"
#include "agent/daemon/kernel_sync.h"
#include "agent/daemon/metrics.h"
#include "agent/daemon/prefilter_report.h"
#include "agent/daemon/shard.h"
#include "agent/detect/account_table.h"
#include "agent/engine/ban_log.h"
#include "agent/engine/ban_manager.h"
#include "agent/util/status.h"
#include "agent/util/unique_fd.h"
#include "nfq/proc_stats.h"
#include "nfq/queue.h"
#include "rules/table.h"
#include "rules/writer.h"

namespace sipguard::daemon {

// The wall clock as the engine and the ban manager take it.
util::TimePoint wall_now();

// Kernel element timeouts are whole seconds here; round up so a ban never
// ends in the kernel before it ends in the manager.
std::chrono::seconds kernel_timeout(std::chrono::nanoseconds d);

// Written from any thread, read by the exporter and `status`.
struct DaemonCounters {
	std::atomic<uint64_t> bans_total{0}; // applied since start; restored bans excluded
	std::atomic<uint64_t> unbans_total{0};
	std::atomic<uint64_t> writer_rejected{0}; // the rules writer's queue was full
	std::atomic<uint64_t> reloads_ok{0};
	std::atomic<uint64_t> reloads_failed{0};
	std::atomic<uint64_t> saves{0};
	std::atomic<uint64_t> save_errors{0};
};

// Reloads asked for over the control socket. Only the main loop applies a
// config, so the control thread queues a request, wakes the loop through
// fd() and waits for the outcome.
class ReloadRequests {
public:
	[[nodiscard]] util::Status open();
	int fd() const { return fd_.get(); }
	// Control thread: "" once applied, else why the old config stays.
	std::future<std::string> request();
	// Main loop, when fd() is readable: the requests to answer.
	std::vector<std::promise<std::string>> take();

private:
	util::UniqueFd fd_;
	std::mutex mu_;
	std::vector<std::promise<std::string>> waiters_;
};

// Also the ban manager's listener once start-up attached it: every ban and
// unban goes to the kernel (`kernel`: host elements through the rules writer,
// prefixes as the projection of all prefix records), the counters and the
// followers, and marks the state for the next save.
struct Runtime final : engine::BanListener {
	Runtime() = default;
	Runtime(const Runtime&) = delete;
	Runtime& operator=(const Runtime&) = delete;

	// Called with the manager's lock held: queue and return.
	void on_ban(const engine::BanRecord& b) override;
	void on_unban(const engine::BanRecord& b, engine::UnbanCause cause) override;

	// Any thread; the reference stays valid across a reload.
	ConfigPtr config() const;
	std::shared_ptr<const engine::Config> engine_config() const { return config()->engine(); }
	// Main thread: publishes `next`; shards pick it up between packets.
	void set_config(ConfigPtr next);

	bool has_followers() const { return control && control->has_followers(); }
	// To every `bans --follow` client.
	void publish(const engine::BanLogEvent& e);
	// Returns once the rules writer applied what is queued (no writer: at once).
	void flush_rules();
	// The kernel's statistics of our queues only.
	std::vector<nfq::KernelQueueStats> kernel_queue_stats() const;
	// Every queue thread's queue is still bound to its socket (or /proc
	// cannot tell).
	bool queues_bound() const;

	std::atomic<uint64_t> config_version{1}; // bumped by set_config
	rules::QueueBackend backend = rules::QueueBackend::CompatNfqueueV3;
	rules::DefragBackend defrag = rules::DefragBackend::None; // probed at start (rules::install_auto)
	PrefilterState prefilter; // probed at start (rules::install_auto)
	// Pre-filter counters and the failed-open meter, for status and metrics (control thread).
	mutable PrefilterReader prefilter_reader;
	// Destroyed in reverse: the queue threads are joined before their shards
	// go, and everything that calls into the ban manager before it. The
	// writer's queued jobs call into `kernel`, so it outlives the writer.
	KernelSync kernel;
	std::unique_ptr<engine::BanLog> ban_log;
	std::unique_ptr<engine::BanManager> bans;
	std::unique_ptr<detect::AccountTable> accounts; // shared by the shards' engines
	std::unique_ptr<calls::SharedLimits> call_limits; // shared by the shards' trackers
	std::unique_ptr<FraudService> fraud;             // the toll-fraud guard the shards share
	std::unique_ptr<rules::Writer> writer;
	std::unique_ptr<control::ControlServer> control;
	metrics::Registry registry;
	metrics::Histogram restore_seconds{{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}};
	std::vector<std::unique_ptr<Shard>> shards;
	nfq::QueueGroup queues;
	ReloadRequests reloads;
	DaemonCounters counters;
	std::atomic<bool> state_dirty{false}; // bans changed since the last save
	std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
	size_t restored_bans = 0; // saved bans the kernel enforces after the restore
	size_t restore_failed = 0; // saved bans lost: unreadable lines, records the kernel refused
	size_t restore_refused = 0; // saved bans the safety rails refuse now (allowlist, own address, ...)
	double restore_ms = 0;

private:
	mutable std::mutex cfg_mu_;
	ConfigPtr config_;
};

} // namespace sipguard::daemon
