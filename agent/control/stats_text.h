// SPDX-License-Identifier: GPL-2.0-or-later
// Human-readable rendering of the `stats` reply (the daemon's Prometheus text
// exposition) for `sipguard stats`.
#pragma once

#include <string>
#include <string_view>

namespace sipguard::control {

// Samples grouped under their family's HELP text; histograms and summaries
// collapse to count and mean; bucket lines are left out.
std::string to_human(std::string_view exposition);

} // namespace sipguard::control
