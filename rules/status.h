// SPDX-License-Identifier: GPL-2.0-or-later
// Result of a rules/ operation: the kernel's errno plus a message naming the object that failed.
#pragma once

#include <string>

#include "agent/util/status.h"

namespace sipguard::rules {

// The project-wide error convention (agent/util/status.h).
using Status = util::Status;

// "<what>: <strerror(err)>", e.g. "add element 192.0.2.1 to set inet sipguard ban4: File exists".
std::string describe_error(const std::string& what, int err);

} // namespace sipguard::rules
