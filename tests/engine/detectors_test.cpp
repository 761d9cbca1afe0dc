// SPDX-License-Identifier: GPL-2.0-or-later
// Detectors through the whole engine (real parser, controlled clock): each
// attack from THREATS.md is banned by the right detector within its target,
// and the legitimate look-alikes are not.
#include <doctest/doctest.h>

#include "tests/engine/harness.h"

using namespace sipguard;
using namespace sipguard::test;
using detect::Detector;
using engine::Verdict;

namespace {

Req svmap_probe(int n)
{
	Req r;
	r.method = "OPTIONS";
	r.ruri_user = "100";
	r.domain = "192.0.2.1";
	r.from_display = "sipvicious";
	r.from_user = "100";
	r.to_user = "100";
	r.from_tag = fmt::format("{:08x}", 0x31337000 + n);
	r.call_id = fmt::format("{}@1.1.1.1", 600000000 + n);
	r.user_agent = "friendly-scanner";
	r.via_host = "203.0.113.5";
	r.branch = fmt::format("z9hG4bK-{}", 1000 + n);
	return r;
}

Req phone_register(const std::string& user, const std::string& host, int n, bool creds)
{
	Req r;
	r.method = "REGISTER";
	r.ruri_user = "";
	r.from_user = r.to_user = user;
	r.from_tag = fmt::format("tag{}", user);
	r.call_id = fmt::format("reg-{}@{}", user, host);
	r.cseq = static_cast<uint32_t>(n);
	r.via_host = host;
	r.branch = fmt::format("z9hG4bK-{}-{}", user, n);
	r.credentials = creds;
	return r;
}

} // namespace

TEST_CASE("scanner: svmap is banned on its first probe by its User-Agent")
{
	Harness h;
	auto attacker = ip("203.0.113.5");
	Req r = svmap_probe(0);
	CHECK(h.in(attacker, request(r)) == Verdict::Drop);
	REQUIRE(h.sink.findings.size() == 1);
	const auto& f = h.sink.findings[0];
	CHECK(f.finding.detector == Detector::Scanner);
	CHECK(f.outcome == engine::BanOutcome::Banned);
	CHECK(f.finding.source == attacker);
	CHECK(h.banned(attacker));
	// Later packets from it are dropped before parsing.
	CHECK(h.in(attacker, request(svmap_probe(1))) == Verdict::Drop);
	CHECK(h.engine.counters().dropped_banned == 1);
}

TEST_CASE("scanner: a From display name 'sipvicious' is a signature even with a phone User-Agent")
{
	Harness h;
	Req r = svmap_probe(0);
	r.user_agent = "Grandstream GXP2160 1.0.11.3";
	CHECK(h.in(ip("203.0.113.5"), request(r)) == Verdict::Drop);
	REQUIRE(h.first_finding(Detector::Scanner));
	CHECK(h.first_finding(Detector::Scanner)->reason == "scanner From");
}

TEST_CASE("scanner: OPTIONS probes to several users with a phone User-Agent are caught by behaviour")
{
	Harness h;
	auto attacker = ip("203.0.113.9");
	int sent = 0;
	for (int i = 0; i < 20 && !h.banned(attacker); ++i) {
		Req r;
		r.method = "OPTIONS";
		r.ruri_user = r.to_user = std::to_string(100 + i);
		r.from_user = "1000";
		r.user_agent = "Yealink SIP-T46S 66.86.0.15";
		r.via_host = "203.0.113.9";
		r.call_id = fmt::format("opt-{}@x", i);
		r.branch = fmt::format("z9hG4bK-o{}", i);
		h.in(attacker, request(r));
		++sent;
		h.out(attacker, response(r, 200));
		h.advance(5ms);
	}
	CHECK(h.banned(attacker));
	CHECK(sent == static_cast<int>(h.cfg->scanner.probe_users));
	REQUIRE(h.first_finding(Detector::Scanner));
}

