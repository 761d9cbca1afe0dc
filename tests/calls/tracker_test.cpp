// SPDX-License-Identifier: GPL-2.0-or-later
// Call tracker: offer/answer cases, pinhole lifetime, in-dialog validation and
// call limits, with raw SIP through the real parser and a controlled clock.
#include <thread>

#include "tests/calls/call_fixture.h"

using namespace sipguard;
using namespace sipguard::calls;
using namespace sipguard::calls::test;

namespace {

constexpr const char* kPhone = "198.51.100.7";  // remote caller / callee signalling address
constexpr const char* kPbx = "203.0.113.1";     // the protected host's media address
constexpr const char* kOther = "192.0.2.66";    // a third party

// prefix followed by n in decimal ("p3"). Built by appending: "lit" +
// std::to_string(n) trips GCC 12's false -Wrestrict (PR 105329) at -O2 and above.
std::string numbered(const char* prefix, int n)
{
	std::string s = prefix;
	s += std::to_string(n);
	return s;
}

Msg invite(std::string body = {}, std::string call_id = "call-1@198.51.100.7")
{
	Msg m;
	m.start = "INVITE sip:100@pbx.example SIP/2.0";
	m.call_id = std::move(call_id);
	m.body = std::move(body);
	return m;
}

Msg response(int status, const char* reason, std::string to_tag, std::string body = {}, const Msg& req = invite())
{
	Msg m = req;
	m.start = "SIP/2.0 " + std::to_string(status) + " " + reason;
	m.to_tag = std::move(to_tag);
	m.body = std::move(body);
	return m;
}

// A request inside the dialog `caller`/`callee`. `from_caller`: sent by the
// caller (From = caller tag), else by the callee (tags swapped).
Msg in_dialog(const char* method, int cseq, bool from_caller, std::string body = {},
              std::string call_id = "call-1@198.51.100.7", std::string callee_tag = "callee")
{
	Msg m;
	m.start = std::string(method) + " sip:peer@example.com SIP/2.0";
	m.call_id = std::move(call_id);
	m.from_tag = from_caller ? "caller" : callee_tag;
	m.to_tag = from_caller ? callee_tag : "caller";
	m.cseq = cseq;
	m.cseq_method = method;
	m.body = std::move(body);
	return m;
}

Msg in_dialog_response(int status, const char* reason, const Msg& req, std::string body = {})
{
	Msg m = req;
	m.start = "SIP/2.0 " + std::to_string(status) + " " + reason;
	m.body = std::move(body);
	return m;
}

// nat_policy "sdp": media only from the SDP's addresses, not the signalling one.
Config sdp_only()
{
	Config c;
	c.nat_policy = NatPolicy::Sdp;
	return c;
}

// Inbound call from kPhone (media 198.51.100.7:40000) answered by the PBX on
// port 10000: the usual office case.
void establish_inbound(Fixture& f)
{
	REQUIRE(f.in(kPhone, invite(audio(kPhone, 40000))) == Decision::Accept);
	f.out(kPhone, response(100, "Trying", ""));
	f.out(kPhone, response(180, "Ringing", "callee"));
	REQUIRE(f.open_count() == 0); // no answer yet: no local port known
	f.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000)));
	Msg ack = in_dialog("ACK", 1, true);
	REQUIRE(f.in(kPhone, ack) == Decision::Accept);
}

// A re-INVITE with `offer` in the dialog of establish_inbound, sent by the
// remote (`from_remote`) or by the PBX, and its 200 OK with `answer`.
void reinvite(Fixture& f, int cseq, bool from_remote, std::string offer, std::string answer)
{
	const Msg req = in_dialog("INVITE", cseq, from_remote, std::move(offer));
	const Msg ok = in_dialog_response(200, "OK", req, std::move(answer));
	if (from_remote) {
		f.in(kPhone, req);
		f.out(kPhone, ok);
	} else {
		f.out(kPhone, req);
		f.in(kPhone, ok);
	}
}

} // namespace

TEST_CASE("inbound call: remote's INVITE SDP and the PBX's 200 open RTP and RTCP; BYE closes them")
{
	Fixture f;
	establish_inbound(f);
	CHECK(f.is_open(kPhone, 10000));
	CHECK(f.is_open(kPhone, 10001)); // RTCP on port+1 (RFC 3550 §11)
	CHECK(f.open_count() == 2);      // the signalling address equals c=: no duplicates
	CHECK(f.tracker.active_dialogs() == 1);

	CHECK(f.in(kPhone, in_dialog("BYE", 2, true)) == Decision::Accept);
	CHECK(f.open_count() == 0);
	CHECK(f.rec.count(PinholeOp::Close) == 2);
	CHECK(f.tracker.active_dialogs() == 0);
	// The retransmitted BYE is recognised (the dialog lingers), not "unknown".
	CHECK(f.in(kPhone, in_dialog("BYE", 2, true)) == Decision::Accept);
	CHECK(f.tracker.counters().unknown_dialog_dropped == 0);
}

TEST_CASE("outbound call: the PBX's INVITE gives the local port, the remote's 183 the media address")
{
	Fixture f;
	const char* trunk = "198.51.100.20";
	Msg inv = invite(audio(kPbx, 10002), "out-1@pbx");
	inv.from_tag = "caller";
	REQUIRE(f.out(trunk, inv) == Decision::Accept);
	CHECK(f.open_count() == 0);
	// Early media from a media server that is not the signalling address.
	f.in(trunk, response(183, "Session Progress", "callee", audio("192.0.2.50", 5000), inv));
	CHECK(f.is_open("192.0.2.50", 10002));
	CHECK(f.is_open("192.0.2.50", 10003));
	CHECK(f.is_open(trunk, 10002)); // nat_policy sdp+signalling (default)
	CHECK(f.is_open(trunk, 10003));
	CHECK(f.open_count() == 4);
	// 200 without SDP: the 183's answer stands (RFC 3261 §13.2.1).
	f.in(trunk, response(200, "OK", "callee", {}, inv));
	CHECK(f.open_count() == 4);
	CHECK(f.tracker.counters().dialogs_confirmed == 1);
	// The PBX hangs up.
	CHECK(f.out(trunk, in_dialog("BYE", 2, true, {}, "out-1@pbx")) == Decision::Accept);
	CHECK(f.open_count() == 0);
}

