// SPDX-License-Identifier: GPL-2.0-or-later
// The engine's TCP streams against a model of the PBX's receiver: in
// whatever order, duplication or overlap segments arrive, no byte reaches
// the PBX before the message it belongs to was judged, and the PBX's
// application gets what an in-order UDP sender would have got through,
// byte for byte, each message judged once.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <optional>

#include "agent/engine/tcp_stream.h"
#include "tests/engine/harness.h"
#include "tests/engine/pbx_receiver.h"

using namespace sipguard;
using namespace sipguard::test;
using detect::Detector;
using engine::Verdict;

namespace {

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10, kUrg = 0x20;
// Every stream crosses the wrap of the sequence space.
constexpr uint32_t kIsn = 0xfffffe00u;
constexpr uint32_t kPbxIsn = 0x7ffffff0u;
constexpr uint16_t kPort = 40100;

net::IpAddress phone() { return ip("203.0.113.40"); }

Req tcp_req(std::string method, int n)
{
	Req r;
	r.method = std::move(method);
	r.transport = "TCP";
	r.via_host = "203.0.113.40";
	r.via_port = kPort;
	r.call_id = fmt::format("tcp-{}@203.0.113.40", n);
	r.branch = fmt::format("z9hG4bK-tcp-{}", n);
	r.cseq = static_cast<uint32_t>(n + 1);
	return r;
}

Req register_req(int n)
{
	Req r = tcp_req("REGISTER", n);
	r.credentials = true;
	return r;
}

std::string register_msg(int n) { return request(register_req(n)); }

std::string notify_check_sync(int n)
{
	Req r = tcp_req("NOTIFY", n);
	r.ruri_user = r.to_user = "201";
	r.extra_headers = "Event: check-sync;reboot=true\r\n";
	return request(r);
}

std::string options_msg(int n) { return request(tcp_req("OPTIONS", n)); }

std::string invite_msg(int n)
{
	Req r = tcp_req("INVITE", n);
	r.ruri_user = r.to_user = "201";
	r.credentials = true;
	r.body = "v=0\r\no=- 1 1 IN IP4 203.0.113.40\r\ns=-\r\nc=IN IP4 203.0.113.40\r\nt=0 0\r\n"
	         "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
	return request(r);
}

struct Segment {
	uint32_t seq = 0;
	std::string data;
	uint8_t flags = kAck | kPsh;
};

// Requests judged (the tests' streams carry requests only; the PBX's
// responses travel the other way).
size_t judged(const engine::EngineCounters& c) { return c.requests + c.malformed; }

// One TCP connection from phone():kPort to the PBX through a harness's
// engine, and the PBX's receiver behind it.
class Connection {
public:
	Connection(Harness& h, std::vector<std::string> messages, bool syn = true)
		: h_(h), msgs_(std::move(messages)), pbx_(kIsn + 1, total(msgs_))
	{
		for (const auto& m : msgs_) {
			stream_ += m;
			ends_.push_back(stream_.size());
		}
		if (syn) {
			CHECK(h_.send(phone(), kPort, nfq::Direction::In, "", nfq::L4::Tcp, kIsn, kSyn) == Verdict::Accept);
			CHECK(h_.send(phone(), kPort, nfq::Direction::Out, "", nfq::L4::Tcp, kPbxIsn, kSyn | kAck) ==
			      Verdict::Accept);
		}
	}

	const std::string& stream() const { return stream_; }
	uint32_t seq_at(size_t off) const { return kIsn + 1 + static_cast<uint32_t>(off); }

	// The stream bytes [from, to) as one segment.
	Segment segment(size_t from, size_t to) const { return {seq_at(from), stream_.substr(from, to - from)}; }
	// The stream [from, to) cut at `cuts` (offsets inside it, ascending).
	std::vector<Segment> split(size_t from, size_t to, const std::vector<size_t>& cuts) const
	{
		std::vector<Segment> out;
		size_t at = from;
		for (size_t c : cuts) {
			out.push_back(segment(at, c));
			at = c;
		}
		out.push_back(segment(at, to));
		return out;
	}
	// One segment per message.
	std::vector<Segment> per_message() const
	{
		std::vector<size_t> cuts(ends_.begin(), ends_.end() - 1);
		return split(0, stream_.size(), cuts);
	}

	// Through the engine; an accepted segment reaches the PBX, and every
	// message it has a byte of must have been judged by then.
	Verdict send(const Segment& s)
	{
		const Verdict v = h_.send(phone(), kPort, nfq::Direction::In, s.data, nfq::L4::Tcp, s.seq, s.flags);
		if (v == Verdict::Accept && !s.data.empty()) {
			const auto lo = static_cast<int32_t>(s.seq - seq_at(0));
			const int64_t hi = static_cast<int64_t>(lo) + static_cast<int64_t>(s.data.size());
			if (lo >= 0 && hi > lo && static_cast<size_t>(lo) < stream_.size()) {
				const size_t last = std::min<size_t>(static_cast<size_t>(hi), stream_.size()) - 1;
				const size_t msg = static_cast<size_t>(std::upper_bound(ends_.begin(), ends_.end(), last) - ends_.begin());
				if (check_judged)
					CHECK_MESSAGE(msg < picked_up_at + judged(h_.engine.counters()), "a byte of message ", msg,
					              " passed before it was judged");
			}
			pbx_.accept(s.seq, s.data);
			respond();
		}
		return v;
	}
	void send_all(const std::vector<Segment>& segs)
	{
		for (const auto& s : segs)
			(void)send(s);
	}

	// The sender's TCP: resends, in order, every segment the PBX has not
	// acknowledged, without the bytes it has (Linux trims a retransmission
	// at SND.UNA), until everything is delivered or a round moves nothing.
	void retransmit(const std::vector<Segment>& sent, int max_rounds = 8)
	{
		std::vector<Segment> order = sent;
		std::stable_sort(order.begin(), order.end(),
		                 [&](const Segment& a, const Segment& b) { return engine::seq_lt(a.seq, b.seq); });
		for (int round = 0; round < max_rounds && pbx_.delivered().size() < stream_.size(); ++round) {
			const size_t before = pbx_.delivered().size();
			for (const auto& s : order) {
				const uint32_t una = pbx_.rcv_nxt();
				const uint32_t end = s.seq + static_cast<uint32_t>(s.data.size());
				if (engine::seq_le(end, una))
					continue;
				const uint32_t from = engine::seq_max(s.seq, una);
				(void)send({from, s.data.substr(from - s.seq), s.flags});
			}
			if (pbx_.delivered().size() == before && round > 0)
				break;
		}
	}

