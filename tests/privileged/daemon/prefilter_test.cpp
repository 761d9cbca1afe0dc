// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged: the daemon's pre-filter end to end: a source the PBX contacts becomes known and skips the meter while the agent inspects it, an unknown one over its rate is dropped in the kernel and reported, with the agent gone known SIP passes and unknown SIP does not, known and unknown sources have queue ranges of their own that the same threads read (one address, one offset in both), and a damaged pre-filter is repaired.
#include <doctest/doctest.h>

#include <signal.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/daemon/apply_config.h"
#include "agent/daemon/config.h"
#include "tests/privileged/daemon/agent.h"
#include "tests/privileged/daemon/lab.h"

using namespace sipguard;
using namespace std::chrono_literals;
using test::Agent;
using test::DaemonLab;
using test::EnterNetns;

namespace {

constexpr const char* kPhone = "192.0.2.30";
constexpr const char* kStranger = "192.0.2.40";
constexpr const char* kPrefilter = "[prefilter]\nsource_rate = 10\nsource_burst = 10\n";
// CRLF keep-alives: the engine accepts them and no detector counts them.
constexpr const char* kKeepalive = "\r\n\r\n";
constexpr int kBurst = 150;

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// The PBX qualifies the phone (an OPTIONS from its SIP port): the agent
// sees the PBX contact it and adds it to known4. Waits at most 3 s.
bool pbx_contacts(DaemonLab& lab, const std::string& phone)
{
	lab.pbx().must("ip route replace " + phone + "/32 dev veth0");
	{
		EnterNetns in(lab.pbx());
		test::Fd s;
		s.fd = test::bound_udp(DaemonLab::kPbx4, 5060);
		socklen_t len = 0;
		sockaddr_storage to = test::make_addr(phone, 5060, len);
		const std::string opt = "OPTIONS sip:" + phone + " SIP/2.0\r\nVia: SIP/2.0/UDP " + DaemonLab::kPbx4 +
		                        ":5060;branch=z9hG4bK-q1\r\nFrom: <sip:pbx@" + DaemonLab::kPbx4 +
		                        ">;tag=1\r\nTo: <sip:" + phone + ">\r\nCall-ID: qualify-1\r\nCSeq: 1 OPTIONS\r\n"
		                        "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
		::sendto(s.fd, opt.data(), opt.size(), 0, reinterpret_cast<sockaddr*>(&to), len);
	}
	const auto t0 = std::chrono::steady_clock::now();
	while (std::chrono::steady_clock::now() - t0 < 3s) {
		if (has(test::kernel_set(lab.pbx(), "known4"), phone))
			return true;
		std::this_thread::sleep_for(20ms);
	}
	return false;
}

// sipguard_queue_received_total by queue number, from `stats --prometheus`.
std::map<int, uint64_t> received_by_queue(const Agent& agent)
{
	std::map<int, uint64_t> out;
	std::istringstream in(agent.metrics());
	const std::string prefix = "sipguard_queue_received_total{queue=\"";
	for (std::string line; std::getline(in, line);)
		if (line.rfind(prefix, 0) == 0) {
			const size_t q_end = line.find('"', prefix.size());
			out[std::stoi(line.substr(prefix.size(), q_end - prefix.size()))] =
				std::stoull(line.substr(line.rfind(' ') + 1));
		}
	return out;
}

// The queue that took one keep-alive from `from` (-1: none within 2 s).
int queue_of(DaemonLab& lab, const Agent& agent, const std::string& from)
{
	const auto before = received_by_queue(agent);
	lab.send_one(from, 40000, 5060, kKeepalive);
	const auto t0 = std::chrono::steady_clock::now();
	while (std::chrono::steady_clock::now() - t0 < 2s) {
		for (const auto& [q, n] : received_by_queue(agent))
			if (before.count(q) == 0 || before.at(q) != n)
				return q;
		std::this_thread::sleep_for(20ms);
	}
	return -1;
}

} // namespace

TEST_CASE("daemon pre-filter: two threads read queues 0,1 (unknown, never fail-open) and 2,3 (known); an address "
          "takes queue i while unknown and 2+i once known")
{
	test::require_root_or_skip();
	std::vector<std::string> sources;
	for (int i = 0; i < 16; ++i)
		sources.push_back("192.0.2." + std::to_string(50 + i));
	DaemonLab lab{sources};
	test::TempDir dir;
	Agent agent{lab.pbx(), dir.path, kPrefilter}; // queues = 2, fail_open default (true)
	agent.start();

	// status lists both ranges: thread i reads queue i and 2+i.
	util::json::Value s = agent.status();
	CHECK(s["queues"].as_int() == 2);
	const auto& list = s["queue_list"].as_array();
	REQUIRE(list.size() == 4);
	for (int i = 0; i < 4; ++i) {
		CHECK(list[i]["queue"].as_int() == i);
		CHECK(list[i]["thread"].as_int() == i % 2);
		CHECK(list[i]["fail_open"].as_bool() == (i >= 2));
	}
	CHECK(has(agent.cli("status"), "queue nums:  fail open at a full queue: 2,3; never: 0,1\n"));
	const std::string sip = lab.pbx().exec_capture("nft list chain inet sipguard sip");
	const std::string out = lab.pbx().exec_capture("nft list chain inet sipguard output");
	INFO(sip);
	INFO(out);
	CHECK(received_by_queue(agent).size() == 4);

	std::map<std::string, int> unknown_q;
	for (const auto& a : sources)
		unknown_q[a] = queue_of(lab, agent, a);
	std::string elements;
	for (const auto& a : sources)
		elements += (elements.empty() ? "" : ", ") + a;
	lab.pbx().must("nft add element inet sipguard known4 '{ " + elements + " timeout 10m }'");
	std::set<int> used;
	for (const auto& a : sources) {
		INFO(a);
		const int u = unknown_q[a];
		CHECK((u == 0 || u == 1));
		CHECK(queue_of(lab, agent, a) == u + 2);
		used.insert(u);
	}
	// 16 addresses spread over both threads (else the pairing is untested).
	CHECK(used.size() == 2);
	// Every keep-alive was inspected (taken by a queue), none failed open.
	CHECK(agent.status()["prefilter"]["failed_open"].as_int() == 0);
	CHECK(agent.stop(SIGTERM) == 0);
}

