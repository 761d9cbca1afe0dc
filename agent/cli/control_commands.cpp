// SPDX-License-Identifier: GPL-2.0-or-later
// The operator commands that talk to a running daemon over its control
// socket: status, bans, ban, unban, explain, stats, reload, fraud, unlock.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "agent/cli/commands.h"
#include "agent/cli/status_text.h"
#include "agent/control/client.h"
#include "agent/control/stats_text.h"
#include "agent/config/duration.h"
#include "agent/detect/text.h"
#include "agent/engine/ban_manager.h"
#include "agent/net/ip_address.h"
#include "agent/util/json.h"

namespace sipguard::cli {

namespace {

namespace json = util::json;
using control::ControlClient;

struct Common {
	std::string socket;
	bool json = false;
};

std::string socket_path(const Common& c)
{
	if (!c.socket.empty())
		return c.socket;
	if (const char* env = std::getenv("SIPGUARD_SOCKET"); env && *env)
		return env;
	return std::string(control::kDefaultControlSocket);
}

void add_socket_option(CLI::App* cmd, Common& c)
{
	cmd->add_option("--socket", c.socket,
	                fmt::format("Control socket of the daemon (default $SIPGUARD_SOCKET, else {})",
	                            control::kDefaultControlSocket))
		->type_name("PATH");
}

struct Exchange {
	ControlClient client;
	control::Response response;
};

// Connects and sends one request. nullopt, with the reason printed, when the
// daemon cannot be reached or gave no usable answer (exit status 2).
std::optional<Exchange> exchange(const Common& c, std::string_view cmd, json::Value args,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10))
{
	auto client = ControlClient::connect(socket_path(c));
	if (!client) {
		fmt::print(stderr, "sipguard: {}\n", client.error());
		return std::nullopt;
	}
	auto r = client->request(control::encode_request(cmd, std::move(args)), timeout);
	if (!r) {
		fmt::print(stderr, "sipguard: {}\n", r.error());
		return std::nullopt;
	}
	return Exchange{std::move(*client), std::move(*r)};
}

// Sends one request; prints the daemon's error and returns nullopt on
// failure (the exit status is then in `exit_code`).
std::optional<json::Value> call(const Common& c, std::string_view cmd, json::Value args, int& exit_code,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10))
{
	auto x = exchange(c, cmd, std::move(args), timeout);
	if (!x) {
		exit_code = 2;
		return std::nullopt;
	}
	if (!x->response.ok) {
		fmt::print(stderr, "sipguard: {}\n", x->response.error);
		exit_code = 1;
		return std::nullopt;
	}
	return std::move(x->response.body);
}

// Prints a reply either as one JSON object without the protocol's leading
// "ok" member, or through `human`.
void print_reply(json::Value& r, bool as_json, void (*human)(const json::Value&))
{
	if (as_json) {
		r.object().erase(r.object().begin()); // drop "ok"
		fmt::print("{}\n", r.dump());
	} else {
		human(r);
	}
}

std::string remaining(int64_t s) { return config::format_duration(std::chrono::seconds(s)); }

std::string target_of(const json::Value& b)
{
	return fmt::format("{}/{}", b["addr"].as_string(), b["prefix_len"].as_int());
}

// Text from the daemon that someone else chose (a reason, evidence) goes to
// the terminal printable: a daemon older than the sanitised --reason may
// still hold raw control bytes.
std::string shown(const json::Value& v) { return detect::printable_text(v.as_string(), 4096); }

// The address or prefix an operator typed, as the daemon will take it
// (::ffff:192.0.2.5 is 192.0.2.5); a usage error when it is neither.
std::string address_argument(const std::string& text)
{
	auto c = net::Cidr::parse(text);
	if (!c)
		throw CLI::ValidationError("address",
		                           fmt::format("\"{}\" is not an address or prefix: {}", text, c.error()));
	return engine::unmap_v4(*c).to_string();
}

void print_bans_table(const json::Array& bans)
{
	if (bans.empty()) {
		fmt::print("no active bans\n");
		return;
	}
	fmt::print("{:<42} {:<14} {:>10} {:>8}  {}\n", "ADDRESS", "DETECTOR", "REMAINING", "OFFENCES", "REASON");
	for (const auto& b : bans)
		fmt::print("{:<42} {:<14} {:>10} {:>8}  {}\n", target_of(b), shown(b["detector"]),
		           remaining(b["remaining_s"].as_int()), b["offence_count"].as_int(), shown(b["reason"]));
	fmt::print("{} active ban{}\n", bans.size(), bans.size() == 1 ? "" : "s");
}

