// SPDX-License-Identifier: GPL-2.0-or-later
// Pre-filter cost benchmark (issue 20): packets/s from a known source to the
// PBX with the pre-filter's rules and meters in place vs the plain queue
// rule, in the same run, alternating. Two paths: through sipguard's queue
// loop (accept-all handler, the agent's ceiling) and with no queue bound
// (the rules' own cost: the known source passes by bypass), where the extra
// rules weigh most. Prints the medians and their ratio (target >= 0.95).
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <thread>
#include <vector>

#include "nfq/queue.h"
#include "rules/elements_internal.h"
#include "rules/netlink.h"
#include "rules/table.h"
#include "tests/privileged/netns.h"
#include "tools/bench/bench_io.h"

using namespace sipguard;
using Clock = std::chrono::steady_clock;
using bench::median;
using bench::pin_to_cpu;

namespace {

constexpr const char* kSenderAddr = "10.201.8.1";
constexpr const char* kPbxAddr = "10.201.8.2";
constexpr uint16_t kSipPort = 5060;
constexpr size_t kDatagramSize = 500;
constexpr unsigned kBatch = 32;

struct Options {
	double seconds = 2.0;
	uint64_t count = 2'000'000;
	int reps = 5;
	int meter_entries = 20000; // unknown sources already in meter4 when the known source sends
};

std::string datagram()
{
	std::string m = std::string("OPTIONS sip:pbx.example.test SIP/2.0\r\nVia: SIP/2.0/UDP ") + kSenderAddr +
	                ":5062;branch=z9hG4bK-pf\r\nMax-Forwards: 70\r\nFrom: <sip:1000@pbx.example.test>;tag=p\r\n"
	                "To: <sip:1000@pbx.example.test>\r\nCall-ID: pf@bench\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n";
	m += "X-Pad: " + std::string(kDatagramSize - m.size() - 11, 'p') + "\r\n\r\n";
	return m;
}

// As fast as sendmmsg goes, bounded by count and time; returns seconds.
double send_all(const test::Netns& ns, const std::string& d, const Options& o, uint64_t& sent)
{
	bench::SendSpec spec;
	spec.from = kSenderAddr;
	spec.to = kPbxAddr;
	spec.to_port = kSipPort;
	spec.count = o.count;
	spec.seconds = o.seconds;
	spec.batch = kBatch;
	const bench::SendResult r = bench::send_udp(ns, {d}, spec);
	sent = r.sent;
	return r.seconds;
}

class AcceptAll : public nfq::Handler {
public:
	nfq::Verdict on_packet(const nfq::PacketView&, nfq::Direction) override { return nfq::Verdict::Accept; }
};

// The table with or without the pre-filter; with it, the sender is known
// and `meter_entries` unknown sources sit in meter4 (their datagrams sent
// once each from other addresses would do the same; added directly here).
bool set_table(const test::Netns& pbx, bool prefilter, const Options& o)
{
	test::EnterNetns in(pbx);
	rules::Netlink nl;
	rules::Status st = nl.open();
	rules::TableSpec spec;
	spec.sip_ports = {kSipPort};
	spec.prefilter.enabled = prefilter;
	rules::QueueBackend backend{};
	if (st.ok())
		st = rules::install_auto(nl, spec, backend);
	if (st.ok() && prefilter) {
		std::vector<rules::ElementOp> ops;
		rules::ElementOp known;
		known.kind = rules::ElementOp::Kind::Add;
		known.is_known = true;
		known.target = net::Cidr::host(*net::IpAddress::parse(kSenderAddr));
		known.timeout = std::chrono::milliseconds(3600 * 1000);
		ops.push_back(known);
		st = rules::commit_element_ops(nl, ops);
	}
	if (!st.ok()) {
		std::fprintf(stderr, "rules: %s\n", st.message.c_str());
		return false;
	}
	if (prefilter && o.meter_entries > 0) {
		// Elements from userspace, as `nft add element` would add them.
		const std::string path = "/tmp/sipguard-bench-prefilter-" + std::to_string(getpid()) + ".nft";
		if (FILE* f = std::fopen(path.c_str(), "w")) {
			std::fputs("add element inet sipguard meter4 { ", f);
			for (int i = 0; i < o.meter_entries; ++i)
				std::fprintf(f, "%s100.%d.%d.%d", i ? ", " : "", 64 + (i >> 16), (i >> 8) & 255, i & 255);
			std::fputs(" }\n", f);
			std::fclose(f);
		}
		const int rc = pbx.exec("nft -f " + path);
		std::remove(path.c_str());
		if (rc != 0)
			std::fprintf(stderr, "could not fill meter4 (continuing with an empty meter)\n");
	}
	return true;
}

// Delivered packets/s of one run; `queue`: sipguard's queue loop accepts
// everything (else no queue is bound and the known source passes by bypass).
double run_once(const test::Netns& snd, const test::Netns& pbx, const std::string& d, const Options& o, bool queue,
                uint64_t* inspected)
{
	std::atomic<bool> stop_sink{false}, ready{false}, stop_q{false};
	std::atomic<uint64_t> got{0};
	std::thread sink_thread([&] { bench::udp_sink(pbx, kPbxAddr, kSipPort, ready, stop_sink, got); });
	nfq::Queue q;
	AcceptAll handler;
	std::thread consumer;
	if (queue) {
		nfq::QueueConfig qc;
		qc.fail_open = false;
		{
			test::EnterNetns in(pbx);
			if (util::Status st = q.open(qc); !st)
				std::fprintf(stderr, "queue: %s\n", st.message.c_str());
		}
		consumer = std::thread([&] {
			pin_to_cpu(1);
			(void)q.run(handler, stop_q);
		});
	}
	while (!ready)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	uint64_t sent = 0;
	double secs = send_all(snd, d, o, sent);
	uint64_t last = got.load();
	auto quiet = Clock::now(), limit = Clock::now() + std::chrono::seconds(5);
	while (Clock::now() < limit && Clock::now() - quiet < std::chrono::milliseconds(300)) {
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
		if (got.load() != last) {
			last = got.load();
			quiet = Clock::now();
		}
	}
	stop_q = true;
	if (consumer.joinable())
		consumer.join();
	if (inspected)
		*inspected = queue ? q.stats().accepted : 0;
	stop_sink = true;
	sink_thread.join();
	return secs > 0 ? static_cast<double>(got.load()) / secs : 0;
}

} // namespace

