// SPDX-License-Identifier: GPL-2.0-or-later
// Invariants the fuzz targets assert on every input: every view the parser
// returns lies inside the input buffer.
#pragma once

#include <cstdint>
#include <string_view>

namespace sipguard::fuzz {

inline void check_view(std::string_view buf, std::string_view v)
{
	if (v.empty())
		return;
	const auto b = reinterpret_cast<uintptr_t>(buf.data());
	const auto p = reinterpret_cast<uintptr_t>(v.data());
	if (p < b || p + v.size() > b + buf.size())
		__builtin_trap();
}

} // namespace sipguard::fuzz
