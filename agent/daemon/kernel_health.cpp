// SPDX-License-Identifier: GPL-2.0-or-later
// Which element differences a check counts (kernel_health.h).
#include "agent/daemon/kernel_health.h"

#include <algorithm>
#include <tuple>
#include <vector>

namespace sipguard::daemon {

size_t significant_elements(const rules::ElementDiff& diff, std::chrono::milliseconds tolerance)
{
	using Key = std::tuple<rules::BanSet, net::IpAddress, net::IpAddress>;
	std::vector<Key> removed;
	removed.reserve(diff.remove.size());
	for (const auto& r : diff.remove)
		removed.emplace_back(r.set, r.first, r.last);
	std::sort(removed.begin(), removed.end());
	std::vector<Key> retimed;
	size_t n = 0;
	for (const auto& a : diff.add) {
		const Key k{a.set, a.first, a.last};
		if (std::binary_search(removed.begin(), removed.end(), k)) {
			retimed.push_back(k); // beyond the tolerance already (diff_pieces)
			++n;
		} else if (a.timeout.count() == 0 || a.timeout > tolerance) {
			++n;
		}
	}
	std::sort(retimed.begin(), retimed.end());
	for (const auto& r : diff.remove) {
		if (std::binary_search(retimed.begin(), retimed.end(), Key{r.set, r.first, r.last}))
			continue; // counted once, with its add
		const bool ending = r.timeout.count() > 0 && r.expires_in <= tolerance;
		if (!ending)
			++n;
	}
	return n;
}

} // namespace sipguard::daemon
