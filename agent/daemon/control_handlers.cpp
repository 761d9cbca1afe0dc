// SPDX-License-Identifier: GPL-2.0-or-later
// Control command handlers. They read and steer the ban manager and wait for
// the rules writer or the main loop where the answer must reflect the result.
#include "agent/daemon/control_handlers.h"

#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include <fmt/core.h>

#include "agent/config/duration.h"
#include "agent/daemon/apply_config.h"
#include "agent/daemon/runtime.h"
#include "agent/detect/text.h"

namespace sipguard::daemon {

namespace {

namespace json = util::json;
using control::encode_error;
using control::encode_ok;
using control::HandlerResult;
using control::PeerCred;
using control::Request;

int64_t seconds(std::chrono::nanoseconds d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); }

// An active ban as the ban log writes its event (engine::format_json), with
// remaining_s: `bans`, the first list of `bans --follow` and the ban log
// share one schema (README, "The ban log").
json::Value ban_json(const engine::BanRecord& b, util::TimePoint now)
{
	const std::string line = engine::format_json(engine::listed_ban(b, now));
	auto v = json::parse(line);
	return v ? std::move(*v) : json::Value(line);
}

json::Value history_json(const engine::OffenceHistory& history)
{
	json::Value h = json::Object{};
	h.set("target", history.target.to_string());
	h.set("count", history.count);
	h.set("last", engine::format_rfc3339(history.last));
	json::Array offences;
	for (const auto& o : history.offences) {
		json::Value ov = json::Object{};
		ov.set("at", engine::format_rfc3339(o.at));
		ov.set("detector", std::string(detect::to_string(o.detector)));
		ov.set("reason", o.reason);
		ov.set("duration_s", seconds(o.duration));
		offences.push_back(std::move(ov));
	}
	h.set("offences", std::move(offences));
	return h;
}

// The request's "addr" as an address or prefix, or the error to answer. An
// IPv4-mapped IPv6 address (::ffff:192.0.2.5) is the IPv4 one it names.
util::Result<net::Cidr> target_of(const Request& req)
{
	const std::string& text = req.args["addr"].as_string();
	auto c = net::Cidr::parse(text);
	if (!c)
		return util::Status::invalid(
			fmt::format("\"{}\" is not an address or prefix: {}", detect::printable_text(text, 64), c.error()));
	return engine::unmap_v4(*c);
}

// The request's "for_s": 0 (absent) for the next step of the ladder, else
// whole seconds up to config::kMaxDuration. This is the authority: the CLI
// checks the same bound, other clients may not.
util::Result<int64_t> ban_seconds(const Request& req)
{
	constexpr int64_t kMax = std::chrono::duration_cast<std::chrono::seconds>(config::kMaxDuration).count();
	const json::Value* v = req.args.find("for_s");
	if (!v || v->is_null())
		return int64_t{0};
	if (!v->is_number())
		return util::Status::invalid("\"for_s\" must be a number of seconds");
	// Compared as a double: a JSON number past int64 has no integer value.
	const double d = v->as_double();
	if (d < 0)
		return util::Status::invalid("the duration must be positive");
	if (d > static_cast<double>(kMax))
		return util::Status::invalid(
			fmt::format("the duration is longer than 100 years (for_s at most {}, i.e. 36500d)", kMax));
	return v->as_int();
}

HandlerResult bans(Runtime& rt, const Request& req)
{
	const util::TimePoint now = wall_now();
	json::Array list;
	for (const auto& b : rt.bans->active(now))
		list.push_back(ban_json(b, now));
	json::Value body = json::Object{};
	body.set("bans", std::move(list));
	return {encode_ok(std::move(body)), req.cmd == "follow" || req.args["follow"].as_bool()};
}

HandlerResult ban(Runtime& rt, const Request& req)
{
	auto target = target_of(req);
	if (!target)
		return {encode_error(target.error())};
	auto for_s = ban_seconds(req);
	if (!for_s)
		return {encode_error(for_s.error())};
	// Optional: clients older than the safety rails do not send it.
	const json::Value* force = req.args.find("force");
	if (force && !force->is_bool())
		return {encode_error("\"force\" must be true or false")};
	// The reason is shown by `bans`, `--follow` and the journal: printable
	// and bounded like attacker text (detect::printable).
	const std::string& raw_reason = req.args["reason"].as_string();
	if (raw_reason.size() > engine::kMaxReasonBytes)
		return {encode_error(fmt::format("the reason is longer than {} bytes", engine::kMaxReasonBytes))};
	std::string reason = detect::printable_text(raw_reason, engine::kMaxReasonBytes);
	if (reason.empty())
		reason = "manual ban";
	const util::TimePoint now = wall_now();
	engine::BanResult r =
		rt.bans->ban(*target, std::chrono::seconds(*for_s), reason, now, force && force->as_bool());
	if (r.refusal != engine::BanRefusal::None)
		return {encode_error(r.message)};
	if (r.outcome != engine::BanOutcome::Banned && r.outcome != engine::BanOutcome::AlreadyBanned)
		return {encode_error(fmt::format("{} not banned: {}", target->to_string(), engine::to_string(r.outcome)))};
	// Answer once the element is in the kernel, so scripts can rely on it.
	rt.flush_rules();
	json::Value body = json::Object{};
	body.set("outcome", std::string(engine::to_string(r.outcome)));
	if (r.ban)
		body.set("ban", ban_json(*r.ban, now));
	return {encode_ok(std::move(body))};
}

HandlerResult unban(Runtime& rt, const Request& req)
{
	auto target = target_of(req);
	if (!target)
		return {encode_error(target.error())};
	if (!rt.bans->unban(*target, wall_now()))
		return {encode_error(fmt::format("no active ban for {}", target->to_string()))};
	rt.flush_rules();
	return {encode_ok()};
}

HandlerResult explain(Runtime& rt, const Request& req)
{
	auto a = net::IpAddress::parse(req.args["addr"].as_string());
	if (!a)
		return {encode_error(fmt::format("\"{}\" is not an IPv4 or IPv6 address",
		                                 detect::printable_text(req.args["addr"].as_string(), 64)))};
	const net::IpAddress addr = engine::unmap_v4(*a);
	const util::TimePoint now = wall_now();
	engine::Explanation x = rt.bans->explain(addr, now);
	json::Value body = json::Object{};
	body.set("addr", addr.to_string());
	body.set("allowlisted", x.allowlisted);
	body.set("trusted", x.trusted);
	if (!x.never_banned.empty())
		body.set("never_banned", x.never_banned);
	json::Array list;
	for (const auto& b : x.bans) {
		// The ban's event, and its evidence as the journal line shows it.
		json::Value v = ban_json(b, now);
		v.set("evidence_text", b.evidence_text);
		list.push_back(std::move(v));
	}
	body.set("bans", std::move(list));
	if (x.history)
		body.set("history", history_json(*x.history));
	return {encode_ok(std::move(body))};
}

HandlerResult stats(Runtime& rt)
{
	json::Value body = json::Object{};
	body.set("metrics", rt.registry.scrape());
	if (rt.fraud && rt.fraud->guard())
		body.set("fraud", fraud_stats_json(*rt.fraud->guard()));
	return {encode_ok(std::move(body))};
}

// Only the main loop applies a config: queue the request and answer once it
// is done (or after 10 s), the control thread serving others meanwhile.
HandlerResult reload(Runtime& rt)
{
	auto f = std::make_shared<std::future<std::string>>(rt.reloads.request());
	const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
	HandlerResult r;
	r.pending = [&rt, f, deadline]() -> std::optional<std::string> {
		if (f->wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
			if (std::chrono::steady_clock::now() < deadline)
				return std::nullopt;
			return encode_error("the reload did not finish within 10 s; see the journal");
		}
		std::string result = f->get();
		if (!result.empty())
			return encode_error(result);
		json::Value body = json::Object{};
		body.set("config", rt.config()->source());
		return encode_ok(std::move(body));
	};
	return r;
}

// What the last check of the kernel against the ban records found.
json::Value kernel_json(const KernelHealth& h, util::TimePoint now)
{
	json::Value k = json::Object{};
	k.set("checked", h.checked);
	k.set("in_sync", h.checked && h.in_sync);
	k.set("divergent_elements", h.divergent_elements);
	k.set("last_check_s_ago", h.checked ? seconds(now - h.last_check) : int64_t{-1});
	json::Value checks = json::Object{};
	checks.set("clean", h.checks_clean);
	checks.set("repaired", h.checks_repaired);
	checks.set("failed", h.checks_failed);
	k.set("checks", std::move(checks));
	json::Value repairs = json::Object{};
	for (size_t i = 0; i < kRepairLabels.size(); ++i)
		repairs.set(std::string(rules::to_string(kRepairLabels[i])), h.repairs[i]);
	k.set("repairs", std::move(repairs));
	k.set("last_repair", h.last_repair);
	k.set("last_repair_s_ago", h.last_repair.empty() ? int64_t{-1} : seconds(now - h.last_repair_at));
	return k;
}

} // namespace

