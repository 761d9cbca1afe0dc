// SPDX-License-Identifier: GPL-2.0-or-later
// Unit: the pre-filter's daemon side: config to table spec, known-source refreshes rate-limited per source, the failed-open meter.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "agent/daemon/apply_config.h"
#include "agent/daemon/config.h"
#include "agent/daemon/known_sources.h"
#include "agent/daemon/prefilter_report.h"
#include "tests/engine/harness.h"
#include "tests/engine/sip_builder.h"

using namespace sipguard;
using namespace std::chrono_literals;

TEST_CASE("the derived unknown budget counts the queues that can have a core while the PBX keeps one")
{
	using daemon::derived_unknown_rate;
	constexpr uint32_t q = daemon::kUnknownRatePerQueue;
	CHECK(derived_unknown_rate(2, 2) == q);     // this project's VM: one queue's worth, not two
	CHECK(derived_unknown_rate(1, 1) == q);     // one core: still one queue's worth
	CHECK(derived_unknown_rate(4, 8) == 4 * q); // fewer queues than spare cores: each counts
	CHECK(derived_unknown_rate(8, 8) == 7 * q);
	CHECK(derived_unknown_rate(64, 2) == q);
	CHECK(derived_unknown_rate(0, 4) == q); // never zero (0 would disable the budget's meaning)
}

TEST_CASE("prefilter keys become the table's pre-filter; unknown_rate 0 is the derived default; fail_open sets "
          "only the known sources' bypass")
{
	auto r = daemon::load_config_text("[daemon]\nqueues = 3\nfail_open = false\n[prefilter]\nsource_rate = 40\n"
	                                  "source_burst = 400\nmax_known = 1000\nmeter_size = 2000\nmax_proven = 3000\n"
	                                  "proven_timeout = \"2m\"\n",
	                                  "t.toml");
	REQUIRE(r.config);
	rules::TableSpec spec = daemon::table_spec(*r.config);
	CHECK(spec.prefilter.enabled);
	CHECK_FALSE(spec.prefilter.known_bypass);
	CHECK(spec.prefilter.source_rate == 40);
	CHECK(spec.prefilter.source_burst == 400);
	const uint32_t derived = daemon::derived_unknown_rate(3, daemon::online_cpus());
	CHECK(spec.prefilter.unknown_rate == derived);
	CHECK(spec.prefilter.unknown_burst == derived / 10);
	CHECK(spec.prefilter.known_size == 1000);
	CHECK(spec.prefilter.meter_size == 2000);
	CHECK(spec.prefilter.proven_size == 3000);
	CHECK(daemon::KnownSources::proven_settings_of(*r.config).timeout == 120s);
	CHECK(daemon::KnownSources::settings_of(*r.config).timeout == 3600s);
	CHECK(spec.prefilter.meter_timeout == 11s); // burst / rate + 1 > 10 s
	CHECK(rules::validate(spec).empty());

	auto off = daemon::load_config_text("[prefilter]\nenabled = false\nunknown_rate = 7000\n", "t.toml");
	REQUIRE(off.config);
	rules::TableSpec s2 = daemon::table_spec(*off.config);
	CHECK_FALSE(s2.prefilter.enabled);
	CHECK(s2.prefilter.known_bypass); // fail_open defaults to true
	CHECK(s2.prefilter.unknown_rate == 7000);

	auto bad = daemon::load_config_text("[prefilter]\nsource_rate = 0\n", "t.toml");
	CHECK_FALSE(bad.config);
}

