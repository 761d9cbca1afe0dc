// SPDX-License-Identifier: GPL-2.0-or-later
// The issue-7 tuning through the whole engine: svcrack and svwar with a phone
// User-Agent stopped within a handful of requests (fast-repeat brute force,
// per-port enumeration judged at request time), the look-alikes that must
// stay unbanned (wrong password, stale nonce, 407 then 401, multi-line desk
// phone), first fragments (dropped unless the source is known-good), and
// call-limit findings.
#include <doctest/doctest.h>

#include <cstdio>

#include "tests/engine/harness.h"
#include "tests/engine/log_file.h"

using namespace sipguard;
using namespace sipguard::test;
using detect::Detector;
using engine::Verdict;

namespace {

Req reg(const std::string& user, const std::string& host, uint32_t cseq, bool creds, const std::string& call_id)
{
	Req r;
	r.method = "REGISTER";
	r.ruri_user = "";
	r.from_user = r.to_user = user;
	// Tags and branches are tokens (RFC 3261 §25.1): no '@'.
	std::string token = call_id.substr(0, call_id.find('@'));
	r.from_tag = fmt::format("t{}", token);
	r.call_id = call_id;
	r.cseq = cseq;
	r.via_host = host;
	r.branch = fmt::format("z9hG4bK-{}-{}", token, cseq);
	r.credentials = creds;
	return r;
}

void dump_findings(const Harness& h)
{
	for (const auto& f : h.sink.findings)
		MESSAGE("finding: ", detect::to_string(f.finding.detector), ": ", f.finding.reason);
}

} // namespace

TEST_CASE("brute force: svcrack with a phone User-Agent reaches the PBX with at most 4 requests")
{
	// tests/fixtures/pcaps/lab/svcrack-ua.pcap: per password a new Call-ID,
	// CSeq 1 without credentials -> 401, CSeq 2 with credentials -> 401 (the
	// first 3 times, then 403), one password every ~12 ms.
	Harness h;
	auto attacker = ip("203.0.113.40");
	int reached = 0;
	for (int i = 0; i < 60 && !h.banned(attacker); ++i) {
		std::string cid = fmt::format("crack-ua-{}", i);
		Req r = reg("105", "203.0.113.40", 1, false, cid);
		if (h.in(attacker, request(r)) == Verdict::Drop)
			break;
		++reached;
		h.advance(1ms);
		h.out(attacker, response(r, 401));
		h.advance(5ms);
		Req a = reg("105", "203.0.113.40", 2, true, cid);
		a.branch += "-a";
		if (h.in(attacker, request(a)) == Verdict::Drop)
			break;
		++reached;
		h.advance(1ms);
		h.out(attacker, response(a, i < 3 ? 401 : 403));
		h.advance(5ms);
	}
	CHECK(h.banned(attacker));
	CHECK(reached <= 4);
	const detect::Finding* f = h.first_finding(Detector::BruteForce);
	REQUIRE(f);
	CHECK(std::string(f->reason).find("quick succession") != std::string::npos);
	CHECK(h.sink.count(Detector::Enumeration) == 0);
}

TEST_CASE("brute force: the fast rule is per user and method, and can be disabled")
{
	SUBCASE("fast_failures = 0 leaves the 5-in-10-minutes rule")
	{
		auto cfg = std::make_shared<engine::Config>();
		cfg->brute_force.fast_failures = 0;
		Harness h(cfg);
		auto attacker = ip("203.0.113.41");
		int failures = 0;
		for (int i = 0; i < 20 && !h.banned(attacker); ++i) {
			Req a = reg("105", "203.0.113.41", 2, true, fmt::format("c{}", i));
			if (h.in(attacker, request(a)) == Verdict::Drop)
				break;
			h.out(attacker, response(a, 403));
			++failures;
			h.advance(12ms);
		}
		CHECK(h.banned(attacker));
		CHECK(failures == 5);
	}
	SUBCASE("two failures on two different users are not a fast repeat")
	{
		Harness h;
		auto src = ip("198.51.100.60");
		Req a = reg("201", "198.51.100.60", 2, true, "x1");
		h.in(src, request(a));
		h.out(src, response(a, 401));
		h.advance(10ms);
		Req b = reg("202", "198.51.100.60", 2, true, "x2");
		h.in(src, request(b));
		h.out(src, response(b, 401));
		dump_findings(h);
		CHECK(h.sink.findings.empty());
	}
}

