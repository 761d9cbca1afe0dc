// SPDX-License-Identifier: GPL-2.0-or-later
// The toll-fraud guard's rows of the config schema, and its enums' names.
#include "agent/fraud/config.h"

#include "agent/config/loader.h"

namespace sipguard::fraud {

namespace {

constexpr config::EnumName<NumberClass> kClassNames[] = {
	{NumberClass::Unparsable, "unparsable"}, {NumberClass::Internal, "internal"},
	{NumberClass::Emergency, "emergency"},   {NumberClass::National, "national"},
	{NumberClass::Mobile, "mobile"},         {NumberClass::TollFree, "tollfree"},
	{NumberClass::Special, "special"},       {NumberClass::Premium, "premium"},
	{NumberClass::International, "international"}, {NumberClass::Satellite, "satellite"},
};

constexpr config::EnumName<SourceClass> kSourceNames[] = {
	{SourceClass::Extension, "extension"},
	{SourceClass::Trunk, "trunk"},
	{SourceClass::Unknown, "unknown"},
};

constexpr config::EnumName<CallDirection> kDirectionNames[] = {
	{CallDirection::ToPbx, "to-pbx"},
	{CallDirection::ToTrunk, "to-trunk"},
};

} // namespace

std::string_view to_string(NumberClass c) { return config::name_of(kClassNames, c); }
std::optional<NumberClass> number_class_from_string(std::string_view s) { return config::value_of(kClassNames, s); }
std::string_view to_string(SourceClass c) { return config::name_of(kSourceNames, c); }
std::string_view to_string(CallDirection d) { return config::name_of(kDirectionNames, d); }

namespace {

using T = config::Type;
using config::Apply;

const config::Row<RuleConfig> kRuleFields[] = {
	{{.name = "name", .type = T::String, .default_value = "\"...\"", .help = "Reported in the decision.", .min = 1,
	  .max = 47, .required = true, .unique = true},
	 config::bind<&RuleConfig::name>()},
	{{.name = "action", .type = T::Enum, .default_value = "\"deny\"", .help = "\"allow\" or \"deny\".",
	  .choices = "allow|deny"},
	 config::bind<&RuleConfig::action>()},
	{{.name = "classes", .type = T::StringList, .default_value = "[]",
	  .help = "Number classes (national, mobile, tollfree, special, premium, international, satellite,\n"
	          "internal, unparsable); empty = any.",
	  .max_items = kNumberClassCount},
	 config::bind<&RuleConfig::classes>()},
	{{.name = "countries", .type = T::StringList, .default_value = "[]",
	  .help = "Country codes (\"33\", \"1876\") or labels (\"FR\"); empty = any.", .max_items = 512},
	 config::bind<&RuleConfig::countries>()},
	{{.name = "prefixes", .type = T::StringList, .default_value = "[]",
	  .help = "E.164 number prefixes (\"+4420\"); empty = any.", .max_items = 1024},
	 config::bind<&RuleConfig::prefixes>()},
	{{.name = "source", .type = T::Enum, .default_value = "\"any\"",
	  .help = "extension, trunk, unknown or any.", .choices = "extension|trunk|unknown|any"},
	 config::bind<&RuleConfig::source>()},
	{{.name = "accounts", .type = T::StringList, .default_value = "[]", .help = "Accounts; empty = any.",
	  .max_items = 1024},
	 config::bind<&RuleConfig::accounts>()},
	{{.name = "direction", .type = T::Enum, .default_value = "\"any\"",
	  .help = "to-pbx (from a phone), to-trunk (from the PBX) or any.", .choices = "to-pbx|to-trunk|any"},
	 config::bind<&RuleConfig::direction>()},
};

using Row = config::Row<Config>;

constexpr config::Spec text(std::string_view name, std::string_view def, int64_t max, std::string_view help)
{
	return {.name = name, .type = T::String, .default_value = def, .help = help, .min = 0, .max = max};
}

constexpr config::Spec list(std::string_view name, std::string_view def, uint32_t max_items, std::string_view help)
{
	return {.name = name, .type = T::StringList, .default_value = def, .help = help, .max_items = max_items};
}

constexpr config::Spec integer(std::string_view name, std::string_view def, int64_t min, int64_t max,
                               std::string_view help, Apply apply = Apply::Live)
{
	return {.name = name, .type = T::Int, .default_value = def, .help = help, .min = min, .max = max,
	        .apply = apply};
}

// A threshold is two rows: <name>_warn and <name>_critical under [fraud.pattern].
#define SG_THRESHOLD(key, field, dwarn, dcritical, dmax, what)                                                   \
	Row{integer("fraud.pattern." key "_warn", dwarn, 0, dmax, what ": alert at this count; 0 = off"),           \
	    config::bind<&Config::pattern, &PatternConfig::field, &Threshold::warn>()},                           \
	Row{integer("fraud.pattern." key "_critical", dcritical, 0, dmax, what ": lock the account; 0 = off"),     \
	    config::bind<&Config::pattern, &PatternConfig::field, &Threshold::critical>()}

const Row kRows[] = {
	{{.name = "fraud.enabled", .type = T::Bool, .default_value = "false",
	  .help = "Check every initial INVITE against the destination policy, bad-number lists and call patterns."},
	 config::bind<&Config::enabled>()},
	{text("fraud.country_code", "\"\"", 3, "The site's E.164 country code (\"44\", \"1\"); \"\" = none"),
	 config::bind<&Config::country_code>()},
	{text("fraud.national_prefix", "\"0\"", 4, "Trunk prefix before a national number (\"0\"; NANP \"1\")"),
	 config::bind<&Config::national_prefix>()},
	{list("fraud.international_prefixes", "[\"00\"]", 8,
	      "Prefixes before a country code (\"00\", \"011\"); '+' always counts"),
	 config::bind<&Config::international_prefixes>()},
	{text("fraud.dial_out_prefix", "\"\"", 4, "Digit(s) phones dial to get an outside line (\"9\"); \"\" = none"),
	 config::bind<&Config::dial_out_prefix>()},
	{list("fraud.emergency", "[]", 16, "Emergency numbers besides 999, 112 and 911; never blocked"),
	 config::bind<&Config::emergency>()},
	{integer("fraud.internal_max_digits", "5", 0, 10,
	         "Digit strings up to this long (without prefixes) are internal extensions"),
	 config::bind<&Config::internal_max_digits>()},
	{{.name = "fraud.data_dir", .type = T::Path, .default_value = "\"/usr/share/sipguard/fraud\"",
	  .help = "Directory of the number tables", .min = 1},
	 config::bind<&Config::data_dir>()},
	{list("fraud.number_tables", "[\"countries.txt\", \"uk.txt\", \"nanp.txt\"]", 64,
	      "Number tables in data_dir (or absolute paths): lines \"prefix class [label]\""),
	 config::bind<&Config::number_tables>()},
	{list("fraud.bad_number_files", "[]", 64,
	      "Files of known bad numbers and prefixes, one a line; reloaded on change and SIGHUP"),
	 config::bind<&Config::bad_number_files>()},
	{list("fraud.allow_countries", "[]", 512,
	      "Countries (codes \"33\" or labels \"FR\") the default rules allow international calls to"),
	 config::bind<&Config::allow_countries>()},
	{text("fraud.time_zone", "\"\"", 128,
	      "Zone of the business hours: \"\" = UTC, \"+01:00\", \"Europe/London\" or a TZif path"),
	 config::bind<&Config::time_zone>()},
	{{.name = "fraud.zoneinfo_dir", .type = T::Path, .default_value = "\"/usr/share/zoneinfo\"",
	  .help = "Where zone names are looked up", .min = 1},
	 config::bind<&Config::zoneinfo_dir>()},
	{text("fraud.business_hours", "\"\"", 11, "\"08:00-18:00\"; \"\" = no after-hours pattern"),
	 config::bind<&Config::business_hours>()},
	{text("fraud.business_days", "\"mon-fri\"", 64, "Days (\"mon-fri\", \"mon,tue,sat\")"),
	 config::bind<&Config::business_days>()},
	{text("fraud.clock_offset", "\"0s\"", 32,
	      "Signed duration added to the clock of time-of-day rules only (\"-2h\"): for labs"),
	 config::bind<&Config::clock_offset>()},
	SG_THRESHOLD("calls_per_minute", calls_per_minute, "20", "60", 4096, "INVITEs of one account in 60 s"),
	SG_THRESHOLD("concurrent_calls", concurrent_calls, "10", "30", 4096, "Calls of one account at once"),
	SG_THRESHOLD("calls_per_day", calls_per_day, "500", "2000", 1000000, "INVITEs of one account in 24 h"),
	SG_THRESHOLD("same_number", same_number, "15", "40", 100000, "Consecutive INVITEs to one number"),
	SG_THRESHOLD("international_per_hour", international_per_hour, "40", "80", 128,
	             "Distinct international numbers in one hour"),
	SG_THRESHOLD("after_hours_per_hour", after_hours_per_hour, "10", "30", 4096,
	             "External calls outside business hours in one hour"),
	SG_THRESHOLD("new_countries_per_day", new_countries_per_day, "1", "5", 128,
	             "Countries the account never called before, in 24 h"),
	SG_THRESHOLD("denied_per_hour", denied_per_hour, "5", "15", 4096, "Calls denied by policy or list in one hour"),
	{{.name = "fraud.lock_ladder", .type = T::DurationList, .default_value = "[\"1h\", \"6h\", \"24h\", \"7d\"]",
	  .help = "Lock duration per critical finding: the first lock lasts ladder[0], the second ladder[1], ...",
	  .min = 1000, .max = 365LL * 24 * 3600 * 1000, .min_items = 1, .max_items = 16, .ascending = true},
	 config::bind<&Config::lock_ladder>()},
	{{.name = "fraud.lock_forget", .type = T::Duration, .default_value = "\"30d\"",
	  .help = "Locks older than this no longer escalate the ladder", .min = 60000,
	  .max = 365LL * 24 * 3600 * 1000},
	 config::bind<&Config::lock_forget>()},
	{{.name = "fraud.lock_on_bad_number", .type = T::Bool, .default_value = "true",
	  .help = "A call to a listed bad number locks the account (else it is only denied)"},
	 config::bind<&Config::lock_on_bad_number>()},
	{integer("fraud.max_accounts", "4096", 16, 1 << 20, "Accounts with pattern state (LRU, evictions counted)",
	         Apply::Restart),
	 config::bind<&Config::max_accounts>()},
	{integer("fraud.max_live_calls", "4096", 16, 1 << 20, "Calls followed from INVITE to end (oldest evicted)",
	         Apply::Restart),
	 config::bind<&Config::max_live_calls>()},
	{integer("fraud.max_locks", "1024", 16, 1 << 20, "Locked accounts held (the one expiring first is dropped)",
	         Apply::Restart),
	 config::bind<&Config::max_locks>()},
	{integer("fraud.recent_findings", "256", 1, 65536, "Recent events kept for `sipguard fraud`", Apply::Restart),
	 config::bind<&Config::recent_findings>()},
	{{.name = "fraud.unanswered_timeout", .type = T::Duration, .default_value = "\"5m\"",
	  .help = "An INVITE with no answer and no end is forgotten after this", .min = 32000, .max = 3600000},
	 config::bind<&Config::unanswered_timeout>()},
	{{.name = "fraud.max_call_duration", .type = T::Duration, .default_value = "\"6h\"",
	  .help = "An answered call with no end is counted as ended after this", .min = 60000,
	  .max = 7LL * 24 * 3600 * 1000},
	 config::bind<&Config::max_call_duration>()},
	// Last, so that the generated file can end with [[fraud.rule]] tables.
	{{.name = "fraud.rule", .type = T::TableList, .default_value = "[]",
	  .help = "Destination rules, first match wins; none = the default rules (allow national, mobile,\n"
	          "tollfree, special, internal; deny premium, satellite, unparsable; deny international except\n"
	          "allow_countries). Emergency numbers are always allowed. Example:\n"
	          "rule = [{name = \"no-premium\", action = \"deny\", classes = [\"premium\"]}]",
	  .max_items = 256, .sub = config::sub_rows<kRuleFields>, .incomplete = "a rule needs a name"},
	 config::bind_tables<&Config::rules, kRuleFields>()},
};

#undef SG_THRESHOLD

} // namespace

std::span<const config::Row<Config>> rows() { return kRows; }

} // namespace sipguard::fraud
