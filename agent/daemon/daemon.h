// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard run`: wires the queue threads (one engine shard each), the rules
// writer, the ban manager and log, persistence, the control/metrics thread
// and systemd notification, and runs the main loop (signals, expiry, saves,
// watchdog) until SIGTERM/SIGINT.
#pragma once

#include <string>

namespace sipguard::daemon {

struct RunOptions {
	std::string config_path; // "" = /etc/sipguard/sipguard.toml if present, else embedded defaults
	bool remove_on_exit = false;
};

// Returns the process exit status: 0 after a clean stop, 1 when the config is
// invalid or start-up fails (the reason is logged), 2 when the config file
// named with --config cannot be read.
int run_daemon(const RunOptions& options);

} // namespace sipguard::daemon
