// SPDX-License-Identifier: GPL-2.0-or-later
// The host's own addresses through rtnetlink, in a namespace of the test's
// own: every configured address is read, and adding or removing one is
// reported by the watcher.
#include <poll.h>

#include <algorithm>

#include <doctest/doctest.h>

#include "agent/host/addresses.h"
#include "tests/privileged/netns.h"

using namespace sipguard;

namespace {

bool has(const std::vector<net::IpAddress>& v, std::string_view text)
{
	return std::find(v.begin(), v.end(), *net::IpAddress::parse(text)) != v.end();
}

bool readable_within(int fd, int ms)
{
	pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
	return ::poll(&p, 1, ms) == 1;
}

} // namespace

TEST_CASE("every address of the namespace is read, loopback included")
{
	test::require_root_or_skip();
	test::Netns ns("host");
	ns.must("ip link add sg0 type veth peer name sg1 && ip link set sg0 up && ip link set sg1 up");
	ns.must("sysctl -qw net.ipv6.conf.sg0.accept_dad=0");
	ns.must("ip addr add 192.0.2.10/24 dev sg0 && ip addr add 2001:db8:1::10/64 dev sg0 nodad");
	ns.must("ip addr add 198.51.100.1 peer 198.51.100.2 dev sg0");
	test::EnterNetns in(ns);
	auto addrs = host::read_local_addresses();
	REQUIRE_MESSAGE(addrs.ok(), addrs.error());
	CHECK(has(*addrs, "127.0.0.1"));
	CHECK(has(*addrs, "::1"));
	CHECK(has(*addrs, "192.0.2.10"));
	CHECK(has(*addrs, "2001:db8:1::10"));
	CHECK(has(*addrs, "198.51.100.1"));       // IFA_LOCAL on a point-to-point address
	CHECK_FALSE(has(*addrs, "198.51.100.2")); // the peer is not ours
}

TEST_CASE("the watcher reports an added and a removed address")
{
	test::require_root_or_skip();
	test::Netns ns("hostw");
	ns.must("ip link add sg0 type veth peer name sg1 && ip link set sg0 up && ip link set sg1 up");
	test::EnterNetns in(ns);
	host::AddressWatcher w;
	REQUIRE(w.open().ok());
	CHECK_FALSE(w.drain());

	ns.must("ip addr add 192.0.2.77/24 dev sg0");
	REQUIRE(readable_within(w.fd(), 1000));
	CHECK(w.drain());
	auto addrs = host::read_local_addresses();
	REQUIRE(addrs.ok());
	CHECK(has(*addrs, "192.0.2.77"));

	ns.must("ip addr del 192.0.2.77/24 dev sg0");
	REQUIRE(readable_within(w.fd(), 1000));
	CHECK(w.drain());
	addrs = host::read_local_addresses();
	REQUIRE(addrs.ok());
	CHECK_FALSE(has(*addrs, "192.0.2.77"));
}
