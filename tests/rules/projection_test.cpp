// SPDX-License-Identifier: GPL-2.0-or-later
// Unit: ban records (overlapping, with their own expiries) project onto non-overlapping kernel pieces that ban the same addresses at every later time.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "rules/projection.h"

using namespace sipguard;
using namespace sipguard::rules;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + std::chrono::hours(24 * 365 * 50); // any fixed instant

net::Cidr cidr(const char* text)
{
	auto c = net::Cidr::parse(text);
	REQUIRE_MESSAGE(c.ok(), text);
	return *c;
}

net::IpAddress ip(const char* text)
{
	auto a = net::IpAddress::parse(text);
	REQUIRE_MESSAGE(a.has_value(), text);
	return *a;
}

BanPiece range(BanSet set, const char* first, const char* last, std::chrono::milliseconds timeout)
{
	return {set, ip(first), ip(last), timeout};
}

std::string show(const std::vector<BanPiece>& pieces)
{
	std::string s;
	for (const auto& p : pieces)
		s += std::string(set_name(p.set)) + " " + piece_text(p.first, p.last) + " " +
		     std::to_string(p.timeout.count()) + "ms\n";
	return s;
}

// True if some piece drops `a` at time `t`, the kernel expiring each piece
// at now + timeout on its own.
bool kernel_drops(const std::vector<BanPiece>& pieces, TimePoint now, const net::IpAddress& a, TimePoint t)
{
	for (const auto& p : pieces) {
		if (p.first.family != a.family || a.bytes < p.first.bytes || p.last.bytes < a.bytes)
			continue;
		if (p.timeout.count() == 0 || now + p.timeout > t)
			return true;
	}
	return false;
}

bool records_ban(const std::vector<BanRecord>& records, const net::IpAddress& a, TimePoint t)
{
	for (const auto& r : records)
		if (unmap_v4(r.target).contains(unmap_v4(a)) && r.expires > t)
			return true;
	return false;
}

} // namespace

TEST_CASE("a /24 that outlives the /12 around it becomes its own piece; the /12 is cut around it")
{
	std::vector<BanRecord> recs = {{cidr("172.16.5.0/24"), t0 + 2h}, {cidr("172.16.0.0/12"), t0 + 1h}};
	Projection p = project(recs, t0);
	std::vector<BanPiece> want = {
		range(BanSet::Net4, "172.16.0.0", "172.16.4.255", 3600000ms),
		range(BanSet::Net4, "172.16.5.0", "172.16.5.255", 7200000ms),
		range(BanSet::Net4, "172.16.6.0", "172.31.255.255", 3600000ms),
	};
	CHECK_MESSAGE(p.pieces == want, show(p.pieces));
	CHECK(piece_text(p.pieces[2].first, p.pieces[2].last) == "172.16.6.0-172.31.255.255");
}

TEST_CASE("a /24 inside a longer-lived /12 adds nothing: one piece, the /12's")
{
	for (bool order : {false, true}) {
		std::vector<BanRecord> recs = {{cidr("172.16.0.0/12"), t0 + 1h}, {cidr("172.16.5.0/24"), t0 + 30min}};
		if (order)
			std::swap(recs[0], recs[1]);
		Projection p = project(recs, t0);
		REQUIRE(p.pieces.size() == 1);
		CHECK(piece_text(p.pieces[0].first, p.pieces[0].last) == "172.16.0.0/12");
		CHECK(p.pieces[0].timeout == 3600000ms);
	}
}

TEST_CASE("a /16 inside a /8: when the /8 record is gone, the /16 alone remains")
{
	std::vector<BanRecord> recs = {{cidr("10.0.0.0/8"), t0 + 1h}, {cidr("10.20.0.0/16"), t0 + 10min}};
	Projection p = project(recs, t0);
	REQUIRE(p.pieces.size() == 1);
	CHECK(piece_text(p.pieces[0].first, p.pieces[0].last) == "10.0.0.0/8");
	recs.erase(recs.begin()); // unban the /8
	p = project(recs, t0 + 1min);
	REQUIRE(p.pieces.size() == 1);
	CHECK(piece_text(p.pieces[0].first, p.pieces[0].last) == "10.20.0.0/16");
	CHECK(p.pieces[0].timeout == 540000ms);
}

