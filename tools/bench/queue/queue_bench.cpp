// SPDX-License-Identifier: GPL-2.0-or-later
// Queue-path benchmark: 500-byte SIP datagrams from one namespace to another
// through (a) no queue, (b) a minimal libmnl accept-all consumer, (d)
// sipguard's queue loop with a handler that does nothing, (c) sipguard's
// queue loop parsing every datagram with sip::parse, (e) the daemon's
// per-packet path (engine with detectors, bans and the call tracker, as a
// queue thread's Shard runs it). From one source address or, with
// --sources N, N spoofed ones (raw socket). Prints packets per second, the
// ratios, kernel queue drops / uninspected (failed-open) packets, and with
// --queues Q how Q queues scale against one.
#include <netinet/ip.h>
#include <netinet/udp.h>
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

#include "agent/calls/engine_hook.h"
#include "agent/detect/account_table.h"
#include "agent/engine/ban_manager.h"
#include "agent/engine/engine.h"
#include "agent/sip/parser.h"
#include "nfq/proc_stats.h"
#include "nfq/queue.h"
#include "rules/netlink.h"
#include "rules/table.h"
#include "tests/privileged/netns.h"
#include "tools/bench/bench_io.h"
#include "tools/bench/queue/reference_consumer.h"

using namespace sipguard;
using Clock = std::chrono::steady_clock;
using bench::addr4;
using bench::median;
using bench::SendResult;
using bench::pin_to_cpu;

