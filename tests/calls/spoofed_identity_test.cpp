// SPDX-License-Identifier: GPL-2.0-or-later
// Identities an attacker can forge never cost their owner service (issue 20):
// spoofed INVITEs and REGISTERs naming user 201 from thousands of addresses,
// through the whole engine with the call tracker, real SIP text; 201's
// phone keeps registering and placing authenticated calls.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "agent/calls/engine_hook.h"
#include "tests/engine/harness.h"

using namespace sipguard;
using namespace sipguard::test;
using engine::Verdict;

namespace {

// Address i of 10.0.0.0/9, spread so that no /24 holds two of them.
net::IpAddress spoofed(int i)
{
	return ip(fmt::format("10.{}.{}.{}", i % 128, (i / 128) % 256, 1 + i % 250));
}

struct Phone {
	Harness& h;
	net::IpAddress addr = ip("198.51.100.20");
	int n = 0;

	Req base(const std::string& method)
	{
		Req r;
		r.method = method;
		r.from_user = r.to_user = "201";
		r.ruri_user = method == "REGISTER" ? "" : "100";
		if (method == "INVITE")
			r.to_user = "100";
		r.via_host = addr.to_string();
		r.call_id = fmt::format("phone-{}@{}", ++n, r.via_host);
		r.from_tag = fmt::format("p{}", n);
		r.branch = fmt::format("z9hG4bK-p{}", n);
		return r;
	}
	// Challenge, credentials, `final`: true when the PBX saw every request.
	bool authenticated(const std::string& method, int provisional, int final)
	{
		Req r = base(method);
		bool ok = h.in(addr, request(r)) == Verdict::Accept;
		h.out(addr, response(r, method == "INVITE" ? 407 : 401));
		r.cseq = 2;
		r.branch += "-2";
		r.credentials = method == "REGISTER";
		r.proxy_credentials = method == "INVITE";
		ok = h.in(addr, request(r)) == Verdict::Accept && ok;
		if (provisional)
			h.out(addr, response(r, provisional));
		h.out(addr, response(r, final));
		if (method == "INVITE" && final == 200) {
			Req bye = r;
			bye.method = "BYE";
			bye.cseq = 3;
			bye.branch += "-bye";
			bye.proxy_credentials = false;
			// In the dialog: the To tag of the PBX's 200.
			std::string text = request(bye);
			const std::string to = "To: <sip:100@pbx.example.com>";
			text.insert(text.find(to) + to.size(), ";tag=pbx-tag");
			ok = h.in(addr, text) == Verdict::Accept && ok;
			h.out(addr, response(bye, 200));
		}
		return ok;
	}
};

} // namespace

TEST_CASE("spoofed INVITEs and REGISTERs naming 201 from 4000 addresses: 201's phone keeps service")
{
	auto cfg = std::make_shared<engine::Config>();
	// Tables far smaller than the flood, so that any state the spoofed
	// requests create for 201 is under pressure too.
	cfg->tables.account_pairs = 256;
	cfg->tables.sources = 512;
	Harness h(cfg);
	calls::Config cc;
	cc.per_user = {2, 30};
	cc.per_source = {4, 30};
	calls::EngineHook hook{cc};
	h.engine.set_call_hook(&hook);
	Phone phone{h};

	REQUIRE(phone.authenticated("REGISTER", 0, 200));
	int phone_failures = 0, phone_ops = 0;
	for (int i = 0; i < 4000; ++i) {
		const net::IpAddress src = spoofed(i);
		Req r;
		r.via_host = src.to_string();
		r.from_tag = fmt::format("s{}", i);
		r.user_agent = "Yealink SIP-T46S 66.86.0.15"; // a phone's, not a scanner's
		switch (i % 4) {
		case 0: // From 201, no credentials: challenged
			r.method = "INVITE";
			r.from_user = "201";
			r.call_id = fmt::format("inv-{}@x", i);
			h.in(src, request(r));
			h.out(src, response(r, 407));
			break;
		case 1: // To 201, no credentials: challenged
			r.method = "REGISTER";
			r.ruri_user = "";
			r.from_user = r.to_user = "201";
			r.call_id = fmt::format("reg-{}@x", i);
			h.in(src, request(r));
			h.out(src, response(r, 401));
			break;
		case 2: // credentials for 201, refused
			r.method = "INVITE";
			r.from_user = "201";
			r.proxy_credentials = true;
			r.call_id = fmt::format("bad-{}@x", i);
			h.in(src, request(r));
			h.out(src, response(r, 403));
			break;
		default: // credentials for 201 answered before any digest check, or under load
			r.method = "INVITE";
			r.from_user = "201";
			r.proxy_credentials = true;
			r.call_id = fmt::format("busy-{}@x", i);
			h.in(src, request(r));
			h.out(src, response(r, i % 8 == 3 ? 503 : 404));
			break;
		}
		h.advance(250us); // 4000 spoofed requests a second
		if (i % 200 == 199) {
			phone_ops += 2;
			phone_failures += phone.authenticated("INVITE", 180, i % 400 == 199 ? 486 : 200) ? 0 : 1;
			phone_failures += phone.authenticated("REGISTER", 0, 200) ? 0 : 1;
		}
	}
	const auto& c = h.engine.counters();
	MESSAGE("shed ", c.shed, ", account_guarded ", c.account_guarded, ", account_blocked ", c.account_blocked,
	        ", throttled ", c.throttled, ", enumeration_held ", c.enumeration_held, ", pair evictions ",
	        c.pair_evictions, ", findings ", h.sink.findings.size());
	CHECK(phone_ops == 40);
	CHECK(phone_failures == 0);
	CHECK_FALSE(h.banned(phone.addr));
	CHECK(hook.tracker().counters().call_limit_dropped == 0);
	for (const auto& f : h.sink.findings)
		if (f.finding.detector == detect::Detector::CallLimit)
			FAIL("a call limit fired: ", f.finding.reason);
}

