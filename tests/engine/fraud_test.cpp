// SPDX-License-Identifier: GPL-2.0-or-later
// The toll-fraud guard through the engine, with real SIP text: which INVITEs
// it decides (the credentialed one, not the challenged first try; the PBX's
// INVITE to a trunk), what is dropped before the PBX or the trunk sees it,
// locks banning the phone's source, emergency calls at any hour, and calls
// summarised from their answer and BYE.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "agent/engine/fraud_gate.h"
#include "tests/engine/harness.h"

using namespace sipguard;
using engine::Verdict;

namespace {

struct Events final : engine::FraudEvents {
	std::mutex mu;
	std::vector<fraud::Event> all;
	void on_fraud(const fraud::Event& e) override
	{
		std::lock_guard lock(mu);
		all.push_back(e);
	}
};

std::string source_root()
{
	const char* root = std::getenv("SIPGUARD_SOURCE_ROOT");
	REQUIRE_MESSAGE(root, "SIPGUARD_SOURCE_ROOT is set by meson");
	return root;
}

const net::IpAddress kPhone = test::ip("198.51.100.10");
const net::IpAddress kTrunk = test::ip("203.0.113.5");

// A UK site: home country 44, national prefix 0, dial-out prefix none, the
// shipped number tables, one bad-number list, default rules allowing France.
struct FraudHarness {
	explicit FraudHarness(std::string clock_offset = "0s", std::string business_hours = "")
	{
		auto ec = std::make_shared<engine::Config>();
		ec->trunks = {*net::Cidr::parse("203.0.113.0/28")};
		h = std::make_unique<test::Harness>(ec);
		list = std::filesystem::temp_directory_path() / ("sipguard-fraud-test-" + std::to_string(::getpid()) + ".txt");
		std::ofstream(list) << "# known IRSF numbers\n+447700900123\n+3725\n";
		fraud::Config c;
		c.enabled = true;
		c.country_code = "44";
		c.data_dir = source_root() + "/data/fraud";
		c.bad_number_files = {list.string()};
		c.allow_countries = {"FR"};
		c.clock_offset = std::move(clock_offset);
		c.business_hours = std::move(business_hours);
		auto g = fraud::Guard::create(c);
		REQUIRE_MESSAGE(g.ok(), (g.ok() ? std::string() : g.error()));
		guard = std::move(*g);
		gate = std::make_unique<engine::FraudGate>(*guard, &events);
		h->engine.set_fraud(gate.get());
	}
	~FraudHarness() { std::filesystem::remove(list); }

	// The phone registers with its real password: the account is known good
	// from this source.
	void registered(const net::IpAddress& phone, const std::string& account)
	{
		test::Req reg{.from_user = account, .to_user = account, .call_id = "reg-" + account + "@phone",
		              .via_host = phone.to_string(), .branch = "z9hG4bK-reg-" + account, .credentials = true};
		CHECK(h->in(phone, test::request(reg)) == Verdict::Accept);
		CHECK(h->out(phone, test::response(reg, 200)) == Verdict::Accept);
	}

	// The phone's INVITE to `dialled`: first without credentials (the PBX
	// answers 407), then with them. Returns the second one's verdict.
	Verdict call(const net::IpAddress& phone, const std::string& account, const std::string& dialled,
	             const std::string& call_id)
	{
		const std::string tag = call_id.substr(0, call_id.find('@')); // a branch is a token: no '@'
		test::Req inv{.method = "INVITE", .ruri_user = dialled, .from_user = account, .to_user = dialled,
		              .call_id = call_id, .via_host = phone.to_string(), .branch = "z9hG4bK-a-" + tag};
		const Verdict first = h->in(phone, test::request(inv));
		CHECK(first == Verdict::Accept); // not a call yet: the PBX challenges it
		h->out(phone, test::response(inv, 407));
		inv.cseq = 2;
		inv.branch = "z9hG4bK-b-" + tag;
		inv.proxy_credentials = true;
		last = inv;
		return h->in(phone, test::request(inv));
	}

