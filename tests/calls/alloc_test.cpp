// SPDX-License-Identifier: GPL-2.0-or-later
// The tracker's steady state allocates nothing per message: calls set up and
// torn down after the tables were built only touch fixed storage.
#include "tests/calls/call_fixture.h"
#include "tests/util/counting_new.h"

using namespace sipguard;
using namespace sipguard::calls;
using namespace sipguard::calls::test;

TEST_CASE("no allocation per message in steady state")
{
	Config c;
	c.trunks.push_back(Trunk{"itsp", {*net::Cidr::parse("192.0.2.0/24")}, {100, 0}, true});
	struct CountingSink : Sink {
		uint64_t opens = 0, closes = 0;
		void on_pinhole(const PinholeUpdate& u) override
		{
			opens += u.op == PinholeOp::Open;
			closes += u.op == PinholeOp::Close;
		}
		void on_finding(const Finding&) override {}
	} sink;
	Tracker tracker(c, sink);
	util::TimePoint now(std::chrono::seconds(1'000'000));
	const net::IpAddress phone = ip("198.51.100.7");
	// Wire text and parsed messages prepared up front: only on_message is measured.
	struct Prepared {
		std::string text;
		sip::Message msg;
		nfq::Direction dir;
	};
	std::vector<Prepared> script;
	auto add = [&](nfq::Direction dir, const Msg& m) {
		script.push_back(Prepared{wire(m), {}, dir});
	};
	for (int i = 0; i < 50; ++i) {
		const std::string cid = "alloc-" + std::to_string(i);
		Msg inv;
		inv.start = "INVITE sip:100@pbx.example SIP/2.0";
		inv.call_id = cid;
		inv.body = sdp("198.51.100.7", {{"audio", 40000, {"rtcp:40001"}, ""}, {"video", 40002, {}, ""}});
		add(nfq::Direction::In, inv);
		Msg ok = inv;
		ok.start = "SIP/2.0 200 OK";
		ok.to_tag = "callee";
		ok.body = sdp("203.0.113.1", {{"audio", 10000 + 4 * i, {}, ""}, {"video", 10002 + 4 * i, {}, ""}});
		add(nfq::Direction::Out, ok);
		Msg bye;
		bye.start = "BYE sip:100@pbx.example SIP/2.0";
		bye.call_id = cid;
		bye.to_tag = "callee";
		bye.cseq = 2;
		bye.cseq_method = "BYE";
		add(nfq::Direction::In, bye);
	}
	for (auto& p : script) {
		sip::parse(p.text, sip::Transport::Datagram, p.msg);
		REQUIRE(p.msg.valid());
	}
	auto play = [&]() {
		for (const auto& p : script) {
			MessageContext ctx;
			ctx.remote = phone;
			ctx.direction = p.dir;
			ctx.now = now;
			tracker.on_message(p.msg, ctx);
			now += std::chrono::milliseconds(10);
		}
	};
	play(); // warm-up: first use of every table slot
	now += std::chrono::seconds(60);
	tracker.on_tick(now); // the ended dialogs leave the table
	const uint64_t opens = sink.opens;
	const uint64_t before = sipguard::test::g_heap_allocations.load();
	play();
	now += std::chrono::seconds(60);
	tracker.on_tick(now);
	const uint64_t during = sipguard::test::g_heap_allocations.load() - before;
	CHECK(sink.opens - opens == 50 * 4); // audio + video, RTP + RTCP each
	CHECK(sink.closes == sink.opens);
	CHECK(during == 0);
}
