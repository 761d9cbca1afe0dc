// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard replay` over captures: benign corpus captures give no bans with
// the default config; scripted attacks (svmap, svwar, svcrack, floods) are
// banned by the right detector within the targets; link layers, fragments,
// IPv6 and determinism; lab captures when present.
#include <cstdlib>
#include <filesystem>
#include <set>
#include <unistd.h>

#include <doctest/doctest.h>
#include <fmt/core.h>

#include "tests/corpus.h"
#include "tests/engine/sip_builder.h"
#include "tests/replay/attack_captures.h"
#include "tests/temp_dir.h"
#include "tools/replay/pcap_source.h"
#include "tools/replay/pcap_writer.h"
#include "tools/replay/replay.h"

using namespace sipguard;
using namespace sipguard::test;
namespace fs = std::filesystem;
using detect::Detector;
using replay::Event;

namespace {

replay::Result run(const std::string& path, std::vector<std::string> local, std::vector<uint16_t> ports = {5060})
{
	replay::Options o;
	for (auto& l : local)
		o.local.push_back(*net::IpAddress::parse(l));
	o.sip_ports = ports;
	return replay::run(path, o);
}

const Event* first(const replay::Result& r, Event::Kind k)
{
	for (const auto& e : r.events)
		if (e.kind == k)
			return &e;
	return nullptr;
}

size_t count(const replay::Result& r, Event::Kind k)
{
	size_t n = 0;
	for (const auto& e : r.events)
		n += e.kind == k ? 1 : 0;
	return n;
}

// Distinct target users of requests from `src` at or before frame `upto`.
size_t users_reached(const Capture& c, uint64_t upto, const net::IpAddress& src)
{
	std::set<std::string> users;
	for (const auto& p : c.requests)
		if (p.frame <= upto && p.source == src)
			users.insert(p.user);
	return users.size();
}

size_t requests_reached(const Capture& c, uint64_t upto)
{
	size_t n = 0;
	for (const auto& p : c.requests)
		n += p.frame <= upto ? 1 : 0;
	return n;
}

// SIP requests in an IPv4/UDP capture sent to `local` in frames before
// `before`: what reached the PBX before the ban dropped the source (the
// frame that causes a ban is itself dropped when it is a request).
size_t lab_requests_before(const std::string& path, const std::string& local, uint64_t before)
{
	replay::PcapSource src;
	if (!src.open(path).ok())
		return 0;
	auto dst = *net::IpAddress::parse(local);
	std::span<const uint8_t> ip;
	util::TimePoint ts;
	uint64_t frame = 0;
	size_t n = 0;
	while (src.next(ip, ts, frame) && frame < before) {
		if (ip.size() < 28 || (ip[0] >> 4) != 4 || ip[9] != 17)
			continue;
		size_t ihl = (ip[0] & 0x0f) * 4u;
		if (ip.size() < ihl + 8 || net::IpAddress::v4(ip.data() + 16) != dst)
			continue;
		std::string_view payload(reinterpret_cast<const char*>(ip.data() + ihl + 8), ip.size() - ihl - 8);
		if (!payload.empty() && payload.rfind("SIP/2.0", 0) != 0 && payload[0] != '\r')
			++n;
	}
	return n;
}

void dump(const replay::Result& r)
{
	for (const auto& e : r.events)
		MESSAGE(replay::format_event(e, false));
}

// Time of the hand-written captures, and an OPTIONS with `user_agent`.
const util::TimePoint kCaptureTime{std::chrono::seconds(1'800'000'000)};
Req options(const char* user_agent)
{
	Req r;
	r.method = "OPTIONS";
	r.user_agent = user_agent;
	return r;
}

} // namespace

TEST_CASE("replay: benign corpus captures give zero bans with the default config")
{
	SIPGUARD_REQUIRE_CORPUS(corpus);
	// The protected host per capture: the registrar/callee side (the one
	// that answers requests and sends challenges). Loopback-only captures
	// (both ends 127.0.0.1) cannot be split into directions and are left out.
	struct Row {
		const char* file;
		const char* local;
		uint16_t port;
		uint64_t min_sip; // SIP messages the engine must have seen
	};
	const Row rows[] = {
		{"sngrep/aaa.pcap", "212.242.33.35", 5060, 60},
		{"zeek/wireshark.pcap", "212.242.33.35", 5060, 60},
		{"sngrep/ipip.pcap", "10.15.197.103", 5090, 4},
		{"sngrep/ipv6frag.pcap", "fd17:625c:f037:2:a00:27ff:feb9:3519", 5062, 30},
		{"snort3_demo/SIP_CALL_RTP_G711.pcap", "200.57.7.195", 5060, 10},
		{"snort3_demo/SIP_Eyebeam2Eyebeam_Video_Audio.pcap", "192.168.1.36", 5060, 60},
		{"suricata-verify/sip-body-frames__public-cloudshark-sip-s0.pcap", "200.57.7.195", 5060, 8},
		// The suricata-verify samples are hand-made and malformed on purpose
		// or by accident (e.g. `From: \"arik\"`, RFC 3261 §25.1 quoted-string
		// has no escaped quote outside quotes): malformed, not banned.
		{"suricata-verify/sip-compact-form__sip_compact_form.pcap", "2.2.2.2", 5060, 0},
		{"suricata-verify/sip-header-multi-value__sip_header_multi_val.pcap", "2.2.2.2", 5060, 0},
		{"suricata-verify/sip-options-method__input.pcap", "192.168.1.20", 5060, 2},
		{"suricata-verify/sip-pattern-matching__sip.pcap", "2.2.2.2", 5060, 0},
		{"suricata-verify/sip-sdp__sdp.pcap", "2.2.2.2", 5060, 0},
		{"suricata-verify/sip-tcp-pattern-matching__sip.pcap", "2.2.2.2", 5060, 0},
		{"suricata-verify/sip-ssdp-pm__ssdp.pcap", "239.255.255.250", 1900, 0},
		{"wireshark-samples_via_rtp-pcap/SIP_DTMF2.pcap", "192.168.105.105", 5060, 25},
		{"wireshark-samples_via_rtp-pcap/nb6-telephone.pcap", "172.22.75.71", 5062, 7},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-g722.pcap", "10.0.2.15", 5060, 6},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-g726.pcap", "10.0.2.15", 5060, 40},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-g729a.pcap", "10.0.2.15", 5060, 6},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-gsm.pcap", "10.0.2.15", 5060, 6},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-ilbc.pcap", "10.0.2.15", 5060, 6},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-l16.pcap", "10.0.2.15", 5060, 20},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-lpc.pcap", "10.0.2.15", 5060, 6},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-opus.pcap", "10.0.2.15", 5060, 6},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-speex.pcap", "10.0.2.15", 5060, 6},
		{"zeek/sip-junk-before-request.pcap", "1.1.1.2", 5060, 0},
		{"zeek/sip-long-request-response-paths.pcap", "198.51.100.20", 5060, 0},
		{"sipp/g711a.pcap", "10.1.6.18", 5060, 0},
	};
	for (const auto& row : rows) {
		std::string file = row.file;
		CAPTURE(file);
		fs::path p = corpus / "pcaps" / row.file;
		if (!fs::exists(p)) {
			MESSAGE("missing from the corpus, skipped: ", row.file);
			continue;
		}
		auto r = run(p.string(), {row.local}, {row.port});
		REQUIRE_MESSAGE(r.ok, r.error);
		if (count(r, Event::Kind::Ban) + count(r, Event::Kind::PrefixBan) != 0)
			dump(r);
		CHECK(count(r, Event::Kind::Ban) == 0);
		CHECK(count(r, Event::Kind::PrefixBan) == 0);
		CHECK(r.summary.engine.sip_messages >= row.min_sip);
	}
}

