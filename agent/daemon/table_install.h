// SPDX-License-Identifier: GPL-2.0-or-later
// Installs our table at daemon start-up.
#pragma once

#include "agent/daemon/config.h"
#include "agent/daemon/runtime.h"
#include "agent/util/status.h"
#include "rules/netlink.h"
#include "rules/table.h"

namespace sipguard::daemon {

// Installs table inet sipguard from `spec` (table_spec(cfg)), probing the
// queue backend (into rt.backend) and what the kernel offers (fragment
// reassembly, rate limits: into spec, rt.defrag, rt.prefilter), and logs it.
[[nodiscard]] util::Status install_table(rules::Netlink& nl, const Config& cfg, Runtime& rt, rules::TableSpec& spec);

} // namespace sipguard::daemon
