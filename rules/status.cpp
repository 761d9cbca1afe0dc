// SPDX-License-Identifier: GPL-2.0-or-later
// Error message formatting for rules/ operations.
#include "rules/status.h"

#include <cerrno>
#include <cstring>

namespace sipguard::rules {

std::string describe_error(const std::string& what, int err)
{
	std::string text = what + ": " + std::strerror(err);
	// nf_tables reuses errnos whose libc text misleads in this context.
	if (err == ENFILE)
		text += " (the set is full: its declared size is reached)";
	return text;
}

} // namespace sipguard::rules
