// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's toll-fraud guard without sockets or a kernel: [fraud] in the
// config file, calls through a shard, the ban log's fraud lines, the
// `fraud` and `unlock` commands, locks surviving a restart, bad-number files
// reloaded when they change (a broken one keeps the old list), metrics.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "agent/daemon/control_handlers.h"
#include "agent/daemon/exporter.h"
#include "tests/daemon/harness.h"
#include <fmt/core.h>

#include "tests/engine/sip_builder.h"

using namespace sipguard;
using nfq::Direction;
namespace fs = std::filesystem;

namespace {

using test::TempDir;

std::string config_text(const fs::path& dir)
{
	const char* root = std::getenv("SIPGUARD_SOURCE_ROOT");
	REQUIRE_MESSAGE(root, "SIPGUARD_SOURCE_ROOT is set by meson");
	return fmt::format("[daemon]\nstate_dir = \"{0}\"\nban_log = \"\"\n\n"
	                   "[fraud]\nenabled = true\ncountry_code = \"44\"\ndata_dir = \"{1}/data/fraud\"\n"
	                   "bad_number_files = [\"{0}/irsf.txt\"]\nallow_countries = [\"FR\"]\n\n"
	                   "[[calls.trunk]]\nname = \"itsp\"\nnetworks = [\"203.0.113.0/28\"]\n",
	                   dir.string(), root);
}

// A runtime as run_daemon builds it, from `text`, with its fraud service
// started before the shards.
std::unique_ptr<daemon::Runtime> start(const std::string& text)
{
	auto lr = daemon::load_config_text(text, "fraud.toml");
	for (const auto& e : lr.errors)
		MESSAGE(e.to_string());
	REQUIRE(lr.config);
	auto rt = std::make_unique<daemon::Runtime>();
	rt->set_config(lr.config);
	rt->ban_log = std::make_unique<engine::BanLog>();
	rt->ban_log->set_human_stream(nullptr);
	rt->bans = std::make_unique<engine::BanManager>(*lr.config->engine(), rt->ban_log.get());
	rt->fraud = std::make_unique<daemon::FraudService>(*rt);
	util::Status st = rt->fraud->start(*lr.config);
	REQUIRE_MESSAGE(st.ok(), st.message);
	rt->shards.push_back(std::make_unique<daemon::Shard>(*rt, rt->config()->calls()));
	return rt;
}

control::Response ask(const control::CommandTable& t, std::string_view cmd,
                      control::json::Value args = control::json::Object{})
{
	auto req = control::decode_request(control::encode_request(cmd, std::move(args)));
	REQUIRE_MESSAGE(req.ok(), req.error());
	auto r = control::decode_response(t.dispatch(*req, {}).line);
	REQUIRE_MESSAGE(r.ok(), r.error());
	return std::move(*r);
}

const char* kPhone = "198.51.100.10";

// REGISTER with the real password, then an INVITE challenged once and sent
// again with credentials; the second one's verdict.
nfq::Verdict call(daemon::Shard& s, const std::string& account, const std::string& dialled, const std::string& id,
                  const char* phone = kPhone)
{
	test::Req reg{.from_user = account, .to_user = account, .call_id = "reg-" + id, .via_host = phone,
	              .branch = "z9hG4bK-r" + id, .credentials = true};
	test::send_udp(s, Direction::In, phone, test::request(reg));
	test::send_udp(s, Direction::Out, phone, test::response(reg, 200));
	test::Req inv{.method = "INVITE", .ruri_user = dialled, .from_user = account, .to_user = dialled,
	              .call_id = "call-" + id, .via_host = phone, .branch = "z9hG4bK-a" + id};
	CHECK(test::send_udp(s, Direction::In, phone, test::request(inv)) == nfq::Verdict::Accept);
	test::send_udp(s, Direction::Out, phone, test::response(inv, 407));
	inv.cseq = 2;
	inv.branch = "z9hG4bK-b" + id;
	inv.proxy_credentials = true;
	return test::send_udp(s, Direction::In, phone, test::request(inv));
}

} // namespace

TEST_CASE("[fraud] keys load; calls.trunk networks reach the engine; a bad value names its key and line")
{
	TempDir dir;
	auto lr = daemon::load_config_text(config_text(dir.path), "fraud.toml");
	REQUIRE(lr.config);
	CHECK(lr.config->fraud().enabled);
	CHECK(lr.config->fraud().country_code == "44");
	REQUIRE(lr.config->engine()->trunks.size() == 1);
	CHECK(lr.config->engine()->trunks[0].to_string() == "203.0.113.0/28");
	auto bad = daemon::load_config_text("[fraud]\nenabled = true\ncountry_code = \"44\"\nbusiness_hours = \"8-25\"\n", "bad.toml");
	REQUIRE_FALSE(bad.config);
	REQUIRE_FALSE(bad.errors.empty());
	CHECK(bad.errors[0].to_string().rfind("bad.toml:4:", 0) == 0);
	CHECK(bad.errors[0].to_string().find("fraud.business_hours") != std::string::npos);
}

