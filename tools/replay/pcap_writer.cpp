// SPDX-License-Identifier: GPL-2.0-or-later
// Minimal pcap writer (pcap file format, nanosecond magic 0xa1b23c4d).
#include "tools/replay/pcap_writer.h"

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

namespace sipguard::replay {

namespace {

constexpr uint32_t kMagicNs = 0xa1b23c4d;
constexpr uint32_t kLinkEthernet = 1, kLinkRaw = 101, kLinkSll = 113, kLinkSll2 = 276, kLinkNull = 0;

void put16(std::vector<uint8_t>& v, size_t at, uint16_t x)
{
	v[at] = static_cast<uint8_t>(x >> 8);
	v[at + 1] = static_cast<uint8_t>(x);
}
void put32(std::vector<uint8_t>& v, size_t at, uint32_t x)
{
	for (int i = 0; i < 4; ++i)
		v[at + i] = static_cast<uint8_t>(x >> (24 - 8 * i));
}

uint16_t ipv4_checksum(const uint8_t* h, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += static_cast<uint32_t>(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> l4(uint16_t sport, uint16_t dport, uint8_t proto, std::string_view payload, uint32_t seq,
                        uint8_t flags)
{
	size_t hl = proto == 6 ? 20 : 8;
	std::vector<uint8_t> v(hl + payload.size());
	put16(v, 0, sport);
	put16(v, 2, dport);
	if (proto == 6) {
		put32(v, 4, seq);
		put32(v, 8, 0);
		v[12] = 5 << 4;
		v[13] = flags;
		put16(v, 14, 65535);
	} else {
		put16(v, 4, static_cast<uint16_t>(v.size()));
	}
	std::memcpy(v.data() + hl, payload.data(), payload.size());
	return v;
}

std::vector<uint8_t> ip_wrap(const net::IpAddress& src, const net::IpAddress& dst, uint8_t proto,
                             const std::vector<uint8_t>& body, uint16_t id = 1, uint16_t frag = 0)
{
	if (src.is_v4()) {
		std::vector<uint8_t> v(20 + body.size());
		v[0] = 0x45;
		put16(v, 2, static_cast<uint16_t>(v.size()));
		put16(v, 4, id);
		put16(v, 6, frag);
		v[8] = 64;
		v[9] = proto;
		std::memcpy(v.data() + 12, src.bytes.data(), 4);
		std::memcpy(v.data() + 16, dst.bytes.data(), 4);
		put16(v, 10, ipv4_checksum(v.data(), 20));
		std::memcpy(v.data() + 20, body.data(), body.size());
		return v;
	}
	std::vector<uint8_t> v(40 + body.size());
	v[0] = 0x60;
	put16(v, 4, static_cast<uint16_t>(body.size()));
	v[6] = proto;
	v[7] = 64;
	std::memcpy(v.data() + 8, src.bytes.data(), 16);
	std::memcpy(v.data() + 24, dst.bytes.data(), 16);
	std::memcpy(v.data() + 40, body.data(), body.size());
	return v;
}

} // namespace

PcapWriter::~PcapWriter() { close(); }

util::Status PcapWriter::open(const std::string& path, Link link)
{
	close();
	f_ = std::fopen(path.c_str(), "wbe");
	if (!f_) {
		int err = errno;
		return util::Status::failure(err, util::describe_errno(path, err));
	}
	link_ = link;
	error_ = false;
	packets_ = 0;
	uint32_t hdr[6];
	hdr[0] = kMagicNs;
	hdr[1] = 2 | (4u << 16); // version 2.4, little-endian fields as written by this host
	hdr[2] = 0;
	hdr[3] = 0;
	hdr[4] = 262144;
	switch (link) {
	case Link::Ethernet:
	case Link::EthernetVlan: hdr[5] = kLinkEthernet; break;
	case Link::Raw: hdr[5] = kLinkRaw; break;
	case Link::Sll: hdr[5] = kLinkSll; break;
	case Link::Sll2: hdr[5] = kLinkSll2; break;
	case Link::Null: hdr[5] = kLinkNull; break;
	}
	error_ = std::fwrite(hdr, sizeof(hdr), 1, f_) != 1;
	if (error_)
		return util::Status::failure(EIO, path + ": cannot write the pcap file header");
	return util::Status::success();
}

bool PcapWriter::close()
{
	if (!f_)
		return !error_;
	bool ok = std::fclose(f_) == 0 && !error_;
	f_ = nullptr;
	return ok;
}

std::vector<uint8_t> PcapWriter::build_ip(const net::IpAddress& src, uint16_t sport, const net::IpAddress& dst,
                                          uint16_t dport, uint8_t proto, std::string_view l4_payload, uint32_t seq,
                                          uint8_t tcp_flags)
{
	return ip_wrap(src, dst, proto, l4(sport, dport, proto, l4_payload, seq, tcp_flags));
}

void PcapWriter::frame(util::TimePoint ts, std::span<const uint8_t> ip, bool v6)
{
	if (!f_)
		return;
	std::vector<uint8_t> fr;
	const uint16_t ethertype = v6 ? 0x86dd : 0x0800;
	switch (link_) {
	case Link::Ethernet:
	case Link::EthernetVlan: {
		bool vlan = link_ == Link::EthernetVlan;
		fr.assign(vlan ? 18 : 14, 0);
		const uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 1}, src_mac[6] = {0x02, 0, 0, 0, 0, 2};
		std::memcpy(fr.data(), dst_mac, 6);
		std::memcpy(fr.data() + 6, src_mac, 6);
		if (vlan) {
			put16(fr, 12, 0x8100); // 802.1Q
			put16(fr, 14, 42);     // VLAN id
			put16(fr, 16, ethertype);
		} else {
			put16(fr, 12, ethertype);
		}
		break;
	}
	case Link::Sll: // LINKTYPE_LINUX_SLL: type, ARPHRD, addr len, addr[8], protocol
		fr.assign(16, 0);
		put16(fr, 2, 1);
		put16(fr, 4, 6);
		put16(fr, 14, ethertype);
		break;
	case Link::Sll2: // LINKTYPE_LINUX_SLL2: protocol, reserved, ifindex, ARPHRD, type, addr len, addr[8]
		fr.assign(20, 0);
		put16(fr, 0, ethertype);
		put32(fr, 4, 2);
		put16(fr, 8, 1);
		fr[11] = 6;
		break;
	case Link::Null: { // LINKTYPE_NULL: AF_ value in the writer's (host) byte order
		uint32_t af = v6 ? 30 : 2;
		fr.resize(4);
		std::memcpy(fr.data(), &af, 4);
		break;
	}
	case Link::Raw:
		break;
	}
	fr.insert(fr.end(), ip.begin(), ip.end());
	auto ns = ts.time_since_epoch().count();
	uint32_t rec[4];
	rec[0] = static_cast<uint32_t>(ns / 1000000000);
	rec[1] = static_cast<uint32_t>(ns % 1000000000);
	rec[2] = static_cast<uint32_t>(fr.size());
	rec[3] = static_cast<uint32_t>(fr.size());
	error_ = error_ || std::fwrite(rec, sizeof(rec), 1, f_) != 1 ||
	         std::fwrite(fr.data(), 1, fr.size(), f_) != fr.size();
	++packets_;
}

void PcapWriter::udp(util::TimePoint ts, const net::IpAddress& src, uint16_t sport, const net::IpAddress& dst,
                     uint16_t dport, std::string_view payload)
{
	auto ip = build_ip(src, sport, dst, dport, 17, payload);
	frame(ts, ip, src.is_v6());
}

void PcapWriter::tcp(util::TimePoint ts, const net::IpAddress& src, uint16_t sport, const net::IpAddress& dst,
                     uint16_t dport, uint32_t seq, uint8_t flags, std::string_view payload)
{
	auto ip = build_ip(src, sport, dst, dport, 6, payload, seq, flags);
	frame(ts, ip, src.is_v6());
}

void PcapWriter::udp_fragmented_v4(util::TimePoint ts, const net::IpAddress& src, uint16_t sport,
                                   const net::IpAddress& dst, uint16_t dport, std::string_view payload,
                                   size_t mtu_payload, uint16_t ip_id)
{
	auto body = l4(sport, dport, 17, payload, 0, 0);
	mtu_payload &= ~size_t(7);
	for (size_t off = 0; off < body.size(); off += mtu_payload) {
		size_t n = std::min(mtu_payload, body.size() - off);
		bool more = off + n < body.size();
		std::vector<uint8_t> part(body.begin() + static_cast<ptrdiff_t>(off),
		                          body.begin() + static_cast<ptrdiff_t>(off + n));
		auto ip = ip_wrap(src, dst, 17, part, ip_id, static_cast<uint16_t>((more ? 0x2000 : 0) | (off / 8)));
		frame(ts, ip, false);
	}
}

} // namespace sipguard::replay
