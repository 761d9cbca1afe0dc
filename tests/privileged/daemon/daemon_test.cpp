// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard run` in a network namespace, driven through its CLI as an operator
// would: ban/list/explain/unban/follow against the kernel set, SIGHUP with a
// bad and a good config, restart with remaining ban time, kill -9 under
// traffic (SIP keeps flowing through the queue bypass), and the time to
// restore 20,000 saved bans.
#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/privileged/daemon/agent.h"

using namespace std::chrono_literals;
namespace json = sipguard::util::json;
using sipguard::test::Agent;
using sipguard::test::find_ban;
using sipguard::test::kernel_set;
using sipguard::test::Netns;
using sipguard::test::read_file;
using sipguard::test::TempDir;

TEST_CASE("CLI round trips: ban, list, explain, follow, unban, errors")
{
	sipguard::test::require_root_or_skip();
	Netns ns("daemon-cli");
	TempDir dir;
	Agent agent(ns, dir.path);
	agent.start();

	std::string out = agent.cli("ban 192.0.2.7 --for 10m --reason 'test scanner'");
	CHECK(out.find("banned 192.0.2.7/32 for 10m") != std::string::npos);
	CHECK(kernel_set(ns, "ban4").find("192.0.2.7") != std::string::npos);
	agent.cli("ban 2001:db8:5::/64 --for 1h30m");
	CHECK(kernel_set(ns, "bannet6").find("2001:db8:5::/64") != std::string::npos);

	json::Value bans = agent.bans();
	const json::Value* b = find_ban(bans, "192.0.2.7");
	REQUIRE(b);
	CHECK((*b)["detector"].as_string() == "manual");
	CHECK((*b)["reason"].as_string() == "test scanner");
	CHECK((*b)["remaining_s"].as_int() > 590);
	CHECK((*b)["remaining_s"].as_int() <= 600);
	CHECK(agent.cli("bans").find("2001:db8:5::/64") != std::string::npos);

	std::string explain = agent.cli("explain 192.0.2.7");
	CHECK(explain.find("banned by 1 rule") != std::string::npos);
	CHECK(explain.find("test scanner") != std::string::npos);
	CHECK(agent.cli("explain 198.51.100.200").find("not banned") != std::string::npos);

	// --follow streams events as they happen.
	const std::string follow_out = (dir.path / "follow.txt").string();
	sipguard::test::run("timeout 3 " + agent.cli_cmd("bans --follow --json") + " > " + follow_out + " 2>&1 &");
	std::this_thread::sleep_for(500ms);
	agent.cli("ban 192.0.2.8 --for 90s");
	agent.cli("unban 192.0.2.8");
	std::this_thread::sleep_for(3s);
	std::string streamed = read_file(follow_out);
	CHECK(streamed.find("\"event\":\"ban\",\"addr\":\"192.0.2.8\"") != std::string::npos);
	CHECK(streamed.find("\"event\":\"unban\",\"addr\":\"192.0.2.8\"") != std::string::npos);

	agent.cli("unban 192.0.2.7");
	CHECK(kernel_set(ns, "ban4").find("192.0.2.7") == std::string::npos);
	json::Value after = agent.bans();
	CHECK_FALSE(find_ban(after, "192.0.2.7"));

	int st = 0;
	out = agent.cli("unban 192.0.2.99", &st);
	CHECK(st == 1);
	CHECK(out.find("no active ban for 192.0.2.99") != std::string::npos);
	out = agent.cli("ban 192.0.2.1 --for 10x", &st);
	CHECK(st == 2);
	CHECK(out.find("unknown unit \"x\"") != std::string::npos);
	out = agent.cli("ban 192.0.2.300", &st);
	CHECK(st == 2);

	// The ban log has the JSON lines.
	std::string log = read_file(dir.path / "bans.log");
	CHECK(log.find("\"event\":\"ban\",\"addr\":\"192.0.2.7\"") != std::string::npos);
	CHECK(log.find("\"event\":\"unban\",\"addr\":\"192.0.2.7\"") != std::string::npos);

	// Metrics over HTTP on the unix socket.
	std::string metrics = sipguard::test::run_capture(
		"curl -s --unix-socket " + (dir.path / "metrics.sock").string() + " http://localhost/metrics");
	CHECK(metrics.find("# TYPE sipguard_bans_active gauge") != std::string::npos);
	CHECK(metrics.find("sipguard_bans_active 1\n") != std::string::npos);
	// Every series the shipped Grafana dashboard queries is exported.
	if (const char* root = std::getenv("SIPGUARD_SOURCE_ROOT")) {
		std::string dash = read_file(std::filesystem::path(root) / "tools" / "grafana" / "sipguard.json");
		REQUIRE_FALSE(dash.empty());
		size_t pos = 0;
		int names = 0;
		while ((pos = dash.find("sipguard_", pos)) != std::string::npos) {
			size_t end = pos;
			while (end < dash.size() && (std::isalnum(static_cast<unsigned char>(dash[end])) || dash[end] == '_'))
				++end;
			std::string name = dash.substr(pos, end - pos);
			pos = end;
			if (name == "sipguard_")
				continue;
			++names;
			CAPTURE(name);
			CHECK(metrics.find("\n" + name) != std::string::npos);
		}
		CHECK(names > 20);
	}

	// A user who is neither root nor in group sipguard is refused.
	out = sipguard::test::run_capture("setpriv --reuid=65534 --regid=65534 --clear-groups " + agent.cli_cmd("status") +
	                                  " 2>&1", &st);
	CHECK(st == 2);
	CHECK(out.find("Permission denied") != std::string::npos);

	std::chrono::milliseconds took;
	CHECK(agent.stop(SIGTERM, &took) == 0);
	CHECK(took < 1000ms);
	// No daemon: a clear message.
	out = agent.cli("status", &st);
	CHECK(st == 2);
	CHECK(out.find("cannot reach the daemon at " + agent.socket()) != std::string::npos);
	CHECK(out.find("is `sipguard run` running?") != std::string::npos);
}

