// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged, end to end: `sipguard run` in the daemon lab with a 1280-byte
// MTU. Password guesses padded into fragments are banned at the same count
// as unfragmented ones (IPv4 and IPv6); a datagram longer than the queue's
// copy range is dropped unless its source is known-good; a legitimate INVITE
// with a 3 KB SDP completes its call (sipp); the daemon's defrag rule is
// repaired when deleted.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "agent/daemon/apply_config.h"
#include "agent/daemon/config.h"
#include "tests/privileged/daemon/agent.h"
#include "tests/privileged/daemon/lab.h"
#include "tests/privileged/frag/watch.h"

using namespace sipguard;
using namespace std::chrono_literals;
using test::DaemonLab;

namespace {

// One source per attack, each in a /24 or /64 of its own, so that no two
// bans aggregate into a prefix ban.
constexpr const char* kPlain4 = "198.18.11.1"; // unfragmented guesses
constexpr const char* kFrag4 = "198.18.12.1";  // the same guesses padded to about 3000 bytes
constexpr const char* kPlain6 = "fd00:5b:11::1";
constexpr const char* kFrag6 = "fd00:5b:12::1";
constexpr const char* kHuge4 = "198.18.13.1"; // datagrams past the queue's copy range
constexpr const char* kHuge6 = "fd00:5b:13::1";
constexpr const char* kGood4 = "198.18.14.1"; // allowlisted
constexpr const char* kGood6 = "fd00:5b:14::1";
constexpr const char* kPhone4 = "198.18.15.1"; // sipp UAC
constexpr const char* kPhone6 = "fd00:5b:15::1";
constexpr size_t kFragPad = 2600;

std::string pbx_of(const std::string& from) { return test::is_v6(from) ? DaemonLab::kPbx6 : DaemonLab::kPbx4; }
std::string host(const std::string& addr) { return test::is_v6(addr) ? "[" + addr + "]" : addr; }

// Header lines of `bytes` in total (at least 10), none longer than the
// parser's 8 KiB line limit.
std::string padding(size_t bytes)
{
	std::string out;
	while (bytes >= 10) {
		size_t n = std::min<size_t>(bytes, 4000) - 9;
		out += "X-Pad: " + std::string(n, 'p') + "\r\n";
		bytes -= n + 9;
	}
	return out;
}

// A REGISTER for extension 105 as svcrack sends it (with a phone's
// User-Agent): `creds` adds a wrong digest response.
std::string register_text(const std::string& from, int guess, int cseq, bool creds, const std::string& pad)
{
	const std::string pbx = host(pbx_of(from)), via = host(from);
	// Each family guesses its own account: one account failing from more
	// addresses is guarded (agent/detect, accounts), which would judge the
	// last pair's second source on other grounds than the first's.
	const std::string user = test::is_v6(from) ? "106" : "105";
	std::string auth;
	if (creds)
		auth = fmt::format("Authorization: Digest username=\"{2}\", realm=\"pbx\", nonce=\"n{0}\", uri=\"sip:{1}\", "
		                   "response=\"{0:032x}\", algorithm=MD5\r\n",
		                   guess, pbx, user);
	return fmt::format("REGISTER sip:{0} SIP/2.0\r\nVia: SIP/2.0/UDP {1}:5070;branch=z9hG4bK-{2}-{3}\r\n"
	                   "From: <sip:{7}@{0}>;tag=t{2}\r\nTo: <sip:{7}@{0}>\r\nCall-ID: g{2}-{4}\r\nCSeq: {3} REGISTER\r\n"
	                   "Contact: <sip:{7}@{1}:5070>\r\nMax-Forwards: 70\r\nUser-Agent: Yealink SIP-T46S 66.86.0.15\r\n"
	                   "{5}{6}Content-Length: 0\r\n\r\n",
	                   pbx, via, guess, cseq, from, auth, pad, user);
}

std::string header_line(const std::string& msg, const std::string& name)
{
	auto at = msg.find("\r\n" + name + ":");
	if (at == std::string::npos)
		return "";
	auto end = msg.find("\r\n", at + 2);
	return msg.substr(at + 2, end - at);
}

// A PBX stand-in on the pbx's port 5060, both families: 401 with a challenge
// to a REGISTER without credentials, 403 to one with credentials (a wrong
// password, as the lab's Kamailio answers it). Counts what reaches it.
class Responder {
public:
	struct Seen {
		int plain = 0;
		int credentialed = 0;
		size_t largest = 0;
	};

