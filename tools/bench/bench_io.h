// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers shared by the root benchmarks (queue, prefilter, pinholes): root check, load average, medians,
// CPU pinning, a bounded UDP sender and the PBX's counting socket.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/privileged/netns.h"

namespace sipguard::bench {

// For main: false, after saying so on stderr, unless run as root (exit 77,
// meson's skip); the agent's logs are quieted to warnings.
bool running_as_root(const char* program, const char* needs);

// The 1, 5 and 15 minute load averages (/proc/loadavg): figures from a
// busy machine are lower, each bench prints how busy it was.
std::string load_average();

double median(std::vector<double> v);

sockaddr_in addr4(const char* ip, uint16_t port);

// Pins the calling thread to `cpu` (nothing on a one-CPU machine).
void pin_to_cpu(int cpu);

// Points `m` at the one buffer `data`/`len` through `iov` (sendmmsg, recvmmsg).
void one_buffer(mmsghdr& m, iovec& iov, const void* data, size_t len);

struct SendSpec {
	const char* from = nullptr; // source address (not bound when raw)
	uint16_t from_port = 5062;
	const char* to = nullptr;
	uint16_t to_port = 5060;
	bool raw = false;   // `datagrams` are whole IPv4 packets (IPPROTO_RAW)
	uint64_t count = 0; // stop after this many
	double seconds = 0; // or after this long
	double rate_pps = 0; // 0: as fast as sendmmsg goes
	unsigned batch = 32;
};
struct SendResult {
	uint64_t sent = 0;
	double seconds = 0;
};

// Bounded sender on CPU 0 inside `ns`: `datagrams` in turn, in batches of
// `spec.batch`, until `count` or `seconds`, whichever first.
SendResult send_udp(const test::Netns& ns, const std::vector<std::string>& datagrams, const SendSpec& spec);

// The PBX: a socket on ip:port in `ns` (64 MiB buffer) counting datagrams
// into `got` until `stop`; sets `ready` once bound. Runs on CPU 0.
void udp_sink(const test::Netns& ns, const char* ip, uint16_t port, std::atomic<bool>& ready,
              const std::atomic<bool>& stop, std::atomic<uint64_t>& got);

} // namespace sipguard::bench