TEST_CASE("scanner: the PBX's own OPTIONS keep-alives to its trunk never count against the trunk")
{
	Harness h;
	auto trunk = ip("198.51.100.77");
	for (int i = 0; i < 200; ++i) {
		Req r;
		r.method = "OPTIONS";
		r.ruri_user = r.to_user = fmt::format("{}", i % 7);
		r.from_user = "asterisk";
		r.via_host = "192.0.2.1";
		r.call_id = fmt::format("qualify-{}@192.0.2.1", i);
		r.branch = fmt::format("z9hG4bK-q{}", i);
		CHECK(h.out(trunk, request(r)) == Verdict::Accept);
		CHECK(h.send(trunk, 5060, nfq::Direction::In, response(r, i % 3 ? 200 : 404)) == Verdict::Accept);
		h.advance(100ms);
	}
	CHECK(h.sink.findings.empty());
	CHECK_FALSE(h.banned(trunk));
}

TEST_CASE("enumeration: svwar REGISTER mode with a phone User-Agent is banned after at most 10 extensions")
{
	Harness h;
	auto attacker = ip("203.0.113.20");
	int reached = 0;
	for (int ext = 100; ext < 300 && !h.banned(attacker); ++ext) {
		Req r;
		r.method = "REGISTER";
		r.ruri_user = "";
		r.from_user = r.to_user = std::to_string(ext);
		r.user_agent = "Zoiper rv2.10.11.3";
		r.via_host = "203.0.113.20";
		r.call_id = fmt::format("svwar-{}", ext);
		r.branch = fmt::format("z9hG4bK-w{}", ext);
		if (h.in(attacker, request(r)) == Verdict::Accept)
			++reached;
		h.advance(2ms);
		bool exists = ext == 101 || ext == 105;
		h.out(attacker, response(r, exists ? 401 : 404));
		h.advance(3ms);
	}
	CHECK(h.banned(attacker));
	CHECK(reached <= 10);
	REQUIRE(h.first_finding(Detector::Enumeration));
	CHECK(h.sink.count(Detector::BruteForce) == 0);
	CHECK(h.sink.count(Detector::Flood) == 0);
	// The evidence names some of the users.
	std::string json;
	h.first_finding(Detector::Enumeration)->evidence.append_json(json);
	CHECK(json.find("\"users\":[\"100\"") != std::string::npos);
}

TEST_CASE("enumeration: svwar INVITE mode (404 / 407, CANCEL after 180) is banned after at most 10 extensions")
{
	Harness h;
	auto attacker = ip("203.0.113.21");
	int reached = 0;
	for (int ext = 100; ext < 300 && !h.banned(attacker); ++ext) {
		Req r;
		r.method = "INVITE";
		r.ruri_user = r.to_user = r.from_user = std::to_string(ext);
		r.user_agent = "Linphone/3.6.1 (eXosip2/3.6.0)";
		r.via_host = "203.0.113.21";
		r.call_id = fmt::format("svwar-inv-{}", ext);
		r.branch = fmt::format("z9hG4bK-i{}", ext);
		if (h.in(attacker, request(r)) == Verdict::Accept)
			++reached;
		h.advance(2ms);
		h.out(attacker, response(r, 100));
		h.out(attacker, response(r, ext % 10 == 3 ? 407 : 404));
		h.advance(3ms);
	}
	CHECK(h.banned(attacker));
	CHECK(reached <= 10);
	CHECK(h.first_finding(Detector::Enumeration));
}

TEST_CASE("enumeration: a PBX answering 401 to every user still catches svwar once challenges go unanswered")
{
	Harness h;
	auto attacker = ip("203.0.113.22");
	int reached = 0;
	for (int ext = 100; ext < 999 && !h.banned(attacker); ++ext) {
		Req r = phone_register(std::to_string(ext), "203.0.113.22", 1, false);
		r.user_agent = "Zoiper rv2.10.11.3";
		if (h.in(attacker, request(r)) == Verdict::Accept)
			++reached;
		h.out(attacker, response(r, 401));
		h.advance(5ms); // svwar's default pace: ~200/s
	}
	CHECK(h.banned(attacker));
	// max_unanswered_challenges (40) distinct users, or the grace expiry.
	CHECK(reached <= static_cast<int>(h.cfg->enumeration.max_unanswered_challenges));
}

