// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel benchmarks for rules/: ban programming rate vs one `nft` process per ban, and drop-path pps vs ban-set size.
//
// Runs as root inside throw-away network namespaces (removed on exit).
//   sipguard-bench-kernel [--nft-processes N] [--restore N] [--big-set N] [--seconds S] [--rounds N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rules/elements.h"
#include "rules/netlink.h"
#include "rules/table.h"
#include "tests/privileged/netns.h"

extern char** environ;

using namespace sipguard;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

void die(const std::string& what)
{
	std::fprintf(stderr, "sipguard-bench-kernel: %s\n", what.c_str());
	std::exit(1);
}

void check(const rules::Status& st, const char* what)
{
	if (!st.ok())
		die(std::string(what) + ": " + st.message);
}

// 10.x.y.z hosts, distinct for i < 2^24 (addresses exist only in the namespace).
net::IpAddress nth_v4(uint32_t i) { return net::IpAddress::v4(0x0a000000u + (i & 0xffffff)); }

rules::Netlink open_in(const test::Netns& ns)
{
	test::EnterNetns in(ns);
	rules::Netlink nl;
	check(nl.open(), "open netlink");
	return nl;
}

void install(rules::Netlink& nl, const rules::TableSpec& spec)
{
	rules::QueueBackend backend;
	check(rules::probe_queue_backend(nl, backend), "probe queue backend");
	check(rules::install(nl, spec, backend), "install table");
}

