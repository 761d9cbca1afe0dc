// SPDX-License-Identifier: GPL-2.0-or-later
// The call tracker's rows of the config schema, and its enums' names.
#include "agent/calls/config.h"

#include <type_traits>

#include "agent/config/loader.h"

namespace sipguard::calls {

namespace {

// One table per enum serves both directions; the rows' `choices` list the
// same names (a test checks that they agree).
constexpr config::EnumName<NatPolicy> kNatPolicies[] = {
	{NatPolicy::Sdp, "sdp"},
	{NatPolicy::SdpAndSignalling, "sdp+signalling"},
	{NatPolicy::Signalling, "signalling"},
};

constexpr config::EnumName<UnknownDialogPolicy> kUnknownDialogPolicies[] = {
	{UnknownDialogPolicy::Drop, "drop"},
	{UnknownDialogPolicy::Accept, "accept"},
};

} // namespace

std::string_view to_string(NatPolicy p) { return config::name_of(kNatPolicies, p); }

std::optional<NatPolicy> nat_policy_from_string(std::string_view s) { return config::value_of(kNatPolicies, s); }

std::string_view to_string(UnknownDialogPolicy p) { return config::name_of(kUnknownDialogPolicies, p); }

std::optional<UnknownDialogPolicy> unknown_dialog_policy_from_string(std::string_view s)
{
	return config::value_of(kUnknownDialogPolicies, s);
}

namespace {

using T = config::Type;
using config::Apply;

// The keys of one [[calls.trunk]] table. The placeholders of the required
// keys are what the generated file shows ({name = "...", ...}).
const config::Row<Trunk> kTrunkFields[] = {
	{{.name = "name", .type = T::String, .default_value = "\"...\"", .help = "Named in logs and metrics.", .min = 1,
	  .max = 64, .required = true, .unique = true},
	 config::bind<&Trunk::name>()},
	{{.name = "networks", .type = T::CidrList, .default_value = "[\"CIDR\", ...]",
	  .help = "Its signalling and media nodes.", .min_items = 1, .max_items = 256, .required = true},
	 config::bind<&Trunk::networks>()},
	{{.name = "trusted", .type = T::Bool, .default_value = "true",
	  .help = "Exempt from the unknown-dialog policy and forged checks."},
	 config::bind<&Trunk::trusted>()},
	{{.name = "max_calls", .type = T::Int, .default_value = "0", .help = "Concurrent calls; 0 = unlimited.",
	  .min = 0, .max = 1000000},
	 config::bind<&Trunk::limits, &Limits::max_concurrent_calls>()},
	{{.name = "max_call_attempts", .type = T::Int, .default_value = "0",
	  .help = "New INVITEs per minute; 0 = unlimited.", .min = 0, .max = 1000000},
	 config::bind<&Trunk::limits, &Limits::max_call_attempts_per_minute>()},
};

// Most [calls] keys are integers (timeouts in whole seconds). Every key
// applies at the next start: the tracker takes its config at construction.
constexpr config::Spec integer(std::string_view name, std::string_view default_value, int64_t min, int64_t max,
                               std::string_view help)
{
	return {.name = name, .type = T::Int, .default_value = default_value, .help = help, .min = min, .max = max,
	        .apply = Apply::Restart};
}

using Row = config::Row<Config>;

const Row kRows[] = {
	{integer("calls.max_dialogs", "4096", 16, 1 << 20,
	         "Dialogs tracked per queue thread; the oldest ended, then early, then confirmed dialog is evicted "
	         "(counted)"),
	 config::bind<&Config::max_dialogs>()},
	{integer("calls.max_pinholes", "16384", 16, 1 << 22,
	         "Media pinholes (address . port) per queue thread; a call that finds the table full gets no media "
	         "(counted)"),
	 config::bind<&Config::max_pinholes>()},
	{integer("calls.max_tracked_sources", "8192", 16, 1 << 22,
	         "Per-source counters for call limits (LRU, evictions counted)"),
	 config::bind<&Config::max_tracked_sources>()},
	{integer("calls.max_tracked_users", "8192", 16, 1 << 22, "Per-user counters for call limits (LRU)"),
	 config::bind<&Config::max_tracked_users>()},
	{integer("calls.pinhole_timeout", "120", 10, 86400,
	         "Kernel timeout of a pinhole, refreshed every half timeout while the call lives (seconds)"),
	 config::bind<&Config::pinhole_timeout>()},
	{integer("calls.early_dialog_timeout", "300", 32, 3600,
	         "Forget an INVITE that got no final response after this (seconds)"),
	 config::bind<&Config::early_dialog_timeout>()},
	{integer("calls.call_idle_timeout", "21600", 60, 7 * 86400,
	         "A confirmed call with no signalling for this long is closed (lost BYE) (seconds)"),
	 config::bind<&Config::call_idle_timeout>()},
	{integer("calls.terminated_linger", "32", 0, 600,
	         "Remember ended dialogs this long so retransmitted BYEs are not mistaken for forged ones (seconds)"),
	 config::bind<&Config::terminated_linger>()},
	{{.name = "calls.nat_policy", .type = T::Enum, .default_value = "\"sdp+signalling\"",
	  .help = "Which source may send media: \"sdp\" (c= only), \"sdp+signalling\" (also the SIP source), "
	          "\"signalling\"",
	  .choices = "sdp|sdp+signalling|signalling", .apply = Apply::Restart},
	 config::bind_enum<&Config::nat_policy, nat_policy_from_string, to_string>()},
	{{.name = "calls.unknown_dialog", .type = T::Enum, .default_value = "\"drop\"",
	  .help = "In-dialog request for a Call-ID never seen, from an untrusted source: \"drop\" or \"accept\" "
	          "(counted either way)",
	  .choices = "drop|accept", .apply = Apply::Restart},
	 config::bind_enum<&Config::unknown_dialog, unknown_dialog_policy_from_string, to_string>()},
// A Limits struct is two rows: concurrent calls and new INVITEs per minute.
#define SG_LIMITS(scope, field, dcalls, dattempts, calls_per, attempts_per)                                  \
	Row{integer("calls.max_calls_per_" scope, dcalls, 0, 1000000,                                         \
	            "Concurrent calls per " calls_per "; 0 = unlimited"),                                     \
	    config::bind<&Config::field, &Limits::max_concurrent_calls>()},                                   \
	Row{integer("calls.max_call_attempts_per_" scope, dattempts, 0, 1000000,                              \
	            "New INVITEs per minute per " attempts_per "; 0 = unlimited"),                            \
	    config::bind<&Config::field, &Limits::max_call_attempts_per_minute>()}
	SG_LIMITS("source", per_source, "0", "0", "remote address (trunk addresses use the trunk's limit)",
	          "remote address"),
	SG_LIMITS("user", per_user, "0", "0", "authenticated user (credentials the PBX accepted)",
	          "authenticated user"),
#undef SG_LIMITS
	// Last, so that the generated file can end with [[calls.trunk]] tables.
	{{.name = "calls.trunk", .type = T::TableList, .default_value = "[]",
	  .help = "SIP trunks (ITSPs): a name, the networks of their signalling and media nodes, whether they\n"
	          "are trusted (exempt from forged/unknown-dialog checks; default true) and their call limits\n"
	          "(0 = unlimited, the default), replacing the per-source limits for their addresses. Example:\n"
	          "trunk = [{name = \"itsp\", networks = [\"203.0.113.0/28\"], max_calls = 30}]\n"
	          "(or delete this line and write [[calls.trunk]] tables at the end of the file).",
	  .max_items = 255, .apply = Apply::Restart, .sub = config::sub_rows<kTrunkFields>,
	  .incomplete = "a trunk needs a name and at least one network"},
	 config::bind_tables<&Config::trunks, kTrunkFields>()},
};

constexpr std::string_view kSection = "calls.";

} // namespace

std::span<const config::Row<Config>> rows()
{
	return kRows;
}

template <class Arg>
util::Status Parameter::Setter<Arg>::operator()(Config& c, Arg v) const
{
	config::Value value;
	if constexpr (std::is_same_v<Arg, std::string_view>)
		value = std::string(v);
	else
		value = v;
	return config::assign(*row_, c, value);
}

template class Parameter::Setter<int64_t>;
template class Parameter::Setter<std::string_view>;

std::span<const Parameter> parameters()
{
	static const std::vector<Parameter> table = [] {
		std::vector<Parameter> out;
		for (const config::Row<Config>& r : kRows) {
			std::string_view key = r.name.substr(kSection.size());
			if (r.type == T::Int)
				out.push_back({key, r.help, Parameter::Setter<int64_t>(&r), {}});
			else if (r.type == T::Enum)
				out.push_back({key, r.help, {}, Parameter::Setter<std::string_view>(&r)});
		}
		return out;
	}();
	return table;
}

const Parameter* find_parameter(std::string_view name)
{
	for (const auto& p : parameters())
		if (p.name == name)
			return &p;
	return nullptr;
}

std::optional<std::string> Config::validate() const
{
	util::Status st = config::check_all(rows(), *this);
	if (st)
		return std::nullopt;
	return st.message;
}

} // namespace sipguard::calls
