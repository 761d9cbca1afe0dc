// SPDX-License-Identifier: GPL-2.0-or-later
// The pure part of verdict batching: given the verdicts of a receive batch in
// id order, which netlink verdict messages to send, in which order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sipguard::nfq {

enum class Verdict : uint8_t { Accept, Drop };

struct PendingVerdict {
	uint32_t id;
	Verdict verdict;
};

struct VerdictMsg {
	uint32_t id;
	Verdict verdict;
	// NFQNL_MSG_VERDICT_BATCH: the kernel applies `verdict` to every packet
	// still queued with an id up to and including `id` (wrap-safe, in queue
	// order), so it is only used for a run of accepts.
	bool batch;

	friend bool operator==(const VerdictMsg&, const VerdictMsg&) = default;
};

// `pending` is one receive batch in the order the kernel delivered it (which
// is id order: the kernel numbers packets as it queues them and netlink
// delivers in order). Writes the messages to send into `out` (capacity at
// least pending.size()) and returns how many.
//
// A run of two or more accepts becomes one batch verdict with the run's last
// id; a run of one is a plain verdict. A drop ends the run: the accepts before
// it go out first (as a batch), then the drop on its own, so no batch ever
// covers a pending drop and packets leave in their original order.
size_t plan_verdicts(std::span<const PendingVerdict> pending, std::span<VerdictMsg> out);

} // namespace sipguard::nfq
