// SPDX-License-Identifier: GPL-2.0-or-later
// Bans across restarts: the state file's bans re-applied at start-up (ban
// manager and kernel) and the ban manager's state saved when it changes.
#pragma once

#include <string>

#include "rules/netlink.h"

namespace sipguard::daemon {

struct Runtime;

// `daemon.state_dir`/state.json.
std::string state_file_path(const Runtime& rt);

// Before the ban listener and the writer exist: restores the manager's bans
// and offence histories, indexes them (Runtime::kernel) and repairs the table
// through `nl` to their projection. Sets restored_bans / restore_failed;
// every failure is logged; the daemon starts anyway.
void restore_saved_bans(Runtime& rt, rules::Netlink& nl);

// Saves the manager's state atomically; false (logged, counted) on failure.
bool save_bans(Runtime& rt, const char* why);

} // namespace sipguard::daemon
