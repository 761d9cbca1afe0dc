// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard replay` with the toll-fraud guard: a capture of a phone calling
// +881 and a national number gives one fraud event (JSON and text) and the
// drop, so a policy can be tried on a capture before it is switched on.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <doctest/doctest.h>

#include "tests/engine/sip_builder.h"
#include "tools/replay/pcap_writer.h"
#include "tools/replay/replay.h"

using namespace sipguard;
using namespace sipguard::test;
namespace fs = std::filesystem;

TEST_CASE("replay: the fraud layer runs over a capture and prints fraud events")
{
	const char* root = std::getenv("SIPGUARD_SOURCE_ROOT");
	REQUIRE_MESSAGE(root, "SIPGUARD_SOURCE_ROOT is set by meson");
	char tmpl[] = "/tmp/sg-fraud-replay-XXXXXX";
	const fs::path dir = mkdtemp(tmpl);
	const std::string path = (dir / "calls.pcap").string();
	{
		replay::PcapWriter w;
		REQUIRE(w.open(path, replay::PcapWriter::Link::Raw).ok());
		const auto pbx = *net::IpAddress::parse("192.0.2.1");
		const auto phone = *net::IpAddress::parse("198.51.100.10");
		util::TimePoint t{std::chrono::seconds(1'800'000'000)};
		auto both = [&](const Req& r, int status) {
			w.udp(t, phone, 5060, pbx, 5060, request(r));
			t += std::chrono::milliseconds(20);
			w.udp(t, pbx, 5060, phone, 5060, response(r, status));
			t += std::chrono::milliseconds(20);
		};
		both(Req{.from_user = "201", .to_user = "201", .call_id = "reg@phone", .branch = "z9hG4bK-r", .credentials = true},
		     200);
		for (const char* number : {"+881631234567", "02079460000"}) {
			Req inv{.method = "INVITE", .ruri_user = number, .from_user = "201", .to_user = number,
			        .call_id = std::string("call-") + number + "@phone", .branch = std::string("z9hG4bK-a") + number};
			both(inv, 407);
			inv.cseq = 2;
			inv.branch += "b";
			inv.proxy_credentials = true;
			w.udp(t, phone, 5060, pbx, 5060, request(inv));
			t += std::chrono::seconds(1);
		}
		REQUIRE(w.close());
	}
	replay::Options o;
	o.local = {*net::IpAddress::parse("192.0.2.1")};
	auto fc = std::make_shared<fraud::Config>();
	fc->enabled = true;
	fc->country_code = "44";
	fc->data_dir = std::string(root) + "/data/fraud";
	o.fraud_config = fc;
	const replay::Result r = replay::run(path, o);
	fs::remove_all(dir);
	REQUIRE(r.ok);
	size_t fraud_events = 0;
	const replay::Event* ev = nullptr;
	for (const auto& e : r.events)
		if (e.kind == replay::Event::Kind::Fraud) {
			++fraud_events;
			ev = &e;
		}
	CHECK(fraud_events == 1);
	REQUIRE(ev);
	CHECK(ev->outcome == "deny");
	const std::string j = replay::format_event(*ev, true);
	CHECK(j.rfind("{\"event\":\"fraud\",", 0) == 0);
	CHECK(j.find("\"addr\":\"198.51.100.10\"") != std::string::npos);
	CHECK(j.find("\"rule\":\"default-deny-satellite\"") != std::string::npos);
	CHECK(j.find("\"dialled\":\"+881631234567\"") != std::string::npos);
	CHECK(replay::format_event(*ev, false).find("call deny: rule default-deny-satellite") != std::string::npos);
	CHECK(r.summary.engine.fraud_decided == 2);
	CHECK(r.summary.engine.fraud_dropped == 1);
}
