// SPDX-License-Identifier: GPL-2.0-or-later
// util::enum_names: each value gets its name in declaration order, a value
// outside the enum gets the fallback.
#include <doctest/doctest.h>

#include <cstdint>

#include "agent/util/enum_names.h"

using namespace sipguard;

namespace {

enum class Colour : uint8_t { Red, Green, Blue };
constexpr auto kColourNames = util::enum_names<Colour::Blue>({"red", "green", "blue"}, "?");

} // namespace

static_assert(kColourNames(Colour::Green) == "green");

TEST_CASE("enum names: every value by its name, a value outside the enum by the fallback")
{
	CHECK(kColourNames(Colour::Red) == "red");
	CHECK(kColourNames(Colour::Green) == "green");
	CHECK(kColourNames(Colour::Blue) == "blue");
	CHECK(kColourNames(static_cast<Colour>(3)) == "?");
	CHECK(kColourNames(static_cast<Colour>(255)) == "?");
}