TEST_CASE("nat_policy decides which source addresses may send media")
{
	for (auto [policy, sdp_open, sig_open] : {std::tuple{NatPolicy::Sdp, true, false},
	                                          std::tuple{NatPolicy::SdpAndSignalling, true, true},
	                                          std::tuple{NatPolicy::Signalling, false, true}}) {
		const auto policy_name = to_string(policy); // CAPTURE cannot capture a binding (clang 14)
		CAPTURE(policy_name);
		Config c;
		c.nat_policy = policy;
		Fixture f(c);
		// A phone behind NAT: private address in SDP, public signalling address.
		f.in(kPhone, invite(audio("10.1.2.3", 40000)));
		f.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000)));
		CHECK(f.is_open("10.1.2.3", 10000) == sdp_open);
		CHECK(f.is_open(kPhone, 10000) == sig_open);
		CHECK(f.is_open(kPhone, 10001) == sig_open);
	}
}

TEST_CASE("a declined call opens nothing and its ACK passes")
{
	Fixture f;
	f.in(kPhone, invite(audio(kPhone, 40000)));
	f.out(kPhone, response(603, "Decline", "callee"));
	CHECK(f.open_count() == 0);
	CHECK(f.rec.updates.empty());
	CHECK(f.in(kPhone, in_dialog("ACK", 1, true)) == Decision::Accept);
	CHECK(f.tracker.active_dialogs() == 0);
}

TEST_CASE("early media closes on CANCEL and on a final failure")
{
	SUBCASE("CANCEL")
	{
		Fixture f;
		f.in(kPhone, invite(audio(kPhone, 40000)));
		f.out(kPhone, response(183, "Session Progress", "callee", audio(kPbx, 10000)));
		CHECK(f.is_open(kPhone, 10000));
		Msg cancel = invite();
		cancel.start = "CANCEL sip:100@pbx.example SIP/2.0";
		cancel.cseq_method = "CANCEL";
		CHECK(f.in(kPhone, cancel) == Decision::Accept);
		CHECK(f.open_count() == 0);
		f.out(kPhone, response(487, "Request Terminated", "callee"));
		CHECK(f.open_count() == 0);
	}
	SUBCASE("486 Busy")
	{
		Fixture f;
		f.in(kPhone, invite(audio(kPhone, 40000)));
		f.out(kPhone, response(183, "Session Progress", "callee", audio(kPbx, 10000)));
		CHECK(f.open_count() == 2);
		f.out(kPhone, response(486, "Busy Here", "callee"));
		CHECK(f.open_count() == 0);
	}
	SUBCASE("CANCEL after the 200 does not end the call (RFC 3261 §9.2)")
	{
		Fixture f;
		establish_inbound(f);
		Msg cancel = invite();
		cancel.start = "CANCEL sip:100@pbx.example SIP/2.0";
		cancel.cseq_method = "CANCEL";
		f.in(kPhone, cancel);
		CHECK(f.open_count() == 2);
	}
}

TEST_CASE("forking: each early dialog gets its media; the answer closes the losing branches")
{
	Fixture f;
	const char* proxy = "198.51.100.30";
	Msg inv = invite(audio(kPbx, 10010), "fork@pbx");
	f.out(proxy, inv);
	f.in(proxy, response(183, "Session Progress", "branch-a", audio("192.0.2.1", 7000), inv));
	f.in(proxy, response(183, "Session Progress", "branch-b", audio("192.0.2.2", 7002), inv));
	CHECK(f.is_open("192.0.2.1", 10010));
	CHECK(f.is_open("192.0.2.2", 10010));
	f.in(proxy, response(200, "OK", "branch-b", audio("192.0.2.2", 7002), inv));
	CHECK_FALSE(f.is_open("192.0.2.1", 10010));
	CHECK(f.is_open("192.0.2.2", 10010));
	CHECK(f.is_open(proxy, 10010));
	// BYE from the winning branch (callee tag branch-b) ends the call.
	CHECK(f.in(proxy, in_dialog("BYE", 1, false, {}, "fork@pbx", "branch-b")) == Decision::Accept);
	CHECK(f.open_count() == 0);
}

TEST_CASE("re-INVITE moves media; the old pinholes close when the new offer is answered")
{
	Fixture f;
	establish_inbound(f);
	// The phone moves its media (e.g. transfer to another device behind a B2BUA).
	Msg reinv = in_dialog("INVITE", 2, true, audio("198.51.100.8", 41000));
	CHECK(f.in(kPhone, reinv) == Decision::Accept);
	// Until the answer, both old and new media pass.
	CHECK(f.is_open(kPhone, 10000));
	CHECK(f.is_open("198.51.100.8", 10000));
	f.out(kPhone, in_dialog_response(200, "OK", reinv, audio(kPbx, 10000)));
	CHECK(f.is_open("198.51.100.8", 10000));
	CHECK(f.is_open("198.51.100.8", 10001));
	CHECK(f.is_open(kPhone, 10000)); // signalling address (nat_policy sdp+signalling)
	CHECK(f.open_count() == 4);

	Fixture g(sdp_only());
	establish_inbound(g);
	reinvite(g, 2, true, audio("198.51.100.8", 41000), audio(kPbx, 10020));
	CHECK_FALSE(g.is_open(kPhone, 10000));
	CHECK_FALSE(g.is_open("198.51.100.8", 10000));
	CHECK(g.is_open("198.51.100.8", 10020));
	CHECK(g.is_open("198.51.100.8", 10021));
	CHECK(g.open_count() == 2);
}

TEST_CASE("a rejected re-INVITE leaves the media as it was (RFC 3261 §14.1)")
{
	Fixture f(sdp_only());
	establish_inbound(f);
	Msg reinv = in_dialog("INVITE", 2, true, audio("198.51.100.8", 41000));
	f.in(kPhone, reinv);
	f.out(kPhone, in_dialog_response(488, "Not Acceptable Here", reinv));
	CHECK(f.is_open(kPhone, 10000));
	CHECK_FALSE(f.is_open("198.51.100.8", 10000));
	CHECK(f.open_count() == 2);
	// The dialog continues normally.
	CHECK(f.in(kPhone, in_dialog("BYE", 3, true)) == Decision::Accept);
	CHECK(f.open_count() == 0);
}