TEST_CASE("negative: a phone's REGISTER challenge and authenticated retry, every minute for an hour")
{
	Harness h;
	auto phone = ip("198.51.100.10");
	for (int i = 0; i < 60; ++i) {
		Req r = phone_register("201", "198.51.100.10", 2 * i + 1, false);
		CHECK(h.in(phone, request(r)) == Verdict::Accept);
		h.out(phone, response(r, 401));
		h.advance(20ms);
		Req a = phone_register("201", "198.51.100.10", 2 * i + 2, true);
		CHECK(h.in(phone, request(a)) == Verdict::Accept);
		// Every 10th time the nonce is stale: one more challenge, then success.
		if (i % 10 == 9) {
			h.out(phone, response(a, 401));
			Req b = phone_register("201", "198.51.100.10", 2 * i + 2, true);
			b.cseq += 1000;
			h.in(phone, request(b));
			h.out(phone, response(b, 200));
		} else {
			h.out(phone, response(a, 200));
		}
		h.advance(60s);
	}
	CHECK(h.sink.findings.empty());
	CHECK_FALSE(h.banned(phone));
}

TEST_CASE("negative: a NATed office of 30 phones re-registering at once after an outage")
{
	Harness h;
	auto office = ip("198.51.100.50");
	// Every phone sends its REGISTER within 60 ms, all challenged before any
	// retry arrives; then the authenticated retries and 200s; then each
	// phone's BLF SUBSCRIBEs.
	std::vector<Req> first;
	for (int p = 0; p < 30; ++p) {
		Req r = phone_register(std::to_string(200 + p), "198.51.100.50", 1, false);
		r.via_port = static_cast<uint16_t>(5060 + p);
		first.push_back(r);
		CHECK(h.in(office, request(r), r.via_port) == Verdict::Accept);
		h.advance(2ms);
	}
	for (auto& r : first) {
		h.out(office, response(r, 401), r.via_port);
		h.advance(1ms);
	}
	for (auto& r : first) {
		Req a = r;
		a.cseq = 2;
		a.credentials = true;
		a.branch += "-2";
		CHECK(h.in(office, request(a), a.via_port) == Verdict::Accept);
		h.advance(3ms);
		h.out(office, response(a, 200), a.via_port);
	}
	for (int round = 0; round < 3; ++round)
		for (auto& r : first) {
			Req s = r;
			s.method = "SUBSCRIBE";
			s.ruri_user = s.to_user = std::to_string(200 + (round * 7 + r.via_port) % 30);
			s.call_id = fmt::format("blf-{}-{}", r.from_user, round);
			s.extra_headers = "Event: dialog\r\n";
			s.credentials = true;
			CHECK(h.in(office, request(s), s.via_port) == Verdict::Accept);
			h.out(office, response(s, 200), s.via_port);
			h.advance(1ms);
		}
	for (const auto& f : h.sink.findings)
		MESSAGE("unexpected finding: ", detect::to_string(f.finding.detector), ": ", f.finding.reason);
	CHECK(h.sink.findings.empty());
	CHECK_FALSE(h.banned(office));
}

TEST_CASE("brute force: svcrack is banned after at most 5 failed attempts")
{
	Harness h;
	auto attacker = ip("203.0.113.30");
	Req r = phone_register("101", "203.0.113.30", 1, false);
	r.user_agent = "Zoiper rv2.10.11.3";
	r.from_tag = "3206210844";
	h.in(attacker, request(r));
	h.out(attacker, response(r, 401));
	int failures = 0;
	for (int i = 0; i < 50 && !h.banned(attacker); ++i) {
		Req a = r;
		a.cseq = 2;
		a.credentials = true;
		a.from_tag = fmt::format("{:x}", 0x3130313a70617373ull + i); // hex of "101:pass.."
		a.call_id = fmt::format("crack-{}", i);
		a.branch = fmt::format("z9hG4bK-c{}", i);
		if (h.in(attacker, request(a)) == Verdict::Drop)
			break;
		h.out(attacker, response(a, i % 2 ? 403 : 401));
		++failures;
		h.advance(5ms);
	}
	CHECK(h.banned(attacker));
	CHECK(failures <= 5);
	REQUIRE(h.first_finding(Detector::BruteForce));
	CHECK(h.sink.count(Detector::Enumeration) == 0);
}