namespace {

constexpr const char* kSenderAddr = "10.201.7.1";
constexpr const char* kPbxAddr = "10.201.7.2";
constexpr uint16_t kSipPort = 5060;
constexpr size_t kDatagramSize = 500;
constexpr unsigned kSendBatch = 32;
constexpr int kTemplates = 64;

struct Options {
	double seconds = 3.0;       // time limit per run
	uint64_t count = 3'000'000; // datagram limit per run
	int reps = 3;
	double paced_fraction = 0.8; // paced run at this fraction of the slower maximum
	bool fail_open = true;
	uint64_t preload = 50'000; // drain runs: datagrams queued before the consumer starts
	uint32_t sources = 1;      // > 1: spoofed source addresses from kSpoofNet (raw socket)
	unsigned queues = 1;       // > 1: also measure Q queues against one (drain, engine path)
};

// Spoofed sources are spread over this /9 (no /24 holds many of them).
constexpr uint32_t kSpoofNet = 0x0a800000; // 10.128.0.0
constexpr uint32_t kSpoofMask = 0x007fffff;

void usage()
{
	std::fprintf(stderr,
	             "usage: sipguard-bench-queue [--seconds S] [--count N] [--reps R] [--paced F] [--preload N] [--fail-closed]\n"
	             "                            [--sources N] [--queues Q]\n"
	             "  --sources N  send from N spoofed addresses in 10.128.0.0/9 (raw socket; default 1, the veth's)\n"
	             "  --queues Q   also drain Q queues (one engine shard each) and compare with one queue\n"
	             "  Runs as root; creates and removes its own network namespaces.\n");
}

bool parse_options(int argc, char** argv, Options& o)
{
	for (int i = 1; i < argc; ++i) {
		std::string a = argv[i];
		auto next = [&](double lo, double hi, double& out) {
			if (i + 1 >= argc)
				return false;
			char* end;
			out = std::strtod(argv[++i], &end);
			return *end == 0 && out >= lo && out <= hi;
		};
		double v;
		if (a == "--seconds" && next(0.1, 30, v))
			o.seconds = v;
		else if (a == "--count" && next(1, 1e8, v))
			o.count = static_cast<uint64_t>(v);
		else if (a == "--reps" && next(1, 20, v))
			o.reps = static_cast<int>(v);
		else if (a == "--paced" && next(0.05, 1.0, v))
			o.paced_fraction = v;
		else if (a == "--preload" && next(100, 200'000, v))
			o.preload = static_cast<uint64_t>(v);
		else if (a == "--fail-closed")
			o.fail_open = false;
		else if (a == "--sources" && next(1, 1'000'000, v))
			o.sources = static_cast<uint32_t>(v);
		else if (a == "--queues" && next(1, 64, v))
			o.queues = static_cast<unsigned>(v);
		else {
			std::fprintf(stderr, "sipguard-bench-queue: bad argument '%s'\n", a.c_str());
			return false;
		}
	}
	return true;
}

// Real-looking REGISTER/OPTIONS requests padded to exactly kDatagramSize bytes.
std::vector<std::string> make_datagrams()
{
	std::vector<std::string> out;
	for (int i = 0; i < kTemplates; ++i) {
		bool reg = i % 2 == 0;
		std::string m = std::string(reg ? "REGISTER sip:pbx.example.test SIP/2.0\r\n" : "OPTIONS sip:pbx.example.test SIP/2.0\r\n") +
		                "Via: SIP/2.0/UDP " + kSenderAddr + ":5062;branch=z9hG4bK-bench-" + std::to_string(i) + ";rport\r\n"
		                "Max-Forwards: 70\r\n"
		                "From: <sip:" + std::to_string(1000 + i) + "@pbx.example.test>;tag=b" + std::to_string(i) + "\r\n"
		                "To: <sip:" + std::to_string(1000 + i) + "@pbx.example.test>\r\n"
		                "Call-ID: bench-" + std::to_string(i) + "@" + kSenderAddr + "\r\n"
		                "CSeq: " + std::to_string(i + 1) + (reg ? " REGISTER" : " OPTIONS") + "\r\n"
		                "Contact: <sip:" + std::to_string(1000 + i) + "@" + kSenderAddr + ":5062>\r\n"
		                "User-Agent: sipguard-bench\r\n"
		                "Content-Length: 0\r\n";
		std::string pad = "X-Pad: ";
		size_t room = kDatagramSize - m.size() - pad.size() - 4; // "\r\n" after pad, "\r\n" ending
		m += pad + std::string(room, 'p') + "\r\n\r\n";
		out.push_back(m);
	}
	return out;
}

// Bounded sender: stops at `count` datagrams or `seconds`, whichever first.
// rate_pps == 0: as fast as sendmmsg goes.
// Spoofed source i of o.sources: a multiplicative hash over the /9.
uint32_t spoofed_source(uint32_t i)
{
	return kSpoofNet | ((i * 2654435761u) & kSpoofMask);
}

// With o.sources > 1: IPv4/UDP packets built here (IPPROTO_RAW implies
// IP_HDRINCL; the kernel fills in the IP checksum, a zero UDP checksum means
// none, RFC 768), the source address rotating over o.sources.
std::vector<std::string> spoofed_packets(const std::vector<std::string>& dgrams, const Options& o)
{
	std::vector<std::string> out;
	const uint32_t n = std::max<uint32_t>(o.sources, static_cast<uint32_t>(dgrams.size()));
	out.reserve(n);
	in_addr dst{};
	inet_pton(AF_INET, kPbxAddr, &dst);
	for (uint32_t i = 0; i < n; ++i) {
		const std::string& d = dgrams[i % dgrams.size()];
		std::string pkt(sizeof(iphdr) + sizeof(udphdr) + d.size(), '\0');
		iphdr ip{};
		ip.ihl = 5;
		ip.version = 4;
		ip.ttl = 64;
		ip.protocol = IPPROTO_UDP;
		ip.tot_len = htons(static_cast<uint16_t>(pkt.size()));
		ip.saddr = htonl(spoofed_source(i % o.sources));
		ip.daddr = dst.s_addr;
		udphdr udp{};
		udp.source = htons(5062);
		udp.dest = htons(kSipPort);
		udp.len = htons(static_cast<uint16_t>(sizeof(udphdr) + d.size()));
		std::memcpy(pkt.data(), &ip, sizeof ip);
		std::memcpy(pkt.data() + sizeof ip, &udp, sizeof udp);
		std::memcpy(pkt.data() + sizeof ip + sizeof udp, d.data(), d.size());
		out.push_back(std::move(pkt));
	}
	return out;
}

SendResult send_datagrams(const test::Netns& ns, const std::vector<std::string>& dgrams, const Options& o,
                          double rate_pps)
{
	bench::SendSpec spec;
	spec.from = kSenderAddr;
	spec.to = kPbxAddr;
	spec.to_port = kSipPort;
	spec.raw = o.sources > 1;
	spec.count = o.count;
	spec.seconds = o.seconds;
	spec.rate_pps = rate_pps;
	spec.batch = kSendBatch;
	return bench::send_udp(ns, dgrams, spec);
}

class NullHandler : public nfq::Handler {
public:
	nfq::Verdict on_packet(const nfq::PacketView&, nfq::Direction) override { return nfq::Verdict::Accept; }
};

class ParsingHandler : public nfq::Handler {
public:
	nfq::Verdict on_packet(const nfq::PacketView& p, nfq::Direction) override
	{
		sip::Message m;
		sip::parse(p.payload, sip::Transport::Datagram, m);
		valid += m.valid();
		return nfq::Verdict::Accept;
	}
	uint64_t valid = 0;
};

// The daemon's per-packet path: what a queue thread's Shard runs (engine
// with its detectors and ban manager, the call tracker behind its hook, a
// wall clock per packet), without the control, metrics and rules threads.
// Spoofed REGISTER/OPTIONS floods are what it decides on here: sources get
// banned and their packets dropped, every one of them inspected.
struct EngineShared {
	std::shared_ptr<engine::Config> cfg = std::make_shared<engine::Config>();
	engine::BanManager bans{*cfg, nullptr, 11};
	detect::AccountTable accounts{cfg->tables.accounts, 12};
	calls::SharedLimits limits{8192, 0, 13};
};

class EngineHandler : public nfq::Handler, private engine::Sink {
public:
	EngineHandler(EngineShared& shared, uint64_t seed)
		: hook_(calls::Config{}, &shared.limits), engine_(shared.cfg, shared.bans, *this, seed, &shared.accounts)
	{
		engine_.set_call_hook(&hook_);
	}
	nfq::Verdict on_packet(const nfq::PacketView& p, nfq::Direction dir) override
	{
		return engine_.on_packet(p, dir,
		                         std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now()));
	}
	uint64_t findings = 0;

private:
	void on_finding(const detect::Finding&, const engine::BanResult&) override { ++findings; }
	calls::EngineHook hook_;
	engine::Engine engine_;
};

enum class Mode { NoQueue, Reference, SipguardNull, SipguardParse, SipguardEngine };

const char* mode_name(Mode m)
{
	switch (m) {
	case Mode::NoQueue: return "(a) no queue";
	case Mode::Reference: return "(b) reference libmnl consumer";
	case Mode::SipguardNull: return "(d) sipguard loop, no parsing";
	case Mode::SipguardParse: return "(c) sipguard loop + sip::parse";
	case Mode::SipguardEngine: return "(e) sipguard daemon path";
	}
	return "?";
}

struct RunResult {
	SendResult send;
	uint64_t delivered = 0; // arrived at the PBX socket
	uint64_t inspected = 0; // verdicts given by the consumer
	uint64_t kernel_queued = 0; // id sequence delta: packets the kernel put in the queue
	uint64_t queue_dropped = 0, user_dropped = 0;
	uint64_t parsed_valid = 0;
	double drain_seconds = 0; // drain runs: time to verdict drain_target queued packets
	uint64_t drain_target = 0;
	bool ok = true;
	double drain_pps() const { return drain_seconds > 0 ? static_cast<double>(drain_target) / drain_seconds : 0; }
	double delivered_pps() const { return send.seconds > 0 ? static_cast<double>(delivered) / send.seconds : 0; }
	double inspected_pps() const { return send.seconds > 0 ? static_cast<double>(inspected) / send.seconds : 0; }
	// Packets that reached the queue rule but were not queued (queue full or
	// socket full): with fail-open the kernel accepts them uninspected and
	// counts them nowhere (it only numbers packets it really queues).
	uint64_t failed_open(bool queued_mode) const
	{
		return queued_mode && send.sent > kernel_queued ? send.sent - kernel_queued : 0;
	}
	// Arrived at the PBX without a verdict from the consumer.
	uint64_t uninspected() const { return delivered > inspected ? delivered - inspected : 0; }
	uint64_t lost() const { return send.sent > delivered ? send.sent - delivered : 0; }
};

bool kernel_stats(const test::Netns& ns, nfq::KernelQueueStats& out)
{
	test::EnterNetns in(ns);
	auto ks = nfq::read_proc_queue_stats();
	if (!ks) {
		std::fprintf(stderr, "%s\n", ks.error().c_str());
		return false;
	}
	for (const auto& k : *ks)
		if (k.queue_num == 0) {
			out = k;
			return true;
		}
	return false;
}

uint64_t consumed(Mode mode, const nfq::Queue& queue, const std::atomic<uint64_t>& ref_verdicts)
{
	if (mode == Mode::Reference)
		return ref_verdicts.load(std::memory_order_relaxed);
	nfq::QueueStats st = queue.stats();
	return st.accepted + st.dropped;
}

// Sets `go` and returns the seconds until `verdicts()` reaches `target`
// (or until it last moved, when it stalls for 500 ms).
template <class Count>
double time_drain(std::atomic<bool>& go, uint64_t target, Count&& verdicts)
{
	const auto t0 = Clock::now();
	go = true;
	auto last_progress = t0;
	uint64_t seen = 0;
	while (Clock::now() - last_progress < std::chrono::milliseconds(500)) {
		const uint64_t now_seen = verdicts();
		if (now_seen != seen) {
			seen = now_seen;
			last_progress = Clock::now();
		}
		if (seen >= target)
			break;
		std::this_thread::sleep_for(std::chrono::microseconds(200));
	}
	return std::chrono::duration<double>(last_progress - t0).count();
}

// One run. `drain`: the consumer binds but waits while `o.preload` datagrams
// are queued, then the time it takes to verdict them all is measured; this
// isolates the consumer's own rate from the sender's (2 cores).
RunResult run_once(Mode mode, const test::Netns& snd, const test::Netns& pbx, const std::vector<std::string>& dgrams,
                   const Options& o, double rate, bool drain = false)
{
	RunResult res;
	std::atomic<bool> stop_sink{false}, sink_ready{false}, stop_consumer{false}, consumer_ready{false}, go{!drain};
	std::atomic<uint64_t> delivered{0}, ref_verdicts{0};
	std::thread sink_thread([&] { bench::udp_sink(pbx, kPbxAddr, kSipPort, sink_ready, stop_sink, delivered); });

	nfq::QueueConfig qc;
	qc.fail_open = o.fail_open;
	Options so = o;
	if (drain) {
		so.count = o.preload;
		so.seconds = 10;
		qc.max_len = static_cast<uint32_t>(o.preload + 1024);
		qc.rcvbuf = static_cast<size_t>(qc.max_len) * 2560;
	}
	nfq::Queue queue;
	NullHandler null_handler;
	ParsingHandler parse_handler;
	EngineShared engine_shared;
	EngineHandler engine_handler(engine_shared, 1);
	std::thread consumer;
	util::Status consumer_result;
	if (mode == Mode::Reference) {
		consumer = std::thread([&] {
			pin_to_cpu(1);
			test::EnterNetns in(pbx);
			consumer_result = bench::run_reference_consumer(qc, go, stop_consumer, ref_verdicts, consumer_ready);
			consumer_ready = true;
		});
	} else if (mode != Mode::NoQueue) {
		{
			test::EnterNetns in(pbx);
			if (util::Status st = queue.open(qc); !st) {
				std::fprintf(stderr, "%s\n", st.message.c_str());
				res.ok = false;
			}
		}
		nfq::Handler* h = mode == Mode::SipguardParse    ? static_cast<nfq::Handler*>(&parse_handler)
		                  : mode == Mode::SipguardEngine ? static_cast<nfq::Handler*>(&engine_handler)
		                                                 : &null_handler;
		if (res.ok)
			consumer = std::thread([&, h] {
				pin_to_cpu(1);
				while (!go.load() && !stop_consumer.load())
					std::this_thread::sleep_for(std::chrono::microseconds(100));
				if (int r = queue.run(*h, stop_consumer); r != 0)
					consumer_result = util::Status::failure(-r, util::describe_errno("sipguard queue", -r));
			});
		consumer_ready = true;
	} else {
		consumer_ready = true;
	}
	while (!sink_ready || !consumer_ready)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));

