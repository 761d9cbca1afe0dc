// SPDX-License-Identifier: GPL-2.0-or-later
// Rendering of fraud events for the ban log (JSON) and the journal (text).
#include <chrono>

#include <fmt/format.h>

#include "agent/fraud/guard.h"
#include "agent/util/json_string.h"

namespace sipguard::fraud {

namespace {

std::string_view text_of(const auto& array) { return std::string_view(array.data()); }

} // namespace

std::string Event::to_json() const
{
	std::string out = "{\"type\":\"fraud\"";
	auto field = [&](std::string_view key, std::string_view value) {
		out += fmt::format(",\"{}\":", key);
		util::append_json_string(out, value);
	};
	out += fmt::format(",\"time_ns\":{},\"seq\":{}", when.time_since_epoch().count(), seq);
	field("verdict", to_string(verdict));
	field("reason", to_string(reason));
	field("rule", text_of(rule));
	field("account", text_of(account));
	field("source", source.valid() ? source.to_string() : std::string());
	field("source_class", to_string(source_class));
	field("direction", to_string(direction));
	field("dialled", text_of(dialled));
	field("number", text_of(number));
	field("class", to_string(number_class));
	field("country_code", text_of(country_code));
	field("country", text_of(country));
	if (reason == Reason::Pattern)
		out += fmt::format(",\"level\":\"{}\",\"count\":{},\"threshold\":{}", critical ? "critical" : "warn",
		                   count, threshold);
	if (verdict == Verdict::DenyAndLock)
		out += fmt::format(",\"stopped_calls\":{},\"lock_step\":{},\"lock_seconds\":{}", stopped_calls, lock_step,
		                   std::chrono::duration_cast<std::chrono::seconds>(lock_duration).count());
	out += '}';
	return out;
}

std::string Event::to_text() const
{
	std::string out = fmt::format("fraud {} ({} {}) account={} source={} dialled=", to_string(verdict),
	                              to_string(reason), text_of(rule), text_of(account),
	                              source.valid() ? source.to_string() : std::string("-"));
	util::append_json_string(out, text_of(dialled)); // quoted: the dialled text is the caller's
	out += fmt::format(" number=+{} class={} country={}", text_of(number), to_string(number_class), text_of(country));
	if (reason == Reason::Pattern)
		out += fmt::format(" {}={}/{}", critical ? "critical" : "warn", count, threshold);
	if (verdict == Verdict::DenyAndLock)
		out += fmt::format(" lock_step={} lock={}s stopped={}", lock_step,
		                   std::chrono::duration_cast<std::chrono::seconds>(lock_duration).count(), stopped_calls);
	return out;
}

} // namespace sipguard::fraud
