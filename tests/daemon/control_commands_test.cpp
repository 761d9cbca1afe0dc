// SPDX-License-Identifier: GPL-2.0-or-later
// The command table and the daemon's handlers without sockets or a kernel:
// every protocol command is answered, unknown ones get the protocol's error,
// ban/bans/explain/unban steer the ban manager (through its safety rails),
// reload waits for the main loop's outcome.
#include <doctest/doctest.h>

#include <poll.h>

#include <cstdint>
#include <cstdio>
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
	auto req = control::decode_request(control::encode_request(cmd, std::move(args)));
	REQUIRE_MESSAGE(req.ok(), req.error());
	control::HandlerResult h = t.dispatch(*req, {});
	// A pending answer (reload), asked for as the control thread would.
	for (int i = 0; h.pending && i < 1000; ++i)
		if (auto line = h.pending())
			h = {*line};
		else
			std::this_thread::sleep_for(std::chrono::milliseconds(10));
	REQUIRE_FALSE(h.pending);
	auto r = control::decode_response(h.line);
	REQUIRE_MESSAGE(r.ok(), r.error());
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
	auto rm = control::decode_request("{\"cmd\":\"rm -rf\"}");
	REQUIRE_FALSE(rm.ok());
	CHECK(r.error == "unknown command \"explain\"");
	CHECK(rm.error() == "unknown command \"rm -rf\"");
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
	CHECK(again.body["ban"]["offence_count"].as_int() == 2);

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
	auto follow = control::decode_request("{\"cmd\":\"follow\"}");
	REQUIRE(follow.ok());
	CHECK(t.dispatch(*follow, {}).follow);
	auto bans = control::decode_request("{\"cmd\":\"bans\"}");
	REQUIRE(bans.ok());
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

TEST_CASE("ban: the safety rails' refusal is the error; force lifts only the minimum prefix")
{
	auto rt = test::make_runtime();
	engine::Config cfg = *rt->config()->engine();
	cfg.allowlist.push_back(*net::Cidr::parse("198.51.100.7"));
	rt->bans->reconfigure(cfg);
	rt->bans->set_own_addresses({*net::IpAddress::parse("192.0.2.10")}, daemon::wall_now());
	CommandTable t;
	daemon::add_control_commands(t, *rt);
	auto forced = [](std::string_view a, bool force) {
		auto v = addr(a);
		v.set("force", force);
		return v;
	};

	const std::pair<const char*, const char*> refused[] = {
		{"0.0.0.0/0", "refusing to ban 0.0.0.0/0: it is the whole address family (/0)"},
		{"::/0", "refusing to ban ::/0: it is the whole address family (/0)"},
		{"127.0.0.1", "refusing to ban 127.0.0.1: it covers loopback"},
		{"::ffff:127.0.0.1", "refusing to ban 127.0.0.1: it covers loopback"},
		{"169.254.0.0/16", "refusing to ban 169.254.0.0/16: it covers link-local addresses"},
		{"192.0.2.0/24", "refusing to ban 192.0.2.0/24: it covers an address of this host (192.0.2.10)"},
		{"198.51.100.0/24", "refusing to ban 198.51.100.0/24: it overlaps policy.allowlist"},
	};
	for (const auto& row : refused)
		for (bool force : {false, true}) {
			// Named copies: clang 14 cannot capture a structured binding in CAPTURE's lambda.
			const char* target = row.first;
			const char* message = row.second;
			CAPTURE(target);
			CAPTURE(force);
			auto r = ask(t, "ban", forced(target, force));
			CHECK_FALSE(r.ok);
			CHECK(r.error == message);
		}

	auto wide = ask(t, "ban", addr("10.0.0.0/8"));
	CHECK_FALSE(wide.ok);
	CHECK(wide.error ==
	      "refusing to ban 10.0.0.0/8: it is broader than the minimum prefix (minimum /16 for IPv4; --force overrides)");
	auto ok = ask(t, "ban", forced("10.0.0.0/8", true));
	REQUIRE(ok.ok);
	CHECK(ok.body["ban"]["event"].as_string() == "prefix_ban");
	CHECK(ask(t, "bans").body["bans"].as_array().size() == 1);
	auto bad = addr("45.0.0.0/8");
	bad.set("force", "yes");
	CHECK(ask(t, "ban", bad).error == "\"force\" must be true or false");
	CHECK(rt->bans->refusals().manual == 2 * std::size(refused) + 1);
}

