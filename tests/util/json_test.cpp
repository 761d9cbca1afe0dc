// SPDX-License-Identifier: GPL-2.0-or-later
// JSON values read as integers: a number outside int64's range has none.
#include <doctest/doctest.h>

#include "agent/util/json.h"

using namespace sipguard::util;

TEST_CASE("as_int of a double outside int64's range gives the default, not undefined behaviour (fuzz-control)")
{
	auto v = json::parse(R"({"a": 1e19, "b": -1e19, "c": 42.9, "d": -7})");
	REQUIRE(v);
	CHECK((*v)["a"].as_int(-1) == -1);
	CHECK((*v)["b"].as_int(-1) == -1);
	CHECK((*v)["c"].as_int(-1) == 42);
	CHECK((*v)["d"].as_int(-1) == -7);
}
