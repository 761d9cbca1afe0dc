// SPDX-License-Identifier: GPL-2.0-or-later
// The queue loop on a real kernel: SIP datagrams between two namespaces pass
// through NFQUEUE to nfq::Queue, a handler's drops are enforced, the bypass
// flag lets traffic through without an agent, and a stop ends run() quickly.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nfq/proc_stats.h"
#include "nfq/queue.h"
#include "tests/privileged/netns.h"
#include "tests/privileged/nfq/queue_rule.h"

using namespace sipguard;
using namespace sipguard::nfq;
using sipguard::test::EnterNetns;
using sipguard::test::Netns;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kClientV4 = "10.200.1.1";
constexpr const char* kClient2V4 = "10.200.1.3"; // the source the dropping handler blocks
constexpr const char* kPbxV4 = "10.200.1.2";
constexpr const char* kClientV6 = "fd00:5a::1";
constexpr const char* kPbxV6 = "fd00:5a::2";
constexpr uint16_t kSipPort = 5060;

struct Lab {
	Netns client{"nfqc"};
	Netns pbx{"nfqp"};
	Lab()
	{
		test::link_veth(client, "c0", {std::string(kClientV4) + "/24", std::string(kClientV6) + "/64"}, pbx, "p0",
		                {std::string(kPbxV4) + "/24", std::string(kPbxV6) + "/64"});
		client.must(std::string("ip addr add ") + kClient2V4 + "/24 dev c0");
		// IPv6 on a veth end is configured only once linkwatch reports the
		// carrier (up to a second after `link set up`); until then neighbour
		// solicitations go unanswered and the first IPv6 datagrams are lost.
		for (int i = 0; i < 50; ++i) {
			if (pbx.exec("ip -6 addr show dev p0 scope link | grep -q inet6") == 0 &&
			    client.exec("ip -6 addr show dev c0 scope link | grep -q inet6") == 0)
				break;
			std::this_thread::sleep_for(std::chrono::milliseconds(100));
		}
	}
};

// addr:port (v4 or v6 literal) as a socket address in `ss`; returns its length.
socklen_t make_sockaddr(const char* addr, uint16_t port, sockaddr_storage& ss)
{
	ss = {};
	if (std::strchr(addr, ':')) {
		auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		return sizeof *s6;
	}
	auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	inet_pton(AF_INET, addr, &s4->sin_addr);
	return sizeof *s4;
}

// A UDP socket created in `ns`, bound to addr:port, with a receive timeout.
int udp_socket(const Netns& ns, const char* addr, uint16_t port)
{
	EnterNetns in(ns);
	bool v6 = std::strchr(addr, ':') != nullptr;
	int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	timeval tv{0, 300 * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	// The tests send a burst before reading: room for all of it.
	int rcvbuf = 8 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
	sockaddr_storage ss{};
	socklen_t len = make_sockaddr(addr, port, ss);
	REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0);
	return fd;
}

void send_to(int fd, const char* addr, uint16_t port, const std::string& msg)
{
	sockaddr_storage ss{};
	socklen_t len = make_sockaddr(addr, port, ss);
	REQUIRE(sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) ==
	        static_cast<ssize_t>(msg.size()));
}

std::string sip_options(const char* from, int n)
{
	return "OPTIONS sip:pbx@example.test SIP/2.0\r\n"
	       "Via: SIP/2.0/UDP " + std::string(from) + ":5062;branch=z9hG4bK-" + std::to_string(n) + "\r\n"
	       "From: <sip:probe@example.test>;tag=" + std::to_string(n) + "\r\n"
	       "To: <sip:pbx@example.test>\r\n"
	       "Call-ID: nfq-test-" + std::to_string(n) + "\r\n"
	       "CSeq: 1 OPTIONS\r\n"
	       "Max-Forwards: 70\r\n"
	       "Content-Length: 0\r\n\r\n";
}

// Receives until `want` datagrams arrived or nothing came for 300 ms;
// returns the datagrams.
std::vector<std::string> receive_all(int fd, size_t want)
{
	std::vector<std::string> got;
	char buf[4096];
	while (got.size() < want) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0)
			break;
		got.emplace_back(buf, static_cast<size_t>(n));
	}
	return got;
}

struct Seen {
	std::string src;
	uint16_t sport;
	uint16_t dport;
	Direction dir;
	std::string payload;
	bool first_fragment;
};

