// SPDX-License-Identifier: GPL-2.0-or-later
// The account as an identity beside the address (issue 18), through whole
// engines with real SIP text: failures per account shared by the shards.
#include <doctest/doctest.h>

#include <thread>

#include "agent/detect/account_table.h"
#include "tests/engine/harness.h"

using namespace sipguard;
using namespace sipguard::test;
using detect::Detector;
using engine::Verdict;

namespace {

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
};

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

} // namespace

TEST_CASE("accounts: failures for one account are counted once over all shards")
{
	// 20 addresses in 20 /24s, one failure each, spread over two queue
	// threads: max_failures_per_user (20) counts them all, not 10 per shard.
	Shards s;
	int banned = 0;
	for (int i = 0; i < 20; ++i) {
		auto src = ip(fmt::format("198.18.{}.9", i));
		engine::Engine& e = i % 2 ? s.b : s.a;
		Req r = guess("105", src.to_string(), i);
		s.send(e, src, nfq::Direction::In, request(r));
		s.send(e, src, nfq::Direction::Out, response(r, 403));
		banned += s.bans.is_banned(src, s.now) ? 1 : 0;
		s.now += std::chrono::milliseconds(500);
	}
	CHECK(banned == 1); // the 20th failure, on shard b
	CHECK(s.bans.is_banned(ip("198.18.19.9"), s.now));
	REQUIRE(s.sink_b.findings.size() == 1);
	CHECK(s.sink_b.findings[0].finding.reason == "failed authentication on a user under distributed attack");
}

TEST_CASE("accounts: the shared table is safe under concurrent shards")
{
	// Two threads fail authentications for the same 50 accounts at once:
	// every failure is counted, none lost (run under TSan to see the lock).
	detect::AccountTable t(64, 5);
	const auto now = util::TimePoint(std::chrono::seconds(1'800'000'000));
	auto work = [&](uint64_t source) {
		for (int i = 0; i < 20000; ++i)
			(void)t.on_failure(t.hash(fmt::format("{}", i % 50)), source, now, std::chrono::minutes(10));
	};
	std::thread x(work, 1), y(work, 2);
	x.join();
	y.join();
	for (int u = 0; u < 50; ++u) {
		auto f = t.on_failure(t.hash(fmt::format("{}", u)), 3, now, std::chrono::minutes(10));
		CHECK(f.failures == 801);
		CHECK(f.sources == 3);
	}
	CHECK(t.evictions() == 0);
}
