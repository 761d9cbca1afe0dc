// SPDX-License-Identifier: GPL-2.0-or-later
// The account as an identity beside the address (issue 18), through whole
// engines with real SIP text: failures per account shared by the shards.
#include <doctest/doctest.h>

#include <thread>

#include "agent/calls/engine_hook.h"
#include "agent/detect/account_table.h"
#include "tests/engine/harness.h"

using namespace sipguard;
using namespace sipguard::test;
using detect::Detector;
using engine::Verdict;

namespace {

// One guess at `user`'s password from `host`: credentials at once, refused.
Req guess(const std::string& user, const std::string& host, int n)
{
	Req r;
	r.method = "REGISTER";
	r.ruri_user = "";
	r.from_user = r.to_user = user;
	r.via_host = host;
	r.call_id = fmt::format("guess-{}-{}@{}", user, n, host);
	r.from_tag = fmt::format("g{}", n);
	r.branch = fmt::format("z9hG4bK-g{}", n);
	r.cseq = 2;
	r.credentials = true;
	return r;
}

// Two queue threads' engines as the daemon builds them: one ban manager, one
// account table, a hash seed each. The kernel sends a source to one queue
// only, so each source below is given to one shard.
struct Shards {
	explicit Shards(std::shared_ptr<engine::Config> c = std::make_shared<engine::Config>())
		: cfg(std::move(c)), bans(*cfg, nullptr), accounts(cfg->tables.accounts, 77),
		  a(cfg, bans, sink_a, 1, &accounts), b(cfg, bans, sink_b, 2, &accounts)
	{
	}
	std::shared_ptr<engine::Config> cfg;
	engine::BanManager bans;
	detect::AccountTable accounts;
	RecordingSink sink_a, sink_b;
	engine::Engine a, b;
	util::TimePoint now{std::chrono::seconds(1'800'000'000)};

	Verdict send(engine::Engine& e, const net::IpAddress& remote, nfq::Direction dir, std::string_view text)
	{
		nfq::PacketView p;
		const bool in = dir == nfq::Direction::In;
		p.src = in ? remote : ip("192.0.2.1");
		p.dst = in ? ip("192.0.2.1") : remote;
		p.sport = 5060;
		p.dport = 5060;
		p.l4 = nfq::L4::Udp;
		p.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
		return e.on_packet(p, dir, now);
	}
	// Guess i at user 105 from 198.18.i.9, on shard a or b by i's parity,
	// refused; 500 ms later. True when the address is banned.
	bool guess_from(int i)
	{
		auto src = ip(fmt::format("198.18.{}.9", i));
		engine::Engine& e = i % 2 ? b : a;
		Req r = guess("105", src.to_string(), i);
		send(e, src, nfq::Direction::In, request(r));
		send(e, src, nfq::Direction::Out, response(r, 403));
		now += std::chrono::milliseconds(500);
		return bans.is_banned(src, now);
	}
};

} // namespace

TEST_CASE("accounts: failures for one account are counted once over all shards")
{
	// 20 addresses in 20 /24s, one failure each, spread over two queue
	// threads: max_failures_per_user (20) counts them all, not 10 per shard
	// (the guard, which would stop them sooner, is off here).
	auto cfg = std::make_shared<engine::Config>();
	cfg->account.enabled = false;
	Shards s(cfg);
	int banned = 0;
	for (int i = 0; i < 20; ++i)
		banned += s.guess_from(i) ? 1 : 0;
	CHECK(banned == 1); // the 20th failure, on shard b
	CHECK(s.bans.is_banned(ip("198.18.19.9"), s.now));
	REQUIRE(s.sink_b.findings.size() == 1);
	CHECK(s.sink_b.findings[0].finding.reason == "failed authentication on a user under distributed attack");
}

TEST_CASE("accounts: three failing addresses over two shards put the account under guard")
{
	// Per shard, two and one addresses: only the shared table sees three.
	Shards s;
	CHECK_FALSE(s.guess_from(0));
	CHECK_FALSE(s.guess_from(1));
	CHECK(s.guess_from(2));
	// A fourth address on the other shard: its credentials are dropped.
	auto fourth = ip("198.18.3.9");
	CHECK(s.send(s.b, fourth, nfq::Direction::In, request(guess("105", "198.18.3.9", 3))) == Verdict::Drop);
	CHECK(s.b.counters().account_guarded == 1);
}

TEST_CASE("accounts: the shared table is safe under concurrent shards")
{
	// Two threads fail authentications for the same 50 accounts at once:
	// every failure is counted, none lost (run under TSan to see the lock).
	detect::AccountTable t(64, 5);
	const auto now = util::TimePoint(std::chrono::seconds(1'800'000'000));
	auto work = [&](uint64_t source) {
		for (int i = 0; i < 20000; ++i)
			(void)t.on_failure(t.hash(fmt::format("{}", i % 50)), source, now, std::chrono::minutes(10),
			                   detect::AccountConfig{});
	};
	std::thread x(work, 1), y(work, 2);
	x.join();
	y.join();
	for (int u = 0; u < 50; ++u) {
		auto f = t.on_failure(t.hash(fmt::format("{}", u)), 3, now, std::chrono::minutes(10), detect::AccountConfig{});
		CHECK(f.failures == 801);
		CHECK(f.sources == 3);
	}
	CHECK(t.evictions() == 0);
}

namespace {

struct Cycle {
	int accepted = 0; // requests the engine let through
	int dropped = 0;
	bool failed = false; // the credentials reached the PBX and were refused
};

// One registration of `user` from port `port` of `office`: REGISTER, 401,
// REGISTER with credentials, then 200 (or 401 for a wrong password). A
// request the engine drops gets no response.
Cycle register_once(Harness& h, const net::IpAddress& office, const std::string& user, uint16_t port, int n,
                    bool good)
{
	Cycle c;
	Req r;
	r.method = "REGISTER";
	r.ruri_user = "";
	r.from_user = r.to_user = user;
	r.via_host = office.is_v6() ? "[" + office.to_string() + "]" : office.to_string();
	r.via_port = port;
	r.call_id = fmt::format("reg-{}@office", user);
	r.from_tag = fmt::format("t{}", user);
	r.branch = fmt::format("z9hG4bK-{}-{}", user, n);
	r.cseq = static_cast<uint32_t>(2 * n + 1);
	if (h.in(office, request(r), port) == Verdict::Drop) {
		++c.dropped;
		return c;
	}
	++c.accepted;
	h.out(office, response(r, 401), port);
	Req a = r;
	a.cseq += 1;
	a.branch += "-a";
	a.credentials = true;
	if (h.in(office, request(a), port) == Verdict::Drop) {
		++c.dropped;
		return c;
	}
	++c.accepted;
	h.out(office, response(a, good ? 200 : 401), port);
	c.failed = !good;
	return c;
}

// The requests of a call authenticated with a 407: the INVITE, its ACK, the
// INVITE with credentials, its ACK, the BYE.
struct CallLegs {
	Req invite, ack, auth, ack2, bye;
};
CallLegs call_legs(const Req& invite)
{
	CallLegs c{invite, invite, invite, {}, {}};
	c.ack.method = "ACK";
	c.ack.body.clear();
	c.auth.cseq = 2;
	c.auth.branch += "-a";
	c.auth.proxy_credentials = true;
	c.ack2 = c.auth;
	c.ack2.method = "ACK";
	c.ack2.body.clear();
	c.bye = c.ack2;
	c.bye.method = "BYE";
	c.bye.cseq = 3;
	c.bye.branch += "-b";
	return c;
}

// A call from `user`: INVITE, 407, ACK, INVITE with credentials, 200, ACK, BYE.
Cycle call_once(Harness& h, const net::IpAddress& office, const std::string& user, uint16_t port, int n)
{
	Cycle c;
	Req r;
	r.method = "INVITE";
	r.ruri_user = r.to_user = fmt::format("0049301234{:03}", n % 1000);
	r.from_user = user;
	r.via_host = office.to_string();
	r.via_port = port;
	r.call_id = fmt::format("call-{}-{}@office", user, n);
	r.from_tag = fmt::format("c{}", n);
	r.branch = fmt::format("z9hG4bK-c{}-{}", user, n);
	auto step = [&](Req& m, int status) {
		if (h.in(office, request(m), port) == Verdict::Drop) {
			++c.dropped;
			return false;
		}
		++c.accepted;
		if (status)
			h.out(office, response(m, status), port);
		return true;
	};
	CallLegs l = call_legs(r);
	(void)(step(l.invite, 407) && step(l.ack, 0) && step(l.auth, 200) && step(l.ack2, 0) && step(l.bye, 200));
	return c;
}

} // namespace

TEST_CASE("accounts: office NAT with one misconfigured phone among ten: the nine keep working")
{
	// Ten phones behind one address, one with an old password retrying its
	// REGISTER every 20 s; the nine re-register every minute and call. The
	// evaluation's sipguard banned the office after 81 s.
	Harness h;
	auto office = ip("198.51.100.80");
	int good_dropped = 0, bad_failures = 0, bad_dropped_after = 0;
	for (int t = 0; t < 600; t += 20) {
		for (int p = 0; p < 9 && t % 60 == 0; ++p) {
			const std::string user = std::to_string(201 + p);
			const auto port = static_cast<uint16_t>(5060 + p);
			good_dropped += register_once(h, office, user, port, t / 60, true).dropped;
			good_dropped += call_once(h, office, user, port, t + p).dropped;
			h.advance(100ms);
		}
		Cycle bad = register_once(h, office, "210", 5069, t / 20, false);
		bad_failures += bad.failed ? 1 : 0;
		if (bad_failures >= 5 && !bad.failed)
			bad_dropped_after += bad.dropped;
		h.advance(20s - (t % 60 == 0 ? 900ms : 0ms));
	}
	CHECK_FALSE(h.banned(office));
	CHECK(good_dropped == 0);
	CHECK(bad_failures == 5);
	CHECK(bad_dropped_after > 0);
	CHECK(h.engine.counters().account_blocked > 0);
	// One finding, naming the account and saying why the source stays.
	REQUIRE(h.sink.findings.size() == 1);
	const auto& f = h.sink.findings[0];
	CHECK(f.finding.detector == Detector::Account);
	CHECK(f.outcome == engine::BanOutcome::Reported);
	std::string json;
	f.finding.evidence.append_json(json);
	CHECK(json.find("\"account\":[\"210\"]") != std::string::npos);
	CHECK(json.find("\"identity\":[\"source+account\"]") != std::string::npos);
	CHECK(json.find("\"block_s\":600") != std::string::npos);

	// The block ends after 10 min; the phone still fails: one failure blocks
	// it again, for the ladder's next step (1 h). The nine are untouched.
	h.advance(10min);
	CHECK(register_once(h, office, "210", 5069, 1000, false).failed);
	CHECK(register_once(h, office, "210", 5069, 1001, false).dropped == 1);
	REQUIRE(h.sink.findings.size() == 2);
	std::string json2;
	h.sink.findings[1].finding.evidence.append_json(json2);
	CHECK(json2.find("\"block_s\":3600") != std::string::npos);
	CHECK(register_once(h, office, "201", 5060, 1000, true).dropped == 0);
	CHECK_FALSE(h.banned(office));
}

TEST_CASE("accounts: a known-good source failing for several accounts is banned after all")
{
	// Guessing from behind one valid account: the pairs block one account
	// each, the third failing account bans the source.
	Harness h;
	auto src = ip("198.51.100.81");
	register_once(h, src, "201", 5060, 0, true);
	for (int i = 0; i < 3 && !h.banned(src); ++i) {
		register_once(h, src, std::to_string(300 + i), 5061, 1, false);
		h.advance(2s);
	}
	CHECK(h.banned(src));
	REQUIRE(h.first_finding(Detector::BruteForce));
	CHECK(h.first_finding(Detector::BruteForce)->reason ==
	      "failed authentications for several accounts from one source");
}

TEST_CASE("accounts: a source where no account ever authenticated is banned as before")
{
	Harness h;
	auto src = ip("198.51.100.82");
	int failures = 0;
	for (int i = 0; i < 10 && !h.banned(src); ++i) {
		failures += register_once(h, src, "209", 5060, i, false).failed ? 1 : 0;
		h.advance(20s);
	}
	CHECK(h.banned(src));
	CHECK(failures == 5);
	CHECK(h.sink.count(Detector::Account) == 0);
}

namespace {

// A trunk authenticating every call as one account, `cps` calls a second
// for `seconds`, each call 3 s long: INVITE, 100, 407, ACK, INVITE with
// credentials, 100, 180, 200, ACK, then BYE, 200. Through the engine and the
// real call tracker with their default configs. Returns the trunk's requests
// the engine dropped.
int run_trunk(Harness& h, const net::IpAddress& trunk, int cps, int seconds, int first_call)
{
	struct Bye {
		util::TimePoint at;
		Req bye;
	};
	std::vector<Bye> byes;
	int dropped = 0;
	auto in = [&](const Req& m) {
		if (h.in(trunk, request(m)) == Verdict::Accept)
			return true;
		++dropped;
		return false;
	};
	const util::Duration gap = std::chrono::microseconds(1'000'000 / cps);
	for (int i = first_call; i < first_call + cps * seconds; ++i) {
		Req r;
		r.method = "INVITE";
		r.ruri_user = r.to_user = fmt::format("0049301{:07}", i);
		r.from_user = "trunk1";
		r.via_host = trunk.to_string();
		r.call_id = fmt::format("trunk-{}@{}", i, trunk.to_string());
		r.from_tag = fmt::format("tt{}", i);
		r.branch = fmt::format("z9hG4bK-t{}", i);
		r.body = "v=0\r\no=- 1 1 IN IP4 " + trunk.to_string() + "\r\ns=-\r\nc=IN IP4 " + trunk.to_string() +
		         "\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n";
		CallLegs l = call_legs(r);
		// A request the engine drops gets no response: the call fails there
		// (the trunk's retransmissions are left out).
		if (in(l.invite)) {
			h.out(trunk, response(l.invite, 100));
			h.out(trunk, response(l.invite, 407));
			if (in(l.ack) && in(l.auth)) {
				h.out(trunk, response(l.auth, 100));
				h.out(trunk, response(l.auth, 180));
				h.out(trunk, response(l.auth, 200));
				in(l.ack2);
				byes.push_back({h.now + 3s, l.bye});
			}
		}
		h.advance(gap);
		while (!byes.empty() && byes.front().at <= h.now) {
			if (in(byes.front().bye))
				h.out(trunk, response(byes.front().bye, 200));
			byes.erase(byes.begin());
		}
	}
	for (const auto& b : byes)
		if (in(b.bye))
			h.out(trunk, response(b.bye, 200));
	return dropped;
}

} // namespace

TEST_CASE("accounts: an authenticated trunk at 20, then 40 calls/s, with the default config")
{
	// The evaluation's sipguard banned it as a flood after 11.5 s (1,100
	// calls failed): the call limit counted the 407 retry, its dropped
	// INVITEs were retransmitted, the flood detector banned the trunk.
	Harness h;
	calls::EngineHook hook{calls::Config{}};
	h.engine.set_call_hook(&hook);
	auto trunk = ip("198.51.100.90");
	CHECK(run_trunk(h, trunk, 20, 60, 0) == 0);
	CHECK(run_trunk(h, trunk, 40, 60, 100000) == 0);
	for (const auto& f : h.sink.findings)
		MESSAGE("unexpected finding: ", detect::to_string(f.finding.detector), ": ", f.finding.reason);
	CHECK(h.sink.findings.empty());
	CHECK_FALSE(h.banned(trunk));
	CHECK(hook.tracker().counters().call_limit_dropped == 0);
	CHECK(hook.tracker().counters().dialogs_confirmed == 3600);
}

TEST_CASE("accounts: a configured per-account rate throttles the trunk, never bans it")
{
	auto cfg = std::make_shared<engine::Config>();
	cfg->account.rate = {30, 60}; // requests with the account's credentials per second
	Harness h(cfg);
	auto trunk = ip("198.51.100.91");
	// 40 calls/s: 40 INVITEs and 40 BYEs with credentials a second.
	const int dropped = run_trunk(h, trunk, 40, 30, 0);
	MESSAGE("dropped ", dropped, " of ", 40 * 30 * 6, " requests");
	CHECK(dropped > 0);
	CHECK(h.engine.counters().throttled == static_cast<uint64_t>(dropped));
	CHECK_FALSE(h.banned(trunk));
	// Reported once a minute at most: 30 s, one finding.
	REQUIRE(h.sink.count(Detector::Account) == 1);
	const auto* f = h.first_finding(Detector::Account);
	CHECK(f->wants_ban == false);
	std::string json;
	f->evidence.append_json(json);
	CHECK(json.find("\"account\":[\"trunk1\"]") != std::string::npos);
	CHECK(h.sink.count(Detector::Flood) == 0);
}

TEST_CASE("accounts: an authenticated source over the flood buckets is throttled, an unauthenticated one banned")
{
	Harness h;
	auto phone = ip("198.51.100.92");
	register_once(h, phone, "201", 5060, 0, true); // an account authenticated from it
	int dropped = 0;
	for (int i = 0; i < 3000; ++i) {
		Req r;
		r.method = "OPTIONS";
		r.via_host = "198.51.100.92";
		r.call_id = fmt::format("opt-{}", i);
		dropped += h.in(phone, request(r)) == Verdict::Drop ? 1 : 0;
		h.advance(1ms); // 1000/s, past 10/s x 10
	}
	CHECK(dropped > 0);
	CHECK_FALSE(h.banned(phone));
	CHECK(h.engine.counters().throttled == static_cast<uint64_t>(dropped));
	REQUIRE(h.sink.count(Detector::Flood) == 1); // once a minute
	CHECK(h.first_finding(Detector::Flood)->wants_ban == false);
	CHECK(h.sink.findings[0].outcome == engine::BanOutcome::Reported);
}

namespace {

// One svcrack-like guess at `user` from `src`: REGISTER, 401, REGISTER with
// credentials, 403. True when the credentials reached the PBX.
bool crack_once(Harness& h, const net::IpAddress& src, const std::string& user, int n)
{
	Req r;
	r.method = "REGISTER";
	r.ruri_user = "";
	r.from_user = r.to_user = user;
	r.via_host = src.is_v6() ? "[" + src.to_string() + "]" : src.to_string();
	r.user_agent = "Zoiper rv2.10.11.3";
	r.call_id = fmt::format("crack-{}@x", n);
	r.from_tag = fmt::format("k{}", n);
	r.branch = fmt::format("z9hG4bK-k{}", n);
	if (h.in(src, request(r)) == Verdict::Drop)
		return false;
	h.out(src, response(r, 401));
	Req a = r;
	a.cseq = 2;
	a.branch += "-a";
	a.credentials = true;
	if (h.in(src, request(a)) == Verdict::Drop)
		return false;
	h.out(src, response(a, 403));
	return true;
}

} // namespace

TEST_CASE("accounts: distributed guessing of one account, 20 addresses x 3 guesses, interleaved")
{
	// The evaluation: 58 of 60 guesses reached the PBX before the per-user
	// rule banned the sources. The owner's phone, registered before the
	// attack from its own address, keeps working.
	Harness h;
	auto owner = ip("198.51.100.95");
	CHECK(register_once(h, owner, "105", 5060, 0, true).dropped == 0);
	int reached = 0, n = 0;
	for (int round = 0; round < 3; ++round)
		for (int i = 0; i < 20; ++i) {
			auto src = ip(fmt::format("203.0.{}.66", 100 + i));
			if (!h.banned(src))
				reached += crack_once(h, src, "105", n++) ? 1 : 0;
			h.advance(300ms);
			if (i % 5 == 0) {
				Cycle c = register_once(h, owner, "105", 5060, 1 + n, true);
				CHECK(c.dropped == 0);
				CHECK_FALSE(c.failed);
			}
		}
	MESSAGE(reached, " guesses reached the PBX");
	CHECK(reached <= 10);
	CHECK_FALSE(h.banned(owner));
	int banned = 0;
	for (int i = 0; i < 20; ++i)
		banned += h.banned(ip(fmt::format("203.0.{}.66", 100 + i))) ? 1 : 0;
	MESSAGE(banned, " of the 20 addresses banned");
	CHECK(banned == 20); // each after its first failure (a dropped guess counts)
	// The guard is reported once, naming the account.
	REQUIRE(h.sink.count(Detector::Account) == 1);
	std::string json;
	h.first_finding(Detector::Account)->evidence.append_json(json);
	CHECK(json.find("\"account\":[\"105\"]") != std::string::npos);
	CHECK(json.find("\"identity\":[\"account\"]") != std::string::npos);
}

TEST_CASE("accounts: one address per guess inside an IPv6 /64")
{
	// The evaluation: 35 guesses reached the PBX before the /64 was banned.
	Harness h;
	int reached = 0;
	for (int i = 0; i < 100; ++i) {
		auto src = ip(fmt::format("2001:db8:66:1::{:x}", 0x100 + i));
		if (h.banned(src))
			break;
		reached += crack_once(h, src, "105", i) ? 1 : 0;
		h.advance(200ms);
	}
	MESSAGE(reached, " guesses reached the PBX");
	CHECK(reached <= 10);
	auto active = h.bans.active(h.now);
	bool prefix = false;
	for (const auto& b : active)
		prefix = prefix || (b.target.prefix_len == 64 && b.target.base == ip("2001:db8:66:1::"));
	CHECK(prefix);
	CHECK(h.engine.counters().malformed == 0);
}

TEST_CASE("negative: an IPv6 office, one address per phone, one phone with a wrong password")
{
	// Nothing but the bad phone's own address may be banned: the /64 is one
	// where accounts authenticate.
	Harness h;
	for (int t = 0; t < 300; t += 20) {
		for (int p = 0; p < 5 && t % 60 == 0; ++p)
			register_once(h, ip(fmt::format("2001:db8:77:2::{}", 10 + p)), std::to_string(201 + p), 5060, t, true);
		register_once(h, ip("2001:db8:77:2::99"), "299", 5060, t, false);
		h.advance(20s);
	}
	CHECK(h.banned(ip("2001:db8:77:2::99")));
	for (int p = 0; p < 5; ++p)
		CHECK_FALSE(h.banned(ip(fmt::format("2001:db8:77:2::{}", 10 + p))));
	for (const auto& b : h.bans.active(h.now))
		CHECK(b.target.prefix_len == 128);
	CHECK(h.engine.counters().malformed == 0);
}

TEST_CASE("accounts: over TCP an authenticated source's excess is reported, not dropped (that would end the connection)")
{
	Harness h;
	auto phone = ip("198.51.100.93");
	register_once(h, phone, "201", 5060, 0, true);
	uint32_t seq = 1000;
	int dropped = 0;
	for (int i = 0; i < 3000; ++i) {
		Req r;
		r.method = "OPTIONS";
		r.via_host = "198.51.100.93";
		r.transport = "TCP";
		r.call_id = fmt::format("topt-{}", i);
		const std::string text = request(r);
		dropped += h.send(phone, 40000, nfq::Direction::In, text, nfq::L4::Tcp, seq, 0x18) == Verdict::Drop ? 1 : 0;
		seq += static_cast<uint32_t>(text.size());
		h.advance(1ms);
	}
	CHECK(dropped == 0);
	CHECK(h.engine.counters().throttled == 0);
	CHECK_FALSE(h.banned(phone));
	REQUIRE(h.sink.count(Detector::Flood) == 1);
	CHECK(h.first_finding(Detector::Flood)->wants_ban == false);
}
