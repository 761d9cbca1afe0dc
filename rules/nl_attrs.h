// SPDX-License-Identifier: GPL-2.0-or-later
// Bounds-checked walk over netlink attributes, without libmnl's callback (nothing can throw through C frames).
#pragma once

#include <cstddef>

#include <libmnl/libmnl.h>

namespace sipguard::rules {

// Calls f(attr) for each attribute of a nest or a message payload; stops
// and returns false as soon as f does.
template <typename F>
bool for_each_attr(const void* start, size_t len, F&& f)
{
	auto* a = static_cast<const nlattr*>(start);
	int remaining = static_cast<int>(len);
	while (mnl_attr_ok(a, remaining)) {
		if (!f(a))
			return false;
		remaining -= static_cast<int>(MNL_ALIGN(a->nla_len));
		a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(a) + MNL_ALIGN(a->nla_len));
	}
	return true;
}

} // namespace sipguard::rules