	std::string_view delivered() const { return pbx_.delivered(); }
	const PbxReceiver& pbx() const { return pbx_; }
	// The PBX's answer to each message its application reads, sent back
	// over the connection (Out) in one segment each.
	std::function<std::string(size_t)> responder;
	// Messages before this one are never judged (the stream was picked up
	// after them); false: no check (a dry run passes bytes unjudged).
	size_t picked_up_at = 0;
	bool check_judged = true;

private:
	static size_t total(const std::vector<std::string>& m)
	{
		return std::accumulate(m.begin(), m.end(), size_t{0}, [](size_t n, const std::string& s) { return n + s.size(); });
	}
	void respond()
	{
		while (answered_ < ends_.size() && ends_[answered_] <= pbx_.delivered().size()) {
			const size_t i = answered_++;
			if (!responder)
				continue;
			const std::string r = responder(i);
			if (r.empty())
				continue;
			const Verdict v = h_.send(phone(), kPort, nfq::Direction::Out, r, nfq::L4::Tcp, kPbxIsn + 1 + out_, kAck | kPsh);
			if (v == Verdict::Accept)
				out_ += static_cast<uint32_t>(r.size());
		}
	}

	Harness& h_;
	std::vector<std::string> msgs_;
	std::string stream_;
	std::vector<size_t> ends_;
	PbxReceiver pbx_;
	size_t answered_ = 0;
	uint32_t out_ = 0;
};

// What an in-order UDP sender of the same messages gets through, up to and
// including the first message dropped (the counters then are comparable
// with a TCP stream's, which ends at that message).
struct UdpReference {
	std::string passed;
	size_t dropped_at = SIZE_MAX;
	engine::EngineCounters counters;
	std::vector<size_t> findings; // per detector
};

UdpReference udp_reference(const std::vector<std::string>& msgs,
                           const std::function<std::string(size_t)>& responder = {},
                           std::shared_ptr<engine::Config> cfg = std::make_shared<engine::Config>())
{
	Harness u(std::move(cfg));
	UdpReference ref;
	std::optional<engine::EngineCounters> unjudged;
	for (size_t i = 0; i < msgs.size(); ++i) {
		const engine::EngineCounters before = u.engine.counters();
		if (u.send(phone(), kPort, nfq::Direction::In, msgs[i]) == Verdict::Drop) {
			ref.dropped_at = i;
			// A banned source's datagram is counted by its first line, a
			// TCP segment is not: compare what was judged.
			if (u.engine.counters().dropped_banned != before.dropped_banned)
				unjudged = before;
			break;
		}
		ref.passed += msgs[i];
		if (responder && !responder(i).empty())
			u.send(phone(), kPort, nfq::Direction::Out, responder(i));
	}
	ref.counters = unjudged ? *unjudged : u.engine.counters();
	for (size_t d = 0; d < detect::kDetectorCount; ++d)
		ref.findings.push_back(u.sink.count(static_cast<Detector>(d)));
	return ref;
}

// The PBX got exactly what the UDP sender got through, and the engine
// judged the same messages the same way.
void check_same_as_udp(const Harness& h, const Connection& c, const UdpReference& ref)
{
	CHECK(c.delivered() == ref.passed);
	CHECK_FALSE(c.pbx().disagreed());
	const auto& t = h.engine.counters();
	CHECK(t.sip_messages == ref.counters.sip_messages);
	CHECK(t.requests_by_method == ref.counters.requests_by_method);
	CHECK(t.forged_dropped == ref.counters.forged_dropped);
	CHECK(t.malformed == ref.counters.malformed);
	for (size_t d = 0; d < detect::kDetectorCount; ++d)
		CHECK_MESSAGE(h.sink.count(static_cast<Detector>(d)) == ref.findings[d], "detector ", d);
}

// Cuts of a message: inside the start line, inside the headers, inside the
// final CRLFCRLF.
std::vector<size_t> cuts_of(const std::string& m, size_t pieces)
{
	const size_t head_end = m.find("\r\n\r\n");
	std::vector<size_t> c{10, m.size() / 2, head_end + 2};
	c.resize(pieces - 1);
	std::sort(c.begin(), c.end());
	return c;
}

// Sends one message split at `cuts` in the order `order`, lets the sender
// retransmit, and checks the PBX got it whole, judged once.
void permutation_case(const std::string& msg, const std::vector<size_t>& cuts, const std::vector<size_t>& order)
{
	Harness h;
	Connection c(h, {msg});
	const auto segs = c.split(0, msg.size(), cuts);
	for (size_t i : order)
		(void)c.send(segs[i]);
	c.retransmit(segs);
	check_same_as_udp(h, c, udp_reference({msg}));
	CHECK(h.engine.counters().sip_messages == 1);
}

} // namespace

TEST_CASE("tcp: messages in order, one segment each, pass at once and are judged once")
{
	Harness h;
	std::vector<std::string> msgs{register_msg(0), options_msg(1), invite_msg(2)};
	Connection c(h, msgs);
	for (const auto& s : c.per_message())
		CHECK(c.send(s) == Verdict::Accept);
	check_same_as_udp(h, c, udp_reference(msgs));
	CHECK(h.engine.counters().tcp_held == 0);
}

TEST_CASE("tcp: a message's tail sent first is judged before any of it reaches the PBX")
{
	Harness h;
	const std::string msg = register_msg(0);
	Connection c(h, {msg});
	const auto segs = c.split(0, msg.size(), {msg.size() - 2});
	CHECK(c.send(segs[1]) == Verdict::Drop); // ahead of the gap: not buffered
	CHECK(h.engine.counters().tcp_out_of_order == 1);
	CHECK(c.send(segs[0]) == Verdict::Drop); // held: the message is not whole
	CHECK(h.engine.counters().tcp_held == 1);
	CHECK(h.engine.counters().sip_messages == 0);
	c.retransmit(segs);
	check_same_as_udp(h, c, udp_reference({msg}));
}

