// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's metrics: SIP messages counted by method and status class from
// the engine's own parse (banned sources' datagrams included), counters
// summed over shards, and the families in the order operators' dashboards
// and the privileged tests know.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/daemon/exporter.h"
#include "tests/daemon/harness.h"
#include "tests/engine/sip_builder.h"

using namespace sipguard;
using nfq::Direction;

namespace {

bool has(const std::string& text, const std::string& line) { return text.find("\n" + line + "\n") != std::string::npos; }

std::vector<std::string> families(const std::string& text)
{
	std::vector<std::string> out;
	std::istringstream in(text);
	std::string line;
	while (std::getline(in, line))
		if (line.rfind("# TYPE ", 0) == 0)
			out.push_back(line.substr(7, line.find(' ', 7) - 7));
	return out;
}

} // namespace

TEST_CASE("requests by method and responses by class come from the parse, summed over shards")
{
	auto rt = test::make_runtime(2);
	test::Req invite{.method = "INVITE", .call_id = "c1@198.51.100.10", .branch = "z9hG4bK-i"};
	test::Req options{.method = "OPTIONS", .call_id = "c2@198.51.100.10", .branch = "z9hG4bK-o"};
	test::Req ext{.method = "FOOBAR", .call_id = "c3@198.51.100.10", .branch = "z9hG4bK-x"};
	daemon::Shard& a = *rt->shards[0];
	daemon::Shard& b = *rt->shards[1];
	test::send_udp(a, Direction::In, "198.51.100.10", test::request(invite));
	test::send_udp(a, Direction::Out, "198.51.100.10", test::response(invite, 100));
	test::send_udp(a, Direction::Out, "198.51.100.10", test::response(invite, 404));
	test::send_udp(b, Direction::In, "198.51.100.11", test::request(options));
	test::send_udp(b, Direction::Out, "198.51.100.11", test::response(options, 200));
	test::send_udp(b, Direction::In, "198.51.100.11", test::request(ext));
	// Malformed past a good start line: counted as malformed, not by method.
	test::send_udp(b, Direction::In, "198.51.100.11", "OPTIONS sip:100@pbx SIP/2.0\r\nVia: broken\r\n\r\n");

	test::check_scrape_has(*rt, {
		"sipguard_sip_requests_total{method=\"INVITE\"} 1",
		"sipguard_sip_requests_total{method=\"OPTIONS\"} 1",
		"sipguard_sip_requests_total{method=\"other\"} 1",
		"sipguard_sip_requests_total{method=\"BYE\"} 0",
		"sipguard_sip_responses_total{class=\"1xx\"} 1",
		"sipguard_sip_responses_total{class=\"2xx\"} 1",
		"sipguard_sip_responses_total{class=\"4xx\"} 1",
		"sipguard_sip_responses_total{class=\"6xx\"} 0",
		"sipguard_malformed_total{kind=\"malformed\"} 1",
		"sipguard_packets_total{direction=\"in\"} 4",
		"sipguard_packets_total{direction=\"out\"} 3",
		"sipguard_verdicts_total{direction=\"out\",verdict=\"accept\"} 3",
		"sipguard_calls_total 1",
	});
}

TEST_CASE("a banned source's requests still count by method while the engine drops them")
{
	auto rt = test::make_runtime();
	test::Req scan{.method = "OPTIONS", .user_agent = "friendly-scanner", .via_host = "203.0.113.9"};
	for (int i = 0; i < 3; ++i) {
		scan.branch = "z9hG4bK-s" + std::to_string(i);
		test::send_udp(*rt->shards[0], Direction::In, "203.0.113.9", test::request(scan));
	}
	REQUIRE(rt->bans->active_count() == 1);
	test::check_scrape_has(*rt, {
		"sipguard_sip_requests_total{method=\"OPTIONS\"} 3",
		"sipguard_findings_total{detector=\"scanner\"} 1",
		"sipguard_dropped_total{cause=\"banned\"} 2",
		"sipguard_bans_active 1",
	});
}

