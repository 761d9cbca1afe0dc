// SPDX-License-Identifier: GPL-2.0-or-later
// Error message formatting shared by every area.
#include "agent/util/status.h"

#include <cstring>

namespace sipguard::util {

std::string describe_errno(const std::string& what, int err)
{
	return what + ": " + std::strerror(err);
}

} // namespace sipguard::util