TEST_CASE("brute force: proxy-auth INVITE retries that succeed are not failures")
{
	Harness h;
	auto phone = ip("198.51.100.11");
	for (int call = 0; call < 40; ++call) {
		Req r;
		r.method = "INVITE";
		r.ruri_user = r.to_user = fmt::format("0049301234{:03}", call);
		r.from_user = "201";
		r.via_host = "198.51.100.11";
		r.call_id = fmt::format("call-{}", call);
		h.in(phone, request(r));
		h.out(phone, response(r, 407));
		Req ack = r;
		ack.method = "ACK";
		h.in(phone, request(ack));
		Req a = r;
		a.cseq = 2;
		a.proxy_credentials = true;
		h.in(phone, request(a));
		h.out(phone, response(a, 100));
		h.out(phone, response(a, call % 5 == 0 ? 486 : 200, call % 5 == 0 ? "Busy Here" : "OK"));
		h.advance(30s);
	}
	CHECK(h.sink.findings.empty());
}

TEST_CASE("flood: a 500 req/s INVITE flood from one source is banned within 100 ms")
{
	Harness h;
	auto attacker = ip("203.0.113.40");
	util::TimePoint start = h.now;
	for (int i = 0; i < 500 && !h.banned(attacker); ++i) {
		Req r;
		r.method = "INVITE";
		r.ruri_user = r.to_user = "100";
		r.from_user = "100";
		r.user_agent = "Grandstream GXP2160";
		r.via_host = "203.0.113.40";
		r.call_id = fmt::format("flood-{}", i);
		h.in(attacker, request(r));
		h.advance(2ms);
	}
	CHECK(h.banned(attacker));
	REQUIRE(h.first_finding(Detector::Flood));
	CHECK(h.first_finding(Detector::Flood)->at - start <= 100ms);
}

TEST_CASE("flood: a 500 req/s REGISTER flood answered 401 is banned within 100 ms")
{
	Harness h;
	auto attacker = ip("203.0.113.41");
	util::TimePoint start = h.now;
	for (int i = 0; i < 500 && !h.banned(attacker); ++i) {
		Req r = phone_register("100", "203.0.113.41", i + 1, false);
		r.call_id = "same-call-id";
		h.in(attacker, request(r));
		h.out(attacker, response(r, 401));
		h.advance(2ms);
	}
	CHECK(h.banned(attacker));
	REQUIRE(h.sink.findings.size() >= 1);
	CHECK(h.sink.findings.front().finding.at - start <= 100ms);
}

TEST_CASE("flood: 500 req/s from 20 addresses of one /24 is a prefix ban within 100 ms")
{
	Harness h;
	util::TimePoint start = h.now;
	bool any = false;
	for (int i = 0; i < 500 && !any; ++i) {
		auto src = ip(fmt::format("198.18.7.{}", 10 + i % 20));
		Req r;
		r.method = "INVITE";
		r.ruri_user = r.to_user = "100";
		r.via_host = src.to_string();
		r.call_id = fmt::format("pflood-{}", i);
		h.in(src, request(r));
		h.advance(2ms);
		any = h.banned(ip("198.18.7.200"));
	}
	CHECK(any);
	auto active = h.bans.active(h.now);
	REQUIRE(active.size() == 1);
	CHECK(active[0].target.prefix_len == 24);
	CHECK(active[0].target.base == ip("198.18.7.0"));
	CHECK(active[0].detector == Detector::Flood);
	CHECK(active[0].start - start <= 100ms);
}

TEST_CASE("flood: a phone's call with PRACK, re-INVITE, ACK and BYE never trips")
{
	Harness h;
	auto phone = ip("198.51.100.12");
	for (int call = 0; call < 30; ++call) {
		for (const char* m : {"INVITE", "PRACK", "ACK", "UPDATE", "INFO", "INFO", "INFO", "BYE"}) {
			Req r;
			r.method = m;
			r.ruri_user = r.to_user = "300";
			r.from_user = "201";
			r.via_host = "198.51.100.12";
			r.call_id = fmt::format("c{}", call);
			r.credentials = true;
			h.in(phone, request(r));
			if (std::string_view(m) != "ACK")
				h.out(phone, response(r, 200));
			h.advance(1ms);
		}
		h.advance(2s);
	}
	CHECK(h.sink.findings.empty());
}

