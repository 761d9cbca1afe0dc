// SPDX-License-Identifier: GPL-2.0-or-later
// What a row accepts, in words: the "expected ..." of error messages and the
// "Accepts ..." line of the generated default file.
#include "agent/config/row.h"

#include <fmt/core.h>

#include "agent/config/duration.h"

namespace sipguard::config {

namespace {

std::string range_ms(int64_t lo, int64_t hi)
{
	return fmt::format("{}..{}", format_duration(Millis(lo)), format_duration(Millis(hi)));
}

std::string items(const Spec& s)
{
	return s.min_items ? fmt::format("{}..{}", s.min_items, s.max_items) : fmt::format("at most {}", s.max_items);
}

// Up to three choices read as a sentence ("drop" or "accept"); longer lists
// as one of "a", "b", "c", "d".
std::string choice_list(std::string_view choices)
{
	std::vector<std::string_view> names;
	while (!choices.empty()) {
		size_t bar = choices.find('|');
		names.push_back(choices.substr(0, bar));
		choices = bar == std::string_view::npos ? std::string_view{} : choices.substr(bar + 1);
	}
	std::string out = names.size() > 3 ? "one of " : "";
	for (size_t i = 0; i < names.size(); ++i) {
		if (i > 0)
			out += names.size() > 3 || i + 1 < names.size() ? ", " : " or ";
		out += fmt::format("\"{}\"", names[i]);
	}
	return out;
}

// {name = "...", networks = ["CIDR", ...], trusted = true}: each key of the
// table with its default (or, when required, its placeholder).
std::string table_shape(const SubRows& sub)
{
	std::string out = "{";
	for (size_t i = 0; i < sub.count; ++i)
		out += fmt::format("{}{} = {}", i ? ", " : "", sub.at(i).name, sub.at(i).default_value);
	out += '}';
	return out;
}

} // namespace

std::string describe_expected(const Spec& s)
{
	switch (s.type) {
	case Type::Bool: return "expected true or false";
	case Type::Int: return fmt::format("expected an integer in {}..{}", s.min, s.max);
	case Type::Float: return fmt::format("expected a number in {}..{}", s.fmin, s.fmax);
	case Type::Duration:
		return fmt::format("expected a duration in {} like \"90s\", \"10m\", \"1h30m\"", range_ms(s.min, s.max));
	case Type::DurationList:
		return fmt::format("expected an array of {} durations in {} like [\"10m\", \"1h\"]", items(s),
		                   range_ms(s.min, s.max));
	case Type::String: return s.min ? fmt::format("expected a string of {}..{} bytes", s.min, s.max) : "expected a string";
	case Type::Path:
	case Type::SocketPath: return s.min ? "expected an absolute path" : "expected an absolute path or \"\"";
	case Type::Enum: return fmt::format("expected {}", choice_list(s.choices));
	case Type::CidrList:
		return fmt::format("expected an array of {} addresses or CIDR blocks like \"192.0.2.0/24\"", items(s));
	case Type::PortList: return fmt::format("expected an array of {} distinct ports in 1..65535", items(s));
	case Type::PortRange: return "expected a port range \"LO-HI\" with 1 <= LO <= HI <= 65535";
	case Type::Endpoint: return "expected \"ADDRESS:PORT\" (\"[V6]:PORT\" for IPv6) or \"\"";
	case Type::StringList:
		return fmt::format("expected an array of {} non-empty strings of at most 128 bytes", items(s));
	case Type::TableList: return fmt::format("expected an array of tables {}", table_shape(s.sub));
	}
	return "expected a valid value";
}

} // namespace sipguard::config