// One ban log event (the JSON line the daemon streams) for a terminal.
std::string pretty_event(const json::Value& e)
{
	std::string target = fmt::format("{}/{}", e["addr"].as_string(), e["prefix_len"].as_int());
	std::string out = fmt::format("{} {:<10} {}", e["ts"].as_string(), e["event"].as_string(), target);
	if (e["duration_s"].as_int() > 0)
		out += fmt::format(" for {}", remaining(e["duration_s"].as_int()));
	if (e["offence_count"].as_int() > 0)
		out += fmt::format(" (offence {})", e["offence_count"].as_int());
	if (!e["detector"].as_string().empty())
		out += fmt::format(": {}", shown(e["detector"]));
	if (!e["reason"].as_string().empty())
		out += fmt::format(": {}", shown(e["reason"]));
	return out;
}

int follow(const Common& c, bool as_json)
{
	json::Value args = json::Object{};
	args.set("follow", true);
	auto x = exchange(c, "bans", args);
	if (!x)
		return 2;
	const control::Response& r = x->response;
	if (!r.ok) {
		fmt::print(stderr, "sipguard: {}\n", r.error);
		return 1;
	}
	if (as_json) {
		// The active bans as their ban events (with remaining_s), then the
		// events as they come: one schema throughout.
		for (const auto& b : r.body["bans"].as_array())
			fmt::print("{}\n", b.dump());
	} else {
		print_bans_table(r.body["bans"].as_array());
		fmt::print("-- following new events (Ctrl-C to stop) --\n");
	}
	std::fflush(stdout);
	for (;;) {
		auto line = x->client.next_line(-1);
		if (!line) {
			fmt::print(stderr, "sipguard: {}\n", line.error());
			return 2;
		}
		if (!*line)
			break;
		if (as_json) {
			fmt::print("{}\n", **line);
		} else {
			auto v = json::parse(**line);
			fmt::print("{}\n", v ? pretty_event(*v) : **line);
		}
		std::fflush(stdout);
	}
	fmt::print(stderr, "sipguard: the daemon closed the connection\n");
	return 1;
}

void print_explain(const json::Value& x)
{
	fmt::print("{}:", x["addr"].as_string());
	if (x["trusted"].as_bool())
		fmt::print(" trusted peer (never banned)");
	else if (x["allowlisted"].as_bool())
		fmt::print(" allowlisted (never banned)");
	const auto& bans = x["bans"].as_array();
	if (bans.empty())
		fmt::print(" not banned\n");
	else
		fmt::print(" banned by {} rule{}\n", bans.size(), bans.size() == 1 ? "" : "s");
	if (!x["never_banned"].as_string().empty())
		fmt::print("  never banned: {}\n", shown(x["never_banned"]));
	for (const auto& b : bans) {
		fmt::print("\n  ban {} ({}{}), {} left of {}, offence {}\n", target_of(b), shown(b["detector"]),
		           b["event"].as_string() == "prefix_ban" ? ", prefix aggregation" : "",
		           remaining(b["remaining_s"].as_int()), remaining(b["duration_s"].as_int()),
		           b["offence_count"].as_int());
		fmt::print("    since {} until {}\n", b["ts"].as_string(), b["until"].as_string());
		fmt::print("    reason:   {}\n", shown(b["reason"]));
		if (!b["evidence_text"].as_string().empty())
			fmt::print("    evidence: {}\n", shown(b["evidence_text"]));
		else if (b["evidence"].is_object() && !b["evidence"].as_object().empty())
			fmt::print("    evidence: {}\n", b["evidence"].dump());
	}
	if (const json::Value* h = x.find("history")) {
		fmt::print("\n  offence history of {}: {} offence{}, last {}\n", (*h)["target"].as_string(),
		           (*h)["count"].as_int(), (*h)["count"].as_int() == 1 ? "" : "s", (*h)["last"].as_string());
		for (const auto& o : (*h)["offences"].as_array())
			fmt::print("    {}  {:<14} {:>6}  {}\n", o["at"].as_string(), shown(o["detector"]),
			           remaining(o["duration_s"].as_int()), shown(o["reason"]));
	} else {
		fmt::print("  no offence history\n");
	}
}

