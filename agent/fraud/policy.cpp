// SPDX-License-Identifier: GPL-2.0-or-later
// Destination policy: compiling the rules and first-match evaluation.
#include "agent/fraud/policy.h"

#include <algorithm>

#include <fmt/format.h>

namespace sipguard::fraud {

std::vector<RuleConfig> default_rules(const Config& config)
{
	std::vector<RuleConfig> r;
	r.push_back({.name = "default-deny-unparsable", .action = "deny", .classes = {"unparsable"}});
	r.push_back({.name = "default-deny-premium", .action = "deny", .classes = {"premium"}});
	r.push_back({.name = "default-deny-satellite", .action = "deny", .classes = {"satellite"}});
	if (!config.allow_countries.empty())
		r.push_back({.name = "default-allow-countries",
		             .action = "allow",
		             .classes = {"international"},
		             .countries = config.allow_countries});
	r.push_back({.name = "default-deny-international", .action = "deny", .classes = {"international"}});
	r.push_back({.name = "default-allow", .action = "allow"});
	return r;
}

util::Result<Policy> Policy::compile(const Config& config, const NumberTables& tables)
{
	Policy p;
	p.defaults_ = config.rules.empty();
	const std::vector<RuleConfig> source = p.defaults_ ? default_rules(config) : config.rules;
	for (size_t i = 0; i < source.size(); ++i) {
		const RuleConfig& rc = source[i];
		auto fail = [&](const std::string& what) {
			return util::Status::invalid(p.defaults_ ? fmt::format("fraud.allow_countries: {}", what)
			                                         : fmt::format("fraud.rule[{}] (\"{}\"): {}", i, rc.name, what));
		};
		Rule r;
		r.name = rc.name;
		if (rc.action == "allow")
			r.action = RuleAction::Allow;
		else if (rc.action == "deny")
			r.action = RuleAction::Deny;
		else
			return fail(fmt::format("action \"{}\": expected allow or deny", rc.action));
		for (const std::string& c : rc.classes) {
			std::optional<NumberClass> nc = number_class_from_string(c);
			if (!nc)
				return fail(fmt::format("unknown class \"{}\"", c));
			r.classes |= 1u << static_cast<unsigned>(*nc);
		}
		for (const std::string& c : rc.countries) {
			std::vector<uint16_t> ids = tables.find_countries(c);
			if (ids.empty())
				return fail(fmt::format("unknown country \"{}\" (a code like \"33\" or a label like \"FR\")", c));
			r.countries.insert(r.countries.end(), ids.begin(), ids.end());
		}
		std::sort(r.countries.begin(), r.countries.end());
		for (const std::string& pfx : rc.prefixes) {
			std::string_view d = pfx;
			if (!d.empty() && d.front() == '+')
				d.remove_prefix(1);
			if (d.empty() || d.size() > kMaxDigits ||
			    !std::all_of(d.begin(), d.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
				return fail(fmt::format("prefix \"{}\": expected E.164 digits", pfx));
			r.prefixes.emplace_back(d);
		}
		if (rc.source == "extension")
			r.source = static_cast<int>(SourceClass::Extension);
		else if (rc.source == "trunk")
			r.source = static_cast<int>(SourceClass::Trunk);
		else if (rc.source == "unknown")
			r.source = static_cast<int>(SourceClass::Unknown);
		else if (rc.source != "any")
			return fail(fmt::format("source \"{}\": expected extension, trunk, unknown or any", rc.source));
		if (rc.direction == "to-pbx")
			r.direction = static_cast<int>(CallDirection::ToPbx);
		else if (rc.direction == "to-trunk")
			r.direction = static_cast<int>(CallDirection::ToTrunk);
		else if (rc.direction != "any")
			return fail(fmt::format("direction \"{}\": expected to-pbx, to-trunk or any", rc.direction));
		r.accounts = rc.accounts;
		p.rules_.push_back(std::move(r));
	}
	return p;
}

namespace {

// The rule's prefix and account lists (out of line: the default rules have none).
[[gnu::noinline]] bool lists_match(const Policy::Rule& r, const PolicyQuery& q)
{
	const Number& n = *q.number;
	if (!r.prefixes.empty() && std::none_of(r.prefixes.begin(), r.prefixes.end(), [&](const std::string& p) {
		    return n.e164().substr(0, p.size()) == p && n.length >= p.size();
	    }))
		return false;
	if (!r.accounts.empty() &&
	    std::find(r.accounts.begin(), r.accounts.end(), q.account) == r.accounts.end())
		return false;
	return true;
}

bool matches(const Policy::Rule& r, const PolicyQuery& q)
{
	const Number& n = *q.number;
	if (r.classes && !(r.classes & (1u << static_cast<unsigned>(n.number_class))))
		return false;
	if (r.source >= 0 && r.source != static_cast<int>(q.source_class))
		return false;
	if (r.direction >= 0 && r.direction != static_cast<int>(q.direction))
		return false;
	if (!r.countries.empty() &&
	    (!n.country || !std::binary_search(r.countries.begin(), r.countries.end(), n.country->id)))
		return false;
	return (r.prefixes.empty() && r.accounts.empty()) || lists_match(r, q);
}

} // namespace

PolicyResult Policy::decide(const PolicyQuery& q) const
{
	if (q.number->number_class == NumberClass::Emergency)
		return {RuleAction::Allow, -1, "emergency"};
	for (size_t i = 0; i < rules_.size(); ++i)
		if (matches(rules_[i], q))
			return {rules_[i].action, static_cast<int>(i), rules_[i].name};
	return {RuleAction::Allow, -1, "(no rule)"};
}

} // namespace sipguard::fraud
