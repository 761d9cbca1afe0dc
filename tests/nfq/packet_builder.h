// SPDX-License-Identifier: GPL-2.0-or-later
// Hand-built IPv4/IPv6 + UDP/TCP packets for the decoder tests.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace sipguard::nfq::test {

using Bytes = std::vector<uint8_t>;

inline void put16(Bytes& b, size_t at, uint16_t v)
{
	b[at] = static_cast<uint8_t>(v >> 8);
	b[at + 1] = static_cast<uint8_t>(v);
}

inline void put32(Bytes& b, size_t at, uint32_t v)
{
	put16(b, at, static_cast<uint16_t>(v >> 16));
	put16(b, at + 2, static_cast<uint16_t>(v));
}

inline Bytes udp(uint16_t sport, uint16_t dport, std::string_view payload)
{
	Bytes b(8 + payload.size());
	put16(b, 0, sport);
	put16(b, 2, dport);
	put16(b, 4, static_cast<uint16_t>(b.size()));
	for (size_t i = 0; i < payload.size(); ++i)
		b[8 + i] = static_cast<uint8_t>(payload[i]);
	return b;
}

inline Bytes tcp(uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags, std::string_view payload,
                 size_t option_bytes = 0)
{
	size_t hl = 20 + option_bytes;
	Bytes b(hl + payload.size());
	put16(b, 0, sport);
	put16(b, 2, dport);
	put32(b, 4, seq);
	b[12] = static_cast<uint8_t>((hl / 4) << 4);
	b[13] = flags;
	for (size_t i = 20; i < hl; ++i)
		b[i] = 1; // NOP options
	for (size_t i = 0; i < payload.size(); ++i)
		b[hl + i] = static_cast<uint8_t>(payload[i]);
	return b;
}

// IPv4 header (with `option_bytes` of NOP options, a multiple of 4) + l4.
inline Bytes ipv4(uint8_t proto, const Bytes& l4, size_t option_bytes = 0, uint16_t frag = 0)
{
	size_t hl = 20 + option_bytes;
	Bytes b(hl + l4.size());
	b[0] = static_cast<uint8_t>(0x40 | (hl / 4));
	put16(b, 2, static_cast<uint16_t>(b.size()));
	put16(b, 6, frag);
	b[8] = 64;
	b[9] = proto;
	b[12] = 192, b[13] = 0, b[14] = 2, b[15] = 10;  // 192.0.2.10
	b[16] = 198, b[17] = 51, b[18] = 100, b[19] = 5; // 198.51.100.5
	for (size_t i = 20; i < hl; ++i)
		b[i] = 1;
	std::copy(l4.begin(), l4.end(), b.begin() + static_cast<long>(hl));
	return b;
}

struct Ext {
	uint8_t type;  // 0 hop-by-hop, 43 routing, 60 dest opts, 44 fragment, 51 AH
	size_t length; // total bytes of this header (multiple of 8; 8 for fragment)
	uint16_t frag_offlg = 0;
};

// IPv6 header 2001:db8::1 -> 2001:db8::2, then `exts` in order, then l4.
inline Bytes ipv6(uint8_t proto, const Bytes& l4, const std::vector<Ext>& exts = {})
{
	Bytes b(40);
	b[0] = 0x60;
	b[7] = 64;
	b[8] = 0x20, b[9] = 0x01, b[10] = 0x0d, b[11] = 0xb8, b[23] = 1;
	b[24] = 0x20, b[25] = 0x01, b[26] = 0x0d, b[27] = 0xb8, b[39] = 2;
	size_t next_at = 6;
	for (const Ext& e : exts) {
		b[next_at] = e.type;
		size_t at = b.size();
		b.resize(at + e.length);
		next_at = at;
		if (e.type == 44)
			put16(b, at + 2, e.frag_offlg);
		else if (e.type == 51)
			b[at + 1] = static_cast<uint8_t>(e.length / 4 - 2);
		else
			b[at + 1] = static_cast<uint8_t>(e.length / 8 - 1);
	}
	b[next_at] = proto;
	b.insert(b.end(), l4.begin(), l4.end());
	put16(b, 4, static_cast<uint16_t>(b.size() - 40));
	return b;
}

} // namespace sipguard::nfq::test
