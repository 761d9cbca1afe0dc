// SPDX-License-Identifier: GPL-2.0-or-later
// Key lookup with suggestions, schema checks at start-up, and the generated
// default config file.
#include "agent/config/schema.h"

#include <algorithm>
#include <array>
#include <stdexcept>

#include <fmt/core.h>

#include "agent/config/loader.h"

namespace sipguard::config {

namespace {

constexpr size_t kMaxEditLimit = 8;

// Levenshtein distance of a and b when it is below `limit` (at most
// kMaxEditLimit), else `limit`. A common prefix and suffix change nothing and
// are skipped (keys share their section's prefix). Only cells less than limit
// off the diagonal can be below limit: row i keeps columns i - w .. i + w
// (w = limit - 1) at k = j - i + w + 1, on the stack, between two cells that
// read as limit, and the search ends at the first row whose cells all reach
// limit (row minima never decrease).
size_t edit_distance(std::string_view a, std::string_view b, size_t limit)
{
	if (limit == 0 || limit > kMaxEditLimit || a.size() + limit <= b.size() || b.size() + limit <= a.size())
		return limit;
	while (!a.empty() && !b.empty() && a.front() == b.front()) {
		a.remove_prefix(1);
		b.remove_prefix(1);
	}
	while (!a.empty() && !b.empty() && a.back() == b.back()) {
		a.remove_suffix(1);
		b.remove_suffix(1);
	}
	const size_t n = b.size();
	const size_t w = limit - 1;
	std::array<size_t, 2 * kMaxEditLimit + 1> rows[2];
	rows[0].fill(limit);
	rows[1].fill(limit);
	size_t* prev = rows[0].data();
	size_t* cur = rows[1].data();
	for (size_t j = 0; j <= w && j <= n; ++j)
		prev[j + w + 1] = j;
	for (size_t i = 1; i <= a.size(); ++i) {
		// Columns 0 .. n of this row, as k; the rest stay limit.
		const size_t lo = i >= w ? 1 : w - i + 1;
		const size_t hi = std::min(2 * w, n + w - i) + 1;
		cur[lo - 1] = limit;
		cur[hi + 1] = limit;
		size_t row_min = limit;
		size_t k = lo;
		if (i <= w) { // column 0
			cur[k] = i;
			row_min = i;
			++k;
		}
		for (; k <= hi; ++k) {
			size_t d = prev[k] + (a[i - 1] == b[i + k - w - 2] ? 0 : 1);
			if (prev[k + 1] + 1 < d)
				d = prev[k + 1] + 1;
			if (cur[k - 1] + 1 < d)
				d = cur[k - 1] + 1;
			if (d > limit)
				d = limit;
			cur[k] = d;
			if (d < row_min)
				row_min = d;
		}
		if (row_min >= limit)
			return limit;
		std::swap(prev, cur);
	}
	return prev[n + w + 1 - a.size()];
}

const char* apply_text(Apply a)
{
	switch (a) {
	case Apply::Live: return "reload";
	case Apply::Rules: return "reload (ruleset replace)";
	case Apply::Restart: return "restart";
	}
	return "restart";
}

} // namespace

void Schema::finish()
{
	for (const Spec* s : rows_) {
		if (!by_name_.emplace(s->name, s).second)
			throw std::logic_error(fmt::format("duplicate config key in the parameter table: {}", s->name));
		longest_ = std::max(longest_, s->name.size());
		for (size_t dot = s->name.find('.'); dot != std::string_view::npos; dot = s->name.find('.', dot + 1))
			sections_.insert(s->name.substr(0, dot));
		defaults_.push_back(parse_default(*s));
		bool required = false;
		for (size_t i = 0; i < s->sub.count; ++i) {
			parse_default(s->sub.at(i));
			required = required || s->sub.at(i).required;
		}
		if (required && s->incomplete.empty())
			throw std::logic_error(fmt::format("config key {}: required keys but no `incomplete` message", s->name));
	}
}

const Spec* Schema::find(std::string_view name) const
{
	if (name.size() > longest_) // not hashed: a key may be megabytes long
		return nullptr;
	auto it = by_name_.find(name);
	return it == by_name_.end() ? nullptr : it->second;
}

bool Schema::is_section(std::string_view prefix) const
{
	return prefix.size() <= longest_ && sections_.contains(prefix);
}

std::string Schema::suggestion(std::string_view name) const
{
	const Spec* best = nullptr;
	size_t best_d = 4; // beyond three edits a suggestion is noise
	for (const Spec* s : rows_) {
		// Bounded by the best so far: a long name (a 10 MB key) or an
		// unrelated one costs a few cells per row.
		size_t d = edit_distance(name, s->name, best_d);
		if (d < best_d) {
			best_d = d;
			best = s;
		}
	}
	return best ? fmt::format(" (did you mean {}?)", best->name) : std::string();
}

std::string default_file_text(const Schema& schema)
{
	std::string out =
		"# sipguard configuration (TOML), installed as /etc/sipguard/sipguard.toml.\n"
		"#\n"
		"# Every key is listed with its default value and what it accepts. Unknown keys,\n"
		"# wrong types and out-of-range values are errors (file:line:column: key: ...);\n"
		"# `sipguard check-config FILE` validates a file without touching the kernel.\n"
		"# SIGHUP (systemctl reload sipguard) applies a changed file atomically or keeps\n"
		"# the running config and logs why; keys marked \"restart\" take effect at the\n"
		"# next start. This file is generated from the parameter table:\n"
		"#   sipguard check-config --print-defaults\n";
	std::string_view section;
	for (const Spec& s : schema) {
		size_t dot = s.name.rfind('.');
		std::string_view sec = s.name.substr(0, dot);
		if (sec != section) {
			section = sec;
			out += fmt::format("\n[{}]\n", sec);
		} else {
			out += '\n';
		}
		std::string_view help = s.help;
		while (!help.empty()) {
			size_t nl = help.find('\n');
			out += fmt::format("# {}\n", help.substr(0, nl));
			help = nl == std::string_view::npos ? std::string_view{} : help.substr(nl + 1);
		}
		std::string expected = describe_expected(s);
		std::string_view accepts = expected;
		if (accepts.starts_with("expected "))
			accepts.remove_prefix(9);
		out += fmt::format("# Accepts {}. Applied on {}.\n", accepts, apply_text(s.apply));
		out += fmt::format("{} = {}\n", s.name.substr(dot + 1), s.default_value);
	}
	return out;
}

} // namespace sipguard::config
