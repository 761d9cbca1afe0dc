// SPDX-License-Identifier: GPL-2.0-or-later
// The control socket protocol: one JSON object per line each way.
// Request  {"cmd":"ban","addr":"192.0.2.7/32","for_s":600,"reason":"manual","force":false}
// Response {"ok":true,...} or {"ok":false,"error":"why"}; `follow` and
// `bans --follow` keep the connection open and stream one event per line.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "agent/util/json.h"

namespace sipguard::control {

// The protocol's bodies are JSON values.
namespace json = util::json;

// A request or response line longer than this is refused: the control
// thread buffers per client and must not grow without bound.
inline constexpr size_t kMaxLine = 64 * 1024;

// The commands the protocol knows, with the request members each reads.
// A request naming anything else is refused by decode_request(); the daemon
// binds a handler to each name through a CommandTable (commands.h).
struct CommandSpec {
	std::string_view name;
	std::string_view args; // request members besides "cmd"; "?" = optional
	std::string_view help;
};
inline constexpr CommandSpec kCommands[] = {
	{"status", "", "version, uptime, queues, packet/verdict/SIP counts, bans, calls, drops"},
	{"bans", "follow?: bool", "the active bans; with follow, then one line per ban log event"},
	{"ban",
	 "addr: ADDR[/PREFIX], for_s?: seconds (0 = next ladder step, at most 3153600000 = 100 years), "
	 "reason?: text (at most 256 bytes), "
	 "force?: bool (lifts only ban.min_prefix_v4/v6)",
	 "ban now; answered once the element is in the kernel, or refused with the safety rails' message"},
	{"unban", "addr: ADDR[/PREFIX] exactly as banned", "lift a ban now"},
	{"explain", "addr: ADDR", "the bans covering an address, their evidence, its offence history"},
	{"stats", "", "the Prometheus text exposition, in \"metrics\""},
	{"follow", "", "bans with follow = true"},
	{"reload", "", "re-read the config like SIGHUP; answered with the outcome"},
	{"metrics", "", "stats"},
	{"fraud", "", "the toll-fraud guard: account locks with their time left, recent findings, bad-number list hits, "
	              "decisions and the calls that took place per country and class"},
	{"unlock", "account: text (at most 64 bytes)", "release an account locked by the toll-fraud guard"},
};

// nullptr when `name` is not one of kCommands.
const CommandSpec* find_command(std::string_view name);
// The error text for a command the protocol (or the daemon) does not know.
std::string unknown_command(std::string_view name);

struct Request {
	std::string cmd;
	json::Value args; // the whole object, `cmd` included
};

// Encodes without the trailing newline.
std::string encode_request(std::string_view cmd, json::Value args = json::Object{});
// Rejects non-objects, missing/unknown `cmd`, a member named twice, and
// over-long lines.
util::Result<Request> decode_request(std::string_view line);

std::string encode_ok(json::Value body = json::Object{});
std::string encode_error(std::string_view message);

struct Response {
	bool ok = false;
	std::string error;
	json::Value body;
};
// Rejects non-objects, a missing or non-boolean `ok`, a member named twice.
util::Result<Response> decode_response(std::string_view line);

} // namespace sipguard::control
