// SPDX-License-Identifier: GPL-2.0-or-later
// Keeping the kernel a projection of the ban manager's records: host bans as
// rules-writer requests, prefix bans and checks (+ repairs) as writer jobs
// carrying a snapshot of an index of the records, the table replaced in
// queue order on reload, and what the last check found (kernel_health.h).
// Media pinholes go through here too, so that a check can put back the ones
// the kernel lost (pinhole_index.h).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/calls/events.h"
#include "agent/daemon/kernel_health.h"
#include "agent/daemon/pinhole_index.h"
#include "agent/engine/ban_manager.h"
#include "agent/util/status.h"
#include "rules/reconcile.h"
#include "rules/table.h"
#include "rules/writer.h"

namespace sipguard::daemon {

// The restore at start-up: how many saved bans the kernel enforces.
struct RestoreCount {
	size_t restored = 0; // records the kernel holds completely
	size_t failed = 0;   // records it does not (or only partly: an element was refused)
};

class KernelSync {
public:
	KernelSync() = default;
	KernelSync(const KernelSync&) = delete;
	KernelSync& operator=(const KernelSync&) = delete;

	// Start-up, main thread, before the listener is attached.
	void reset(const std::vector<engine::BanRecord>& active);
	void set_table(const rules::TableSpec& spec, rules::QueueBackend backend);
	void attach(rules::Writer* writer) { writer_ = writer; }

	// Ban listener, with the manager's lock held. The index changes and the
	// writer request (hosts) or job (prefixes: the projection of every
	// prefix record) is queued under one lock, and jobs snapshot the index
	// under it too, so every job's snapshot is exactly the records whose
	// requests are queued before it. False when the writer's queue was full
	// (the next check repairs it).
	bool on_ban(const engine::BanRecord& b, util::TimePoint now);
	bool on_unban(const engine::BanRecord& b);

	// A queue thread's pinhole open, refresh or close: recorded in the
	// pinhole index (no allocation) and queued to the writer. False when the
	// writer's queue was full.
	bool on_pinhole(const calls::PinholeUpdate& u);

	// Start-up restore, before the writer exists: repairs through `nl` and
	// counts which records the kernel holds. Not counted as repairs.
	RestoreCount restore(rules::Netlink& nl);

	// Queues a check + repair as a writer job with a snapshot of the index;
	// `cause` (monitor events, "periodic check") goes in the log line of
	// whatever it finds. False when one is queued and has not started.
	bool submit_check(std::string cause);
	// Reload: installs `spec` as a writer job, in order with bans and
	// checks, and makes it the spec later checks compare with. Waits.
	[[nodiscard]] util::Status replace_table(const rules::TableSpec& spec);

	// A writer job asked for a check (a prefix sync found a set missing, a
	// check failed): main loop, returns the cause and how soon.
	bool take_check_request(std::string& cause, std::chrono::milliseconds& delay);

	KernelHealth health() const;
	// The index as projection input: every record, or prefixes only.
	std::vector<rules::BanRecord> records(bool prefixes_only) const;

private:
	struct CidrHash {
		size_t operator()(const net::Cidr& c) const noexcept
		{
			return net::IpAddressHash{}(c.base) * 131 + c.prefix_len;
		}
	};
	using Index = std::unordered_map<net::Cidr, util::TimePoint, CidrHash>;

	std::optional<util::TimePoint> twin_until_locked(const net::Cidr& host) const;
	bool submit_prefix_sync_locked();
	std::vector<rules::BanRecord> records_locked(bool prefixes_only) const;
	void sync_prefixes(rules::Netlink& nl, const std::vector<rules::BanRecord>& prefixes);
	void run_check(rules::Netlink& nl, const std::vector<rules::BanRecord>& records, const std::string& cause);
	// Writer thread, after a check's repair: adds the indexed pinholes the
	// kernel does not hold; returns how many.
	size_t repair_media(rules::Netlink& nl, const std::string& cause);
	void note_check(const util::Result<rules::RepairResult>& r, const std::string& cause, double ms, size_t media);
	void request_check(std::string cause, std::chrono::milliseconds delay);
	std::pair<rules::TableSpec, rules::QueueBackend> table() const;

	rules::Writer* writer_ = nullptr;

	mutable std::mutex index_mu_; // also orders submissions to the writer
	Index hosts_, prefixes_;
	// The last prefix job queued: a newer one supersedes it (it does not
	// run) unless a check was queued in between, which must find the
	// kernel as its own snapshot says.
	std::shared_ptr<std::atomic<bool>> last_prefix_job_;
	bool check_since_prefix_job_ = false;

	mutable std::mutex table_mu_;
	rules::TableSpec spec_;
	rules::QueueBackend backend_ = rules::QueueBackend::CompatNfqueueV3;

	std::atomic<bool> check_job_queued_{false};

	// Taken by queue threads for each pinhole request, and by the writer
	// thread when a check reads the index.
	std::mutex pin_mu_;
	std::unique_ptr<PinholeIndex> pins_; // sized by the first set_table()

	mutable std::mutex health_mu_;
	KernelHealth health_;
	size_t last_failures_ = 0; // element refusals of the previous check, to log a change once
	bool check_wanted_ = false;
	std::string check_cause_;
	std::chrono::milliseconds check_delay_{0};
};

} // namespace sipguard::daemon