TEST_CASE("negative: a phone with a wrong password retrying every 30 s is not a fast repeat")
{
	Harness h;
	auto phone = ip("198.51.100.61");
	// Four attempts: each a challenge then one wrong answer, 30+ s apart.
	for (int i = 0; i < 4; ++i) {
		std::string cid = "wrongpw@198.51.100.61";
		Req r = reg("201", "198.51.100.61", static_cast<uint32_t>(2 * i + 1), false, cid);
		CHECK(h.in(phone, request(r)) == Verdict::Accept);
		h.out(phone, response(r, 401));
		h.advance(15ms);
		Req a = reg("201", "198.51.100.61", static_cast<uint32_t>(2 * i + 2), true, cid);
		CHECK(h.in(phone, request(a)) == Verdict::Accept);
		h.out(phone, response(a, 401));
		h.advance(31s);
	}
	dump_findings(h);
	CHECK(h.sink.findings.empty());
	CHECK_FALSE(h.banned(phone));
	// The slow rule still bans it at its 5th failure within 10 minutes
	// (fail2ban would too); that is accepted.
	Req r = reg("201", "198.51.100.61", 9, false, "wrongpw@198.51.100.61");
	h.in(phone, request(r));
	h.out(phone, response(r, 401));
	Req a = reg("201", "198.51.100.61", 10, true, "wrongpw@198.51.100.61");
	h.in(phone, request(a));
	h.out(phone, response(a, 401));
	CHECK(h.banned(phone));
	REQUIRE(h.first_finding(Detector::BruteForce));
	CHECK(std::string(h.first_finding(Detector::BruteForce)->reason) == "failed authentications");
}

TEST_CASE("negative: stale-nonce retries that succeed (401 stale=true, then 200), also on two lines at once")
{
	Harness h;
	auto phone = ip("198.51.100.62");
	for (int i = 0; i < 10; ++i) {
		for (std::string user : {"201", "202"}) {
			std::string cid = fmt::format("reg-{}@198.51.100.62", user);
			Req a = reg(user, "198.51.100.62", static_cast<uint32_t>(10 * i + 1), true, cid);
			CHECK(h.in(phone, request(a)) == Verdict::Accept);
			h.advance(2ms);
			std::string stale = response(a, 401);
			// RFC 2617 §3.2.1: the nonce was stale, the password was right.
			stale.insert(stale.find("nonce=\"4b5e2d1c\"") + 16, ", stale=true");
			h.out(phone, stale);
			h.advance(3ms);
			Req b = reg(user, "198.51.100.62", static_cast<uint32_t>(10 * i + 2), true, cid);
			CHECK(h.in(phone, request(b)) == Verdict::Accept);
			h.advance(2ms);
			h.out(phone, response(b, 200));
		}
		h.advance(20s);
	}
	dump_findings(h);
	CHECK(h.sink.findings.empty());
	CHECK_FALSE(h.banned(phone));
}

TEST_CASE("negative: a phone answering a 407 for an INVITE, then a 401 for a REGISTER, same user, within ms")
{
	Harness h;
	auto phone = ip("198.51.100.63");
	for (int round = 0; round < 5; ++round) {
		// The phone reuses its cached credentials: the INVITE's are refused
		// with a new 407, the REGISTER's (sent meanwhile) with a new 401.
		Req inv;
		inv.method = "INVITE";
		inv.ruri_user = inv.to_user = "200";
		inv.from_user = "201";
		inv.via_host = "198.51.100.63";
		inv.call_id = fmt::format("call-{}@198.51.100.63", round);
		inv.branch = fmt::format("z9hG4bK-inv-{}", round);
		inv.proxy_credentials = true;
		CHECK(h.in(phone, request(inv)) == Verdict::Accept);
		Req r = reg("201", "198.51.100.63", static_cast<uint32_t>(2 * round + 1), true, "reg-201@198.51.100.63");
		CHECK(h.in(phone, request(r)) == Verdict::Accept);
		h.advance(1ms);
		h.out(phone, response(inv, 407));
		h.out(phone, response(r, 401));
		h.advance(2ms);
		Req ack = inv;
		ack.method = "ACK";
		h.in(phone, request(ack));
		Req inv2 = inv;
		inv2.cseq = 2;
		inv2.branch += "-2";
		CHECK(h.in(phone, request(inv2)) == Verdict::Accept);
		Req r2 = reg("201", "198.51.100.63", static_cast<uint32_t>(2 * round + 2), true, "reg-201@198.51.100.63");
		CHECK(h.in(phone, request(r2)) == Verdict::Accept);
		h.advance(2ms);
		h.out(phone, response(inv2, 100));
		h.out(phone, response(r2, 200));
		h.out(phone, response(inv2, 200));
		h.advance(2min);
	}
	dump_findings(h);
	CHECK(h.sink.findings.empty());
	CHECK_FALSE(h.banned(phone));
}