TEST_CASE("SIGHUP: a bad config changes nothing, a good one applies")
{
	sipguard::test::require_root_or_skip();
	Netns ns("daemon-hup");
	TempDir dir;
	Agent agent(ns, dir.path);
	agent.start();
	auto ports = [&] { return kernel_set(ns, "sipports"); };
	CHECK(ports().find("5080") == std::string::npos);

	agent.write_config("[sip]\nports = [5060, 5080]\n[detect.flood]\ninvite_burst = \"abc\"\n");
	agent.signal(SIGHUP);
	std::this_thread::sleep_for(700ms);
	CHECK(ports().find("5080") == std::string::npos);
	std::string log = agent.log();
	CHECK(log.find("sipguard.toml:12:1: detect.flood.invite_burst: expected a number in") != std::string::npos);
	CHECK(log.find("the running configuration stays") != std::string::npos);
	CHECK(agent.cli("status").find("sipguard") != std::string::npos);

	agent.write_config("[sip]\nports = [5060, 5080]\n");
	agent.signal(SIGHUP);
	std::this_thread::sleep_for(700ms);
	CHECK(ports().find("5080") != std::string::npos);
	CHECK(agent.log().find("applied (changed: sip.ports)") != std::string::npos);
	// The reload's own table replacement is no difference, and the next
	// check compares with the new table (it would reinstall the old one,
	// without 5080, otherwise): a hand-added element is all it repairs.
	ns.must("nft add element inet sipguard ban4 '{ 203.0.113.99 }'");
	std::this_thread::sleep_for(500ms);
	CHECK(kernel_set(ns, "ban4").find("203.0.113.99") == std::string::npos);
	CHECK(ports().find("5080") != std::string::npos);
	auto k = sipguard::test::json::parse(agent.cli("status --json"));
	REQUIRE(k);
	CHECK((*k)["kernel"]["repairs"]["table"].as_int() == 0);
	CHECK((*k)["kernel"]["repairs"]["element"].as_int() == 1);
	CHECK((*k)["kernel"]["in_sync"].as_bool());

	// A restart-only key is refused as a whole, over the control socket too.
	agent.write_config("[sip]\nports = [5060]\n[daemon.x]\n");
	int st = 0;
	std::string out = agent.cli("reload", &st);
	CHECK(st == 1);
	CHECK(out.find("daemon.x: unknown section") != std::string::npos);
	CHECK(ports().find("5080") != std::string::npos);
	CHECK(agent.stop(SIGTERM) == 0);
}

