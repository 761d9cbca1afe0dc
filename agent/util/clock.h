// SPDX-License-Identifier: GPL-2.0-or-later
// The packet path's clock type, shared by the detectors, the call tracker and the engine.
#pragma once

#include <chrono>

namespace sipguard::util {

// Wall-clock nanoseconds, always passed in by the caller: the daemon reads
// system_clock::now(), replay uses the capture's timestamps, tests a counter.
// Nothing on the packet path reads a clock, so ban log timestamps, expiry and
// replayed captures share one timeline.
using TimePoint = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;
using Duration = std::chrono::nanoseconds;
using Millis = std::chrono::milliseconds;

} // namespace sipguard::util
