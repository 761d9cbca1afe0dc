// SPDX-License-Identifier: GPL-2.0-or-later
// Without a kernel: the index the rules writer's jobs project follows every
// ban and unban the ban manager announces (hosts and prefixes apart).
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "tests/daemon/harness.h"

using namespace sipguard;
using namespace std::chrono_literals;

namespace {

net::Cidr cidr(const char* text) { return *net::Cidr::parse(text); }

std::vector<std::string> targets(const std::vector<rules::BanRecord>& records)
{
	std::vector<std::string> out;
	for (const auto& r : records)
		out.push_back(r.target.to_string());
	std::sort(out.begin(), out.end());
	return out;
}

} // namespace

TEST_CASE("the kernel index follows the ban manager: hosts and prefixes, bans, unbans and expiry")
{
	auto rt = test::make_runtime();
	rt->bans->set_listener(rt.get());
	const auto now = daemon::wall_now();
	rt->bans->ban(cidr("172.16.5.0/24"), 2h, "inner", now);
	rt->bans->ban(cidr("172.16.0.0/12"), 1h, "outer", now);
	rt->bans->ban(cidr("192.0.2.7"), 10min, "host", now);
	rt->bans->ban(cidr("2001:db8::/32"), 1s, "short", now);
	CHECK(targets(rt->kernel.records(false)) ==
	      std::vector<std::string>{"172.16.0.0/12", "172.16.5.0/24", "192.0.2.7", "2001:db8::/32"});
	CHECK(targets(rt->kernel.records(true)) ==
	      std::vector<std::string>{"172.16.0.0/12", "172.16.5.0/24", "2001:db8::/32"});
	for (const auto& r : rt->kernel.records(false))
		if (r.target == cidr("172.16.5.0/24"))
			CHECK(r.expires == now + 2h);

	CHECK(rt->bans->unban(cidr("172.16.0.0/12"), now));
	rt->bans->expire(now + 2s);
	CHECK(targets(rt->kernel.records(false)) == std::vector<std::string>{"172.16.5.0/24", "192.0.2.7"});
	rt->bans->set_listener(nullptr);
}
