// SPDX-License-Identifier: GPL-2.0-or-later
// Bounded fragment reassembly for replay.
#include "tools/replay/reassembly.h"

#include <algorithm>
#include <cstring>

namespace sipguard::replay {

namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p)
{
	return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}

constexpr size_t kMaxPayload = 65535;

} // namespace

Reassembler::Reassembler() { out_.reserve(kMaxPayload + 128); }

Reassembler::Datagram* Reassembler::slot_for(bool v6, const net::IpAddress& src, const net::IpAddress& dst,
                                             uint32_t id, uint8_t proto, util::TimePoint now)
{
	Datagram* free_slot = nullptr;
	Datagram* oldest = nullptr;
	for (auto& d : slots_) {
		if (d.used && now - d.first > kTimeout) {
			d.used = false;
			++timeouts_;
		}
		if (d.used && d.v6 == v6 && d.id == id && d.src == src && d.dst == dst && d.proto == proto)
			return &d;
		if (!d.used && !free_slot)
			free_slot = &d;
		if (d.used && (!oldest || d.first < oldest->first))
			oldest = &d;
	}
	Datagram* d = free_slot;
	if (!d) {
		d = oldest;
		++evictions_;
	}
	d->used = true;
	d->v6 = v6;
	d->src = src;
	d->dst = dst;
	d->id = id;
	d->proto = proto;
	d->first = now;
	d->header.clear();
	if (d->payload.capacity() < kMaxPayload)
		d->payload.reserve(kMaxPayload);
	d->payload.clear();
	d->range_count = 0;
	d->total = -1;
	return d;
}

Reassembler::Result Reassembler::add(Datagram& d, uint32_t offset, std::span<const uint8_t> data, bool more,
                                     std::span<const uint8_t>& out)
{
	uint64_t end = static_cast<uint64_t>(offset) + data.size();
	if (end > kMaxPayload || d.range_count >= kMaxFragments) {
		d.used = false;
		++dropped_;
		return Result::Dropped;
	}
	if (d.payload.size() < end)
		d.payload.resize(end);
	// Overlaps: bytes already received win (RFC 5722 says drop the datagram
	// for IPv6; for a replay tool keeping the first copy is good enough).
	std::memcpy(d.payload.data() + offset, data.data(), data.size());
	d.ranges[d.range_count++] = {offset, static_cast<uint32_t>(end)};
	if (!more)
		d.total = static_cast<int64_t>(end);
	if (d.total < 0)
		return Result::Pending;
	std::sort(d.ranges.begin(), d.ranges.begin() + static_cast<ptrdiff_t>(d.range_count));
	uint32_t covered = 0;
	for (size_t i = 0; i < d.range_count; ++i) {
		if (d.ranges[i].first > covered)
			return Result::Pending;
		covered = std::max(covered, d.ranges[i].second);
	}
	if (covered < d.total)
		return Result::Pending;

	out_.assign(d.header.begin(), d.header.end());
	out_.insert(out_.end(), d.payload.begin(), d.payload.begin() + d.total);
	if (!d.v6) {
		size_t len = out_.size();
		out_[2] = static_cast<uint8_t>(len >> 8);
		out_[3] = static_cast<uint8_t>(len);
		out_[6] = 0;
		out_[7] = 0;
	} else {
		size_t plen = out_.size() - 40;
		out_[4] = static_cast<uint8_t>(plen >> 8);
		out_[5] = static_cast<uint8_t>(plen);
	}
	d.used = false;
	++completed_;
	out = out_;
	return Result::Complete;
}

Reassembler::Result Reassembler::feed(std::span<const uint8_t> ip, util::TimePoint now,
                                      std::span<const uint8_t>& out)
{
	if (ip.empty())
		return Result::NotFragment;
	const uint8_t* p = ip.data();
	uint8_t version = p[0] >> 4;
	if (version == 4) {
		if (ip.size() < 20)
			return Result::NotFragment;
		size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
		uint16_t flags = be16(p + 6);
		bool more = flags & 0x2000;
		uint32_t offset = static_cast<uint32_t>(flags & 0x1fff) * 8;
		if (!more && offset == 0)
			return Result::NotFragment;
		size_t total = be16(p + 2);
		if (ihl < 20 || total < ihl || total > ip.size()) {
			++dropped_;
			return Result::Dropped;
		}
		Datagram* d = slot_for(false, net::IpAddress::v4(p + 12), net::IpAddress::v4(p + 16), be16(p + 4), p[9], now);
		if (offset == 0)
			d->header.assign(p, p + ihl);
		else if (d->header.empty())
			d->header.assign(p, p + ihl); // provisional until the first fragment arrives
		return add(*d, offset, ip.subspan(ihl, total - ihl), more, out);
	}
	if (version == 6) {
		if (ip.size() < 40)
			return Result::NotFragment;
		size_t end = std::min(ip.size(), static_cast<size_t>(40 + be16(p + 4)));
		uint8_t next = p[6];
		size_t off = 40;
		size_t next_field = 6; // where the "next header" pointing at `off` lives
		for (int i = 0; i < 8; ++i) {
			if (next == 44) {
				if (off + 8 > end)
					return Result::NotFragment;
				uint16_t fo = be16(p + off + 2);
				uint32_t offset = static_cast<uint32_t>(fo & 0xfff8);
				bool more = fo & 1;
				if (!more && offset == 0)
					return Result::NotFragment; // atomic fragment (RFC 6946): decode_ip handles it
				uint32_t id = be32(p + off + 4);
				uint8_t inner = p[off];
				Datagram* d = slot_for(true, net::IpAddress::v6(p + 8), net::IpAddress::v6(p + 24), id, inner, now);
				if (offset == 0 || d->header.empty()) {
					d->header.assign(p, p + off);
					d->header[next_field] = inner;
				}
				return add(*d, offset, ip.subspan(off + 8, end - off - 8), more, out);
			}
			if (next != 0 && next != 43 && next != 60 && next != 51)
				return Result::NotFragment;
			if (off + 2 > end)
				return Result::NotFragment;
			size_t len = next == 51 ? (static_cast<size_t>(p[off + 1]) + 2) * 4 : (static_cast<size_t>(p[off + 1]) + 1) * 8;
			next_field = off;
			next = p[off];
			off += len;
		}
	}
	return Result::NotFragment;
}

} // namespace sipguard::replay