int main(int argc, char** argv)
{
	Options o;
	for (int i = 1; i < argc; ++i) {
		std::string a = argv[i];
		if (a == "--seconds" && i + 1 < argc)
			o.seconds = std::atof(argv[++i]);
		else if (a == "--reps" && i + 1 < argc)
			o.reps = std::atoi(argv[++i]);
		else if (a == "--meter-entries" && i + 1 < argc)
			o.meter_entries = std::atoi(argv[++i]);
		else {
			std::fprintf(stderr, "usage: sipguard-bench-prefilter [--seconds S] [--reps R] [--meter-entries N]\n"
			                     "  Runs as root; creates and removes its own network namespaces.\n");
			return 2;
		}
	}
	if (!bench::running_as_root("sipguard-bench-prefilter", "network namespaces, nftables, NFQUEUE"))
		return 77;
	try {
		test::Netns snd("pfs"), pbx("pfp");
		test::link_veth(snd, "s0", {std::string(kSenderAddr) + "/24"}, pbx, "p0", {std::string(kPbxAddr) + "/24"});
		const std::string d = datagram();
		std::printf("pre-filter bench: %zu-byte SIP datagrams from one known source, %.1fs per run, %d reps, "
		            "%d unknown sources in meter4, load %s\n",
		            d.size(), o.seconds, o.reps, o.meter_entries, bench::load_average().c_str());
		Options warm = o;
		warm.count = 1000;
		set_table(pbx, false, o);
		run_once(snd, pbx, d, warm, false, nullptr);
		bool ok = true;
		for (bool queue : {true, false}) {
			std::vector<double> off, on;
			for (int rep = 0; rep < o.reps; ++rep) {
				for (bool pf : {false, true}) {
					if (!set_table(pbx, pf, o))
						return 1;
					uint64_t inspected = 0;
					double pps = run_once(snd, pbx, d, o, queue, &inspected);
					(pf ? on : off).push_back(pps);
					std::printf("  %-28s %-12s %9.0f pps delivered%s\n",
					            queue ? "sipguard queue, accept-all" : "no queue bound (bypass)",
					            pf ? "pre-filter" : "plain", pps,
					            queue ? (", " + std::to_string(inspected) + " inspected").c_str() : "");
					std::fflush(stdout);
				}
			}
			double a = median(off), b = median(on);
			double ratio = a > 0 ? b / a : 0;
			std::printf("%s: median %.0f pps plain, %.0f pps with the pre-filter: ratio %.3f (target >= 0.95)\n\n",
			            queue ? "through the queue" : "kernel path only", a, b, ratio);
			ok = ok && a > 0 && b > 0;
		}
		test::EnterNetns in(pbx);
		rules::Netlink nl;
		if (nl.open().ok())
			(void)rules::remove(nl);
		return ok ? 0 : 1;
	} catch (const std::exception& e) {
		std::fprintf(stderr, "sipguard-bench-prefilter: %s\n", e.what());
		return 1;
	}
}
