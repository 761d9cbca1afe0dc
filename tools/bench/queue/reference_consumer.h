// SPDX-License-Identifier: GPL-2.0-or-later
// The benchmark's reference NFQUEUE consumer: the minimal libmnl loop of
// libnetfilter_queue's examples/nf-queue.c (one recv, one accept verdict per
// packet), configured with the same queue flags as sipguard's loop.
#pragma once

#include <atomic>
#include <cstdint>
#include "agent/util/status.h"
#include "nfq/queue.h"

namespace sipguard::bench {

// Binds `config.queue_num` in the calling thread's namespace, sets `ready`,
// waits for `go`, then accepts every packet until `stop` and unbinds.
// `verdicts` counts accepted packets. Fails (errno and the step) when the
// socket or the bind fails.
util::Status run_reference_consumer(const nfq::QueueConfig& config, const std::atomic<bool>& go,
                                    const std::atomic<bool>& stop, std::atomic<uint64_t>& verdicts,
                                    std::atomic<bool>& ready);

} // namespace sipguard::bench