	nfq::KernelQueueStats before{}, after{};
	bool have_before = mode != Mode::NoQueue && kernel_stats(pbx, before);
	if (res.ok) {
		std::thread sender([&] { res.send = send_datagrams(snd, dgrams, so, rate); });
		sender.join();
	}
	if (drain && res.ok) {
		// Every datagram is in the kernel queue (or lost before it); start the clock.
		nfq::KernelQueueStats mid{};
		for (int i = 0; i < 100; ++i) {
			if (kernel_stats(pbx, mid) && mid.id_sequence - before.id_sequence >= res.send.sent)
				break;
			std::this_thread::sleep_for(std::chrono::milliseconds(10));
		}
		uint64_t target = mid.queue_total;
		res.drain_seconds = time_drain(go, target, [&] { return consumed(mode, queue, ref_verdicts); });
		res.drain_target = target;
	}
	// Let queued packets drain to the sink: until nothing new for 300 ms (at most 5 s).
	{
		uint64_t last = delivered.load();
		auto quiet_since = Clock::now(), limit = Clock::now() + std::chrono::seconds(5);
		while (Clock::now() < limit && Clock::now() - quiet_since < std::chrono::milliseconds(300)) {
			std::this_thread::sleep_for(std::chrono::milliseconds(20));
			if (delivered.load() != last) {
				last = delivered.load();
				quiet_since = Clock::now();
			}
		}
	}
	bool have_after = mode != Mode::NoQueue && kernel_stats(pbx, after);
	stop_consumer = true;
	if (consumer.joinable())
		consumer.join();
	stop_sink = true;
	sink_thread.join();
	if (!consumer_result) {
		std::fprintf(stderr, "%s: consumer failed: %s\n", mode_name(mode), consumer_result.message.c_str());
		res.ok = false;
	}
	res.delivered = delivered;
	if (mode != Mode::NoQueue)
		res.inspected = consumed(mode, queue, ref_verdicts);
	res.parsed_valid = parse_handler.valid;
	if (have_before && have_after) {
		res.kernel_queued = after.id_sequence - before.id_sequence;
		res.queue_dropped = after.queue_dropped - before.queue_dropped;
		res.user_dropped = after.user_dropped - before.user_dropped;
	} else if (mode != Mode::NoQueue) {
		std::fprintf(stderr, "%s: could not read /proc queue stats\n", mode_name(mode));
	}
	return res;
}

