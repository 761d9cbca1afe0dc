// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the IP/UDP/TCP decoder: raw IPv4/IPv6 packets with
// options, extension headers and fragments, as an attacker can send them.
#include <cstddef>
#include <cstdint>
#include <span>

#include "nfq/decode.h"

using namespace sipguard;

namespace {

void check_inside(std::span<const uint8_t> buf, std::span<const uint8_t> v)
{
	if (v.empty())
		return;
	if (v.data() < buf.data() || v.data() + v.size() > buf.data() + buf.size())
		__builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const std::span<const uint8_t> in(data, size);
	nfq::PacketView p;
	const nfq::DecodeStatus st = nfq::decode_ip(in, p);
	check_inside(in, p.payload);
	switch (st) {
	case nfq::DecodeStatus::Ok:
		// A decoded packet has both addresses of one family and a transport.
		if (!p.src.valid() || !p.dst.valid() || p.src.is_v4() != p.dst.is_v4())
			__builtin_trap();
		if (p.l4 != nfq::L4::Udp && p.l4 != nfq::L4::Tcp)
			__builtin_trap();
		if (p.fragment)
			__builtin_trap();
		break;
	case nfq::DecodeStatus::Fragment:
		// A non-first fragment carries no ports and no payload to judge.
		if (!p.fragment || p.sport != 0 || p.dport != 0)
			__builtin_trap();
		break;
	default:
		break;
	}
	// Decoding is a pure function of the bytes.
	nfq::PacketView q;
	if (nfq::decode_ip(in, q) != st || q.payload.data() != p.payload.data() || q.payload.size() != p.payload.size())
		__builtin_trap();
	// As if the queue's copy range had cut the packet: a whole packet decodes
	// as before; only a UDP datagram's start may decode where it did not,
	// and then only as a partial one.
	nfq::PacketView c;
	const nfq::DecodeStatus cst = nfq::decode_ip(in, c, /*capture_cut=*/true);
	check_inside(in, c.payload);
	if (st == nfq::DecodeStatus::Ok && (cst != st || c.payload.data() != p.payload.data() ||
	                                     c.payload.size() != p.payload.size() || c.first_fragment != p.first_fragment))
		__builtin_trap();
	if (st != nfq::DecodeStatus::Ok && cst == nfq::DecodeStatus::Ok && (c.l4 != nfq::L4::Udp || !c.first_fragment))
		__builtin_trap();
	return 0;
}
