// SPDX-License-Identifier: GPL-2.0-or-later
// The command table and the daemon's handlers without sockets or a kernel:
// every protocol command is answered, unknown ones get the protocol's error,
// ban/bans/explain/unban steer the ban manager, reload waits for the main
// loop's outcome.
#include <doctest/doctest.h>

#include <poll.h>

#include <stdexcept>
#include <thread>

#include "agent/daemon/control_handlers.h"
#include "tests/daemon/harness.h"

using namespace sipguard;
using control::CommandTable;
using control::Request;

namespace {

control::Response ask(const CommandTable& t, std::string_view cmd, control::json::Value args = control::json::Object{})
{
	std::string err;
	auto req = control::decode_request(control::encode_request(cmd, std::move(args)), &err);
	REQUIRE_MESSAGE(req, err);
	auto r = control::decode_response(t.dispatch(*req, {}).line, &err);
	REQUIRE_MESSAGE(r, err);
	return std::move(*r);
}

control::json::Value addr(std::string_view a)
{
	control::json::Value v = control::json::Object{};
	v.set("addr", std::string(a));
	return v;
}

} // namespace

TEST_CASE("the table binds protocol names only, once, and answers the rest as unknown")
{
	CommandTable t;
	CHECK_THROWS_AS(t.add("format-disk", {}), std::logic_error);
	t.add("status", [](const Request&, const control::PeerCred&) { return control::HandlerResult{control::encode_ok()}; });
	CHECK_THROWS_AS(t.add("status", {}), std::logic_error);
	CHECK(ask(t, "status").ok);
	// Known to the protocol but not bound: the same error as an unknown name.
	auto r = ask(t, "explain", addr("192.0.2.1"));
	CHECK_FALSE(r.ok);
	std::string err;
	CHECK_FALSE(control::decode_request("{\"cmd\":\"rm -rf\"}", &err));
	CHECK(r.error == "unknown command \"explain\"");
	CHECK(err == "unknown command \"rm -rf\"");
}

TEST_CASE("the daemon answers every protocol command")
{
	auto rt = test::make_runtime();
	CommandTable t;
	daemon::add_control_commands(t, *rt);
	for (const control::CommandSpec& c : control::kCommands) {
		CAPTURE(c.name);
		bool bound = false;
		for (const auto& e : t.entries())
			bound = bound || e.spec->name == c.name;
		CHECK(bound);
	}
	auto s = ask(t, "status");
	REQUIRE(s.ok);
	CHECK(s.body["version"].as_string() == SIPGUARD_VERSION);
	CHECK(s.body["bans_active"].as_int() == 0);
	CHECK(s.body["packets"]["in"].as_int() == 0);
	auto m = ask(t, "stats");
	REQUIRE(m.ok);
	CHECK(m.body["metrics"].is_string());
}

TEST_CASE("ban, bans, explain and unban go through the ban manager")
{
	auto rt = test::make_runtime();
	CommandTable t;
	daemon::add_control_commands(t, *rt);

	auto args = addr("192.0.2.66");
	args.set("for_s", 5400);
	args.set("reason", "toll fraud attempt");
	auto b = ask(t, "ban", args);
	REQUIRE(b.ok);
	CHECK(b.body["outcome"].as_string() == "banned");
	CHECK(b.body["ban"]["addr"].as_string() == "192.0.2.66");
	CHECK(b.body["ban"]["prefix_len"].as_int() == 32);
	CHECK(b.body["ban"]["duration_s"].as_int() == 5400);
	CHECK(b.body["ban"]["reason"].as_string() == "toll fraud attempt");
	// Again without a duration: the next step of the ladder, a second offence.
	auto again = ask(t, "ban", addr("192.0.2.66"));
	CHECK(again.body["outcome"].as_string() == "banned");
	CHECK(again.body["ban"]["offences"].as_int() == 2);

	auto list = ask(t, "bans");
	REQUIRE(list.body["bans"].as_array().size() == 1);
	CHECK(list.body["bans"].as_array()[0]["detector"].as_string() == "manual");
	CHECK(ask(t, "explain", addr("192.0.2.66")).body["bans"].as_array().size() == 1);
	CHECK(ask(t, "explain", addr("192.0.2.66")).body["history"]["count"].as_int() == 2);

	CHECK(ask(t, "unban", addr("192.0.2.66")).ok);
	auto none = ask(t, "unban", addr("192.0.2.66"));
	CHECK_FALSE(none.ok);
	CHECK(none.error == "no active ban for 192.0.2.66");
	CHECK(ask(t, "bans").body["bans"].as_array().empty());

	CHECK(ask(t, "ban", addr("bogus")).error == "\"bogus\" is not an address or prefix: not an IPv4 or IPv6 address");
	CHECK(ask(t, "explain", addr("192.0.2.0/24")).error == "\"192.0.2.0/24\" is not an IPv4 or IPv6 address");
	auto negative = addr("192.0.2.7");
	negative.set("for_s", -1);
	CHECK(ask(t, "ban", negative).error == "the duration must be positive");
}

TEST_CASE("follow keeps the connection; reload answers with the main loop's outcome")
{
	auto rt = test::make_runtime();
	REQUIRE(rt->reloads.open().ok());
	CommandTable t;
	daemon::add_control_commands(t, *rt);
	std::string err;
	auto follow = control::decode_request("{\"cmd\":\"follow\"}", &err);
	REQUIRE(follow);
	CHECK(t.dispatch(*follow, {}).follow);
	auto bans = control::decode_request("{\"cmd\":\"bans\"}", &err);
	CHECK_FALSE(t.dispatch(*bans, {}).follow);

	// The main loop's side: wait for the request, answer two in turn.
	std::thread loop([&rt] {
		for (const char* outcome : {"", "daemon.queues changes only at a restart"}) {
			pollfd p{rt->reloads.fd(), POLLIN, 0};
			REQUIRE(::poll(&p, 1, 5000) == 1);
			for (auto& w : rt->reloads.take())
				w.set_value(outcome);
		}
	});
	auto ok = ask(t, "reload");
	CHECK(ok.ok);
	CHECK(ok.body["config"].as_string() == rt->config()->source());
	auto refused = ask(t, "reload");
	CHECK_FALSE(refused.ok);
	CHECK(refused.error == "daemon.queues changes only at a restart");
	loop.join();
}
