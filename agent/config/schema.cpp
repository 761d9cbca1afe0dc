// SPDX-License-Identifier: GPL-2.0-or-later
// Key lookup with suggestions, schema checks at start-up, and the generated
// default config file.
#include "agent/config/schema.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <fmt/core.h>

#include "agent/config/loader.h"

namespace sipguard::config {

namespace {

size_t edit_distance(std::string_view a, std::string_view b)
{
	std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
	for (size_t j = 0; j <= b.size(); ++j)
		prev[j] = j;
	for (size_t i = 1; i <= a.size(); ++i) {
		cur[0] = i;
		for (size_t j = 1; j <= b.size(); ++j)
			cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
		std::swap(prev, cur);
	}
	return prev[b.size()];
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
	std::set<std::string_view> seen;
	for (const Spec* s : rows_) {
		if (!seen.insert(s->name).second)
			throw std::logic_error(fmt::format("duplicate config key in the parameter table: {}", s->name));
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
	for (const Spec* s : rows_)
		if (s->name == name)
			return s;
	return nullptr;
}

bool Schema::is_section(std::string_view prefix) const
{
	for (const Spec* s : rows_)
		if (s->name.size() > prefix.size() && s->name.starts_with(prefix) && s->name[prefix.size()] == '.')
			return true;
	return false;
}

std::string Schema::suggestion(std::string_view name) const
{
	const Spec* best = nullptr;
	size_t best_d = 4; // beyond three edits a suggestion is noise
	for (const Spec* s : rows_) {
		// The distance is at least the difference in length: a long name
		// (a 10 MB key) costs nothing here.
		size_t longer = std::max(name.size(), s->name.size());
		if (longer - std::min(name.size(), s->name.size()) >= best_d)
			continue;
		size_t d = edit_distance(name, s->name);
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
