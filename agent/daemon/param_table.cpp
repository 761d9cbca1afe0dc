// SPDX-License-Identifier: GPL-2.0-or-later
// The merged parameter table: the daemon's rows, then the engine's
// (detect.*, ban.*, engine.*) and the call tracker's (calls.*) translated
// into the loader's row format, checked for duplicate keys at first use.
#include <deque>
#include <set>
#include <stdexcept>
#include <string>

#include <fmt/core.h>

#include "agent/calls/config.h"
#include "agent/daemon/params.h"
#include "agent/engine/config.h"

namespace sipguard::daemon {

namespace {

// Keeps the strings built here alive for the program's lifetime (Param holds
// string_views).
std::string_view keep(std::string s)
{
	static std::deque<std::string> storage;
	storage.push_back(std::move(s));
	return storage.back();
}

Param from_engine(const engine::Param& e)
{
	Param p{.name = e.name, .type = ParamType::Bool, .default_value = e.default_value, .help = e.help};
	switch (e.type) {
	case engine::ParamType::Bool: p.type = ParamType::Bool; break;
	case engine::ParamType::Int: p.type = ParamType::Int; break;
	case engine::ParamType::Float: p.type = ParamType::Float; break;
	case engine::ParamType::Duration: p.type = ParamType::Duration; break;
	case engine::ParamType::DurationList: p.type = ParamType::DurationList; break;
	case engine::ParamType::StringList: p.type = ParamType::StringList; break;
	}
	p.min = e.min;
	p.max = e.max;
	p.fmin = e.fmin;
	p.fmax = e.fmax;
	p.max_items = e.max_items;
	p.origin = Param::Origin::Engine;
	p.ext = &e;
	// Table sizes are fixed at construction (Engine::set_config keeps them).
	p.apply = e.name.starts_with("engine.") ? Param::Apply::Restart : Param::Apply::Live;
	return p;
}

Param from_calls(const calls::Parameter& c)
{
	Param p{.name = keep(fmt::format("calls.{}", c.name)), .type = ParamType::Int, .default_value = c.default_text,
	        .help = c.help};
	if (c.type == "enum") {
		p.type = ParamType::Enum;
		p.default_value = keep(fmt::format("\"{}\"", c.default_text));
	} else {
		p.min = c.min;
		p.max = c.max;
		if (c.type == "seconds")
			p.help = keep(fmt::format("{} (seconds)", c.help));
	}
	// Help texts of the calls table are lower-case fragments; capitalise the
	// first letter so the generated config reads like the others.
	if (!p.help.empty() && p.help.front() >= 'a' && p.help.front() <= 'z') {
		std::string h(p.help);
		h.front() = static_cast<char>(h.front() - 'a' + 'A');
		p.help = keep(std::move(h));
	}
	p.origin = Param::Origin::Calls;
	p.ext = &c;
	// The tracker takes its config at construction only.
	p.apply = Param::Apply::Restart;
	return p;
}

} // namespace

const std::vector<Param>& all_params()
{
	static const std::vector<Param> table = [] {
		std::vector<Param> t(daemon_params().begin(), daemon_params().end());
		for (const engine::Param& e : engine::params())
			t.push_back(from_engine(e));
		for (const calls::Parameter& c : calls::parameters())
			t.push_back(from_calls(c));
		t.push_back(trunk_param());
		std::set<std::string_view> seen;
		for (const Param& p : t)
			if (!seen.insert(p.name).second)
				throw std::logic_error("duplicate config key in the parameter table: " + std::string(p.name));
		return t;
	}();
	return table;
}

} // namespace sipguard::daemon