TEST_CASE("daemon pre-filter: a source the PBX contacted is known and skips the meter; an unknown source over its "
          "rate is dropped in the kernel, in status and metrics; with the agent gone only known SIP passes")
{
	test::require_root_or_skip();
	DaemonLab lab{{kPhone, kStranger}};
	test::TempDir dir;
	Agent agent{lab.pbx(), dir.path, kPrefilter};
	agent.start();
	REQUIRE(has(lab.pbx().exec_capture("nft list chain inet sipguard sip"), "sipguard-prefilter-source"));
	REQUIRE_MESSAGE(pbx_contacts(lab, kPhone), agent.log());
	CHECK_FALSE(has(test::kernel_set(lab.pbx(), "known4"), kStranger));

	auto got = lab.send_from_each({kPhone, kStranger}, 5060, kKeepalive, kBurst);
	// The phone: 15x its would-be bucket, all inspected and accepted.
	CHECK(got[kPhone] == kBurst);
	// The stranger: the burst (10, plus what refills meanwhile) reaches the
	// agent, which accepts keep-alives; the rest is dropped in the kernel.
	CHECK(got[kStranger] >= 10);
	CHECK(got[kStranger] <= 15);

	util::json::Value s = agent.status();
	const util::json::Value& pf = s["prefilter"];
	CHECK(pf["enabled"].as_bool());
	CHECK(pf["limits"].as_bool());
	CHECK(pf["known_sources"].as_int() >= 1);
	CHECK(pf["drops"]["source_rate"].as_int() == kBurst - got[kStranger]);
	CHECK(pf["drops"]["unknown_budget"].as_int() == 0);
	CHECK(pf["queued"]["known"].as_int() >= kBurst);
	CHECK(pf["queued"]["unknown"].as_int() >= got[kStranger]);
	CHECK(pf["failed_open"].as_int() == 0);
	const std::string text = agent.cli("status");
	INFO(text);
	CHECK(has(text, "pre-filter:  1 known sources"));
	const std::string m = agent.metrics();
	CHECK(has(m, "sipguard_kernel_dropped_packets_total{rule=\"prefilter_source\"} " +
	                 std::to_string(kBurst - got[kStranger]) + "\n"));
	CHECK(has(m, "sipguard_prefilter_known_sources{family=\"ipv4\"} 1\n"));
	CHECK(has(m, "sipguard_kernel_failed_open_packets_total 0\n"));
	CHECK(agent.stop(SIGTERM) == 0);

	// Agent gone, table kept: the known phone's SIP passes (bypass), the
	// stranger's does not (no bypass), whatever its rate.
	auto after = lab.send_from_each({kPhone, kStranger}, 5060, kKeepalive, 5);
	CHECK(after[kPhone] == 5);
	CHECK(after[kStranger] == 0);
}

TEST_CASE("daemon pre-filter: a deleted meter rule and a flushed chain sip are repaired within 1 s, known sources kept")
{
	test::require_root_or_skip();
	DaemonLab lab{{kPhone, kStranger}};
	test::TempDir dir;
	Agent agent{lab.pbx(), dir.path, kPrefilter};
	agent.start();
	REQUIRE_MESSAGE(pbx_contacts(lab, kPhone), agent.log());
	daemon::LoadResult cfg = daemon::load_config_file(agent.config_path());
	REQUIRE(cfg.config);
	const rules::TableSpec spec = daemon::table_spec(*cfg.config);
	auto first = test::check_kernel(lab, spec, {});
	REQUIRE(first.ok());
	CHECK_MESSAGE(first->clean(), first->summary());

	for (const char* what : {"meter", "flush"}) {
		INFO(std::string(what));
		std::string cmd = "nft flush chain inet sipguard sip";
		if (std::string(what) == "meter") {
			std::string handle = lab.pbx().exec_capture(
				"nft -a list chain inet sipguard sip | grep 'update @meter4' | sed 's/.*# handle //'");
			while (!handle.empty() && (handle.back() == '\n' || handle.back() == ' '))
				handle.pop_back();
			REQUIRE(!handle.empty());
			cmd = "nft delete rule inet sipguard sip handle " + handle;
		}
		lab.pbx().must(cmd);
		const auto t0 = std::chrono::steady_clock::now();
		bool clean = false;
		while (!clean && std::chrono::steady_clock::now() - t0 < 2s) {
			std::this_thread::sleep_for(10ms);
			auto rep = test::check_kernel(lab, spec, {});
			REQUIRE_MESSAGE(rep.ok(), rep.error());
			clean = rep->clean();
		}
		auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
		REQUIRE_MESSAGE(clean, agent.log());
		MESSAGE(std::string(what), ": repaired in ", took.count(), " ms");
		CHECK(took < 1000ms);
		CHECK(has(test::kernel_set(lab.pbx(), "known4"), kPhone));
		auto got = lab.send_from_each({kPhone, kStranger}, 5060, kKeepalive, 60);
		CHECK(got[kPhone] == 60);
		CHECK(got[kStranger] <= 15);
	}
	CHECK(agent.status()["kernel"]["repairs"]["rule"].as_int() >= 2);
	CHECK(agent.stop(SIGTERM) == 0);
}