// Records what it sees; drops everything from `drop_src` if set.
class RecordingHandler : public Handler {
public:
	explicit RecordingHandler(std::string drop_src = {}) : drop_src_(std::move(drop_src)) {}
	Verdict on_packet(const PacketView& p, Direction d) override
	{
		std::lock_guard lock(mu_);
		seen_.push_back({p.src.to_string(), p.sport, p.dport, d,
		                 std::string(reinterpret_cast<const char*>(p.payload.data()), p.payload.size()),
		                 p.first_fragment});
		return !drop_src_.empty() && p.src.to_string() == drop_src_ ? Verdict::Drop : Verdict::Accept;
	}
	void on_idle() override { idle_calls.fetch_add(1, std::memory_order_relaxed); }
	std::vector<Seen> seen()
	{
		std::lock_guard lock(mu_);
		return seen_;
	}
	size_t seen_from(const std::string& src)
	{
		std::lock_guard lock(mu_);
		return static_cast<size_t>(std::count_if(seen_.begin(), seen_.end(), [&](const Seen& x) { return x.src == src; }));
	}

	std::atomic<int> idle_calls{0};

private:
	std::string drop_src_;
	std::mutex mu_;
	std::vector<Seen> seen_;
};

// A queue loop running on its own thread inside the pbx namespace.
struct RunningQueue {
	Queue queue;
	std::atomic<bool> stop{false};
	std::thread thread;
	int result = -1;

	RunningQueue(const Netns& ns, Handler& handler, QueueConfig config = {})
	{
		{
			EnterNetns in(ns);
			util::Status st = queue.open(config);
			REQUIRE_MESSAGE(st.ok(), st.message);
		}
		thread = std::thread([this, &handler] { result = queue.run(handler, stop); });
	}
	// Returns how long run() took to return after the stop request.
	Clock::duration finish()
	{
		auto t0 = Clock::now();
		stop = true;
		if (thread.joinable())
			thread.join();
		return Clock::now() - t0;
	}
	~RunningQueue() { finish(); }
};

} // namespace

TEST_CASE("SIP datagrams pass through the queue loop both ways and arrive")
{
	test::require_root_or_skip();
	Lab lab;
	install_queue_rule(lab.pbx, kSipPort);
	RecordingHandler handler;
	RunningQueue rq(lab.pbx, handler);

	int pbx4 = udp_socket(lab.pbx, kPbxV4, kSipPort);
	int pbx6 = udp_socket(lab.pbx, kPbxV6, kSipPort);
	int cli4 = udp_socket(lab.client, kClientV4, 5062);
	int cli6 = udp_socket(lab.client, kClientV6, 5062);

	constexpr int n = 100;
	for (int i = 0; i < n; ++i) {
		send_to(cli4, kPbxV4, kSipPort, sip_options(kClientV4, i));
		send_to(cli6, kPbxV6, kSipPort, sip_options(kClientV6, i));
	}
	auto got4 = receive_all(pbx4, n);
	auto got6 = receive_all(pbx6, n);
	CHECK(got4.size() == n);
	CHECK(got6.size() == n);
	if (!got4.empty())
		CHECK(got4[0] == sip_options(kClientV4, 0));

	// A response from the PBX's SIP port is queued on output.
	send_to(pbx4, kClientV4, 5062, "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n");
	CHECK(receive_all(cli4, 1).size() == 1);

	rq.finish();
	CHECK(rq.result == 0);
	auto seen = handler.seen();
	size_t in4 = 0, in6 = 0, out = 0;
	for (const Seen& s : seen) {
		if (s.dir == Direction::In && s.src == kClientV4 && s.sport == 5062 && s.dport == kSipPort &&
		    s.payload.starts_with("OPTIONS sip:"))
			++in4;
		if (s.dir == Direction::In && s.src == kClientV6 && s.dport == kSipPort)
			++in6;
		if (s.dir == Direction::Out && s.src == kPbxV4 && s.sport == kSipPort && s.payload.starts_with("SIP/2.0 200"))
			++out;
	}
	CHECK(in4 == n);
	CHECK(in6 == n);
	CHECK(out == 1);
	QueueStats st = rq.queue.stats();
	CHECK(st.received == seen.size());
	CHECK(st.accepted == seen.size());
	CHECK(st.dropped == 0);
	CHECK(st.send_errors == 0);
	CHECK(st.netlink_errors == 0);
	CHECK(st.batches >= 1);

	// The kernel saw our queue with the config we asked for.
	{
		EnterNetns in(lab.pbx);
		auto ks = read_proc_queue_stats();
		REQUIRE_MESSAGE(ks.ok(), ks.error());
		// Unbound after finish(): our queue is gone from the table.
		for (const auto& k : *ks)
			CHECK(k.peer_portid != rq.queue.portid());
	}
	for (int fd : {pbx4, pbx6, cli4, cli6})
		close(fd);
}

