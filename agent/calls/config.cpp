// SPDX-License-Identifier: GPL-2.0-or-later
// Call tracker parameter table and validation.
#include "agent/calls/config.h"

#include <array>

#include <fmt/core.h>

namespace sipguard::calls {

std::string_view to_string(NatPolicy p)
{
	switch (p) {
	case NatPolicy::Sdp: return "sdp";
	case NatPolicy::SdpAndSignalling: return "sdp+signalling";
	case NatPolicy::Signalling: return "signalling";
	}
	return "?";
}

std::optional<NatPolicy> nat_policy_from_string(std::string_view s)
{
	for (auto p : {NatPolicy::Sdp, NatPolicy::SdpAndSignalling, NatPolicy::Signalling})
		if (s == to_string(p))
			return p;
	return std::nullopt;
}

std::string_view to_string(UnknownDialogPolicy p)
{
	return p == UnknownDialogPolicy::Drop ? "drop" : "accept";
}

std::optional<UnknownDialogPolicy> unknown_dialog_policy_from_string(std::string_view s)
{
	if (s == "drop")
		return UnknownDialogPolicy::Drop;
	if (s == "accept")
		return UnknownDialogPolicy::Accept;
	return std::nullopt;
}

namespace {

#define SG_INT_PARAM(key, field, lo, hi, def, text)                                                  \
	Parameter{key, "integer", lo, hi, def, text,                                                 \
	          [](Config& c, int64_t v, std::string&) { c.field = static_cast<uint32_t>(v); return true; }, \
	          nullptr}
#define SG_SEC_PARAM(key, field, lo, hi, def, text)                                                  \
	Parameter{key, "seconds", lo, hi, def, text,                                                 \
	          [](Config& c, int64_t v, std::string&) { c.field = Config::Seconds(v); return true; },     \
	          nullptr}

const std::array kParameters = {
	SG_INT_PARAM("max_dialogs", max_dialogs, 16, 1 << 20, "4096",
	             "dialogs tracked per queue thread; the oldest ended, then early, then confirmed dialog is evicted (counted)"),
	SG_INT_PARAM("max_pinholes", max_pinholes, 16, 1 << 22, "16384",
	             "media pinholes (address . port) per queue thread; a call that finds the table full gets no media (counted)"),
	SG_INT_PARAM("max_tracked_sources", max_tracked_sources, 16, 1 << 22, "8192",
	             "per-source counters for call limits (LRU, evictions counted)"),
	SG_INT_PARAM("max_tracked_users", max_tracked_users, 16, 1 << 22, "8192",
	             "per-user counters for call limits (LRU)"),
	SG_SEC_PARAM("pinhole_timeout", pinhole_timeout, 10, 86400, "120",
	             "kernel timeout of a pinhole, refreshed every half timeout while the call lives"),
	SG_SEC_PARAM("early_dialog_timeout", early_dialog_timeout, 32, 3600, "300",
	             "forget an INVITE that got no final response after this"),
	SG_SEC_PARAM("call_idle_timeout", call_idle_timeout, 60, 7 * 86400, "21600",
	             "a confirmed call with no signalling for this long is closed (lost BYE)"),
	SG_SEC_PARAM("terminated_linger", terminated_linger, 0, 600, "32",
	             "remember ended dialogs this long so retransmitted BYEs are not mistaken for forged ones"),
	Parameter{"nat_policy", "enum", 0, 0, "sdp+signalling",
	          "which source may send media: \"sdp\" (c= only), \"sdp+signalling\" (also the SIP source), \"signalling\"",
	          nullptr,
	          [](Config& c, std::string_view v, std::string& e) {
		          auto p = nat_policy_from_string(v);
		          if (!p) {
			          e = "expected \"sdp\", \"sdp+signalling\" or \"signalling\"";
			          return false;
		          }
		          c.nat_policy = *p;
		          return true;
	          }},
	Parameter{"unknown_dialog", "enum", 0, 0, "drop",
	          "in-dialog request for a Call-ID never seen, from an untrusted source: \"drop\" or \"accept\" (counted either way)",
	          nullptr,
	          [](Config& c, std::string_view v, std::string& e) {
		          auto p = unknown_dialog_policy_from_string(v);
		          if (!p) {
			          e = "expected \"drop\" or \"accept\"";
			          return false;
		          }
		          c.unknown_dialog = *p;
		          return true;
	          }},
	SG_INT_PARAM("max_calls_per_source", per_source.max_concurrent_calls, 0, 1000000, "200",
	             "concurrent calls per remote address (trunk addresses use the trunk's limit); 0 = unlimited"),
	SG_INT_PARAM("max_call_attempts_per_source", per_source.max_call_attempts_per_minute, 0, 1000000, "600",
	             "new INVITEs per minute per remote address; 0 = unlimited"),
	SG_INT_PARAM("max_calls_per_user", per_user.max_concurrent_calls, 0, 1000000, "50",
	             "concurrent calls per authenticated user (else From user); 0 = unlimited"),
	SG_INT_PARAM("max_call_attempts_per_user", per_user.max_call_attempts_per_minute, 0, 1000000, "200",
	             "new INVITEs per minute per authenticated/From user; 0 = unlimited"),
};

#undef SG_INT_PARAM
#undef SG_SEC_PARAM

} // namespace

std::span<const Parameter> parameters()
{
	return kParameters;
}

const Parameter* find_parameter(std::string_view name)
{
	for (const auto& p : kParameters)
		if (p.name == name)
			return &p;
	return nullptr;
}

std::optional<std::string> Config::validate() const
{
	auto range = [](std::string_view key, int64_t v) -> std::optional<std::string> {
		const Parameter* p = find_parameter(key);
		if (p && (v < p->min || v > p->max))
			return fmt::format("calls.{}: {} is outside [{}, {}]", key, v, p->min, p->max);
		return std::nullopt;
	};
	for (auto [key, v] : std::initializer_list<std::pair<std::string_view, int64_t>>{
		     {"max_dialogs", max_dialogs},
		     {"max_pinholes", max_pinholes},
		     {"max_tracked_sources", max_tracked_sources},
		     {"max_tracked_users", max_tracked_users},
		     {"pinhole_timeout", pinhole_timeout.count()},
		     {"early_dialog_timeout", early_dialog_timeout.count()},
		     {"call_idle_timeout", call_idle_timeout.count()},
		     {"terminated_linger", terminated_linger.count()},
	     })
		if (auto e = range(key, v))
			return e;
	for (size_t i = 0; i < trunks.size(); ++i) {
		if (trunks[i].name.empty())
			return fmt::format("calls.trunk[{}]: name is empty", i);
		if (trunks[i].networks.empty())
			return fmt::format("calls.trunk \"{}\": no networks", trunks[i].name);
		for (size_t j = 0; j < i; ++j)
			if (trunks[j].name == trunks[i].name)
				return fmt::format("calls.trunk \"{}\": defined twice", trunks[i].name);
	}
	if (trunks.size() > 255)
		return std::string("calls.trunk: at most 255 trunks");
	return std::nullopt;
}

} // namespace sipguard::calls
