// SPDX-License-Identifier: GPL-2.0-or-later
// The engine allocates nothing per packet in steady state: global operator
// new is counted while a warmed-up engine processes calls, registrations,
// keep-alives and a spoofed flood.
#include <doctest/doctest.h>

#include "tests/engine/harness.h"
#include "tests/util/counting_new.h"

using namespace sipguard;
using namespace sipguard::test;

TEST_CASE("engine: no allocation per packet in steady state")
{
	Harness h;
	// Pre-build every message so the loop itself allocates nothing.
	std::vector<std::string> in_msgs, out_msgs;
	for (int i = 0; i < 64; ++i) {
		Req r;
		r.method = i % 2 ? "INVITE" : "REGISTER";
		r.ruri_user = r.to_user = std::to_string(200 + i % 8);
		r.via_host = "198.51.100.10";
		r.call_id = fmt::format("steady-{}", i);
		r.credentials = true;
		in_msgs.push_back(request(r));
		out_msgs.push_back(response(r, 200));
	}
	std::string keepalive = "\r\n\r\n";
	std::string tcp_two = in_msgs[0] + in_msgs[1];
	auto phone = ip("198.51.100.10");
	uint32_t seq = 1;
	// A second connection whose messages span two segments: the first is
	// held, the second completes the message, the first is resent.
	const std::string head = tcp_two.substr(0, 300), tail = tcp_two.substr(300);
	uint32_t seq2 = 1;
	auto run = [&](int rounds) {
		for (int k = 0; k < rounds; ++k)
			for (size_t i = 0; i < in_msgs.size(); ++i) {
				h.in(phone, in_msgs[i]);
				h.out(phone, out_msgs[i]);
				h.in(phone, keepalive);
				h.send(phone, 40000, nfq::Direction::In, tcp_two, nfq::L4::Tcp, seq, 0x18);
				seq += static_cast<uint32_t>(tcp_two.size());
				h.send(phone, 40001, nfq::Direction::In, head, nfq::L4::Tcp, seq2, 0x18);
				h.send(phone, 40001, nfq::Direction::In, tail, nfq::L4::Tcp, seq2 + 300, 0x18);
				h.send(phone, 40001, nfq::Direction::In, head, nfq::L4::Tcp, seq2, 0x18);
				seq2 += static_cast<uint32_t>(tcp_two.size());
				h.in(net::IpAddress::v4(0x0a000000u + static_cast<uint32_t>(k * 64 + i)), in_msgs[i]);
				h.advance(std::chrono::milliseconds(50));
			}
	};
	uint64_t at_start = g_heap_allocations.load();
	run(4); // warm-up: first use of TCP framers, tables touched
	uint64_t before = g_heap_allocations.load();
	CHECK(before > at_start); // the counter sees the framer's first buffer
	run(50);
	uint64_t after = g_heap_allocations.load();
	CHECK(h.sink.findings.empty());
	CHECK(after - before == 0);
	CHECK(h.engine.counters().sip_messages > 5 * 50 * 64);
	CHECK(h.engine.counters().tcp_held >= 50 * 64);
}