TEST_CASE("malformed: fuzzing is banned past the threshold; keep-alives and STUN never count")
{
	Harness h;
	auto phone = ip("198.51.100.13");
	const char stun[] = "\x00\x01\x00\x00\x21\x12\xa4\x42" "abcdefghijkl";
	for (int i = 0; i < 100; ++i) {
		h.in(phone, "\r\n\r\n");
		h.in(phone, std::string_view(stun, sizeof(stun) - 1));
		h.in(phone, "    ");
		h.advance(1s);
	}
	CHECK(h.sink.findings.empty());

	auto fuzzer = ip("203.0.113.50");
	int sent = 0;
	for (int i = 0; i < 100 && !h.banned(fuzzer); ++i) {
		std::string junk = fmt::format("INVITE sip:100@pbx SIP/2.0\r\nVia: SIP/2.0/UDP 203.0.113.50\r\nCSeq: x{}\r\n\r\n", i);
		h.in(fuzzer, junk);
		++sent;
	}
	CHECK(h.banned(fuzzer));
	CHECK(sent == static_cast<int>(h.cfg->malformed.max_messages));
	CHECK(h.first_finding(Detector::Malformed));
}

TEST_CASE("forged control: NOTIFY check-sync from an untrusted source is dropped, then banned; trusted passes")
{
	auto cfg = std::make_shared<engine::Config>();
	cfg->trusted.push_back(*net::Cidr::parse("198.51.100.200"));
	Harness h(cfg);
	auto attacker = ip("203.0.113.60");
	Req r;
	r.method = "NOTIFY";
	r.ruri_user = r.to_user = "201";
	r.via_host = "203.0.113.60";
	r.extra_headers = "Event: check-sync;reboot=true\r\n";
	CHECK(h.in(attacker, request(r)) == Verdict::Drop);
	CHECK_FALSE(h.banned(attacker));
	r.call_id = "second";
	CHECK(h.in(attacker, request(r)) == Verdict::Drop);
	CHECK(h.banned(attacker));
	CHECK(h.first_finding(Detector::ForgedControl));

	auto prov = ip("198.51.100.200");
	r.via_host = "198.51.100.200";
	for (int i = 0; i < 5; ++i) {
		r.call_id = fmt::format("prov-{}", i);
		CHECK(h.in(prov, request(r)) == Verdict::Accept);
	}
	CHECK_FALSE(h.banned(prov));
}

TEST_CASE("forged control: a NOTIFY the parser refuses, or with two Event headers, is dropped from untrusted sources")
{
	// The lab's udp-notify-* probes: Kamailio reads Event: check-sync in each.
	auto cfg = std::make_shared<engine::Config>();
	cfg->trusted.push_back(*net::Cidr::parse("198.51.100.200"));
	Harness h(cfg);
	auto notify = [](const std::string& from, const std::string& version, const std::string& headers) {
		return fmt::format("NOTIFY sip:201@pbx {}\r\nVia: SIP/2.0/UDP {}:5060;branch=z9hG4bK-{}\r\n"
		                   "From: <sip:{}>;tag=1\r\nTo: <sip:201@pbx>\r\nCall-ID: n-{}\r\nCSeq: 1 NOTIFY\r\n{}"
		                   "Subscription-State: terminated\r\nContent-Length: 0\r\n\r\n",
		                   version, from, from, from, from, headers);
	};
	const std::vector<std::pair<std::string, std::string>> cases{
		{"SIP/2.0", "Max-Forwards: 256\r\nEvent: check-sync;reboot=true\r\n"},
		{"SIP/2.0 ", "Event: check-sync;reboot=true\r\n"},
		{"SIP/2.0", "Event: check-sync x\r\n"},
		{"SIP/2.0", "Event: check-sync;reboot=true\r\nEvent: dialog\r\n"},
		{"SIP/2.0", "Event: dialog\r\nEvent: check-sync;reboot=true\r\n"},
	};
	for (size_t i = 0; i < cases.size(); ++i) {
		const std::string from = fmt::format("203.0.113.{}", 80 + i);
		CAPTURE(cases[i].second);
		CHECK(h.in(ip(from), notify(from, cases[i].first, cases[i].second)) == Verdict::Drop);
		CHECK(h.engine.counters().forged_dropped == i + 1);
	}
	CHECK(h.engine.counters().malformed == cases.size());
	// A well-formed NOTIFY of another package passes; so do a malformed
	// OPTIONS (malformed.drop is off) and a trusted peer's malformed NOTIFY.
	CHECK(h.in(ip("203.0.113.90"), notify("203.0.113.90", "SIP/2.0", "Event: dialog\r\n")) == Verdict::Accept);
	std::string options = notify("203.0.113.91", "SIP/2.0", "Max-Forwards: 256\r\n");
	options.replace(0, 6, "OPTIONS");
	options.replace(options.find("1 NOTIFY"), 8, "1 OPTIONS");
	CHECK(h.in(ip("203.0.113.91"), options) == Verdict::Accept);
	CHECK(h.in(ip("198.51.100.200"), notify("198.51.100.200", "SIP/2.0 ", "Event: check-sync\r\n")) == Verdict::Accept);
	CHECK(h.engine.counters().forged_dropped == cases.size());
}