void print(Mode m, const RunResult& r, double rate)
{
	std::printf("%-31s rate %-6s sent %8llu in %.2fs, delivered %8llu (%6.0f pps), inspected %8llu (%6.0f pps), "
	            "lost %llu, failed open %llu, uninspected %llu, queue_dropped %llu user_dropped %llu%s\n",
	            mode_name(m), rate > 0 ? std::to_string(static_cast<long>(rate)).c_str() : "max",
	            static_cast<unsigned long long>(r.send.sent), r.send.seconds,
	            static_cast<unsigned long long>(r.delivered), r.delivered_pps(),
	            static_cast<unsigned long long>(r.inspected), r.inspected_pps(),
	            static_cast<unsigned long long>(r.lost()),
	            static_cast<unsigned long long>(r.failed_open(m != Mode::NoQueue)),
	            static_cast<unsigned long long>(m != Mode::NoQueue ? r.uninspected() : 0),
	            static_cast<unsigned long long>(r.queue_dropped), static_cast<unsigned long long>(r.user_dropped),
	            m == Mode::SipguardParse && r.parsed_valid != r.inspected ? "  (parse: some not valid!)" : "");
	std::fflush(stdout);
}

bool set_table(const test::Netns& pbx, bool present, unsigned queues = 1)
{
	test::EnterNetns in(pbx);
	rules::Netlink nl;
	rules::Status st = nl.open();
	if (st.ok()) {
		if (present) {
			rules::TableSpec spec;
			spec.sip_ports = {kSipPort};
			spec.queue_count = static_cast<uint16_t>(queues);
			rules::QueueBackend backend;
			st = rules::install_auto(nl, spec, backend);
		} else {
			st = rules::remove(nl);
		}
	}
	if (!st.ok())
		std::fprintf(stderr, "rules: %s\n", st.message.c_str());
	return st.ok();
}

