// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged: real packets between two namespaces: queue bypass, ban drops and expiry, allowlist, media pinholes.
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rules/elements.h"
#include "rules/netlink.h"
#include "rules/table.h"
#include "tests/privileged/netns.h"

using namespace sipguard;
using namespace std::chrono_literals;
using sipguard::test::EnterNetns;
using sipguard::test::Netns;

namespace {

// Addresses live only inside the test's namespaces.
constexpr const char* kClient4 = "10.200.1.1";
constexpr const char* kPbx4 = "10.200.1.2";
constexpr const char* kClient6 = "fd00:5a::1";
constexpr const char* kPbx6 = "fd00:5a::2";

class UdpSocket {
public:
	UdpSocket(const Netns& ns, bool v6, const char* addr, uint16_t port)
	{
		EnterNetns in(ns);
		fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		REQUIRE(fd_ >= 0);
		timeval tv{0, 300000}; // a receive waits at most 300 ms
		setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		int one = 1;
		setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		sockaddr_storage ss = make_addr(v6, addr, port);
		REQUIRE_MESSAGE(bind(fd_, reinterpret_cast<sockaddr*>(&ss), v6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in)) == 0,
		                std::strerror(errno));
		v6_ = v6;
	}
	~UdpSocket() { ::close(fd_); }
	UdpSocket(const UdpSocket&) = delete;
	UdpSocket& operator=(const UdpSocket&) = delete;

	static sockaddr_storage make_addr(bool v6, const char* addr, uint16_t port)
	{
		sockaddr_storage ss{};
		if (v6) {
			auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(port);
			inet_pton(AF_INET6, addr, &s6->sin6_addr);
		} else {
			auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
			s4->sin_family = AF_INET;
			s4->sin_port = htons(port);
			inet_pton(AF_INET, addr, &s4->sin_addr);
		}
		return ss;
	}

	void send_n(const char* addr, uint16_t port, int n)
	{
		sockaddr_storage ss = make_addr(v6_, addr, port);
		const char msg[] = "OPTIONS sip:pbx SIP/2.0\r\nContent-Length: 0\r\n\r\n";
		for (int i = 0; i < n; ++i)
			sendto(fd_, msg, sizeof msg - 1, 0, reinterpret_cast<sockaddr*>(&ss),
			       v6_ ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
	}

	// Counts datagrams until 300 ms pass without one (bounded by `max`).
	int receive_all(int max = 1000)
	{
		char buf[2048];
		int got = 0;
		while (got < max && recv(fd_, buf, sizeof buf, 0) > 0)
			++got;
		return got;
	}

private:
	int fd_ = -1;
	bool v6_ = false;
};

struct Lab {
	Netns client{"rules-cli"};
	Netns pbx{"rules-pbx"};
	rules::Netlink nl; // bound to the PBX namespace
	rules::QueueBackend backend{};

	Lab()
	{
		test::link_veth(client, "veth0", {std::string(kClient4) + "/24", std::string(kClient6) + "/64"}, pbx, "veth0",
		                {std::string(kPbx4) + "/24", std::string(kPbx6) + "/64"});
		// Wait (bounded) until both families pass; this also fills the
		// neighbour caches, so a later IPv6 ban (which drops the client's
		// neighbour solicitations too) cannot hold datagrams back in the
		// client's unresolved-neighbour queue.
		for (bool v6 : {false, true}) {
			UdpSocket rx(pbx, v6, v6 ? kPbx6 : kPbx4, 9999);
			UdpSocket tx(client, v6, v6 ? kClient6 : kClient4, 9999);
			int got = 0;
			for (int i = 0; i < 20 && got == 0; ++i) {
				tx.send_n(v6 ? kPbx6 : kPbx4, 9999, 1);
				got = rx.receive_all(1);
			}
			REQUIRE_MESSAGE(got == 1, "no connectivity over ", v6 ? "IPv6" : "IPv4");
		}
		{
			EnterNetns in(pbx);
			rules::Status st = nl.open();
			REQUIRE_MESSAGE(st.ok(), st.message);
		}
		REQUIRE(rules::probe_queue_backend(nl, backend).ok());
	}

	void install(const rules::TableSpec& spec)
	{
		rules::Status st = rules::install(nl, spec, backend);
		REQUIRE_MESSAGE(st.ok(), st.message);
	}

	rules::Counters counters()
	{
		rules::Counters c;
		rules::Status st = rules::read_counters(nl, c);
		REQUIRE_MESSAGE(st.ok(), st.message);
		return c;
	}
};

} // namespace