TEST_CASE("hold: RTP stops, RTCP stays; resume reopens RTP")
{
	SUBCASE("the remote holds us: sendonly still sends (music on hold), inactive does not")
	{
		struct Hold {
			const char* offer;  // the remote's direction attribute
			const char* answer; // the PBX's
			bool rtp;           // the remote's RTP still passes
		};
		for (const Hold h : {Hold{"sendonly", "recvonly", true}, Hold{"inactive", "inactive", false}}) {
			CAPTURE(h.offer);
			Fixture f;
			establish_inbound(f);
			reinvite(f, 2, true, audio(kPhone, 40000, {h.offer}), audio(kPbx, 10000, {h.answer}));
			CHECK(f.is_open(kPhone, 10000) == h.rtp);
			CHECK(f.is_open(kPhone, 10001));
		}
	}
	SUBCASE("the PBX holds the remote with sendonly: the remote sends no RTP")
	{
		Fixture f;
		establish_inbound(f);
		reinvite(f, 1, false, audio(kPbx, 10000, {"sendonly"}), audio(kPhone, 40000, {"recvonly"}));
		CHECK_FALSE(f.is_open(kPhone, 10000));
		CHECK(f.is_open(kPhone, 10001)); // RFC 3264 §5.1: RTCP continues on hold
		reinvite(f, 2, false, audio(kPbx, 10000), audio(kPhone, 40000));
		CHECK(f.is_open(kPhone, 10000));
	}
	SUBCASE("c=0.0.0.0 (RFC 2543 hold) keeps RTCP at the last known address")
	{
		Fixture f(sdp_only());
		establish_inbound(f);
		reinvite(f, 2, true, audio("0.0.0.0", 40000), audio(kPbx, 10000));
		CHECK_FALSE(f.is_open(kPhone, 10000));
		CHECK(f.is_open(kPhone, 10001));
		CHECK_FALSE(f.is_open("0.0.0.0", 10000));
		reinvite(f, 3, true, audio(kPhone, 40000), audio(kPbx, 10000));
		CHECK(f.is_open(kPhone, 10000));
	}
}

TEST_CASE("audio and video: a pinhole pair per m-line; port 0 closes a stream")
{
	Fixture f(sdp_only());
	f.in(kPhone, invite(sdp(kPhone, {{"audio", 40000, {}, ""}, {"video", 40002, {}, ""}})));
	f.out(kPhone, response(200, "OK", "callee", sdp(kPbx, {{"audio", 10000, {}, ""}, {"video", 10002, {}, ""}})));
	CHECK(f.is_open(kPhone, 10000));
	CHECK(f.is_open(kPhone, 10001));
	CHECK(f.is_open(kPhone, 10002));
	CHECK(f.is_open(kPhone, 10003));
	CHECK(f.open_count() == 4);
	// The remote drops video (RFC 3264 §8.2: port 0).
	reinvite(f, 2, true, sdp(kPhone, {{"audio", 40000, {}, ""}, {"video", 0, {}, ""}}),
	         sdp(kPbx, {{"audio", 10000, {}, ""}, {"video", 0, {}, ""}}));
	CHECK(f.is_open(kPhone, 10000));
	CHECK_FALSE(f.is_open(kPhone, 10002));
	CHECK_FALSE(f.is_open(kPhone, 10003));
	CHECK(f.open_count() == 2);
}

TEST_CASE("a video answer with port 0 rejects only video; media-level c= is used")
{
	Fixture f(sdp_only());
	f.in(kPhone, invite(sdp(kPhone, {{"audio", 40000, {}, ""}, {"video", 40002, {}, "198.51.100.99"}})));
	f.out(kPhone, response(200, "OK", "callee", sdp(kPbx, {{"audio", 10000, {}, ""}, {"video", 10002, {}, ""}})));
	CHECK(f.is_open("198.51.100.99", 10002)); // video from the media-level address
	CHECK_FALSE(f.is_open(kPhone, 10002));
	CHECK(f.is_open(kPhone, 10000));
	Fixture g(sdp_only());
	g.in(kPhone, invite(sdp(kPhone, {{"audio", 40000, {}, ""}, {"video", 40002, {}, ""}})));
	g.out(kPhone, response(200, "OK", "callee", sdp(kPbx, {{"audio", 10000, {}, ""}, {"video", 0, {}, ""}})));
	CHECK(g.open_count() == 2);
}

TEST_CASE("RTCP: a=rtcp names the port (RFC 3605); rtcp-mux needs none (RFC 5761)")
{
	const Config strict = sdp_only();
	{
		Fixture f(strict);
		f.in(kPhone, invite(audio(kPhone, 40000, {"rtcp:40100 IN IP4 198.51.100.77"})));
		f.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000, {"rtcp:10500"})));
		CHECK(f.is_open(kPhone, 10000));
		CHECK(f.is_open("198.51.100.77", 10500)); // the remote sends RTCP from its a=rtcp address
		CHECK_FALSE(f.is_open(kPhone, 10001));
		CHECK(f.open_count() == 2);
	}
	{
		Fixture f(strict);
		f.in(kPhone, invite(audio(kPhone, 40000, {"rtcp-mux"})));
		f.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000, {"rtcp-mux"})));
		CHECK(f.is_open(kPhone, 10000));
		CHECK(f.open_count() == 1);
	}
	{
		// Offered but not accepted: separate RTCP.
		Fixture f(strict);
		f.in(kPhone, invite(audio(kPhone, 40000, {"rtcp-mux"})));
		f.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000)));
		CHECK(f.open_count() == 2);
	}
}

TEST_CASE("IPv6 SDP opens IPv6 pinholes")
{
	Fixture f;
	const char* phone6 = "2001:db8::7";
	f.in(phone6, invite(audio(phone6, 40000)));
	f.out(phone6, response(200, "OK", "callee", audio("2001:db8::1", 10000)));
	CHECK(f.is_open("2001:db8::7", 10000));
	CHECK(f.is_open("2001:db8::7", 10001));
	REQUIRE_FALSE(f.rec.updates.empty());
	CHECK(f.rec.updates[0].remote.is_v6());
	// IPv4 signalling, IPv6 media: both families, per policy.
	Fixture g;
	g.in(kPhone, invite(audio("2001:db8::9", 40000)));
	g.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000)));
	CHECK(g.is_open("2001:db8::9", 10000));
	CHECK(g.is_open(kPhone, 10000));
}

