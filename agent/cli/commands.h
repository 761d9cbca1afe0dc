// SPDX-License-Identifier: GPL-2.0-or-later
// Registration of the `sipguard` subcommands. Each add_* function adds its
// subcommand(s) to the app; the callback stores the process exit status in
// `exit_code` (0 ok, 1 finding/invalid input as the command documents, 2 usage
// or I/O error).
#pragma once

namespace CLI {
class App;
}

namespace sipguard::cli {

void add_parse_command(CLI::App& app, int& exit_code);   // parse_command.cpp
void add_replay_command(CLI::App& app, int& exit_code);  // replay_command.cpp
void add_daemon_commands(CLI::App& app, int& exit_code); // daemon_commands.cpp: run, check-config
void add_control_commands(CLI::App& app, int& exit_code);// control_commands.cpp: status, bans, ban, unban, explain, stats

} // namespace sipguard::cli