TEST_CASE("queue config is visible in /proc while bound")
{
	test::require_root_or_skip();
	Lab lab;
	install_queue_rule(lab.pbx, kSipPort);
	RecordingHandler handler;
	QueueConfig cfg;
	cfg.queue_num = 0;
	cfg.copy_range = 2000;
	RunningQueue rq(lab.pbx, handler, cfg);
	EnterNetns in(lab.pbx);
	auto read = read_proc_queue_stats();
	REQUIRE_MESSAGE(read.ok(), read.error());
	const std::vector<KernelQueueStats>& ks = *read;
	REQUIRE(ks.size() == 1);
	CHECK(ks[0].queue_num == 0);
	CHECK(ks[0].peer_portid == rq.queue.portid());
	CHECK(ks[0].copy_mode == 2); // NFQNL_COPY_PACKET
	CHECK(ks[0].copy_range == 2000);
}

TEST_CASE("with no agent bound, SIP still arrives (queue bypass)")
{
	test::require_root_or_skip();
	Lab lab;
	install_queue_rule(lab.pbx, kSipPort);
	int pbx4 = udp_socket(lab.pbx, kPbxV4, kSipPort);
	int cli4 = udp_socket(lab.client, kClientV4, 5062);
	constexpr int n = 50;
	for (int i = 0; i < n; ++i)
		send_to(cli4, kPbxV4, kSipPort, sip_options(kClientV4, i));
	CHECK(receive_all(pbx4, n).size() == n);

	// And again after an agent came and went (unbind on exit).
	{
		RecordingHandler handler;
		RunningQueue rq(lab.pbx, handler);
		send_to(cli4, kPbxV4, kSipPort, sip_options(kClientV4, 1000));
		CHECK(receive_all(pbx4, 1).size() == 1);
		rq.finish();
		CHECK(handler.seen().size() == 1);
	}
	for (int i = 0; i < n; ++i)
		send_to(cli4, kPbxV4, kSipPort, sip_options(kClientV4, i));
	CHECK(receive_all(pbx4, n).size() == n);
	close(pbx4);
	close(cli4);
}

TEST_CASE("a handler that drops one source: its datagrams never arrive, others do")
{
	test::require_root_or_skip();
	Lab lab;
	install_queue_rule(lab.pbx, kSipPort);
	RecordingHandler handler(kClient2V4);
	RunningQueue rq(lab.pbx, handler);
	int pbx4 = udp_socket(lab.pbx, kPbxV4, kSipPort);
	int good = udp_socket(lab.client, kClientV4, 5062);
	int bad = udp_socket(lab.client, kClient2V4, 5062);
	constexpr int n = 200;
	for (int i = 0; i < n; ++i) {
		send_to(good, kPbxV4, kSipPort, sip_options(kClientV4, i));
		send_to(bad, kPbxV4, kSipPort, sip_options(kClient2V4, i));
	}
	auto got = receive_all(pbx4, 2 * n);
	size_t from_good = 0, from_bad = 0;
	for (const auto& g : got) {
		from_good += g.find(std::string("Via: SIP/2.0/UDP ") + kClientV4) != std::string::npos;
		from_bad += g.find(std::string("Via: SIP/2.0/UDP ") + kClient2V4) != std::string::npos;
	}
	CHECK(from_good == n);
	CHECK(from_bad == 0);
	rq.finish();
	QueueStats st = rq.queue.stats();
	CHECK(st.dropped == n);
	CHECK(st.accepted == n);
	close(pbx4);
	close(good);
	close(bad);
}