TEST_CASE("policy: a victim named in Via, Contact and From is never banned, only the packet's source")
{
	Harness h;
	auto attacker = ip("203.0.113.70");
	auto victim = ip("198.51.100.99");
	Req r = svmap_probe(0);
	r.via_host = "198.51.100.99";
	r.contact_host = "198.51.100.99";
	r.domain = "198.51.100.99";
	h.in(attacker, request(r));
	CHECK(h.banned(attacker));
	CHECK_FALSE(h.banned(victim));
	for (const auto& b : h.bans.active(h.now))
		CHECK(b.target.base != victim);
}

TEST_CASE("policy: allowlisted sources are neither inspected, banned nor dropped; dry run bans nothing")
{
	auto cfg = std::make_shared<engine::Config>();
	cfg->allowlist.push_back(*net::Cidr::parse("203.0.113.0/28"));
	Harness h(cfg);
	auto a = ip("203.0.113.5");
	for (int i = 0; i < 100; ++i)
		CHECK(h.in(a, request(svmap_probe(i))) == Verdict::Accept);
	CHECK_FALSE(h.banned(a));
	CHECK(h.sink.findings.empty());
	// The manager refuses even an explicit finding for it.
	detect::Finding f;
	f.source = a;
	f.detector = Detector::Scanner;
	CHECK(h.bans.on_finding(f, h.now).outcome == engine::BanOutcome::Allowlisted);

	auto dry = std::make_shared<engine::Config>();
	dry->dry_run = true;
	Harness d(dry);
	for (int i = 0; i < 100; ++i)
		CHECK(d.in(a, request(svmap_probe(i))) == Verdict::Accept);
	CHECK_FALSE(d.banned(a));
	// One finding per detector and window, not one per packet (the burst
	// of 100 OPTIONS is also a flood).
	CHECK(d.sink.count(Detector::Scanner) == 1);
	CHECK(d.sink.count(Detector::Flood) == 1);
	for (const auto& e : d.sink.findings)
		CHECK(e.outcome == engine::BanOutcome::DryRun);
}

TEST_CASE("tcp: several messages in one segment and one message over two segments")
{
	Harness h;
	auto attacker = ip("203.0.113.80");
	std::string two = request(svmap_probe(0));
	Req benign;
	benign.method = "OPTIONS";
	benign.via_host = "203.0.113.80";
	benign.transport = "TCP";
	std::string one = request(benign);
	// First segment: half of a benign OPTIONS, held (dropped, buffered)
	// until the message is whole and judged.
	std::string a = one.substr(0, one.size() / 2);
	std::string b = one.substr(one.size() / 2) + two;
	CHECK(h.send(attacker, 40000, nfq::Direction::In, a, nfq::L4::Tcp, 1, 0x18) == Verdict::Drop);
	CHECK(h.engine.counters().tcp_held == 1);
	CHECK(h.engine.counters().sip_messages == 0);
	CHECK(h.send(attacker, 40000, nfq::Direction::In, b, nfq::L4::Tcp, 1 + static_cast<uint32_t>(a.size()), 0x18) ==
	      Verdict::Drop);
	CHECK(h.engine.counters().sip_messages == 2);
	CHECK(h.banned(attacker));

	// A retransmitted segment is not counted twice.
	auto phone = ip("198.51.100.14");
	uint32_t seq = 1000;
	for (int i = 0; i < 3; ++i)
		h.send(phone, 40001, nfq::Direction::In, one, nfq::L4::Tcp, seq, 0x18);
	CHECK(h.engine.counters().sip_messages == 3);
	seq += static_cast<uint32_t>(one.size());
	h.send(phone, 40001, nfq::Direction::In, one, nfq::L4::Tcp, seq, 0x18);
	CHECK(h.engine.counters().sip_messages == 4);
}

