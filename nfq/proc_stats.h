// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel-side queue counters from /proc/net/netfilter/nfnetlink_queue, for
// export next to our own counters (queue drops happen in the kernel).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/util/status.h"

namespace sipguard::nfq {

// One line of the file (net/netfilter/nfnetlink_queue.c seq_show()).
struct KernelQueueStats {
	uint16_t queue_num = 0;
	uint32_t peer_portid = 0;
	uint32_t queue_total = 0;   // packets waiting for a verdict right now
	uint8_t copy_mode = 0;      // NFQNL_COPY_NONE/META/PACKET
	uint32_t copy_range = 0;
	uint32_t queue_dropped = 0; // queue full, fail-open off
	uint32_t user_dropped = 0;  // netlink send to us failed (socket full), fail-open off
	uint32_t id_sequence = 0;   // last packet id handed out
};

// Parses the file's text: one entry a line; a line that is not nine unsigned
// fields fails with "line N: ...".
util::Result<std::vector<KernelQueueStats>> parse_proc_queue_stats(std::string_view text);

// Reads the file of the calling thread's network namespace
// (/proc/thread-self/net/...). No queue bound in the namespace (or the module
// not loaded, so no file) is an empty list, not an error.
util::Result<std::vector<KernelQueueStats>> read_proc_queue_stats();

} // namespace sipguard::nfq
