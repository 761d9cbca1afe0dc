// SPDX-License-Identifier: GPL-2.0-or-later
// Engine throughput: packets per second through Engine::on_packet (decode
// of SIP included, detectors, transaction matching, call hook off), for a
// benign PBX traffic mix and for a spoofed-source flood, against the parser
// alone on the same messages (the reference measured in the same run).
//
//   sipguard-bench-engine [--seconds S] [--mix benign|flood]
//                         [--fraud DATA_DIR [--pairs N] [--fraud-side on|off]]
//
// --mix runs one mix only; --seconds 0 makes one pass over it (callgrind).
// --fraud runs each mix with the toll-fraud guard off and on (a UK site
// allowing the mix's German calls; tables from DATA_DIR, e.g. data/fraud)
// in N alternating pairs (default 7) and prints the median on/off ratio;
// --fraud-side runs one side once (callgrind per side).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "agent/detect/account_table.h"
#include "agent/engine/ban_manager.h"
#include "agent/engine/engine.h"
#include "agent/engine/fraud_gate.h"
#include "agent/sip/parser.h"
#include "tests/engine/sip_builder.h"

using namespace sipguard;
using Clock = std::chrono::steady_clock;

namespace {

struct NullSink final : engine::Sink {
	uint64_t findings = 0;
	void on_finding(const detect::Finding& f, const engine::BanResult&) override
	{
		if (++findings <= 3 && std::getenv("BENCH_VERBOSE"))
			fmt::print(stderr, "finding: {} {}: {}\n", f.source.to_string(), detect::to_string(f.detector), f.reason);
	}
};

struct Pkt {
	net::IpAddress remote;
	uint16_t port;
	nfq::Direction dir;
	std::string text;
};

// A benign mix: phones registering with a challenge, calls with PRACK/ACK/
// BYE, keep-alives and OPTIONS qualify, from 2000 phones.
std::vector<Pkt> benign_mix()
{
	std::vector<Pkt> v;
	for (int p = 0; p < 2000; ++p) {
		auto addr = net::IpAddress::v4(0xC6336400u + static_cast<uint32_t>(p)); // 198.51.100.0+
		std::string host = addr.to_string();
		test::Req r;
		r.method = "REGISTER";
		r.ruri_user = "";
		r.from_user = r.to_user = std::to_string(1000 + p);
		r.via_host = host;
		r.call_id = fmt::format("reg-{}@{}", p, host);
		v.push_back({addr, 5060, nfq::Direction::In, test::request(r)});
		v.push_back({addr, 5060, nfq::Direction::Out, test::response(r, 401)});
		r.cseq = 2;
		r.credentials = true;
		v.push_back({addr, 5060, nfq::Direction::In, test::request(r)});
		v.push_back({addr, 5060, nfq::Direction::Out, test::response(r, 200)});
		if (p % 4 == 0) {
			test::Req c;
			c.method = "INVITE";
			c.ruri_user = c.to_user = "0049301234567";
			c.from_user = r.from_user;
			c.via_host = host;
			c.call_id = fmt::format("call-{}@{}", p, host);
			c.proxy_credentials = true;
			c.body = "v=0\r\no=- 1 1 IN IP4 " + host + "\r\ns=-\r\nc=IN IP4 " + host +
			         "\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";
			v.push_back({addr, 5060, nfq::Direction::In, test::request(c)});
			v.push_back({addr, 5060, nfq::Direction::Out, test::response(c, 100)});
			v.push_back({addr, 5060, nfq::Direction::Out, test::response(c, 180)});
			v.push_back({addr, 5060, nfq::Direction::Out, test::response(c, 200)});
			for (const char* m : {"ACK", "BYE"}) {
				test::Req d = c;
				d.method = m;
				d.body.clear();
				d.cseq = std::string_view(m) == "BYE" ? 2 : 1;
				v.push_back({addr, 5060, nfq::Direction::In, test::request(d)});
				if (std::string_view(m) == "BYE")
					v.push_back({addr, 5060, nfq::Direction::Out, test::response(d, 200)});
			}
		}
		v.push_back({addr, 5060, nfq::Direction::In, "\r\n\r\n"});
		test::Req q;
		q.method = "OPTIONS";
		q.ruri_user = q.to_user = r.from_user;
		q.via_host = "192.0.2.1";
		q.call_id = fmt::format("qualify-{}", p);
		v.push_back({addr, 5060, nfq::Direction::Out, test::request(q)});
		v.push_back({addr, 5060, nfq::Direction::In, test::response(q, 200)});
	}
	return v;
}

// One INVITE text from 1,000,000 spoofed sources (each seen once).
std::vector<Pkt> spoofed_flood()
{
	test::Req r;
	r.method = "INVITE";
	r.user_agent = "Grandstream GXP2160";
	std::string text = test::request(r);
	std::vector<Pkt> v;
	v.reserve(1000000);
	for (uint32_t i = 0; i < 1000000; ++i)
		v.push_back({net::IpAddress::v4(0x0a000000u + i), 5060, nfq::Direction::In, text});
	return v;
}

double run_engine(const std::vector<Pkt>& pkts, double seconds, uint64_t& total, NullSink& sink, size_t& bytes,
                  engine::FraudGate* fraud = nullptr)
{
	auto cfg = std::make_shared<engine::Config>();
	engine::BanManager bans(*cfg, nullptr);
	engine::Engine eng(cfg, bans, sink);
	eng.set_fraud(fraud);
	bytes = eng.table_bytes();
	util::TimePoint now{std::chrono::seconds(1'800'000'000)};
	nfq::PacketView pv;
	pv.l4 = nfq::L4::Udp;
	auto pbx = net::IpAddress::v4(0xC0000201u);
	auto pass = [&] {
		for (const auto& p : pkts) {
			bool in = p.dir == nfq::Direction::In;
			pv.src = in ? p.remote : pbx;
			pv.dst = in ? pbx : p.remote;
			pv.sport = in ? p.port : 5060;
			pv.dport = in ? 5060 : p.port;
			pv.payload = {reinterpret_cast<const uint8_t*>(p.text.data()), p.text.size()};
			eng.on_packet(pv, p.dir, now);
			now += std::chrono::microseconds(200); // keeps the benign mix far below flood rates per source
		}
	};
	// A timed run starts after one untimed pass: the tables' pages are
	// touched and the mix's accounts known, as in a daemon that has run a
	// while. --seconds 0 (callgrind) makes the one cold pass only.
	if (seconds > 0)
		pass();
	total = 0;
	auto start = Clock::now();
	auto deadline = start + std::chrono::duration<double>(seconds);
	do { // at least one pass (callgrind: --seconds 0)
		pass();
		total += pkts.size();
	} while (Clock::now() < deadline);
	return std::chrono::duration<double>(Clock::now() - start).count();
}

double run_parse(const std::vector<Pkt>& pkts, double seconds, uint64_t& total)
{
	sip::Message m;
	uint64_t sink = 0;
	total = 0;
	auto start = Clock::now();
	auto deadline = start + std::chrono::duration<double>(seconds);
	while (Clock::now() < deadline) {
		for (const auto& p : pkts) {
			sip::parse(p.text, sip::Transport::Datagram, m);
			sink += m.length;
		}
		total += pkts.size();
	}
	if (sink == 42)
		std::puts("");
	return std::chrono::duration<double>(Clock::now() - start).count();
}

// The shared account table's cost: failed authentications recorded per
// second by `threads` threads at once (one mutex; each thread its own sources).
double run_accounts(unsigned threads, double seconds)
{
	detect::AccountTable table(16384);
	const util::TimePoint now{std::chrono::seconds(1'800'000'000)};
	std::vector<uint64_t> accounts;
	for (int i = 0; i < 1000; ++i)
		accounts.push_back(table.hash(std::to_string(100 + i)));
	std::vector<uint64_t> counts(threads);
	std::vector<std::thread> pool;
	auto start = Clock::now();
	for (unsigned t = 0; t < threads; ++t)
		pool.emplace_back([&, t] {
			auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
			uint64_t n = 0;
			while (Clock::now() < deadline)
				for (size_t i = 0; i < accounts.size(); ++i, ++n)
					(void)table.on_failure(accounts[i], t * 1000003 + i % 7, now, std::chrono::minutes(10),
					                       detect::AccountConfig{});
			counts[t] = n;
		});
	for (auto& th : pool)
		th.join();
	double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
	uint64_t total = 0;
	for (uint64_t c : counts)
		total += c;
	return static_cast<double>(total) / elapsed;
}

// Packets/s with the guard off and on in `pairs` alternating pairs (which
// side goes first alternates too); the ratio is the median of the pairs'
// ratios. `side` "on"/"off" runs that side once only (callgrind).
void fraud_ratio(std::string_view name, const std::vector<Pkt>& pkts, double seconds, const std::string& data,
                 int pairs, std::string_view side)
{
	fraud::Config fc;
	fc.enabled = true;
	fc.country_code = "44";
	fc.data_dir = data;
	fc.allow_countries = {"DE"};
	fc.pattern.same_number = {}; // every pass repeats the same calls
	uint64_t decided = 0, last_findings = 0;
	auto round = [&](bool on) {
		// A fresh guard each "on" round: every round starts the clock again.
		// The "off" round loads no tables (a profile shows no fraud code).
		std::unique_ptr<fraud::Guard> g;
		std::unique_ptr<engine::FraudGate> gate;
		if (on) {
			auto created = fraud::Guard::create(fc);
			if (!created) {
				fmt::print(stderr, "fraud guard: {}\n", created.error());
				std::exit(2);
			}
			g = std::move(*created);
			gate = std::make_unique<engine::FraudGate>(*g, nullptr);
		}
		NullSink sink;
		uint64_t n = 0;
		size_t bytes = 0;
		const double t = run_engine(pkts, seconds, n, sink, bytes, gate.get());
		last_findings = sink.findings;
		if (gate)
			decided += gate->decisions(fraud::Verdict::Allow, fraud::NumberClass::International) +
			           gate->decisions(fraud::Verdict::Warn, fraud::NumberClass::International);
		return static_cast<double>(n) / t;
	};
	if (!side.empty()) {
		const double pps = round(side == "on");
		fmt::print("{}\n  fraud guard {}: {:>10.0f} packets/s ({} calls decided)\n", name, side, pps, decided);
		return;
	}
	std::vector<double> off, on, ratio;
	for (int i = 0; i < pairs; ++i) {
		const bool on_first = i % 2 == 1;
		const double a = round(on_first), b = round(!on_first);
		off.push_back(on_first ? b : a);
		on.push_back(on_first ? a : b);
		ratio.push_back(on.back() / off.back());
	}
	auto median = [](std::vector<double> v) {
		std::sort(v.begin(), v.end());
		const size_t n = v.size();
		return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	};
	const auto [lo, hi] = std::minmax_element(ratio.begin(), ratio.end());
	fmt::print("{}\n  fraud guard off: {:>10.0f} packets/s (median of {})\n"
	           "  fraud guard on:  {:>10.0f} packets/s (median; {} calls decided)\n"
	           "  ratio on/off: median {:.3f} of {} alternating pairs (min {:.3f}, max {:.3f})\n",
	           name, median(off), pairs, median(on), decided, median(ratio), pairs, *lo, *hi);
	if (std::getenv("BENCH_VERBOSE"))
		fmt::print(stderr, "last round's findings: {}\n", last_findings);
}

} // namespace

int main(int argc, char** argv)
{
	double seconds = 2;
	std::string mix;
	std::string fraud_data;
	std::string fraud_side;
	int pairs = 7;
	for (int i = 1; i < argc; ++i) {
		if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = std::atof(argv[++i]);
		} else if (std::strcmp(argv[i], "--mix") == 0 && i + 1 < argc) {
			mix = argv[++i];
		} else if (std::strcmp(argv[i], "--fraud") == 0 && i + 1 < argc) {
			fraud_data = argv[++i];
		} else if (std::strcmp(argv[i], "--pairs") == 0 && i + 1 < argc) {
			pairs = std::max(1, std::atoi(argv[++i]));
		} else if (std::strcmp(argv[i], "--fraud-side") == 0 && i + 1 < argc) {
			fraud_side = argv[++i];
			if (fraud_side != "on" && fraud_side != "off") {
				std::fprintf(stderr, "--fraud-side: expected on or off\n");
				return 2;
			}
		} else {
			std::fprintf(stderr, "usage: %s [--seconds S] [--mix benign|flood] [--fraud DATA_DIR [--pairs N] [--fraud-side on|off]]\n", argv[0]);
			return 2;
		}
	}
	fmt::print("engine throughput, one shard, {} s per measurement\n", seconds);
	for (auto [name, pkts] : {std::pair{"benign mix (2000 phones: REGISTER+auth, calls, qualify, keep-alives)", benign_mix()},
	                          std::pair{"spoofed INVITE flood (1,000,000 sources)", spoofed_flood()}}) {
		if (!mix.empty() && std::string_view(name).substr(0, mix.size()) != mix &&
		    !(mix == "flood" && std::string_view(name).find("flood") != std::string_view::npos))
			continue;
		if (!fraud_data.empty()) {
			fraud_ratio(name, pkts, seconds, fraud_data, pairs, fraud_side);
			continue;
		}
		NullSink sink;
		uint64_t n_eng = 0, n_parse = 0;
		size_t bytes = 0;
		double t_eng = run_engine(pkts, seconds, n_eng, sink, bytes);
		double t_parse = run_parse(pkts, seconds, n_parse);
		double pps_eng = static_cast<double>(n_eng) / t_eng;
		double pps_parse = static_cast<double>(n_parse) / t_parse;
		fmt::print("{}\n  engine.on_packet: {:>10.0f} packets/s ({:.0f} ns/packet), tables {:.1f} MiB, findings {}\n"
		           "  parser alone:     {:>10.0f} packets/s ({:.0f} ns/packet)\n"
		           "  ratio engine/parser: {:.2f}\n",
		           name, pps_eng, 1e9 / pps_eng, static_cast<double>(bytes) / (1024 * 1024), sink.findings, pps_parse,
		           1e9 / pps_parse, pps_eng / pps_parse);
	}
	if (!mix.empty())
		return 0;
	const double one = run_accounts(1, seconds / 2), two = run_accounts(2, seconds / 2);
	fmt::print("shared account table (failed authentications, one mutex)\n"
	           "  1 thread:  {:>10.0f} failures/s ({:.0f} ns each)\n"
	           "  2 threads: {:>10.0f} failures/s ({:.0f} ns each)\n",
	           one, 1e9 / one, two, 1e9 / two);
	return 0;
}