// Q queues, one engine shard each (one EngineShared, as the daemon shares
// its ban manager and tables): `o.preload` packets queued while the
// consumers wait, then the time until all are verdicted. Fills `per_queue`
// with the packets the kernel put in each queue (how its hash spread them).
double drain_queues(const test::Netns& snd, const test::Netns& pbx, const std::vector<std::string>& wire,
                    const Options& o, unsigned queues, std::vector<uint64_t>& per_queue)
{
	if (!set_table(pbx, true, queues))
		return 0;
	std::atomic<bool> stop_sink{false}, sink_ready{false}, stop{false}, go{false};
	std::atomic<uint64_t> delivered{0};
	std::thread sink_thread([&] { bench::udp_sink(pbx, kPbxAddr, kSipPort, sink_ready, stop_sink, delivered); });
	EngineShared shared;
	std::vector<std::unique_ptr<nfq::Queue>> qs;
	std::vector<std::unique_ptr<EngineHandler>> handlers;
	bool ok = true;
	for (unsigned i = 0; i < queues && ok; ++i) {
		nfq::QueueConfig qc;
		qc.queue_num = static_cast<uint16_t>(i);
		qc.fail_open = o.fail_open;
		qc.max_len = static_cast<uint32_t>(o.preload + 1024);
		qc.rcvbuf = static_cast<size_t>(qc.max_len) * 2560;
		qs.push_back(std::make_unique<nfq::Queue>());
		handlers.push_back(std::make_unique<EngineHandler>(shared, 100 + i));
		test::EnterNetns in(pbx);
		if (util::Status st = qs.back()->open(qc); !st) {
			std::fprintf(stderr, "queue %u: %s\n", i, st.message.c_str());
			ok = false;
		}
	}
	std::vector<std::thread> consumers;
	for (unsigned i = 0; i < qs.size() && ok; ++i)
		consumers.emplace_back([&, i] {
			pin_to_cpu(static_cast<int>(1 + i % std::max(1u, std::thread::hardware_concurrency() - 1)));
			while (!go.load() && !stop.load())
				std::this_thread::sleep_for(std::chrono::microseconds(100));
			(void)qs[i]->run(*handlers[i], stop);
		});
	while (!sink_ready)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	auto stats = [&](std::vector<nfq::KernelQueueStats>& out) {
		test::EnterNetns in(pbx);
		out.assign(queues, {});
		auto ks = nfq::read_proc_queue_stats();
		if (ks)
			for (const auto& k : *ks)
				if (k.queue_num < queues)
					out[k.queue_num] = k;
	};
	std::vector<nfq::KernelQueueStats> before, mid, after;
	stats(before);
	Options so = o;
	so.count = o.preload;
	so.seconds = 10;
	SendResult sent;
	if (ok)
		sent = send_datagrams(snd, wire, so, 0);
	uint64_t queued = 0;
	for (int i = 0; i < 100; ++i) {
		stats(mid);
		queued = 0;
		for (unsigned q = 0; q < queues; ++q)
			queued += mid[q].id_sequence - before[q].id_sequence;
		if (queued >= sent.sent)
			break;
		std::this_thread::sleep_for(std::chrono::milliseconds(10));
	}
	uint64_t target = 0;
	for (unsigned q = 0; q < queues; ++q)
		target += mid[q].queue_total;
	auto verdicts = [&] {
		uint64_t n = 0;
		for (auto& q : qs) {
			nfq::QueueStats st = q->stats();
			n += st.accepted + st.dropped;
		}
		return n;
	};
	const double secs = ok ? time_drain(go, target, verdicts) : 0;
	stats(after);
	stop = true;
	for (auto& t : consumers)
		t.join();
	stop_sink = true;
	sink_thread.join();
	per_queue.assign(queues, 0);
	for (unsigned q = 0; q < queues; ++q)
		per_queue[q] = after[q].id_sequence - before[q].id_sequence;
	return ok && secs > 0 ? static_cast<double>(target) / secs : 0;
}

} // namespace

