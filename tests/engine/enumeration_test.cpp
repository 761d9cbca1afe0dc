// SPDX-License-Identifier: GPL-2.0-or-later
// Enumeration by behaviour over time and across source ports (issue 18):
// the users window slides, a challenge left behind counts at once, and a
// long window per source and per prefix catches the slow ones.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "tests/engine/harness.h"

using namespace sipguard;
using namespace sipguard::test;
using detect::Detector;
using engine::Verdict;

namespace {

Req probe(const std::string& method, const std::string& user, const std::string& host, int n)
{
	Req r;
	r.method = method;
	r.ruri_user = method == "REGISTER" ? "" : user;
	r.from_user = method == "REGISTER" ? user : "1000";
	r.to_user = user;
	r.user_agent = "Yealink SIP-T46S 66.86.0.15";
	r.via_host = host;
	r.call_id = fmt::format("enum-{}-{}@{}", method, n, host);
	r.from_tag = fmt::format("e{}", n);
	r.branch = fmt::format("z9hG4bK-e{}", n);
	return r;
}

} // namespace

TEST_CASE("enumeration: the users window slides instead of restarting")
{
	// 404s at 0, 10, ..., 50 s, then at 61, 64, 67, 70 s, each from a new
	// port. A window restarted at 61 s held 4 users; sliding, it holds the 8
	// from 10 s on at 67 s.
	Harness h;
	auto attacker = ip("203.0.113.90");
	const int at_s[] = {0, 10, 20, 30, 40, 50, 61, 64, 67, 70};
	const util::TimePoint start = h.now;
	int reached = 0;
	for (int i = 0; i < 10 && !h.banned(attacker); ++i) {
		h.now = start + std::chrono::seconds(at_s[i]);
		Req r = probe("REGISTER", std::to_string(100 + i), "203.0.113.90", i);
		const auto port = static_cast<uint16_t>(40000 + i);
		if (h.in(attacker, request(r), port) == Verdict::Accept)
			++reached;
		h.out(attacker, response(r, 404), port);
	}
	CHECK(h.banned(attacker));
	CHECK(reached == 9);
	REQUIRE(h.first_finding(Detector::Enumeration));
	CHECK(h.first_finding(Detector::Enumeration)->at - start == std::chrono::seconds(67));
}

namespace {

// svwar-like enumeration of 100..199 against a PBX that challenges its ten
// users (100-109) and refuses the rest with 404, `per_port` requests per
// source port, one every `gap`. Returns the extensions that reached the PBX.
int enumerate(Harness& h, const net::IpAddress& attacker, const std::string& method, int per_port,
              util::Duration gap)
{
	int reached = 0;
	const std::string host = attacker.to_string();
	for (int ext = 100; ext < 200 && !h.banned(attacker); ++ext) {
		Req r = probe(method, std::to_string(ext), host, ext);
		const auto port = static_cast<uint16_t>(30000 + (ext - 100) / per_port);
		if (h.in(attacker, request(r), port) == Verdict::Accept) {
			++reached;
			h.advance(1ms);
			const bool exists = ext <= 109;
			h.out(attacker, response(r, exists ? (method == "INVITE" ? 407 : 401) : 404), port);
			if (exists && method == "INVITE") {
				Req ack = r;
				ack.method = "ACK";
				h.in(attacker, request(ack), port);
			}
		}
		h.advance(gap);
	}
	return reached;
}

} // namespace

TEST_CASE("enumeration: 20 users/s or one every 10 s, a new source port per request or every few requests")
{
	// Fast: the challenges left behind hold the 9th user until the grace
	// confirms them. Slow: each challenge is confirmed by the next request,
	// and the long window counts past the sliding minute.
	for (util::Duration gap : {util::Duration(49ms), util::Duration(10s)})
		for (std::string method : {"REGISTER", "INVITE"})
			for (int per_port : {1, 3}) {
				const bool fast = gap < 1s;
				CAPTURE(fast);
				CAPTURE(method);
				CAPTURE(per_port);
				Harness h;
				auto attacker = ip("203.0.113.91");
				const int reached = enumerate(h, attacker, method, per_port, gap);
				const std::string what = (fast ? "20/s " : "1/10s ") + method;
				MESSAGE(what, " per_port=", per_port, ": ", reached, " extensions at the PBX, held ",
				        h.engine.counters().enumeration_held);
				CHECK(h.banned(attacker));
				CHECK(reached <= 10);
				REQUIRE(h.sink.count(Detector::Enumeration) == 1);
				const std::string reason(h.first_finding(Detector::Enumeration)->reason);
				CHECK((reason.find("over hours") != std::string::npos) == !fast);
				CHECK((h.engine.counters().enumeration_held > 0) == fast);
			}
}