// The toll-fraud guard's part of `sipguard stats`: calls per account and country.
void print_fraud_stats(const json::Value& f)
{
	fmt::print("\nToll-fraud guard: {} account{} locked; answered calls per account and country:\n",
	           f["locks"].as_int(), f["locks"].as_int() == 1 ? "" : "s");
	const auto& rows = f["accounts"].as_array();
	if (rows.empty())
		fmt::print("  none yet\n");
	for (const auto& a : rows)
		fmt::print("  {:<24} {:<6} {:>8} calls {:>10.1f} min\n", shown(a["account"]),
		           a["country"].as_string().empty() ? "-" : a["country"].as_string(), a["calls"].as_int(),
		           static_cast<double>(a["seconds"].as_int()) / 60.0);
}

// `sipguard fraud`: locks, recent findings, list hits, decisions, calls.
void print_fraud(const json::Value& r)
{
	if (!r["enabled"].as_bool() && !r.find("locks")) {
		fmt::print("toll-fraud guard: off ([fraud] enabled = false)\n");
		return;
	}
	fmt::print("toll-fraud guard: {}\n", r["enabled"].as_bool() ? "on" : "off (state kept from when it was on)");
	const auto& locks = r["locks"].as_array();
	fmt::print("\nlocked accounts: {}\n", locks.size());
	if (!locks.empty())
		fmt::print("  {:<24} {:>10} {:>5} {:>8}  {}\n", "ACCOUNT", "LEFT", "STEP", "STOPPED", "REASON");
	for (const auto& l : locks)
		fmt::print("  {:<24} {:>10} {:>5} {:>8}  {}\n", shown(l["account"]), remaining(l["remaining_s"].as_int()),
		           l["step"].as_int(), l["stopped_calls"].as_int(), shown(l["reason"]));
	const auto& recent = r["recent"].as_array();
	fmt::print("\nrecent findings: {}\n", recent.size());
	for (const auto& e : recent) {
		std::string what = fmt::format("{} {} {}", e["verdict"].as_string(), e["reason"].as_string(), shown(e["rule"]));
		if (e.find("level"))
			what += fmt::format(" {} {}/{}", e["level"].as_string(), e["count"].as_int(), e["threshold"].as_int());
		fmt::print("  {}  account={} source={} dialled={} number=+{} class={} country={}\n", what,
		           shown(e["account"]), e["source"].as_string(), shown(e["dialled"]), e["number"].as_string(),
		           e["class"].as_string(), e["country"].as_string());
	}
	const auto& lists = r["lists"].as_array();
	if (!lists.empty()) {
		fmt::print("\nbad-number lists:\n");
		for (const auto& l : lists)
			fmt::print("  {:<32} {:>8} hit{}\n", shown(l["name"]), l["hits"].as_int(), l["hits"].as_int() == 1 ? "" : "s");
	}
	std::string decisions;
	for (const auto& [name, n] : r["decisions"].as_object())
		decisions += fmt::format("{}{} {}", decisions.empty() ? "" : ", ", name, n.as_int());
	fmt::print("\ndecisions: {}; locks imposed {}, calls of locked accounts stopped {}, live calls {}\n", decisions,
	           r["locks_total"].as_int(), r["locked_stopped"].as_int(), r["live_calls"].as_int());
	const auto& calls = r["calls"].as_array();
	if (!calls.empty()) {
		fmt::print("\ncalls that took place:\n  {:<8} {:<14} {:>8} {:>10}\n", "COUNTRY", "CLASS", "CALLS", "MINUTES");
		for (const auto& c : calls)
			fmt::print("  {:<8} {:<14} {:>8} {:>10.1f}\n", c["country"].as_string().empty() ? "-" : c["country"].as_string(),
			           c["class"].as_string(), c["calls"].as_int(), static_cast<double>(c["seconds"].as_int()) / 60.0);
	}
}

} // namespace

