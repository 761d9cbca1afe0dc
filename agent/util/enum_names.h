// SPDX-License-Identifier: GPL-2.0-or-later
// The stable names of an enum as one table, instead of a switch per enum.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace sipguard::util {

// Names of an enum whose values are 0..N-1 in declaration order, and the
// text for a value outside them.
template <typename E, size_t N>
struct EnumNames {
	std::array<std::string_view, N> names;
	std::string_view fallback;

	constexpr std::string_view operator()(E e) const
	{
		const auto i = static_cast<size_t>(e);
		return i < N ? names[i] : fallback;
	}
};

// `Last` is the enum's last value, so that a value added without a name (or
// a name without a value) does not compile.
template <auto Last, size_t N>
constexpr EnumNames<decltype(Last), N> enum_names(const std::string_view (&names)[N], std::string_view fallback)
{
	static_assert(static_cast<size_t>(Last) + 1 == N, "one name per value, in declaration order");
	EnumNames<decltype(Last), N> t{{}, fallback};
	for (size_t i = 0; i < N; ++i)
		t.names[i] = names[i];
	return t;
}

} // namespace sipguard::util