	std::unique_ptr<test::Harness> h;
	std::filesystem::path list;
	Events events;
	std::unique_ptr<fraud::Guard> guard;
	std::unique_ptr<engine::FraudGate> gate;
	test::Req last;
};

} // namespace

TEST_CASE("an authenticated INVITE to +881 is dropped before the PBX sees it, retransmissions too")
{
	FraudHarness f;
	f.registered(kPhone, "201");
	CHECK(f.call(kPhone, "201", "+881631234567", "sat-1@phone") == Verdict::Drop);
	REQUIRE(f.events.all.size() == 1);
	const fraud::Event& e = f.events.all[0];
	CHECK(e.verdict == fraud::Verdict::Deny);
	CHECK(e.reason == fraud::Reason::Policy);
	CHECK(std::string(e.rule.data()) == "default-deny-satellite");
	CHECK(e.number_class == fraud::NumberClass::Satellite);
	CHECK(std::string(e.account.data()) == "201");
	CHECK(std::string(e.dialled.data()) == "+881631234567");
	CHECK(std::string(e.number.data()) == "881631234567");
	CHECK(e.source == kPhone);
	// Over TCP the same bytes again would be judged again; over UDP the
	// retransmission is dropped by its bytes, without another decision.
	CHECK(f.h->in(kPhone, test::request(f.last)) == Verdict::Drop);
	CHECK(f.events.all.size() == 1);
	CHECK(f.h->engine.counters().fraud_decided == 1);
	CHECK_FALSE(f.h->banned(kPhone)); // a denied call alone bans nothing
}

TEST_CASE("a UK 09 premium number dialled nationally is denied; a national and a mobile number pass")
{
	FraudHarness f;
	f.registered(kPhone, "202");
	CHECK(f.call(kPhone, "202", "09098790000", "prem-1@phone") == Verdict::Drop);
	REQUIRE(f.events.all.size() == 1);
	CHECK(f.events.all[0].number_class == fraud::NumberClass::Premium);
	CHECK(std::string(f.events.all[0].number.data()) == "449098790000");
	CHECK(std::string(f.events.all[0].country.data()) == "GB");
	CHECK(f.call(kPhone, "202", "02079460000", "nat-1@phone") == Verdict::Accept);
	CHECK(f.call(kPhone, "202", "07700900456", "mob-1@phone") == Verdict::Accept);
	CHECK(f.events.all.size() == 1);
	// An allowed country passes; the account's first call there is a warning.
	CHECK(f.call(kPhone, "202", "0033142685300", "fr-1@phone") == Verdict::Accept);
	REQUIRE(f.events.all.size() == 2);
	CHECK(f.events.all[1].verdict == fraud::Verdict::Warn);
	CHECK(f.events.all[1].pattern == fraud::Pattern::NewCountriesPerDay);
	CHECK(f.h->engine.counters().fraud_decided == 4);
}

TEST_CASE("a bad-number hit locks the account and bans the phone's source; the lock stops the next call")
{
	FraudHarness f;
	f.registered(kPhone, "203");
	CHECK(f.call(kPhone, "203", "07700900123", "bad-1@phone") == Verdict::Drop);
	REQUIRE(!f.events.all.empty());
	const fraud::Event& e = f.events.all.back();
	CHECK(e.verdict == fraud::Verdict::DenyAndLock);
	CHECK(e.reason == fraud::Reason::BadNumber);
	CHECK(e.lock_step == 1);
	CHECK(f.h->banned(kPhone));
	const detect::Finding* fi = f.h->first_finding(detect::Detector::Fraud);
	REQUIRE(fi);
	CHECK(fi->source == kPhone);
	REQUIRE(f.guard->locks(f.h->now).size() == 1);
	CHECK(f.guard->locks(f.h->now)[0].account == "203");

	// The same account from another address (the attacker moved): stopped
	// by the lock, which the event says.
	const net::IpAddress other = test::ip("198.51.100.77");
	f.registered(other, "203");
	CHECK(f.call(other, "203", "02079460000", "after-lock@phone") == Verdict::Drop);
	CHECK(f.events.all.back().reason == fraud::Reason::Locked);
	CHECK(f.events.all.back().stopped_calls == 1);
	// Unlocked by the operator: it calls again.
	CHECK(f.guard->unlock("203"));
	CHECK(f.call(other, "203", "02079460000", "after-unlock@phone") == Verdict::Accept);
}