int main(int argc, char** argv)
{
	Options o;
	if (!parse_options(argc, argv, o)) {
		usage();
		return 2;
	}
	if (!bench::running_as_root("sipguard-bench-queue", "network namespaces, NFQUEUE"))
		return 77;
	try {
		test::Netns snd("qbs"), pbx("qbp");
		test::link_veth(snd, "s0", {std::string(kSenderAddr) + "/24"}, pbx, "p0", {std::string(kPbxAddr) + "/24"});
		// The spoofed sources are routed back through the sender (reverse
		// path filtering, and the sink's replies would need it).
		pbx.must(std::string("ip route add 10.128.0.0/9 via ") + kSenderAddr);
		const std::vector<std::string> dgrams = make_datagrams();
		const std::vector<std::string> wire = o.sources > 1 ? spoofed_packets(dgrams, o) : dgrams;
		// Other work on the machine skews every figure; say how busy it was.
		std::printf("load average at start: %s\n", bench::load_average().c_str());
		std::printf("queue bench: %zu-byte SIP datagrams from %u source address%s, %.1fs or %llu per run, %d reps, "
		            "fail-open %s, sender on CPU0, consumer on CPU1, %u cores\n",
		            dgrams[0].size(), o.sources, o.sources > 1 ? "es (spoofed, 10.128.0.0/9)" : "", o.seconds,
		            static_cast<unsigned long long>(o.count), o.reps, o.fail_open ? "on" : "off",
		            std::thread::hardware_concurrency());
		// Warm-up: ARP and caches.
		Options warm = o;
		warm.count = 1000;
		run_once(Mode::NoQueue, snd, pbx, wire, warm, 0);

		const Mode modes[] = {Mode::NoQueue, Mode::Reference, Mode::SipguardNull, Mode::SipguardParse,
		                      Mode::SipguardEngine};
		std::vector<double> pps[5];
		bool ok = true;
		for (int rep = 0; rep < o.reps; ++rep) {
			for (int mi = 0; mi < 5; ++mi) {
				Mode m = modes[mi];
				if (!set_table(pbx, m != Mode::NoQueue))
					return 1;
				RunResult r = run_once(m, snd, pbx, wire, o, 0);
				ok = ok && r.ok;
				print(m, r, 0);
				pps[mi].push_back(m == Mode::NoQueue ? r.delivered_pps() : r.inspected_pps());
			}
		}
		double a = median(pps[0]), b = median(pps[1]), d = median(pps[2]), c = median(pps[3]), e = median(pps[4]);
		std::printf("\nmedian max rate (pps; queued modes count inspected packets):\n"
		            "  (a) no queue            %10.0f\n"
		            "  (b) reference consumer  %10.0f\n"
		            "  (d) sipguard, no parse  %10.0f\n"
		            "  (c) sipguard + parse    %10.0f\n"
		            "  (e) sipguard daemon path %9.0f\n"
		            "  (c)/(b) = %.2f   (d)/(b) = %.2f   (c)/(a) = %.2f   (e)/(b) = %.2f\n",
		            a, b, d, c, e, b > 0 ? c / b : 0, b > 0 ? d / b : 0, a > 0 ? c / a : 0, b > 0 ? e / b : 0);

		// Consumer capacity on its own: verdict a preloaded queue.
		std::printf("\ndrain: %llu datagrams queued, then the consumer starts (its own rate, sender idle):\n",
		            static_cast<unsigned long long>(o.preload));
		const Mode qmodes[] = {Mode::Reference, Mode::SipguardNull, Mode::SipguardParse, Mode::SipguardEngine};
		std::vector<double> dpps[4];
		for (int rep = 0; rep < o.reps; ++rep) {
			for (int mi = 0; mi < 4; ++mi) {
				RunResult r = run_once(qmodes[mi], snd, pbx, wire, o, 0, true);
				ok = ok && r.ok;
				std::printf("%-31s drained %llu of %llu queued in %.3fs = %.0f pps (failed open %llu, queue_dropped %llu)\n",
				            mode_name(qmodes[mi]), static_cast<unsigned long long>(r.inspected),
				            static_cast<unsigned long long>(r.drain_target), r.drain_seconds, r.drain_pps(),
				            static_cast<unsigned long long>(r.failed_open(true)),
				            static_cast<unsigned long long>(r.queue_dropped));
				std::fflush(stdout);
				dpps[mi].push_back(r.drain_pps());
			}
		}
		double db = median(dpps[0]), dd = median(dpps[1]), dc = median(dpps[2]), de = median(dpps[3]);
		std::printf("\nmedian drain rate (pps):\n"
		            "  (b) reference consumer  %10.0f\n"
		            "  (d) sipguard, no parse  %10.0f\n"
		            "  (c) sipguard + parse    %10.0f\n"
		            "  (e) sipguard daemon path %9.0f\n"
		            "  (c)/(b) = %.2f   (d)/(b) = %.2f   (e)/(b) = %.2f (inspected packets/s per queue, daemon path vs "
		            "bare consumer)\n",
		            db, dd, dc, de, db > 0 ? dc / db : 0, db > 0 ? dd / db : 0, db > 0 ? de / db : 0);

		// Below the maximum: paced at a fraction of what sipguard sustains
		// (the lower of its drain rate and the end-to-end maximum).
		double rate = o.paced_fraction * std::min(dc, c);
		std::printf("\npaced at %.0f%% of min(drain (c), max rate (c)) = %.0f pps:\n", o.paced_fraction * 100, rate);
		uint64_t bad = 0;
		for (Mode m : {Mode::Reference, Mode::SipguardParse}) {
			RunResult r = run_once(m, snd, pbx, wire, o, rate);
			ok = ok && r.ok;
			print(m, r, rate);
			if (m == Mode::SipguardParse)
				bad += r.queue_dropped + r.user_dropped + r.failed_open(true) + r.uninspected() + r.lost();
		}
		if (o.queues > 1) {
			// The queue rule balances by the kernel's symmetric address hash:
			// one source address always reaches one queue.
			const unsigned cores = std::thread::hardware_concurrency();
			std::printf("\nqueues scale: drain of %llu packets by the daemon path (e), 1 queue vs %u queues, %u cores\n",
			            static_cast<unsigned long long>(o.preload), o.queues, cores);
			std::vector<double> one, many;
			for (int rep = 0; rep < o.reps; ++rep) {
				for (unsigned q : {1u, o.queues}) {
					std::vector<uint64_t> per_queue;
					const double r = drain_queues(snd, pbx, wire, o, q, per_queue);
					(q == 1 ? one : many).push_back(r);
					std::string spread;
					for (uint64_t n : per_queue) {
						if (!spread.empty())
							spread += ' ';
						spread += std::to_string(n);
					}
					std::printf("  %u queue%s: %8.0f pps, packets per queue: %s\n", q, q > 1 ? "s" : "", r,
					            spread.c_str());
					std::fflush(stdout);
				}
			}
			const double m1 = median(one), mq = median(many);
			if (cores < o.queues + 1)
				std::printf("  median: 1 queue %.0f pps, %u queues %.0f pps: not meaningful on %u cores (needs >= %u: "
				            "a core per queue and one for the sender)\n",
				            m1, o.queues, mq, cores, o.queues + 1);
			else
				std::printf("  median: 1 queue %.0f pps, %u queues %.0f pps: %.2f x Q x one queue (target >= 0.8)\n", m1,
				            o.queues, mq, m1 > 0 ? mq / (o.queues * m1) : 0);
		}
		set_table(pbx, false);
		std::printf("\nload average at end: %s\n", bench::load_average().c_str());
		std::printf("sipguard paced run: %s (kernel queue drops + failed open + uninspected + lost = %llu)\n",
		            bad == 0 ? "no drops" : "DROPS", static_cast<unsigned long long>(bad));
		return ok ? 0 : 1;
	} catch (const std::exception& e) {
		std::fprintf(stderr, "sipguard-bench-queue: %s\n", e.what());
		return 1;
	}
}