TEST_CASE("with no agent listening, SIP still flows both ways (queue bypass)")
{
	test::require_root_or_skip();
	Lab lab;
	rules::TableSpec spec;
	spec.queue_count = 2;
	lab.install(spec);
	for (bool v6 : {false, true}) {
		UdpSocket pbx(lab.pbx, v6, v6 ? kPbx6 : kPbx4, 5060);
		UdpSocket client(lab.client, v6, v6 ? kClient6 : kClient4, 5062);
		client.send_n(v6 ? kPbx6 : kPbx4, 5060, 20);
		CAPTURE(v6);
		CHECK(pbx.receive_all() == 20);
		// Responses leave from the SIP port: the output chain queues them.
		pbx.send_n(v6 ? kClient6 : kClient4, 5062, 5);
		CHECK(client.receive_all() == 5);
	}
}

TEST_CASE("a banned source is dropped in prerouting and passes again when the ban times out")
{
	test::require_root_or_skip();
	Lab lab;
	lab.install({});
	UdpSocket pbx4(lab.pbx, false, kPbx4, 5060);
	UdpSocket client4(lab.client, false, kClient4, 5062);
	UdpSocket pbx6(lab.pbx, true, kPbx6, 5060);
	UdpSocket client6(lab.client, true, kClient6, 5062);

	// IPv4 host ban and IPv6 prefix ban, 2 s each.
	std::vector<rules::BanElement> bans = {{*net::Cidr::parse(kClient4), 2s}, {*net::Cidr::parse("fd00:5a::/64"), 2s}};
	auto banned_at = std::chrono::steady_clock::now();
	rules::Status st = rules::add_bans(lab.nl, bans);
	REQUIRE_MESSAGE(st.ok(), st.message);
	client4.send_n(kPbx4, 5060, 10);
	client6.send_n(kPbx6, 5060, 10);
	CHECK(pbx4.receive_all() == 0);
	CHECK(pbx6.receive_all() == 0);
	rules::Counters c = lab.counters();
	CHECK(c.ban_drop_packets >= 20);
	REQUIRE(std::chrono::steady_clock::now() - banned_at < 2s); // the check above ran while banned

	// No agent action: the kernel expires the elements.
	std::this_thread::sleep_until(banned_at + 2500ms);
	client4.send_n(kPbx4, 5060, 10);
	client6.send_n(kPbx6, 5060, 10);
	CHECK(pbx4.receive_all() == 10);
	CHECK(pbx6.receive_all() == 10);
	CHECK(lab.counters().ban_drop_packets == c.ban_drop_packets);
}

TEST_CASE("allowlisted sources are never dropped, even when in a ban set")
{
	test::require_root_or_skip();
	Lab lab;
	rules::TableSpec spec;
	spec.allow = {*net::Cidr::parse("10.200.1.0/24")};
	lab.install(spec);
	UdpSocket pbx(lab.pbx, false, kPbx4, 5060);
	UdpSocket client(lab.client, false, kClient4, 5062);
	std::vector<rules::BanElement> bans = {{*net::Cidr::parse(kClient4), 60s}};
	REQUIRE(rules::add_bans(lab.nl, bans).ok());
	client.send_n(kPbx4, 5060, 10);
	CHECK(pbx.receive_all() == 10);
	CHECK(lab.counters().ban_drop_packets == 0);
}

TEST_CASE("media pinning: only pinholed addr . port pairs reach the RTP range")
{
	test::require_root_or_skip();
	Lab lab;
	rules::TableSpec spec;
	spec.pin_media = true;
	spec.rtp_min = 10000;
	spec.rtp_max = 20000;
	lab.install(spec);
	UdpSocket rtp_a(lab.pbx, false, kPbx4, 10002);
	UdpSocket rtp_b(lab.pbx, false, kPbx4, 10004);
	UdpSocket other(lab.pbx, false, kPbx4, 30000);
	UdpSocket client(lab.client, false, kClient4, 40000);

	client.send_n(kPbx4, 10002, 5);
	CHECK(rtp_a.receive_all() == 0);
	CHECK(lab.counters().media_drop_packets == 5);

	std::vector<rules::MediaElement> pin = {{*net::IpAddress::parse(kClient4), 10002, 30s}};
	REQUIRE(rules::add_media(lab.nl, pin).ok());
	client.send_n(kPbx4, 10002, 5);
	client.send_n(kPbx4, 10004, 5);
	client.send_n(kPbx4, 30000, 5); // outside the RTP range: untouched
	CHECK(rtp_a.receive_all() == 5);
	CHECK(rtp_b.receive_all() == 0);
	CHECK(other.receive_all() == 5);
	CHECK(lab.counters().media_drop_packets == 10);

	REQUIRE(rules::delete_media(lab.nl, pin).ok());
	client.send_n(kPbx4, 10002, 5);
	CHECK(rtp_a.receive_all() == 0);
}
