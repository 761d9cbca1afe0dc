// SPDX-License-Identifier: GPL-2.0-or-later
// The benchmark's reference NFQUEUE consumer: the minimal libmnl loop of
// libnetfilter_queue's examples/nf-queue.c (one recv, one accept verdict per
// packet), configured with the same queue flags as sipguard's loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "nfq/queue.h"

namespace sipguard::bench {

// Binds `config.queue_num` in the calling thread's namespace, sets `ready`,
// waits for `go`, then accepts every packet until `stop` and unbinds.
// `verdicts` counts accepted packets. Returns 0 or -errno with `error` set.
int run_reference_consumer(const nfq::QueueConfig& config, const std::atomic<bool>& go, const std::atomic<bool>& stop,
                           std::atomic<uint64_t>& verdicts, std::atomic<bool>& ready, std::string& error);

} // namespace sipguard::bench
