// SPDX-License-Identifier: GPL-2.0-or-later
// Locates the shared test corpus (../shared/corpus next to the checkout, or
// $SIPGUARD_CORPUS). A user's checkout has none: tests that need it skip.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>

namespace sipguard::test {

inline std::optional<std::filesystem::path> corpus_dir()
{
	if (const char* env = std::getenv("SIPGUARD_CORPUS"); env && *env) {
		std::filesystem::path p(env);
		if (std::filesystem::is_directory(p))
			return p;
	}
	return std::nullopt;
}

} // namespace sipguard::test

// Use at the top of a TEST_CASE that reads the corpus.
#define SIPGUARD_REQUIRE_CORPUS(var)                                                           \
	auto var##_opt = ::sipguard::test::corpus_dir();                                           \
	if (!var##_opt) {                                                                          \
		MESSAGE("skipped: no shared corpus (set SIPGUARD_CORPUS or add ../shared/corpus)");    \
		return;                                                                                \
	}                                                                                          \
	const std::filesystem::path var = *var##_opt
