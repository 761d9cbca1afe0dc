// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged: the defrag rule of `table inet sipguard` makes the kernel
// reassemble IPv4 and IPv6 fragments before our prerouting chain (and so
// before the queue), lives in our table only, is checked and repaired like
// the rest of it, and goes with the table. Watched with counters of a test
// table hooked before (-450) and after (-350) nf_defrag's -400, and at input.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "rules/reconcile.h"
#include "rules/table.h"
#include "tests/privileged/daemon/lab.h"
#include "tests/privileged/frag/watch.h"

using namespace sipguard;
using namespace std::chrono_literals;
using test::DaemonLab;
using test::Fragments;

namespace {

constexpr const char* kSrc4 = "198.18.0.21";
constexpr const char* kSrc6 = "fd00:5b::21";
constexpr uint16_t kSinkPort = 4000; // not a SIP port: reassembly is per namespace, not per rule
constexpr size_t kDatagram = 3000;   // over the 1280-byte MTU: 3 fragments

struct Lab {
	DaemonLab lab{{kSrc4, kSrc6}};

	Lab()
	{
		for (const test::Netns* ns : {&lab.client(), &lab.pbx()})
			ns->must("ip link set veth0 mtu 1280");
		test::install_fragment_watch(lab.pbx());
	}

	// One kDatagram-byte UDP datagram per family from the client to the
	// pbx's sink; what the counters saw of it, and how many whole datagrams
	// the sink received (at most 500 ms).
	Fragments send(int& delivered)
	{
		Fragments before = test::read_fragment_watch(lab.pbx());
		test::Fd rx4, rx6;
		{
			test::EnterNetns in(lab.pbx());
			rx4.fd = test::bound_udp(DaemonLab::kPbx4, kSinkPort);
			rx6.fd = test::bound_udp(DaemonLab::kPbx6, kSinkPort);
		}
		{
			test::EnterNetns in(lab.client());
			const std::string payload(kDatagram, 'f');
			for (const char* src : {kSrc4, kSrc6}) {
				test::Fd tx;
				tx.fd = test::bound_udp(src, 40000);
				socklen_t len = 0;
				sockaddr_storage to = test::make_addr(test::is_v6(src) ? DaemonLab::kPbx6 : DaemonLab::kPbx4,
				                                      kSinkPort, len);
				REQUIRE(::sendto(tx.fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), len) ==
				        static_cast<ssize_t>(payload.size()));
			}
		}
		delivered = 0;
		timeval tv{0, 250 * 1000};
		for (int fd : {rx4.fd, rx6.fd}) {
			::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
			static char buf[65536];
			if (::recv(fd, buf, sizeof buf, 0) == static_cast<ssize_t>(kDatagram))
				++delivered;
		}
		return test::read_fragment_watch(lab.pbx()) - before;
	}
};

void check_reassembled(Lab& lab)
{
	int delivered = 0;
	Fragments f = lab.send(delivered);
	CHECK(delivered == 2);
	CHECK(f.raw4 == 3); // the wire carried fragments...
	CHECK(f.raw6 == 3);
	CHECK(f.late4 == 0); // ...our hooks see whole datagrams
	CHECK(f.late6 == 0);
	CHECK(f.in4 == 0);
	CHECK(f.in6 == 0);
}

void check_not_reassembled(Lab& lab)
{
	int delivered = 0;
	Fragments f = lab.send(delivered);
	CHECK(delivered == 2);
	CHECK(f.raw4 == 3);
	CHECK(f.raw6 == 3);
	CHECK(f.late4 == 3); // fragments reach our prerouting chain
	CHECK(f.late6 == 3);
	CHECK(f.in4 == 0); // IPv4: ip_local_deliver reassembles before LOCAL_IN
	CHECK(f.in6 == 3); // IPv6: only after it, so the queue would see the first fragment alone
}

uint64_t conntrack_entries(const DaemonLab& lab)
{
	return std::stoull(lab.pbx().exec_capture("cat /proc/sys/net/netfilter/nf_conntrack_count"));
}

size_t count_of(const std::string& hay, const std::string& needle)
{
	size_t n = 0;
	for (auto at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1))
		++n;
	return n;
}

} // namespace