TEST_CASE("tcp: the middle segment first")
{
	const std::string msg = register_msg(0);
	permutation_case(msg, cuts_of(msg, 3), {1, 0, 2});
}

TEST_CASE("tcp: every order of 3 and of 4 segments of one message")
{
	for (const std::string& msg : {register_msg(0), invite_msg(1)}) {
		for (size_t pieces : {3u, 4u}) {
			std::vector<size_t> order(pieces);
			std::iota(order.begin(), order.end(), size_t{0});
			const auto cuts = cuts_of(msg, pieces);
			do {
				CAPTURE(pieces);
				CAPTURE(order);
				permutation_case(msg, cuts, order);
			} while (std::next_permutation(order.begin(), order.end()));
		}
	}
}

TEST_CASE("tcp: every order of 3 segments across two messages, cut inside both")
{
	const std::vector<std::string> msgs{register_msg(0), options_msg(1)};
	const std::string both = msgs[0] + msgs[1];
	std::vector<size_t> order{0, 1, 2};
	do {
		Harness h;
		Connection c(h, msgs);
		const auto segs = c.split(0, both.size(), {msgs[0].size() / 2, msgs[0].size() + 20});
		for (size_t i : order)
			(void)c.send(segs[i]);
		c.retransmit(segs);
		check_same_as_udp(h, c, udp_reference(msgs));
	} while (std::next_permutation(order.begin(), order.end()));
}

TEST_CASE("tcp: duplicates are accepted once judged, never judged twice")
{
	Harness h;
	const std::vector<std::string> msgs{register_msg(0), options_msg(1)};
	Connection c(h, msgs);
	const auto segs = c.split(0, c.stream().size(), {100, msgs[0].size(), msgs[0].size() + 50});
	for (const auto& s : segs) {
		(void)c.send(s);
		(void)c.send(s);
	}
	c.retransmit(segs);
	// Everything again, after delivery: identical bytes, accepted.
	for (const auto& s : c.per_message())
		CHECK(c.send(s) == Verdict::Accept);
	check_same_as_udp(h, c, udp_reference(msgs));
	CHECK(h.engine.counters().tcp_duplicates >= 2);
	CHECK(h.engine.counters().tcp_conflicts == 0);
}

TEST_CASE("tcp: an overlap with different bytes drops it and the rest of the flow, reported as malformed")
{
	SUBCASE("over bytes held for judging")
	{
		auto cfg = std::make_shared<engine::Config>();
		cfg->malformed.max_messages = 1; // a finding at the first malformed message
		Harness h(cfg);
		const std::string msg = register_msg(0);
		Connection c(h, {msg});
		const size_t ua = msg.find("Yealink");
		REQUIRE(ua != std::string::npos);
		CHECK(c.send(c.segment(0, ua + 20)) == Verdict::Drop); // held
		// The same bytes again and the rest, with a scanner's User-Agent.
		Segment evil = c.segment(ua - 10, msg.size());
		evil.data.replace(10, 7, "sipvics");
		CHECK(c.send(evil) == Verdict::Drop);
		CHECK(h.engine.counters().tcp_conflicts == 1);
		CHECK(h.engine.counters().malformed == 1);
		CHECK(h.first_finding(Detector::Malformed));
		c.retransmit({c.segment(0, msg.size())});
		CHECK(c.delivered().empty());
		CHECK(h.engine.counters().sip_messages == 0);
	}
	SUBCASE("over bytes already delivered: the messages after it never pass")
	{
		Harness h;
		const std::vector<std::string> msgs{register_msg(0), options_msg(1), register_msg(2)};
		Connection c(h, msgs);
		const auto segs = c.per_message();
		CHECK(c.send(segs[0]) == Verdict::Accept);
		CHECK(c.send(segs[1]) == Verdict::Accept);
		Segment evil = segs[0];
		evil.data[evil.data.size() / 2] ^= 0x20;
		CHECK(c.send(evil) == Verdict::Drop);
		CHECK(c.send(segs[2]) == Verdict::Drop);
		CHECK(h.engine.counters().tcp_conflicts == 1);
		CHECK(h.engine.counters().tcp_after_drop == 1);
		CHECK(c.delivered() == msgs[0] + msgs[1]);
	}
	SUBCASE("identical bytes cut differently are no conflict")
	{
		Harness h;
		const std::vector<std::string> msgs{register_msg(0), options_msg(1)};
		Connection c(h, msgs);
		const size_t n = c.stream().size();
		c.send_all(c.split(0, n, {300, 700}));
		c.send_all(c.split(0, n, {150, 500, 800}));
		c.retransmit(c.split(0, n, {300, 700}));
		check_same_as_udp(h, c, udp_reference(msgs));
		CHECK(h.engine.counters().tcp_conflicts == 0);
	}
}

TEST_CASE("tcp: a dropped message's retransmission is dropped again, and nothing after it passes")
{
	Harness h;
	const std::vector<std::string> msgs{options_msg(0), notify_check_sync(1), register_msg(2)};
	Connection c(h, msgs);
	const auto segs = c.per_message();
	CHECK(c.send(segs[0]) == Verdict::Accept);
	CHECK(c.send(segs[1]) == Verdict::Drop);
	CHECK(c.send(segs[2]) == Verdict::Drop);
	for (int i = 0; i < 3; ++i)
		CHECK(c.send(segs[1]) == Verdict::Drop);
	c.retransmit(segs);
	CHECK(h.engine.counters().forged_dropped == 1);
	CHECK(h.engine.counters().tcp_after_drop >= 4);
	CHECK_FALSE(h.banned(phone())); // one offence, as over UDP
	check_same_as_udp(h, c, udp_reference(msgs));
}

