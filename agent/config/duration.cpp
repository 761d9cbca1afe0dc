// SPDX-License-Identifier: GPL-2.0-or-later
// Duration parsing and formatting for config values and CLI options.
#include "agent/config/duration.h"

#include <array>
#include <cstdint>

#include <fmt/core.h>

namespace sipguard::config {

namespace {

struct Unit {
	std::string_view name;
	int64_t ms;
};

// Descending order; "ms" before "m" so the longest suffix wins when matching.
constexpr std::array<Unit, 6> kUnits{{
	{"w", 7LL * 24 * 3600 * 1000},
	{"d", 24LL * 3600 * 1000},
	{"h", 3600LL * 1000},
	{"m", 60LL * 1000},
	{"s", 1000},
	{"ms", 1},
}};

constexpr int64_t kMaxMs = kMaxDuration.count();

util::Status fail(std::string msg)
{
	return util::Status::invalid(std::move(msg));
}

} // namespace

util::Result<Millis> parse_duration(std::string_view text)
{
	const std::string quoted = fmt::format("\"{}\"", text);
	const std::string hint = "expected a duration like \"90s\", \"10m\", \"1h30m\" or \"7d\"";
	auto too_long = [&] { return fail(fmt::format("{}: {} is too long (at most 100 years, 36500d)", hint, quoted)); };
	if (text.empty())
		return fail(fmt::format("{}, got an empty string", hint));
	int64_t total = 0;
	size_t pos = 0;
	size_t last_unit = 0; // index+1 into kUnits of the previous group
	while (pos < text.size()) {
		size_t start = pos;
		int64_t n = 0;
		while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
			n = n * 10 + (text[pos] - '0');
			if (n > kMaxMs)
				return too_long();
			++pos;
		}
		if (pos == start)
			return fail(fmt::format("{}, got {}", hint, quoted));
		size_t ustart = pos;
		while (pos < text.size() && ((text[pos] >= 'a' && text[pos] <= 'z') || (text[pos] >= 'A' && text[pos] <= 'Z')))
			++pos;
		std::string_view u = text.substr(ustart, pos - ustart);
		if (u.empty())
			return fail(fmt::format("{} (a unit is required: ms, s, m, h, d, w), got {}", hint, quoted));
		size_t idx = 0;
		while (idx < kUnits.size() && kUnits[idx].name != u)
			++idx;
		if (idx == kUnits.size())
			return fail(fmt::format("{}: unknown unit \"{}\" in {} (units: ms, s, m, h, d, w)", hint, u, quoted));
		if (idx + 1 <= last_unit)
			return fail(fmt::format("{}: units must appear once each, largest first, in {}", hint, quoted));
		last_unit = idx + 1;
		// Checked before multiplying: n * unit may not fit in 64 bits.
		if (n > (kMaxMs - total) / kUnits[idx].ms)
			return too_long();
		total += n * kUnits[idx].ms;
		if (total > kMaxMs)
			return too_long();
	}
	return Millis(total);
}

std::string format_duration(Millis d)
{
	int64_t ms = d.count();
	if (ms == 0)
		return "0s";
	std::string out;
	if (ms < 0) {
		out += '-';
		ms = -ms;
	}
	for (const Unit& u : kUnits) {
		// Weeks read badly for ban times ("1w3d"); days are the largest unit shown.
		if (u.name == "w")
			continue;
		if (ms >= u.ms) {
			out += fmt::format("{}{}", ms / u.ms, u.name);
			ms %= u.ms;
		}
	}
	return out;
}

} // namespace sipguard::config
