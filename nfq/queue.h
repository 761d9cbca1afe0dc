// SPDX-License-Identifier: GPL-2.0-or-later
// NFQUEUE consumer over libmnl: binds one queue, receives packets in batches,
// decodes them, asks a Handler for a verdict and sends verdicts (accepts
// batched in id order, drops at once). One thread per queue, run to completion.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "agent/util/status.h"
#include "nfq/packet_view.h"
#include "nfq/verdict_plan.h"

namespace sipguard::nfq {

// Decides one packet. Called on the queue's own thread only, so a handler
// needs no locks for state it does not share. It must not throw: the project
// does not let exceptions cross the hot path, and the queue loop has no
// handler for them (an escaping exception would terminate the process, and
// the kernel would then drop every packet still queued). Every packet the
// handler sees gets exactly the verdict it returns.
class Handler {
public:
	virtual ~Handler() = default;
	virtual Verdict on_packet(const PacketView& packet, Direction direction) = 0;
	// Called from the queue thread when no packet arrived for the receive
	// timeout (at most 200 ms), so time-driven work (dialog timeouts, table
	// ageing) runs on an idle queue too, without a lock or another thread.
	virtual void on_idle() {}
};

struct QueueConfig {
	uint16_t queue_num = 0;
	// Bytes of each packet copied to us. The kernel caps it at 65531
	// (0xffff - NLA_HDRLEN); the default is "the whole datagram".
	uint32_t copy_range = 65535;
	// Kernel queue length (NFQA_CFG_QUEUE_MAXLEN); past it, fail_open decides.
	uint32_t max_len = 4096;
	// NFQA_CFG_F_FAIL_OPEN: when the queue is full (or our socket cannot take
	// the message) the kernel accepts the packet uninspected instead of
	// dropping it. Those packets are not counted anywhere in the kernel: the
	// gap between the /proc id sequence and QueueStats::received shows them.
	bool fail_open = true;
	// NFQA_CFG_F_GSO: take GSO/GRO super-packets unsegmented (no software
	// segmentation in the kernel on our behalf); headers stay valid.
	bool gso = true;
	// Packets taken per receive call (recvmmsg) before verdicts are sent.
	size_t batch = 64;
	// SO_RCVBUFFORCE bytes; 0 derives it from max_len (rcvbuf_bytes()).
	size_t rcvbuf = 0;
};

// The receive buffer for a config: room for `max_len` queued messages of a
// typical SIP datagram (kernel truesize of a netlink skb carrying up to
// min(copy_range, 2048) bytes), so the socket fills no earlier than the queue.
size_t rcvbuf_bytes(const QueueConfig& config);

// A consistent copy of one queue's counters.
struct QueueStats {
	uint64_t received = 0;      // packet messages taken from the socket
	uint64_t accepted = 0;
	uint64_t dropped = 0;
	uint64_t decode_errors = 0; // accepted uninspected (fail-open) because decode_ip failed
	uint64_t fragments = 0;     // non-first fragments, accepted uninspected
	uint64_t enobufs = 0;       // receive calls that reported ENOBUFS (messages lost)
	uint64_t batches = 0;       // receive calls that returned packets
	uint64_t verdict_msgs = 0;  // verdict messages sent (a batch verdict counts once)
	uint64_t netlink_errors = 0; // NLMSG_ERROR replies and undecodable netlink messages
	uint64_t send_errors = 0;   // failed sendmsg of verdicts
};

// Thread-safe counters: written by the queue's thread only (relaxed
// load+store, no locked instructions), read by anyone.
class QueueCounters {
public:
	QueueStats snapshot() const;

	std::atomic<uint64_t> received{0}, accepted{0}, dropped{0}, decode_errors{0}, fragments{0},
		enobufs{0}, batches{0}, verdict_msgs{0}, netlink_errors{0}, send_errors{0};
};

class Queue {
public:
	Queue();
	~Queue(); // unbinds (if bound) and closes the socket
	Queue(Queue&&) noexcept;
	Queue& operator=(Queue&&) noexcept;
	Queue(const Queue&) = delete;
	Queue& operator=(const Queue&) = delete;

	// Opens a netlink socket, sizes its receive buffer, sets NETLINK_NO_ENOBUFS
	// and sends bind + copy range + queue length + flags in one
	// NFQNL_MSG_CONFIG, then checks the kernel's ACK (sequence and port id).
	// A failure carries the errno and names the step that failed (EPERM:
	// another socket holds the queue number, or no CAP_NET_ADMIN).
	util::Status open(const QueueConfig& config);
	bool is_open() const;

	// Receives and verdicts packets until `stop` is true; the flag is looked
	// at least every 200 ms (socket receive timeout), so a stop takes effect
	// within that plus one batch. Before returning, packets already queued in
	// the socket are run through the handler, then the queue is unbound (the
	// kernel drops whatever is still queued at that instant). Returns 0 on a
	// stop, -errno on a fatal socket error (still unbinding).
	int run(Handler& handler, const std::atomic<bool>& stop);
	// Like run(), for this queue and `second` on the calling thread (poll over
	// both sockets, one batch from each readable socket in turn), with one
	// handler: two queue ranges that the kernel's address hash maps to the
	// same offset keep one source's state on one thread. on_idle() runs when
	// neither queue had a packet for the receive timeout.
	int run_with(Queue& second, Handler& handler, const std::atomic<bool>& stop);

	// Unbinds and closes; idempotent.
	void close();

	const QueueConfig& config() const;
	uint32_t portid() const;
	const QueueCounters& counters() const;
	QueueStats stats() const { return counters().snapshot(); }

private:
	struct Impl;
	std::unique_ptr<Impl> impl_;
};

// One thread per queue, each with its own Handler; or, paired, one thread per
// two queues (i and threads+i, see Queue::run_with). open() binds every queue
// before any thread starts, so a configuration error is reported up front.
class QueueGroup {
public:
	QueueGroup() = default;
	// Joins the threads; the caller sets the stop flag first.
	~QueueGroup();
	QueueGroup(const QueueGroup&) = delete;
	QueueGroup& operator=(const QueueGroup&) = delete;

	// `threads` 0: one thread per queue. Otherwise configs.size() must be
	// `threads` or 2 × `threads`; in the latter case thread i reads queues
	// configs[i] and configs[threads + i].
	util::Status open(std::span<const QueueConfig> configs, size_t threads = 0);
	// handlers[i] serves thread i's queue(s); both must outlive join().
	util::Status start(std::span<Handler* const> handlers, const std::atomic<bool>& stop);
	// Waits for every thread; returns the first non-zero run() result.
	int join();

	size_t size() const { return queues_.size(); } // queues, both ranges when paired
	size_t threads() const { return threads_wanted_; }
	const Queue& queue(size_t i) const { return *queues_[i]; }
	QueueStats total() const;

private:
	std::vector<std::unique_ptr<Queue>> queues_;
	std::vector<std::thread> threads_;
	std::vector<int> results_;
	size_t threads_wanted_ = 0;
};

} // namespace sipguard::nfq