json::Value status_json(const Runtime& rt)
{
	const ConfigPtr cfg = rt.config();
	auto total = [&rt](auto read) {
		uint64_t n = 0;
		for (const auto& s : rt.shards)
			n += read(*s);
		return n;
	};
	json::Value v = json::Object{};
	v.set("version", SIPGUARD_VERSION);
	v.set("pid", static_cast<int64_t>(::getpid()));
	v.set("uptime_s", seconds(std::chrono::steady_clock::now() - rt.started));
	v.set("config", cfg->source());
	v.set("queue_backend", std::string(rt.backend == rules::QueueBackend::Native ? "native" : "compat"));
	v.set("defrag", std::string(rules::to_string(rt.defrag)));
	v.set("queues", rt.shards.size());
	// Every queue number bound, with its fail-open flag: with the pre-filter
	// the unknown range (never fail-open) and the known range.
	json::Array bound;
	for (size_t i = 0; i < rt.queues.size(); ++i) {
		const nfq::QueueConfig& qc = rt.queues.queue(i).config();
		json::Value q = json::Object{};
		q.set("queue", static_cast<uint64_t>(qc.queue_num));
		q.set("thread", static_cast<uint64_t>(rt.queues.threads() ? i % rt.queues.threads() : 0));
		q.set("fail_open", qc.fail_open);
		bound.push_back(std::move(q));
	}
	v.set("queue_list", std::move(bound));
	v.set("dry_run", cfg->daemon().dry_run);
	v.set("media_pinning", cfg->daemon().media_pinning);
	json::Value packets = json::Object{};
	packets.set("in", total([](const Shard& s) { return s.packets[0].get(); }));
	packets.set("out", total([](const Shard& s) { return s.packets[1].get(); }));
	v.set("packets", std::move(packets));
	json::Value verdicts = json::Object{};
	verdicts.set("accepted", total([](const Shard& s) { return s.accepted[0].get() + s.accepted[1].get(); }));
	verdicts.set("dropped", total([](const Shard& s) { return s.dropped[0].get() + s.dropped[1].get(); }));
	v.set("verdicts", std::move(verdicts));
	v.set("sip_messages", total([](const Shard& s) { return s.engine_counters().sip_messages; }));
	v.set("malformed", total([](const Shard& s) { return s.engine_counters().malformed; }));
	v.set("findings", total([](const Shard& s) { return s.engine_counters().findings; }));
	v.set("bans_active", rt.bans->active_count());
	v.set("bans_total", rt.counters.bans_total.load());
	v.set("pinholes", total([](const Shard& s) { return uint64_t{s.tracker().open_pinholes()}; }));
	v.set("calls", total([](const Shard& s) { return uint64_t{s.tracker().active_dialogs()}; }));
	uint64_t kdrops = 0;
	for (const auto& k : rt.kernel_queue_stats())
		kdrops += uint64_t(k.queue_dropped) + k.user_dropped;
	json::Value drops = json::Object{};
	drops.set("queue_enobufs", rt.queues.total().enobufs);
	drops.set("kernel", kdrops);
	v.set("drops", std::move(drops));
	v.set("restored_bans", rt.restored_bans);
	v.set("restore_failed", rt.restore_failed);
	v.set("restore_refused", rt.restore_refused);
	// Bans the safety rails refused since start, by the path that asked.
	const engine::RefusalCounts rc = rt.bans->refusals();
	json::Value refused = json::Object{};
	refused.set("findings", rc.findings);
	refused.set("aggregations", rc.aggregations);
	refused.set("manual", rc.manual);
	refused.set("restored", rc.restored);
	refused.set("imports", rc.imports);
	v.set("refused_bans", std::move(refused));
	v.set("restore_ms", rt.restore_ms);
	v.set("kernel", kernel_json(rt.kernel.health(), wall_now()));
	v.set("prefilter", prefilter_json(rt.prefilter_reader.read(rt), rt.prefilter, unknown_rate(*cfg)));
	return v;
}

void add_control_commands(control::CommandTable& table, Runtime& rt)
{
	auto bind = [&table](std::string_view name, auto fn) {
		table.add(name, [fn](const Request& req, const PeerCred&) { return fn(req); });
	};
	bind("status", [&rt](const Request&) { return HandlerResult{encode_ok(status_json(rt))}; });
	bind("bans", [&rt](const Request& r) { return bans(rt, r); });
	bind("follow", [&rt](const Request& r) { return bans(rt, r); });
	bind("ban", [&rt](const Request& r) { return ban(rt, r); });
	bind("unban", [&rt](const Request& r) { return unban(rt, r); });
	bind("explain", [&rt](const Request& r) { return explain(rt, r); });
	bind("stats", [&rt](const Request&) { return stats(rt); });
	bind("metrics", [&rt](const Request&) { return stats(rt); });
	bind("reload", [&rt](const Request&) { return reload(rt); });
	add_fraud_commands(table, rt);
}

} // namespace sipguard::daemon
