// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers shared by the root benchmarks.
#include "tools/bench/bench_io.h"

#include <sched.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "agent/util/log.h"

namespace sipguard::bench {

using Clock = std::chrono::steady_clock;

bool running_as_root(const char* program, const char* needs)
{
	if (geteuid() != 0) {
		std::fprintf(stderr, "%s: needs root (%s)\n", program, needs);
		return false;
	}
	log::set_threshold(log::Level::Warning);
	return true;
}

std::string load_average()
{
	char buf[128] = {};
	if (FILE* f = std::fopen("/proc/loadavg", "r")) {
		if (!std::fgets(buf, sizeof buf, f))
			buf[0] = 0;
		std::fclose(f);
	}
	const std::string l = buf;
	return l.substr(0, l.find(' ', l.find(' ', l.find(' ') + 1) + 1));
}

double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v.empty() ? 0 : v[v.size() / 2];
}

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

void one_buffer(mmsghdr& m, iovec& iov, const void* data, size_t len)
{
	iov = {const_cast<void*>(data), len};
	m = {};
	m.msg_hdr.msg_iov = &iov;
	m.msg_hdr.msg_iovlen = 1;
}

SendResult send_udp(const test::Netns& ns, const std::vector<std::string>& datagrams, const SendSpec& spec)
{
	pin_to_cpu(0);
	test::EnterNetns in(ns);
	int fd = spec.raw ? socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW)
	                  : socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sockaddr_in src = addr4(spec.from, spec.from_port), dst = addr4(spec.to, spec.raw ? 0 : spec.to_port);
	if (!spec.raw)
		bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src);
	connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst);
	std::vector<mmsghdr> msgs(spec.batch);
	std::vector<iovec> iov(spec.batch);
	SendResult r;
	auto t0 = Clock::now();
	auto limit = t0 + std::chrono::duration<double>(spec.seconds);
	size_t next = 0;
	while (r.sent < spec.count) {
		auto now = Clock::now();
		if (now >= limit)
			break;
		if (spec.rate_pps > 0) {
			// Sleep until this batch is due, so the sender leaves its CPU to
			// the softirq work and the sink it shares the CPU with.
			auto due = t0 + std::chrono::duration_cast<Clock::duration>(
			                    std::chrono::duration<double>(static_cast<double>(r.sent) / spec.rate_pps));
			if (due > now)
				std::this_thread::sleep_until(due);
		}
		unsigned n = static_cast<unsigned>(std::min<uint64_t>(spec.batch, spec.count - r.sent));
		for (unsigned i = 0; i < n; ++i) {
			const std::string& d = datagrams[next++ % datagrams.size()];
			one_buffer(msgs[i], iov[i], d.data(), d.size());
		}
		int k = sendmmsg(fd, msgs.data(), n, 0);
		if (k > 0)
			r.sent += static_cast<uint64_t>(k);
	}
	r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
	close(fd);
	return r;
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
		for (unsigned i = 0; i < batch; ++i)
			one_buffer(msgs[i], iov[i], bufs[i], sizeof bufs[i]);
		int n = recvmmsg(fd, msgs, batch, MSG_WAITFORONE, nullptr);
		if (n > 0)
			got.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
	}
	close(fd);
}

} // namespace sipguard::bench