TEST_CASE("tcp: a segment holding a dropped message is dropped whole")
{
	// Messages before the dropped one in the same segment cannot pass
	// without it: TCP delivers in order and the PBX never gets the NOTIFY.
	Harness h;
	std::vector<std::string> msgs;
	for (int i = 0; i < 4; ++i)
		msgs.push_back(options_msg(i));
	msgs.push_back(notify_check_sync(4));
	Connection c(h, msgs);
	CHECK(c.send(c.segment(0, c.stream().size())) == Verdict::Drop);
	c.retransmit({c.segment(0, c.stream().size())});
	CHECK(c.delivered().empty());
	CHECK(h.engine.counters().sip_messages == 5);
	CHECK(h.engine.counters().forged_dropped == 1);
}

TEST_CASE("udp: a dropped request's retransmission is dropped again, only from its sender")
{
	auto cfg = std::make_shared<engine::Config>();
	Harness h(cfg);
	const std::string notify = notify_check_sync(1);
	CHECK(h.send(phone(), kPort, nfq::Direction::In, notify) == Verdict::Drop);
	CHECK(h.engine.counters().forged_dropped == 1);
	// The state that decided it changes (the sender becomes trusted): the
	// retransmission still gets the verdict the request got.
	auto trusting = std::make_shared<engine::Config>(*cfg);
	trusting->trusted.push_back(*net::Cidr::parse("203.0.113.40"));
	h.engine.set_config(trusting);
	CHECK(h.send(phone(), kPort, nfq::Direction::In, notify) == Verdict::Drop);
	CHECK(h.engine.counters().udp_redropped == 1);
	CHECK(h.engine.counters().forged_dropped == 1); // not judged again: no second offence
	CHECK_FALSE(h.banned(phone()));
	h.engine.set_config(cfg);
	// The same bytes from another port or address are judged on their own.
	const auto other = ip("198.51.100.41");
	CHECK(h.send(phone(), kPort + 1, nfq::Direction::In, notify) == Verdict::Drop);
	CHECK(h.send(other, kPort, nfq::Direction::In, notify) == Verdict::Drop);
	CHECK(h.engine.counters().udp_redropped == 1);
	CHECK(h.engine.counters().forged_dropped == 3);
	// After a transaction timeout (Timer B) it is judged afresh.
	const auto third = ip("198.51.100.42");
	CHECK(h.send(third, kPort, nfq::Direction::In, notify) == Verdict::Drop);
	h.advance(h.cfg->tables.transaction_timeout + 1s);
	CHECK(h.send(third, kPort, nfq::Direction::In, notify) == Verdict::Drop);
	CHECK(h.engine.counters().udp_redropped == 1);
	CHECK(h.engine.counters().forged_dropped == 5);
}

TEST_CASE("udp: a spoofed copy of a phone's request cannot get the phone's own request dropped")
{
	auto cfg = std::make_shared<engine::Config>();
	cfg->trusted.push_back(*net::Cidr::parse("198.51.100.200"));
	Harness h(cfg);
	// The attacker sends the exact bytes the provisioning server will send.
	const std::string notify = notify_check_sync(3);
	CHECK(h.send(ip("203.0.113.99"), kPort, nfq::Direction::In, notify) == Verdict::Drop);
	CHECK(h.send(ip("198.51.100.200"), kPort, nfq::Direction::In, notify) == Verdict::Accept);
	CHECK(h.engine.counters().udp_redropped == 0);
}

TEST_CASE("tcp: RST at the stream's edge ends the flow; elsewhere it changes nothing")
{
	SUBCASE("at the delivered point")
	{
		Harness h;
		const std::vector<std::string> msgs{options_msg(0), register_msg(1)};
		Connection c(h, msgs);
		CHECK(c.send(c.segment(0, msgs[0].size())) == Verdict::Accept);
		CHECK(h.send(phone(), kPort, nfq::Direction::In, "", nfq::L4::Tcp, c.seq_at(msgs[0].size()), kRst) ==
		      Verdict::Accept);
		// The flow is gone: a segment that does not open a message is
		// placed nowhere; one that does is picked up.
		const size_t half = msgs[0].size() + msgs[1].size() / 2;
		CHECK(c.send(c.segment(half, c.stream().size())) == Verdict::Drop);
		CHECK(h.engine.counters().tcp_midstream_dropped == 1);
		CHECK(c.send(c.segment(msgs[0].size(), c.stream().size())) == Verdict::Accept);
		CHECK(h.engine.counters().tcp_midstream == 1);
		CHECK(h.engine.counters().sip_messages == 2);
	}
	SUBCASE("out of window: a dropped message stays dropped")
	{
		Harness h;
		const std::vector<std::string> msgs{options_msg(0), notify_check_sync(1)};
		Connection c(h, msgs);
		const auto segs = c.per_message();
		CHECK(c.send(segs[0]) == Verdict::Accept);
		CHECK(c.send(segs[1]) == Verdict::Drop);
		for (uint32_t off : {1u, 100u, 0x40000000u})
			CHECK(h.send(phone(), kPort, nfq::Direction::In, "", nfq::L4::Tcp, c.seq_at(msgs[0].size()) + off, kRst) ==
			      Verdict::Accept);
		// Nor does a spoofed SYN reset the view.
		CHECK(h.send(phone(), kPort, nfq::Direction::In, "", nfq::L4::Tcp, c.seq_at(msgs[0].size()) - 1, kSyn) ==
		      Verdict::Accept);
		CHECK(h.engine.counters().tcp_ignored_controls == 4);
		CHECK(c.send(segs[1]) == Verdict::Drop);
		CHECK(h.engine.counters().tcp_after_drop == 1);
		CHECK(h.engine.counters().forged_dropped == 1);
		CHECK(c.delivered() == msgs[0]);
	}
	SUBCASE("a FIN in order closes the direction: nothing after it passes")
	{
		Harness h;
		const std::vector<std::string> msgs{options_msg(0), register_msg(1)};
		Connection c(h, msgs);
		Segment last = c.segment(0, msgs[0].size());
		last.flags |= kFin;
		CHECK(c.send(last) == Verdict::Accept);
		CHECK(c.send(last) == Verdict::Accept); // its resend
		CHECK(c.send(c.segment(msgs[0].size(), c.stream().size())) == Verdict::Drop);
		CHECK(h.engine.counters().tcp_after_drop == 1);
		CHECK(h.engine.counters().sip_messages == 1);
	}
	SUBCASE("at the right edge of what the PBX holds out of order (Linux: highest SACK block)")
	{
		Harness h;
		const std::string msg = register_msg(0);
		Connection c(h, {msg});
		const auto segs = c.split(0, msg.size(), {200});
		CHECK(c.send(segs[0]) == Verdict::Drop);   // held
		CHECK(c.send(segs[1]) == Verdict::Accept); // completes it: judged, held by the PBX out of order
		CHECK(h.send(phone(), kPort, nfq::Direction::In, "", nfq::L4::Tcp, c.seq_at(msg.size()), kRst) ==
		      Verdict::Accept);
		CHECK(h.engine.counters().tcp_ignored_controls == 0);
		// The flow is gone: the head's retransmission opens a new stream
		// (it starts a request) and is held again.
		CHECK(c.send(segs[0]) == Verdict::Drop);
		CHECK(h.engine.counters().tcp_midstream == 1);
	}
}

