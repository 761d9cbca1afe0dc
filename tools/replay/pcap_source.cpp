// SPDX-License-Identifier: GPL-2.0-or-later
// Capture reader: link layers, IP-in-IP and fragments down to IP packets.
#include "tools/replay/pcap_source.h"

#include <optional>

#include <fmt/core.h>

namespace sipguard::replay {

namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// Link types by their LINKTYPE_/DLT_ numbers (tcpdump.org/linktypes.html);
// libpcap maps LINKTYPE_RAW (101) to DLT_RAW, whose value is 12 or 14
// depending on the platform, so both are accepted.
constexpr int kNull = 0, kEthernet = 1, kRaw12 = 12, kRaw14 = 14, kRaw101 = 101, kLoop = 108, kSll = 113,
              kIpv4 = 228, kIpv6 = 229, kSll2 = 276;

constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86dd;

bool is_ip_ethertype(uint16_t t) { return t == kEtherIpv4 || t == kEtherIpv6; }

// IP-in-IP (RFC 2003, protocol 4) and IPv6-in-IP (protocol 41): returns the
// inner packet, or an empty span when `ip` is not a tunnel.
std::span<const uint8_t> inner_packet(std::span<const uint8_t> ip)
{
	if (ip.size() < 20)
		return {};
	const uint8_t* p = ip.data();
	if ((p[0] >> 4) == 4) {
		size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
		size_t total = be16(p + 2);
		uint16_t frag = be16(p + 6);
		if ((p[9] != 4 && p[9] != 41) || (frag & 0x3fff) || ihl < 20 || total < ihl || total > ip.size())
			return {};
		return ip.subspan(ihl, total - ihl);
	}
	if ((p[0] >> 4) == 6 && ip.size() >= 40) {
		if (p[6] != 4 && p[6] != 41)
			return {};
		size_t end = std::min(ip.size(), static_cast<size_t>(40 + be16(p + 4)));
		return ip.subspan(40, end - 40);
	}
	return {};
}

} // namespace

util::Status PcapSource::open(const std::string& path)
{
	char errbuf[PCAP_ERRBUF_SIZE] = {};
	pcap_t* p = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p)
		return util::Status::invalid(fmt::format("{}: {}", path, errbuf));
	handle_ = PcapHandle(p);
	linktype_ = pcap_datalink(p);
	switch (linktype_) {
	case kNull: case kEthernet: case kRaw12: case kRaw14: case kRaw101: case kLoop: case kSll: case kIpv4:
	case kIpv6: case kSll2:
		return util::Status::success();
	default:
		util::Status st = util::Status::invalid(
			fmt::format("{}: unsupported link type {} ({})", path, linktype_,
		                    pcap_datalink_val_to_name(linktype_) ? pcap_datalink_val_to_name(linktype_) : "?"));
		handle_ = PcapHandle();
		return st;
	}
}

bool PcapSource::strip_link(std::span<const uint8_t> f, std::span<const uint8_t>& ip)
{
	const uint8_t* p = f.data();
	size_t off = 0;
	std::optional<uint16_t> type; // the link header's EtherType, where it has one
	switch (linktype_) {
	case kEthernet:
		if (f.size() < 14)
			return false;
		off = 14;
		type = be16(p + 12);
		// 802.1Q / 802.1ad / QinQ tags.
		while ((type == 0x8100 || type == 0x88a8 || type == 0x9100) && off + 4 <= f.size()) {
			type = be16(p + off + 2);
			off += 4;
		}
		break;
	case kSll: // Linux cooked v1: 16 bytes, the protocol at 14
		if (f.size() < 16)
			return false;
		type = be16(p + 14);
		off = 16;
		break;
	case kSll2: // v2: 20 bytes, the protocol first
		if (f.size() < 20)
			return false;
		type = be16(p);
		off = 20;
		break;
	case kNull:
	case kLoop:
		// 4-byte address family, in host (NULL) or network (LOOP) order;
		// the IP version nibble is checked below instead of the AF value,
		// which differs between BSDs for IPv6 (24, 28, 30).
		off = 4;
		break;
	default: // raw IP
		off = 0;
		break;
	}
	if ((type && !is_ip_ethertype(*type)) || f.size() <= off)
		return false;
	ip = f.subspan(off);
	uint8_t v = ip[0] >> 4;
	return v == 4 || v == 6;
}

bool PcapSource::next(std::span<const uint8_t>& ip, util::TimePoint& ts, uint64_t& frame_no)
{
	if (!handle_.get())
		return false;
	for (;;) {
		struct pcap_pkthdr* h = nullptr;
		const u_char* data = nullptr;
		int rc = pcap_next_ex(handle_.get(), &h, &data);
		if (rc != 1)
			return false; // -2 end of file; -1 read error (truncated file): stop there
		++frame_no_;
		++counters_.frames;
		ts = util::TimePoint(std::chrono::seconds(h->ts.tv_sec) + std::chrono::nanoseconds(h->ts.tv_usec));
		std::span<const uint8_t> frame(data, h->caplen);
		std::span<const uint8_t> pkt;
		if (!strip_link(frame, pkt)) {
			++counters_.non_ip;
			continue;
		}
		bool usable = true;
		for (int depth = 0; depth < 4; ++depth) {
			std::span<const uint8_t> whole;
			auto r = reasm_.feed(pkt, ts, whole);
			if (r == Reassembler::Result::Pending || r == Reassembler::Result::Dropped) {
				++counters_.fragments;
				usable = false;
				break;
			}
			if (r == Reassembler::Result::Complete) {
				++counters_.fragments;
				++counters_.reassembled;
				pkt = whole;
			}
			auto inner = inner_packet(pkt);
			if (inner.empty())
				break;
			++counters_.tunnels;
			pkt = inner;
		}
		if (!usable)
			continue;
		ip = pkt;
		frame_no = frame_no_;
		return true;
	}
}

} // namespace sipguard::replay
