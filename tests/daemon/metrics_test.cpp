// SPDX-License-Identifier: GPL-2.0-or-later
// Prometheus exposition: HELP/TYPE once per family, escaped labels,
// cumulative histogram buckets, and a human rendering for `sipguard stats`.
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "agent/control/stats_text.h"
#include "agent/daemon/metrics.h"

using namespace sipguard::daemon::metrics;
using sipguard::control::to_human;

TEST_CASE("families are declared once and samples follow their family")
{
	Exposition e;
	e.family("sipguard_packets_total", Type::Counter, "Packets seen, by direction.");
	e.sample("sipguard_packets_total", {{"direction", "in"}}, 10);
	e.family("sipguard_bans_active", Type::Gauge, "Active bans.");
	e.sample("sipguard_bans_active", 3);
	e.family("sipguard_packets_total", Type::Counter, "Packets seen, by direction.");
	e.sample("sipguard_packets_total", {{"direction", "out"}}, 7);
	CHECK(e.text() == "# HELP sipguard_packets_total Packets seen, by direction.\n"
	                  "# TYPE sipguard_packets_total counter\n"
	                  "sipguard_packets_total{direction=\"in\"} 10\n"
	                  "sipguard_packets_total{direction=\"out\"} 7\n"
	                  "# HELP sipguard_bans_active Active bans.\n"
	                  "# TYPE sipguard_bans_active gauge\n"
	                  "sipguard_bans_active 3\n");
}

TEST_CASE("label values are escaped")
{
	Exposition e;
	e.family("x_total", Type::Counter, "help with \\ and\nnewline");
	e.sample("x_total", {{"ua", "friendly-scanner \"v1\"\\\n"}}, 1);
	std::string t = e.text();
	CHECK(t.find("# HELP x_total help with \\\\ and\\nnewline\n") != std::string::npos);
	CHECK(t.find("x_total{ua=\"friendly-scanner \\\"v1\\\"\\\\\\n\"} 1\n") != std::string::npos);
}

TEST_CASE("histogram buckets are cumulative with +Inf, sum and count")
{
	Histogram h({0.001, 0.01, 0.1});
	h.observe(0.0005);
	h.observe(0.005);
	h.observe(0.005);
	h.observe(5);
	Exposition e;
	h.collect(e, "sipguard_rules_batch_seconds", "Batch latency.");
	std::string t = e.text();
	CHECK(t.find("# TYPE sipguard_rules_batch_seconds histogram\n") != std::string::npos);
	CHECK(t.find("sipguard_rules_batch_seconds_bucket{le=\"0.001\"} 1\n") != std::string::npos);
	CHECK(t.find("sipguard_rules_batch_seconds_bucket{le=\"0.01\"} 3\n") != std::string::npos);
	CHECK(t.find("sipguard_rules_batch_seconds_bucket{le=\"0.1\"} 3\n") != std::string::npos);
	CHECK(t.find("sipguard_rules_batch_seconds_bucket{le=\"+Inf\"} 4\n") != std::string::npos);
	CHECK(t.find("sipguard_rules_batch_seconds_count 4\n") != std::string::npos);
	CHECK(t.find("sipguard_rules_batch_seconds_sum 5.0105") != std::string::npos);
}

TEST_CASE("per-shard counters sum on read across threads")
{
	std::vector<ShardCounter> shards(4);
	std::vector<std::thread> threads;
	for (auto& s : shards)
		threads.emplace_back([&s] {
			for (int i = 0; i < 100000; ++i)
				s.add();
		});
	for (auto& t : threads)
		t.join();
	Registry r;
	r.add([&](Exposition& e) {
		uint64_t sum = 0;
		for (auto& s : shards)
			sum += s.get();
		e.family("sipguard_packets_total", Type::Counter, "Packets.");
		e.sample("sipguard_packets_total", static_cast<double>(sum));
	});
	CHECK(r.scrape().find("sipguard_packets_total 400000\n") != std::string::npos);
}

TEST_CASE("the human rendering shows help text and values")
{
	Exposition e;
	e.family("sipguard_bans_active", Type::Gauge, "Active bans.");
	e.sample("sipguard_bans_active", 3);
	Histogram h({0.001});
	h.observe(0.002);
	h.collect(e, "sipguard_rules_batch_seconds", "Rules batch latency.");
	std::string human = to_human(e.text());
	CHECK(human.find("Active bans.\n") != std::string::npos);
	CHECK(human.find("sipguard_bans_active") != std::string::npos);
	CHECK(human.find("count 1, mean 2.000 ms") != std::string::npos);
	CHECK(human.find("_bucket") == std::string::npos);
}