TEST_CASE("replay: aaa.pcap's real 401/407/403 challenges are matched to their requests")
{
	SIPGUARD_REQUIRE_CORPUS(corpus);
	fs::path p = corpus / "pcaps/sngrep/aaa.pcap";
	if (!fs::exists(p))
		return;
	auto r = run(p.string(), {"212.242.33.35"});
	REQUIRE(r.ok);
	CHECK(r.summary.engine.matched_responses >= 25);
	CHECK(r.summary.engine.findings == 0);
	CHECK(r.summary.engine.keepalives > 0); // the 5-space NAT keep-alives
	CHECK(r.summary.engine.malformed == 0);
}

TEST_CASE("replay: attack captures are banned by the right detector within the targets")
{
	TempDir dir{"sg-replay"};
	for (bool v6 : {false, true}) {
		CAPTURE(v6);
		const std::string pbx = v6 ? "2001:db8::1" : "192.0.2.1";
		const auto attacker = *net::IpAddress::parse(v6 ? "2001:db8:bad::5" : "203.0.113.5");

		// The scenario's capture replayed against the PBX; its first event
		// of `kind` is there and comes from `detector`.
		struct Replayed {
			Capture c;
			replay::Result r;
			const Event* ban = nullptr;
		};
		auto banned = [&](Scenario s, Detector detector, Event::Kind kind = Event::Kind::Ban) {
			Replayed x{write_capture(s, dir.path, v6), {}, nullptr};
			x.r = run(x.c.path, {pbx});
			x.ban = first(x.r, kind);
			REQUIRE(x.ban);
			CHECK(x.ban->detector == detector);
			return x;
		};

		SUBCASE("svmap with friendly-scanner: banned on its first probe")
		{
			auto [c, r, ban] = banned(Scenario::SvmapFriendlyScanner, Detector::Scanner);
			REQUIRE(r.ok);
			CHECK(ban->packet == c.requests.front().frame);
			CHECK(ban->target == net::Cidr::host(attacker));
			// Every later probe and every answer (the first one's too) dropped.
			CHECK(r.summary.engine.dropped_banned == 2 * c.requests.size() - 1);
		}
		SUBCASE("svmap with a phone User-Agent: banned by behaviour")
		{
			auto [c, r, ban] = banned(Scenario::SvmapPhoneUa, Detector::Scanner);
			CHECK(requests_reached(c, ban->packet) <= 4);
		}
		SUBCASE("svwar REGISTER: enumeration, at most 10 extensions reach the PBX")
		{
			auto [c, r, ban] = banned(Scenario::SvwarRegister, Detector::Enumeration);
			CHECK(users_reached(c, ban->packet, attacker) <= 10);
			CHECK(count(r, Event::Kind::Ban) == 1);
		}
		SUBCASE("svwar INVITE: enumeration, at most 10 extensions reach the PBX")
		{
			auto [c, r, ban] = banned(Scenario::SvwarInvite, Detector::Enumeration);
			CHECK(users_reached(c, ban->packet, attacker) <= 10);
		}
		SUBCASE("svcrack: brute force, at most 5 failed attempts")
		{
			auto [c, r, ban] = banned(Scenario::Svcrack, Detector::BruteForce);
			// The first request has no credentials; each later one is an attempt.
			CHECK(requests_reached(c, ban->packet) - 1 <= 5);
		}
		SUBCASE("INVITE flood at 500/s: banned within 100 ms")
		{
			auto [c, r, ban] = banned(Scenario::FloodInvite, Detector::Flood);
			CHECK(ban->offset_s - c.first_request_s <= 0.100);
		}
		SUBCASE("REGISTER flood at 500/s: banned within 100 ms")
		{
			auto [c, r, ban] = banned(Scenario::FloodRegister, Detector::Flood);
			CHECK(ban->offset_s - c.first_request_s <= 0.100);
		}
		SUBCASE("flood from 20 addresses of one /24 (/64): prefix ban within 100 ms")
		{
			auto [c, r, ban] = banned(Scenario::FloodPrefix, Detector::Flood, Event::Kind::PrefixBan);
			CHECK(ban->target.prefix_len == (v6 ? 64 : 24));
			CHECK(ban->offset_s - c.first_request_s <= 0.100);
		}
		SUBCASE("a NATed office re-registering and calling: nothing")
		{
			auto c = write_capture(Scenario::BenignOffice, dir.path, v6);
			auto r = run(c.path, {pbx});
			if (!r.events.empty())
				dump(r);
			CHECK(count(r, Event::Kind::Ban) == 0);
			CHECK(r.summary.engine.findings == 0);
			CHECK(r.summary.engine.requests >= 100);
		}
	}
}