TEST_CASE("run() returns within a second of the stop request, idle or busy")
{
	test::require_root_or_skip();
	Lab lab;
	install_queue_rule(lab.pbx, kSipPort);
	{
		RecordingHandler handler;
		RunningQueue rq(lab.pbx, handler);
		std::this_thread::sleep_for(std::chrono::milliseconds(700)); // blocked in recvmmsg
		auto took = rq.finish();
		CHECK(rq.result == 0);
		CHECK(took < std::chrono::seconds(1));
		// An idle queue still gives the handler its time-driven work (the
		// receive timeout is at most 200 ms).
		CHECK(handler.idle_calls.load() >= 2);
	}
	{
		RecordingHandler handler;
		RunningQueue rq(lab.pbx, handler);
		int cli4 = udp_socket(lab.client, kClientV4, 5062);
		std::atomic<bool> sending{true};
		std::thread sender([&] {
			// Bounded: at most 20000 datagrams or until told to stop.
			for (int i = 0; i < 20000 && sending; ++i) {
				send_to(cli4, kPbxV4, kSipPort, sip_options(kClientV4, i));
				if (i % 100 == 0)
					std::this_thread::sleep_for(std::chrono::milliseconds(1));
			}
		});
		std::this_thread::sleep_for(std::chrono::milliseconds(200));
		auto took = rq.finish();
		sending = false;
		sender.join();
		CHECK(rq.result == 0);
		CHECK(took < std::chrono::seconds(1));
		CHECK(rq.queue.stats().received > 0);
		close(cli4);
	}
}

TEST_CASE("opening a queue number another socket holds fails")
{
	test::require_root_or_skip();
	Lab lab;
	EnterNetns in(lab.pbx);
	Queue a, b;
	REQUIRE(a.open(QueueConfig{}).ok());
	// The kernel checks the owner's port id before the bind command, so a
	// second binder sees EPERM (nfqnl_recv_config), not EBUSY.
	util::Status second = b.open(QueueConfig{});
	CHECK(second.error == EPERM);
	CHECK(second.message.find("queue 0") != std::string::npos);
}

TEST_CASE("QueueGroup: one thread per queue, traffic spread over two queues all arrives")
{
	test::require_root_or_skip();
	Lab lab;
	{
		test::EnterNetns in(lab.pbx);
		rules::Netlink nl;
		REQUIRE(nl.open().ok());
		rules::TableSpec spec;
		spec.sip_ports = {kSipPort};
		spec.queue_base = 0;
		spec.queue_count = 2;
		rules::QueueBackend backend;
		rules::Status st = rules::install_auto(nl, spec, backend);
		REQUIRE_MESSAGE(st.ok(), st.message);
	}
	RecordingHandler h0, h1;
	QueueConfig c0, c1;
	c0.queue_num = 0;
	c1.queue_num = 1;
	std::vector<QueueConfig> configs{c0, c1};
	std::vector<Handler*> handlers{&h0, &h1};
	QueueGroup group;
	std::atomic<bool> stop{false};
	{
		test::EnterNetns in(lab.pbx);
		util::Status st = group.open(configs);
		REQUIRE_MESSAGE(st.ok(), st.message);
	}
	REQUIRE(group.size() == 2);
	util::Status started = group.start(handlers, stop);
	REQUIRE_MESSAGE(started.ok(), started.message);

	int pbx4 = udp_socket(lab.pbx, kPbxV4, kSipPort);
	// Several remote addresses so the kernel's hash has something to spread.
	std::vector<std::string> sources;
	for (int i = 10; i < 26; ++i) {
		sources.push_back("10.200.1." + std::to_string(i));
		lab.client.must("ip addr add " + sources.back() + "/24 dev c0");
	}
	std::vector<int> fds;
	for (const auto& s : sources)
		fds.push_back(udp_socket(lab.client, s.c_str(), 5062));
	constexpr int per_source = 20;
	for (int i = 0; i < per_source; ++i)
		for (size_t k = 0; k < fds.size(); ++k)
			send_to(fds[k], kPbxV4, kSipPort, sip_options(sources[k].c_str(), i));
	size_t want = per_source * fds.size();
	CHECK(receive_all(pbx4, want).size() == want);
	auto t0 = Clock::now();
	stop = true;
	CHECK(group.join() == 0);
	CHECK(Clock::now() - t0 < std::chrono::seconds(1));
	QueueStats total = group.total();
	CHECK(total.received == want);
	CHECK(total.accepted == want);
	CHECK(h0.seen().size() + h1.seen().size() == want);
	// Each remote address stays on one queue (the engine shards by source).
	for (const auto& s : sources) {
		const size_t on0 = h0.seen_from(s), on1 = h1.seen_from(s);
		CHECK((on0 == 0 || on1 == 0));
	}
	MESSAGE("queue 0 saw ", h0.seen().size(), ", queue 1 saw ", h1.seen().size());
	close(pbx4);
	for (int fd : fds)
		close(fd);
}

