// SPDX-License-Identifier: GPL-2.0-or-later
// Payloads that are not SIP: STUN, blank keep-alives, text that is no start
// line (internal to parser.cpp).
#pragma once

#include <cstddef>
#include <string_view>

#include "agent/sip/parse/chars.h"

namespace sipguard::sip {

namespace {

// STUN (RFC 5389 §6): first two bits zero, magic cookie 0x2112A442 at offset
// 4; classic STUN (RFC 3489) has no cookie but a 20-byte header whose length
// field covers the rest of the datagram.
bool looks_like_stun(std::string_view d)
{
	if (d.size() < 20)
		return false;
	const auto* b = reinterpret_cast<const unsigned char*>(d.data());
	if ((b[0] & 0xC0) != 0)
		return false;
	if (b[4] == 0x21 && b[5] == 0x12 && b[6] == 0xA4 && b[7] == 0x42)
		return true;
	const size_t len = (static_cast<size_t>(b[2]) << 8) | b[3];
	return b[0] <= 0x01 && len + 20 == d.size() && (len % 4) == 0;
}

bool is_blank_keepalive(std::string_view d)
{
	if (d.size() > 32)
		return false;
	for (char c : d)
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n' && c != '\0')
			return false;
	return true;
}

bool all_text(std::string_view s)
{
	for (char ch : s)
		if (!is(ch, kText))
			return false;
	return true;
}

} // namespace

} // namespace sipguard::sip