TEST_CASE("negative: a NATed office of 30 phones registering within one round trip of their 401s")
{
	// Each phone's REGISTER 2 ms after the previous one, its 401 1 ms later,
	// its answer 20 ms after that (the round trip): the first answers arrive
	// when ten REGISTERs for other users have. A REGISTER held meanwhile is
	// retransmitted 500 ms later (RFC 3261 Timer E) and must pass then.
	Harness h;
	auto office = ip("198.51.100.51");
	struct Pending {
		Req r;
		uint16_t port;
		util::TimePoint at;
		int step; // 0 REGISTER, 1 the 401, 2 the answer, 3 the 200
	};
	std::vector<Pending> events;
	for (int p = 0; p < 30; ++p) {
		Req r = probe("REGISTER", std::to_string(200 + p), "198.51.100.51", p);
		events.push_back({r, static_cast<uint16_t>(5060 + p), h.now + std::chrono::milliseconds(2 * p), 0});
	}
	int registered = 0;
	for (int round = 0; round < 1000 && !events.empty(); ++round) {
		auto next = std::min_element(events.begin(), events.end(),
		                             [](const Pending& a, const Pending& b) { return a.at < b.at; });
		Pending e = *next;
		events.erase(next);
		h.now = std::max(h.now, e.at);
		if (e.step == 0) {
			if (h.in(office, request(e.r), e.port) == Verdict::Drop)
				events.push_back({e.r, e.port, h.now + 500ms, 0}); // retransmission
			else
				events.push_back({e.r, e.port, h.now + 1ms, 1});
		} else if (e.step == 1) {
			h.out(office, response(e.r, 401), e.port);
			Req a = e.r;
			a.cseq = 2;
			a.credentials = true;
			a.branch += "-2";
			events.push_back({a, e.port, h.now + 20ms, 2});
		} else if (e.step == 2) {
			CHECK(h.in(office, request(e.r), e.port) == Verdict::Accept);
			events.push_back({e.r, e.port, h.now + 1ms, 3});
		} else {
			h.out(office, response(e.r, 200), e.port);
			++registered;
		}
	}
	for (const auto& f : h.sink.findings)
		MESSAGE("unexpected finding: ", detect::to_string(f.finding.detector), ": ", f.finding.reason);
	CHECK(h.sink.findings.empty());
	CHECK_FALSE(h.banned(office));
	CHECK(registered == 30);
	MESSAGE("REGISTERs held and retransmitted: ", h.engine.counters().enumeration_held);
}

TEST_CASE("enumeration: one request per address inside a /64 or a /24 is a prefix ban")
{
	for (std::string base : {"2001:db8:77:1::", "198.18.77."}) {
		CAPTURE(base);
		Harness h;
		int reached = 0;
		const bool v6 = base.find(':') != std::string::npos;
		for (int ext = 100; ext < 200; ++ext) {
			auto src = ip(fmt::format("{}{}", base, v6 ? fmt::format("{:x}", ext) : std::to_string(ext)));
			if (h.banned(src))
				break;
			Req r = probe("REGISTER", std::to_string(ext), v6 ? "[" + src.to_string() + "]" : src.to_string(), ext);
			if (h.in(src, request(r), 5060) == Verdict::Accept)
				++reached;
			h.advance(1ms);
			h.out(src, response(r, ext <= 109 ? 401 : 404), 5060);
			h.advance(500ms);
		}
		MESSAGE(base, ": ", reached, " extensions at the PBX");
		auto active = h.bans.active(h.now);
		REQUIRE(active.size() == 1);
		CHECK(active[0].target.prefix_len == (v6 ? 64 : 24));
		CHECK(active[0].detector == Detector::Enumeration);
		CHECK(reached <= 12);
		CHECK(h.engine.counters().malformed == 0);
	}
}

TEST_CASE("negative: an office over hours, phones registering, calling and now and then misdialling")
{
	// 10 phones re-register every 10 min (401, then credentials, 200); a
	// phone's INVITE to a number that does not exist is challenged, answered,
	// then refused 404 with credentials (not enumeration); and an old phone
	// without credentials registers a user the PBX does not know every hour.
	Harness h;
	auto office = ip("198.51.100.52");
	for (int round = 0; round < 36; ++round) {
		for (int p = 0; p < 10; ++p) {
			Req r = probe("REGISTER", std::to_string(200 + p), "198.51.100.52", round * 100 + p);
			const auto port = static_cast<uint16_t>(5060 + p);
			CHECK(h.in(office, request(r), port) == Verdict::Accept);
			h.out(office, response(r, 401), port);
			Req a = r;
			a.cseq = 2;
			a.credentials = true;
			CHECK(h.in(office, request(a), port) == Verdict::Accept);
			h.out(office, response(a, 200), port);
			h.advance(1s);
		}
		Req call = probe("INVITE", fmt::format("0049301234{:03}", round), "198.51.100.52", 9000 + round);
		call.from_user = "201";
		h.in(office, request(call), 5061);
		h.out(office, response(call, 407), 5061);
		Req auth = call;
		auth.cseq = 2;
		auth.proxy_credentials = true;
		h.in(office, request(auth), 5061);
		h.out(office, response(auth, 404), 5061);
		if (round % 6 == 0) {
			Req old = probe("REGISTER", fmt::format("old{}", round), "198.51.100.52", 8000 + round);
			h.in(office, request(old), 5099);
			h.out(office, response(old, 404), 5099);
		}
		h.advance(10min);
	}
	for (const auto& f : h.sink.findings)
		MESSAGE("unexpected finding: ", detect::to_string(f.finding.detector), ": ", f.finding.reason);
	CHECK(h.sink.findings.empty());
	CHECK_FALSE(h.banned(office));
}
