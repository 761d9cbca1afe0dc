// SPDX-License-Identifier: GPL-2.0-or-later
// TEMPORARY scaffold: replaced by the owner of this subcommand.
#include <CLI/CLI.hpp>

#include "agent/cli/commands.h"

namespace sipguard::cli {

void add_parse_command(CLI::App& /*app*/, int& /*exit_code*/) {}

} // namespace sipguard::cli