TEST_CASE("SIP over TCP: segments are decoded as TCP and the message arrives")
{
	test::require_root_or_skip();
	Lab lab;
	install_queue_rule(lab.pbx, kSipPort);
	RecordingHandler handler;
	RunningQueue rq(lab.pbx, handler);
	int listener;
	{
		EnterNetns in(lab.pbx);
		listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int one = 1;
		setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_port = htons(kSipPort);
		inet_pton(AF_INET, kPbxV4, &a.sin_addr);
		REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
		REQUIRE(listen(listener, 4) == 0);
	}
	int client;
	{
		EnterNetns in(lab.client);
		client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		sockaddr_in a{};
		a.sin_family = AF_INET;
		a.sin_port = htons(kSipPort);
		inet_pton(AF_INET, kPbxV4, &a.sin_addr);
		REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
	}
	int conn = accept(listener, nullptr, nullptr);
	REQUIRE(conn >= 0);
	std::string msg = sip_options(kClientV4, 7);
	REQUIRE(send(client, msg.data(), msg.size(), 0) == static_cast<ssize_t>(msg.size()));
	timeval tv{2, 0};
	setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	std::string got;
	char buf[4096];
	while (got.size() < msg.size()) {
		ssize_t n = recv(conn, buf, sizeof buf, 0);
		if (n <= 0)
			break;
		got.append(buf, static_cast<size_t>(n));
	}
	CHECK(got == msg);
	rq.finish();
	bool saw_syn = false, saw_data = false;
	for (const Seen& s : handler.seen()) {
		// Only TCP on these ports is queued; the handshake has no payload.
		if (s.dir == Direction::In && s.dport == kSipPort && s.payload.empty())
			saw_syn = true;
		if (s.dir == Direction::In && s.payload == msg)
			saw_data = true;
	}
	CHECK(saw_syn);
	CHECK(saw_data);
	close(client);
	close(conn);
	close(listener);
}

TEST_CASE("a copy range too short for the datagram: the handler gets its start, flagged like a first fragment")
{
	test::require_root_or_skip();
	Lab lab;
	install_queue_rule(lab.pbx, kSipPort);
	RecordingHandler handler;
	QueueConfig cfg;
	cfg.copy_range = 64; // IP + UDP header + a few bytes: the IP total length promises more
	RunningQueue rq(lab.pbx, handler, cfg);
	int pbx4 = udp_socket(lab.pbx, kPbxV4, kSipPort);
	int cli4 = udp_socket(lab.client, kClientV4, 5062);
	constexpr int n = 30;
	for (int i = 0; i < n; ++i)
		send_to(cli4, kPbxV4, kSipPort, sip_options(kClientV4, i));
	CHECK(receive_all(pbx4, n).size() == n);
	rq.finish();
	QueueStats st = rq.queue.stats();
	CHECK(st.received == n);
	CHECK(st.decode_errors == 0);
	CHECK(st.accepted == n);
	// The kernel says it cut them (NFQA_CAP_LEN): the handler sees the first
	// 64 - 28 bytes of each as a partial datagram, never as a whole message.
	auto seen = handler.seen();
	REQUIRE(seen.size() == n);
	for (int i = 0; i < n; ++i) {
		CHECK(seen[i].first_fragment);
		CHECK(seen[i].payload == sip_options(kClientV4, i).substr(0, 64 - 28));
	}
	close(pbx4);
	close(cli4);
}

TEST_CASE("a SIP datagram larger than the MTU arrives reassembled, IPv4 and IPv6 (the table's defrag rule)")
{
	test::require_root_or_skip();
	Lab lab;
	install_queue_rule(lab.pbx, kSipPort);
	RecordingHandler handler;
	RunningQueue rq(lab.pbx, handler);
	int pbx4 = udp_socket(lab.pbx, kPbxV4, kSipPort);
	int cli4 = udp_socket(lab.client, kClientV4, 5062);
	int pbx6 = udp_socket(lab.pbx, kPbxV6, kSipPort);
	int cli6 = udp_socket(lab.client, kClientV6, 5062);
	std::string big = sip_options(kClientV4, 1);
	big.insert(big.size() - 2, "X-Filler: " + std::string(3000, 'f') + "\r\n");
	send_to(cli4, kPbxV4, kSipPort, big);
	auto got = receive_all(pbx4, 1);
	REQUIRE(got.size() == 1);
	CHECK(got[0] == big);
	send_to(cli6, kPbxV6, kSipPort, big);
	got = receive_all(pbx6, 1);
	REQUIRE(got.size() == 1);
	CHECK(got[0] == big);
	rq.finish();
	auto seen = handler.seen();
	size_t v4_whole = 0, v6_whole = 0, partial = 0;
	for (const Seen& x : seen) {
		// The defrag rule (rules/table.h, DefragBackend) runs nf_defrag_ipv4
		// and nf_defrag_ipv6 at prerouting -400. Without it IPv6 would be
		// reassembled only after LOCAL_IN, and the queue would get the first
		// fragment alone. nf_ct_frag6_reasm removes the fragment header, so
		// the datagram decodes as a plain one.
		if (x.src == kClientV4 && x.payload == big && !x.first_fragment)
			++v4_whole;
		if (x.src == kClientV6 && x.payload == big && !x.first_fragment)
			++v6_whole;
		if (x.first_fragment)
			++partial;
	}
	CHECK(v4_whole == 1);
	CHECK(v6_whole == 1);
	CHECK(partial == 0);
	for (int fd : {pbx4, cli4, pbx6, cli6})
		close(fd);
}