TEST_CASE("credentials for an account that never authenticated from this source: the policy applies, no lock")
{
	FraudHarness f;
	// No REGISTER from here: anyone can write username="204".
	CHECK(f.call(kPhone, "204", "07700900123", "forged-1@x") == Verdict::Drop);
	REQUIRE(f.events.all.size() == 1);
	CHECK(f.events.all[0].verdict == fraud::Verdict::Deny); // the list hit, but no account to lock
	CHECK(f.events.all[0].account[0] == '\0');
	CHECK(f.guard->locks(f.h->now).empty());
	CHECK_FALSE(f.h->banned(kPhone));
}

TEST_CASE("999 and 112 at 03:00 pass, even from a locked account")
{
	FraudHarness f("-5h", "08:00-18:00"); // the harness's clock says 08:00 UTC: 03:00, after hours
	f.registered(kPhone, "205");
	CHECK(f.call(kPhone, "205", "07700900123", "bad-2@phone") == Verdict::Drop);
	REQUIRE(f.guard->locks(f.h->now).size() == 1);
	// The phone's source is banned now; the account calls from its desk phone.
	const net::IpAddress desk = test::ip("198.51.100.20");
	f.registered(desk, "205");
	const size_t before = f.events.all.size();
	CHECK(f.call(desk, "205", "999", "emerg-999@desk") == Verdict::Accept);
	CHECK(f.call(desk, "205", "112", "emerg-112@desk") == Verdict::Accept);
	CHECK(f.events.all.size() == before);
}

TEST_CASE("the PBX's INVITE to a trunk is decided and dropped before it leaves; the trunk is never banned")
{
	FraudHarness f;
	test::Req out{.method = "INVITE", .ruri_user = "+881631234567", .domain = "itsp.example.net",
	              .from_user = "206", .to_user = "+881631234567", .call_id = "b2b-1@pbx", .via_host = "192.0.2.1",
	              .branch = "z9hG4bK-o1"};
	CHECK(f.h->out(kTrunk, test::request(out)) == Verdict::Drop);
	REQUIRE(f.events.all.size() == 1);
	CHECK(f.events.all[0].direction == fraud::CallDirection::ToTrunk);
	CHECK(std::string(f.events.all[0].account.data()) == "206"); // the From user
	// The PBX retransmits: dropped again, decided once.
	CHECK(f.h->out(kTrunk, test::request(out)) == Verdict::Drop);
	CHECK(f.h->engine.counters().fraud_decided == 1);
	CHECK_FALSE(f.h->banned(kTrunk));

	// An INVITE from the trunk (an incoming call) is not the site's to pay for.
	test::Req in{.method = "INVITE", .ruri_user = "+881631234567", .from_user = "+447700900999",
	             .to_user = "+881631234567", .call_id = "inbound-1@itsp", .via_host = "203.0.113.5",
	             .branch = "z9hG4bK-i1", .proxy_credentials = true};
	CHECK(f.h->in(kTrunk, test::request(in)) == Verdict::Accept);
	CHECK(f.h->engine.counters().fraud_decided == 1);
}