TEST_CASE("replay: deterministic output, text and JSON")
{
	TempDir dir{"sg-replay"};
	auto c = write_capture(Scenario::SvwarRegister, dir.path);
	auto a = run(c.path, {"192.0.2.1"});
	auto b = run(c.path, {"192.0.2.1"});
	REQUIRE(a.events.size() == b.events.size());
	for (size_t i = 0; i < a.events.size(); ++i) {
		CHECK(replay::format_event(a.events[i], true) == replay::format_event(b.events[i], true));
		CHECK(replay::format_event(a.events[i], false) == replay::format_event(b.events[i], false));
	}
	CHECK(replay::format_summary(a.summary, true) == replay::format_summary(b.summary, true));
	const Event* ban = first(a, Event::Kind::Ban);
	REQUIRE(ban);
	std::string j = replay::format_event(*ban, true);
	CHECK(j.rfind("{\"event\":\"ban\",\"packet\":", 0) == 0);
	CHECK(j.find("\"detector\":\"enumeration\"") != std::string::npos);
	CHECK(j.find("\"duration_s\":600") != std::string::npos);
}

TEST_CASE("replay: raw-IP link type, IPv4 fragments, TCP segments and direction from --local")
{
	TempDir dir{"sg-replay"};
	std::string path = (dir.path / "mixed.pcap").string();
	replay::PcapWriter w;
	REQUIRE(w.open(path, replay::PcapWriter::Link::Raw).ok());
	auto pbx = *net::IpAddress::parse("192.0.2.1");
	auto scanner = *net::IpAddress::parse("203.0.113.5");
	auto other = *net::IpAddress::parse("198.51.100.1");
	const util::TimePoint t = kCaptureTime;
	Req big = options("friendly-scanner");
	big.extra_headers = "X-Pad: " + std::string(3000, 'a') + "\r\n";
	// Not to or from --local: skipped.
	w.udp(t, scanner, 5060, other, 5060, request(big));
	// A 3 KB scanner OPTIONS in three IPv4 fragments.
	w.udp_fragmented_v4(t, scanner, 5060, pbx, 5060, request(big), 1480, 77);
	REQUIRE(w.close());
	auto r = run(path, {"192.0.2.1"});
	REQUIRE_MESSAGE(r.ok, r.error);
	CHECK(r.summary.skipped_not_local == 1);
	CHECK(r.summary.reassembled == 1);
	const Event* ban = first(r, Event::Kind::Ban);
	REQUIRE(ban);
	CHECK(ban->packet == 4); // the last fragment completes the datagram
	CHECK(ban->detector == Detector::Scanner);

	// TCP: two messages in one segment, the scanner's second.
	std::string tpath = (dir.path / "tcp.pcap").string();
	REQUIRE(w.open(tpath, replay::PcapWriter::Link::Ethernet).ok());
	Req ok;
	ok.method = "OPTIONS";
	ok.transport = "TCP";
	Req bad = ok;
	bad.user_agent = "sipcli/v1.8";
	w.tcp(t, scanner, 40001, pbx, 5060, 1, 0x02, "");
	w.tcp(t, scanner, 40001, pbx, 5060, 2, 0x18, request(ok) + request(bad));
	REQUIRE(w.close());
	auto rt = run(tpath, {"192.0.2.1"});
	REQUIRE(rt.ok);
	CHECK(rt.summary.engine.sip_messages == 2);
	REQUIRE(first(rt, Event::Kind::Ban));
	CHECK(first(rt, Event::Kind::Ban)->packet == 2);
}

