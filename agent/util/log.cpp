// SPDX-License-Identifier: GPL-2.0-or-later
// Levelled logging to stderr: one line per call, written with one write(2) so
// lines from several threads never interleave.
#include "agent/util/log.h"

#include <unistd.h>

#include <fmt/format.h>

namespace sipguard::log {

namespace {
std::atomic<Level> g_threshold{Level::Info};

constexpr std::string_view level_name(Level level)
{
	switch (level) {
	case Level::Debug: return "debug";
	case Level::Info: return "info";
	case Level::Warning: return "warning";
	case Level::Error: return "error";
	}
	return "?";
}
} // namespace

Level threshold() { return g_threshold.load(std::memory_order_relaxed); }
void set_threshold(Level level) { g_threshold.store(level, std::memory_order_relaxed); }

bool parse_level(std::string_view text, Level& out)
{
	for (Level l : {Level::Debug, Level::Info, Level::Warning, Level::Error}) {
		if (text == level_name(l)) {
			out = l;
			return true;
		}
	}
	return false;
}

void write(std::string_view category, Level level, std::string_view message)
{
	fmt::memory_buffer line;
	fmt::format_to(std::back_inserter(line), "sipguard {} [{}] {}\n", level_name(level), category, message);
	const char* p = line.data();
	size_t left = line.size();
	while (left > 0) {
		ssize_t n = ::write(STDERR_FILENO, p, left);
		if (n <= 0)
			return;
		p += n;
		left -= static_cast<size_t>(n);
	}
}

} // namespace sipguard::log
