// SPDX-License-Identifier: GPL-2.0-or-later
// Toll-fraud guard benchmark: INVITEs per second through Guard::decide (with
// on_answered and on_ended, so live calls stay bounded) against sip::parse
// of the same INVITEs, measured in the same run on thread CPU time.
//
//   sipguard-bench-fraud [SECONDS_PER_ROUND [ROUNDS [INVITES]]]
//
// The INVITEs dial a mix of national, mobile, international (allowed and
// denied), premium, satellite and internal numbers from 200 accounts, with
// a 10 000-entry bad-number list loaded. Each round measures the parser,
// then the guard, each for SECONDS of CPU; the best round of each side is
// reported ("decide/parse" is the guard's cost per INVITE relative to
// parsing it: below 1 the guard is cheaper than the parse it follows).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "agent/fraud/guard.h"
#include "agent/sip/parser.h"

using namespace sipguard;

namespace {

double cpu_now()
{
	timespec ts{};
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string invite(const std::string& number, const std::string& account, const std::string& call_id)
{
	std::string s = "INVITE sip:" + number + "@pbx.example.com SIP/2.0\r\n"
	                "Via: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK-" + call_id + ";rport\r\n"
	                "Max-Forwards: 70\r\n"
	                "Contact: <sip:" + account + "@192.0.2.101:5060>\r\n"
	                "To: <sip:" + number + "@pbx.example.com>\r\n"
	                "From: <sip:" + account + "@pbx.example.com>;tag=5c8a1d2e\r\n"
	                "Call-ID: " + call_id + "\r\n"
	                "CSeq: 2 INVITE\r\n"
	                "Proxy-Authorization: Digest username=\"" + account +
	                "\",realm=\"asterisk\",nonce=\"1732917385/8d4f4c1c\",uri=\"sip:" + number +
	                "@pbx.example.com\",response=\"2f0c8e6c7b1a9d3e4f5a6b7c8d9e0f1a\",algorithm=MD5\r\n"
	                "User-Agent: Zoiper rv2.10.19.5\r\n"
	                "Content-Type: application/sdp\r\n";
	const std::string sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.101\r\ns=-\r\nc=IN IP4 192.0.2.101\r\nt=0 0\r\n"
	                        "m=audio 49172 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";
	return s + "Content-Length: " + std::to_string(sdp.size()) + "\r\n\r\n" + sdp;
}

} // namespace

int main(int argc, char** argv)
{
	const double seconds = argc > 1 ? std::atof(argv[1]) : 1.0;
	const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
	const size_t count = argc > 3 ? static_cast<size_t>(std::atol(argv[3])) : 20000;

	const std::string list_path = "/tmp/sipguard-bench-fraud-list.txt";
	{
		std::ofstream list(list_path);
		for (int i = 0; i < 10000; ++i)
			list << fmt::format("+4490987{:05}\n", i);
	}
	fraud::Config c;
	c.enabled = true;
	c.country_code = "44";
	c.dial_out_prefix = "9";
	c.data_dir = SIPGUARD_FRAUD_DATA;
	c.allow_countries = {"FR", "DE"};
	c.bad_number_files = {list_path};
	c.lock_on_bad_number = false; // locked accounts would take the short path
	c.business_hours = "08:00-18:00";
	// Patterns stay on with their defaults but may not lock the bench's accounts for good.
	c.pattern.calls_per_minute = {1000, 4000};
	c.pattern.calls_per_day = {1000000, 0};
	c.pattern.denied_per_hour = {1000, 0};
	c.pattern.new_countries_per_day = {1, 0};
	c.pattern.international_per_hour = {100, 0};
	c.pattern.same_number = {100, 0};
	auto made = fraud::Guard::create(c);
	std::remove(list_path.c_str());
	if (!made) {
		fmt::print(stderr, "sipguard-bench-fraud: {}\n", made.error());
		return 2;
	}
	fraud::Guard& guard = **made;

	const char* numbers[] = {"02079460{:03}", "07700900{:03}", "900331426{:04}", "0049301234{:03}",
	                         "0909870{:04}",  "+88161234{:04}", "2{:02}",         "00180955{:05}"};
	struct Invite {
		std::string text, number, account, call_id;
	};
	std::vector<Invite> invites;
	for (size_t i = 0; i < count; ++i) {
		Invite v;
		v.number = fmt::format(fmt::runtime(numbers[i % std::size(numbers)]), i % 1000);
		v.account = fmt::format("ext{}", i % 200);
		v.call_id = fmt::format("bench-{}@192.0.2.101", i);
		v.text = invite(v.number, v.account, v.call_id);
		invites.push_back(std::move(v));
	}

	sip::Message msg;
	uint64_t sink = 0;
	int64_t clock = 1796637600;
	// Runs step(i) in batches of 1000 for `budget` seconds of CPU: calls per second.
	auto measure = [](double budget, auto&& step) {
		size_t n = 0;
		const double start = cpu_now();
		double now = start;
		while (now - start < budget) {
			for (size_t i = 0; i < 1000; ++i, ++n)
				step(n);
			now = cpu_now();
		}
		return static_cast<double>(n) / (now - start);
	};
	auto run_parse = [&](double budget) {
		return measure(budget, [&](size_t n) {
			const Invite& v = invites[n % invites.size()];
			sip::parse(v.text, sip::Transport::Datagram, msg);
			sink += msg.ruri.user.size();
		});
	};
	auto run_decide = [&](double budget) {
		const double rate = measure(budget, [&](size_t n) {
			const Invite& v = invites[n % invites.size()];
			const util::TimePoint t{std::chrono::milliseconds(clock * 1000 + static_cast<int64_t>(n))};
			fraud::CallAttempt a;
			a.dialled = v.number;
			a.account = v.account;
			a.call_id = v.call_id; // each call ends below, so the next pass's same Call-ID is a new call
			a.source_class = fraud::SourceClass::Extension;
			const fraud::Decision d = guard.decide(a, t);
			sink += static_cast<uint64_t>(d.verdict);
			if (!d.drop())
				guard.on_answered(v.call_id, t);
			guard.on_ended(v.call_id, t);
		});
		clock += 3600;
		return rate;
	};

	fmt::print("sipguard-bench-fraud: {} INVITEs, {} rounds of {:.1f} s CPU per side\n", invites.size(), rounds,
	           seconds);
	double best_parse = 0, best_decide = 0;
	std::vector<double> pairs;
	for (int r = 0; r < rounds; ++r) {
		const double p = run_parse(seconds);
		const double d = run_decide(seconds);
		best_parse = std::max(best_parse, p);
		best_decide = std::max(best_decide, d);
		pairs.push_back(p / d);
		fmt::print("  round {}: parse {:>10.0f} INVITE/s   decide {:>10.0f} INVITE/s   decide/parse cost {:.3f}\n", r + 1,
		           p, d, p / d);
	}
	std::sort(pairs.begin(), pairs.end());
	const fraud::Counters k = guard.counters();
	fmt::print("best: parse {:.0f} INVITE/s ({:.2f} us), decide {:.0f} INVITE/s ({:.2f} us)\n", best_parse,
	           1e6 / best_parse, best_decide, 1e6 / best_decide);
	fmt::print("decide/parse cost ratio (best over best): {:.3f}; median of pairs {:.3f}\n", best_parse / best_decide,
	           pairs[pairs.size() / 2]);
	fmt::print("verdicts: allow {} warn {} deny {} deny-and-lock {}; bad-list hits {}; live calls {} (sink {})\n",
	           k.by_verdict[0], k.by_verdict[1], k.by_verdict[2], k.by_verdict[3],
	           k.bad_list_hits.empty() ? 0 : k.bad_list_hits[0].second, k.live_calls, sink & 1);
	return 0;
}
