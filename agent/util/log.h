// SPDX-License-Identifier: GPL-2.0-or-later
// Levelled logging to stderr over fmt; the level is checked before formatting.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include <fmt/core.h>

namespace sipguard::log {

enum class Level : uint8_t { Debug, Info, Warning, Error };

// Global threshold; relaxed atomics because a stale read only changes
// whether one line is printed.
Level threshold();
void set_threshold(Level level);
bool parse_level(std::string_view text, Level& out);

void write(std::string_view category, Level level, std::string_view message);

} // namespace sipguard::log

// LOG(Category, Level, "fmt {}", args...): Category is a bare word (Rules, Nfq,
// Engine, ...), Level one of Debug/Info/Warning/Error.
#define LOG(category, level, ...)                                                          \
	do {                                                                                   \
		if (::sipguard::log::Level::level >= ::sipguard::log::threshold())                 \
			::sipguard::log::write(#category, ::sipguard::log::Level::level,               \
			                       ::fmt::format(__VA_ARGS__));                              \
	} while (0)