void add_control_commands(CLI::App& app, int& exit_code)
{
	const char* footer = "Talks to `sipguard run` over its control socket (root or group sipguard).\n"
	                     "Exit status: 0 ok, 1 the daemon refused (e.g. no such ban), 2 usage error or daemon "
	                     "unreachable.";

	{
		auto c = std::make_shared<Common>();
		CLI::App* cmd = app.add_subcommand("status", "Show the daemon's state: queues, packets, verdicts, bans, calls");
		add_socket_option(cmd, *c);
		cmd->add_flag("--json", c->json, "Print the status as one JSON object");
		cmd->footer(footer);
		cmd->callback([c, &exit_code] {
			if (auto s = call(*c, "status", json::Object{}, exit_code))
				print_reply(*s, c->json, print_status);
		});
	}
	{
		auto c = std::make_shared<Common>();
		auto follow_flag = std::make_shared<bool>(false);
		CLI::App* cmd = app.add_subcommand("bans", "List active bans (address, detector, remaining time, offences)");
		add_socket_option(cmd, *c);
		cmd->add_flag("--json", c->json, "One JSON object per ban (and per event with --follow)");
		cmd->add_flag("-f,--follow", *follow_flag,
		              "After the list, stream ban/unban/expiry/finding events as they happen (like tail -f of the "
		              "ban log)");
		cmd->footer(footer);
		cmd->callback([c, follow_flag, &exit_code] {
			if (*follow_flag) {
				exit_code = follow(*c, c->json);
				return;
			}
			if (auto r = call(*c, "bans", json::Object{}, exit_code)) {
				if (c->json) {
					for (const auto& b : (*r)["bans"].as_array())
						fmt::print("{}\n", b.dump());
				} else {
					print_bans_table((*r)["bans"].as_array());
				}
			}
		});
	}
	{
		auto c = std::make_shared<Common>();
		auto addr = std::make_shared<std::string>();
		auto dur = std::make_shared<std::string>();
		auto reason = std::make_shared<std::string>();
		auto force = std::make_shared<bool>(false);
		CLI::App* cmd = app.add_subcommand("ban", "Ban an address or prefix now (kernel set element with a timeout)");
		cmd->add_option("address", *addr, "ADDR or ADDR/PREFIX, IPv4 or IPv6")->required()->type_name("ADDR[/PREFIX]");
		cmd->add_option("--for", *dur,
		                "How long: 90s, 10m, 1h, 7d, 1h30m... (default: the next step of the ban ladder for this "
		                "address)")
			->type_name("DURATION");
		cmd->add_option("--reason", *reason,
		                fmt::format("Why (shown by bans/explain and in the ban log; at most {} bytes of UTF-8, "
		                            "control characters shown as ?)",
		                            engine::kMaxReasonBytes))
			->type_name("TEXT");
		cmd->add_flag("--force", *force,
		              "Allow a prefix broader than ban.min_prefix_v4/v6 (/16, /32 by default). Nothing allows /0, "
		              "loopback, link-local, multicast, this host's addresses, policy.allowlist or policy.trusted");
		add_socket_option(cmd, *c);
		cmd->footer("Talks to `sipguard run` over its control socket (root or group sipguard).\n"
		            "Exit status: 0 ok, 1 the daemon refused (the safety rails' reason on stderr, e.g. \"refusing "
		            "to ban 0.0.0.0/0: it is the whole address family (/0)\"), 2 usage error or daemon unreachable.");
		cmd->callback([=, &exit_code] {
			json::Value args = json::Object{};
			args.set("addr", address_argument(*addr));
			if (reason->size() > engine::kMaxReasonBytes)
				throw CLI::ValidationError("--reason", fmt::format("at most {} bytes", engine::kMaxReasonBytes));
			if (*force)
				args.set("force", true);
			if (!dur->empty()) {
				auto d = config::parse_duration(*dur);
				if (!d)
					throw CLI::ValidationError("--for", d.error());
				if (*d < std::chrono::seconds(1))
					throw CLI::ValidationError("--for", "the duration must be at least 1s");
				args.set("for_s", std::chrono::duration_cast<std::chrono::seconds>(*d).count());
			}
			if (!reason->empty())
				args.set("reason", *reason);
			if (auto r = call(*c, "ban", args, exit_code)) {
				const json::Value& b = (*r)["ban"];
				if ((*r)["outcome"].as_string() == "already_banned")
					fmt::print("{} is already banned ({} left)\n", target_of(b), remaining(b["remaining_s"].as_int()));
				else
					fmt::print("banned {} for {} (offence {})\n", target_of(b), remaining(b["duration_s"].as_int()),
					           b["offence_count"].as_int());
			}
		});
	}
	{
		auto c = std::make_shared<Common>();
		auto addr = std::make_shared<std::string>();
		CLI::App* cmd = app.add_subcommand("unban", "Lift a ban now (the exact address or prefix that was banned)");
		cmd->add_option("address", *addr, "ADDR or ADDR/PREFIX as listed by `sipguard bans`")
			->required()
			->type_name("ADDR[/PREFIX]");
		add_socket_option(cmd, *c);
		cmd->footer(footer);
		cmd->callback([=, &exit_code] {
			const std::string target = address_argument(*addr);
			json::Value args = json::Object{};
			args.set("addr", target);
			if (call(*c, "unban", args, exit_code))
				fmt::print("unbanned {}\n", target);
		});
	}
	{
		auto c = std::make_shared<Common>();
		auto addr = std::make_shared<std::string>();
		CLI::App* cmd = app.add_subcommand("explain", "Show why an address is banned: bans, evidence, offence history");
		cmd->add_option("address", *addr, "IPv4 or IPv6 address")->required()->type_name("ADDR");
		add_socket_option(cmd, *c);
		cmd->add_flag("--json", c->json, "Print the explanation as one JSON object");
		cmd->footer(footer);
		cmd->callback([=, &exit_code] {
			auto a = net::IpAddress::parse(*addr);
			if (!a)
				throw CLI::ValidationError("address", fmt::format("\"{}\" is not an IPv4 or IPv6 address", *addr));
			json::Value args = json::Object{};
			args.set("addr", engine::unmap_v4(*a).to_string());
			if (auto r = call(*c, "explain", args, exit_code))
				print_reply(*r, c->json, print_explain);
		});
	}
	{
		auto c = std::make_shared<Common>();
		CLI::App* cmd = app.add_subcommand(
			"fraud", "Show the toll-fraud guard: locked accounts with their time left, recent findings, bad-number "
			         "list hits, decisions, calls per country and class");
		add_socket_option(cmd, *c);
		cmd->add_flag("--json", c->json, "Print the reply as one JSON object");
		cmd->footer(footer);
		cmd->callback([c, &exit_code] {
			if (auto r = call(*c, "fraud", json::Object{}, exit_code))
				print_reply(*r, c->json, print_fraud);
		});
	}
	{
		auto c = std::make_shared<Common>();
		auto account = std::make_shared<std::string>();
		CLI::App* cmd = app.add_subcommand("unlock", "Release an account locked by the toll-fraud guard");
		cmd->add_option("account", *account, "The account (digest username) as `sipguard fraud` lists it")
			->required()
			->type_name("ACCOUNT");
		add_socket_option(cmd, *c);
		cmd->footer(footer);
		cmd->callback([c, account, &exit_code] {
			json::Value args = json::Object{};
			args.set("account", *account);
			if (call(*c, "unlock", args, exit_code))
				fmt::print("unlocked {}\n", detect::printable_text(*account, 64));
		});
	}
	{
		auto c = std::make_shared<Common>();
		auto prom = std::make_shared<bool>(false);
		CLI::App* cmd = app.add_subcommand("stats", "Show the daemon's metrics, human-readable");
		cmd->add_flag("--prometheus", *prom, "Print the Prometheus text exposition as served on the metrics socket");
		add_socket_option(cmd, *c);
		cmd->footer(footer);
		cmd->callback([=, &exit_code] {
			if (auto r = call(*c, "stats", json::Object{}, exit_code)) {
				const std::string& text = (*r)["metrics"].as_string();
				fmt::print("{}", *prom ? text : control::to_human(text));
				if (const json::Value* f = r->find("fraud"); f && !*prom)
					print_fraud_stats(*f);
			}
		});
	}
	{
		auto c = std::make_shared<Common>();
		CLI::App* cmd = app.add_subcommand(
			"reload", "Reload the config file and reopen the ban log (like SIGHUP), and report the outcome");
		add_socket_option(cmd, *c);
		cmd->footer(footer);
		cmd->callback([=, &exit_code] {
			// The daemon answers within 10 s, with a time-out error at worst.
			if (auto r = call(*c, "reload", json::Object{}, exit_code, std::chrono::seconds(15)))
				fmt::print("reloaded {}\n", (*r)["config"].as_string());
		});
	}
}

} // namespace sipguard::cli
