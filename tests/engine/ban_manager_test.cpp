// SPDX-License-Identifier: GPL-2.0-or-later
// Ban manager: ladder, history, prefix aggregation, policy, manual bans,
// expiry, snapshot/restore, the ban log lines it writes, and the safety rails
// on every ban path (findings, aggregation, manual, restore, imports).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

#include <doctest/doctest.h>

#include "agent/engine/ban_log.h"
#include "agent/engine/ban_manager.h"
#include "tests/engine/log_file.h"

using namespace sipguard;
using namespace std::chrono_literals;
using engine::BanOutcome;
using test::LogFile;
using test::read_all;

namespace {

net::IpAddress ip(std::string_view t) { return *net::IpAddress::parse(t); }

detect::Finding finding(const net::IpAddress& a, util::TimePoint at, detect::Detector d = detect::Detector::Scanner)
{
	detect::Finding f;
	f.source = a;
	f.detector = d;
	f.reason = "scanner User-Agent";
	f.at = at;
	f.evidence.add_count("requests", 1);
	f.evidence.add_sample("user_agent", "friendly-scanner");
	return f;
}

struct Recorder : engine::BanListener {
	std::vector<std::string> events;
	void on_ban(const engine::BanRecord& b) override { events.push_back("ban " + b.target.to_string()); }
	void on_unban(const engine::BanRecord& b, engine::UnbanCause c) override
	{
		events.push_back(std::string(c == engine::UnbanCause::Expired ? "expire " : "unban ") + b.target.to_string());
	}
};

const util::TimePoint t0{std::chrono::seconds(1'800'000'000)};

} // namespace

TEST_CASE("ban ladder: 10 min, 1 h, 24 h, 7 d, then 7 d again; expiry logged")
{
	engine::Config cfg;
	engine::BanManager m(cfg, nullptr);
	Recorder rec;
	m.set_listener(&rec);
	auto a = ip("203.0.113.5");
	auto t = t0;
	std::vector<std::chrono::minutes> expected{10min, 60min, 24h, 7 * 24h, 7 * 24h};
	for (size_t i = 0; i < expected.size(); ++i) {
		auto r = m.on_finding(finding(a, t), t);
		REQUIRE(r.outcome == BanOutcome::Banned);
		CHECK(r.ban->offence_count == i + 1);
		CHECK(r.ban->duration() == expected[i]);
		CHECK(m.is_banned(a, t));
		// A second finding while banned changes nothing.
		CHECK(m.on_finding(finding(a, t + 1s), t + 1s).outcome == BanOutcome::AlreadyBanned);
		t += expected[i];
		CHECK(m.expire(t) == 1);
		CHECK_FALSE(m.is_banned(a, t));
		t += 1min;
	}
	CHECK(rec.events.size() == 10);
	CHECK(rec.events[1] == "expire 203.0.113.5");
}

TEST_CASE("ban history: offences older than history_ttl no longer escalate")
{
	engine::Config cfg;
	cfg.ban.history_ttl = 24h;
	engine::BanManager m(cfg, nullptr);
	auto a = ip("203.0.113.6");
	CHECK(m.on_finding(finding(a, t0), t0).ban->duration() == 10min);
	m.expire(t0 + 2 * 24h);
	CHECK(m.on_finding(finding(a, t0 + 2 * 24h), t0 + 2 * 24h).ban->offence_count == 1);
}

TEST_CASE("prefix ban: three banned addresses of one /24 within the window ban the /24")
{
	engine::Config cfg;
	engine::BanManager m(cfg, nullptr);
	auto r1 = m.on_finding(finding(ip("198.18.1.1"), t0), t0);
	CHECK_FALSE(r1.prefix_ban);
	auto r2 = m.on_finding(finding(ip("198.18.1.2"), t0 + 1min), t0 + 1min);
	CHECK_FALSE(r2.prefix_ban);
	// Another /24 does not count.
	m.on_finding(finding(ip("198.18.2.3"), t0 + 2min), t0 + 2min);
	auto r3 = m.on_finding(finding(ip("198.18.1.3"), t0 + 3min), t0 + 3min);
	REQUIRE(r3.prefix_ban);
	CHECK(r3.prefix_ban->target.to_string() == "198.18.1.0/24");
	CHECK(m.is_banned(ip("198.18.1.200"), t0 + 3min));
	CHECK_FALSE(m.is_banned(ip("198.18.2.200"), t0 + 3min));
	auto e = m.explain(ip("198.18.1.3"), t0 + 3min);
	CHECK(e.bans.size() == 2); // host and prefix
}

TEST_CASE("prefix ban: IPv6 privacy addresses of one /64 aggregate; spread outside the window does not")
{
	engine::Config cfg;
	engine::BanManager m(cfg, nullptr);
	m.on_finding(finding(ip("2001:db8:1:2::a"), t0), t0);
	m.on_finding(finding(ip("2001:db8:1:2::b"), t0 + 1s), t0 + 1s);
	auto r = m.on_finding(finding(ip("2001:db8:1:2::c"), t0 + 2s), t0 + 2s);
	REQUIRE(r.prefix_ban);
	CHECK(r.prefix_ban->target.to_string() == "2001:db8:1:2::/64");

	engine::BanManager m2(cfg, nullptr);
	m2.on_finding(finding(ip("198.18.9.1"), t0), t0);
	m2.on_finding(finding(ip("198.18.9.2"), t0 + 11min), t0 + 11min);
	CHECK_FALSE(m2.on_finding(finding(ip("198.18.9.3"), t0 + 22min), t0 + 22min).prefix_ban);
}

TEST_CASE("policy: allowlist and trusted are never banned, and no prefix ban covers them")
{
	engine::Config cfg;
	cfg.allowlist.push_back(*net::Cidr::parse("198.18.5.7"));
	cfg.trusted.push_back(*net::Cidr::parse("2001:db8:99::/48"));
	engine::BanManager m(cfg, nullptr);
	CHECK(m.on_finding(finding(ip("198.18.5.7"), t0), t0).outcome == BanOutcome::Allowlisted);
	CHECK(m.on_finding(finding(ip("2001:db8:99::1"), t0), t0).outcome == BanOutcome::Allowlisted);
	m.on_finding(finding(ip("198.18.5.1"), t0), t0);
	m.on_finding(finding(ip("198.18.5.2"), t0), t0);
	auto r = m.on_finding(finding(ip("198.18.5.3"), t0), t0);
	CHECK(r.outcome == BanOutcome::Banned);
	CHECK_FALSE(r.prefix_ban);
	CHECK_FALSE(m.is_banned(ip("198.18.5.7"), t0));
	CHECK(m.ban(*net::Cidr::parse("198.18.5.0/24"), 1h, "manual", t0).outcome == BanOutcome::Allowlisted);
}

TEST_CASE("dry run: findings are logged as 'finding' lines, nothing is banned")
{
	engine::Config cfg;
	cfg.dry_run = true;
	LogFile lf;
	engine::BanManager m(cfg, &lf.log);
	CHECK(m.on_finding(finding(ip("203.0.113.9"), t0), t0).outcome == BanOutcome::DryRun);
	CHECK(m.active_count() == 0);
	std::string s = lf.text();
	CHECK(s.find("\"event\":\"finding\"") != std::string::npos);
	CHECK(s.find("dry run") != std::string::npos);
}

TEST_CASE("manual ban/unban, explain, snapshot and restore with remaining time")
{
	engine::Config cfg;
	engine::BanManager m(cfg, nullptr);
	auto r = m.ban(*net::Cidr::parse("192.0.2.0/24"), 2h, "operator", t0);
	REQUIRE(r.outcome == BanOutcome::Banned);
	CHECK(r.ban->detector == detect::Detector::Manual);
	CHECK(m.is_banned(ip("192.0.2.77"), t0));
	// The offence history records the operator's duration, not the ladder's.
	{
		auto s0 = m.snapshot(t0);
		REQUIRE(s0.history.size() == 1);
		REQUIRE_FALSE(s0.history[0].offences.empty());
		CHECK(s0.history[0].offences.back().duration == 2h);
	}
	m.on_finding(finding(ip("203.0.113.1"), t0), t0);
	auto snap = m.snapshot(t0 + 5min);
	REQUIRE(snap.bans.size() == 2);
	CHECK(snap.bans[0].remaining == 115min);
	CHECK(snap.bans[1].remaining == 5min);
	CHECK(m.snapshot(t0 + 30min).bans.size() == 1); // the 10 min ban is over
	REQUIRE(snap.history.size() == 2);

	// Restored with the remaining time as saved (the caller subtracts the
	// time it was down before calling restore()).
	engine::BanManager restored(cfg, nullptr);
	Recorder rec;
	restored.set_listener(&rec);
	restored.restore(snap, t0 + 1h);
	CHECK(rec.events.size() == 2);
	auto act = restored.active(t0 + 1h);
	REQUIRE(act.size() == 2);
	CHECK(restored.is_banned(ip("192.0.2.1"), t0 + 1h + 114min));
	CHECK_FALSE(restored.is_banned(ip("192.0.2.1"), t0 + 1h + 115min));
	CHECK(restored.is_banned(ip("203.0.113.1"), t0 + 1h + 4min));
	restored.expire(t0 + 1h + 5min);
	CHECK_FALSE(restored.is_banned(ip("203.0.113.1"), t0 + 1h + 5min));
	// History survives: the next offence of 203.0.113.1 is its second.
	CHECK(restored.on_finding(finding(ip("203.0.113.1"), t0 + 1h + 5min), t0 + 1h + 5min).ban->offence_count == 2);
	CHECK(restored.unban(*net::Cidr::parse("192.0.2.0/24"), t0 + 1h));
	CHECK_FALSE(restored.unban(*net::Cidr::parse("192.0.2.0/24"), t0 + 1h));
	CHECK_FALSE(restored.is_banned(ip("192.0.2.1"), t0 + 1h));
	auto e = restored.explain(ip("203.0.113.1"), t0 + 1h + 5min);
	REQUIRE(e.history);
	CHECK(e.history->count == 2);
	REQUIRE(e.bans.size() == 1);
	CHECK(e.bans[0].evidence_json.find("friendly-scanner") != std::string::npos);
}

TEST_CASE("ban log: one JSON line per event with the documented fields; reopen after rotation")
{
	char dir[] = "/tmp/sg-banlog-XXXXXX";
	REQUIRE(mkdtemp(dir));
	std::string path = std::string(dir) + "/bans.log";
	engine::BanLog log;
	log.set_human_stream(nullptr);
	util::Status opened = log.open(path);
	REQUIRE_MESSAGE(opened.ok(), opened.message);
	engine::Config cfg;
	engine::BanManager m(cfg, &log);
	m.on_finding(finding(ip("203.0.113.5"), t0 + 123ms), t0 + 123ms);
	std::string rotated = path + ".1";
	REQUIRE(std::rename(path.c_str(), rotated.c_str()) == 0);
	util::Status reopened = log.reopen();
	REQUIRE_MESSAGE(reopened.ok(), reopened.message);
	m.expire(t0 + 11min);

	auto slurp = [](const std::string& p) {
		FILE* f = std::fopen(p.c_str(), "r");
		REQUIRE(f);
		std::string s = read_all(f);
		std::fclose(f);
		return s;
	};
	std::string first = slurp(rotated);
	CHECK(first ==
	      "{\"ts\":\"2027-01-15T08:00:00.123Z\",\"event\":\"ban\",\"addr\":\"203.0.113.5\",\"prefix_len\":32,"
	      "\"detector\":\"scanner\",\"reason\":\"scanner User-Agent\",\"evidence\":{\"requests\":1,\"samples\":"
	      "{\"user_agent\":[\"friendly-scanner\"]}},\"duration_s\":600,\"offence_count\":1,"
	      "\"until\":\"2027-01-15T08:10:00.123Z\"}\n");
	std::string second = slurp(path);
	CHECK(second.find("\"event\":\"expire\"") != std::string::npos);
	CHECK(log.lines_written() == 2);
	std::remove(rotated.c_str());
	std::remove(path.c_str());
	rmdir(dir);
}

TEST_CASE("ban log: human line")
{
	engine::BanLogEvent e;
	e.ts = t0;
	e.event = "ban";
	e.target = *net::Cidr::parse("203.0.113.5");
	e.detector = "scanner";
	e.reason = "scanner User-Agent";
	e.evidence_text = "requests=1 user_agent=friendly-scanner";
	e.duration_s = 600;
	e.offence_count = 1;
	CHECK(engine::format_human(e) ==
	      "ban 203.0.113.5 for 10m (offence 1): scanner: scanner User-Agent [requests=1 user_agent=friendly-scanner]");
	CHECK(engine::format_rfc3339(t0) == "2027-01-15T08:00:00.000Z");
}

TEST_CASE("ban manager and ban log are safe to share between engine shards")
{
	engine::Config cfg;
	LogFile lf;
	engine::BanManager m(cfg, &lf.log);
	constexpr int kThreads = 4, kPer = 500;
	std::atomic<int> missing{0};
	std::vector<std::thread> threads;
	for (int t = 0; t < kThreads; ++t)
		threads.emplace_back([&, t] {
			for (int i = 0; i < kPer; ++i) {
				// Distinct /24 per address so no prefix bans muddy the count.
				auto a = net::IpAddress::v4(0x0a000000u | static_cast<uint32_t>(t) << 20 | static_cast<uint32_t>(i) << 8 | 1);
				m.on_finding(finding(a, t0), t0);
				if (!m.is_banned(a, t0))
					missing.fetch_add(1);
				(void)m.generation();
				(void)m.active_count();
			}
		});
	for (auto& th : threads)
		th.join();
	CHECK(missing.load() == 0);
	CHECK(m.active_count() == kThreads * kPer);
	CHECK(lf.log.lines_written() == kThreads * kPer);
	std::string s = lf.text();
	CHECK(std::count(s.begin(), s.end(), '\n') == kThreads * kPer);
	CHECK(m.expire(t0 + 10min) == kThreads * kPer);
}

// ---- the safety rails on every ban path ----

namespace {

net::Cidr cidr(std::string_view t) { return *net::Cidr::parse(t); }

} // namespace

TEST_CASE("rails, findings: every refused class is logged as a finding and never banned")
{
	engine::Config cfg;
	cfg.allowlist.push_back(cidr("198.51.100.0/28"));
	cfg.trusted.push_back(cidr("2001:db8:77::/48"));
	LogFile lf;
	engine::BanManager m(cfg, &lf.log);
	m.set_own_addresses({ip("192.0.2.10"), ip("2001:db8:1::10")}, t0);
	Recorder rec;
	m.set_listener(&rec);

	struct Case {
		const char* source;
		BanOutcome outcome;
		engine::BanRefusal why;
	};
	const Case cases[] = {
		{"127.0.0.5", BanOutcome::Refused, engine::BanRefusal::Loopback},
		{"::1", BanOutcome::Refused, engine::BanRefusal::Loopback},
		{"169.254.7.7", BanOutcome::Refused, engine::BanRefusal::LinkLocal},
		{"fe80::1", BanOutcome::Refused, engine::BanRefusal::LinkLocal},
		{"224.0.0.5", BanOutcome::Refused, engine::BanRefusal::Multicast},
		{"ff02::1", BanOutcome::Refused, engine::BanRefusal::Multicast},
		{"0.0.0.0", BanOutcome::Refused, engine::BanRefusal::Unspecified},
		{"192.0.2.10", BanOutcome::Refused, engine::BanRefusal::OwnAddress},
		{"2001:db8:1::10", BanOutcome::Refused, engine::BanRefusal::OwnAddress},
		{"::ffff:192.0.2.10", BanOutcome::Refused, engine::BanRefusal::OwnAddress},
		{"198.51.100.3", BanOutcome::Allowlisted, engine::BanRefusal::Allowlisted},
		{"2001:db8:77::9", BanOutcome::Allowlisted, engine::BanRefusal::Trusted},
	};
	for (const Case& c : cases) {
		CAPTURE(c.source);
		auto r = m.on_finding(finding(ip(c.source), t0), t0);
		CHECK(r.outcome == c.outcome);
		CHECK(r.refusal == c.why);
		CHECK_FALSE(r.drop());
		CHECK_FALSE(r.ban);
		CHECK(r.message.rfind("refusing to ban ", 0) == 0);
		CHECK_FALSE(m.is_banned(ip(c.source), t0));
	}
	CHECK(m.active_count() == 0);
	CHECK(rec.events.empty());
	CHECK(m.refusals().findings == std::size(cases));

	const std::string log = lf.text();
	CHECK(std::count(log.begin(), log.end(), '\n') == static_cast<long>(std::size(cases)));
	CHECK(log.find("\"event\":\"ban\"") == std::string::npos);
	CHECK(log.find("\"event\":\"finding\",\"addr\":\"127.0.0.5\",\"prefix_len\":32,\"detector\":\"scanner\","
	               "\"reason\":\"scanner User-Agent (not banned: refusing to ban 127.0.0.5: it covers loopback)\"") !=
	      std::string::npos);
	CHECK(log.find("(not banned: refusing to ban 192.0.2.10: it covers an address of this host (192.0.2.10))") !=
	      std::string::npos);
	CHECK(log.find("\"addr\":\"198.51.100.3\",\"prefix_len\":32,\"detector\":\"scanner\",\"reason\":\"scanner "
	               "User-Agent (allowlisted: not banned)\"") != std::string::npos);
	CHECK(log.find("(trusted: not banned)") != std::string::npos);
}

TEST_CASE("rails, findings: a prefix finding broader than the minimum is refused, a /24 is not")
{
	engine::Config cfg;
	engine::BanManager m(cfg, nullptr);
	auto f = finding(ip("45.67.89.10"), t0, detect::Detector::Flood);
	f.prefix_len = 8;
	auto r = m.on_finding(f, t0);
	CHECK(r.outcome == BanOutcome::Refused);
	CHECK(r.refusal == engine::BanRefusal::TooBroad);
	CHECK_FALSE(m.is_banned(ip("45.1.1.1"), t0));
	f.prefix_len = 24;
	r = m.on_finding(f, t0);
	REQUIRE(r.outcome == BanOutcome::Banned);
	CHECK(r.ban->target == cidr("45.67.89.0/24"));
}

TEST_CASE("rails, aggregation: no /24 or /64 over the host's, allowlisted or trusted addresses; logged")
{
	engine::Config cfg;
	cfg.trusted.push_back(cidr("2001:db8:5:6::99"));
	LogFile lf;
	engine::BanManager m(cfg, &lf.log);
	m.set_own_addresses({ip("203.0.113.1")}, t0);
	m.on_finding(finding(ip("203.0.113.20"), t0), t0);
	m.on_finding(finding(ip("203.0.113.21"), t0), t0);
	auto r = m.on_finding(finding(ip("203.0.113.22"), t0), t0);
	// The host bans stand; the /24 holding this host does not.
	CHECK(r.outcome == BanOutcome::Banned);
	CHECK_FALSE(r.prefix_ban);
	CHECK(r.prefix_refusal == engine::BanRefusal::OwnAddress);
	CHECK(m.is_banned(ip("203.0.113.22"), t0));
	CHECK_FALSE(m.is_banned(ip("203.0.113.1"), t0));
	CHECK_FALSE(m.is_banned(ip("203.0.113.99"), t0));

	m.on_finding(finding(ip("2001:db8:5:6::a"), t0), t0);
	m.on_finding(finding(ip("2001:db8:5:6::b"), t0), t0);
	r = m.on_finding(finding(ip("2001:db8:5:6::c"), t0), t0);
	CHECK_FALSE(r.prefix_ban);
	CHECK(r.prefix_refusal == engine::BanRefusal::Trusted);
	CHECK(m.refusals().aggregations == 2);
	CHECK(m.active_count() == 6);

	const std::string log = lf.text();
	CHECK(log.find("\"event\":\"prefix_ban\"") == std::string::npos);
	CHECK(log.find("\"event\":\"finding\",\"addr\":\"203.0.113.0\",\"prefix_len\":24,\"detector\":\"scanner\","
	               "\"reason\":\"3 addresses of 203.0.113.0/24 banned within 600s (not banned: refusing to ban "
	               "203.0.113.0/24: it covers an address of this host (203.0.113.1))\"") != std::string::npos);
	CHECK(log.find("\"addr\":\"2001:db8:5:6::\",\"prefix_len\":64") != std::string::npos);

	// An aggregation length below the minimum prefix is refused as too broad.
	engine::Config wide;
	wide.ban.prefix_len_v4 = 8;
	engine::BanManager w(wide, nullptr);
	w.on_finding(finding(ip("45.1.0.1"), t0), t0);
	w.on_finding(finding(ip("45.2.0.1"), t0), t0);
	r = w.on_finding(finding(ip("45.3.0.1"), t0), t0);
	CHECK_FALSE(r.prefix_ban);
	CHECK(r.prefix_refusal == engine::BanRefusal::TooBroad);
}

TEST_CASE("rails, manual: /0 and reserved, own, allowlisted, trusted always; force lifts only the minimum")
{
	engine::Config cfg;
	cfg.allowlist.push_back(cidr("198.51.100.7"));
	cfg.trusted.push_back(cidr("203.0.113.0/28"));
	engine::BanManager m(cfg, nullptr);
	m.set_own_addresses({ip("192.0.2.10"), ip("127.0.0.1"), ip("::1")}, t0);
	struct Case {
		const char* target;
		engine::BanRefusal why;
		BanOutcome outcome = BanOutcome::Refused;
	};
	const Case always[] = {
		{"0.0.0.0/0", engine::BanRefusal::WholeInternet},
		{"::/0", engine::BanRefusal::WholeInternet},
		{"::ffff:0:0/96", engine::BanRefusal::WholeInternet},
		{"127.0.0.0/8", engine::BanRefusal::Loopback},
		{"::1", engine::BanRefusal::Loopback},
		{"169.254.0.0/16", engine::BanRefusal::LinkLocal},
		{"fe80::/64", engine::BanRefusal::LinkLocal},
		{"239.0.0.0/8", engine::BanRefusal::Multicast},
		{"192.0.2.0/24", engine::BanRefusal::OwnAddress},
		{"198.51.100.0/24", engine::BanRefusal::Allowlisted, BanOutcome::Allowlisted},
		{"203.0.113.5", engine::BanRefusal::Trusted, BanOutcome::Allowlisted},
	};
	for (const Case& c : always)
		for (bool force : {false, true}) {
			CAPTURE(c.target);
			CAPTURE(force);
			auto r = m.ban(cidr(c.target), 1h, "operator", t0, force);
			CHECK(r.outcome == c.outcome);
			CHECK(r.refusal == c.why);
		}
	CHECK(m.active_count() == 0);
	CHECK(m.refusals().manual == 2 * std::size(always));

	auto r = m.ban(cidr("0.0.0.0/0"), 1h, "", t0, true);
	CHECK(r.message == "refusing to ban 0.0.0.0/0: it is the whole address family (/0)");
	r = m.ban(cidr("10.0.0.0/8"), 1h, "", t0);
	CHECK(r.outcome == BanOutcome::Refused);
	CHECK(r.refusal == engine::BanRefusal::TooBroad);
	CHECK(r.message ==
	      "refusing to ban 10.0.0.0/8: it is broader than the minimum prefix (minimum /16 for IPv4; --force overrides)");
	r = m.ban(cidr("10.0.0.0/8"), 1h, "", t0, true);
	CHECK(r.outcome == BanOutcome::Banned);
	CHECK(m.is_banned(ip("10.9.9.9"), t0));
	r = m.ban(cidr("2a01::/16"), 1h, "", t0);
	CHECK(r.refusal == engine::BanRefusal::TooBroad);
	CHECK(m.ban(cidr("2a01::/32"), 1h, "", t0).outcome == BanOutcome::Banned);

	// A reload's minimum applies to the next ban.
	cfg.ban.min_prefix_v4 = 24;
	m.reconfigure(cfg);
	CHECK(m.ban(cidr("45.67.0.0/16"), 1h, "", t0).refusal == engine::BanRefusal::TooBroad);
	CHECK(m.ban(cidr("45.67.89.0/24"), 1h, "", t0).outcome == BanOutcome::Banned);
	// Own addresses survive a reload (they are not config).
	CHECK(m.ban(cidr("192.0.2.10"), 1h, "", t0).refusal == engine::BanRefusal::OwnAddress);
}

TEST_CASE("rails, manual: the operator's reason is made printable and bounded")
{
	engine::Config cfg;
	LogFile lf;
	engine::BanManager m(cfg, &lf.log);
	auto r = m.ban(cidr("45.67.89.10"), 1h, "fraud\n{\"event\":\"unban\"}\x1b[2J\x07\xc3\xa9", t0);
	REQUIRE(r.ban);
	CHECK(r.ban->reason == "fraud?{\"event\":\"unban\"}?[2J?\xc3\xa9");
	r = m.ban(cidr("45.67.89.11"), 1h, std::string(5000, 'x'), t0);
	CHECK(r.ban->reason.size() == engine::kMaxReasonBytes);
	CHECK(m.ban(cidr("45.67.89.12"), 1h, "", t0).ban->reason == "manual ban");
	const std::string log = lf.text();
	CHECK(std::count(log.begin(), log.end(), '\n') == 3);
	CHECK(log.find('\x1b') == std::string::npos);
}

TEST_CASE("rails, restore: refused saved bans are skipped, logged and counted; forced ones stay")
{
	engine::Config cfg;
	engine::BanManager before(cfg, nullptr);
	REQUIRE(before.ban(cidr("192.0.2.0/24"), 2h, "", t0).outcome == BanOutcome::Banned);
	REQUIRE(before.ban(cidr("198.51.100.7"), 2h, "", t0).outcome == BanOutcome::Banned);
	REQUIRE(before.ban(cidr("10.0.0.0/8"), 2h, "", t0, true).outcome == BanOutcome::Banned);
	REQUIRE(before.ban(cidr("45.67.89.10"), 2h, "", t0).outcome == BanOutcome::Banned);
	auto snap = before.snapshot(t0);
	// A state file from an older agent, or edited by hand.
	engine::BanRecord loop;
	loop.target = cidr("127.0.0.0/8");
	loop.start = t0;
	loop.until = t0 + 1h;
	snap.bans.push_back({loop, 1h});
	engine::BanRecord mapped = loop;
	mapped.target = cidr("::ffff:203.0.113.9");
	mapped.reason = "old\nreason";
	snap.bans.push_back({mapped, 1h});
	engine::BanRecord over = loop;
	over.target = cidr("45.0.0.0/8");
	snap.bans.push_back({over, 0min}); // expired while stopped

	// While stopped, 198.51.100.7 was allowlisted and the host got 192.0.2.10.
	cfg.allowlist.push_back(cidr("198.51.100.7"));
	engine::BanManager after(cfg, nullptr);
	after.set_own_addresses({ip("192.0.2.10")}, t0);
	Recorder rec;
	after.set_listener(&rec);
	engine::RestoreResult rr = after.restore(snap, t0 + 1min);
	CHECK(rr.restored == 3);
	CHECK(rr.refused == 3);
	CHECK(rr.expired == 1);
	CHECK(after.refusals().restored == 3);
	CHECK(rec.events.size() == 3);
	CHECK_FALSE(after.is_banned(ip("192.0.2.77"), t0 + 1min));
	CHECK_FALSE(after.is_banned(ip("198.51.100.7"), t0 + 1min));
	CHECK_FALSE(after.is_banned(ip("127.0.0.1"), t0 + 1min));
	CHECK(after.is_banned(ip("10.1.2.3"), t0 + 1min)); // forced when made: kept
	CHECK(after.is_banned(ip("45.67.89.10"), t0 + 1min));
	// The mapped saved ban is restored as the IPv4 host it names.
	CHECK(after.is_banned(ip("203.0.113.9"), t0 + 1min));
	bool v4 = false;
	for (const auto& b : after.active(t0 + 1min))
		if (b.target == cidr("203.0.113.9")) {
			v4 = true;
			CHECK(b.reason == "old?reason");
		}
	CHECK(v4);
}

TEST_CASE("rails: a new own address lifts the ban covering it")
{
	engine::Config cfg;
	engine::BanManager m(cfg, nullptr);
	Recorder rec;
	m.set_listener(&rec);
	REQUIRE(m.ban(cidr("192.0.2.0/24"), 1h, "", t0).outcome == BanOutcome::Banned);
	REQUIRE(m.ban(cidr("45.67.89.10"), 1h, "", t0).outcome == BanOutcome::Banned);
	const uint64_t gen = m.generation();
	CHECK(m.set_own_addresses({ip("::ffff:192.0.2.33"), ip("2001:db8::1")}, t0 + 1min) == 1);
	CHECK(m.generation() > gen);
	CHECK(rec.events.back() == "unban 192.0.2.0/24");
	CHECK_FALSE(m.is_banned(ip("192.0.2.33"), t0 + 1min));
	CHECK(m.is_banned(ip("45.67.89.10"), t0 + 1min));
	const auto own = m.safety().own_addresses;
	REQUIRE(own.size() == 2);
	CHECK(std::find(own.begin(), own.end(), ip("192.0.2.33")) != own.end()); // stored unmapped
	CHECK(m.explain(ip("192.0.2.33"), t0).never_banned ==
	      "refusing to ban 192.0.2.33: it covers an address of this host (192.0.2.33)");
	CHECK(m.explain(ip("45.67.89.10"), t0).never_banned.empty());
}

TEST_CASE("rails: IPv4-mapped IPv6 is the IPv4 host it names, wherever it enters")
{
	engine::Config cfg;
	cfg.allowlist.push_back(cidr("::ffff:198.51.100.7"));
	cfg.trusted.push_back(cidr("::ffff:203.0.113.0/124"));
	engine::BanManager m(cfg, nullptr);
	// config
	CHECK(m.is_allowlisted(ip("198.51.100.7")));
	CHECK(m.is_trusted(ip("203.0.113.3")));
	CHECK(m.on_finding(finding(ip("198.51.100.7"), t0), t0).outcome == BanOutcome::Allowlisted);
	// manual ban, then IPv4 packets match it
	auto r = m.ban(cidr("::ffff:192.0.2.5"), 1h, "", t0);
	REQUIRE(r.outcome == BanOutcome::Banned);
	CHECK(r.ban->target.to_string() == "192.0.2.5");
	CHECK(r.ban->target.base.is_v4());
	CHECK(m.is_banned(ip("192.0.2.5"), t0));
	CHECK(m.is_banned(ip("::ffff:192.0.2.5"), t0));
	CHECK(m.ban(cidr("::ffff:192.0.2.0/120"), 1h, "", t0).ban->target.to_string() == "192.0.2.0/24");
	// explain
	auto e = m.explain(ip("::ffff:192.0.2.5"), t0);
	CHECK(e.bans.size() == 2);
	REQUIRE(e.history);
	CHECK(e.history->target.to_string() == "192.0.2.5");
	// unban
	CHECK(m.unban(cidr("::ffff:192.0.2.5"), t0));
	CHECK(m.unban(cidr("192.0.2.0/24"), t0));
	CHECK_FALSE(m.is_banned(ip("192.0.2.5"), t0));
	// findings: the host, and a detector's /64 becomes the IPv4 /24
	r = m.on_finding(finding(ip("::ffff:45.67.89.10"), t0), t0);
	REQUIRE(r.outcome == BanOutcome::Banned);
	CHECK(r.ban->target.to_string() == "45.67.89.10");
	auto f = finding(ip("::ffff:46.1.2.3"), t0, detect::Detector::Flood);
	f.prefix_len = 64;
	r = m.on_finding(f, t0);
	REQUIRE(r.outcome == BanOutcome::Banned);
	CHECK(r.ban->target.to_string() == "46.1.2.0/24");
}

TEST_CASE("rails, imports: the same check, never forced, no offence history")
{
	engine::Config cfg;
	engine::BanManager m(cfg, nullptr);
	m.set_own_addresses({ip("192.0.2.10")}, t0);
	auto r = m.import_ban(cidr("192.0.2.0/24"), 1h, "blocklist", "listed", t0);
	CHECK(r.outcome == BanOutcome::Refused);
	CHECK(r.refusal == engine::BanRefusal::OwnAddress);
	CHECK(m.import_ban(cidr("45.0.0.0/8"), 1h, "blocklist", "listed", t0).refusal == engine::BanRefusal::TooBroad);
	CHECK(m.import_ban(cidr("45.67.89.10"), 0min, "blocklist", "listed", t0).outcome == BanOutcome::Invalid);
	CHECK(m.refusals().imports == 2);
	r = m.import_ban(cidr("::ffff:45.67.89.10"), 1h, "crowdsec", "ssh-bf\n", t0);
	REQUIRE(r.outcome == BanOutcome::Banned);
	CHECK(r.ban->target.to_string() == "45.67.89.10");
	CHECK(r.ban->reason == "crowdsec: ssh-bf?");
	CHECK(r.ban->duration() == 1h);
	CHECK_FALSE(m.explain(ip("45.67.89.10"), t0).history);
}

TEST_CASE("ban events: one set of fields for the log, the followers and the listings")
{
	engine::Config cfg;
	engine::BanManager m(cfg, nullptr);
	auto r = m.on_finding(finding(ip("203.0.113.5"), t0), t0);
	REQUIRE(r.ban);
	const std::string ban = engine::format_json(engine::ban_event("ban", *r.ban, t0));
	const std::string listed = engine::format_json(engine::listed_ban(*r.ban, t0 + 1min));
	const std::string unban = engine::format_json(engine::ban_event("unban", *r.ban, t0 + 2min));
	CHECK(listed == ban.substr(0, ban.size() - 1) + ",\"remaining_s\":540}");
	CHECK(unban.find("\"event\":\"unban\"") != std::string::npos);
	CHECK(unban.find("\"duration_s\":600,\"offence_count\":1}") != std::string::npos);
	CHECK(unban.find("until") == std::string::npos);
	CHECK(engine::finding_note(r).empty());
}
