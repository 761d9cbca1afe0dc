// SPDX-License-Identifier: GPL-2.0-or-later
// Ban manager: ladder, history, prefix aggregation, policy, manual bans,
// expiry, snapshot/restore, and the ban log lines it writes.
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

using namespace sipguard;
using namespace std::chrono_literals;
using engine::BanOutcome;

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

std::string read_all(FILE* f)
{
	std::rewind(f);
	std::string s;
	char buf[4096];
	size_t n;
	while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
		s.append(buf, n);
	return s;
}

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
	FILE* f = std::tmpfile();
	engine::BanLog log;
	log.attach(f);
	log.set_human_stream(nullptr);
	engine::BanManager m(cfg, &log);
	CHECK(m.on_finding(finding(ip("203.0.113.9"), t0), t0).outcome == BanOutcome::DryRun);
	CHECK(m.active_count() == 0);
	std::string s = read_all(f);
	CHECK(s.find("\"event\":\"finding\"") != std::string::npos);
	CHECK(s.find("dry run") != std::string::npos);
	std::fclose(f);
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
	std::string err;
	REQUIRE(log.open(path, &err));
	engine::Config cfg;
	engine::BanManager m(cfg, &log);
	m.on_finding(finding(ip("203.0.113.5"), t0 + 123ms), t0 + 123ms);
	std::string rotated = path + ".1";
	REQUIRE(std::rename(path.c_str(), rotated.c_str()) == 0);
	REQUIRE(log.reopen(&err));
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
	      "{\"user_agent\":[\"friendly-scanner\"]}},\"duration_s\":600,\"offence_count\":1}\n");
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
	FILE* f = std::tmpfile();
	engine::BanLog log;
	log.attach(f);
	log.set_human_stream(nullptr);
	engine::BanManager m(cfg, &log);
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
	CHECK(log.lines_written() == kThreads * kPer);
	std::string s = read_all(f);
	CHECK(std::count(s.begin(), s.end(), '\n') == kThreads * kPer);
	CHECK(m.expire(t0 + 10min) == kThreads * kPer);
	std::fclose(f);
}
