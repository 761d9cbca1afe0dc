// SPDX-License-Identifier: GPL-2.0-or-later
// MediaChecker: the kernel-set model behind `replay --check-media`.
#include <doctest/doctest.h>

#include <array>

#include "agent/calls/media_checker.h"

using namespace sipguard;
using namespace sipguard::calls;
using namespace std::chrono_literals;

namespace {

net::IpAddress ip(const char* t)
{
	return *net::IpAddress::parse(t);
}

const std::array<uint8_t, 12> kRtp{0x80, 0x08, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4};
const std::array<uint8_t, 12> kNotRtp{0x30, 0x82, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4}; // SNMP-ish

nfq::PacketView udp(const char* src, uint16_t dport, std::span<const uint8_t> payload)
{
	nfq::PacketView p;
	p.src = ip(src);
	p.dst = ip("203.0.113.1");
	p.sport = 40000;
	p.dport = dport;
	p.l4 = nfq::L4::Udp;
	p.payload = payload;
	return p;
}

} // namespace

TEST_CASE("selector syntax")
{
	CHECK(MediaSelector::parse("auto")->automatic);
	auto r = MediaSelector::parse("10000-20000");
	REQUIRE(r);
	CHECK_FALSE(r->automatic);
	CHECK(r->low == 10000);
	CHECK(r->high == 20000);
	auto reversed = MediaSelector::parse("20000-10000");
	REQUIRE_FALSE(reversed.ok());
	CHECK(reversed.error().find("LOW-HIGH") != std::string::npos);
	CHECK_FALSE(MediaSelector::parse("10000").ok());
	CHECK_FALSE(MediaSelector::parse("0-5").ok());
	CHECK_FALSE(MediaSelector::parse("1-70000").ok());
}

TEST_CASE("elements behave like nftables set elements with timeouts")
{
	MediaChecker m(*MediaSelector::parse("auto"));
	const util::TimePoint t0(1000s);
	auto rtp = udp("198.51.100.7", 10000, kRtp);
	CHECK(m.check(rtp, true, false, t0) == MediaChecker::Result::Outside);
	m.on_pinhole(PinholeUpdate{PinholeOp::Open, ip("198.51.100.7"), 10000, 60s, 0, 0, "answer", t0});
	CHECK(m.check(rtp, true, false, t0 + 1s) == MediaChecker::Result::Inside);
	// Another source, or another port: outside.
	CHECK(m.check(udp("192.0.2.66", 10000, kRtp), true, false, t0 + 1s) == MediaChecker::Result::Outside);
	CHECK(m.check(udp("198.51.100.7", 10002, kRtp), true, false, t0 + 1s) == MediaChecker::Result::Outside);
	// Expiry without refresh, then refresh semantics.
	CHECK(m.check(rtp, true, false, t0 + 61s) == MediaChecker::Result::Outside);
	m.on_pinhole(PinholeUpdate{PinholeOp::Refresh, ip("198.51.100.7"), 10000, 60s, 0, 0, "refresh", t0 + 50s});
	CHECK(m.check(rtp, true, false, t0 + 100s) == MediaChecker::Result::Inside);
	m.on_pinhole(PinholeUpdate{PinholeOp::Close, ip("198.51.100.7"), 10000, 0s, 0, 0, "bye", t0 + 101s});
	CHECK(m.check(rtp, true, false, t0 + 102s) == MediaChecker::Result::Outside);
	CHECK(m.inside() == 2);
	CHECK(m.outside() == 5);
	CHECK(m.after_close() == 1); // the packet 1 s after the BYE
	CHECK(m.summary() == "media: 2 in pinholes, 5 outside (1 of them less than 1 s after a BYE/CANCEL closed their pinhole)");
	// Long after the close it is plainly outside.
	CHECK(m.check(rtp, true, false, t0 + 200s) == MediaChecker::Result::Outside);
	CHECK(m.after_close() == 1);
	MediaChecker fresh(*MediaSelector::parse("auto"));
	fresh.check(rtp, true, false, t0);
	CHECK(fresh.summary() == "media: 0 in pinholes, 1 outside");
}

TEST_CASE("what counts as media")
{
	MediaChecker a(*MediaSelector::parse("auto"));
	const util::TimePoint t(1s);
	CHECK(a.check(udp("198.51.100.7", 10000, kNotRtp), true, false, t) == MediaChecker::Result::NotMedia);
	CHECK(a.check(udp("198.51.100.7", 10000, kRtp), false, false, t) == MediaChecker::Result::NotMedia); // not to us
	CHECK(a.check(udp("198.51.100.7", 5060, kRtp), true, true, t) == MediaChecker::Result::NotMedia);    // SIP
	MediaChecker r(*MediaSelector::parse("10000-20000"));
	CHECK(r.check(udp("198.51.100.7", 10000, kNotRtp), true, false, t) == MediaChecker::Result::Outside);
	CHECK(r.check(udp("198.51.100.7", 9999, kRtp), true, false, t) == MediaChecker::Result::NotMedia);
}