TEST_CASE("::/0 with a longer-lived /48: three pieces, the last one reaching the top of the address space")
{
	std::vector<BanRecord> recs = {{cidr("::/0"), t0 + 10s}, {cidr("2001:db8:1::/48"), t0 + 20s}};
	Projection p = project(recs, t0);
	std::vector<BanPiece> want = {
		range(BanSet::Net6, "::", "2001:db8:0:ffff:ffff:ffff:ffff:ffff", 10000ms),
		range(BanSet::Net6, "2001:db8:1::", "2001:db8:1:ffff:ffff:ffff:ffff:ffff", 20000ms),
		range(BanSet::Net6, "2001:db8:2::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 10000ms),
	};
	CHECK_MESSAGE(p.pieces == want, show(p.pieces));
	// And ::/0 outliving the /48 is the whole space, once.
	recs[0].expires = t0 + 30s;
	p = project(recs, t0);
	REQUIRE(p.pieces.size() == 1);
	CHECK(piece_text(p.pieces[0].first, p.pieces[0].last) == "::/0");
}

TEST_CASE("::/48 then ::/32: the /32 swallows the /48 unless the /48 lives longer")
{
	std::vector<BanRecord> recs = {{cidr("2001:db8:1::/48"), t0 + 1h}, {cidr("2001:db8::/32"), t0 + 2h}};
	Projection p = project(recs, t0);
	REQUIRE(p.pieces.size() == 1);
	CHECK(piece_text(p.pieces[0].first, p.pieces[0].last) == "2001:db8::/32");
	recs[1].expires = t0 + 30min;
	p = project(recs, t0);
	CHECK(p.pieces.size() == 3);
}

TEST_CASE("neighbouring prefixes with the same remaining time merge; a gap or another time keeps them apart")
{
	std::vector<BanRecord> recs = {{cidr("192.0.2.0/25"), t0 + 1h},
	                               {cidr("192.0.2.128/25"), t0 + 1h},
	                               {cidr("198.51.100.0/24"), t0 + 1h},
	                               {cidr("198.51.101.0/24"), t0 + 2h}};
	Projection p = project(recs, t0);
	std::vector<BanPiece> want = {
		range(BanSet::Net4, "192.0.2.0", "192.0.2.255", 3600000ms),
		range(BanSet::Net4, "198.51.100.0", "198.51.100.255", 3600000ms),
		range(BanSet::Net4, "198.51.101.0", "198.51.101.255", 7200000ms),
	};
	CHECK_MESSAGE(p.pieces == want, show(p.pieces));
}

TEST_CASE("hosts: one element per address with its latest expiry, in ban4/ban6, even inside a banned prefix")
{
	std::vector<BanRecord> recs = {{cidr("192.0.2.7"), t0 + 10min},
	                               {cidr("192.0.2.7"), t0 + 1h},
	                               {cidr("192.0.2.0/24"), t0 + 5min},
	                               {cidr("2001:db8::7"), kNever}};
	Projection p = project(recs, t0);
	std::vector<BanPiece> want = {
		range(BanSet::Host4, "192.0.2.7", "192.0.2.7", 3600000ms),
		range(BanSet::Host6, "2001:db8::7", "2001:db8::7", 0ms),
		range(BanSet::Net4, "192.0.2.0", "192.0.2.255", 300000ms),
	};
	CHECK_MESSAGE(p.pieces == want, show(p.pieces));
}

TEST_CASE("a permanent record outranks any expiry; expired and invalid records are left out")
{
	std::vector<BanRecord> recs = {{cidr("10.0.0.0/8"), kNever},
	                               {cidr("10.1.0.0/16"), t0 + 1h},
	                               {cidr("10.200.0.0/16"), t0},          // expires now: gone
	                               {cidr("192.0.2.1"), t0 - 1s},         // expired
	                               {net::Cidr{}, t0 + 1h}};              // no address
	Projection p = project(recs, t0);
	REQUIRE(p.pieces.size() == 1);
	CHECK(piece_text(p.pieces[0].first, p.pieces[0].last) == "10.0.0.0/8");
	CHECK(p.pieces[0].timeout == 0ms);
	CHECK(p.expired == 2);
	CHECK(p.invalid == std::vector<size_t>{4});
}

TEST_CASE("remaining time rounds up to the millisecond: a nearly expired ban never becomes permanent")
{
	std::vector<BanRecord> recs = {{cidr("192.0.2.1"), t0 + 400us}, {cidr("192.0.2.2"), t0 + 1500us}};
	Projection p = project(recs, t0);
	REQUIRE(p.pieces.size() == 2);
	CHECK(p.pieces[0].timeout == 1ms);
	CHECK(p.pieces[1].timeout == 2ms);
}

TEST_CASE("IPv4-mapped IPv6 records are projected as IPv4")
{
	std::vector<BanRecord> recs = {{cidr("::ffff:192.0.2.9"), t0 + 1h},
	                               {cidr("::ffff:198.51.100.0/120"), t0 + 1h},
	                               {cidr("::/64"), t0 + 1h}}; // holds ::ffff:0:0/96 but is IPv6
	Projection p = project(recs, t0);
	REQUIRE(p.pieces.size() == 3);
	CHECK(p.pieces[0].set == BanSet::Host4);
	CHECK(p.pieces[0].first == ip("192.0.2.9"));
	CHECK(p.pieces[1].set == BanSet::Net4);
	CHECK(piece_text(p.pieces[1].first, p.pieces[1].last) == "198.51.100.0/24");
	CHECK(p.pieces[2].set == BanSet::Net6);
	CHECK(unmap_v4(ip("::ffff:10.1.2.3")) == ip("10.1.2.3"));
	CHECK(unmap_v4(ip("2001:db8::ffff:a01:203")) == ip("2001:db8::ffff:a01:203"));
}

TEST_CASE("0.0.0.0/0 and the top address: pieces reach both ends of the space")
{
	std::vector<BanRecord> recs = {{cidr("0.0.0.0/0"), t0 + 1min}, {cidr("255.255.255.0/24"), t0 + 2min}};
	Projection p = project(recs, t0);
	REQUIRE(p.pieces.size() == 2);
	CHECK(piece_text(p.pieces[0].first, p.pieces[0].last) == "0.0.0.0-255.255.254.255");
	CHECK(piece_text(p.pieces[1].first, p.pieces[1].last) == "255.255.255.0/24");
}

TEST_CASE("prefix cover: the fewest prefixes whose union is the range")
{
	auto show_cover = [](const char* a, const char* b) {
		std::string s;
		for (const auto& c : prefix_cover(ip(a), ip(b))) {
			if (!s.empty())
				s += ' ';
			s += c.to_string();
		}
		return s;
	};
	CHECK(show_cover("172.16.0.0", "172.16.4.255") == "172.16.0.0/22 172.16.4.0/24");
	CHECK(show_cover("172.16.6.0", "172.31.255.255") ==
	      "172.16.6.0/23 172.16.8.0/21 172.16.16.0/20 172.16.32.0/19 172.16.64.0/18 172.16.128.0/17 172.17.0.0/16 "
	      "172.18.0.0/15 172.20.0.0/14 172.24.0.0/13");
	CHECK(show_cover("0.0.0.0", "255.255.255.255") == "0.0.0.0/0");
	CHECK(show_cover("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff") == "::/0");
	CHECK(show_cover("10.0.0.5", "10.0.0.5") == "10.0.0.5");
	CHECK(show_cover("255.255.255.254", "255.255.255.255") == "255.255.255.254/31");
}

TEST_CASE("random overlapping records: pieces never overlap and ban exactly what the records ban, at every later time")
{
	std::mt19937 rng(12345);
	for (int round = 0; round < 300; ++round) {
		std::vector<BanRecord> recs;
		int n = 1 + static_cast<int>(rng() % 12);
		for (int i = 0; i < n; ++i) {
			// A small space (10.0.0.0/20 and 2001:db8::/116) so prefixes nest often.
			bool v6 = rng() % 3 == 0;
			unsigned len = v6 ? 116 + rng() % 13 : 20 + rng() % 13;
			net::IpAddress a = v6 ? ip("2001:db8::") : ip("10.0.0.0");
			uint32_t low = rng() & 0xfff;
			a.bytes[a.size() - 2] = static_cast<uint8_t>(low >> 8);
			a.bytes[a.size() - 1] = static_cast<uint8_t>(low);
			TimePoint exp = rng() % 10 == 0 ? kNever : t0 + std::chrono::seconds(static_cast<int>(rng() % 20) - 2);
			recs.push_back({net::Cidr{a.masked(len), static_cast<uint8_t>(len)}, exp});
		}
		Projection p = project(recs, t0);
		for (size_t i = 1; i < p.pieces.size(); ++i) {
			const auto& x = p.pieces[i - 1];
			const auto& y = p.pieces[i];
			if (x.set == y.set && is_interval(x.set))
				REQUIRE_MESSAGE(x.last.bytes < y.first.bytes, show(p.pieces));
		}
		for (int k = 0; k < 40; ++k) {
			bool v6 = rng() % 3 == 0;
			net::IpAddress a = v6 ? ip("2001:db8::") : ip("10.0.0.0");
			uint32_t low = rng() & 0x1fff; // also just outside the space
			a.bytes[a.size() - 2] = static_cast<uint8_t>(low >> 8);
			a.bytes[a.size() - 1] = static_cast<uint8_t>(low);
			TimePoint t = t0 + std::chrono::milliseconds(static_cast<int>(rng() % 20000));
			REQUIRE_MESSAGE(kernel_drops(p.pieces, t0, a, t) == records_ban(recs, a, t),
			                a.to_string(), " at +", (t - t0).count() / 1000000, " ms\n", show(p.pieces));
		}
	}
}