// Runs `nft add element ...` as its own process in the current thread's
// namespace (posix_spawn inherits it), like fail2ban's nftables action.
int spawn_nft(const std::string& element)
{
	std::string set = "{ " + element + " timeout 600s }";
	const char* argv[] = {"nft", "add", "element", "inet", "sipguard", "ban4", set.c_str(), nullptr};
	pid_t pid;
	if (posix_spawnp(&pid, "nft", nullptr, nullptr, const_cast<char* const*>(argv), environ) != 0)
		return -1;
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void bench_programming(int nft_processes, uint32_t restore_count)
{
	std::printf("== ban programming ==\n");
	test::Netns ns("bench-prog");
	rules::Netlink nl = open_in(ns);
	install(nl, {});

	// Reference: one nft process per ban (fail2ban's method), same run.
	double nft_secs;
	{
		test::EnterNetns in(ns);
		auto t0 = Clock::now();
		for (int i = 0; i < nft_processes; ++i) {
			if (spawn_nft(nth_v4(0x100000 + static_cast<uint32_t>(i)).to_string()) != 0)
				die("nft add element failed");
		}
		nft_secs = seconds_since(t0);
	}
	double nft_rate = nft_processes / nft_secs;
	std::printf("nft process per ban:        %6d bans in %8.3f s = %10.0f bans/s\n", nft_processes, nft_secs,
	            nft_rate);

	// Restore: `restore_count` bans with timeouts, batched transactions.
	std::vector<rules::BanElement> bans;
	for (uint32_t i = 0; i < restore_count; ++i)
		bans.push_back({net::Cidr::host(nth_v4(i)), std::chrono::seconds(600 + i % 3600)});
	auto t0 = Clock::now();
	check(rules::add_bans(nl, bans, /*refresh=*/false), "add bans");
	double restore_secs = seconds_since(t0);
	double restore_rate = restore_count / restore_secs;
	std::printf("batched restore (add):      %6u bans in %8.3f s = %10.0f bans/s\n", restore_count, restore_secs,
	            restore_rate);

	// Refresh mode (what the writer does for a new ban: add+delete+add so
	// the timeout is exactly the new one) on the same, now present, elements.
	t0 = Clock::now();
	check(rules::add_bans(nl, bans, /*refresh=*/true), "refresh bans");
	double refresh_secs = seconds_since(t0);
	double refresh_rate = restore_count / refresh_secs;
	std::printf("batched refresh (3 msgs):   %6u bans in %8.3f s = %10.0f bans/s\n", restore_count, refresh_secs,
	            refresh_rate);

	// One ban per transaction (a lone ban from the writer).
	const int singles = 1000;
	t0 = Clock::now();
	for (int i = 0; i < singles; ++i) {
		rules::BanElement one{net::Cidr::host(nth_v4(0x200000 + static_cast<uint32_t>(i))), std::chrono::seconds(600)};
		check(rules::add_bans(nl, std::span<const rules::BanElement>(&one, 1)), "single ban");
	}
	double single_secs = seconds_since(t0);
	std::printf("one ban per transaction:    %6d bans in %8.3f s = %10.0f bans/s (%.1f us each)\n", singles,
	            single_secs, singles / single_secs, single_secs / singles * 1e6);

	std::vector<rules::ListedBan> listed;
	check(rules::list_bans(nl, listed), "list bans");
	size_t expected = static_cast<size_t>(nft_processes) + restore_count + singles;
	if (listed.size() != expected)
		die("listed " + std::to_string(listed.size()) + " bans, expected " + std::to_string(expected));

	double ratio = restore_rate / nft_rate;
	std::printf("ratio batched/nft-per-ban:  %.0fx   (target >= 100x: %s)\n", ratio, ratio >= 100 ? "met" : "NOT met");
	std::printf("restore %u bans:           %.3f s (target < 1 s: %s)\n", restore_count, restore_secs,
	            restore_secs < 1.0 ? "met" : "NOT met");
}

struct Lab {
	test::Netns sender{"bench-tx"};
	test::Netns pbx{"bench-rx"};
	rules::Netlink nl;

	Lab()
	{
		test::link_veth(sender, "veth0", {"10.200.2.1/24"}, pbx, "veth0", {"10.200.2.2/24"});
		// Static neighbour entry: the sender is banned, so no ARP reply
		// dance must be needed (ARP is not IP and is not filtered anyway).
		std::string mac = pbx.exec_capture("cat /sys/class/net/veth0/address");
		mac.erase(mac.find_last_not_of("\n") + 1);
		sender.must("ip neigh replace 10.200.2.2 lladdr " + mac + " dev veth0 nud permanent");
		nl = open_in(pbx);
	}
};

// Sends UDP datagrams from the sender namespace with sendmmsg for `secs`
// seconds (bounded also by a packet cap); returns datagrams sent.
uint64_t blast(const test::Netns& ns, double secs, uint64_t cap)
{
	int fd;
	{
		test::EnterNetns in(ns);
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		die("socket");
	sockaddr_in dst{};
	dst.sin_family = AF_INET;
	dst.sin_port = htons(5060);
	inet_pton(AF_INET, "10.200.2.2", &dst.sin_addr);
	char payload[200];
	std::memset(payload, 'x', sizeof payload);
	constexpr int kBatch = 64;
	mmsghdr msgs[kBatch];
	iovec iov[kBatch];
	for (int i = 0; i < kBatch; ++i) {
		iov[i] = {payload, sizeof payload};
		msgs[i] = {};
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &dst;
		msgs[i].msg_hdr.msg_namelen = sizeof dst;
	}
	uint64_t sent = 0;
	auto t0 = Clock::now();
	while (sent < cap && seconds_since(t0) < secs) {
		int n = sendmmsg(fd, msgs, kBatch, 0);
		if (n > 0)
			sent += static_cast<uint64_t>(n);
	}
	close(fd);
	return sent;
}

double drop_pps(Lab& lab, double secs)
{
	rules::Counters before, after;
	check(rules::read_counters(lab.nl, before), "read counters");
	auto t0 = Clock::now();
	uint64_t sent = blast(lab.sender, secs, 200'000'000);
	double elapsed = seconds_since(t0);
	check(rules::read_counters(lab.nl, after), "read counters");
	uint64_t dropped = after.ban_drop_packets - before.ban_drop_packets;
	if (dropped + dropped / 100 < sent)
		std::printf("  (note: sent %llu, dropped %llu)\n", static_cast<unsigned long long>(sent),
		            static_cast<unsigned long long>(dropped));
	return static_cast<double>(dropped) / elapsed;
}

void bench_set_scale(uint32_t big, double secs, int rounds)
{
	std::printf("== drop path vs ban-set size ==\n");
	// Two identical namespace pairs; the only difference is the size of
	// ban4 on the receiving side. Rounds alternate between them so drift
	// (other load, frequency changes) hits both alike.
	Lab small, large;
	rules::TableSpec spec;
	spec.ban_set_size = std::max<uint32_t>(1048576, big + 16);
	install(small.nl, spec);
	install(large.nl, spec);
	rules::BanElement sender{*net::Cidr::parse("10.200.2.1"), std::chrono::seconds(3600)};
	check(rules::add_bans(small.nl, std::span<const rules::BanElement>(&sender, 1)), "ban sender");
	check(rules::add_bans(large.nl, std::span<const rules::BanElement>(&sender, 1)), "ban sender");
	std::vector<rules::BanElement> bans;
	bans.reserve(big);
	for (uint32_t i = 0; i < big; ++i)
		bans.push_back({net::Cidr::host(nth_v4(i)), std::chrono::seconds(3600)});
	auto t0 = Clock::now();
	check(rules::add_bans(large.nl, bans, false), "add big set");
	std::printf("inserted %u bans in %.2f s\n", big, seconds_since(t0));

	std::vector<double> rs, rl;
	for (int i = 0; i < rounds; ++i) {
		rs.push_back(drop_pps(small, secs));
		rl.push_back(drop_pps(large, secs));
	}
	auto median = [](std::vector<double> v) {
		std::sort(v.begin(), v.end());
		return v[v.size() / 2];
	};
	auto show = [&](const char* label, const std::vector<double>& v) {
		std::printf("%-36s median %9.0f pps dropped; rounds:", label, median(v));
		for (double x : v)
			std::printf(" %.0f", x);
		std::printf("\n");
	};
	show("ban4 = {sender}:", rs);
	show(("ban4 = {sender} + " + std::to_string(big) + ":").c_str(), rl);
	double ratio = median(rl) / median(rs);
	std::printf("ratio large/small set: %.3f   (target >= 0.95: %s)\n", ratio, ratio >= 0.95 ? "met" : "NOT met");
}

} // namespace

int main(int argc, char** argv)
{
	int nft_processes = 200;
	uint32_t restore = 20000;
	uint32_t big = 1000000;
	double secs = 1.0;
	int rounds = 7;
	for (int i = 1; i < argc; ++i) {
		std::string a = argv[i];
		auto next = [&]() -> const char* {
			if (i + 1 >= argc)
				die("missing value for " + a);
			return argv[++i];
		};
		if (a == "--nft-processes")
			nft_processes = std::atoi(next());
		else if (a == "--restore")
			restore = static_cast<uint32_t>(std::atoi(next()));
		else if (a == "--big-set")
			big = static_cast<uint32_t>(std::atoi(next()));
		else if (a == "--seconds")
			secs = std::atof(next());
		else if (a == "--rounds")
			rounds = std::atoi(next());
		else {
			std::printf("usage: sipguard-bench-kernel [--nft-processes N] [--restore N] [--big-set N] [--seconds S] [--rounds N]\n");
			return a == "-h" || a == "--help" ? 0 : 2;
		}
	}
	if (nft_processes <= 0 || restore == 0 || big == 0 || big > 0xffffff || secs <= 0 || secs > 30 || rounds < 1 || rounds > 50)
		die("values out of range");
	test::require_root_or_skip();
	bench_programming(nft_processes, restore);
	// One CPU for sender and receive softirq (veth delivers to the
	// sending CPU's backlog): less noise between rounds.
	cpu_set_t cpus;
	CPU_ZERO(&cpus);
	CPU_SET(sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0, &cpus);
	sched_setaffinity(0, sizeof cpus, &cpus);
	bench_set_scale(big, secs, rounds);
	return 0;
}