TEST_CASE("the families come in their documented order, each declared once")
{
	auto rt = test::make_runtime();
	std::vector<std::string> f = families(test::scrape(*rt));
	const std::vector<std::string> head = {
		"sipguard_up", "sipguard_packets_total", "sipguard_verdicts_total", "sipguard_sip_requests_total",
		"sipguard_sip_responses_total", "sipguard_malformed_total", "sipguard_keepalives_total",
		"sipguard_findings_total", "sipguard_dropped_total", "sipguard_evictions_total", "sipguard_tcp_events_total",
		"sipguard_bans_active",
		"sipguard_bans_total", "sipguard_unbans_total", "sipguard_pinholes_active", "sipguard_calls_active",
		"sipguard_calls_total", "sipguard_pinhole_table_full_total", "sipguard_queue_received_total",
		"sipguard_queue_enobufs_total", "sipguard_kernel_queue_dropped_total", "sipguard_kernel_queue_waiting"};
	const std::vector<std::string> tail = {
		"sipguard_kernel_in_sync",  "sipguard_kernel_divergent_elements", "sipguard_kernel_checks_total",
		"sipguard_kernel_repairs_total", "sipguard_restored_bans",         "sipguard_restore_seconds",
		"sipguard_reloads_total",   "sipguard_state_saves_total",         "sipguard_control_clients",
		"sipguard_kernel_reassembly", "sipguard_fraud_decisions_total", "sipguard_fraud_calls_total",
		"sipguard_fraud_call_seconds_total", "sipguard_fraud_locks", "sipguard_fraud_locks_total",
		"sipguard_fraud_locked_calls_total", "sipguard_fraud_bad_number_hits_total",
		"sipguard_fraud_pattern_findings_total", "sipguard_fraud_live_calls", "sipguard_fraud_evictions_total",
		"sipguard_fraud_list_reloads_total"};
	REQUIRE(f.size() >= head.size() + tail.size());
	CHECK(std::vector<std::string>(f.begin(), f.begin() + static_cast<long>(head.size())) == head);
	CHECK(std::vector<std::string>(f.end() - static_cast<long>(tail.size()), f.end()) == tail);
	std::vector<std::string> sorted = f;
	std::sort(sorted.begin(), sorted.end());
	CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
}

TEST_CASE("a counter table writes HELP/TYPE once and each series as the sum over instances")
{
	struct Stats {
		uint64_t a = 0;
		std::array<uint64_t, 2> by_dir{};
	};
	using daemon::metrics::CounterTable;
	const CounterTable<Stats> table = {
		{"x_total", daemon::metrics::Type::Counter, "X.", {{{}, daemon::metrics::field(&Stats::a)}}},
		{"y_total", daemon::metrics::Type::Counter, "Y by direction.",
		 {{{{"direction", "in"}}, daemon::metrics::element(&Stats::by_dir, 0)},
		  {{{"direction", "out"}}, daemon::metrics::element(&Stats::by_dir, 1)}}},
	};
	Stats s1{.a = 2, .by_dir = {1, 5}};
	Stats s2{.a = 3, .by_dir = {10, 0}};
	const std::array<const Stats*, 2> both{&s1, &s2};
	daemon::metrics::Exposition e;
	daemon::metrics::export_table(e, table, both);
	CHECK(e.text() == "# HELP x_total X.\n# TYPE x_total counter\nx_total 5\n"
	                  "# HELP y_total Y by direction.\n# TYPE y_total counter\n"
	                  "y_total{direction=\"in\"} 11\ny_total{direction=\"out\"} 5\n");
}