TEST_CASE("the tproxy defrag rule: reassembly before our hooks, in our table only, checked, repaired, removed")
{
	test::require_root_or_skip();
	Lab lab;
	check_not_reassembled(lab);

	// This kernel has CONFIG_NFT_TPROXY: install_auto picks it, and probing
	// committed nothing.
	rules::DefragBackend probed;
	REQUIRE(rules::probe_defrag_backend(lab.lab.nl(), probed).ok());
	CHECK(probed == rules::DefragBackend::Tproxy);
	CHECK(lab.lab.defrag() == rules::DefragBackend::Tproxy);
	CHECK(lab.lab.pbx().exec_capture("nft list tables") == "table inet fragwatch\n");
	check_not_reassembled(lab);

	rules::TableSpec spec;
	rules::QueueBackend backend;
	rules::Status st = rules::install_auto(lab.lab.nl(), spec, backend);
	REQUIRE_MESSAGE(st.ok(), st.message);
	CHECK(spec.defrag == rules::DefragBackend::Tproxy);
	const std::string chain = lab.lab.pbx().exec_capture("nft list chain inet sipguard defrag");
	MESSAGE(chain);
	CHECK(chain.find("meta l4proto udp tproxy to :5060 comment \"sipguard-defrag") != std::string::npos);
	const std::string ruleset = lab.lab.pbx().exec_capture("nft list ruleset");
	CHECK(count_of(ruleset, "tproxy") == 1);
	CHECK(lab.lab.pbx().exec_capture("nft list tables") == "table inet fragwatch\ntable inet sipguard\n");

	check_reassembled(lab);
	// Reassembly without conntrack: nothing is tracked.
	CHECK(conntrack_entries(lab.lab) == 0);

	auto rep = rules::reconcile(lab.lab.nl(), spec, backend, {}, rules::system_now());
	REQUIRE_MESSAGE(rep.ok(), rep.error());
	CHECK_MESSAGE(rep->clean(), rep->summary());

	// Deleted by hand: drift in chain defrag, repaired, reassembling again.
	std::string listed = lab.lab.pbx().exec_capture("nft -a list chain inet sipguard defrag");
	auto h = listed.find("# handle ", listed.find("tproxy"));
	REQUIRE(h != std::string::npos);
	lab.lab.pbx().must("nft delete rule inet sipguard defrag handle " + std::to_string(std::stoul(listed.substr(h + 9))));
	check_not_reassembled(lab);
	rep = rules::reconcile(lab.lab.nl(), spec, backend, {}, rules::system_now());
	REQUIRE_MESSAGE(rep.ok(), rep.error());
	CHECK(rep->count(rules::What::Rule) == 1);
	CHECK_FALSE(rep->queue_rule_missing);
	MESSAGE(rep->summary());
	auto fixed = rules::repair(lab.lab.nl(), spec, backend, {});
	REQUIRE_MESSAGE(fixed.ok(), fixed.error());
	CHECK(fixed->reinstalled);
	rep = rules::reconcile(lab.lab.nl(), spec, backend, {}, rules::system_now());
	REQUIRE_MESSAGE(rep.ok(), rep.error());
	CHECK_MESSAGE(rep->clean(), rep->summary());
	check_reassembled(lab);

	// Removing our table takes the reassembly with it and leaves nothing.
	REQUIRE(rules::remove(lab.lab.nl()).ok());
	CHECK(lab.lab.pbx().exec_capture("nft list tables") == "table inet fragwatch\n");
	check_not_reassembled(lab);
	CHECK(conntrack_entries(lab.lab) == 0);
}

TEST_CASE("the ct fallback reassembles too, at the cost of conntrack, and goes with the table")
{
	test::require_root_or_skip();
	Lab lab;
	rules::TableSpec spec;
	spec.defrag = rules::DefragBackend::Conntrack;
	rules::QueueBackend backend = lab.lab.backend();
	rules::Status st = rules::install(lab.lab.nl(), spec, backend);
	REQUIRE_MESSAGE(st.ok(), st.message);
	const std::string chain = lab.lab.pbx().exec_capture("nft list chain inet sipguard defrag");
	MESSAGE(chain);
	CHECK(chain.find("ct state == new comment \"sipguard-defrag") != std::string::npos);
	auto rep = rules::reconcile(lab.lab.nl(), spec, backend, {}, rules::system_now());
	REQUIRE_MESSAGE(rep.ok(), rep.error());
	CHECK_MESSAGE(rep->clean(), rep->summary());
	check_reassembled(lab);
	CHECK(conntrack_entries(lab.lab) > 0); // every flow of the namespace is tracked now

	REQUIRE(rules::remove(lab.lab.nl()).ok());
	CHECK(lab.lab.pbx().exec_capture("nft list tables") == "table inet fragwatch\n");
	check_not_reassembled(lab);
}

TEST_CASE("without a mechanism the defrag chain stays empty and IPv6 reaches input in fragments")
{
	test::require_root_or_skip();
	Lab lab;
	rules::TableSpec spec; // defrag None: a kernel with neither tproxy nor ct
	rules::Status st = rules::install(lab.lab.nl(), spec, lab.lab.backend());
	REQUIRE_MESSAGE(st.ok(), st.message);
	const std::string chain = lab.lab.pbx().exec_capture("nft list chain inet sipguard defrag");
	CHECK(chain.find("tproxy") == std::string::npos);
	CHECK(chain.find("ct ") == std::string::npos);
	auto rep = rules::reconcile(lab.lab.nl(), spec, lab.lab.backend(), {}, rules::system_now());
	REQUIRE_MESSAGE(rep.ok(), rep.error());
	CHECK_MESSAGE(rep->clean(), rep->summary());
	check_not_reassembled(lab);
}
