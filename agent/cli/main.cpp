// SPDX-License-Identifier: GPL-2.0-or-later
// Entry point of the `sipguard` binary: subcommand dispatch and the one place
// where start-up exceptions become a clear message and an exit status.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "agent/cli/commands.h"

int main(int argc, char** argv)
{
	CLI::App app{"sipguard: inline SIP firewall agent for a PBX host (nftables + NFQUEUE)"};
	app.set_version_flag("--version", SIPGUARD_VERSION);
	app.require_subcommand(1);

	int exit_code = 0;
	sipguard::cli::add_parse_command(app, exit_code);
	sipguard::cli::add_replay_command(app, exit_code);
	sipguard::cli::add_daemon_commands(app, exit_code);
	sipguard::cli::add_control_commands(app, exit_code);

	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError& e) {
		// CLI11 returns 0 for --help/--version and 106+ for usage errors;
		// every usage error is status 2 here, as the README documents.
		int rc = app.exit(e);
		return rc == 0 ? 0 : 2;
	} catch (const std::exception& e) {
		fmt::print(stderr, "sipguard: {}\n", e.what());
		return 2;
	}
	return exit_code;
}