	explicit Responder(const test::Netns& pbx)
	{
		test::EnterNetns in(pbx);
		fd4_.fd = test::bound_udp(DaemonLab::kPbx4, 5060);
		fd6_.fd = test::bound_udp(DaemonLab::kPbx6, 5060);
		thread_ = std::thread([this] { loop(); });
	}
	~Responder()
	{
		stop_ = true;
		thread_.join();
	}
	Responder(const Responder&) = delete;
	Responder& operator=(const Responder&) = delete;

	Seen seen(const std::string& src)
	{
		std::lock_guard lock(mu_);
		return seen_[src];
	}

private:
	void loop()
	{
		std::vector<char> buf(70000);
		pollfd pfd[2] = {{fd4_.fd, POLLIN, 0}, {fd6_.fd, POLLIN, 0}};
		while (!stop_) {
			if (::poll(pfd, 2, 50) <= 0)
				continue;
			for (auto& p : pfd) {
				if (!(p.revents & POLLIN))
					continue;
				sockaddr_storage from{};
				socklen_t fl = sizeof from;
				ssize_t n = ::recvfrom(p.fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl);
				if (n <= 0)
					continue;
				std::string msg(buf.data(), static_cast<size_t>(n));
				if (!msg.starts_with("REGISTER "))
					continue;
				const bool creds = !header_line(msg, "Authorization").empty();
				{
					std::lock_guard lock(mu_);
					Seen& s = seen_[test::source_of(from)];
					++(creds ? s.credentialed : s.plain);
					s.largest = std::max(s.largest, msg.size());
				}
				std::string to = header_line(msg, "To");
				to.insert(to.size() - 2, ";tag=pbx");
				std::string reply = std::string(creds ? "SIP/2.0 403 Forbidden\r\n" : "SIP/2.0 401 Unauthorized\r\n") +
				                    header_line(msg, "Via") + header_line(msg, "From") + to +
				                    header_line(msg, "Call-ID") + header_line(msg, "CSeq") +
				                    (creds ? "" : "WWW-Authenticate: Digest realm=\"pbx\", nonce=\"abc\", algorithm=MD5\r\n") +
				                    "Content-Length: 0\r\n\r\n";
				::sendto(p.fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
			}
		}
	}

	test::Fd fd4_, fd6_;
	std::atomic<bool> stop_{false};
	std::mutex mu_;
	std::map<std::string, Seen> seen_;
	std::thread thread_;
};

// The daemon lab with a 1280-byte MTU on both ends of the link, the pbx
// routing back to every source (with permanent neighbour entries, so a ban
// never stalls neighbour discovery), a fragment watch and the daemon.
struct FragLab {
	DaemonLab lab;
	test::TempDir dir;
	test::Agent agent;

	FragLab(std::vector<std::string> sources, const std::string& config = "")
		: lab(sources), agent(lab.pbx(), dir.path, config)
	{
		std::string mac = lab.client().exec_capture("cat /sys/class/net/veth0/address");
		mac.erase(mac.find_last_not_of(" \n") + 1);
		for (const test::Netns* ns : {&lab.client(), &lab.pbx()})
			ns->must("ip link set veth0 mtu 1280");
		lab.pbx().must("ip route add 198.18.0.0/16 dev veth0 && ip -6 route add fd00:5b::/32 dev veth0");
		for (const auto& s : sources)
			lab.pbx().must(std::string("ip ") + (test::is_v6(s) ? "-6 " : "") + "neigh replace " + s + " lladdr " + mac +
			               " dev veth0 nud permanent");
		test::install_fragment_watch(lab.pbx());
		agent.start();
	}

