// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard run` as a child process inside a test namespace, every path in a
// temp dir, driven through its CLI as an operator would.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "agent/util/json.h"
#include "tests/privileged/netns.h"
#include "tests/temp_dir.h"

namespace sipguard::test {

namespace json = util::json;

// SIPGUARD_BIN, set by meson.
std::string sipguard_bin();
std::string read_file(const std::filesystem::path& p);

// One daemon process inside `ns`; killed (SIGKILL) by the destructor if the
// test did not stop it.
class Agent {
public:
	Agent(const Netns& ns, const std::filesystem::path& dir, std::string extra = "");
	~Agent();
	Agent(const Agent&) = delete;
	Agent& operator=(const Agent&) = delete;

	std::string config_path() const { return (dir_ / "sipguard.toml").string(); }
	std::string socket() const { return (dir_ / "control.sock").string(); }
	std::string state_dir() const { return (dir_ / "state").string(); }
	std::string log_path() const { return (dir_ / "daemon.log").string(); }
	std::string log() const { return read_file(log_path()); }
	pid_t pid() const { return pid_; }

	void write_config(const std::string& extra) const;
	// Starts the daemon and waits (at most 10 s) until `status` answers.
	void start();
	// Sends `sig` and waits; returns the exit status and the time taken.
	int stop(int sig, std::chrono::milliseconds* took = nullptr);
	void signal(int sig) const;

	std::string cli_cmd(const std::string& args) const;
	// Runs the CLI; without `status`, a non-zero exit fails the test.
	std::string cli(const std::string& args, int* status = nullptr) const;
	json::Value bans() const;   // `bans --json` as an array
	json::Value status() const; // `status --json`
	std::string metrics() const; // `stats --prometheus`

private:
	const Netns& ns_;
	std::filesystem::path dir_;
	std::string extra_;
	pid_t pid_ = -1;
};

// `nft list set inet sipguard SET` inside `ns`.
std::string kernel_set(const Netns& ns, const std::string& set);
const json::Value* find_ban(const json::Value& bans, const std::string& addr);

} // namespace sipguard::test