TEST_CASE("late offer: 200 carries the offer, ACK the answer")
{
	Fixture f;
	f.in(kPhone, invite());
	f.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000)));
	CHECK(f.open_count() == 0);
	f.in(kPhone, in_dialog("ACK", 1, true, audio(kPhone, 40000)));
	CHECK(f.is_open(kPhone, 10000));
	CHECK(f.is_open(kPhone, 10001));
}

TEST_CASE("reliable provisional: offer in 183, answer in PRACK (RFC 3262); UPDATE changes early media (RFC 3311)")
{
	Fixture f(sdp_only());
	f.in(kPhone, invite());
	f.out(kPhone, response(183, "Session Progress", "callee", audio(kPbx, 10000)));
	CHECK(f.open_count() == 0);
	Msg prack = in_dialog("PRACK", 2, true, audio(kPhone, 40000));
	CHECK(f.in(kPhone, prack) == Decision::Accept);
	CHECK(f.is_open(kPhone, 10000));
	// UPDATE from the caller moves its media before the answer.
	Msg update = in_dialog("UPDATE", 3, true, audio("198.51.100.8", 40000));
	CHECK(f.in(kPhone, update) == Decision::Accept);
	CHECK(f.is_open(kPhone, 10000)); // until answered
	CHECK(f.is_open("198.51.100.8", 10000));
	f.out(kPhone, in_dialog_response(200, "OK", update, audio(kPbx, 10000)));
	CHECK_FALSE(f.is_open(kPhone, 10000));
	CHECK(f.is_open("198.51.100.8", 10000));
	// A rejected UPDATE changes nothing.
	Msg update2 = in_dialog("UPDATE", 4, true, audio("198.51.100.9", 40000));
	f.in(kPhone, update2);
	f.out(kPhone, in_dialog_response(491, "Request Pending", update2));
	CHECK(f.is_open("198.51.100.8", 10000));
	CHECK_FALSE(f.is_open("198.51.100.9", 10000));
}

TEST_CASE("retransmitted 200s and a 407 retry with the same Call-ID are handled once")
{
	Fixture f;
	f.in(kPhone, invite(audio(kPhone, 40000)));
	f.out(kPhone, response(407, "Proxy Authentication Required", "chal"));
	CHECK(f.tracker.active_dialogs() == 0);
	Msg retry = invite(audio(kPhone, 40000));
	retry.cseq = 2;
	retry.auth_user = "alice";
	CHECK(f.in(kPhone, retry) == Decision::Accept);
	for (int i = 0; i < 5; ++i)
		f.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000), retry));
	CHECK(f.rec.count(PinholeOp::Open) == 2);
	CHECK(f.open_count() == 2);
	CHECK(f.tracker.counters().dialogs_created == 1);
}

TEST_CASE("the PBX's BYE to another address of the call still closes it (Call-ID and tags)")
{
	// snort3_demo Eyebeam capture: the BYE goes to a different host than the INVITE came from.
	Fixture f;
	establish_inbound(f);
	CHECK(f.out("198.51.100.88", in_dialog("BYE", 1, false)) == Decision::Accept);
	CHECK(f.open_count() == 0);
}

TEST_CASE("forged BYE/CANCEL/re-INVITE from a non-party are dropped; the call continues")
{
	Fixture f;
	establish_inbound(f);
	for (const char* method : {"BYE", "INVITE", "UPDATE", "REFER", "INFO", "PRACK"}) {
		CAPTURE(method);
		Msg m = in_dialog(method, 9, true, std::string(method) == "INVITE" ? audio(kOther, 6666) : "");
		CHECK(f.in(kOther, m) == Decision::DropForged);
		CHECK_FALSE(f.tracker.last_reason().empty());
	}
	Msg cancel = invite();
	cancel.start = "CANCEL sip:100@pbx.example SIP/2.0";
	cancel.cseq_method = "CANCEL";
	CHECK(f.in(kOther, cancel) == Decision::DropForged);
	CHECK(f.tracker.counters().forged_dropped == 7);
	CHECK(f.is_open(kPhone, 10000));
	CHECK_FALSE(f.is_open(kOther, 10000));
	// The real party hangs up normally.
	CHECK(f.in(kPhone, in_dialog("BYE", 2, true)) == Decision::Accept);
	CHECK(f.open_count() == 0);
	// A forged BYE for the ended (lingering) call is still forged.
	CHECK(f.in(kOther, in_dialog("BYE", 3, true)) == Decision::DropForged);
}

TEST_CASE("unknown dialogs: policy drop (default) or accept; trusted sources and ACK pass")
{
	{
		Fixture f;
		CHECK(f.in(kOther, in_dialog("BYE", 2, true, {}, "never-seen")) == Decision::DropUnknownDialog);
		CHECK(f.in(kOther, in_dialog("INVITE", 2, true, {}, "never-seen")) == Decision::DropUnknownDialog);
		CHECK(f.in(kOther, in_dialog("ACK", 2, true, {}, "never-seen")) == Decision::Accept);
		CHECK(f.in(kOther, in_dialog("NOTIFY", 2, true, {}, "never-seen")) == Decision::Accept);
		CHECK(f.tracker.counters().unknown_dialog_dropped == 2);
		f.trusted = true;
		CHECK(f.in(kOther, in_dialog("BYE", 2, true, {}, "never-seen")) == Decision::Accept);
	}
	{
		Config c;
		c.unknown_dialog = UnknownDialogPolicy::Accept;
		Fixture f(c);
		CHECK(f.in(kOther, in_dialog("BYE", 2, true, {}, "never-seen")) == Decision::Accept);
		CHECK(f.tracker.counters().unknown_dialog_accepted == 1);
	}
	{
		Config c;
		c.trunks.push_back(Trunk{"itsp", {*net::Cidr::parse("192.0.2.0/24")}, {}, true});
		Fixture f(c);
		CHECK(f.in(kOther, in_dialog("BYE", 2, true, {}, "never-seen")) == Decision::Accept);
	}
}

