// SPDX-License-Identifier: GPL-2.0-or-later
// Encoding and validation of control requests and responses.
#include "agent/daemon/control_protocol.h"

#include <algorithm>

#include <fmt/core.h>

namespace sipguard::daemon::control {

std::string encode_request(std::string_view cmd, json::Value args)
{
	json::Value req = json::Object{};
	req.set("cmd", std::string(cmd));
	for (auto& [k, v] : args.object())
		if (k != "cmd")
			req.set(k, v);
	return req.dump();
}

std::optional<Request> decode_request(std::string_view line, std::string* error)
{
	auto fail = [&](std::string msg) -> std::optional<Request> {
		if (error)
			*error = std::move(msg);
		return std::nullopt;
	};
	if (line.size() > kMaxLine)
		return fail(fmt::format("request longer than {} bytes", kMaxLine));
	std::string why;
	auto v = json::parse(line, &why);
	if (!v)
		return fail("malformed JSON request: " + why);
	if (!v->is_object())
		return fail("a request must be a JSON object");
	const json::Value& cmd = (*v)["cmd"];
	if (!cmd.is_string())
		return fail("a request needs a string member \"cmd\"");
	if (std::find(std::begin(kCommands), std::end(kCommands), cmd.as_string()) == std::end(kCommands))
		return fail(fmt::format("unknown command \"{}\"", cmd.as_string()));
	return Request{cmd.as_string(), std::move(*v)};
}

std::string encode_ok(json::Value body)
{
	json::Value out = json::Object{};
	out.set("ok", true);
	for (auto& [k, v] : body.object())
		if (k != "ok")
			out.set(k, v);
	return out.dump();
}

std::string encode_error(std::string_view message)
{
	json::Value out = json::Object{};
	out.set("ok", false);
	out.set("error", std::string(message));
	return out.dump();
}

std::optional<Response> decode_response(std::string_view line, std::string* error)
{
	std::string why;
	auto v = json::parse(line, &why);
	if (!v || !v->is_object() || !(*v)["ok"].is_bool()) {
		if (error)
			*error = v ? "response without a boolean \"ok\"" : "malformed JSON response: " + why;
		return std::nullopt;
	}
	Response r;
	r.ok = (*v)["ok"].as_bool();
	r.error = (*v)["error"].as_string();
	r.body = std::move(*v);
	return r;
}

} // namespace sipguard::daemon::control
