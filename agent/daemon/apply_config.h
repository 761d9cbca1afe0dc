// SPDX-License-Identifier: GPL-2.0-or-later
// Applying a config to the running daemon: the nftables table it implies and
// the atomic reload (validate everything, refuse restart-only changes,
// replace the table in one transaction, publish the new snapshot).
#pragma once

#include <string>

#include "agent/daemon/config.h"
#include "agent/util/status.h"
#include "rules/netlink.h"
#include "rules/table.h"

namespace sipguard::daemon {

struct Runtime;

// Our table as `cfg` asks for it; bans and pinholes are carried over.
rules::TableSpec table_spec(const Config& cfg);
// The global budget for unknown sources (prefilter.unknown_rate, 0 = derived_unknown_rate).
uint32_t unknown_rate(const Config& cfg);

// Sets the log threshold from `daemon.log_level`.
void apply_log_level(const Config& cfg);

// Main thread only. Reads `path` (the embedded defaults when it does not
// exist and was not named with --config) and applies it: `spec` is the
// table installed through `nl`, replaced when the new config changes it.
// On failure the running config and table stay and the Status says why.
[[nodiscard]] util::Status apply_config_file(Runtime& rt, rules::Netlink& nl, rules::TableSpec& spec,
                                             const std::string& path, bool path_explicit);

} // namespace sipguard::daemon
