// SPDX-License-Identifier: GPL-2.0-or-later
// Randomised call sequences (seeded, reproducible) against small tables:
// whatever the order of offers, answers, holds, forks, failures, forged and
// unknown requests, evictions and timeouts, the pinhole updates stay
// consistent (never opened twice, never closed or refreshed when not open)
// and nothing is left open once every dialog has timed out.
#include <random>

#include "tests/calls/call_fixture.h"

using namespace sipguard;
using namespace sipguard::calls;
using namespace sipguard::calls::test;

namespace {

struct Gen {
	std::mt19937 rng;
	explicit Gen(uint32_t seed) : rng(seed) {}
	int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
	bool chance(int percent) { return pick(100) < percent; }

	std::string addr()
	{
		static const char* kAddrs[] = {"198.51.100.1", "198.51.100.2", "198.51.100.3", "2001:db8::5", "0.0.0.0", "192.0.2.9"};
		return kAddrs[pick(6)];
	}
	std::string body()
	{
		if (chance(25))
			return {};
		std::vector<Stream> streams;
		const int n = 1 + pick(3);
		for (int i = 0; i < n; ++i) {
			Stream s;
			s.type = i == 1 ? "video" : "audio";
			s.port = chance(10) ? 0 : 10000 + 2 * pick(6);
			static const char* kAttrs[] = {"sendonly", "recvonly", "inactive", "sendrecv", "rtcp-mux", "rtcp:10999"};
			if (chance(40))
				s.attrs.push_back(kAttrs[pick(6)]);
			if (chance(10))
				s.c = addr();
			streams.push_back(s);
		}
		return sdp(addr(), streams);
	}
};

} // namespace

TEST_CASE("random call sequences keep pinholes consistent and leave nothing open")
{
	Counters total;
	uint64_t opens = 0;
	for (uint32_t seed = 1; seed <= 40; ++seed) {
		CAPTURE(seed);
		Gen g(seed);
		Config c;
		c.max_dialogs = 16;
		c.max_pinholes = 40;
		c.max_tracked_sources = 16;
		c.max_tracked_users = 16;
		c.per_source = {3, 20};
		c.per_user = {4, 0};
		c.nat_policy = static_cast<NatPolicy>(g.pick(3));
		c.pinhole_timeout = std::chrono::seconds(20);
		c.early_dialog_timeout = std::chrono::seconds(40);
		c.call_idle_timeout = std::chrono::seconds(120);
		Fixture f(c);
		static const char* kRemotes[] = {"198.51.100.1", "198.51.100.2", "2001:db8::5"};
		for (int step = 0; step < 600; ++step) {
			// Mostly well-formed dialogs: call i has a fixed remote and
			// direction; sometimes a third party or a stray tag/CSeq.
			const int call = g.pick(24);
			const bool pbx_calls = call % 2 == 1;
			const char* remote = g.chance(90) ? kRemotes[call % 3] : "192.0.2.66";
			const std::string caller_tag = "caller" + std::to_string(call);
			const std::string callee_tag = g.chance(75) ? "callee" : "branch-b";
			const bool from_caller = g.chance(50);
			Msg m;
			m.call_id = "rc-" + std::to_string(call);
			m.from_user = call % 4 < 2 ? "alice" : "bob";
			const bool response = g.chance(45);
			const int kind = g.pick(10);
			if (response) {
				// Responses travel opposite to their request; the callee
				// answers the INVITE, either side answers mid-dialog requests.
				static const int kStatus[] = {100, 180, 183, 200, 200, 200, 486, 487, 488, 491, 481, 603};
				m.start = "SIP/2.0 " + std::to_string(kStatus[g.pick(12)]) + " Reason";
				const bool initial = kind < 6;
				m.cseq_method = initial || kind < 8 ? "INVITE" : kind == 8 ? "UPDATE" : "PRACK";
				m.cseq = initial ? 1 : 2 + g.pick(3);
				const bool requester_is_caller = initial || from_caller;
				m.from_tag = requester_is_caller ? caller_tag : callee_tag;
				m.to_tag = requester_is_caller ? (g.chance(90) ? callee_tag : "") : caller_tag;
				const bool responder_is_pbx = requester_is_caller ? !pbx_calls : pbx_calls;
				m.body = g.chance(60) ? g.body() : "";
				f.send(responder_is_pbx ? nfq::Direction::Out : nfq::Direction::In, remote, m);
			} else {
				static const char* kMethods[] = {"INVITE", "INVITE", "INVITE", "ACK", "BYE", "CANCEL", "UPDATE", "PRACK", "INFO", "REFER"};
				const std::string method = kMethods[kind];
				m.start = method + " sip:100@pbx.example SIP/2.0";
				m.cseq_method = method;
				const bool initial = method == "INVITE" && kind == 0;
				const bool sender_is_caller = initial || method == "CANCEL" || from_caller;
				m.cseq = initial || method == "CANCEL" ? 1 : 2 + g.pick(3);
				m.from_tag = sender_is_caller ? caller_tag : callee_tag;
				m.to_tag = initial || method == "CANCEL" ? "" : sender_is_caller ? callee_tag : caller_tag;
				if (method == "INVITE" || method == "UPDATE" || method == "PRACK" || (method == "ACK" && g.chance(30)))
					m.body = g.body();
				const bool sender_is_pbx = sender_is_caller ? pbx_calls : !pbx_calls;
				f.send(sender_is_pbx ? nfq::Direction::Out : nfq::Direction::In, remote, m);
			}
			if (g.chance(5))
				f.advance(std::chrono::seconds(g.pick(30)));
			// The tracker's table and the updates it sent always agree.
			REQUIRE(f.tracker.open_pinholes() == f.open_count());
		}
		// Everything times out eventually, and with it every pinhole.
		f.advance(std::chrono::seconds(200));
		f.advance(std::chrono::seconds(200));
		CHECK(f.tracker.active_dialogs() == 0);
		CHECK(f.open_count() == 0);
		CHECK(f.tracker.open_pinholes() == 0);
		CHECK(f.rec.count(PinholeOp::Open) == f.rec.count(PinholeOp::Close));
		opens += f.rec.count(PinholeOp::Open);
		const Counters& k = f.tracker.counters();
		total.dialogs_confirmed += k.dialogs_confirmed;
		total.dialogs_evicted += k.dialogs_evicted;
		total.forged_dropped += k.forged_dropped;
		total.unknown_dialog_dropped += k.unknown_dialog_dropped;
		total.call_limit_dropped += k.call_limit_dropped;
		total.pinhole_table_full += k.pinhole_table_full;
		total.pinholes_refreshed += k.pinholes_refreshed;
	}
	// The sequences reach the interesting paths (else this test proves little).
	MESSAGE("opens ", opens, ", confirmed ", total.dialogs_confirmed, ", evicted ", total.dialogs_evicted, ", forged ",
	        total.forged_dropped, ", unknown ", total.unknown_dialog_dropped, ", limited ", total.call_limit_dropped,
	        ", table full ", total.pinhole_table_full, ", refreshed ", total.pinholes_refreshed);
	CHECK(opens > 100);
	CHECK(total.dialogs_confirmed > 0);
	CHECK(total.dialogs_evicted > 0);
	CHECK(total.forged_dropped > 0);
	CHECK(total.unknown_dialog_dropped > 0);
	CHECK(total.call_limit_dropped > 0);
	CHECK(total.pinholes_refreshed > 0);
}
