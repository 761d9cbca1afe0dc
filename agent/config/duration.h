// SPDX-License-Identifier: GPL-2.0-or-later
// Human durations ("90s", "10m", "1h30m", "7d", "250ms") as operators type them
// in the config file and on the command line, parsed and formatted back.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "agent/util/status.h"

namespace sipguard::config {

using Millis = std::chrono::milliseconds;

// The longest duration parse_duration() takes, and the longest ban the
// control socket accepts: 100 years of 365 days (36500d).
inline constexpr Millis kMaxDuration{100LL * 365 * 24 * 3600 * 1000};

// Accepts one or more <digits><unit> groups, units ms, s, m, h, d, w, each unit
// at most once and in descending order ("1h30m", not "30m1h"), total at most
// kMaxDuration. The failure says why ("expected a duration like ...: unknown
// unit \"x\" in \"10x\" ...").
[[nodiscard]] util::Result<Millis> parse_duration(std::string_view text);

// The shortest exact form: 5400000 ms -> "1h30m", 0 -> "0s".
std::string format_duration(Millis d);

} // namespace sipguard::config