TEST_CASE("a trunk's other node may end a call set up through another node of the same trunk")
{
	Config c;
	c.trunks.push_back(Trunk{"itsp", {*net::Cidr::parse("198.51.100.0/28")}, {}, false});
	Fixture f(c);
	establish_inbound(f); // kPhone = 198.51.100.7, inside the trunk
	CHECK(f.in("198.51.100.9", in_dialog("BYE", 2, true)) == Decision::Accept);
	CHECK(f.open_count() == 0);
	// Outside the trunk: forged.
	Fixture g(c);
	establish_inbound(g);
	CHECK(g.in("198.51.100.99", in_dialog("BYE", 2, true)) == Decision::DropForged);
}

TEST_CASE("call limits: concurrent calls and attempts per minute per source, user and trunk")
{
	SUBCASE("per source, concurrent")
	{
		Config c;
		c.per_source = {2, 0};
		c.per_user = {};
		Fixture f(c);
		CHECK(f.in(kPhone, invite(audio(kPhone, 40000), "a")) == Decision::Accept);
		CHECK(f.in(kPhone, invite(audio(kPhone, 40002), "b")) == Decision::Accept);
		// A retransmission of a tracked INVITE is not a new call.
		CHECK(f.in(kPhone, invite(audio(kPhone, 40002), "b")) == Decision::Accept);
		CHECK(f.in(kPhone, invite(audio(kPhone, 40004), "c")) == Decision::DropCallLimit);
		CHECK(f.in(kPhone, invite(audio(kPhone, 40004), "d")) == Decision::DropCallLimit);
		REQUIRE(f.rec.findings.size() == 1); // one finding per key and minute
		CHECK(f.rec.findings[0].scope == "source");
		CHECK(f.rec.findings[0].limit == 2);
		CHECK(f.rec.findings[0].source == ip(kPhone));
		CHECK(f.tracker.counters().call_limit_dropped == 2);
		// Other sources are unaffected.
		CHECK(f.in(kOther, invite(audio(kOther, 40000), "x")) == Decision::Accept);
		// One call ends: room for another.
		f.out(kPhone, response(486, "Busy Here", "callee", {}, invite({}, "a")));
		CHECK(f.in(kPhone, invite(audio(kPhone, 40004), "c")) == Decision::Accept);
	}
	SUBCASE("per source, attempts per minute")
	{
		Config c;
		c.per_source = {0, 3};
		Fixture f(c);
		for (int i = 0; i < 3; ++i) {
			CHECK(f.in(kPhone, invite({}, numbered("r", i))) == Decision::Accept);
			f.out(kPhone, response(404, "Not Found", "t", {}, invite({}, numbered("r", i))));
		}
		CHECK(f.in(kPhone, invite({}, "r3")) == Decision::DropCallLimit);
		f.advance(61s);
		CHECK(f.in(kPhone, invite({}, "r4")) == Decision::Accept);
	}
	SUBCASE("per user (credentials the PBX accepted)")
	{
		Config c;
		c.per_source = {};
		c.per_user = {1, 0};
		Fixture f(c);
		Msg a = invite({}, "u1");
		a.auth_user = "200";
		CHECK(f.in(kPhone, a) == Decision::Accept);
		f.out(kPhone, response(180, "Ringing", "callee", {}, a)); // the PBX accepted the credentials
		Msg b = invite({}, "u2");
		b.auth_user = "200";
		CHECK(f.in(kOther, b) == Decision::DropCallLimit);
		REQUIRE(f.rec.findings.size() == 1);
		CHECK(f.rec.findings[0].scope == "user");
		CHECK(std::string(f.rec.findings[0].subject) == "200");
		Msg other_user = invite({}, "u3");
		other_user.from_user = "bob";
		CHECK(f.in(kOther, other_user) == Decision::Accept);
	}
	SUBCASE("per trunk replaces per source, both directions count")
	{
		Config c;
		c.per_source = {1, 0};
		c.per_user = {};
		c.trunks.push_back(Trunk{"itsp", {*net::Cidr::parse("198.51.100.0/24")}, {2, 0}, true});
		Fixture f(c);
		CHECK(f.in("198.51.100.1", invite({}, "t1")) == Decision::Accept);
		CHECK(f.out("198.51.100.2", invite({}, "t2")) == Decision::Accept); // outbound call on the trunk
		CHECK(f.in("198.51.100.1", invite({}, "t3")) == Decision::DropCallLimit);
		REQUIRE(f.rec.findings.size() == 1);
		CHECK(f.rec.findings[0].scope == "trunk");
		CHECK(std::string(f.rec.findings[0].subject) == "itsp");
	}
	SUBCASE("0 = unlimited")
	{
		Config c;
		c.per_source = {};
		c.per_user = {};
		Fixture f(c);
		for (int i = 0; i < 1000; ++i)
			REQUIRE(f.in(kPhone, invite({}, numbered("n", i))) == Decision::Accept);
	}
}

TEST_CASE("timers: pinholes are refreshed while the call lives; dead dialogs expire")
{
	Config c;
	c.pinhole_timeout = 60s;
	c.early_dialog_timeout = 120s;
	c.call_idle_timeout = 3600s;
	Fixture f(c);
	establish_inbound(f);
	f.advance(29s);
	CHECK(f.rec.count(PinholeOp::Refresh) == 0);
	f.advance(2s);
	CHECK(f.rec.count(PinholeOp::Refresh) == 2);
	for (const auto& u : f.rec.updates)
		if (u.op != PinholeOp::Close)
			CHECK(u.timeout == 60s);
	// Refreshed every half timeout for as long as the call lasts.
	for (int i = 0; i < 100; ++i)
		f.advance(10s);
	CHECK(f.rec.count(PinholeOp::Refresh) >= 2 * 30);
	CHECK(f.open_count() == 2);
	// No signalling for call_idle_timeout: the BYE was lost.
	f.advance(3600s);
	CHECK(f.open_count() == 0);
	CHECK(f.tracker.counters().dialogs_expired == 1);

	// An early dialog with early media that never gets a final response.
	Fixture g(c);
	g.in(kPhone, invite(audio(kPhone, 40000)));
	g.out(kPhone, response(183, "Session Progress", "callee", audio(kPbx, 10000)));
	CHECK(g.open_count() == 2);
	g.advance(119s);
	CHECK(g.open_count() == 2);
	g.advance(2s);
	CHECK(g.open_count() == 0);
	// After the linger time the Call-ID is forgotten: its BYE is "unknown".
	g.advance(60s);
	CHECK(g.in(kPhone, in_dialog("BYE", 2, true)) == Decision::DropUnknownDialog);
}