TEST_CASE("replay: every supported link type decodes the same capture")
{
	TempDir dir{"sg-replay"};
	auto pbx = *net::IpAddress::parse("2001:db8::1");
	auto scanner = *net::IpAddress::parse("2001:db8:bad::5");
	auto pbx4 = *net::IpAddress::parse("192.0.2.1");
	auto scanner4 = *net::IpAddress::parse("203.0.113.5");
	const util::TimePoint t = kCaptureTime;
	const Req probe = options("sipvicious");
	using L = replay::PcapWriter::Link;
	for (L link : {L::Ethernet, L::EthernetVlan, L::Raw, L::Sll, L::Sll2, L::Null}) {
		CAPTURE(static_cast<int>(link));
		std::string path = (dir.path / fmt::format("link{}.pcap", static_cast<int>(link))).string();
		replay::PcapWriter w;
		REQUIRE(w.open(path, link).ok());
		w.udp(t, scanner4, 5060, pbx4, 5060, request(probe));
		w.udp(t, scanner, 5060, pbx, 5060, request(probe));
		REQUIRE(w.close());
		auto r = run(path, {"192.0.2.1", "2001:db8::1"});
		REQUIRE_MESSAGE(r.ok, r.error);
		CHECK(r.summary.inbound == 2);
		CHECK(count(r, Event::Kind::Ban) == 2);
	}
}