TEST_CASE("enumeration: svwar REGISTER mode, phone User-Agent, one socket: banned within max_users_per_port")
{
	// tests/fixtures/pcaps/lab/svwar-register-ua.pcap: a random-extension
	// sanity probe (404), then 100.. (401 for 100-109, else 404), one
	// REGISTER every ~6 ms, each answered in under 1 ms.
	Harness h;
	auto attacker = ip("203.0.113.42");
	int reached = 0;
	std::vector<std::string> users{"1176404307"};
	for (int ext = 100; ext < 200; ++ext)
		users.push_back(std::to_string(ext));
	for (const auto& u : users) {
		if (h.banned(attacker))
			break;
		Req r = reg(u, "203.0.113.42", 1, false, "svwar-" + u);
		r.user_agent = "Yealink SIP-T46S 66.86.0.15";
		if (h.in(attacker, request(r)) == Verdict::Drop)
			break;
		++reached;
		h.advance(500us);
		bool exists = u.size() == 3 && u >= "100" && u <= "109";
		h.out(attacker, response(r, exists ? 401 : 404));
		h.advance(5ms);
	}
	CHECK(h.banned(attacker));
	CHECK(reached == static_cast<int>(h.cfg->enumeration.max_users_per_port));
	CHECK(reached <= 7);
	REQUIRE(h.first_finding(Detector::Enumeration));
	CHECK(std::string(h.first_finding(Detector::Enumeration)->reason).find("one source port") != std::string::npos);
}

TEST_CASE("enumeration: svwar INVITE mode with ACKs: at most 7 requests reach the PBX")
{
	// svwar-invite-ua.pcap: INVITE -> 404 (sanity probe, not ACKed), then
	// INVITE -> 407 and svwar's ACK per extension.
	Harness h;
	auto attacker = ip("203.0.113.43");
	int reached = 0;
	std::vector<std::string> users{"1176404307"};
	for (int ext = 100; ext < 200; ++ext)
		users.push_back(std::to_string(ext));
	bool first = true;
	for (const auto& u : users) {
		if (h.banned(attacker))
			break;
		Req r;
		r.method = "INVITE";
		r.ruri_user = r.to_user = u;
		r.from_user = "svwar";
		r.user_agent = "Yealink SIP-T46S 66.86.0.15";
		r.via_host = "203.0.113.43";
		r.call_id = "svwar-inv-" + u;
		r.branch = "z9hG4bK-" + u;
		if (h.in(attacker, request(r)) == Verdict::Drop)
			break;
		++reached;
		h.advance(300us);
		h.out(attacker, response(r, first ? 404 : 407));
		if (!first) {
			Req ack = r;
			ack.method = "ACK";
			if (h.in(attacker, request(ack)) == Verdict::Accept)
				++reached;
		}
		first = false;
		h.advance(5ms);
	}
	CHECK(h.banned(attacker));
	CHECK(reached <= 7);
	CHECK(h.first_finding(Detector::Enumeration));
}

