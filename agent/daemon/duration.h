// SPDX-License-Identifier: GPL-2.0-or-later
// Forwarding header: durations live in agent/config/duration.h. Keeps the
// old out-parameter form of parse_duration for callers not yet converted to
// config::parse_duration's util::Result.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "agent/config/duration.h"

namespace sipguard::daemon {

using config::format_duration;
using config::Millis;

inline std::optional<Millis> parse_duration(std::string_view text, std::string* error = nullptr)
{
	util::Result<Millis> r = config::parse_duration(text);
	if (r)
		return *r;
	if (error)
		*error = r.error();
	return std::nullopt;
}

} // namespace sipguard::daemon
