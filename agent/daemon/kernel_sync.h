// SPDX-License-Identifier: GPL-2.0-or-later
// Keeping the kernel a projection of the ban manager's records: host bans as
// rules-writer requests, prefix bans and repairs as writer jobs over an index
// of the records, the table replaced in queue order on reload, and what the
// last check of the kernel found (status, metrics).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/engine/ban_manager.h"
#include "agent/util/status.h"
#include "rules/reconcile.h"
#include "rules/table.h"
#include "rules/writer.h"

namespace sipguard::daemon {

// The `what` labels of sipguard_kernel_repairs_total, in export order.
inline constexpr std::array<rules::What, 5> kRepairLabels = {rules::What::Table, rules::What::Chain, rules::What::Rule,
                                                             rules::What::Set, rules::What::Element};

// Host elements are written in whole seconds rounded up (kernel_timeout), so
// the kernel may hold a host up to 1 s longer than its record; a check must
// not call that a difference. Jiffies and the listing's latency add a few ms.
inline constexpr std::chrono::milliseconds kCheckTolerance{1500};

// The cause of the checks the main loop runs on its timer.
inline constexpr const char* kPeriodicCause = "periodic check";

// What the last check of the kernel against the records found.
struct KernelHealth {
	bool checked = false; // a check has run (the restore at start is the first)
	// After the last check and its repair, the kernel holds exactly the
	// spec's table and the records' projection.
	bool in_sync = false;
	// Ban elements that still differ after the last repair (the kernel
	// refused them); with a failed check, what that check had found.
	size_t divergent_elements = 0;
	uint64_t checks_clean = 0;
	uint64_t checks_repaired = 0;
	uint64_t checks_failed = 0; // the kernel could not be read or the table not installed
	std::array<uint64_t, kRepairLabels.size()> repairs{}; // findings repaired, by kRepairLabels
	detect::TimePoint last_check{};
	std::string last_repair; // "" until a check found something: what, its cause, how long the repair took
	detect::TimePoint last_repair_at{};
};

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

	// Ban listener, with the manager's lock held: the index first, then the
	// writer, so a job that snapshots the index in between agrees with the
	// queue either way. False when the writer's queue was full (the next
	// check repairs it).
	bool on_ban(const engine::BanRecord& b, detect::TimePoint now);
	bool on_unban(const engine::BanRecord& b);

	// Start-up restore, before the writer exists: repairs through `nl` and
	// counts which records the kernel holds. Not counted as repairs.
	RestoreCount restore(rules::Netlink& nl);

	// Queues a check + repair as a writer job with the index as it is when
	// the job runs; `cause` (monitor events, "periodic check") goes in the
	// log line of whatever it finds. False when one is already queued.
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
	using Index = std::unordered_map<net::Cidr, detect::TimePoint, CidrHash>;

	void sync_prefixes(rules::Netlink& nl);
	void run_check(rules::Netlink& nl, const std::string& cause);
	void note_check(const util::Result<rules::RepairResult>& r, const std::string& cause, double ms);
	void request_check(std::string cause, std::chrono::milliseconds delay);
	std::pair<rules::TableSpec, rules::QueueBackend> table() const;

	rules::Writer* writer_ = nullptr;

	mutable std::mutex index_mu_;
	Index hosts_, prefixes_;

	mutable std::mutex table_mu_;
	rules::TableSpec spec_;
	rules::QueueBackend backend_ = rules::QueueBackend::CompatNfqueueV3;

	std::atomic<bool> prefix_job_queued_{false};
	std::atomic<bool> check_job_queued_{false};

	mutable std::mutex health_mu_;
	KernelHealth health_;
	size_t last_failures_ = 0; // element refusals of the previous check, to log a change once
	bool check_wanted_ = false;
	std::string check_cause_;
	std::chrono::milliseconds check_delay_{0};
};

} // namespace sipguard::daemon
