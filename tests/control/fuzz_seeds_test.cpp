// SPDX-License-Identifier: GPL-2.0-or-later
// The control fuzz target's built-in seeds keep up with the protocol: every
// command in kCommands has a request seed (req-NAME.json) that decodes, so a
// command added later is explored from its first run.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "agent/control/protocol.h"

using namespace sipguard;

TEST_CASE("every control command has a request seed for fuzz-control that decodes to it")
{
	const char* root = std::getenv("SIPGUARD_SOURCE_ROOT");
	REQUIRE_MESSAGE(root, "SIPGUARD_SOURCE_ROOT is not set (run through meson test)");
	const std::filesystem::path dir = std::filesystem::path(root) / "tools" / "fuzz" / "seeds" / "fuzz-control";
	for (const control::CommandSpec& c : control::kCommands) {
		const std::filesystem::path seed = dir / ("req-" + std::string(c.name) + ".json");
		CAPTURE(seed.string());
		std::ifstream in(seed, std::ios::binary);
		REQUIRE(in);
		const std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
		auto r = control::decode_request(line);
		REQUIRE_MESSAGE(r.ok(), r.error());
		CHECK(r->cmd == c.name);
	}
}
