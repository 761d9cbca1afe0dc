// SPDX-License-Identifier: GPL-2.0-or-later
// The destination policy: ordered allow/deny rules on number class,
// country, number prefix, source class, direction and account; first match
// wins. Compiled once from the config; matching allocates nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/fraud/config.h"
#include "agent/fraud/number.h"
#include "agent/util/status.h"

namespace sipguard::fraud {

struct PolicyQuery {
	const Number* number = nullptr;
	SourceClass source_class = SourceClass::Unknown;
	CallDirection direction = CallDirection::ToPbx;
	std::string_view account;
};

struct PolicyResult {
	RuleAction action = RuleAction::Allow;
	int rule = -1;              // index in Policy::rules(); -1: no rule matched (allowed)
	std::string_view rule_name; // "(no rule)" when none matched; "emergency" for emergency numbers
};

class Policy {
public:
	struct Rule {
		std::string name;
		RuleAction action = RuleAction::Deny;
		uint32_t classes = 0;            // bit per NumberClass; 0 = any
		std::vector<uint16_t> countries; // country ids, sorted; empty = any
		std::vector<std::string> prefixes;
		int source = -1;                 // SourceClass, -1 = any
		int direction = -1;              // CallDirection, -1 = any
		std::vector<std::string> accounts;
	};

	// The configured rules, or the default rules when there are none
	// (default_rules). Errors name the rule: "fraud.rule[2] (\"x\"): ...".
	static util::Result<Policy> compile(const Config& config, const NumberTables& tables);

	// Emergency numbers are allowed before any rule is read.
	PolicyResult decide(const PolicyQuery& q) const;

	const std::vector<Rule>& rules() const { return rules_; }
	bool defaults() const { return defaults_; }

private:
	std::vector<Rule> rules_;
	bool defaults_ = false;
};

// The rules used when fraud.rule is empty: deny unparsable, premium and
// satellite; allow international to allow_countries (when any), deny the
// rest of international; allow everything else (national, mobile,
// tollfree, special, internal).
std::vector<RuleConfig> default_rules(const Config& config);

} // namespace sipguard::fraud