TEST_CASE("bounded tables: dialogs past the cap evict (ended first, then early), counted")
{
	Config c;
	c.max_dialogs = 16;
	c.per_source = {};
	c.per_user = {};
	Fixture f(c);
	establish_inbound(f); // one confirmed call worth keeping
	for (int i = 0; i < 40; ++i) {
		const std::string ip_text = numbered("192.0.2.", i + 1);
		f.in(ip_text.c_str(), invite(audio(ip_text, 40000), numbered("flood-", i)));
	}
	CHECK(f.tracker.counters().dialogs_evicted == 40 + 1 - 16);
	CHECK(f.tracker.active_dialogs() == 16);
	// The confirmed call survived the flood of unanswered INVITEs.
	CHECK(f.is_open(kPhone, 10000));
	CHECK(f.in(kPhone, in_dialog("BYE", 2, true)) == Decision::Accept);
	CHECK(f.open_count() == 0);
}

TEST_CASE("pinhole table full: counted, the call proceeds without media, nothing leaks")
{
	Config c;
	c.max_pinholes = 16;
	c.nat_policy = NatPolicy::Sdp;
	Fixture f(c);
	for (int i = 0; i < 12; ++i) {
		const std::string cid = numbered("p", i);
		f.in(kPhone, invite(audio(kPhone, 40000 + 2 * i), cid));
		f.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000 + 2 * i), invite({}, cid)));
	}
	CHECK(f.open_count() == 16);
	CHECK(f.tracker.counters().pinhole_table_full == 8);
	for (int i = 0; i < 12; ++i)
		f.in(kPhone, in_dialog("BYE", 2, true, {}, numbered("p", i)));
	CHECK(f.open_count() == 0);
	CHECK(f.tracker.open_pinholes() == 0);
}

TEST_CASE("shared pinholes are reference-counted: one call's BYE does not cut another's media")
{
	Config c;
	c.nat_policy = NatPolicy::Signalling;
	Fixture f(c);
	// Two calls from one address answered on the same local port (a PBX
	// reusing a port while the first dialog is still up).
	f.in(kPhone, invite(audio(kPhone, 40000), "s1"));
	f.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000), invite({}, "s1")));
	f.in(kPhone, invite(audio(kPhone, 40002), "s2"));
	f.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000), invite({}, "s2")));
	CHECK(f.rec.count(PinholeOp::Open) == 2);
	f.in(kPhone, in_dialog("BYE", 2, true, {}, "s1"));
	CHECK(f.is_open(kPhone, 10000));
	f.in(kPhone, in_dialog("BYE", 2, true, {}, "s2"));
	CHECK(f.open_count() == 0);
}

TEST_CASE("config: parameter table and validation")
{
	Config c;
	CHECK_FALSE(c.validate().has_value());
	const Parameter* p = find_parameter("nat_policy");
	REQUIRE(p != nullptr);
	CHECK(p->set_text(c, "signalling").ok());
	CHECK(c.nat_policy == NatPolicy::Signalling);
	util::Status refused = p->set_text(c, "nat");
	CHECK_FALSE(refused.ok());
	CHECK(refused.message.find("sdp+signalling") != std::string::npos);
	const Parameter* t = find_parameter("pinhole_timeout");
	REQUIRE(t != nullptr);
	CHECK(t->set_integer(c, 30).ok());
	CHECK(c.pinhole_timeout == 30s);
	c.pinhole_timeout = 1s;
	REQUIRE(c.validate().has_value());
	CHECK(c.validate()->find("calls.pinhole_timeout") != std::string::npos);
	Config d;
	d.trunks.push_back(Trunk{"a", {}, {}, true});
	CHECK(d.validate().has_value());
	for (const auto& row : parameters()) {
		CHECK_FALSE(row.help.empty());
		CHECK((row.set_integer != nullptr) != (row.set_text != nullptr));
	}
}

TEST_CASE("call limit holds for retransmissions of the dropped INVITE while the calls are up")
{
	Config c;
	c.per_source = {2, 0};
	Fixture f(c);
	for (const char* cid : {"l1", "l2"}) {
		CHECK(f.in(kPhone, invite(audio(kPhone, 40000), cid)) == Decision::Accept);
		f.out(kPhone, response(180, "Ringing", "callee", {}, invite({}, cid)));
		f.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000), invite({}, cid)));
		f.in(kPhone, in_dialog("ACK", 1, true, {}, cid));
	}
	for (int i = 0; i < 6; ++i) {
		CHECK(f.in(kPhone, invite(audio(kPhone, 40004), "l3")) == Decision::DropCallLimit);
		f.advance(500ms);
	}
}

TEST_CASE("after a restart: the PBX's own re-INVITE adopts the call; the remote may then end it")
{
	Fixture f(sdp_only());
	// The call was set up before the agent started: the remote's re-INVITE
	// is an unknown dialog (policy drop)...
	CHECK(f.in(kPhone, in_dialog("INVITE", 5, true, audio(kPhone, 40000))) == Decision::DropUnknownDialog);
	// ...but the PBX's session refresh vouches for it.
	Msg refresh = in_dialog("INVITE", 7, false, audio(kPbx, 10000));
	CHECK(f.out(kPhone, refresh) == Decision::Accept);
	CHECK(f.tracker.counters().dialogs_adopted == 1);
	f.in(kPhone, in_dialog_response(200, "OK", refresh, audio(kPhone, 40000)));
	CHECK(f.is_open(kPhone, 10000)); // media pinholes are back
	CHECK(f.is_open(kPhone, 10001));
	// A third party is still refused, the real remote is a party now.
	CHECK(f.in(kOther, in_dialog("BYE", 6, true)) == Decision::DropForged);
	CHECK(f.in(kPhone, in_dialog("BYE", 6, true)) == Decision::Accept);
	CHECK(f.open_count() == 0);
	// A PBX BYE for an unknown call adopts nothing.
	CHECK(f.out(kPhone, in_dialog("BYE", 9, false, {}, "gone")) == Decision::Accept);
	CHECK(f.tracker.counters().dialogs_adopted == 1);
}