TEST_CASE("a known source is sent to the writer once per refresh interval, each source on its own")
{
	std::vector<std::string> sent;
	daemon::KnownSources k([&](const net::IpAddress& a, std::chrono::seconds t) {
		CHECK(t == 3600s);
		sent.push_back(a.to_string());
		return true;
	});
	daemon::KnownSources::Settings s;
	s.enabled = true;
	s.timeout = 3600s;
	s.refresh = util::Millis(60'000);
	k.configure(s);
	const util::TimePoint t0{std::chrono::seconds(1'000'000)};
	auto a = *net::IpAddress::parse("192.0.2.1");
	auto b = *net::IpAddress::parse("2001:db8::1");
	for (int i = 0; i < 100; ++i) {
		k.touch(a, t0 + std::chrono::milliseconds(i * 100));
		k.touch(b, t0 + std::chrono::milliseconds(i * 100));
	}
	CHECK(sent == std::vector<std::string>{"192.0.2.1", "2001:db8::1"});
	k.touch(a, t0 + 60s);
	CHECK(sent.size() == 3);
	CHECK(k.sent.get() == 3);

	// A full writer queue: counted, and tried again on the next packet.
	bool full = true;
	daemon::KnownSources r([&](const net::IpAddress&, std::chrono::seconds) { return !full; });
	r.configure(s);
	r.touch(a, t0);
	CHECK(r.rejected.get() == 1);
	full = false;
	r.touch(a, t0 + 1ms);
	CHECK(r.sent.get() == 1);

	// Off: nothing.
	s.enabled = false;
	k.configure(s);
	k.touch(*net::IpAddress::parse("192.0.2.9"), t0);
	CHECK(sent.size() == 3);
}

TEST_CASE("failed-open meter: packets the rules counted beyond what the queues took, across counter resets")
{
	daemon::FailedOpenMeter m;
	m.update(1000, 500); // first reading: the baseline
	CHECK(m.total() == 0);
	m.update(2000, 1500); // all 1000 taken
	CHECK(m.total() == 0);
	m.update(3000, 2200); // 300 failed open
	CHECK(m.total() == 300);
	m.update(3010, 2200); // 10 in flight, counted now ...
	CHECK(m.total() == 310);
	m.update(3010, 2210); // ... and taken later: a deficit, no double count
	CHECK(m.total() == 310);
	m.update(3060, 2250); // 50 counted, 40 taken: the deficit absorbs the 10
	CHECK(m.total() == 310);
	// The table replaced: the rules' counters start from 0 again.
	m.update(100, 2350);
	CHECK(m.total() == 310);
	m.update(200, 2400); // 50 more failed open
	CHECK(m.total() == 360);
	std::vector<nfq::KernelQueueStats> qs(2);
	qs[0].id_sequence = 10;
	qs[0].queue_dropped = 5;
	qs[1].id_sequence = 7;
	qs[1].user_dropped = 3; // already within id_sequence
	CHECK(daemon::taken_by_queues(qs) == 22);
}

TEST_CASE("the engine's known-good answer for the pre-filter: a registration answered 2xx or a peer the PBX "
          "contacts; not a challenge, not an OPTIONS answered 200, not the allowlist")
{
	auto cfg = std::make_shared<engine::Config>();
	cfg->allowlist = {*net::Cidr::parse("203.0.113.0/24")};
	test::Harness h(cfg);
	const auto phone = test::ip("198.51.100.10");
	test::Req reg;
	h.in(phone, test::request(reg));
	CHECK_FALSE(h.engine.last_source_known());
	h.out(phone, test::response(reg, 401));
	CHECK_FALSE(h.engine.last_source_known());
	reg.cseq = 2;
	reg.branch = "z9hG4bK-2";
	reg.credentials = true;
	h.in(phone, test::request(reg));
	CHECK_FALSE(h.engine.last_source_known());
	h.out(phone, test::response(reg, 200));
	CHECK(h.engine.last_source_known());
	h.in(phone, "\r\n\r\n"); // its keep-alives from now on
	CHECK(h.engine.last_source_known());

	const auto prober = test::ip("198.51.100.20");
	const test::Req opt{.method = "OPTIONS", .call_id = "probe-1", .via_host = "198.51.100.20"};
	h.in(prober, test::request(opt));
	h.out(prober, test::response(opt, 200));
	CHECK_FALSE(h.engine.last_source_known());

	const auto trunk = test::ip("198.51.100.30");
	const test::Req qualify{.method = "OPTIONS", .call_id = "qualify-1", .via_host = "192.0.2.1"};
	h.out(trunk, test::request(qualify));
	CHECK(h.engine.last_source_known());

	const auto allowed = test::ip("203.0.113.5");
	h.out(allowed, test::request(qualify));
	CHECK_FALSE(h.engine.last_source_known()); // the kernel knows it from allow4
}
