// SPDX-License-Identifier: GPL-2.0-or-later
// Human durations ("90s", "10m", "1h30m", "7d", "250ms") as operators type them
// in the config file and on the command line, parsed and formatted back.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sipguard::daemon {

using Millis = std::chrono::milliseconds;

// Accepts one or more <digits><unit> groups, units ms, s, m, h, d, w, each unit
// at most once and in descending order ("1h30m", not "30m1h"), total below
// 100 years. On failure returns nullopt and, if `error` is set, says why.
std::optional<Millis> parse_duration(std::string_view text, std::string* error = nullptr);

// The shortest exact form: 5400000 ms -> "1h30m", 0 -> "0s".
std::string format_duration(Millis d);

} // namespace sipguard::daemon
