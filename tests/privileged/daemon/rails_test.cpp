// SPDX-License-Identifier: GPL-2.0-or-later
// The ban safety rails end to end: `sipguard run` in a network namespace,
// `sipguard ban 0.0.0.0/0` (and ::/0, loopback, forced) refused with exit 1
// and the message, nothing in the kernel's ban sets, and SSH-like TCP from
// the host's own address, from loopback and from a remote admin still
// flowing. A probe table shows the TCP check would see such a ban.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/privileged/daemon/agent.h"
#include "tests/privileged/netns.h"

using namespace std::chrono_literals;
using sipguard::test::Agent;
using sipguard::test::Netns;
using sipguard::test::TempDir;

namespace {

// An SSH-like exchange: a banner each way over TCP port 2222, 2 s at most.
const char* kServer = R"(import socket, sys, threading, time
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 2222))
s.listen(16)
s.settimeout(0.5)
end = time.time() + float(sys.argv[1])
def serve(c):
    c.settimeout(2)
    try:
        c.sendall(b"SSH-2.0-sipguard-rails-test\r\n")
        c.sendall(c.recv(256))
    except OSError:
        pass
    c.close()
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
)";

const char* kClient = R"(import socket, sys
src, dst = sys.argv[1], sys.argv[2]
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
c = socket.socket(fam, socket.SOCK_STREAM)
c.settimeout(2)
try:
    if src != "-":
        c.bind((src, 0))
    c.connect((dst, 2222))
    banner = c.recv(256)
    c.sendall(b"SSH-2.0-client\r\n")
    echo = c.recv(256)
    sys.exit(0 if banner.startswith(b"SSH-2.0-") and echo == b"SSH-2.0-client\r\n" else 1)
except OSError:
    sys.exit(1)
)";

struct Probe {
	std::filesystem::path client;
	// True when a TCP exchange from `src` ("-" = the kernel's choice) to `dst`
	// inside `ns` completes.
	bool tcp(const Netns& ns, const std::string& src, const std::string& dst) const
	{
		return ns.exec("python3 " + client.string() + " " + src + " " + dst) == 0;
	}
};

} // namespace