TEST_CASE("every series the daemon exported before its families became tables is still there, in order")
{
	const char* root = std::getenv("SIPGUARD_SOURCE_ROOT");
	REQUIRE_MESSAGE(root, "SIPGUARD_SOURCE_ROOT is set by meson");
	std::ifstream in(std::string(root) + "/tests/fixtures/metrics/series.txt");
	REQUIRE(in);
	auto rt = test::make_runtime();
	rt->writer = std::make_unique<rules::Writer>(rules::Netlink{}); // never opened: its counters only
	rt->shards[0]->pinhole_submit_failed.add(2);
	const std::string text = test::scrape(*rt);
	CHECK(has(text, "sipguard_rules_elements_total{outcome=\"queue_full\"} 2"));
	// The scrape's lines without their values.
	std::vector<std::string> lines;
	std::istringstream scraped(text);
	for (std::string line; std::getline(scraped, line);)
		lines.push_back(line.starts_with("#") ? line : line.substr(0, line.rfind(' ')));
	auto at = lines.begin();
	size_t pinned = 0;
	for (std::string want; std::getline(in, want);) {
		if (want.starts_with("##"))
			continue;
		CAPTURE(want);
		at = std::find(at, lines.end(), want);
		REQUIRE(at != lines.end());
		++at;
		++pinned;
	}
	CHECK(pinned > 150);
}

TEST_CASE("per-queue families: one series per queue, queue label first, kernel drops by reason")
{
	nfq::QueueStats q0, q1;
	q0.received = 7;
	q1.received = 9;
	q1.enobufs = 1;
	const std::vector<std::pair<std::string, nfq::QueueStats>> ours = {{"0", q0}, {"1", q1}};
	nfq::KernelQueueStats k3;
	k3.queue_num = 3;
	k3.queue_dropped = 4;
	k3.user_dropped = 5;
	k3.queue_total = 6;
	const std::vector<std::pair<std::string, nfq::KernelQueueStats>> kernel = {{"3", k3}};
	daemon::metrics::Exposition e;
	daemon::metrics::export_each(e, daemon::queue_table(), ours, "queue");
	daemon::metrics::export_each(e, daemon::kernel_queue_table(), kernel, "queue");
	CHECK(e.text() ==
	      "# HELP sipguard_queue_received_total Packets received from each NFQUEUE.\n"
	      "# TYPE sipguard_queue_received_total counter\n"
	      "sipguard_queue_received_total{queue=\"0\"} 7\n"
	      "sipguard_queue_received_total{queue=\"1\"} 9\n"
	      "# HELP sipguard_queue_enobufs_total Receive calls that reported ENOBUFS (messages lost).\n"
	      "# TYPE sipguard_queue_enobufs_total counter\n"
	      "sipguard_queue_enobufs_total{queue=\"0\"} 0\n"
	      "sipguard_queue_enobufs_total{queue=\"1\"} 1\n"
	      "# HELP sipguard_kernel_queue_dropped_total Packets the kernel dropped for a queue (from "
	      "/proc/net/netfilter/nfnetlink_queue), by reason.\n"
	      "# TYPE sipguard_kernel_queue_dropped_total counter\n"
	      "sipguard_kernel_queue_dropped_total{queue=\"3\",reason=\"queue_full\"} 4\n"
	      "sipguard_kernel_queue_dropped_total{queue=\"3\",reason=\"socket_full\"} 5\n"
	      "# HELP sipguard_kernel_queue_waiting Packets waiting for a verdict in the kernel.\n"
	      "# TYPE sipguard_kernel_queue_waiting gauge\n"
	      "sipguard_kernel_queue_waiting{queue=\"3\"} 6\n");
}

TEST_CASE("a summary row writes _sum in seconds from nanoseconds and _count as counted")
{
	struct Batches {
		uint64_t ns = 0;
		uint64_t n = 0;
	};
	using daemon::metrics::CounterTable;
	const CounterTable<Batches> table = {
		{"x_seconds", daemon::metrics::Type::Summary, "X.",
		 {{{}, daemon::metrics::field(&Batches::ns), "_sum", 1e9}, {{}, daemon::metrics::field(&Batches::n), "_count"}}},
	};
	daemon::metrics::Exposition e;
	daemon::metrics::export_one(e, table, Batches{.ns = 1500000, .n = 3});
	CHECK(e.text() == "# HELP x_seconds X.\n# TYPE x_seconds summary\nx_seconds_sum 0.0015\nx_seconds_count 3\n");
}
