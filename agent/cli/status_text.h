// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard status` as text: the daemon's `status` reply, one line per part.
#pragma once

#include "agent/util/json.h"

namespace sipguard::cli {

// Prints the `status` reply body (agent/daemon/control_handlers.cpp).
void print_status(const util::json::Value& status);

} // namespace sipguard::cli
