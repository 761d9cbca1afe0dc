// SPDX-License-Identifier: GPL-2.0-or-later
// Unit: listed elements pair into ranges, the diff against the projection is minimal, and its operations delete before they add.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "rules/ban_diff.h"
#include "rules/elements_internal.h"
#include "rules/encode.h"
#include "rules/netlink.h"

using namespace sipguard;
using namespace sipguard::rules;
using namespace std::chrono_literals;

namespace {

net::IpAddress ip(const char* text)
{
	auto a = net::IpAddress::parse(text);
	REQUIRE_MESSAGE(a.has_value(), text);
	return *a;
}

RawElement raw(const char* addr, bool end = false, std::chrono::milliseconds timeout = 0ms,
               std::chrono::milliseconds expires = 0ms)
{
	RawElement e;
	net::IpAddress a = ip(addr);
	std::memcpy(e.key.data(), a.bytes.data(), a.size());
	e.key_len = static_cast<uint32_t>(a.size());
	e.interval_end = end;
	e.timeout = timeout;
	e.expires_in = expires;
	return e;
}

ListedPiece listed(BanSet set, const char* first, const char* last, std::chrono::milliseconds timeout,
                   std::chrono::milliseconds expires)
{
	return {set, ip(first), ip(last), true, timeout, expires};
}

// Message types and element keys of a batch, in order.
struct Seen {
	uint16_t type;
	std::string set;
	std::vector<std::pair<std::string, bool>> keys; // (address, interval end)
};

std::vector<Seen> messages(const Batch& batch)
{
	std::vector<Seen> out;
	size_t len = batch.byte_size();
	for (auto* nlh = reinterpret_cast<const nlmsghdr*>(batch.data()); NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
		Seen s;
		s.type = static_cast<uint16_t>(nlh->nlmsg_type & 0xff);
		std::vector<RawElement> elems;
		REQUIRE(parse_elements(nlh, elems, &s.set));
		for (const auto& e : elems) {
			net::IpAddress a = e.key_len == 4 ? net::IpAddress::v4(e.key.data()) : net::IpAddress::v6(e.key.data());
			s.keys.emplace_back(a.to_string(), e.interval_end);
		}
		out.push_back(std::move(s));
	}
	return out;
}

} // namespace

TEST_CASE("listed interval elements pair into ranges: neighbours, the top of the space, a lost end")
{
	std::vector<RawElement> elems = {
		raw("10.0.1.0", true), raw("10.0.0.0", false, 60000ms, 59000ms), // [10.0.0.0, 10.0.0.255]
		raw("10.0.1.0", false, 120000ms, 119000ms), raw("10.0.2.0", true), // neighbour [10.0.1.0, 10.0.1.255]
		raw("192.0.2.0"), raw("192.0.2.64"), // a start whose end is lost: runs to the next element
		raw("192.0.2.128", true),
		raw("240.0.0.0"), // runs to the top: no end element
	};
	auto pieces = pieces_from_raw(BanSet::Net4, elems);
	REQUIRE(pieces.size() == 5);
	CHECK(pieces[0].first == ip("10.0.0.0"));
	CHECK(pieces[0].last == ip("10.0.0.255"));
	CHECK(pieces[0].expires_in == 59000ms);
	CHECK(pieces[1].first == ip("10.0.1.0"));
	CHECK(pieces[1].last == ip("10.0.1.255"));
	CHECK(pieces[1].timeout == 120000ms);
	CHECK(pieces[2].last == ip("192.0.2.63"));
	CHECK_FALSE(pieces[2].end_element);
	CHECK(pieces[3].last == ip("192.0.2.127"));
	CHECK(pieces[3].end_element);
	CHECK(pieces[4].last == ip("255.255.255.255"));
	CHECK_FALSE(pieces[4].end_element);

	auto hosts = pieces_from_raw(BanSet::Host6, {raw("2001:db8::1", false, 1000ms, 500ms), raw("192.0.2.1")});
	REQUIRE(hosts.size() == 1); // the IPv4 key does not belong in ban6
	CHECK(hosts[0].first == ip("2001:db8::1"));
	CHECK(hosts[0].last == hosts[0].first);
}

