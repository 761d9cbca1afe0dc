// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon under test as a child process in a namespace (agent.h).
#include "tests/privileged/daemon/agent.h"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace sipguard::test {

using namespace std::chrono_literals;

std::string sipguard_bin()
{
	const char* b = std::getenv("SIPGUARD_BIN");
	REQUIRE_MESSAGE(b, "SIPGUARD_BIN is set by meson");
	return b;
}

std::string read_file(const std::filesystem::path& p)
{
	std::ifstream in(p);
	std::stringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

Agent::Agent(const Netns& ns, const std::filesystem::path& dir, std::string extra)
	: ns_(ns), dir_(dir), extra_(std::move(extra))
{
	write_config(extra_);
}

Agent::~Agent()
{
	if (pid_ > 0) {
		::kill(pid_, SIGKILL);
		::waitpid(pid_, nullptr, 0);
	}
}

void Agent::write_config(const std::string& extra) const
{
	std::ofstream(config_path(), std::ios::trunc)
		<< "[daemon]\nqueues = 2\nsave_interval = \"200ms\"\n"
		<< "state_dir = \"" << state_dir() << "\"\n"
		<< "ban_log = \"" << (dir_ / "bans.log").string() << "\"\n"
		<< "control_socket = \"" << socket() << "\"\n"
		<< "[metrics]\nsocket = \"" << (dir_ / "metrics.sock").string() << "\"\n"
		<< extra;
}

void Agent::start()
{
	pid_ = ::fork();
	REQUIRE(pid_ >= 0);
	if (pid_ == 0) {
		int fd = ::open(log_path().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
		::dup2(fd, 1);
		::dup2(fd, 2);
		std::string bin = sipguard_bin();
		std::string cfg = config_path();
		// `ip netns exec` execs the program, so pid_ is the daemon's pid.
		::execlp("ip", "ip", "netns", "exec", ns_.name().c_str(), bin.c_str(), "run", "--config", cfg.c_str(),
		         static_cast<char*>(nullptr));
		::_exit(127);
	}
	auto deadline = std::chrono::steady_clock::now() + 10s;
	while (std::chrono::steady_clock::now() < deadline) {
		int st = 0;
		std::string out = run_capture(cli_cmd("status --json") + " 2>/dev/null", &st);
		if (st == 0)
			return;
		int ws;
		if (::waitpid(pid_, &ws, WNOHANG) == pid_) {
			pid_ = -1;
			FAIL("the daemon exited during start-up:\n" << log());
		}
		std::this_thread::sleep_for(50ms);
	}
	FAIL("the daemon did not answer within 10 s:\n" << log());
}

int Agent::stop(int sig, std::chrono::milliseconds* took)
{
	auto t0 = std::chrono::steady_clock::now();
	::kill(pid_, sig);
	int ws = 0;
	::waitpid(pid_, &ws, 0);
	pid_ = -1;
	if (took)
		*took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
	return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

void Agent::signal(int sig) const { ::kill(pid_, sig); }

std::string Agent::cli_cmd(const std::string& args) const
{
	return sipguard_bin() + " " + args + " --socket " + socket();
}

std::string Agent::cli(const std::string& args, int* status) const
{
	int st = 0;
	std::string out = run_capture(cli_cmd(args) + " 2>&1", &st);
	if (status) {
		*status = st;
	} else {
		INFO(args << " -> " << out);
		REQUIRE(st == 0);
	}
	return out;
}

json::Value Agent::bans() const
{
	json::Array list;
	std::istringstream in(cli("bans --json"));
	std::string line;
	while (std::getline(in, line))
		if (auto v = json::parse(line))
			list.push_back(*v);
	return list;
}

json::Value Agent::status() const
{
	std::string out = cli("status --json");
	auto v = json::parse(out);
	REQUIRE_MESSAGE(v, out);
	return *v;
}

std::string Agent::metrics() const { return cli("stats --prometheus"); }

std::string kernel_set(const Netns& ns, const std::string& set)
{
	return ns.exec_capture("nft list set inet sipguard " + set + " 2>&1");
}

const json::Value* find_ban(const json::Value& bans, const std::string& addr)
{
	for (const auto& b : bans.as_array())
		if (b["addr"].as_string() == addr)
			return &b;
	return nullptr;
}

} // namespace sipguard::test
