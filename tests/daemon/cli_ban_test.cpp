// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard ban`, `bans` and `bans --follow --json` as an operator runs them,
// against the daemon's real command handlers and control thread on a socket
// in a temp dir (no kernel): a refused ban exits 1 with the safety rails'
// message on stderr, --force lifts only the minimum prefix, mapped addresses
// are IPv4, operator text is printable, and every JSON line of the list and
// the stream has the ban log's fields.
#include <doctest/doctest.h>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/control/server.h"
#include "agent/daemon/control_handlers.h"
#include "tests/daemon/harness.h"
#include "tests/temp_dir.h"

using namespace sipguard;
using test::TempDir;
using namespace std::chrono_literals;
namespace json = util::json;

namespace {

std::string slurp(const std::filesystem::path& p)
{
	std::ifstream in(p);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

// A Runtime answering on `dir`/control.sock, as `sipguard run` wires it
// (the runtime is the ban manager's listener and publishes to followers).
struct FakeDaemon {
	TempDir dir{"sg-cli-ban"};
	std::unique_ptr<daemon::Runtime> rt = test::make_runtime();
	control::CommandTable commands;

	FakeDaemon()
	{
		daemon::add_control_commands(commands, *rt);
		rt->bans->set_listener(rt.get());
		control::ControlServer::Options o;
		o.control_path = socket();
		rt->control = control::ControlServer::create(
			o, [this](const control::Request& r, const control::PeerCred& c) { return commands.dispatch(r, c); },
			[] { return std::string(); });
		rt->control->start();
	}
	~FakeDaemon()
	{
		rt->control->stop();
		rt->bans->set_listener(nullptr);
	}
	std::string socket() const { return (dir.path / "control.sock").string(); }

	struct Run {
		int status = -1;
		std::string out, err;
	};
	// Runs `sipguard ARGS --socket S`; `args` is shell text.
	Run cli(const std::string& args) const
	{
		const char* bin = std::getenv("SIPGUARD_BIN");
		REQUIRE_MESSAGE(bin, "SIPGUARD_BIN is set by meson");
		const auto out = dir.path / "out", err = dir.path / "err";
		const std::string cmd = std::string(bin) + " " + args + " --socket " + socket() + " >" + out.string() +
		                        " 2>" + err.string();
		const int ws = std::system(cmd.c_str());
		Run r;
		r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
		r.out = slurp(out);
		r.err = slurp(err);
		return r;
	}

	// `sipguard ARGS` exits 0 and prints `out`.
	void succeeds(const std::string& args, const std::string& out) const
	{
		CAPTURE(args);
		const Run r = cli(args);
		CHECK(r.status == 0);
		CHECK(r.out == out);
	}

	// `sipguard ARGS` is refused by the rails: exit 1, "refusing to ban WHY" on stderr.
	void refuses(const std::string& args, const std::string& why) const
	{
		CAPTURE(args);
		const Run r = cli(args);
		CHECK(r.status == 1);
		CHECK(r.err == "sipguard: refusing to ban " + why + "\n");
	}
};

const std::vector<std::string> kEventKeys{"ts",     "event",    "addr",       "prefix_len",   "detector",
                                          "reason", "evidence", "duration_s", "offence_count"};

void check_schema(const json::Value& v)
{
	CAPTURE(v.dump());
	size_t i = 0;
	for (const auto& [k, x] : v.as_object()) {
		if (i < kEventKeys.size())
			CHECK(k == kEventKeys[i]);
		else
			CHECK((k == "until" || k == "remaining_s"));
		++i;
	}
	CHECK(i >= kEventKeys.size());
}

} // namespace

TEST_CASE("sipguard ban: a refused ban exits 1 with the rails' message; --force lifts only the minimum")
{
	FakeDaemon d;
	auto r = d.cli("ban 0.0.0.0/0");
	CHECK(r.status == 1);
	CHECK(r.out.empty());
	CHECK(r.err == "sipguard: refusing to ban 0.0.0.0/0: it is the whole address family (/0)\n");
	d.refuses("ban ::/0 --force", "::/0: it is the whole address family (/0)");
	d.refuses("ban 127.0.0.0/8 --force --for 1h", "127.0.0.0/8: it covers loopback");

	d.refuses("ban 45.0.0.0/8",
	          "45.0.0.0/8: it is broader than the minimum prefix (minimum /16 for IPv4; --force overrides)");
	d.succeeds("ban 45.0.0.0/8 --force --for 10m", "banned 45.0.0.0/8 for 10m (offence 1)\n");
	CHECK(d.rt->bans->active_count() == 1);

	d.succeeds("ban ::ffff:192.0.2.5 --for 1h", "banned 192.0.2.5/32 for 1h (offence 1)\n");
	d.succeeds("unban ::ffff:192.0.2.5", "unbanned 192.0.2.5\n");

	r = d.cli("ban 45.67.89.10 --reason " + std::string(300, 'x'));
	CHECK(r.status == 2);
	CHECK(d.rt->bans->active_count() == 1);
}

TEST_CASE("sipguard ban --for: at most 100 years, refused with the bound in the message")
{
	FakeDaemon d;
	auto r = d.cli("ban 192.0.2.7 --for 36501d");
	CHECK(r.status == 2);
	CHECK(r.err.find("\"36501d\" is too long (at most 100 years, 36500d)") != std::string::npos);
	r = d.cli("ban 192.0.2.7 --for 5300w");
	CHECK(r.status == 2);
	CHECK(d.rt->bans->active_count() == 0);
	d.succeeds("ban 192.0.2.7 --for 36500d", "banned 192.0.2.7/32 for 36500d (offence 1)\n");
}

TEST_CASE("sipguard bans: an operator's control bytes are never printed raw")
{
	FakeDaemon d;
	auto r = d.cli("ban 45.67.89.10 --for 1h --reason \"$(printf 'fraud\\n\\033[31mred\\033]0;title\\007')\"");
	REQUIRE(r.status == 0);
	for (const char* args : {"bans", "bans --json", "explain 45.67.89.10"}) {
		CAPTURE(args);
		r = d.cli(args);
		CHECK(r.status == 0);
		CHECK(r.out.find('\x1b') == std::string::npos);
		CHECK(r.out.find('\x07') == std::string::npos);
		CHECK(r.out.find("fraud?") != std::string::npos);
	}
	// One line per ban, the reason included.
	r = d.cli("bans");
	CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 3);
}

