// SPDX-License-Identifier: GPL-2.0-or-later
// Test fixture for the call tracker: builds SIP messages and SDP as text,
// runs them through the real parser and the tracker with a controlled clock,
// and mirrors the pinhole updates the way the kernel set would hold them.
#pragma once

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/calls/tracker.h"
#include "agent/sip/parser.h"

namespace sipguard::calls::test {

using namespace std::chrono_literals;

// One m= line.
struct Stream {
	std::string type = "audio";
	int port = 0;
	std::vector<std::string> attrs; // without "a="
	std::string c;                  // media-level c= address, empty for none
};

inline std::string sdp(const std::string& addr, std::vector<Stream> streams, std::vector<std::string> session_attrs = {})
{
	auto family = [](const std::string& a) { return a.find(':') != std::string::npos ? "IP6" : "IP4"; };
	std::string s = "v=0\r\no=- 1 1 IN " + std::string(family(addr)) + " " + addr + "\r\ns=-\r\nc=IN " +
	                family(addr) + " " + addr + "\r\nt=0 0\r\n";
	for (const auto& a : session_attrs)
		s += "a=" + a + "\r\n";
	for (const auto& m : streams) {
		s += "m=" + m.type + " " + std::to_string(m.port) + " RTP/AVP " + (m.type == "video" ? "34" : "0 8 101") + "\r\n";
		if (!m.c.empty())
			s += "c=IN " + std::string(family(m.c)) + " " + m.c + "\r\n";
		for (const auto& a : m.attrs)
			s += "a=" + a + "\r\n";
	}
	return s;
}

inline std::string audio(const std::string& addr, int port, std::vector<std::string> attrs = {})
{
	return sdp(addr, {Stream{"audio", port, std::move(attrs), ""}});
}

// The parts of a SIP message the tracker reads.
struct Msg {
	std::string start;   // "INVITE sip:100@pbx.example SIP/2.0" or "SIP/2.0 200 OK"
	std::string call_id = "call-1@198.51.100.7";
	std::string from_tag = "caller";
	std::string to_tag;  // empty: none
	int cseq = 1;
	std::string cseq_method = "INVITE";
	std::string body;    // SDP or empty
	std::string from_user = "alice";
	std::string auth_user; // Authorization username, empty: none
};

inline std::string wire(const Msg& m)
{
	std::string s = m.start + "\r\n";
	s += "Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-" + std::to_string(m.cseq) + m.cseq_method + "\r\n";
	s += "Max-Forwards: 70\r\n";
	s += "From: <sip:" + m.from_user + "@example.com>;tag=" + m.from_tag + "\r\n";
	s += "To: <sip:100@pbx.example>" + (m.to_tag.empty() ? std::string() : ";tag=" + m.to_tag) + "\r\n";
	s += "Call-ID: " + m.call_id + "\r\n";
	s += "CSeq: " + std::to_string(m.cseq) + " " + m.cseq_method + "\r\n";
	s += "Contact: <sip:" + m.from_user + "@198.51.100.7:5060>\r\n";
	if (!m.auth_user.empty())
		s += "Authorization: Digest username=\"" + m.auth_user +
		     "\", realm=\"pbx\", nonce=\"abc\", uri=\"sip:100@pbx.example\", response=\"0123456789abcdef0123456789abcdef\"\r\n";
	if (!m.body.empty())
		s += "Content-Type: application/sdp\r\n";
	s += "Content-Length: " + std::to_string(m.body.size()) + "\r\n\r\n" + m.body;
	return s;
}

inline net::IpAddress ip(const char* text)
{
	auto a = net::IpAddress::parse(text);
	REQUIRE(a.has_value());
	return *a;
}

struct Recorder : Sink {
	std::vector<PinholeUpdate> updates;
	std::vector<Finding> findings;
	// The kernel set as the updates describe it.
	std::map<std::pair<std::string, uint16_t>, int> open;

	void on_pinhole(const PinholeUpdate& u) override
	{
		updates.push_back(u);
		auto k = std::make_pair(u.remote.to_string(), u.local_port);
		if (u.op == PinholeOp::Open) {
			CHECK_MESSAGE(open.count(k) == 0, "opened twice: ", k.first, " . ", k.second);
			open[k] = 1;
		} else if (u.op == PinholeOp::Close) {
			CHECK_MESSAGE(open.count(k) == 1, "closed but not open: ", k.first, " . ", k.second);
			open.erase(k);
		} else {
			CHECK_MESSAGE(open.count(k) == 1, "refresh of a closed pinhole: ", k.first, " . ", k.second);
		}
	}
	void on_finding(const Finding& f) override { findings.push_back(f); }

	bool is_open(const std::string& addr, uint16_t port) const { return open.count({addr, port}) == 1; }
	size_t count(PinholeOp op) const
	{
		size_t n = 0;
		for (const auto& u : updates)
			n += u.op == op;
		return n;
	}
};

struct Fixture {
	explicit Fixture(Config c = Config{}, SharedLimits* shared = nullptr) : tracker(std::move(c), rec, shared) {}

	Recorder rec;
	Tracker tracker;
	util::TimePoint now = util::TimePoint(1'000'000s);

	// Parses `m` with the real parser (it must be valid) and hands it over.
	Decision send(nfq::Direction dir, const char* remote, const Msg& m)
	{
		const std::string text = wire(m);
		sip::Message msg;
		sip::parse(text, sip::Transport::Datagram, msg);
		REQUIRE_MESSAGE(msg.valid(), "test message did not parse: ", sip::to_string(msg.error), " ",
		                msg.error_detail, "\n", text);
		MessageContext ctx;
		ctx.remote = ip(remote);
		ctx.direction = dir;
		ctx.now = now;
		ctx.trusted = trusted;
		const Decision d = tracker.on_message(msg, ctx);
		// `text` dies here: the tracker must keep copies, never views (ASan
		// builds catch a view read later).
		return d;
	}
	Decision in(const char* remote, const Msg& m) { return send(nfq::Direction::In, remote, m); }
	Decision out(const char* remote, const Msg& m) { return send(nfq::Direction::Out, remote, m); }
	void advance(std::chrono::nanoseconds d)
	{
		now += d;
		tracker.on_tick(now);
	}
	bool is_open(const std::string& addr, uint16_t port) const
	{
		const bool kernel = rec.is_open(addr, port);
		CHECK_MESSAGE(kernel == tracker.pinhole_open(ip(addr.c_str()), port), "tracker and updates disagree on ",
		              addr, " . ", port);
		return kernel;
	}
	size_t open_count() const { return rec.open.size(); }

	bool trusted = false;
};

} // namespace sipguard::calls::test
