// SPDX-License-Identifier: GPL-2.0-or-later
// Encoding and validation of control requests and responses.
#include "agent/control/protocol.h"

#include <algorithm>
#include <vector>

#include <fmt/core.h>

namespace sipguard::control {

namespace {

// The first member name `v` repeats, or nullopt. JSON readers disagree on a
// repeated name (ours finds the first, Python's json keeps the last), so a
// script could check one "addr" while the daemon bans the other; RFC 8259 §4
// says names SHOULD be unique and the protocol makes that a MUST. Sorted
// views, not pairwise compares: a 64 KiB line holds ~10000 members.
std::optional<std::string_view> repeated_member(const json::Value& v)
{
	std::vector<std::string_view> names;
	names.reserve(v.as_object().size());
	for (const auto& [k, m] : v.as_object())
		names.push_back(k);
	std::sort(names.begin(), names.end());
	auto it = std::adjacent_find(names.begin(), names.end());
	if (it == names.end())
		return std::nullopt;
	return *it;
}

} // namespace

const CommandSpec* find_command(std::string_view name)
{
	for (const CommandSpec& c : kCommands)
		if (c.name == name)
			return &c;
	return nullptr;
}

std::string unknown_command(std::string_view name) { return fmt::format("unknown command \"{}\"", name); }

std::string encode_request(std::string_view cmd, json::Value args)
{
	json::Value req = json::Object{};
	req.set("cmd", std::string(cmd));
	for (auto& [k, v] : args.object())
		if (k != "cmd")
			req.set(k, v);
	return req.dump();
}

util::Result<Request> decode_request(std::string_view line)
{
	auto fail = [](std::string msg) { return util::Status::invalid(std::move(msg)); };
	if (line.size() > kMaxLine)
		return fail(fmt::format("request longer than {} bytes", kMaxLine));
	auto v = json::parse(line);
	if (!v)
		return fail("malformed JSON request: " + v.error());
	if (!v->is_object())
		return fail("a request must be a JSON object");
	if (auto name = repeated_member(*v))
		return fail(fmt::format("a request must not repeat a member (\"{}\")", *name));
	const json::Value& cmd = (*v)["cmd"];
	if (!cmd.is_string())
		return fail("a request needs a string member \"cmd\"");
	if (!find_command(cmd.as_string()))
		return fail(unknown_command(cmd.as_string()));
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

util::Result<Response> decode_response(std::string_view line)
{
	auto v = json::parse(line);
	if (!v)
		return util::Status::invalid("malformed JSON response: " + v.error());
	if (!v->is_object() || !(*v)["ok"].is_bool())
		return util::Status::invalid("response without a boolean \"ok\"");
	if (auto name = repeated_member(*v))
		return util::Status::invalid(fmt::format("response repeats the member \"{}\"", *name));
	Response r;
	r.ok = (*v)["ok"].as_bool();
	r.error = (*v)["error"].as_string();
	r.body = std::move(*v);
	return r;
}

} // namespace sipguard::control