TEST_CASE("tables: a flood from 1,000,000 spoofed addresses costs fixed memory and counts evictions")
{
	auto cfg = std::make_shared<engine::Config>();
	cfg->tables.sources = 4096;
	cfg->tables.prefixes = 1024;
	cfg->tables.transactions = 1024;
	Harness h(cfg);
	size_t bytes = h.engine.table_bytes();
	Req r;
	r.method = "OPTIONS";
	std::string text = request(r);
	for (uint32_t i = 0; i < 1000000; ++i) {
		h.in(net::IpAddress::v4(0x0a000000u + i), text);
		if (i % 100 == 0)
			h.advance(1ms);
	}
	CHECK(h.engine.table_bytes() == bytes);
	CHECK(h.engine.counters().source_evictions >= 1000000 - 4096 * 2);
	CHECK(h.engine.counters().shed > 0); // the global guard for unknown sources
}

TEST_CASE("brute force: distributed cracking of one user from many addresses")
{
	auto run = [](Harness& h, int& reached) {
		int banned = 0;
		for (int i = 0; i < 40; ++i) {
			// One address per /24, one attempt each: the per-source rule
			// never fires.
			auto src = ip(fmt::format("198.18.{}.9", i));
			Req r = phone_register("105", src.to_string(), 2, true);
			r.call_id = fmt::format("dist-{}", i);
			if (h.in(src, request(r)) == Verdict::Accept) {
				++reached;
				h.out(src, response(r, 401));
			}
			banned += h.banned(src) ? 1 : 0;
			h.advance(500ms);
		}
		return banned;
	};
	SUBCASE("the account is guarded at its third failing address: the rest never reach the PBX")
	{
		Harness h;
		int reached = 0;
		CHECK(run(h, reached) == 1); // the third, at its failure
		CHECK(reached == 3);
		CHECK(h.engine.counters().account_guarded == 37);
		REQUIRE(h.first_finding(Detector::BruteForce));
		CHECK(h.first_finding(Detector::BruteForce)->reason ==
		      "failed authentication on an account under attack from several sources");
		REQUIRE(h.first_finding(Detector::Account)); // the guard, reported once
		CHECK(h.sink.count(Detector::Account) == 1);
	}
	SUBCASE("without accounts, the user passes 20 failures, then each failing source is banned")
	{
		auto cfg = std::make_shared<engine::Config>();
		cfg->account.enabled = false;
		Harness h(cfg);
		int reached = 0;
		CHECK(run(h, reached) == 40 - 19);
		CHECK(reached == 40);
		REQUIRE(h.first_finding(Detector::BruteForce));
		CHECK(h.first_finding(Detector::BruteForce)->reason ==
		      "failed authentication on a user under distributed attack");
	}
}

TEST_CASE("escalation through the engine: a scanner coming back after its ban expired gets the next step")
{
	Harness h;
	auto attacker = ip("203.0.113.5");
	h.in(attacker, request(svmap_probe(0)));
	REQUIRE(h.banned(attacker));
	h.advance(11min);
	CHECK(h.bans.expire(h.now) == 1);
	CHECK_FALSE(h.banned(attacker));
	// The engine learns of the expiry from the generation change and lets
	// the next packet through to the detectors, which ban again, for 1 h.
	CHECK(h.in(attacker, request(svmap_probe(1))) == Verdict::Drop);
	auto active = h.bans.active(h.now);
	REQUIRE(active.size() == 1);
	CHECK(active[0].offence_count == 2);
	CHECK(active[0].duration() == std::chrono::hours(1));
	bool unban_seen = false;
	for (const auto& c : h.sink.changes)
		unban_seen = unban_seen || (c.verdict == Verdict::Accept && c.source == attacker);
	CHECK(unban_seen);
}