TEST_CASE("QueueGroup paired: two threads read queues 0+2 and 1+3 (pre-filter ranges); an address that turns known "
          "stays on its handler")
{
	test::require_root_or_skip();
	Lab lab;
	std::vector<std::string> sources;
	for (int i = 30; i < 46; ++i) {
		sources.push_back("10.200.1." + std::to_string(i));
		lab.client.must("ip addr add " + sources.back() + "/24 dev c0");
	}
	{
		test::EnterNetns in(lab.pbx);
		rules::Netlink nl;
		REQUIRE(nl.open().ok());
		rules::TableSpec spec;
		spec.sip_ports = {kSipPort};
		spec.queue_count = 2;
		spec.prefilter.enabled = true;
		rules::QueueBackend backend;
		rules::Status st = rules::install_auto(nl, spec, backend);
		REQUIRE_MESSAGE(st.ok(), st.message);
	}
	std::vector<QueueConfig> configs(4);
	for (uint16_t n = 0; n < 4; ++n) {
		configs[n].queue_num = n;
		configs[n].fail_open = n >= 2;
	}
	QueueGroup group;
	{
		test::EnterNetns in(lab.pbx);
		util::Status bad = group.open({configs.data(), 3}, 2);
		CHECK(bad.message == "3 queues for 2 threads");
		util::Status st = group.open(configs, 2);
		REQUIRE_MESSAGE(st.ok(), st.message);
	}
	REQUIRE(group.size() == 4);
	REQUIRE(group.threads() == 2);
	RecordingHandler h0, h1;
	std::vector<Handler*> handlers{&h0, &h1};
	std::atomic<bool> stop{false};
	util::Status started = group.start(handlers, stop);
	REQUIRE_MESSAGE(started.ok(), started.message);

	int pbx4 = udp_socket(lab.pbx, kPbxV4, kSipPort);
	std::vector<int> fds;
	for (const auto& s : sources)
		fds.push_back(udp_socket(lab.client, s.c_str(), 5062));
	// Every source first unknown (queues 0-1), then known (queues 2-3).
	constexpr int per_source = 10;
	const size_t want = per_source * fds.size();
	for (bool known : {false, true}) {
		if (known)
			for (const auto& s : sources)
				lab.pbx.must("nft add element inet sipguard known4 '{ " + s + " timeout 10m }'");
		for (int i = 0; i < per_source / 2; ++i)
			for (size_t k = 0; k < fds.size(); ++k)
				send_to(fds[k], kPbxV4, kSipPort, sip_options(sources[k].c_str(), i));
		CHECK(receive_all(pbx4, want / 2).size() == want / 2);
	}
	auto t0 = Clock::now();
	stop = true;
	CHECK(group.join() == 0);
	CHECK(Clock::now() - t0 < std::chrono::seconds(1));
	// Both ranges were used, and every packet went through a handler.
	for (uint16_t n = 0; n < 4; ++n)
		CHECK(group.queue(n).stats().received > 0);
	CHECK(group.total().received == want);
	CHECK(h0.seen().size() + h1.seen().size() == want);
	// Queue i and 2+i share thread i, and the hash gives an address the same
	// offset in both ranges: each address is on one handler only.
	for (const auto& s : sources) {
		const size_t on0 = h0.seen_from(s), on1 = h1.seen_from(s);
		CHECK(on0 + on1 == per_source);
		CHECK((on0 == 0 || on1 == 0));
	}
	close(pbx4);
	for (int fd : fds)
		close(fd);
}
