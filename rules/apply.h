// SPDX-License-Identifier: GPL-2.0-or-later
// Applying element operations so that one refused element costs only itself: failed transactions are halved down to single elements.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "rules/elements_internal.h"
#include "rules/netlink.h"
#include "rules/status.h"

namespace sipguard::rules {

struct FailedOp {
	size_t index = 0; // into the ops given to apply_robust
	int error = 0;    // the kernel's errno for this element alone (EEXIST: overlaps, ENFILE: set full, ERANGE...)
	std::string message;
};

struct ApplyResult {
	size_t applied = 0; // ops now in effect; applied + failures.size() == ops.size()
	std::vector<FailedOp> failures;
	size_t transactions = 0; // commits sent, the first try included
	// Not ok when the socket failed rather than an element (no ACK, ENOBUFS,
	// EBADF): then every op not yet applied is in `failures` with that error
	// and the kernel's state is unknown until the next reconcile.
	Status transport = Status::success();

	size_t failed() const { return failures.size(); }
	bool ok() const { return failures.empty(); }
};

// Commits `ops` in their order, in transactions of at most
// kMaxElementsPerTransaction. The kernel aborts a whole transaction when one
// message fails, so a refused transaction is split in halves, each retried
// (in order), down to single ops; an op that fails alone is reported with
// its errno and everything else is applied. k bad ops among n cost about
// 2k·log2(n/k) extra transactions. A Remove that fails alone with ENOENT
// counts as applied: the element is gone (it expired since it was listed).
// Order matters only across sets' Remove/Add runs (rules/ban_diff.h); halving
// keeps it, though a replaced element is briefly absent when its Remove and
// its Add land in different transactions.
ApplyResult apply_robust(Netlink& nl, std::span<const ElementOp> ops);

} // namespace sipguard::rules
