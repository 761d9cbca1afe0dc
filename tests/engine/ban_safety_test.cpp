// SPDX-License-Identifier: GPL-2.0-or-later
// The ban safety rails: every refused class, the minimum prefix with and
// without force, and IPv4-mapped IPv6 normalisation.
#include <doctest/doctest.h>

#include "agent/engine/ban_safety.h"

using namespace sipguard;
using engine::BanRefusal;

namespace {

net::Cidr C(std::string_view s)
{
	auto c = net::Cidr::parse(s);
	REQUIRE(c);
	return *c;
}

net::IpAddress A(std::string_view s)
{
	auto a = net::IpAddress::parse(s);
	REQUIRE(a);
	return *a;
}

engine::BanSafety office()
{
	engine::BanSafety s;
	s.allowlist = {C("198.51.100.0/28")};
	s.trusted = {C("203.0.113.7"), C("2001:db8:77::/48")};
	s.own_addresses = {A("192.0.2.10"), A("2001:db8:1::10")};
	return s;
}

} // namespace

TEST_CASE("an ordinary attacker host or /24 may be banned")
{
	const auto s = office();
	CHECK(s.check(C("45.67.89.10")) == BanRefusal::None);
	CHECK(s.check(C("45.67.89.0/24")) == BanRefusal::None);
	CHECK(s.check(C("2a01:4f8::/64")) == BanRefusal::None);
	CHECK(s.explain(C("45.67.89.10")).empty());
}

TEST_CASE("the whole address family is refused even with force")
{
	const auto s = office();
	CHECK(s.check(C("0.0.0.0/0")) == BanRefusal::WholeInternet);
	CHECK(s.check(C("::/0")) == BanRefusal::WholeInternet);
	CHECK(s.check(C("0.0.0.0/0"), true) == BanRefusal::WholeInternet);
	CHECK(s.check(C("::/0"), true) == BanRefusal::WholeInternet);
}

TEST_CASE("prefixes broader than the minimum need force")
{
	auto s = office();
	CHECK(s.check(C("45.0.0.0/8")) == BanRefusal::TooBroad);
	CHECK(s.check(C("45.0.0.0/8"), true) == BanRefusal::None);
	CHECK(s.check(C("45.67.0.0/16")) == BanRefusal::None); // the default minimum is /16
	CHECK(s.check(C("45.66.0.0/15")) == BanRefusal::TooBroad);
	CHECK(s.check(C("2a01::/31")) == BanRefusal::TooBroad);
	CHECK(s.check(C("2a01::/32")) == BanRefusal::None);
	s.min_prefix_v4 = 24;
	CHECK(s.check(C("45.67.0.0/16")) == BanRefusal::TooBroad);
	CHECK(s.explain(C("45.0.0.0/8")) ==
	      "refusing to ban 45.0.0.0/8: it is broader than the minimum prefix (minimum /24 for IPv4; --force overrides)");
}

TEST_CASE("reserved ranges are refused even with force")
{
	const auto s = office();
	CHECK(s.check(C("127.0.0.1"), true) == BanRefusal::Loopback);
	CHECK(s.check(C("127.0.0.0/8"), true) == BanRefusal::Loopback);
	CHECK(s.check(C("::1"), true) == BanRefusal::Loopback);
	CHECK(s.check(C("169.254.3.4"), true) == BanRefusal::LinkLocal);
	CHECK(s.check(C("fe80::1"), true) == BanRefusal::LinkLocal);
	CHECK(s.check(C("239.1.2.3"), true) == BanRefusal::Multicast);
	CHECK(s.check(C("ff02::1"), true) == BanRefusal::Multicast);
	CHECK(s.check(C("0.0.0.0"), true) == BanRefusal::Unspecified);
	CHECK(s.check(C("::"), true) == BanRefusal::Unspecified);
	// A broad prefix that contains a reserved block is refused for it too.
	CHECK(s.check(C("96.0.0.0/3"), true) == BanRefusal::Loopback);
}

TEST_CASE("the host's own addresses are refused, and a prefix covering one")
{
	const auto s = office();
	CHECK(s.check(C("192.0.2.10"), true) == BanRefusal::OwnAddress);
	CHECK(s.check(C("192.0.2.0/24"), true) == BanRefusal::OwnAddress);
	CHECK(s.check(C("2001:db8:1::/48"), true) == BanRefusal::OwnAddress);
	CHECK(s.check(C("192.0.2.11")) == BanRefusal::None);
	CHECK(s.explain(C("192.0.2.0/24")) == "refusing to ban 192.0.2.0/24: it covers an address of this host (192.0.2.10)");
}

TEST_CASE("allowlisted and trusted networks are refused in both directions of overlap")
{
	const auto s = office();
	CHECK(s.check(C("198.51.100.3")) == BanRefusal::Allowlisted);        // inside
	CHECK(s.check(C("198.51.100.0/24")) == BanRefusal::Allowlisted);     // covering
	CHECK(s.check(C("198.51.100.16/28")) == BanRefusal::None);           // beside
	CHECK(s.check(C("203.0.113.0/24")) == BanRefusal::Trusted);
	CHECK(s.check(C("2001:db8:77:5::/64")) == BanRefusal::Trusted);
	CHECK(s.check(C("2001:db8::/32")) == BanRefusal::OwnAddress); // covers own before trusted
}

TEST_CASE("IPv4-mapped IPv6 is judged and reported as the IPv4 it is")
{
	const auto s = office();
	CHECK(engine::unmap_v4(A("::ffff:192.0.2.5")) == A("192.0.2.5"));
	CHECK(engine::unmap_v4(A("2001:db8::5")) == A("2001:db8::5"));
	CHECK(engine::unmap_v4(C("::ffff:192.0.2.0/120")) == C("192.0.2.0/24"));
	CHECK(engine::unmap_v4(C("::ffff:0:0/96")) == C("0.0.0.0/0"));
	CHECK(s.check(C("::ffff:127.0.0.1"), true) == BanRefusal::Loopback);
	CHECK(s.check(C("::ffff:192.0.2.10"), true) == BanRefusal::OwnAddress);
	CHECK(s.check(C("::ffff:0:0/96"), true) == BanRefusal::WholeInternet);
	CHECK(s.explain(C("::ffff:198.51.100.1")) == "refusing to ban 198.51.100.1: it overlaps policy.allowlist");
}

TEST_CASE("overlaps is symmetric and family-aware")
{
	CHECK(engine::overlaps(C("10.0.0.0/8"), C("10.1.2.0/24")));
	CHECK(engine::overlaps(C("10.1.2.0/24"), C("10.0.0.0/8")));
	CHECK_FALSE(engine::overlaps(C("10.0.0.0/8"), C("11.0.0.0/8")));
	CHECK_FALSE(engine::overlaps(C("10.0.0.0/8"), C("::/0")));
}