TEST_CASE("tcp: a remote's segment with URG never passes, with data or without")
{
	// The lab's evasion (tools/lab/lab evasion tcp-notify-urgent): the PBX's
	// socket drops the urgent byte, so "check-sXync" with the X urgent is
	// read as check-sync there.
	std::string notify = notify_check_sync(1);
	notify.replace(notify.find("check-sync"), 10, "check-sXync");
	for (bool allowlisted : {false, true}) {
		CAPTURE(allowlisted);
		auto cfg = std::make_shared<engine::Config>();
		if (allowlisted)
			cfg->allowlist.push_back(*net::Cidr::parse("203.0.113.40"));
		Harness h(cfg);
		const std::vector<std::string> msgs{options_msg(0), notify};
		Connection c(h, msgs);
		const auto segs = c.per_message();
		CHECK(c.send(segs[0]) == Verdict::Accept);
		Segment urgent = segs[1];
		urgent.flags |= kUrg;
		Segment pure_ack{c.seq_at(msgs[0].size()), "", kAck | kUrg};
		const Verdict expected = allowlisted ? Verdict::Accept : Verdict::Drop;
		CHECK(c.send(pure_ack) == expected);
		CHECK(c.send(urgent) == expected);
		CHECK(h.engine.counters().tcp_urgent == (allowlisted ? 0 : 2));
		if (!allowlisted) {
			// Not judged: the sender's TCP resends the bytes without URG,
			// and the PBX reads what is judged.
			CHECK(h.engine.counters().sip_messages == 1);
			CHECK(c.send(segs[1]) == Verdict::Accept);
			CHECK(h.engine.counters().forged_dropped == 0);
		}
		CHECK(h.engine.counters().sip_messages == 2);
	}
}

TEST_CASE("tcp: a new connection on the same ports starts afresh once the PBX answers its SYN")
{
	Harness h;
	const std::vector<std::string> msgs{options_msg(0), notify_check_sync(1)};
	Connection c(h, msgs);
	const auto segs = c.per_message();
	CHECK(c.send(segs[0]) == Verdict::Accept);
	CHECK(c.send(segs[1]) == Verdict::Drop);
	// The PBX resending its SYN-ACK of this connection changes nothing.
	CHECK(h.send(phone(), kPort, nfq::Direction::Out, "", nfq::L4::Tcp, kPbxIsn, kSyn | kAck) == Verdict::Accept);
	CHECK(c.send(segs[1]) == Verdict::Drop);
	CHECK(h.engine.counters().tcp_after_drop == 1);
	const uint32_t isn2 = 0x12345678;
	CHECK(h.send(phone(), kPort, nfq::Direction::In, "", nfq::L4::Tcp, isn2, kSyn) == Verdict::Accept);
	CHECK(h.engine.counters().tcp_ignored_controls == 1);
	CHECK(h.send(phone(), kPort, nfq::Direction::Out, "", nfq::L4::Tcp, 777, kSyn | kAck) == Verdict::Accept);
	const std::string reg = register_msg(5);
	CHECK(h.send(phone(), kPort, nfq::Direction::In, reg, nfq::L4::Tcp, isn2 + 1, kAck | kPsh) == Verdict::Accept);
	CHECK(h.engine.counters().tcp_midstream == 0);
}

TEST_CASE("tcp: a message split byte by byte, in order and in reverse")
{
	for (bool reverse : {false, true}) {
		CAPTURE(reverse);
		Harness h;
		const std::string msg = register_msg(0);
		Connection c(h, {msg});
		std::vector<size_t> cuts(msg.size() - 1);
		std::iota(cuts.begin(), cuts.end(), size_t{1});
		auto segs = c.split(0, msg.size(), cuts);
		if (reverse)
			std::reverse(segs.begin(), segs.end());
		c.send_all(segs);
		c.retransmit(segs);
		check_same_as_udp(h, c, udp_reference({msg}));
	}
}

TEST_CASE("tcp: ten messages in one segment")
{
	Harness h;
	std::vector<std::string> msgs;
	for (int i = 0; i < 10; ++i)
		msgs.push_back(i % 2 ? options_msg(i) : register_msg(i));
	Connection c(h, msgs);
	CHECK(c.send(c.segment(0, c.stream().size())) == Verdict::Accept);
	check_same_as_udp(h, c, udp_reference(msgs));
}

TEST_CASE("tcp: password guesses with each message's tail first are banned at the same count as over UDP")
{
	// The attack: a REGISTER's final CRLF first, then the rest.
	auto responder = [](size_t i) { return response(register_req(static_cast<int>(i)), 401); };
	std::vector<std::string> msgs;
	for (int i = 0; i < 20; ++i)
		msgs.push_back(register_msg(i));
	const UdpReference ref = udp_reference(msgs, responder);
	REQUIRE(ref.dropped_at < msgs.size()); // banned over UDP

	Harness h;
	Connection c(h, msgs);
	c.responder = responder;
	size_t at = 0;
	std::vector<Segment> sent;
	for (const auto& m : msgs) {
		const auto segs = c.split(at, at + m.size(), {at + m.size() - 2});
		(void)c.send(segs[1]);
		(void)c.send(segs[0]);
		sent.insert(sent.end(), segs.begin(), segs.end());
		c.retransmit(sent);
		at += m.size();
	}
	CHECK(h.banned(phone()));
	check_same_as_udp(h, c, ref);
}