TEST_CASE("restart keeps bans with their remaining time; kill -9 keeps SIP flowing")
{
	sipguard::test::require_root_or_skip();
	Netns pbx("daemon-pbx");
	Netns peer("daemon-peer");
	sipguard::test::link_veth(pbx, "pbx0", {"10.200.6.1/24"}, peer, "peer0", {"10.200.6.2/24"});
	TempDir dir;
	// The test peer is trusted so the detectors leave its OPTIONS alone.
	Agent agent(pbx, dir.path, "[policy]\ntrusted = [\"10.200.6.2\"]\n");
	agent.start();
	agent.cli("ban 192.0.2.50 --for 10m --reason restart");
	std::this_thread::sleep_for(3s);
	std::chrono::milliseconds took;
	CHECK(agent.stop(SIGTERM, &took) == 0);
	MESSAGE("clean stop took " << took.count() << " ms");
	CHECK(took < 1000ms);
	// Stopped: the table and the ban stay in the kernel.
	CHECK(kernel_set(pbx, "ban4").find("192.0.2.50") != std::string::npos);
	agent.start();
	json::Value restored = agent.bans();
	const json::Value* b = find_ban(restored, "192.0.2.50");
	REQUIRE(b);
	int64_t remaining = (*b)["remaining_s"].as_int();
	MESSAGE("remaining after restart: " << remaining << " s (expected about 597)");
	CHECK(remaining >= 595);
	CHECK(remaining <= 599);

	// A SIP responder on the PBX side and a bounded OPTIONS sender on the peer.
	const std::string responder = (dir.path / "responder.py").string();
	std::ofstream(responder) << R"(import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.200.6.1", 5060))
s.settimeout(0.5)
end = time.time() + 12
while time.time() < end:
    try:
        data, addr = s.recvfrom(4096)
    except socket.timeout:
        continue
    s.sendto(b"SIP/2.0 200 OK\r\n" + data.split(b"\r\n", 1)[1], addr)
)";
	const std::string sender = (dir.path / "sender.py").string();
	std::ofstream(sender) << R"(import socket, time, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.200.6.2", 5062))
s.settimeout(0.05)
start = time.time()
out = open(sys.argv[1], "w")
for i in range(160):
    msg = ("OPTIONS sip:pbx@10.200.6.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.200.6.2:5062;branch=z9hG4bK%d\r\n"
           "From: <sip:probe@10.200.6.2>;tag=%d\r\nTo: <sip:pbx@10.200.6.1>\r\nCall-ID: %d@t\r\n"
           "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n") % (i, i, i)
    s.sendto(msg.encode(), ("10.200.6.1", 5060))
    try:
        s.recvfrom(4096)
        out.write("%.3f ok\n" % (time.time() - start))
    except socket.timeout:
        out.write("%.3f lost\n" % (time.time() - start))
    out.flush()
    time.sleep(0.03)
)";
	const std::string results = (dir.path / "results.txt").string();
	pbx.must("python3 " + responder + " >/dev/null 2>&1 &");
	std::this_thread::sleep_for(300ms);
	peer.must("python3 " + sender + " " + results + " >/dev/null 2>&1 &");
	std::this_thread::sleep_for(1500ms);
	auto t_kill = std::chrono::steady_clock::now();
	agent.stop(SIGKILL);
	std::this_thread::sleep_for(4s);
	(void)t_kill;

	// Replies after the kill show SIP passing with no agent (bypass).
	std::ifstream in(results);
	std::string line;
	int ok_before = 0, ok_after = 0, lost = 0;
	while (std::getline(in, line)) {
		double t = std::atof(line.c_str());
		bool ok = line.find(" ok") != std::string::npos;
		if (!ok)
			++lost;
		else if (t < 1.6)
			++ok_before;
		else
			++ok_after;
	}
	MESSAGE("OPTIONS answered before kill: " << ok_before << ", after kill -9: " << ok_after << ", lost: " << lost);
	CHECK(ok_before > 10);
	CHECK(ok_after > 40);
	CHECK(kernel_set(pbx, "ban4").find("192.0.2.50") != std::string::npos);

	agent.start();
	json::Value bans = agent.bans();
	int count = 0;
	for (const auto& x : bans.as_array())
		if (x["addr"].as_string() == "192.0.2.50")
			++count;
	CHECK(count == 1);
	std::string set = kernel_set(pbx, "ban4");
	size_t first = set.find("192.0.2.50");
	REQUIRE(first != std::string::npos);
	CHECK(set.find("192.0.2.50", first + 1) == std::string::npos);
	CHECK(agent.stop(SIGTERM) == 0);
}