TEST_CASE("a proxied call is decided on the phone's leg only; its answer and BYE are summarised")
{
	FraudHarness f;
	f.registered(kPhone, "207");
	CHECK(f.call(kPhone, "207", "0033142685300", "prox-1@phone") == Verdict::Accept);
	// The PBX forwards it to the trunk with the same Call-ID.
	test::Req out = f.last;
	out.domain = "itsp.example.net";
	out.via_host = "192.0.2.1";
	out.branch = "z9hG4bK-fwd";
	out.proxy_credentials = false;
	CHECK(f.h->out(kTrunk, test::request(out)) == Verdict::Accept);
	CHECK(f.h->engine.counters().fraud_decided == 1);
	CHECK(f.h->engine.counters().fraud_linked == 1);
	// Answered (the PBX relays the trunk's 200 to the phone), 90 s, BYE.
	f.h->in(kTrunk, test::response(out, 200));
	f.h->out(kPhone, test::response(f.last, 200));
	f.h->advance(std::chrono::seconds(90));
	test::Req bye = f.last;
	bye.method = "BYE";
	bye.cseq = 3;
	bye.proxy_credentials = false;
	bye.branch = "z9hG4bK-bye";
	bye.extra_headers = "";
	f.h->in(kPhone, test::request(bye));
	const fraud::Counters c = f.guard->counters();
	bool found = false;
	for (const fraud::Summary& s : c.summaries)
		if (s.country == "FR" && s.number_class == fraud::NumberClass::International) {
			found = true;
			CHECK(s.calls == 1);
			CHECK(s.seconds == 90);
		}
	CHECK(found);
	CHECK(c.live_calls == 0);
}

TEST_CASE("a BYE ends a call from a party or a trunk only, not from a stranger with its Call-ID")
{
	FraudHarness f;
	f.registered(kPhone, "209");
	CHECK(f.call(kPhone, "209", "0033142685300", "bye-1@phone") == Verdict::Accept);
	f.h->out(kPhone, test::response(f.last, 200));
	REQUIRE(f.guard->counters().live_calls == 1);
	test::Req bye = f.last;
	bye.method = "BYE";
	bye.cseq = 3;
	bye.proxy_credentials = false;
	bye.branch = "z9hG4bK-bye1";
	// A stranger who learnt the Call-ID: the call stays counted.
	f.h->in(test::ip("198.51.100.99"), test::request(bye));
	CHECK(f.guard->counters().live_calls == 1);
	// The provider hangs up from another node of its trunk.
	bye.branch = "z9hG4bK-bye2";
	f.h->in(test::ip("203.0.113.9"), test::request(bye));
	CHECK(f.guard->counters().live_calls == 0);
}

TEST_CASE("dry run: a denied call is reported and passes")
{
	FraudHarness f;
	auto cfg = std::make_shared<engine::Config>(*f.h->cfg);
	cfg->dry_run = true;
	f.h->engine.set_config(cfg);
	f.registered(kPhone, "208");
	CHECK(f.call(kPhone, "208", "+881631234567", "dry-1@phone") == Verdict::Accept);
	REQUIRE(f.events.all.size() == 1);
	CHECK(f.events.all[0].verdict == fraud::Verdict::Deny);
}

TEST_CASE("a compromised extension calling +881 at 1 call/s is locked by its 15th denied call")
{
	FraudHarness f;
	f.registered(kPhone, "211");
	for (int i = 1; i <= 14; ++i) {
		CAPTURE(i);
		CHECK(f.call(kPhone, "211", "+881631234567", fmt::format("irsf-{}@phone", i)) == Verdict::Drop);
		CHECK(f.events.all.back().verdict == fraud::Verdict::Deny);
		f.h->advance(std::chrono::seconds(1));
	}
	CHECK_FALSE(f.h->banned(kPhone));
	CHECK(f.call(kPhone, "211", "+881631234567", "irsf-15@phone") == Verdict::Drop);
	const fraud::Event& e = f.events.all.back();
	CHECK(e.verdict == fraud::Verdict::DenyAndLock);
	CHECK(e.pattern == fraud::Pattern::DeniedPerHour);
	CHECK(e.count == 15);
	CHECK(f.h->banned(kPhone));
}
