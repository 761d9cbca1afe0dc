// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard run` (the daemon) and `sipguard check-config` (validate a config
// file without touching the kernel).
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <fmt/format.h>

#include "agent/cli/commands.h"
#include "agent/daemon/config.h"
#include "agent/daemon/daemon.h"

namespace sipguard::cli {

namespace {

int check_config(const std::string& path, bool quiet)
{
	daemon::LoadResult r = daemon::load_config_file(path);
	for (const auto& e : r.errors)
		fmt::print(stderr, "{}\n", e.to_string());
	if (r.unreadable)
		return 2;
	if (!r.config) {
		// r.errors stops at config::kMaxErrors; error_count has them all.
		fmt::print(stderr, "sipguard: {}: {} error{}; the file is not valid\n", path, r.error_count,
		           r.error_count == 1 ? "" : "s");
		return 1;
	}
	if (!quiet) {
		const auto& d = r.config->daemon();
		fmt::print("{}: valid ({} queue{}, SIP ports {}, media pinning {}{})\n", path, d.queues,
		           d.queues == 1 ? "" : "s", fmt::format("{}", fmt::join(d.sip_ports, ",")),
		           d.media_pinning ? fmt::format("on {}-{}", d.rtp_range.lo, d.rtp_range.hi) : "off",
		           d.dry_run ? ", dry run" : "");
	}
	return 0;
}

} // namespace

void add_daemon_commands(CLI::App& app, int& exit_code)
{
	auto opts = std::make_shared<daemon::RunOptions>();
	CLI::App* run = app.add_subcommand("run", "Run the daemon: install table inet sipguard, inspect queued SIP, ban");
	run->footer(fmt::format(
		"Without --config the daemon reads {0} if it exists, else it runs on the\n"
		"embedded defaults (the same values; `sipguard check-config --print-defaults` prints them).\n"
		"Signals: SIGHUP reloads the config atomically and reopens the ban log; SIGTERM/SIGINT stop\n"
		"(bans stay in the kernel and SIP passes uninspected unless --remove-on-exit).\n"
		"Exit status: 0 clean stop, 1 invalid config or start-up failure, 2 unreadable config.",
		daemon::kDefaultConfigPath));
	run->add_option("-c,--config", opts->config_path, "Config file (TOML)")->type_name("FILE");
	run->add_flag("--remove-on-exit", opts->remove_on_exit,
	              "Remove table inet sipguard (and every ban) on stop; same as daemon.remove_table_on_exit");
	run->callback([opts, &exit_code] { exit_code = daemon::run_daemon(*opts); });

	auto path = std::make_shared<std::string>();
	auto print_defaults = std::make_shared<bool>(false);
	auto quiet = std::make_shared<bool>(false);
	CLI::App* check = app.add_subcommand("check-config", "Validate a config file without touching the kernel");
	check->add_option("file", *path, "Config file to check")->type_name("FILE");
	check->add_flag("--print-defaults", *print_defaults,
	                "Print the default config (every key, documented) and exit");
	check->add_flag("-q,--quiet", *quiet, "Print nothing when the file is valid");
	check->footer("Errors are printed as FILE:LINE:COLUMN: KEY: MESSAGE, all of them.\n"
	              "Exit status: 0 valid, 1 invalid, 2 unreadable or usage error.");
	check->callback([=, &exit_code] {
		if (*print_defaults) {
			fmt::print("{}", daemon::default_config_text());
			exit_code = 0;
			return;
		}
		if (path->empty())
			throw CLI::ValidationError("check-config", "a FILE is required (or --print-defaults)");
		exit_code = check_config(*path, *quiet);
	});
}

} // namespace sipguard::cli