TEST_CASE("20,000 saved bans are restored at start (time printed)")
{
	sipguard::test::require_root_or_skip();
	Netns ns("daemon-restore");
	TempDir dir;
	std::filesystem::create_directories(dir.path / "state");
	{
		auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
			std::chrono::system_clock::now().time_since_epoch()).count();
		std::ofstream out(dir.path / "state" / "state.json");
		out << "{\"sipguard_state\":1,\"saved_at_ms\":" << now_ms << ",\"bans\":20000,\"offences\":0}\n";
		for (int i = 0; i < 20000; ++i)
			out << "{\"t\":\"ban\",\"net\":\"10." << (i >> 16) << "." << ((i >> 8) & 255) << "." << (i & 255)
			    << "\",\"expires_ms\":" << now_ms + 3600000 + i << ",\"since_ms\":" << now_ms
			    << ",\"detector\":\"scanner\",\"reason\":\"bulk\",\"offences\":1}\n";
	}
	Agent agent(ns, dir.path);
	agent.start();
	std::string log = agent.log();
	size_t at = log.find("restored 20000 bans");
	REQUIRE_MESSAGE(at != std::string::npos, log);
	MESSAGE(log.substr(at, log.find('\n', at) - at));
	std::string status = agent.cli("status --json");
	auto s = json::parse(status);
	REQUIRE(s);
	CHECK((*s)["bans_active"].as_int() == 20000);
	MESSAGE("restore_ms = " << (*s)["restore_ms"].as_double());
	std::string count = ns.exec_capture("nft list set inet sipguard ban4 | grep -o 'expires' | wc -l");
	CHECK(std::atoi(count.c_str()) == 20000);
	CHECK(agent.stop(SIGTERM) == 0);
}

TEST_CASE("a scanner's OPTIONS get it banned end to end, then the kernel drops it")
{
	sipguard::test::require_root_or_skip();
	Netns pbx("daemon-scan-pbx");
	Netns peer("daemon-scan-peer");
	sipguard::test::link_veth(pbx, "pbx0", {"10.200.7.1/24"}, peer, "peer0", {"10.200.7.2/24"});
	TempDir dir;
	Agent agent(pbx, dir.path);
	agent.start();
	const std::string sender = (dir.path / "scan.py").string();
	std::ofstream(sender) << R"(import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.200.7.2", 5070))
for i in range(3):
    msg = ("OPTIONS sip:100@10.200.7.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.200.7.2:5070;branch=z9hG4bK%d\r\n"
           "From: \"sipvicious\"<sip:100@1.1.1.1>;tag=%d\r\nTo: <sip:100@10.200.7.1>\r\nCall-ID: %d@x\r\n"
           "CSeq: 1 OPTIONS\r\nUser-Agent: friendly-scanner\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n") % (i, i, i)
    s.sendto(msg.encode(), ("10.200.7.1", 5060))
)";
	peer.must("python3 " + sender);
	std::this_thread::sleep_for(1s);
	json::Value bans = agent.bans();
	const json::Value* b = find_ban(bans, "10.200.7.2");
	REQUIRE(b);
	CHECK((*b)["detector"].as_string() == "scanner");
	CHECK(kernel_set(pbx, "ban4").find("10.200.7.2") != std::string::npos);
	CHECK(agent.cli("explain 10.200.7.2").find("friendly-scanner") != std::string::npos);
	// Now the kernel drops it in prerouting, before the queue.
	peer.must("python3 " + sender);
	std::this_thread::sleep_for(300ms);
	std::string m = agent.cli("stats --prometheus");
	CHECK(m.find("sipguard_kernel_dropped_packets_total{rule=\"ban\"} 3\n") != std::string::npos);
	CHECK(m.find("sipguard_findings_total{detector=\"scanner\"} 1\n") != std::string::npos);
	CHECK(m.find("sipguard_sip_requests_total{method=\"OPTIONS\"} 3\n") != std::string::npos);
	CHECK(agent.stop(SIGTERM) == 0);
}