TEST_CASE("sipguard ban 0.0.0.0/0 is refused and SSH from the host itself, loopback and the admin keeps flowing")
{
	sipguard::test::require_root_or_skip();
	Netns pbx("rails-pbx");
	Netns admin("rails-admin");
	sipguard::test::link_veth(pbx, "pbx0", {"10.200.9.1/24", "fd00:5a:9::1/64"}, admin, "adm0",
	                          {"10.200.9.2/24", "fd00:5a:9::2/64"});
	TempDir dir;
	std::ofstream(dir.path / "server.py") << kServer;
	std::ofstream(dir.path / "client.py") << kClient;
	const Probe probe{dir.path / "client.py"};
	// The listener ends by itself (bounded); its pid is ended explicitly too.
	const std::string pid_text = pbx.exec_capture("python3 " + (dir.path / "server.py").string() +
	                                              " 60 >/dev/null 2>&1 & echo $!");
	const pid_t server = static_cast<pid_t>(std::atoi(pid_text.c_str()));
	REQUIRE(server > 0);
	struct EndServer {
		pid_t pid;
		~EndServer() { ::kill(pid, SIGTERM); }
	} end_server{server};
	bool listening = false;
	for (int i = 0; i < 50 && !listening; ++i) {
		listening = probe.tcp(pbx, "-", "127.0.0.1");
		if (!listening)
			std::this_thread::sleep_for(100ms);
	}
	REQUIRE(listening);

	struct Path {
		const Netns* ns;
		const char* src;
		const char* dst;
	};
	const Path paths[] = {
		{&pbx, "-", "127.0.0.1"},                 // loopback
		{&pbx, "-", "::1"},                       // loopback, IPv6
		{&pbx, "10.200.9.1", "10.200.9.1"},       // from the host's own address
		{&pbx, "fd00:5a:9::1", "fd00:5a:9::1"},   // from its own IPv6 address
		{&admin, "10.200.9.2", "10.200.9.1"},     // the admin's SSH session
		{&admin, "fd00:5a:9::2", "fd00:5a:9::1"}, // and over IPv6
	};
	auto all_flow = [&] {
		for (const Path& p : paths) {
			CAPTURE(p.src);
			CAPTURE(p.dst);
			CHECK(probe.tcp(*p.ns, p.src, p.dst));
		}
	};
	all_flow();

	Agent agent(pbx, dir.path);
	agent.start();
	const std::pair<const char*, const char*> refused[] = {
		{"ban 0.0.0.0/0", "sipguard: refusing to ban 0.0.0.0/0: it is the whole address family (/0)"},
		{"ban 0.0.0.0/0 --force --for 1h --reason everything",
		 "sipguard: refusing to ban 0.0.0.0/0: it is the whole address family (/0)"},
		{"ban ::/0 --force", "sipguard: refusing to ban ::/0: it is the whole address family (/0)"},
		{"ban 127.0.0.0/8 --force", "sipguard: refusing to ban 127.0.0.0/8: it covers loopback"},
		{"ban ::ffff:127.0.0.1", "sipguard: refusing to ban 127.0.0.1: it covers loopback"},
		{"ban ::1", "sipguard: refusing to ban ::1: it covers loopback"},
		{"ban 64.0.0.0/5", "sipguard: refusing to ban 64.0.0.0/5: it is broader than the minimum prefix (minimum /16 "
		                  "for IPv4; --force overrides)"},
	};
	for (const auto& row : refused) {
		// Named copies: clang 14 cannot capture a structured binding in CAPTURE's lambda.
		const auto& args = row.first;
		const auto& message = row.second;
		CAPTURE(args);
		int st = 0;
		const std::string out = agent.cli(args, &st);
		CHECK(st == 1);
		CHECK(out == std::string(message) + "\n");
	}
	int st = 0;
	CHECK(agent.cli("bans --json", &st).empty());
	CHECK(st == 0);
	for (const char* set : {"ban4", "bannet4", "ban6", "bannet6"}) {
		CAPTURE(set);
		const std::string listed = pbx.exec_capture(std::string("nft list set inet sipguard ") + set + " 2>&1");
		CHECK(listed.find("set " + std::string(set)) != std::string::npos); // the table is there
		CHECK(listed.find("elements") == std::string::npos);                // and the set is empty
	}
	all_flow();

	// The daemon feeds the ban manager the host's addresses
	// (host::AddressWatcher): a prefix over them is refused too.
	const std::string x = agent.cli("explain 10.200.9.1", &st);
	CHECK(x.find("never banned") != std::string::npos);
	{
		const std::string out = agent.cli("ban 10.200.9.0/24 --force", &st);
		CHECK(st == 1);
		CHECK(out.find("covers an address of this host (10.200.9.1)") != std::string::npos);
		all_flow();
		// An address added while running lifts the ban that covers it.
		agent.cli("ban 10.200.10.0/24 --for 1h", &st);
		REQUIRE(st == 0);
		pbx.must("ip addr add 10.200.10.1/24 dev pbx0");
		bool lifted = false;
		for (int i = 0; i < 50 && !lifted; ++i) {
			lifted = agent.cli("bans --json", &st).find("10.200.10.0") == std::string::npos;
			if (!lifted)
				std::this_thread::sleep_for(100ms);
		}
		CHECK(lifted);
		CHECK(probe.tcp(pbx, "10.200.10.1", "10.200.10.1"));
	}
	agent.stop(SIGTERM);

	// The check above would have seen a ban: the same drop the daemon's
	// prerouting chain makes for bannet4, from a probe table of our own in
	// this namespace, cuts loopback and the host's own address.
	pbx.must("nft add table inet sg_rails_probe && nft add chain inet sg_rails_probe pre "
	         "'{ type filter hook prerouting priority raw; policy accept; }' && "
	         "nft add rule inet sg_rails_probe pre tcp dport 2222 ip saddr 0.0.0.0/0 drop");
	CHECK_FALSE(probe.tcp(pbx, "-", "127.0.0.1"));
	CHECK_FALSE(probe.tcp(pbx, "10.200.9.1", "10.200.9.1"));
	pbx.must("nft delete table inet sg_rails_probe");
	CHECK(probe.tcp(pbx, "-", "127.0.0.1"));
}