TEST_CASE("tcp: a flow without a SYN is picked up only at a SIP start line")
{
	Harness h;
	const std::vector<std::string> msgs{register_msg(0), options_msg(1)};
	Connection c(h, msgs, /*syn=*/false);
	c.picked_up_at = 1;
	const size_t first = msgs[0].size();
	// Mid-message: no place in a stream, dropped and not framed.
	CHECK(c.send(c.segment(40, first)) == Verdict::Drop);
	CHECK(h.engine.counters().tcp_midstream_dropped == 1);
	// At a start line: the stream starts there; earlier bytes never pass.
	CHECK(c.send(c.segment(first, c.stream().size())) == Verdict::Accept);
	CHECK(h.engine.counters().tcp_midstream == 1);
	CHECK(c.send(c.segment(0, first)) == Verdict::Drop);
	CHECK(h.engine.counters().tcp_midstream_dropped == 2);
	CHECK(h.engine.counters().sip_messages == 1);

	// The tail of a request line is no start line ("STER sip:... SIP/2.0"
	// would pass as an extension method).
	Harness h3;
	Connection c3(h3, msgs, /*syn=*/false);
	CHECK(c3.send(c3.segment(4, first)) == Verdict::Drop);
	CHECK(h3.engine.counters().tcp_midstream == 0);
	// One that passes for a start line ("PRACK" from its third byte is
	// "ACK") frames a malformed first message: the pickup was inside a
	// message, so the stream ends there.
	Req prack = tcp_req("PRACK", 7);
	const std::string pr = request(prack);
	Harness h4;
	CHECK(h4.send(phone(), kPort, nfq::Direction::In, pr.substr(2), nfq::L4::Tcp, 9002, kAck | kPsh) == Verdict::Drop);
	CHECK(h4.engine.counters().tcp_midstream == 1);
	CHECK(h4.engine.counters().malformed == 1);
	CHECK(h4.send(phone(), kPort, nfq::Direction::In, options_msg(8), nfq::L4::Tcp, 9000 + static_cast<uint32_t>(pr.size()),
	              kAck | kPsh) == Verdict::Drop);
	CHECK(h4.engine.counters().tcp_after_drop == 1);

	// CRLF keep-alives alone pass without opening a stream (a phone's first
	// segment after an agent restart is often one); the next segment at a
	// start line opens it.
	Harness h2;
	CHECK(h2.send(phone(), kPort, nfq::Direction::In, "\r\n\r\n", nfq::L4::Tcp, 5000, kAck | kPsh) == Verdict::Accept);
	CHECK(h2.engine.counters().tcp_midstream == 0);
	CHECK(h2.send(phone(), kPort, nfq::Direction::In, msgs[1], nfq::L4::Tcp, 5004, kAck | kPsh) == Verdict::Accept);
	CHECK(h2.engine.counters().tcp_midstream == 1);
	CHECK(h2.engine.counters().sip_messages == 1);
}

TEST_CASE("tcp: the PBX's responses pass at once, counted once, resent in order after a gap")
{
	Harness h;
	const Req r = register_req(0);
	const std::string reg = request(r);
	const std::string ok = response(r, 200);
	Connection c(h, {reg});
	CHECK(c.send(c.segment(0, reg.size())) == Verdict::Accept);
	auto out = [&](size_t from, size_t to) {
		return h.send(phone(), kPort, nfq::Direction::Out, ok.substr(from, to - from), nfq::L4::Tcp,
		              kPbxIsn + 1 + static_cast<uint32_t>(from), kAck | kPsh);
	};
	CHECK(out(0, 100) == Verdict::Accept); // partial: not held
	CHECK(out(150, ok.size()) == Verdict::Drop); // ahead of a gap
	CHECK(out(100, 150) == Verdict::Accept);
	CHECK(h.engine.counters().matched_responses == 0);
	CHECK(out(150, ok.size()) == Verdict::Accept);
	CHECK(out(0, ok.size()) == Verdict::Accept); // duplicate
	CHECK(h.engine.counters().matched_responses == 1);
	CHECK(h.engine.counters().responses == 1);
}

TEST_CASE("tcp: dry run and allowlisted senders are never held, and still judged once")
{
	for (bool dry : {true, false}) {
		CAPTURE(dry);
		auto cfg = std::make_shared<engine::Config>();
		if (dry)
			cfg->dry_run = true;
		else
			cfg->allowlist.push_back(*net::Cidr::parse("203.0.113.40"));
		Harness h(cfg);
		const std::vector<std::string> msgs{register_msg(0), notify_check_sync(1), options_msg(2)};
		Connection c(h, msgs);
		c.check_judged = false;
		const size_t n = c.stream().size();
		for (const auto& s : c.split(0, n, {100, 700, 900}))
			CHECK(c.send(s) == Verdict::Accept);
		CHECK(c.delivered() == c.stream());
		CHECK(h.engine.counters().sip_messages == 3);
		CHECK(h.engine.counters().tcp_held == 0);
	}
}

TEST_CASE("tcp: the list of accepted out-of-order ranges is bounded; the sender's retransmission completes")
{
	Harness h;
	const std::string msg = invite_msg(0);
	Connection c(h, {msg});
	std::vector<size_t> cuts;
	for (size_t at = 20; at < msg.size(); at += 20)
		cuts.push_back(at);
	const auto segs = c.split(0, msg.size(), cuts);
	REQUIRE(segs.size() > 2 * engine::TcpStream::kMaxRanges + 2);
	c.send_all(segs); // all held but the last, which completes the message
	// Every other segment: separate ranges beyond the delivered point.
	size_t accepted = 0, full = 0;
	for (size_t i = 1; i + 2 < segs.size(); i += 2) {
		const Verdict v = c.send(segs[i]);
		accepted += v == Verdict::Accept;
		full += v == Verdict::Drop;
	}
	CHECK(accepted == engine::TcpStream::kMaxRanges - 1); // the last segment holds one range
	CHECK(full > 0);
	CHECK(h.engine.counters().tcp_window_full == full);
	c.retransmit(segs);
	check_same_as_udp(h, c, udp_reference({msg}));
}