TEST_CASE("sipguard bans, explain, --follow: an operator's UTF-8 reason is printed as written, controls as ?")
{
	FakeDaemon d;
	const std::string reason = "Betrug \xc3\xbc" "ber Nacht \xe6\x94\xbb\xe6\x92\x83";
	auto r = d.cli("ban 45.67.89.10 --for 1h --reason \"$(printf '" + reason + "\\033[31m')\"");
	REQUIRE(r.status == 0);
	for (const char* args : {"bans", "bans --json", "explain 45.67.89.10"}) {
		CAPTURE(args);
		r = d.cli(args);
		CHECK(r.status == 0);
		CHECK(r.out.find(reason + "?[31m") != std::string::npos);
		CHECK(r.out.find('\x1b') == std::string::npos);
	}
}

TEST_CASE("sipguard bans --json and --follow --json: every line has the ban log's fields")
{
	FakeDaemon d;
	REQUIRE(d.cli("ban 198.51.100.20 --for 2h --reason first").status == 0);
	auto listed = d.cli("bans --json");
	REQUIRE(listed.status == 0);
	auto first = json::parse(listed.out);
	REQUIRE(first);
	check_schema(*first);
	CHECK((*first)["event"].as_string() == "ban");
	CHECK((*first)["offence_count"].as_int() == 1);
	CHECK((*first)["duration_s"].as_int() == 7200);
	CHECK((*first)["remaining_s"].as_int() > 7190);
	CHECK_FALSE(first->find("offences"));

	const auto follow_out = d.dir.path / "follow.txt";
	const char* bin = std::getenv("SIPGUARD_BIN");
	REQUIRE(bin);
	// Bounded: `timeout` ends the follower whatever happens.
	REQUIRE(std::system(("timeout 4 " + std::string(bin) + " bans --follow --json --socket " + d.socket() + " >" +
	                     follow_out.string() + " 2>/dev/null &")
	                        .c_str()) == 0);
	for (int i = 0; i < 200 && !d.rt->has_followers(); ++i)
		std::this_thread::sleep_for(10ms);
	REQUIRE(d.rt->has_followers());
	REQUIRE(d.cli("ban 198.51.100.21 --for 2m").status == 0);
	REQUIRE(d.cli("unban 198.51.100.21").status == 0);
	for (int i = 0; i < 400 && d.rt->has_followers(); ++i)
		std::this_thread::sleep_for(10ms);

	std::istringstream in(slurp(follow_out));
	std::string line;
	std::vector<json::Value> lines;
	while (std::getline(in, line)) {
		auto v = json::parse(line);
		REQUIRE_MESSAGE(v, line);
		check_schema(*v);
		lines.push_back(*v);
	}
	REQUIRE(lines.size() == 3);
	// The list: the active ban's event with remaining_s.
	CHECK(lines[0]["addr"].as_string() == "198.51.100.20");
	CHECK(lines[0]["remaining_s"].as_int() > 7190);
	// Then the events, as the ban log writes them.
	CHECK(lines[1]["event"].as_string() == "ban");
	CHECK(lines[1]["duration_s"].as_int() == 120);
	CHECK(lines[1]["offence_count"].as_int() == 1);
	CHECK(lines[1]["until"].is_string());
	CHECK_FALSE(lines[1].find("remaining_s"));
	CHECK(lines[2]["event"].as_string() == "unban");
	CHECK(lines[2]["addr"].as_string() == "198.51.100.21");
	CHECK(lines[2]["duration_s"].as_int() == 120);
	CHECK(lines[2]["offence_count"].as_int() == 1);
	CHECK_FALSE(lines[2].find("until"));
}

TEST_CASE("sipguard reload: status and bans answer while the reload waits for the main loop")
{
	FakeDaemon d;
	REQUIRE(d.rt->reloads.open().ok());
	const char* bin = std::getenv("SIPGUARD_BIN");
	REQUIRE(bin);
	const auto reload_out = d.dir.path / "reload.txt";
	std::thread reload([&] {
		std::system((std::string(bin) + " reload --socket " + d.socket() + " >" + reload_out.string() + " 2>&1")
		                .c_str());
	});
	// The main loop's side: it takes the request and needs 1.5 s for it.
	pollfd p{d.rt->reloads.fd(), POLLIN, 0};
	REQUIRE(::poll(&p, 1, 5000) == 1);
	auto waiters = d.rt->reloads.take();
	REQUIRE(waiters.size() == 1);
	const auto t0 = std::chrono::steady_clock::now();
	auto r = d.cli("status");
	CHECK(r.status == 0);
	r = d.cli("bans");
	CHECK(r.status == 0);
	CHECK(r.out == "no active bans\n");
	const auto took = std::chrono::steady_clock::now() - t0;
	CHECK_MESSAGE(took < 1000ms, "status and bans took ",
	              std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), " ms during a reload");
	std::this_thread::sleep_for(1500ms - took);
	waiters[0].set_value("");
	reload.join();
	CHECK(slurp(reload_out) == "reloaded " + d.rt->config()->source() + "\n");
}
