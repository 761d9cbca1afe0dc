// SPDX-License-Identifier: GPL-2.0-or-later
// UDP helpers shared by the queue-path benchmarks.
#include "tools/bench/queue/bench_io.h"

#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <thread>

namespace sipguard::bench {

sockaddr_in addr4(const char* ip, uint16_t port)
{
	sockaddr_in s{};
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	inet_pton(AF_INET, ip, &s.sin_addr);
	return s;
}

void pin_to_cpu(int cpu)
{
	if (std::thread::hardware_concurrency() < 2)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
}

void udp_sink(const test::Netns& ns, const char* ip, uint16_t port, std::atomic<bool>& ready,
              const std::atomic<bool>& stop, std::atomic<uint64_t>& got)
{
	pin_to_cpu(0);
	int fd;
	{
		test::EnterNetns in(ns);
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	}
	int big = 64 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
	timeval tv{0, 50 * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	sockaddr_in a = addr4(ip, port);
	bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
	constexpr unsigned batch = 64;
	static thread_local char bufs[batch][2048];
	mmsghdr msgs[batch];
	iovec iov[batch];
	ready = true;
	while (!stop.load(std::memory_order_relaxed)) {
		for (unsigned i = 0; i < batch; ++i) {
			iov[i] = {bufs[i], sizeof bufs[i]};
			msgs[i] = {};
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		int n = recvmmsg(fd, msgs, batch, MSG_WAITFORONE, nullptr);
		if (n > 0)
			got.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
	}
	close(fd);
}

} // namespace sipguard::bench