TEST_CASE("negative: a desk phone with 6 lines on one port registering at boot")
{
	auto run = [](bool interleaved) {
		Harness h;
		auto phone = ip("198.51.100.64");
		std::vector<Req> first;
		for (int l = 0; l < 6; ++l)
			first.push_back(reg(std::to_string(301 + l), "198.51.100.64", 1, false,
			                    fmt::format("boot-{}@198.51.100.64", l)));
		if (interleaved) {
			// Each REGISTER goes out after the previous line's 401 arrived,
			// before any is answered.
			for (auto& r : first) {
				CHECK(h.in(phone, request(r)) == Verdict::Accept);
				h.advance(1ms);
				h.out(phone, response(r, 401));
				h.advance(1ms);
			}
		} else {
			// All six sent before the first 401 arrives.
			for (auto& r : first) {
				CHECK(h.in(phone, request(r)) == Verdict::Accept);
				h.advance(200us);
			}
			for (auto& r : first) {
				h.out(phone, response(r, 401));
				h.advance(200us);
			}
		}
		for (auto& r : first) {
			Req a = r;
			a.cseq = 2;
			a.credentials = true;
			a.branch += "-2";
			CHECK(h.in(phone, request(a)) == Verdict::Accept);
			h.advance(1ms);
			h.out(phone, response(a, 200));
		}
		// An hour of re-registrations (the phone now sends credentials).
		for (int i = 0; i < 60; ++i) {
			h.advance(1min);
			for (auto& r : first) {
				Req a = r;
				a.cseq = static_cast<uint32_t>(3 + i);
				a.credentials = true;
				CHECK(h.in(phone, request(a)) == Verdict::Accept);
				h.out(phone, response(a, 200));
			}
		}
		dump_findings(h);
		CHECK(h.sink.findings.empty());
		CHECK_FALSE(h.banned(phone));
	};
	SUBCASE("burst") { run(false); }
	SUBCASE("interleaved with the 401s") { run(true); }
}

TEST_CASE("first fragments: dropped from unknown sources, passed uninspected from known-good ones")
{
	// What reaches the engine when the kernel did not reassemble (no tproxy
	// or ct expression, or a datagram past the copy range): the first 1200
	// bytes of a large INVITE, no end of headers, no body.
	auto cfg = std::make_shared<engine::Config>();
	cfg->allowlist = {*net::Cidr::parse("2001:db8:a::/48")};
	Harness h(cfg);
	Req r;
	r.method = "INVITE";
	r.via_host = "[2001:db8::70]";
	r.extra_headers = std::string(3000, 'x');
	const std::string text = request(r).substr(0, 1200);
	auto first_fragment = [&](const net::IpAddress& src, nfq::Direction dir = nfq::Direction::In) {
		nfq::PacketView p;
		const bool in = dir == nfq::Direction::In;
		p.src = in ? src : h.pbx;
		p.dst = in ? h.pbx : src;
		p.sport = 5060;
		p.dport = 5060;
		p.l4 = nfq::L4::Udp;
		p.first_fragment = true;
		p.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
		return h.engine.on_packet(p, dir, h.now);
	};

	const auto unknown = ip("2001:db8::70");
	for (int i = 0; i < 30; ++i) {
		CHECK(first_fragment(unknown) == Verdict::Drop);
		h.advance(10ms);
	}
	CHECK(h.engine.counters().first_fragments_dropped == 30);
	CHECK(h.engine.counters().first_fragments == 0);
	// Never parsed: neither malformed nor a finding, and no ban for it.
	CHECK(h.engine.counters().malformed == 0);
	CHECK(h.engine.counters().sip_messages == 0);
	CHECK(h.sink.findings.empty());
	CHECK_FALSE(h.banned(unknown));

	// Allowlisted: passes uninspected.
	CHECK(first_fragment(ip("2001:db8:a::5")) == Verdict::Accept);
	CHECK(h.engine.counters().first_fragments == 1);

	// Known: a phone whose REGISTER the PBX accepted.
	const auto phone = ip("2001:db8::71");
	Req reg;
	reg.method = "REGISTER";
	reg.ruri_user = "";
	reg.from_user = reg.to_user = "201";
	reg.via_host = "[2001:db8::71]";
	reg.credentials = true;
	CHECK(h.in(phone, request(reg)) == Verdict::Accept);
	h.out(phone, response(reg, 200));
	REQUIRE(h.engine.counters().matched_responses == 1);
	CHECK(first_fragment(phone) == Verdict::Accept);
	CHECK(h.engine.counters().first_fragments == 2);

	// The PBX's own (outgoing) first fragments are never dropped.
	CHECK(first_fragment(unknown, nfq::Direction::Out) == Verdict::Accept);
	CHECK(h.engine.counters().first_fragments_dropped == 30);

	// Once banned, a known source's first fragments are dropped as banned.
	h.bans.ban(net::Cidr{phone, 128}, std::chrono::minutes(10), "test", h.now);
	const uint64_t banned_before = h.engine.counters().dropped_banned;
	CHECK(first_fragment(phone) == Verdict::Drop);
	CHECK(h.engine.counters().dropped_banned == banned_before + 1);
}

