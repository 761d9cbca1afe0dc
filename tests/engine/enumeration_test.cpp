// SPDX-License-Identifier: GPL-2.0-or-later
// Enumeration by behaviour over time and across source ports (issue 18):
// the users window slides, a challenge left behind counts at once, and a
// long window per source and per prefix catches the slow ones.
#include <doctest/doctest.h>

#include "tests/engine/harness.h"

using namespace sipguard;
using namespace sipguard::test;
using detect::Detector;
using engine::Verdict;

namespace {

Req probe(const std::string& method, const std::string& user, const std::string& host, int n)
{
	Req r;
	r.method = method;
	r.ruri_user = method == "REGISTER" ? "" : user;
	r.from_user = method == "REGISTER" ? user : "1000";
	r.to_user = user;
	r.user_agent = "Yealink SIP-T46S 66.86.0.15";
	r.via_host = host;
	r.call_id = fmt::format("enum-{}-{}@{}", method, n, host);
	r.from_tag = fmt::format("e{}", n);
	r.branch = fmt::format("z9hG4bK-e{}", n);
	return r;
}

} // namespace

TEST_CASE("enumeration: the users window slides instead of restarting")
{
	// 404s at 0, 10, ..., 50 s, then at 61, 64, 67, 70 s, each from a new
	// port. A window restarted at 61 s held 4 users; sliding, it holds the 8
	// from 10 s on at 67 s.
	Harness h;
	auto attacker = ip("203.0.113.90");
	const int at_s[] = {0, 10, 20, 30, 40, 50, 61, 64, 67, 70};
	const util::TimePoint start = h.now;
	int reached = 0;
	for (int i = 0; i < 10 && !h.banned(attacker); ++i) {
		h.now = start + std::chrono::seconds(at_s[i]);
		Req r = probe("REGISTER", std::to_string(100 + i), "203.0.113.90", i);
		const auto port = static_cast<uint16_t>(40000 + i);
		if (h.in(attacker, request(r), port) == Verdict::Accept)
			++reached;
		h.out(attacker, response(r, 404), port);
	}
	CHECK(h.banned(attacker));
	CHECK(reached == 9);
	REQUIRE(h.first_finding(Detector::Enumeration));
	CHECK(h.first_finding(Detector::Enumeration)->at - start == std::chrono::seconds(67));
}