TEST_CASE("ICE: reflexive and relayed candidates may send media too (RFC 8445)")
{
	const Config c = sdp_only();
	Fixture f(c);
	// Host address in c=, public reflexive and relayed candidates, an mDNS
	// host candidate and a TCP candidate (both ignored).
	const std::string offer = sdp("10.0.0.5", {{"audio", 40000,
	                                            {"candidate:1 1 UDP 2130706431 10.0.0.5 40000 typ host",
	                                             "candidate:2 1 UDP 1694498815 198.51.100.50 61000 typ srflx raddr 10.0.0.5 rport 40000",
	                                             "candidate:3 1 udp 16777215 192.0.2.200 3478 typ relay raddr 198.51.100.50 rport 61000",
	                                             "candidate:4 1 UDP 2130706430 abc.local 40002 typ host",
	                                             "candidate:5 1 TCP 1 198.51.100.60 9 typ host tcptype active"},
	                                            ""}});
	f.in(kPhone, invite(offer));
	f.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000)));
	CHECK(f.is_open("10.0.0.5", 10000));
	CHECK(f.is_open("198.51.100.50", 10000));
	CHECK(f.is_open("198.51.100.50", 10001));
	CHECK(f.is_open("192.0.2.200", 10000));
	CHECK_FALSE(f.is_open("198.51.100.60", 10000));
	CHECK(f.open_count() == 6);
	// With more candidates than kept, reflexive ones win over host ones.
	Fixture g(c);
	const std::string many = sdp("10.0.0.5", {{"audio", 40000,
	                                           {"candidate:1 1 UDP 1 10.0.0.6 40000 typ host",
	                                            "candidate:2 1 UDP 1 10.0.0.7 40000 typ host",
	                                            "candidate:3 1 UDP 1 198.51.100.51 61000 typ srflx raddr 10.0.0.5 rport 40000"},
	                                           ""}});
	g.in(kPhone, invite(many));
	g.out(kPhone, response(200, "OK", "callee", audio(kPbx, 10000)));
	CHECK(g.is_open("198.51.100.51", 10000));
	CHECK(g.is_open("10.0.0.6", 10000));
	CHECK_FALSE(g.is_open("10.0.0.7", 10000));
}

namespace {

// A trunk's call from kPhone as user "trunk": INVITE -> 407 -> INVITE with
// credentials (same Call-ID) -> 200; both INVITEs must be accepted.
void authenticated_call(Fixture& f, const std::string& cid)
{
	Msg first = invite({}, cid);
	first.from_user = "trunk";
	REQUIRE(f.in(kPhone, first) == Decision::Accept);
	f.out(kPhone, response(407, "Proxy Authentication Required", "chal", {}, first));
	Msg retry = first;
	retry.cseq = 2;
	retry.auth_user = "trunk";
	REQUIRE(f.in(kPhone, retry) == Decision::Accept);
	f.out(kPhone, response(200, "OK", "callee", {}, retry));
}

} // namespace

TEST_CASE("call limits count a call authenticated after a 407 once, for its source and its user")
{
	// A trunk authenticating every call: INVITE -> 407 -> ACK -> INVITE with
	// credentials (same Call-ID) -> 200. Counting both INVITEs took a
	// 20 calls/s trunk to a 200/min user limit in 5 s (issue 18).
	Config c;
	c.per_source = {0, 100};
	c.per_user = {0, 100};
	Fixture f(c);
	for (int i = 0; i < 100; ++i) {
		authenticated_call(f, numbered("trunk-", i));
		f.advance(50ms);
	}
	CHECK(f.tracker.counters().call_limit_dropped == 0);
	CHECK(f.rec.findings.empty());
	// The 101st call within the minute is past both limits.
	Msg next = invite({}, "trunk-100");
	CHECK(f.in(kPhone, next) == Decision::DropCallLimit);
}

namespace {

// The real 201 (kPhone, credentials the PBX answers `status`) gets its two
// concurrent calls under a {2, ...} user limit; the third is limited.
void real_201_gets_two_calls(Fixture& f, int status, const char* reason)
{
	for (int i = 0; i < 2; ++i) {
		Msg real = invite({}, numbered("real-", i));
		real.from_user = "201";
		real.auth_user = "201";
		CHECK(f.in(kPhone, real) == Decision::Accept);
		f.out(kPhone, response(status, reason, "callee", {}, real));
	}
	Msg third = invite({}, "real-2");
	third.auth_user = "201";
	CHECK(f.in(kPhone, third) == Decision::DropCallLimit);
}

} // namespace

TEST_CASE("call limits: INVITEs naming a user without its credentials never use up its limit")
{
	Config c;
	c.per_source = {};
	c.per_user = {2, 4};
	Fixture f(c);
	// Anyone can write From: 201, or credentials with username 201 that the
	// PBX then refuses.
	for (int i = 0; i < 10; ++i) {
		Msg spoof = invite({}, numbered("spoof-", i));
		spoof.from_user = "201";
		CHECK(f.in(kOther, spoof) == Decision::Accept);
		Msg bad = invite({}, numbered("bad-", i));
		bad.auth_user = "201";
		CHECK(f.in(kOther, bad) == Decision::Accept);
		f.out(kOther, response(407, "Proxy Authentication Required", "chal", {}, bad));
		Msg forbidden = invite({}, numbered("forbidden-", i));
		forbidden.auth_user = "201";
		CHECK(f.in(kOther, forbidden) == Decision::Accept);
		f.out(kOther, response(403, "Forbidden", "chal", {}, forbidden));
	}
	CHECK(f.rec.findings.empty());
	real_201_gets_two_calls(f, 200, "OK");
	REQUIRE(f.rec.findings.size() == 1);
	CHECK(f.rec.findings[0].scope == "user");
}

TEST_CASE("call limits are off by default: an authenticated trunk at 40 calls/s for a minute")
{
	Fixture f;
	for (int i = 0; i < 2400; ++i) {
		authenticated_call(f, numbered("t40-", i));
		f.advance(25ms);
	}
	CHECK(f.tracker.counters().call_limit_dropped == 0);
}

