// SPDX-License-Identifier: GPL-2.0-or-later
// Binds the queues and starts one thread per shard (daemon start-up).
#pragma once

#include <atomic>

#include "agent/daemon/config.h"
#include "agent/daemon/runtime.h"
#include "agent/util/status.h"

namespace sipguard::daemon {

// Builds rt.shards and rt.call_limits, binds queues queue_base.. (and the
// known sources' range with the pre-filter) and starts the threads, which
// run until `stop`. On failure nothing is running.
[[nodiscard]] util::Status start_queue_threads(Runtime& rt, const Config& cfg, std::atomic<bool>& stop);

} // namespace sipguard::daemon