TEST_CASE("replay: unreadable capture is a clear error naming the file")
{
	auto r = run("/nonexistent/dir/capture.pcap", {"192.0.2.1"});
	CHECK_FALSE(r.ok);
	CHECK(r.error.find("/nonexistent/dir/capture.pcap") != std::string::npos);
	TempDir dir{"sg-replay"};
	std::string junk = (dir.path / "junk.pcap").string();
	FILE* f = std::fopen(junk.c_str(), "w");
	std::fputs("this is not a capture\n", f);
	std::fclose(f);
	auto j = run(junk, {"192.0.2.1"});
	CHECK_FALSE(j.ok);
	CHECK(j.error.find("junk.pcap") != std::string::npos);
}

TEST_CASE("replay: lab captures of real sipvicious runs, when present")
{
	const char* root = std::getenv("SIPGUARD_SOURCE_ROOT");
	fs::path lab = fs::path(root ? root : ".") / "tests/fixtures/pcaps/lab";
	if (!fs::is_directory(lab)) {
		MESSAGE("skipped: no tests/fixtures/pcaps/lab");
		return;
	}
	// Each capture NAME.pcap comes with NAME.local (the PBX address) and
	// optionally NAME.expect ("detector" per line that must ban, or "none").
	for (const auto& entry : fs::directory_iterator(lab)) {
		if (entry.path().extension() != ".pcap")
			continue;
		CAPTURE(entry.path().string());
		fs::path local_file = entry.path();
		local_file.replace_extension(".local");
		std::string local = "10.77.0.10"; // tests/fixtures/pcaps/lab/README.md
		if (FILE* f = std::fopen(local_file.c_str(), "r")) {
			char buf[128] = {};
			if (std::fgets(buf, sizeof buf, f))
				local = std::string(buf, strcspn(buf, " \r\n"));
			std::fclose(f);
		}
		auto r = run(entry.path().string(), {local});
		REQUIRE_MESSAGE(r.ok, r.error);
		fs::path expect_file = entry.path();
		expect_file.replace_extension(".expect");
		// What each capture of the README must give (README table).
		const std::pair<const char*, const char*> known[] = {
			{"svmap.pcap", "scanner"},          {"svwar-register.pcap", "scanner"},
			{"svwar-invite.pcap", "scanner"},   {"svcrack.pcap", "scanner"},
			{"svwar-register-ua.pcap", "enumeration"}, {"svwar-invite-ua.pcap", "enumeration"},
			{"svcrack-ua.pcap", "brute_force"}, {"sipp-invite-flood.pcap", "flood"},
			{"sipp-register-flood.pcap", "flood"}, {"legit-calls.pcap", "none"},
			// One OPTIONS with a phone User-Agent and a plain From: nothing
			// tells it from a phone's keep-alive.
			{"svmap-ua.pcap", "none"},
		};
		std::string expect;
		for (const auto& [name, det] : known)
			if (entry.path().filename() == name)
				expect = det;
		if (FILE* f = std::fopen(expect_file.c_str(), "r")) {
			char buf[128] = {};
			if (std::fgets(buf, sizeof buf, f))
				expect = std::string(buf, strcspn(buf, " \r\n"));
			std::fclose(f);
		}
		if (expect == "none") {
			CHECK(count(r, Event::Kind::Ban) == 0);
			CHECK(count(r, Event::Kind::PrefixBan) == 0);
		} else if (!expect.empty()) {
			const Event* ban = first(r, Event::Kind::Ban);
			REQUIRE(ban);
			CHECK(detect::to_string(ban->detector) == expect);
			CHECK(count(r, Event::Kind::PrefixBan) == 0);
			// The targets: extensions / attempts reaching the PBX, flood time.
			if (expect == "scanner")
				CHECK(ban->packet == 1);
			if (expect == "enumeration" || expect == "brute_force")
				CHECK(r.summary.engine.requests <= 16);
			// Issue 7 targets for the patched (phone User-Agent) tools:
			// svcrack at most 5 requests at the PBX, svwar at most 7.
			const std::string name = entry.path().filename().string();
			size_t reached = lab_requests_before(entry.path().string(), local, ban->packet);
			MESSAGE(name, ": ", reached, " requests before the ban (frame ", ban->packet, ")");
			if (name == "svcrack-ua.pcap")
				CHECK(reached <= 5);
			if (name == "svwar-register-ua.pcap" || name == "svwar-invite-ua.pcap")
				CHECK(reached <= 7);
			if (expect == "flood")
				CHECK(ban->offset_s <= 0.100);
		} else {
			MESSAGE(entry.path().filename().string(), ": ", count(r, Event::Kind::Ban), " bans");
		}
	}
}
