// SPDX-License-Identifier: GPL-2.0-or-later
// UDP helpers shared by the queue-path benchmarks (sipguard-bench-queue, sipguard-bench-prefilter): addresses, CPU pinning, the PBX's counting socket.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <cstdint>

#include "tests/privileged/netns.h"

namespace sipguard::bench {

sockaddr_in addr4(const char* ip, uint16_t port);

// Pins the calling thread to `cpu` (nothing on a one-CPU machine).
void pin_to_cpu(int cpu);

// The PBX: a socket on ip:port in `ns` (64 MiB buffer) counting datagrams
// into `got` until `stop`; sets `ready` once bound. Runs on CPU 0.
void udp_sink(const test::Netns& ns, const char* ip, uint16_t port, std::atomic<bool>& ready,
              const std::atomic<bool>& stop, std::atomic<uint64_t>& got);

} // namespace sipguard::bench