	// Sends one datagram from `from`:5070 and waits up to 300 ms for an answer;
	// returns its status line, or "" when none came.
	std::string exchange(const std::string& from, const std::string& text)
	{
		test::EnterNetns in(lab.client());
		test::Fd tx;
		tx.fd = test::bound_udp(from, 5070);
		timeval tv{0, 300 * 1000};
		::setsockopt(tx.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		socklen_t len = 0;
		sockaddr_storage to = test::make_addr(pbx_of(from), 5060, len);
		REQUIRE(::sendto(tx.fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&to), len) ==
		        static_cast<ssize_t>(text.size()));
		char buf[4096];
		ssize_t n = ::recv(tx.fd, buf, sizeof buf, 0);
		if (n <= 0)
			return "";
		std::string reply(buf, static_cast<size_t>(n));
		return reply.substr(0, reply.find("\r\n"));
	}

	// svcrack's pattern: per guess a new Call-ID, CSeq 1 without credentials,
	// CSeq 2 with a wrong password. Stops at the first request left
	// unanswered (the source is banned) or after `max_guesses`; returns the
	// 403s the attacker got.
	int crack(const std::string& from, size_t pad, int max_guesses)
	{
		const std::string p = pad ? padding(pad) : "";
		int judged = 0;
		for (int g = 1; g <= max_guesses; ++g) {
			if (exchange(from, register_text(from, g, 1, false, p)).empty())
				break;
			if (exchange(from, register_text(from, g, 2, true, p)) != "SIP/2.0 403 Forbidden")
				break;
			++judged;
		}
		return judged;
	}

