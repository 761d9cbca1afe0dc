// SPDX-License-Identifier: GPL-2.0-or-later
// Scripted attack captures for the replay tests.
#include "tests/replay/attack_captures.h"

#include <stdexcept>

#include <fmt/core.h>

#include "tests/engine/sip_builder.h"
#include "tools/replay/pcap_writer.h"

namespace sipguard::test {

using namespace std::chrono_literals;

namespace {

struct Script {
	replay::PcapWriter w;
	Capture cap;
	util::TimePoint t{std::chrono::seconds(1'800'000'000)};
	bool started = false;
	util::TimePoint start{};

	void in(const net::IpAddress& src, uint16_t sport, const Req& r, bool record = true)
	{
		if (!started) {
			started = true;
			start = t;
		}
		w.udp(t, src, sport, cap.pbx, 5060, request(r));
		if (record)
			cap.requests.push_back({w.packets(), r.method == "REGISTER" ? r.to_user : r.ruri_user, src});
	}
	void out(const net::IpAddress& dst, uint16_t dport, const Req& r, int status)
	{
		w.udp(t, cap.pbx, 5060, dst, dport, response(r, status));
	}
	void wait(util::Duration d) { t += d; }
};

net::IpAddress addr(bool v6, const std::string& v4, const std::string& v6text)
{
	return *net::IpAddress::parse(v6 ? v6text : v4);
}

Req scanner_req(const std::string& method, const std::string& user, const net::IpAddress& src, int n,
                const std::string& ua)
{
	Req r;
	r.method = method;
	r.ruri_user = r.to_user = r.from_user = user;
	r.domain = "pbx.example.com";
	r.user_agent = ua;
	// fmt rather than "[" + std::string&&: GCC 12's false -Wrestrict (PR 105329).
	r.via_host = src.is_v6() ? fmt::format("[{}]", src.to_string()) : src.to_string();
	r.branch = fmt::format("z9hG4bK-{}", 2000000000u + static_cast<unsigned>(n) * 7919u);
	r.call_id = fmt::format("{}", 1000000000u + static_cast<unsigned>(n) * 104729u);
	r.from_tag = fmt::format("{:x}", 0x5eed0000u + static_cast<unsigned>(n));
	return r;
}

} // namespace

const char* to_string(Scenario s)
{
	switch (s) {
	case Scenario::SvmapFriendlyScanner: return "svmap";
	case Scenario::SvmapPhoneUa: return "svmap-phone-ua";
	case Scenario::SvwarRegister: return "svwar-register";
	case Scenario::SvwarInvite: return "svwar-invite";
	case Scenario::Svcrack: return "svcrack";
	case Scenario::FloodInvite: return "flood-invite";
	case Scenario::FloodRegister: return "flood-register";
	case Scenario::FloodPrefix: return "flood-prefix";
	case Scenario::BenignOffice: return "benign-office";
	}
	return "?";
}

Capture write_capture(Scenario s, const std::string& dir, bool v6)
{
	Script sc;
	sc.cap.path = fmt::format("{}/{}{}.pcap", dir, to_string(s), v6 ? "-v6" : "");
	sc.cap.pbx = addr(v6, "192.0.2.1", "2001:db8::1");
	if (util::Status st = sc.w.open(sc.cap.path, replay::PcapWriter::Link::Ethernet); !st)
		throw std::runtime_error(st.message);

	// Background: a legitimate phone registering before the attack, so the
	// capture is not attack-only.
	auto phone = addr(v6, "198.51.100.10", "2001:db8:100::10");
	{
		Req r = scanner_req("REGISTER", "201", phone, 0, "Yealink SIP-T46S 66.86.0.15");
		r.ruri_user = "";
		sc.w.udp(sc.t, phone, 5060, sc.cap.pbx, 5060, request(r));
		sc.out(phone, 5060, r, 401);
		sc.wait(20ms);
		r.cseq = 2;
		r.credentials = true;
		sc.w.udp(sc.t, phone, 5060, sc.cap.pbx, 5060, request(r));
		sc.out(phone, 5060, r, 200);
		sc.wait(1s);
	}

	auto attacker = addr(v6, "203.0.113.5", "2001:db8:bad::5");
	switch (s) {
	case Scenario::SvmapFriendlyScanner:
		for (int i = 0; i < 20; ++i) {
			Req r = scanner_req("OPTIONS", "100", attacker, i, "friendly-scanner");
			r.from_display = "sipvicious";
			r.domain = "1.1.1.1";
			sc.in(attacker, 5060, r);
			sc.out(attacker, 5060, r, 200);
			sc.wait(5ms);
		}
		break;
	case Scenario::SvmapPhoneUa:
		for (int i = 0; i < 50; ++i) {
			Req r = scanner_req("OPTIONS", std::to_string(100 + i), attacker, i, "Yealink SIP-T46S 66.86.0.15");
			r.from_user = "1000";
			sc.in(attacker, 5060, r);
			sc.out(attacker, 5060, r, i % 4 ? 404 : 200);
			sc.wait(5ms);
		}
		break;
	case Scenario::SvwarRegister:
		for (int ext = 100; ext < 400; ++ext) {
			Req r = scanner_req("REGISTER", std::to_string(ext), attacker, ext, "Zoiper rv2.10.11.3");
			r.ruri_user = "";
			sc.in(attacker, 5060, r);
			sc.wait(1ms);
			sc.out(attacker, 5060, r, ext % 50 == 1 ? 401 : 404);
			sc.wait(4ms);
		}
		break;
	case Scenario::SvwarInvite:
		for (int ext = 100; ext < 400; ++ext) {
			Req r = scanner_req("INVITE", std::to_string(ext), attacker, ext, "Zoiper rv2.10.11.3");
			sc.in(attacker, 5060, r);
			sc.wait(1ms);
			sc.out(attacker, 5060, r, 100);
			if (ext % 50 == 1) {
				sc.out(attacker, 5060, r, 180);
				Req c = r;
				c.method = "CANCEL";
				sc.wait(1ms);
				sc.in(attacker, 5060, c, false);
				sc.out(attacker, 5060, c, 200);
				sc.out(attacker, 5060, r, 487);
			} else {
				sc.out(attacker, 5060, r, 404);
			}
			sc.wait(4ms);
		}
		break;
	case Scenario::Svcrack: {
		Req r = scanner_req("REGISTER", "101", attacker, 0, "Zoiper rv2.10.11.3");
		r.ruri_user = "";
		r.from_tag = "3206210844";
		sc.in(attacker, 5060, r);
		sc.out(attacker, 5060, r, 401);
		for (int i = 1; i < 200; ++i) {
			Req a = scanner_req("REGISTER", "101", attacker, i, "Zoiper rv2.10.11.3");
			a.ruri_user = "";
			a.cseq = 2;
			a.credentials = true;
			a.from_tag = fmt::format("3130313a{:08x}", 0x31303030u + static_cast<unsigned>(i)); // "101:" + password
			sc.wait(5ms);
			sc.in(attacker, 5060, a);
			sc.out(attacker, 5060, a, i % 3 ? 401 : 403);
		}
		break;
	}
	case Scenario::FloodInvite:
	case Scenario::FloodRegister:
		for (int i = 0; i < 500; ++i) {
			bool inv = s == Scenario::FloodInvite;
			Req r = scanner_req(inv ? "INVITE" : "REGISTER", "100", attacker, i, "Grandstream GXP2160 1.0.11.3");
			if (!inv)
				r.ruri_user = "";
			sc.in(attacker, 5060, r);
			if (!inv)
				sc.out(attacker, 5060, r, 401);
			else
				sc.out(attacker, 5060, r, 100);
			sc.wait(2ms);
		}
		break;
	case Scenario::FloodPrefix:
		for (int i = 0; i < 500; ++i) {
			auto src = addr(v6, fmt::format("198.18.7.{}", 10 + i % 20), fmt::format("2001:db8:77:1::{:x}", 0x10 + i % 20));
			Req r = scanner_req("INVITE", "100", src, i, "Grandstream GXP2160 1.0.11.3");
			sc.in(src, 5060, r);
			sc.out(src, 5060, r, 100);
			sc.wait(2ms);
		}
		break;
	case Scenario::BenignOffice: {
		auto office = addr(v6, "198.51.100.50", "2001:db8:100::50");
		std::vector<Req> regs;
		for (int p = 0; p < 30; ++p) {
			Req r = scanner_req("REGISTER", std::to_string(200 + p), office, p, "Yealink SIP-T46S 66.86.0.15");
			r.ruri_user = "";
			r.via_port = static_cast<uint16_t>(5060 + p);
			regs.push_back(r);
			sc.in(office, r.via_port, r);
			sc.wait(2ms);
		}
		for (auto& r : regs) {
			sc.out(office, r.via_port, r, 401);
			sc.wait(1ms);
		}
		for (auto& r : regs) {
			Req a = r;
			a.cseq = 2;
			a.credentials = true;
			sc.in(office, a.via_port, a);
			sc.wait(3ms);
			sc.out(office, a.via_port, a, 200);
		}
		for (int c = 0; c < 20; ++c) {
			const Req& caller = regs[static_cast<size_t>(c)];
			Req inv = scanner_req("INVITE", fmt::format("0049301234{:03}", c), office, 1000 + c,
			                      "Yealink SIP-T46S 66.86.0.15");
			inv.from_user = caller.from_user;
			inv.via_port = caller.via_port;
			sc.in(office, inv.via_port, inv);
			sc.out(office, inv.via_port, inv, 407);
			Req ack = inv;
			ack.method = "ACK";
			sc.in(office, inv.via_port, ack, false);
			Req auth = inv;
			auth.cseq = 2;
			auth.proxy_credentials = true;
			sc.in(office, inv.via_port, auth);
			sc.out(office, inv.via_port, auth, 100);
			sc.out(office, inv.via_port, auth, 200);
			sc.wait(100ms);
		}
		break;
	}
	}
	sc.cap.first_request_s = std::chrono::duration<double>(sc.start - util::TimePoint(std::chrono::seconds(1'800'000'000))).count();
	if (!sc.w.close())
		throw std::runtime_error("write failed: " + sc.cap.path);
	return sc.cap;
}

} // namespace sipguard::test