TEST_CASE("a bad-number call through a shard: dropped, a fraud line in the ban log, the account locked; "
          "fraud lists it, unlock releases it")
{
	TempDir dir;
	std::ofstream(dir.path / "irsf.txt") << "+447700900123\n";
	auto rt = start(config_text(dir.path));
	char* buf = nullptr;
	size_t len = 0;
	FILE* log = open_memstream(&buf, &len);
	rt->ban_log->attach(log);

	CHECK(call(*rt->shards[0], "203", "07700900123", "1") == nfq::Verdict::Drop);
	std::fflush(log);
	const std::string lines(buf, len);
	CHECK(lines.find("\"event\":\"fraud\",\"addr\":\"198.51.100.10\"") != std::string::npos);
	CHECK(lines.find("\"detector\":\"fraud\",\"reason\":\"call deny-and-lock: bad-number list") != std::string::npos);
	CHECK(lines.find("\"dialled\":\"07700900123\"") != std::string::npos);
	CHECK(lines.find("\"number\":\"447700900123\"") != std::string::npos);
	CHECK(lines.find("\"event\":\"ban\"") != std::string::npos); // the phone's source, detector fraud

	control::CommandTable t;
	daemon::add_control_commands(t, *rt);
	auto f = ask(t, "fraud");
	REQUIRE(f.ok);
	CHECK(f.body["enabled"].as_bool());
	REQUIRE(f.body["locks"].as_array().size() == 1);
	const auto& lock = f.body["locks"].as_array()[0];
	CHECK(lock["account"].as_string() == "203");
	CHECK(lock["remaining_s"].as_int() > 3500);
	CHECK(lock["step"].as_int() == 1);
	REQUIRE(f.body["lists"].as_array().size() == 1);
	CHECK(f.body["lists"].as_array()[0]["hits"].as_int() == 1);
	CHECK(f.body["recent"].as_array().size() == 1);

	control::json::Value who = control::json::Object{};
	who.set("account", "203");
	CHECK(ask(t, "unlock", who).ok);
	auto again = ask(t, "unlock", who);
	CHECK_FALSE(again.ok);
	CHECK(again.error == "account \"203\" is not locked");
	CHECK(ask(t, "fraud").body["locks"].as_array().empty());

	const std::string m = test::scrape(*rt);
	CHECK(m.find("sipguard_fraud_decisions_total{decision=\"deny-and-lock\",class=\"mobile\"} 1\n") != std::string::npos);
	CHECK(m.find("sipguard_fraud_bad_number_hits_total{list=\"irsf.txt\"} 1\n") != std::string::npos);
	CHECK(m.find("sipguard_dropped_total{cause=\"fraud\"} 1\n") != std::string::npos);
	rt->ban_log->attach(nullptr);
	std::fclose(log);
	std::free(buf);
}

TEST_CASE("locks survive a restart through the state directory")
{
	TempDir dir;
	std::ofstream(dir.path / "irsf.txt") << "+447700900123\n";
	{
		auto rt = start(config_text(dir.path));
		CHECK(call(*rt->shards[0], "209", "07700900123", "1") == nfq::Verdict::Drop);
		rt->fraud->save();
	}
	CHECK(fs::exists(dir.path / daemon::kFraudLocksFile));
	auto rt = start(config_text(dir.path));
	const auto locks = rt->fraud->guard()->locks(daemon::wall_now());
	REQUIRE(locks.size() == 1);
	CHECK(locks[0].account == "209");
}

TEST_CASE("a changed bad-number file is reloaded on the housekeeping tick; a broken one keeps the old list")
{
	TempDir dir;
	const fs::path list = dir.path / "irsf.txt";
	std::ofstream(list) << "+447700900123\n";
	auto rt = start(config_text(dir.path));
	daemon::Shard& s = *rt->shards[0];
	CHECK(call(s, "210", "07700900555", "1") == nfq::Verdict::Accept);
	std::ofstream(list) << "+447700900123\n+447700900555\n";
	rt->fraud->housekeeping();
	CHECK(call(s, "211", "07700900555", "2", "198.51.100.11") == nfq::Verdict::Drop); // locks 211, bans .11
	std::ofstream(list) << "+447700900123\nnot a number\n";
	rt->fraud->housekeeping(); // logged with file:line, the lists stay
	CHECK(call(s, "212", "07700900555", "3", "198.51.100.12") == nfq::Verdict::Drop);
}

TEST_CASE("stats carries the calls per account and country that took place")
{
	TempDir dir;
	std::ofstream(dir.path / "irsf.txt") << "+447700900123\n";
	auto rt = start(config_text(dir.path));
	daemon::Shard& s = *rt->shards[0];
	CHECK(call(s, "213", "02079460000", "n1") == nfq::Verdict::Accept);
	test::Req inv{.method = "INVITE", .ruri_user = "02079460000", .from_user = "213", .to_user = "02079460000",
	              .call_id = "call-n1", .cseq = 2, .via_host = kPhone, .branch = "z9hG4bK-bn1", .proxy_credentials = true};
	test::send_udp(s, Direction::Out, kPhone, test::response(inv, 200));
	test::Req bye = inv;
	bye.method = "BYE";
	bye.cseq = 3;
	bye.branch = "z9hG4bK-byen1";
	bye.proxy_credentials = false;
	test::send_udp(s, Direction::In, kPhone, test::request(bye));
	control::CommandTable t;
	daemon::add_control_commands(t, *rt);
	auto r = ask(t, "stats");
	REQUIRE(r.ok);
	const auto& accounts = r.body["fraud"]["accounts"].as_array();
	REQUIRE(accounts.size() == 1);
	CHECK(accounts[0]["account"].as_string() == "213");
	CHECK(accounts[0]["country"].as_string() == "GB");
	CHECK(accounts[0]["calls"].as_int() == 1);
	CHECK(test::scrape(*rt).find("sipguard_fraud_calls_total{country=\"GB\",class=\"national\"} 1\n") !=
	      std::string::npos);
}
