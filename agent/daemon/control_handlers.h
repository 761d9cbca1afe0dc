// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's answers to control commands: one small handler per command of
// the protocol (status, bans/follow, ban, unban, explain, stats/metrics,
// reload), bound by name into a control::CommandTable.
#pragma once

#include "agent/control/commands.h"
#include "agent/fraud/guard.h"
#include "agent/util/json.h"

namespace sipguard::daemon {

struct Runtime;

// Binds every protocol command; `rt` must outlive the table. The handlers
// run on the control thread.
void add_control_commands(control::CommandTable& table, Runtime& rt);

// The toll-fraud guard's commands (fraud, unlock): fraud_control.cpp.
void add_fraud_commands(control::CommandTable& table, Runtime& rt);
// The `stats` reply's "fraud" member: calls and seconds per account and
// country (accounts never become metric labels), locks now.
util::json::Value fraud_stats_json(const fraud::Guard& g);

// The `status` reply's body.
util::json::Value status_json(const Runtime& rt);

} // namespace sipguard::daemon