TEST_CASE("tcp: memory is bounded per flow and in total")
{
	auto cfg = std::make_shared<engine::Config>();
	cfg->tables.tcp_flows = 4;
	Harness h(cfg);
	const std::string msg = register_msg(0);
	Connection c(h, {msg});
	(void)c.send(c.segment(0, 100)); // the flow's buffer
	const size_t bytes = h.engine.table_bytes();
	CHECK(bytes >= engine::TcpStream::kCapacity);
	// A window full of gaps: nothing ahead of a gap is buffered.
	for (uint32_t i = 1; i < 2000; ++i)
		CHECK(h.send(phone(), kPort, nfq::Direction::In, msg.substr(0, 50), nfq::L4::Tcp, c.seq_at(100 + 60 * i),
		             kAck | kPsh) == Verdict::Drop);
	CHECK(h.engine.table_bytes() == bytes);
	CHECK(h.engine.counters().tcp_out_of_order == 1999);
	// Many flows: the table keeps 4, each with one buffer.
	for (uint32_t p = 1; p <= 50; ++p)
		(void)h.send(net::IpAddress::v4(0x0a000001u + (p << 8)), kPort, nfq::Direction::In, register_msg(static_cast<int>(p)),
		             nfq::L4::Tcp, 1000u * p, kAck | kPsh);
	CHECK(h.engine.counters().flow_evictions >= 46);
	CHECK(h.engine.table_bytes() <= bytes + 4 * engine::TcpStream::kCapacity);
}

TEST_CASE("tcp: a long stream wraps the flow's buffer; messages across the wrap are judged whole")
{
	auto cfg = std::make_shared<engine::Config>();
	cfg->flood.enabled = false; // 300 requests at one instant
	Harness h(cfg);
	std::vector<std::string> msgs;
	for (int i = 0; i < 300; ++i)
		msgs.push_back(i % 3 == 0 ? invite_msg(i) : register_msg(i));
	Connection c(h, msgs);
	// Segments of 1000 bytes: most end inside a message.
	std::vector<size_t> cuts;
	for (size_t at = 1000; at < c.stream().size(); at += 1000)
		cuts.push_back(at);
	const auto segs = c.split(0, c.stream().size(), cuts);
	c.send_all(segs);
	c.retransmit(segs, 4);
	REQUIRE(c.stream().size() > 2 * engine::TcpStream::kCapacity);
	CHECK(c.delivered() == c.stream());
	CHECK(h.engine.counters().sip_messages == msgs.size());
	CHECK(h.engine.counters().malformed == 0);
}

TEST_CASE("tcp: an evicted flow resumes only where it left off, at a message boundary")
{
	auto cfg = std::make_shared<engine::Config>();
	cfg->tables.tcp_flows = 4;
	// Four other connections take the table's slots.
	auto evict = [](Harness& h) {
		for (uint32_t p = 1; p <= 4; ++p)
			(void)h.send(net::IpAddress::v4(0x0a000001u + (p << 8)), kPort, nfq::Direction::In,
			             register_msg(static_cast<int>(p)), nfq::L4::Tcp, 1000u * p, kAck | kPsh);
		CHECK(h.engine.counters().flow_evictions >= 1);
	};
	const std::string opt = options_msg(0);

	SUBCASE("delivered bytes resent as a head whose body hides a forged NOTIFY")
	{
		// The sender gets its flow evicted, then resends the delivered
		// range as an OPTIONS whose Content-Length runs to the end of the
		// NOTIFY: picked up there, the agent would judge one OPTIONS while
		// the PBX, past its own framing point, reads the NOTIFY.
		Harness h(cfg);
		const std::string notify = notify_check_sync(1);
		Connection c(h, {opt, notify});
		CHECK(c.send(c.segment(0, opt.size())) == Verdict::Accept);
		evict(h);
		Req fake = tcp_req("OPTIONS", 5);
		fake.user_agent.clear();
		fake.content_type = "text/plain";
		std::string text;
		for (size_t filler = 0; filler < opt.size(); ++filler) {
			fake.body = std::string(filler, 'x') + notify;
			text = request(fake);
			if (text.size() == opt.size() + notify.size())
				break;
		}
		REQUIRE(text.size() == opt.size() + notify.size());
		REQUIRE(text.ends_with(notify));
		CHECK(c.send({c.seq_at(0), text}) == Verdict::Drop);
		CHECK(c.send(c.segment(opt.size(), c.stream().size())) == Verdict::Drop); // at the evicted point: judged
		CHECK(h.engine.counters().forged_dropped == 1);
		CHECK(c.delivered() == opt);
	}
	SUBCASE("the next message at the evicted point resumes the stream")
	{
		Harness h(cfg);
		const std::string reg = register_msg(1);
		Connection c(h, {opt, reg});
		CHECK(c.send(c.segment(0, opt.size())) == Verdict::Accept);
		evict(h);
		const uint64_t picked = h.engine.counters().tcp_midstream;
		CHECK(c.send(c.segment(opt.size(), c.stream().size())) == Verdict::Accept);
		CHECK(h.engine.counters().tcp_midstream == picked + 1);
		CHECK(c.delivered() == opt + reg);
	}
	SUBCASE("evicted while the PBX held a message out of order: nothing resumes")
	{
		Harness h(cfg);
		const std::string reg = register_msg(1);
		Connection c(h, {reg});
		const auto segs = c.split(0, reg.size(), {200});
		CHECK(c.send(segs[0]) == Verdict::Drop);   // held
		CHECK(c.send(segs[1]) == Verdict::Accept); // judged, held by the PBX beyond a gap
		evict(h);
		CHECK(c.send(segs[0]) == Verdict::Drop);
		CHECK(h.engine.counters().tcp_midstream_dropped == 1);
		CHECK(c.delivered().empty());
	}
	SUBCASE("a remote's SYN does not lift it; the PBX's SYN-ACK of a new connection does")
	{
		Harness h(cfg);
		Connection c(h, {opt});
		CHECK(c.send(c.segment(0, opt.size())) == Verdict::Accept);
		evict(h);
		const uint32_t isn = 0x2000;
		const std::string reg = register_msg(2);
		CHECK(h.send(phone(), kPort, nfq::Direction::In, "", nfq::L4::Tcp, isn, kSyn) == Verdict::Accept);
		CHECK(h.send(phone(), kPort, nfq::Direction::In, reg, nfq::L4::Tcp, isn + 1, kAck | kPsh) == Verdict::Drop);
		CHECK(h.send(phone(), kPort, nfq::Direction::Out, "", nfq::L4::Tcp, 0x9000, kSyn | kAck) == Verdict::Accept);
		CHECK(h.send(phone(), kPort, nfq::Direction::In, reg, nfq::L4::Tcp, isn + 1, kAck | kPsh) == Verdict::Accept);
	}
}

