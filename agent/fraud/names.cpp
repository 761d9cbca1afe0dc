// SPDX-License-Identifier: GPL-2.0-or-later
// Names of the guard's verdicts, reasons and patterns, as events and counters print them.
#include "agent/fraud/guard.h"

namespace sipguard::fraud {

std::string_view to_string(Verdict v)
{
	switch (v) {
	case Verdict::Allow: return "allow";
	case Verdict::Warn: return "warn";
	case Verdict::Deny: return "deny";
	case Verdict::DenyAndLock: return "deny-and-lock";
	}
	return "?";
}

std::string_view to_string(Reason r)
{
	switch (r) {
	case Reason::None: return "none";
	case Reason::Policy: return "policy";
	case Reason::BadNumber: return "bad-number";
	case Reason::Pattern: return "pattern";
	case Reason::Locked: return "locked";
	}
	return "?";
}

std::string_view to_string(Pattern p)
{
	switch (p) {
	case Pattern::CallsPerMinute: return "calls_per_minute";
	case Pattern::ConcurrentCalls: return "concurrent_calls";
	case Pattern::CallsPerDay: return "calls_per_day";
	case Pattern::SameNumber: return "same_number";
	case Pattern::InternationalPerHour: return "international_per_hour";
	case Pattern::AfterHoursPerHour: return "after_hours_per_hour";
	case Pattern::NewCountriesPerDay: return "new_countries_per_day";
	case Pattern::DeniedPerHour: return "denied_per_hour";
	}
	return "?";
}

} // namespace sipguard::fraud