namespace {

// Reports a call limit on every INVITE (what calls::EngineHook forwards from
// the tracker) and drops it, like the tracker's DropCallLimit.
struct LimitHook final : calls::CallHook {
	calls::CallLimitReport report{"concurrent calls at the limit", "user", "201", 4, 4};
	calls::CallDecision on_sip(const calls::SipContext& ctx, calls::PinholeSink&) override
	{
		calls::CallDecision d;
		if (ctx.direction == nfq::Direction::In && ctx.message.method == sip::Method::Invite) {
			d.drop = true;
			d.reason = "call limit";
			d.limit = &report;
		}
		return d;
	}
	void on_tick(util::TimePoint, calls::PinholeSink&) override {}
};

Req invite(int n)
{
	Req r;
	r.method = "INVITE";
	r.ruri_user = r.to_user = "200";
	r.from_user = "201";
	r.via_host = "198.51.100.65";
	r.call_id = fmt::format("lim-{}", n);
	r.proxy_credentials = true;
	return r;
}

} // namespace

TEST_CASE("call-limit: a tracker's limit report is a finding in the ban log, banned only when configured")
{
	SUBCASE("default: reported, not banned; the INVITE is dropped by the tracker's decision")
	{
		engine::Config cfg;
		test::LogFile lf;
		engine::BanManager bans(cfg, &lf.log);
		RecordingSink sink;
		engine::Engine eng(std::make_shared<engine::Config>(cfg), bans, sink);
		LimitHook hook;
		eng.set_call_hook(&hook);
		auto phone = ip("198.51.100.65");
		std::string text = request(invite(1));
		nfq::PacketView p;
		p.src = phone;
		p.dst = ip("192.0.2.1");
		p.sport = 5060;
		p.dport = 5060;
		p.l4 = nfq::L4::Udp;
		p.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
		util::TimePoint now{std::chrono::seconds(1'800'000'000)};
		CHECK(eng.on_packet(p, nfq::Direction::In, now) == Verdict::Drop);
		REQUIRE(sink.findings.size() == 1);
		CHECK(sink.findings[0].finding.detector == Detector::CallLimit);
		CHECK(sink.findings[0].outcome == engine::BanOutcome::Reported);
		CHECK_FALSE(bans.is_banned(phone, now));
		// A second report within the minute is not logged again; the
		// INVITE is still dropped (the tracker's decision).
		CHECK(eng.on_packet(p, nfq::Direction::In, now + std::chrono::seconds(1)) == Verdict::Drop);
		CHECK(sink.findings.size() == 1);
		std::string s = lf.text();
		CHECK(s.find("\"event\":\"finding\"") != std::string::npos);
		CHECK(s.find("\"detector\":\"call-limit\"") != std::string::npos);
		CHECK(s.find("\"subject\":[\"201\"]") != std::string::npos);
		CHECK(s.find("\"limit\":4") != std::string::npos);
	}
	SUBCASE("detect.call_limit.ban = true bans the source")
	{
		auto cfg = std::make_shared<engine::Config>();
		cfg->call_limit.ban = true;
		Harness h(cfg);
		LimitHook hook;
		h.engine.set_call_hook(&hook);
		auto phone = ip("198.51.100.65");
		CHECK(h.in(phone, request(invite(1))) == Verdict::Drop);
		CHECK(h.banned(phone));
		REQUIRE(h.first_finding(Detector::CallLimit));
		CHECK(h.sink.findings[0].outcome == engine::BanOutcome::Banned);
	}
	SUBCASE("dry run: logged as a dry-run finding")
	{
		auto cfg = std::make_shared<engine::Config>();
		cfg->call_limit.ban = true;
		cfg->dry_run = true;
		Harness h(cfg);
		LimitHook hook;
		h.engine.set_call_hook(&hook);
		auto phone = ip("198.51.100.65");
		h.in(phone, request(invite(1)));
		CHECK_FALSE(h.banned(phone));
		REQUIRE(h.first_finding(Detector::CallLimit));
		CHECK(h.sink.findings[0].outcome == engine::BanOutcome::DryRun);
	}
}