namespace {

// Opens a connection from phone() on `port` (SYN) with a CRLF keep-alive
// after it: one flow slot when tracked. Returns the keep-alive's verdict.
Verdict open_connection(Harness& h, uint16_t port)
{
	const uint32_t isn = 1000u * port;
	CHECK(h.send(phone(), port, nfq::Direction::In, "", nfq::L4::Tcp, isn, kSyn) == Verdict::Accept);
	return h.send(phone(), port, nfq::Direction::In, "\r\n\r\n", nfq::L4::Tcp, isn + 1, kAck | kPsh);
}

std::shared_ptr<engine::Config> capped_config()
{
	auto cfg = std::make_shared<engine::Config>();
	cfg->tables.tcp_flows = 8;
	cfg->tables.tcp_flows_per_source = 4;
	return cfg;
}

// A table of 8 flows, 4 per address, and a connection from phone() whose
// OPTIONS is delivered, with a forged NOTIFY to follow.
struct CappedTable {
	CappedTable() { CHECK(c.send(c.segment(0, msgs[0].size())) == Verdict::Accept); }

	// Whether the connection's flow is still in the table: a resend of the
	// OPTIONS with other bytes is compared (an evicted flow would refuse it).
	void check_flow_kept()
	{
		std::string resend = msgs[0];
		resend[resend.find("OPTIONS sip:") + 8] = 'x';
		CHECK(c.send({c.seq_at(0), resend}) == Verdict::Drop);
		CHECK(c.send(c.segment(msgs[0].size(), c.stream().size())) == Verdict::Drop);
		CHECK(c.delivered() == msgs[0]);
		CHECK(h.engine.counters().tcp_conflicts == 1);
	}

	Harness h{capped_config()};
	std::vector<std::string> msgs{options_msg(0), notify_check_sync(1)};
	Connection c{h, msgs};
};

} // namespace

TEST_CASE("tcp: one address cannot push flows out of the table: its connections beyond its share are dropped")
{
	CappedTable t;
	Harness& h = t.h;
	// The connection holds one slot: three more connections get theirs.
	size_t passed = 0;
	for (uint16_t p = 1; p <= 20; ++p)
		passed += open_connection(h, static_cast<uint16_t>(kPort + p)) == Verdict::Accept;
	CHECK(passed == 3);
	CHECK(h.engine.counters().tcp_flows_over_cap == 17);
	CHECK(h.engine.counters().flow_evictions == 0);
	t.check_flow_kept();

	// Another address is not limited by it.
	CHECK(h.send(ip("203.0.113.41"), kPort, nfq::Direction::In, register_msg(5), nfq::L4::Tcp, 77, kAck | kPsh) ==
	      Verdict::Accept);
	// Connections that end give their slots back: a FIN, a RST at the delivered point.
	const uint16_t first = kPort + 1, second = kPort + 2;
	CHECK(h.send(phone(), first, nfq::Direction::In, "", nfq::L4::Tcp, 1000u * first + 5, kAck | kFin) ==
	      Verdict::Accept);
	CHECK(h.send(phone(), second, nfq::Direction::In, "", nfq::L4::Tcp, 1000u * second + 5, kRst) == Verdict::Accept);
	CHECK(open_connection(h, kPort + 30) == Verdict::Accept);
	CHECK(open_connection(h, kPort + 31) == Verdict::Accept);
	CHECK(open_connection(h, kPort + 32) == Verdict::Drop);
	// Bytes after the FIN still never pass, with the slot given back.
	CHECK(h.send(phone(), first, nfq::Direction::In, "\r\n", nfq::L4::Tcp, 1000u * first + 5, kAck | kPsh) ==
	      Verdict::Drop);
}

TEST_CASE("tcp: connections that an address opens and closes do not push others out of the table")
{
	CappedTable t;
	Harness& h = t.h;
	// 40 connections one after another, each closed by its FIN: each one's
	// share comes back, and the closed flows are evicted before the open one.
	const net::IpAddress churner = ip("203.0.113.41");
	for (uint16_t p = 1; p <= 40; ++p) {
		const auto port = static_cast<uint16_t>(kPort + p);
		const uint32_t isn = 1000u * port;
		CHECK(h.send(churner, port, nfq::Direction::In, "", nfq::L4::Tcp, isn, kSyn) == Verdict::Accept);
		CHECK(h.send(churner, port, nfq::Direction::In, "\r\n\r\n", nfq::L4::Tcp, isn + 1, kAck | kPsh) ==
		      Verdict::Accept);
		CHECK(h.send(churner, port, nfq::Direction::In, "", nfq::L4::Tcp, isn + 5, kAck | kFin) == Verdict::Accept);
	}
	CHECK(h.engine.counters().tcp_flows_over_cap == 0);
	CHECK(h.engine.counters().flow_evictions > 0);
	t.check_flow_kept();
}
