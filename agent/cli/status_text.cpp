// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard status` as text, including whether the kernel holds what the ban
// records say and what the daemon repaired.
#include "agent/cli/status_text.h"

#include <chrono>
#include <string>
#include <utility>

#include <fmt/core.h>

#include "agent/config/duration.h"

namespace sipguard::cli {

namespace {

namespace json = util::json;

std::string remaining(int64_t s) { return config::format_duration(std::chrono::seconds(s)); }

// "kernel in sync" or how many ban elements differ, then what was repaired.
void print_kernel(const json::Value& k)
{
	if (!k["checked"].as_bool()) {
		fmt::print("kernel:      not checked yet\n");
		return;
	}
	const std::string ago = remaining(k["last_check_s_ago"].as_int());
	if (k["in_sync"].as_bool())
		fmt::print("kernel:      in sync with the ban records (checked {} ago)\n", ago);
	else if (int64_t n = k["divergent_elements"].as_int(); n > 0)
		fmt::print("kernel:      NOT in sync: {} ban element{} from the records (checked {} ago; see the log)\n",
		           n, n == 1 ? " differs" : "s differ", ago);
	else
		fmt::print("kernel:      NOT in sync: the last check failed ({} ago; see the log)\n", ago);
	std::string repairs;
	for (const auto& [what, n] : k["repairs"].as_object())
		if (n.as_int() > 0)
			repairs += fmt::format("{}{} {}", repairs.empty() ? "" : ", ", what, n.as_int());
	if (!repairs.empty())
		fmt::print("repairs:     {}; last {} ago: {}\n", repairs, remaining(k["last_repair_s_ago"].as_int()),
		           k["last_repair"].as_string());
}

// What the safety rails refused since start, by the path that asked.
void print_refused(const json::Value& r)
{
	static constexpr std::pair<const char*, const char*> kPaths[] = {
		{"findings", "findings"}, {"aggregations", "prefix aggregations"}, {"manual", "sipguard ban"},
		{"restored", "saved bans"}, {"imports", "imports"}};
	std::string parts;
	for (const auto& [key, label] : kPaths)
		if (int64_t n = r[key].as_int(); n > 0)
			parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", n, label);
	if (!parts.empty())
		fmt::print("refused:     {} (safety rails: never loopback, own addresses, allowlist, ...; see the log)\n",
		           parts);
}

void print_prefilter(const json::Value& p)
{
	if (!p.is_object())
		return;
	if (!p["enabled"].as_bool()) {
		fmt::print("pre-filter:  off (every SIP packet is queued; daemon.fail_open decides at a full queue)\n");
		return;
	}
	if (!p["limits"].as_bool())
		fmt::print("pre-filter:  on WITHOUT rate limits: {}\n", p["limits_missing"].as_string());
	fmt::print("pre-filter:  {} known sources, {} proven receivers; queued {} known, {} proven, {} unknown; dropped {} "
	           "over the per-source rate, {} over the unknown budget ({} pkt/s); {} failed open\n",
	           p["known_sources"].as_int(), p["proven_sources"].as_int(), p["queued"]["known"].as_int(),
	           p["queued"]["proven"].as_int(), p["queued"]["unknown"].as_int(),
	           p["drops"]["source_rate"].as_int(), p["drops"]["unknown_budget"].as_int(), p["unknown_rate"].as_int(),
	           p["failed_open"].as_int());
}

} // namespace

void print_status(const json::Value& s)
{
	fmt::print("sipguard {} (pid {}), up {}, config {}\n", s["version"].as_string(), s["pid"].as_int(),
	           remaining(s["uptime_s"].as_int()), s["config"].as_string());
	fmt::print("queues:      {} (backend {}){}{}\n", s["queues"].as_int(), s["queue_backend"].as_string(),
	           s["dry_run"].as_bool() ? ", DRY RUN" : "", s["media_pinning"].as_bool() ? ", media pinning on" : "");
	if (const json::Array& bound = s["queue_list"].as_array(); !bound.empty()) {
		// With the pre-filter: the unknown range never fails open, the known one may.
		std::string open, closed;
		for (const json::Value& q : bound) {
			std::string& to = q["fail_open"].as_bool() ? open : closed;
			if (!to.empty())
				to += ',';
			to += std::to_string(q["queue"].as_int());
		}
		fmt::print("queue nums:  fail open at a full queue: {}; never: {}\n", open.empty() ? "none" : open,
		           closed.empty() ? "none" : closed);
	}
	if (!s["defrag"].as_string().empty())
		fmt::print("reassembly:  {}\n", s["defrag"].as_string() == "none"
		                                    ? std::string("none (first fragments of unknown sources are dropped)")
		                                    : "kernel, via " + s["defrag"].as_string());
	fmt::print("packets:     {} in, {} out\n", s["packets"]["in"].as_int(), s["packets"]["out"].as_int());
	fmt::print("verdicts:    {} accepted, {} dropped\n", s["verdicts"]["accepted"].as_int(),
	           s["verdicts"]["dropped"].as_int());
	fmt::print("SIP:         {} messages, {} malformed, {} findings\n", s["sip_messages"].as_int(),
	           s["malformed"].as_int(), s["findings"].as_int());
	const int64_t restore_refused = s["restore_refused"].as_int();
	fmt::print("bans:        {} active, {} since start ({} restored at start, {} failed, {}in {:.1f} ms)\n",
	           s["bans_active"].as_int(), s["bans_total"].as_int(), s["restored_bans"].as_int(),
	           s["restore_failed"].as_int(),
	           restore_refused ? fmt::format("{} refused by the safety rails, ", restore_refused) : std::string(),
	           s["restore_ms"].as_double());
	print_refused(s["refused_bans"]);
	print_kernel(s["kernel"]);
	fmt::print("calls:       {} active, {} media pinholes\n", s["calls"].as_int(), s["pinholes"].as_int());
	fmt::print("drops:       {} in the kernel queue, {} socket overruns (ENOBUFS)\n", s["drops"]["kernel"].as_int(),
	           s["drops"]["queue_enobufs"].as_int());
	print_prefilter(s["prefilter"]);
}

} // namespace sipguard::cli
