// SPDX-License-Identifier: GPL-2.0-or-later
// The control commands of the toll-fraud guard: `fraud` (locks, recent
// findings, list hits, decisions, calls per country and class) and `unlock`.
#include <chrono>
#include <string>

#include <fmt/core.h>

#include "agent/daemon/control_handlers.h"
#include "agent/daemon/runtime.h"
#include "agent/detect/text.h"
#include "agent/engine/ban_log.h"
#include "agent/util/log.h"

namespace sipguard::daemon {

namespace {

namespace json = util::json;
using control::encode_error;
using control::encode_ok;
using control::HandlerResult;
using control::PeerCred;
using control::Request;

// As many events as one reply shows (the guard keeps fraud.recent_findings).
constexpr size_t kRecentShown = 50;
// Account names are digest usernames (RFC 3261 §25.1 token-ish); longer is not one.
constexpr size_t kMaxAccount = 64;

json::Value event_json(const fraud::Event& e)
{
	auto v = json::parse(e.to_json());
	return v ? std::move(*v) : json::Value(e.to_json());
}

json::Value fraud_json(const fraud::Guard& g, bool enabled, util::TimePoint now)
{
	json::Value body = json::Object{};
	body.set("enabled", enabled);
	json::Array locks;
	for (const fraud::LockInfo& l : g.locks(now)) {
		json::Value v = json::Object{};
		v.set("account", l.account);
		v.set("since", engine::format_rfc3339(l.since));
		v.set("until", engine::format_rfc3339(l.until));
		v.set("remaining_s", std::chrono::duration_cast<std::chrono::seconds>(l.until - now).count());
		v.set("step", l.step);
		v.set("stopped_calls", l.stopped_calls);
		v.set("reason", l.reason);
		locks.push_back(std::move(v));
	}
	body.set("locks", std::move(locks));
	json::Array recent;
	for (const fraud::Event& e : g.recent(kRecentShown))
		recent.push_back(event_json(e));
	body.set("recent", std::move(recent));

	const fraud::Counters c = g.counters();
	json::Array lists;
	for (const auto& [name, hits] : c.bad_list_hits) {
		json::Value v = json::Object{};
		v.set("name", name);
		v.set("hits", hits);
		lists.push_back(std::move(v));
	}
	body.set("lists", std::move(lists));
	json::Value decisions = json::Object{};
	for (size_t i = 0; i < fraud::kVerdictCount; ++i)
		decisions.set(std::string(fraud::to_string(static_cast<fraud::Verdict>(i))), c.by_verdict[i]);
	body.set("decisions", std::move(decisions));
	json::Value patterns = json::Object{};
	for (size_t i = 0; i < fraud::kPatternCount; ++i) {
		json::Value p = json::Object{};
		p.set("warn", c.pattern_warn[i]);
		p.set("critical", c.pattern_critical[i]);
		patterns.set(std::string(fraud::to_string(static_cast<fraud::Pattern>(i))), std::move(p));
	}
	body.set("patterns", std::move(patterns));
	body.set("locks_total", c.locks);
	body.set("locked_stopped", c.locked_stopped);
	body.set("live_calls", c.live_calls);
	json::Array calls;
	for (const fraud::Summary& s : c.summaries) {
		json::Value v = json::Object{};
		v.set("country", s.country);
		v.set("class", std::string(fraud::to_string(s.number_class)));
		v.set("calls", s.calls);
		v.set("seconds", s.seconds);
		calls.push_back(std::move(v));
	}
	body.set("calls", std::move(calls));
	return body;
}

HandlerResult fraud_status(Runtime& rt)
{
	const fraud::Guard* g = rt.fraud ? rt.fraud->guard() : nullptr;
	if (!g) {
		json::Value body = json::Object{};
		body.set("enabled", false);
		return {encode_ok(std::move(body))};
	}
	return {encode_ok(fraud_json(*g, rt.fraud->gate() != nullptr, wall_now()))};
}

HandlerResult unlock(Runtime& rt, const Request& req)
{
	const json::Value* a = req.args.find("account");
	if (!a || !a->is_string() || a->as_string().empty())
		return {encode_error("\"account\" must name the locked account")};
	const std::string& account = a->as_string();
	if (account.size() > kMaxAccount)
		return {encode_error(fmt::format("\"account\" is longer than {} bytes", kMaxAccount))};
	fraud::Guard* g = rt.fraud ? rt.fraud->guard() : nullptr;
	if (!g)
		return {encode_error("the fraud guard is off ([fraud] enabled = false)")};
	const std::string shown = detect::printable_text(account, kMaxAccount);
	if (!g->unlock(account))
		return {encode_error(fmt::format("account \"{}\" is not locked", shown))};
	LOG(Daemon, Info, "fraud: account \"{}\" unlocked by the operator", shown);
	rt.fraud->save();
	json::Value body = json::Object{};
	body.set("unlocked", account);
	return {encode_ok(std::move(body))};
}

} // namespace

json::Value fraud_stats_json(const fraud::Guard& g)
{
	json::Value v = json::Object{};
	v.set("locks", g.locks(wall_now()).size());
	json::Array accounts;
	for (const fraud::AccountSummary& s : g.account_summaries()) {
		json::Value a = json::Object{};
		a.set("account", s.account);
		a.set("country", s.country);
		a.set("calls", s.calls);
		a.set("seconds", s.seconds);
		accounts.push_back(std::move(a));
	}
	v.set("accounts", std::move(accounts));
	return v;
}

void add_fraud_commands(control::CommandTable& table, Runtime& rt)
{
	table.add("fraud", [&rt](const Request&, const PeerCred&) { return fraud_status(rt); });
	table.add("unlock", [&rt](const Request& r, const PeerCred&) { return unlock(rt, r); });
}

} // namespace sipguard::daemon
