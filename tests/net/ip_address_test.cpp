// SPDX-License-Identifier: GPL-2.0-or-later
// IpAddress and Cidr: parsing, masking, containment, formatting.
#include <doctest/doctest.h>

#include "agent/net/ip_address.h"

using sipguard::net::Cidr;
using sipguard::net::IpAddress;

TEST_CASE("IPv4 and IPv6 addresses parse and format back")
{
	auto a = IpAddress::parse("192.0.2.17");
	REQUIRE(a);
	CHECK(a->is_v4());
	CHECK(a->to_string() == "192.0.2.17");
	auto b = IpAddress::parse("[2001:DB8::1]");
	REQUIRE(b);
	CHECK(b->is_v6());
	CHECK(b->to_string() == "2001:db8::1");
	CHECK_FALSE(IpAddress::parse("192.0.2"));
	CHECK_FALSE(IpAddress::parse("192.0.2.256"));
	CHECK_FALSE(IpAddress::parse(""));
	CHECK_FALSE(IpAddress::parse("2001:db8::1::2"));
	CHECK(IpAddress::parse("0.0.0.0")->is_unspecified());
	CHECK(IpAddress::parse("::")->is_unspecified());
	CHECK_FALSE(a->is_unspecified());
}

TEST_CASE("Cidr parsing rejects host bits and bad lengths")
{
	auto c = Cidr::parse("198.51.100.0/24");
	REQUIRE(c);
	CHECK(c->contains(*IpAddress::parse("198.51.100.200")));
	CHECK_FALSE(c->contains(*IpAddress::parse("198.51.101.1")));
	CHECK_FALSE(c->contains(*IpAddress::parse("::1")));
	auto host_bits = Cidr::parse("198.51.100.1/24");
	REQUIRE_FALSE(host_bits.ok());
	CHECK(host_bits.error().find("past the prefix") != std::string::npos);
	CHECK(Cidr::parse("198.51.100.0/33").error() == "IPv4 prefix length must be 0..32");
	CHECK(Cidr::parse("2001:db8::/129").error() == "IPv6 prefix length must be 0..128");
	auto h = Cidr::parse("2001:db8::5");
	REQUIRE(h);
	CHECK(h->is_host());
	CHECK(h->to_string() == "2001:db8::5");
	auto p = Cidr::parse("2001:db8:1:2::/64");
	REQUIRE(p);
	CHECK(p->contains(*IpAddress::parse("2001:db8:1:2:ffff::1")));
	CHECK(p->to_string() == "2001:db8:1:2::/64");
}

TEST_CASE("masking keeps the family and clears only host bits")
{
	auto a = *IpAddress::parse("203.0.113.77");
	CHECK(a.masked(24).to_string() == "203.0.113.0");
	CHECK(a.masked(32) == a);
	CHECK(a.masked(0).to_string() == "0.0.0.0");
	auto v6 = *IpAddress::parse("2001:db8:aa:bb:cc:dd:ee:ff");
	CHECK(v6.masked(64).to_string() == "2001:db8:aa:bb::");
	CHECK(sipguard::net::IpAddressHash{}(a) == sipguard::net::IpAddressHash{}(*IpAddress::parse("203.0.113.77")));
}
