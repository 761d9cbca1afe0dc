// SPDX-License-Identifier: GPL-2.0-or-later
// Names of the guard's verdicts, reasons and patterns, as events and counters print them.
#include "agent/fraud/guard.h"
#include "agent/util/enum_names.h"

namespace sipguard::fraud {

namespace {

constexpr auto kVerdictNames = util::enum_names<Verdict::DenyAndLock>({
	"allow", "warn", "deny", "deny-and-lock"
}, "?");
constexpr auto kReasonNames = util::enum_names<Reason::Locked>({
	"none", "policy", "bad-number", "pattern", "locked"
}, "?");
constexpr auto kPatternNames = util::enum_names<Pattern::DeniedPerHour>({
	"calls_per_minute", "concurrent_calls", "calls_per_day", "same_number",
	"international_per_hour", "after_hours_per_hour", "new_countries_per_day",
	"denied_per_hour"
}, "?");

} // namespace

std::string_view to_string(Verdict v) { return kVerdictNames(v); }
std::string_view to_string(Reason r) { return kReasonNames(r); }
std::string_view to_string(Pattern p) { return kPatternNames(p); }

} // namespace sipguard::fraud
