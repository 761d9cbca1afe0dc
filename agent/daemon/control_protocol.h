// SPDX-License-Identifier: GPL-2.0-or-later
// The control socket protocol: one JSON object per line each way.
// Request  {"cmd":"ban","addr":"192.0.2.7/32","for_s":600,"reason":"manual"}
// Response {"ok":true,...} or {"ok":false,"error":"why"}; `follow` and
// `bans --follow` keep the connection open and stream one event per line.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "agent/util/json.h"

namespace sipguard::daemon {
namespace json = util::json;
}

namespace sipguard::daemon::control {

// A request or response line longer than this is refused: the control
// thread buffers per client and must not grow without bound.
inline constexpr size_t kMaxLine = 64 * 1024;

inline constexpr std::string_view kCommands[] = {"status", "bans", "ban", "unban", "explain",
                                                 "stats", "follow", "reload", "metrics"};

struct Request {
	std::string cmd;
	json::Value args; // the whole object, `cmd` included
};

// Encodes without the trailing newline.
std::string encode_request(std::string_view cmd, json::Value args = json::Object{});
// Rejects non-objects, missing/unknown `cmd`, and over-long lines.
std::optional<Request> decode_request(std::string_view line, std::string* error);

std::string encode_ok(json::Value body = json::Object{});
std::string encode_error(std::string_view message);

struct Response {
	bool ok = false;
	std::string error;
	json::Value body;
};
std::optional<Response> decode_response(std::string_view line, std::string* error);

} // namespace sipguard::daemon::control
