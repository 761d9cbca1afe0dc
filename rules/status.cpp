// SPDX-License-Identifier: GPL-2.0-or-later
// Error message formatting for rules/ operations.
#include "rules/status.h"

#include <cstring>

namespace sipguard::rules {

std::string describe_error(const std::string& what, int err)
{
	return what + ": " + std::strerror(err);
}

} // namespace sipguard::rules