TEST_CASE("ban: for_s is at most 100 years (36500d); past that, or not a number, it is refused")
{
	auto rt = test::make_runtime();
	CommandTable t;
	daemon::add_control_commands(t, *rt);
	constexpr int64_t kMax = 100LL * 365 * 24 * 3600;
	const std::string refused = "the duration is longer than 100 years (for_s at most 3153600000, i.e. 36500d)";
	auto at = [](std::string_view a, control::json::Value for_s) {
		auto v = addr(a);
		v.set("for_s", std::move(for_s));
		return v;
	};
	CHECK(ask(t, "ban", at("192.0.2.7", kMax + 1)).error == refused);
	CHECK(ask(t, "ban", at("192.0.2.7", INT64_MAX)).error == refused);
	// Past int64: a double, never read as 0 (the ladder's next step).
	CHECK(ask(t, "ban", at("192.0.2.7", 1e30)).error == refused);
	CHECK(ask(t, "ban", at("192.0.2.7", "600")).error == "\"for_s\" must be a number of seconds");
	CHECK(rt->bans->active_count() == 0);
	auto ok = ask(t, "ban", at("192.0.2.7", kMax));
	REQUIRE(ok.ok);
	CHECK(ok.body["ban"]["duration_s"].as_int() == kMax);
	CHECK(ask(t, "ban", at("192.0.2.8", 600)).body["ban"]["duration_s"].as_int() == 600);
}

TEST_CASE("ban, unban, explain: an IPv4-mapped address is the IPv4 one")
{
	auto rt = test::make_runtime();
	CommandTable t;
	daemon::add_control_commands(t, *rt);
	auto b = ask(t, "ban", addr("::ffff:192.0.2.5"));
	REQUIRE(b.ok);
	CHECK(b.body["ban"]["addr"].as_string() == "192.0.2.5");
	CHECK(b.body["ban"]["prefix_len"].as_int() == 32);
	CHECK(rt->bans->is_banned(*net::IpAddress::parse("192.0.2.5"), daemon::wall_now()));
	auto x = ask(t, "explain", addr("::ffff:192.0.2.5"));
	CHECK(x.body["addr"].as_string() == "192.0.2.5");
	CHECK(x.body["bans"].as_array().size() == 1);
	CHECK(ask(t, "unban", addr("::ffff:192.0.2.5")).ok);
	CHECK(ask(t, "bans").body["bans"].as_array().empty());
	auto lo = ask(t, "explain", addr("::ffff:127.0.0.1"));
	CHECK(lo.body["never_banned"].as_string() == "refusing to ban 127.0.0.1: it covers loopback");
}

TEST_CASE("ban: an operator's reason is printable and bounded like attacker text")
{
	auto rt = test::make_runtime();
	CommandTable t;
	daemon::add_control_commands(t, *rt);
	auto args = addr("45.67.89.10");
	args.set("reason", "line one\nsipguard: unban 45.67.89.10\x1b]0;owned\x07\x1b[2J");
	auto b = ask(t, "ban", args);
	REQUIRE(b.ok);
	const std::string want = "line one?sipguard: unban 45.67.89.10?]0;owned??[2J";
	CHECK(b.body["ban"]["reason"].as_string() == want);
	CHECK(ask(t, "bans").body["bans"].as_array()[0]["reason"].as_string() == want);
	// Printable UTF-8 is the operator's text and stays; a bidi override and
	// a C1 control (CSI) do not.
	auto utf8 = addr("45.67.89.12");
	utf8.set("reason", "Betrug \xc3\xbc" "ber Nacht \xe6\x94\xbb\xe6\x92\x83\xe2\x80\xae\xc2\x9b");
	auto u = ask(t, "ban", utf8);
	REQUIRE(u.ok);
	CHECK(u.body["ban"]["reason"].as_string() == "Betrug \xc3\xbc" "ber Nacht \xe6\x94\xbb\xe6\x92\x83??");
	auto long_reason = addr("45.67.89.11");
	long_reason.set("reason", std::string(engine::kMaxReasonBytes + 1, 'x'));
	CHECK(ask(t, "ban", long_reason).error == "the reason is longer than 256 bytes");
	long_reason.set("reason", std::string(engine::kMaxReasonBytes, 'x'));
	CHECK(ask(t, "ban", long_reason).ok);
}

TEST_CASE("bans lists each ban as the ban log wrote its event, plus remaining_s")
{
	auto rt = test::make_runtime();
	FILE* f = std::tmpfile();
	REQUIRE(f);
	engine::BanLog log;
	log.attach(f);
	log.set_human_stream(nullptr);
	rt->bans = std::make_unique<engine::BanManager>(*rt->config()->engine(), &log);
	CommandTable t;
	daemon::add_control_commands(t, *rt);
	auto args = addr("2001:db8:5::/64");
	args.set("for_s", 600);
	args.set("reason", "test");
	REQUIRE(ask(t, "ban", args).ok);

	std::rewind(f);
	char buf[4096] = {};
	REQUIRE(std::fgets(buf, sizeof buf, f));
	std::fclose(f);
	auto line = control::json::parse(buf);
	REQUIRE(line);
	auto listed = ask(t, "bans").body["bans"].as_array().at(0);
	const int64_t remaining = listed["remaining_s"].as_int();
	CHECK(remaining > 590);
	CHECK(remaining <= 600);
	std::vector<std::string> keys;
	for (const auto& [k, v] : listed.as_object())
		keys.push_back(k);
	CHECK(keys == std::vector<std::string>{"ts", "event", "addr", "prefix_len", "detector", "reason", "evidence",
	                                       "duration_s", "offence_count", "until", "remaining_s"});
	listed.object().pop_back();
	CHECK(listed == *line);
	CHECK(listed["event"].as_string() == "prefix_ban");
}