TEST_CASE("call limits: a 4xx-6xx to credentials never counts them as the user's")
{
	// Spoofed INVITEs carrying credentials for 201, from many addresses; the
	// PBX answers them without a digest check (404, 488) or under load (500,
	// 503): only 1xx-3xx say it accepted them.
	Config c;
	c.per_user = {2, 4};
	Fixture f(c);
	const int statuses[] = {404, 480, 486, 488, 500, 503, 603};
	int n = 0;
	for (int status : statuses)
		for (int i = 0; i < 5; ++i, ++n) {
			const std::string from = "10." + std::to_string(n % 200) + "." + std::to_string(n / 200) + ".9";
			Msg bad = invite({}, numbered("bad-", n));
			bad.from_user = "201";
			bad.auth_user = "201";
			CHECK(f.in(from.c_str(), bad) == Decision::Accept);
			f.out(from.c_str(), response(status, "Whatever", "pbx", {}, bad));
		}
	CHECK(f.rec.findings.empty());
	real_201_gets_two_calls(f, 180, "Ringing");
}

TEST_CASE("call limits per trunk and per user are exact across shards sharing one table")
{
	// Two queue threads' trackers, as the daemon builds them: a hash seed
	// each, one SharedLimits. The kernel hashes each address to one queue,
	// so a trunk's two nodes, or a user's two phones, may be on either.
	Config c;
	c.trunks.push_back(Trunk{"itsp", {*net::Cidr::parse("198.51.100.0/28")}, {3, 5}, true});
	c.per_user = {2, 0};
	SharedLimits shared(64, c.trunks.size(), 99);
	Config ca = c, cb = c;
	ca.hash_seed = 1;
	cb.hash_seed = 2;
	Fixture a(ca, &shared), b(cb, &shared);

	SUBCASE("trunk: concurrent calls")
	{
		CHECK(a.in("198.51.100.2", invite({}, "t1")) == Decision::Accept);
		CHECK(b.in("198.51.100.3", invite({}, "t2")) == Decision::Accept);
		CHECK(a.out("198.51.100.2", invite({}, "t3")) == Decision::Accept);
		// Each shard holds at most two: a table per shard would admit this.
		CHECK(b.in("198.51.100.3", invite({}, "t4")) == Decision::DropCallLimit);
		CHECK(shared.trunk_concurrent(0) == 3);
		// A call ending on one shard frees a call on the other.
		a.out("198.51.100.2", response(486, "Busy Here", "callee", {}, invite({}, "t1")));
		CHECK(shared.trunk_concurrent(0) == 2);
		CHECK(b.in("198.51.100.3", invite({}, "t5")) == Decision::Accept);
		REQUIRE(b.rec.findings.size() == 1);
		CHECK(b.rec.findings[0].scope == "trunk");
	}
	SUBCASE("trunk: attempts per minute")
	{
		for (int i = 0; i < 5; ++i) {
			Fixture& s = i % 2 ? b : a;
			const char* node = i % 2 ? "198.51.100.3" : "198.51.100.2";
			Msg inv = invite({}, numbered("m", i));
			CHECK(s.in(node, inv) == Decision::Accept);
			s.out(node, response(404, "Not Found", "pbx", {}, inv));
		}
		CHECK(a.in("198.51.100.2", invite({}, "m5")) == Decision::DropCallLimit);
		CHECK(b.in("198.51.100.3", invite({}, "m6")) == Decision::DropCallLimit);
		// One finding for the trunk within the minute, from all shards.
		CHECK(a.rec.findings.size() + b.rec.findings.size() == 1);
		a.advance(61s);
		b.advance(61s);
		CHECK(b.in("198.51.100.3", invite({}, "m7")) == Decision::Accept);
	}
	SUBCASE("user: concurrent calls of one account from two phones")
	{
		auto call = [](Fixture& s, const char* phone, const char* cid) {
			Msg inv = invite({}, cid);
			inv.from_user = "201";
			inv.auth_user = "201";
			const Decision d = s.in(phone, inv);
			if (d == Decision::Accept)
				s.out(phone, response(200, "OK", "callee", {}, inv));
			return d;
		};
		CHECK(call(a, "192.0.2.10", "u1") == Decision::Accept);
		CHECK(call(b, "192.0.2.11", "u2") == Decision::Accept);
		CHECK(call(a, "192.0.2.10", "u3") == Decision::DropCallLimit);
		CHECK(call(b, "192.0.2.11", "u4") == Decision::DropCallLimit);
		CHECK(shared.user_concurrent(shared.user_key("201")) == 2);
		// u2 ends on shard b: shard a's phone may call again.
		CHECK(b.in("192.0.2.11", in_dialog("BYE", 2, true, {}, "u2")) == Decision::Accept);
		CHECK(call(a, "192.0.2.10", "u5") == Decision::Accept);
	}
}

TEST_CASE("call limits: two queue threads admit exactly a trunk's concurrent limit between them")
{
	// Both threads at once, each with its own tracker on one SharedLimits:
	// 2 x 100 INVITEs from the trunk's two nodes, never answered (each holds
	// a concurrent call), against a limit of 50.
	Config c;
	c.trunks.push_back(Trunk{"itsp", {*net::Cidr::parse("198.51.100.0/28")}, {50, 0}, true});
	SharedLimits shared(64, 1, 7);
	Recorder rec_a, rec_b;
	Config ca = c, cb = c;
	ca.hash_seed = 1;
	cb.hash_seed = 2;
	Tracker a(ca, rec_a, &shared), b(cb, rec_b, &shared);
	std::vector<std::string> texts[2];
	for (int s = 0; s < 2; ++s)
		for (int i = 0; i < 100; ++i)
			texts[s].push_back(wire(invite({}, numbered(s ? "b-" : "a-", i))));
	int accepted[2] = {0, 0};
	auto run = [&](int s, Tracker& t, const char* node) {
		MessageContext ctx;
		ctx.remote = *net::IpAddress::parse(node);
		ctx.now = util::TimePoint(1'000'000s);
		for (const std::string& text : texts[s]) {
			sip::Message msg;
			sip::parse(text, sip::Transport::Datagram, msg);
			accepted[s] += t.on_message(msg, ctx) == Decision::Accept ? 1 : 0;
		}
	};
	std::thread ta([&] { run(0, a, "198.51.100.2"); });
	std::thread tb([&] { run(1, b, "198.51.100.3"); });
	ta.join();
	tb.join();
	MESSAGE("admitted ", accepted[0], " + ", accepted[1]);
	CHECK(accepted[0] + accepted[1] == 50);
	CHECK(shared.trunk_concurrent(0) == 50);
	CHECK(a.counters().call_limit_dropped + b.counters().call_limit_dropped == 150);
}
