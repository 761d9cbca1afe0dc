// SPDX-License-Identifier: GPL-2.0-or-later
// Control protocol lines and the JSON they ride on: encode, decode, reject.
#include <doctest/doctest.h>

#include "agent/control/protocol.h"
#include "agent/util/json.h"

using namespace sipguard;
using namespace sipguard::control;

TEST_CASE("JSON values round-trip, escapes included")
{
	json::Value v = json::Object{};
	v.set("s", "quote \" backslash \\ newline \n tab \t ctl \x01");
	v.set("i", -42);
	v.set("big", int64_t{1764450000000});
	v.set("d", 0.25);
	v.set("b", true);
	v.set("n", nullptr);
	v.set("a", json::Array{1, "two", json::Array{}});
	std::string text = v.dump();
	CHECK(text.find('\n') == std::string::npos);
	auto back = json::parse(text);
	REQUIRE(back);
	CHECK(*back == v);
	CHECK((*back)["big"].as_int() == 1764450000000);
	CHECK((*back)["s"].as_string() == v["s"].as_string());
}

TEST_CASE("JSON parser rejects malformed input with an offset")
{
	for (const char* bad : {"", "{", "{\"a\":}", "[1,]", "{\"a\" 1}", "tru", "\"unterminated", "01", "{} x",
	                        "\"\\q\"", "[\"a\nb\"]"}) {
		CAPTURE(bad);
		auto r = json::parse(bad);
		REQUIRE_FALSE(r.ok());
		CHECK(r.error().find("offset") == 0);
	}
	std::string deep(1000, '[');
	CHECK_FALSE(json::parse(deep).ok());
	auto u = json::parse("\"\\u00e9\\ud83d\\ude00\"");
	REQUIRE(u);
	CHECK(u->as_string() == "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST_CASE("requests encode to one line and decode back")
{
	json::Value args = json::Object{};
	args.set("addr", "192.0.2.7/32");
	args.set("for_s", 600);
	args.set("reason", "manual: \"test\"");
	std::string line = control::encode_request("ban", args);
	CHECK(line.find('\n') == std::string::npos);
	auto req = control::decode_request(line);
	REQUIRE_MESSAGE(req.ok(), req.error());
	CHECK(req->cmd == "ban");
	CHECK(req->args["addr"].as_string() == "192.0.2.7/32");
	CHECK(req->args["for_s"].as_int() == 600);
	CHECK(req->args["reason"].as_string() == "manual: \"test\"");
}

TEST_CASE("bad requests are refused with a reason")
{
	auto reason = [](std::string_view line) {
		auto r = control::decode_request(line);
		REQUIRE_FALSE(r.ok());
		return r.error();
	};
	CHECK(reason("not json").find("malformed JSON") == 0);
	CHECK(reason("[1]").find("object") != std::string::npos);
	CHECK(reason("{\"x\":1}").find("\"cmd\"") != std::string::npos);
	CHECK(reason("{\"cmd\":\"format-disk\"}") == "unknown command \"format-disk\"");
	CHECK(reason(std::string(control::kMaxLine + 1, ' ')).find("longer than") != std::string::npos);
}

TEST_CASE("responses carry ok, an error, or a body")
{
	json::Value body = json::Object{};
	body.set("bans", json::Array{});
	auto ok = control::decode_response(control::encode_ok(body));
	REQUIRE(ok);
	CHECK(ok->ok);
	CHECK(ok->body["bans"].is_array());
	auto bad = control::decode_response(control::encode_error("no such ban: 192.0.2.9"));
	REQUIRE(bad);
	CHECK_FALSE(bad->ok);
	CHECK(bad->error == "no such ban: 192.0.2.9");
	auto no_ok = control::decode_response("{\"bans\":[]}");
	REQUIRE_FALSE(no_ok.ok());
	CHECK(no_ok.error() == "response without a boolean \"ok\"");
}