TEST_CASE("diff: equal ranges within the tolerance stay; others are added, deleted or retimed")
{
	std::vector<BanPiece> desired = {
		{BanSet::Host4, ip("192.0.2.1"), ip("192.0.2.1"), 60000ms},         // listed, 0.5 s apart: keep
		{BanSet::Host4, ip("192.0.2.2"), ip("192.0.2.2"), 600000ms},        // listed with 60 s: retime
		{BanSet::Net4, ip("10.0.0.0"), ip("10.0.0.255"), 0ms},              // listed permanent: keep
		{BanSet::Net4, ip("10.0.1.0"), ip("10.0.1.255"), 30000ms},          // listed permanent: retime
		{BanSet::Net6, ip("2001:db8::"), ip("2001:db8::ffff"), 30000ms},   // not listed: add
	};
	std::vector<ListedPiece> have = {
		listed(BanSet::Host4, "192.0.2.1", "192.0.2.1", 60000ms, 59500ms),
		listed(BanSet::Host4, "192.0.2.2", "192.0.2.2", 60000ms, 59000ms),
		listed(BanSet::Net4, "10.0.0.0", "10.0.0.255", 0ms, 0ms),
		listed(BanSet::Net4, "10.0.1.0", "10.0.1.255", 0ms, 0ms),
		listed(BanSet::Net4, "10.0.2.0", "10.0.3.255", 60000ms, 1000ms),    // not desired: delete
		listed(BanSet::Host6, "2001:db8::9", "2001:db8::9", 60000ms, 0ms),  // expired: ignored
	};
	ElementDiff d = diff_pieces(desired, have);
	CHECK(d.unchanged == 2);
	CHECK(d.retimed == 2);
	CHECK(d.missing() == 1);
	CHECK(d.extra() == 1);
	REQUIRE(d.remove.size() == 3);
	CHECK(d.remove[0].first == ip("192.0.2.2"));
	CHECK(d.remove[1].first == ip("10.0.1.0"));
	CHECK(d.remove[2].first == ip("10.0.2.0"));
	REQUIRE(d.add.size() == 3);

	// The same state with the projection's own listing is clean.
	std::vector<ListedPiece> exact;
	for (const auto& p : desired)
		exact.push_back({p.set, p.first, p.last, true, p.timeout, p.timeout});
	CHECK(diff_pieces(desired, exact).empty());
	CHECK(diff_pieces(desired, exact).unchanged == desired.size());
}

TEST_CASE("a listed range without its end element is rewritten even when it looks equal")
{
	std::vector<BanPiece> desired = {{BanSet::Net4, ip("192.0.2.0"), ip("192.0.2.63"), 0ms}};
	std::vector<ListedPiece> have = {{BanSet::Net4, ip("192.0.2.0"), ip("192.0.2.63"), false, 0ms, 0ms}};
	ElementDiff d = diff_pieces(desired, have);
	CHECK(d.retimed == 1);
	auto ops = diff_ops(d);
	REQUIRE(ops.size() == 2);
	CHECK(ops[0].kind == ElementOp::Kind::Remove);
	CHECK_FALSE(ops[0].end_element);
	CHECK(ops[1].kind == ElementOp::Kind::Add);
}

TEST_CASE("diff operations: every delete comes before any add, ranges keep their exact ends, lost ends are not deleted")
{
	ElementDiff d;
	d.remove.push_back({BanSet::Net4, ip("172.16.5.0"), ip("172.16.5.255"), true, 0ms, 0ms});
	d.remove.push_back({BanSet::Net4, ip("192.0.2.0"), ip("192.0.2.63"), false, 0ms, 0ms});
	d.remove.push_back({BanSet::Host4, ip("198.51.100.1"), ip("198.51.100.1"), true, 0ms, 0ms});
	d.add.push_back({BanSet::Net4, ip("172.16.0.0"), ip("172.16.4.255"), 3600000ms});
	d.add.push_back({BanSet::Net4, ip("172.16.5.0"), ip("172.31.255.255"), 7200000ms});
	d.add.push_back({BanSet::Net6, ip("::"), ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1000ms});
	auto ops = diff_ops(d);
	Batch batch;
	append_element_ops_in_order(batch, ops);
	auto seen = messages(batch);
	REQUIRE(seen.size() == 4);
	CHECK(seen[0].type == NFT_MSG_DELSETELEM);
	CHECK(seen[0].set == "bannet4");
	using K = std::vector<std::pair<std::string, bool>>;
	CHECK(seen[0].keys == K{{"172.16.5.0", false}, {"172.16.6.0", true}, {"192.0.2.0", false}});
	CHECK(seen[1].type == NFT_MSG_DELSETELEM);
	CHECK(seen[1].set == "ban4");
	CHECK(seen[2].type == NFT_MSG_NEWSETELEM);
	CHECK(seen[2].set == "bannet4");
	CHECK(seen[2].keys == K{{"172.16.0.0", false}, {"172.16.5.0", true}, {"172.16.5.0", false}, {"172.32.0.0", true}});
	CHECK(seen[3].set == "bannet6");
	CHECK(seen[3].keys == K{{"::", false}}); // reaches the top: no end element
	// The start element carries the timeout, the end element none.
	std::vector<RawElement> elems;
	size_t len = batch.byte_size();
	const nlmsghdr* nlh = reinterpret_cast<const nlmsghdr*>(batch.data());
	for (int i = 0; i < 2; ++i)
		nlh = NLMSG_NEXT(nlh, len);
	REQUIRE(parse_elements(nlh, elems));
	CHECK(elems[0].timeout == 3600000ms);
	CHECK(elems[1].timeout == 0ms);
}

TEST_CASE("range keys: exclusive end, none at the top")
{
	IntervalKeys k = range_keys(ip("10.0.0.5"), ip("10.0.0.9"));
	CHECK(k.len == 4);
	CHECK(k.has_end);
	CHECK(k.end[3] == 10);
	k = range_keys(ip("10.0.0.5"), ip("255.255.255.255"));
	CHECK_FALSE(k.has_end);
	k = range_keys(ip("2001:db8::"), ip("2001:db8::ffff"));
	CHECK(k.has_end);
	CHECK(k.end[13] == 1);
	CHECK(k.end[14] == 0);
}