TEST_CASE("a spoofed flood past the global budget for unknown sources: the registered phone is not shed")
{
	// 20,000 spoofed REGISTERs a second from as many addresses, through a
	// source table of 512: the shed of unknown sources bites, and the flood's
	// inserts must not evict the phone's state (it would be unknown again).
	auto cfg = std::make_shared<engine::Config>();
	cfg->tables.sources = 512;
	Harness h(cfg);
	Phone phone{h};
	REQUIRE(phone.authenticated("REGISTER", 0, 200));
	int failures = 0;
	for (int i = 0; i < 20000; ++i) {
		const net::IpAddress src = spoofed(i);
		Req r;
		r.via_host = src.to_string();
		r.ruri_user = "";
		r.from_user = r.to_user = fmt::format("{}", 100 + i % 10);
		r.call_id = fmt::format("reg-{}@x", i);
		r.from_tag = fmt::format("s{}", i);
		h.in(src, request(r));
		h.advance(50us);
		if (i % 1000 == 999)
			failures += phone.authenticated("REGISTER", 0, 200) ? 0 : 1;
	}
	MESSAGE("shed ", h.engine.counters().shed, ", source evictions ", h.engine.counters().source_evictions);
	CHECK(h.engine.counters().shed > 0);
	CHECK(failures == 0);
	CHECK_FALSE(h.banned(phone.addr));
}

TEST_CASE("spoofed sources around a phone's address never get its /24 banned")
{
	// Source addresses are an identity too: 200 spoofed neighbours of the
	// phone in its /24 flood INVITEs (the prefix flood rule fires); the
	// senders are banned, the phone that authenticated there is not.
	Harness h;
	Phone phone{h};
	REQUIRE(phone.authenticated("REGISTER", 0, 200));
	for (int i = 0; i < 20000; ++i) {
		const net::IpAddress src = ip(fmt::format("198.51.100.{}", 30 + i % 200));
		Req r;
		r.method = "INVITE";
		r.via_host = src.to_string();
		r.call_id = fmt::format("n{}@x", i);
		r.from_tag = fmt::format("t{}", i);
		h.in(src, request(r));
		h.advance(500us);
	}
	CHECK(h.sink.count(detect::Detector::Flood) > 0);
	CHECK_FALSE(h.banned(phone.addr));
	CHECK(phone.authenticated("REGISTER", 0, 200));
	const auto bans = h.bans.active(h.now);
	MESSAGE(bans.size(), " host bans, ", h.engine.counters().shed, " shed");
	CHECK(!bans.empty());
	// The neighbours' excess over the prefix's rate is dropped all the same.
	CHECK(h.engine.counters().shed > 10000);
	for (const auto& b : bans)
		CHECK_MESSAGE(b.target.prefix_len == 32, "not a host ban: ", b.target.to_string());
}
