// SPDX-License-Identifier: GPL-2.0-or-later
// Projection of the agent's ban records (overlapping prefixes, each with its own expiry) onto non-overlapping kernel elements.
#include "rules/projection.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "rules/table.h"

namespace sipguard::rules {

namespace {

// Addresses as numbers: IPv6 needs all 128 bits (GCC and clang both have
// unsigned __int128 on every 64-bit target we build for).
using U128 = unsigned __int128;

unsigned bits_of(net::Family f) { return f == net::Family::V4 ? 32 : 128; }

U128 top_of(net::Family f) { return f == net::Family::V4 ? U128{0xffffffffu} : ~U128{0}; }

U128 to_number(const net::IpAddress& a)
{
	U128 v = 0;
	for (size_t i = 0; i < a.size(); ++i)
		v = (v << 8) | a.bytes[i];
	return v;
}

net::IpAddress from_number(U128 v, net::Family f)
{
	net::IpAddress a;
	a.family = f;
	size_t n = f == net::Family::V4 ? 4 : 16;
	for (size_t i = n; i-- > 0;) {
		a.bytes[i] = static_cast<uint8_t>(v & 0xff);
		v >>= 8;
	}
	return a;
}

// Last address of a prefix.
U128 last_of(U128 first, unsigned prefix_len, net::Family f)
{
	unsigned host_bits = bits_of(f) - prefix_len;
	if (host_bits == 0)
		return first;
	if (host_bits >= 128)
		return ~U128{0};
	return first | ((U128{1} << host_bits) - 1);
}

std::chrono::milliseconds remaining(TimePoint expires, TimePoint now)
{
	if (expires == kNever)
		return std::chrono::milliseconds{0};
	// Round up: a ban with 0.4 ms left must not become "no timeout".
	auto ns = (expires - now).count();
	return std::chrono::milliseconds{(ns + 999'999) / 1'000'000};
}

BanSet host_set(net::Family f) { return f == net::Family::V4 ? BanSet::Host4 : BanSet::Host6; }
BanSet net_set(net::Family f) { return f == net::Family::V4 ? BanSet::Net4 : BanSet::Net6; }

struct Edge {
	U128 pos;
	bool open; // opens at pos; otherwise closes (the range ended at pos - 1)
	TimePoint expires;
};

// Sweeps one family's prefix records into maximal runs of equal remaining time.
void sweep(std::vector<Edge>& edges, net::Family family, TimePoint now, std::vector<BanPiece>& out)
{
	std::sort(edges.begin(), edges.end(),
	          [](const Edge& a, const Edge& b) { return a.pos < b.pos; });
	std::multiset<TimePoint> active;
	const U128 top = top_of(family);
	bool have_prev = false;
	U128 prev_last = 0;
	for (size_t i = 0; i < edges.size();) {
		U128 pos = edges[i].pos;
		for (; i < edges.size() && edges[i].pos == pos; ++i) {
			if (edges[i].open)
				active.insert(edges[i].expires);
			else
				active.erase(active.find(edges[i].expires));
		}
		if (active.empty())
			continue;
		// The run lasts until the next edge (exclusive) or to the top.
		U128 last = i < edges.size() ? edges[i].pos - 1 : top;
		std::chrono::milliseconds t = remaining(*active.rbegin(), now);
		if (have_prev && !out.empty() && prev_last + 1 == pos && out.back().timeout == t &&
		    out.back().set == net_set(family)) {
			out.back().last = from_number(last, family);
		} else {
			out.push_back({net_set(family), from_number(pos, family), from_number(last, family), t});
		}
		have_prev = true;
		prev_last = last;
	}
}

} // namespace

const char* set_name(BanSet set)
{
	switch (set) {
	case BanSet::Host4:
		return kSetBan4;
	case BanSet::Host6:
		return kSetBan6;
	case BanSet::Net4:
		return kSetBanNet4;
	case BanSet::Net6:
		return kSetBanNet6;
	}
	return "?";
}

net::IpAddress unmap_v4(const net::IpAddress& a)
{
	if (!a.is_v6())
		return a;
	static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}; // RFC 4291 §2.5.5.2
	if (!std::equal(std::begin(kMapped), std::end(kMapped), a.bytes.begin()))
		return a;
	return net::IpAddress::v4(a.bytes.data() + 12);
}

net::Cidr unmap_v4(const net::Cidr& c)
{
	if (!c.base.is_v6() || c.prefix_len < 96)
		return c;
	net::IpAddress v4 = unmap_v4(c.base);
	if (!v4.is_v4())
		return c;
	return net::Cidr{v4, static_cast<uint8_t>(c.prefix_len - 96)};
}

Projection project(std::span<const BanRecord> records, TimePoint now)
{
	Projection p;
	std::vector<std::pair<net::IpAddress, TimePoint>> hosts;
	std::vector<Edge> edges4, edges6;
	for (size_t i = 0; i < records.size(); ++i) {
		const BanRecord& r = records[i];
		if (!r.target.base.valid() || r.target.prefix_len > r.target.base.max_prefix()) {
			p.invalid.push_back(i);
			continue;
		}
		if (r.expires <= now) {
			++p.expired;
			continue;
		}
		net::Cidr c = unmap_v4(r.target);
		c.base = c.base.masked(c.prefix_len);
		if (c.is_host()) {
			hosts.emplace_back(c.base, r.expires);
			continue;
		}
		U128 first = to_number(c.base);
		U128 last = last_of(first, c.prefix_len, c.base.family);
		auto& edges = c.base.is_v4() ? edges4 : edges6;
		edges.push_back({first, true, r.expires});
		if (last != top_of(c.base.family))
			edges.push_back({last + 1, false, r.expires});
	}

	// Hosts: one element per address, the latest expiry wins.
	std::sort(hosts.begin(), hosts.end(), [](const auto& a, const auto& b) {
		return std::tie(a.first.family, a.first.bytes, b.second) < std::tie(b.first.family, b.first.bytes, a.second);
	});
	for (size_t i = 0; i < hosts.size(); ++i) {
		if (i > 0 && hosts[i].first == hosts[i - 1].first)
			continue;
		const net::IpAddress& a = hosts[i].first;
		p.pieces.push_back({host_set(a.family), a, a, remaining(hosts[i].second, now)});
	}
	sweep(edges4, net::Family::V4, now, p.pieces);
	sweep(edges6, net::Family::V6, now, p.pieces);
	std::stable_sort(p.pieces.begin(), p.pieces.end(), [](const BanPiece& a, const BanPiece& b) {
		return a.set < b.set; // within a set already ordered by address
	});
	return p;
}

std::vector<net::Cidr> prefix_cover(const net::IpAddress& first, const net::IpAddress& last)
{
	std::vector<net::Cidr> out;
	if (!first.valid() || first.family != last.family)
		return out;
	const net::Family f = first.family;
	const unsigned bits = bits_of(f);
	U128 lo = to_number(first);
	const U128 hi = to_number(last);
	if (lo > hi)
		return out;
	for (;;) {
		// The largest block that starts at lo (aligned) and ends by hi.
		unsigned k = 0;
		while (k < bits && ((lo >> k) & 1) == 0)
			++k; // alignment of lo: k trailing zero bits (bits when lo == 0)
		U128 span = hi - lo; // block of 2^k addresses fits when 2^k - 1 <= span
		while (k > 0 && (k < 128 ? ((U128{1} << k) - 1) : ~U128{0}) > span)
			--k;
		out.push_back(net::Cidr{from_number(lo, f), static_cast<uint8_t>(bits - k)});
		U128 block_last = k >= 128 ? ~U128{0} : lo + ((U128{1} << k) - 1);
		if (block_last >= hi)
			break;
		lo = block_last + 1;
	}
	return out;
}

std::string piece_text(const net::IpAddress& first, const net::IpAddress& last)
{
	if (first == last)
		return first.to_string();
	auto cover = prefix_cover(first, last);
	if (cover.size() == 1)
		return cover[0].to_string();
	char a[64], b[64];
	size_t na = first.format(a, sizeof a);
	size_t nb = last.format(b, sizeof b);
	std::string s;
	s.reserve(na + nb + 1);
	s.append(a, na);
	s.push_back('-');
	s.append(b, nb);
	return s;
}

} // namespace sipguard::rules
