// SPDX-License-Identifier: GPL-2.0-or-later
// The rules writer thread: collects ban/unban/pinhole requests from other threads and flushes them as batches.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "agent/net/ip_address.h"
#include "rules/netlink.h"

namespace sipguard::rules {

struct WriterConfig {
	size_t queue_capacity = 65536;                   // pending requests; submit fails beyond
	std::chrono::microseconds flush_interval{1000};  // oldest request waits at most this long
	size_t max_batch = 4096;                         // or flush when this many are pending
};

struct WriterRequest {
	enum class Op : uint8_t { Ban, Unban, OpenPinhole, ClosePinhole, Known, Proven };
	Op op = Op::Ban;
	net::Cidr target;       // Ban/Unban: the prefix; pinholes: host address
	uint16_t port = 0;      // pinholes only
	std::chrono::seconds timeout{0};
};

struct WriterStats {
	uint64_t submitted = 0;
	uint64_t rejected_full = 0;   // submit() while the queue was full
	uint64_t batches = 0;
	uint64_t elements = 0;        // requests applied successfully
	uint64_t failed_elements = 0; // requests the kernel refused (logged)
	uint64_t batch_latency_ns_sum = 0;
	uint64_t batch_latency_ns_max = 0;
	uint64_t batch_latency_ns_last = 0;
	uint64_t jobs = 0; // submit_job() jobs run
};

// Owns the Netlink socket (open it in the right namespace before handing it
// over). submit() is thread-safe and never blocks on the kernel.
class Writer {
public:
	// Called on the writer thread after each request the kernel refused.
	using FailureHandler = std::function<void(const WriterRequest&, const std::string& message)>;

	explicit Writer(Netlink nl, WriterConfig config = {}, FailureHandler on_failure = {});
	~Writer(); // stops after flushing what is queued
	Writer(const Writer&) = delete;
	Writer& operator=(const Writer&) = delete;

	bool submit(const WriterRequest& request);
	bool ban(const net::Cidr& target, std::chrono::seconds timeout);
	bool unban(const net::Cidr& target);
	bool open_pinhole(const net::IpAddress& addr, uint16_t port, std::chrono::seconds timeout);
	bool close_pinhole(const net::IpAddress& addr, uint16_t port);
	// Adds or refreshes a pre-filter known source (known4/known6) with this timeout.
	bool known(const net::IpAddress& addr, std::chrono::seconds timeout);
	// Adds or refreshes a pre-filter proven receiver (proven4/proven6).
	bool proven(const net::IpAddress& addr, std::chrono::seconds timeout);

	// Runs `job` on the writer thread with the writer's socket, after every
	// request submitted before this call and before any submitted after it.
	// For kernel work that has to agree with the queue: sync_bans or repair
	// (rules/reconcile.h) with a snapshot of the ban records taken when the
	// job is submitted; run on another socket, a repair could delete a ban
	// the writer added after the snapshot was taken. The job should not
	// throw (an exception is logged and dropped).
	using Job = std::function<void(Netlink&)>;
	bool submit_job(Job job);

	// The writer socket's netlink port: pass it to Monitor::ignore_port so
	// the writer's own changes are not reported back.
	uint32_t portid() const { return portid_; }

	// Blocks until everything submitted before the call (requests and jobs)
	// has been committed or run.
	void flush();
	void stop();
	WriterStats stats() const;

private:
	void run();
	void apply(std::vector<WriterRequest>& requests);

	Netlink nl_;
	WriterConfig config_;
	FailureHandler on_failure_;

	mutable std::mutex mutex_;
	std::condition_variable wake_;     // writer waits for work
	std::condition_variable drained_;  // flush() waits for progress
	std::deque<WriterRequest> queue_;
	uint64_t enqueued_ = 0, taken_ = 0, done_ = 0;
	// Each job with the number of requests submitted before it.
	std::deque<std::pair<uint64_t, Job>> jobs_;
	uint64_t jobs_submitted_ = 0, jobs_done_ = 0;
	uint32_t portid_ = 0;
	bool stopping_ = false;
	WriterStats stats_;
	std::thread thread_;
};

} // namespace sipguard::rules