	std::string metric(const std::string& series)
	{
		const std::string m = agent.metrics();
		auto at = m.find("\n" + series + " ");
		return at == std::string::npos ? "" : m.substr(at + series.size() + 2, m.find('\n', at + 1) - at - series.size() - 2);
	}
};

std::string detector_of(const test::Agent& agent, const std::string& addr)
{
	auto bans = agent.bans();
	const auto* b = test::find_ban(bans, addr);
	return b ? (*b)["detector"].as_string() : "";
}

} // namespace

TEST_CASE("fragmented password guesses are banned at the same count as unfragmented ones, IPv4 and IPv6")
{
	test::require_root_or_skip();
	FragLab f({kPlain4, kFrag4, kPlain6, kFrag6});
	Responder pbx(f.lab.pbx());

	// The daemon's table reassembles (install_auto chose it) and is as specified.
	CHECK(f.lab.defrag() == rules::DefragBackend::Tproxy);
	CHECK(f.agent.status()["defrag"].as_string() == "tproxy");
	CHECK(f.metric("sipguard_kernel_reassembly{mechanism=\"tproxy\"}") == "1");
	CHECK(f.lab.pbx().exec_capture("nft list chain inet sipguard defrag").find("tproxy to :5060") != std::string::npos);

	constexpr int kGuesses = 10;
	for (auto [p, fr] : {std::pair{kPlain4, kFrag4}, std::pair{kPlain6, kFrag6}}) {
		const std::string plain = p, frag = fr;
		CAPTURE(frag);
		const test::Fragments before = test::read_fragment_watch(f.lab.pbx());
		const int answered_plain = f.crack(plain, 0, kGuesses);
		const test::Fragments mid = test::read_fragment_watch(f.lab.pbx());
		const int answered_frag = f.crack(frag, kFragPad, kGuesses);
		const test::Fragments after = test::read_fragment_watch(f.lab.pbx());
		// Guesses the PBX judged (the last one's 403 is what bans, and the
		// agent drops it: the attacker sees one fewer).
		const int at_pbx_plain = pbx.seen(plain).credentialed, at_pbx_frag = pbx.seen(frag).credentialed;
		MESSAGE(plain, ": ", at_pbx_plain, " guesses at the PBX before the ban (", answered_plain, " answered); ", frag,
		        " (fragmented): ", at_pbx_frag, " (", answered_frag, " answered)");
		const bool v6 = test::is_v6(frag);
		// The unfragmented run carried no fragments, the padded one did; our
		// hooks saw none of them (reassembled at -400).
		CHECK((v6 ? (mid - before).raw6 : (mid - before).raw4) == 0);
		CHECK((v6 ? (after - mid).raw6 : (after - mid).raw4) >= static_cast<uint64_t>(3 * at_pbx_frag));
		CHECK((v6 ? (after - mid).late6 : (after - mid).late4) == 0);
		// Judged alike: banned by the same detector after the same number of guesses.
		CHECK(at_pbx_plain == at_pbx_frag);
		CHECK(answered_plain == answered_frag);
		CHECK(at_pbx_plain >= 1);
		CHECK(at_pbx_plain < kGuesses);
		CHECK(detector_of(f.agent, plain) == "brute_force");
		CHECK(detector_of(f.agent, frag) == "brute_force");
		CHECK(pbx.seen(frag).largest > 2800); // whole at the PBX
		CHECK(pbx.seen(plain).largest < 1200);
	}
	CHECK(f.metric("sipguard_dropped_total{cause=\"fragment\"}") == "0");
}

TEST_CASE("a datagram longer than the queue's copy range is dropped unless its source is known-good")
{
	test::require_root_or_skip();
	FragLab f({kHuge4, kHuge6, kGood4, kGood6},
	          std::string("[policy]\nallowlist = [\"198.18.14.0/24\", \"fd00:5b:14::/64\"]\n"));
	Responder pbx(f.lab.pbx());
	for (const std::string from : {kHuge4, kHuge6, kGood4, kGood6}) {
		CAPTURE(from);
		// The largest UDP datagram of the family: 65535 bytes of IPv4, 65535
		// of IPv6 payload. The kernel reassembles it and copies 65531 bytes.
		const size_t max_payload = test::is_v6(from) ? 65535 - 8 : 65535 - 20 - 8;
		const std::string head = register_text(from, 1, 1, true, "");
		const std::string text = register_text(from, 1, 1, true, padding(max_payload - head.size()));
		REQUIRE(text.size() == max_payload);
		const bool good = from == kGood4 || from == kGood6;
		CHECK(f.exchange(from, text) == (good ? "SIP/2.0 403 Forbidden" : ""));
		CHECK(pbx.seen(from).credentialed == (good ? 1 : 0));
		// The same source with a 20 KB REGISTER (fragmented, within the copy
		// range) is inspected and reaches the PBX.
		const std::string mid = register_text(from, 2, 1, false, padding(20000));
		CHECK(f.exchange(from, mid) == "SIP/2.0 401 Unauthorized");
		CHECK(pbx.seen(from).plain == 1);
		CHECK(pbx.seen(from).largest == (good ? text.size() : mid.size()));
	}
	CHECK(f.metric("sipguard_dropped_total{cause=\"fragment\"}") == "2");
	CHECK(f.agent.bans().as_array().empty());
}

TEST_CASE("a legitimate INVITE with a 3 KB SDP completes its call through the agent, IPv4 and IPv6")
{
	test::require_root_or_skip();
	if (test::run("command -v sipp >/dev/null") != 0) {
		MESSAGE("sipp is not installed (tools/setup): skipped");
		return;
	}
	const char* root = std::getenv("SIPGUARD_SOURCE_ROOT");
	REQUIRE(root);
	const std::string scenario = std::string(root) + "/tests/privileged/frag/uac-bigsdp.xml";
	FragLab f({kPhone4, kPhone6});
	int calls = 0;
	for (const std::string phone : {kPhone4, kPhone6}) {
		CAPTURE(phone);
		const std::string pbx = pbx_of(phone);
		const std::string log = (f.dir.path / (test::is_v6(phone) ? "sipp-6" : "sipp-4")).string();
		// Bounded: one call each, 20 s at most.
		int uas_status = -1;
		std::thread uas([&] {
			uas_status = f.lab.pbx().exec("timeout 20 sipp -sn uas -nostdin -i " + pbx +
			                              " -p 5060 -t u1 -m 1 -trace_err -error_file " + log + "-uas.err > " + log +
			                              "-uas.out 2>&1");
		});
		for (int i = 0; i < 40 && f.lab.pbx().exec("ss -uln | grep -q ':5060 '") != 0; ++i)
			std::this_thread::sleep_for(50ms);
		const test::Fragments before = test::read_fragment_watch(f.lab.pbx());
		const int uac_status = f.lab.client().exec(
			"timeout 20 sipp -sf " + scenario + " -nostdin -i " + phone + " -p 5070 -t u1 -m 1 -timeout 15s " +
			"-timeout_error -trace_err -error_file " + log + "-uac.err " + host(pbx) + ":5060 > " + log +
			"-uac.out 2>&1");
		uas.join();
		const test::Fragments after = test::read_fragment_watch(f.lab.pbx());
		INFO("uac: " << test::read_file(log + "-uac.out") << test::read_file(log + "-uac.err"));
		INFO("uas: " << test::read_file(log + "-uas.out") << test::read_file(log + "-uas.err"));
		CHECK(uac_status == 0);
		CHECK(uas_status == 0);
		// The INVITE crossed the link in fragments, reached our hooks whole.
		const test::Fragments d = after - before;
		CHECK((test::is_v6(phone) ? d.raw6 : d.raw4) >= 3);
		CHECK((test::is_v6(phone) ? d.late6 : d.late4) == 0);
		++calls;
	}
	// Each INVITE was parsed (not passed as a partial datagram) and tracked.
	CHECK(f.metric("sipguard_sip_requests_total{method=\"INVITE\"}") == std::to_string(calls));
	CHECK(f.metric("sipguard_calls_total") == std::to_string(calls));
	CHECK(f.metric("sipguard_malformed_total{kind=\"malformed\"}") == "0");
	CHECK(f.metric("sipguard_dropped_total{cause=\"fragment\"}") == "0");
	CHECK(f.agent.bans().as_array().empty());
}

TEST_CASE("the daemon's table holds the defrag rule, no drift; deleted by hand, it is repaired")
{
	test::require_root_or_skip();
	FragLab f({kPlain4});
	daemon::LoadResult cfg = daemon::load_config_file(f.agent.config_path());
	REQUIRE(cfg.config);
	const rules::TableSpec spec = daemon::table_spec(*cfg.config);
	auto rep = test::check_kernel(f.lab, spec, {});
	REQUIRE_MESSAGE(rep.ok(), rep.error());
	CHECK_MESSAGE(rep->clean(), rep->summary());
	CHECK(f.metric("sipguard_kernel_repairs_total{what=\"rule\"}") == "0");

	const std::string listed = f.lab.pbx().exec_capture("nft -a list chain inet sipguard defrag");
	auto h = listed.find("# handle ", listed.find("tproxy"));
	REQUIRE(h != std::string::npos);
	f.lab.pbx().must("nft delete rule inet sipguard defrag handle " + std::to_string(std::stoul(listed.substr(h + 9))));
	// The kernel watch sees the deletion and reinstalls the table (bounded: 5 s).
	bool back = false;
	for (int i = 0; i < 100 && !back; ++i) {
		std::this_thread::sleep_for(50ms);
		back = f.lab.pbx().exec_capture("nft list chain inet sipguard defrag").find("tproxy") != std::string::npos;
	}
	CHECK(back);
	rep = test::check_kernel(f.lab, spec, {});
	REQUIRE_MESSAGE(rep.ok(), rep.error());
	CHECK_MESSAGE(rep->clean(), rep->summary());
	CHECK(f.metric("sipguard_kernel_repairs_total{what=\"rule\"}") == "1");
	CHECK(f.lab.pbx().exec_capture("nft list tables") == "table inet fragwatch\ntable inet sipguard\n");
}
