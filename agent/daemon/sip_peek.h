// SPDX-License-Identifier: GPL-2.0-or-later
// A look at the first bytes of a datagram to count SIP requests by method and
// responses by status class for the metrics, without a second full parse
// (the engine parses; it does not export per-method counts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace sipguard::daemon {

inline constexpr std::string_view kPeekMethodNames[] = {
	"INVITE", "ACK",     "BYE",   "CANCEL", "REGISTER", "OPTIONS", "NOTIFY", "SUBSCRIBE",
	"MESSAGE", "INFO", "PRACK", "UPDATE", "REFER",    "PUBLISH", "other"};
inline constexpr size_t kPeekMethodCount = std::size(kPeekMethodNames);

struct SipPeek {
	int method = -1;         // index into kPeekMethodNames; -1 = not a request
	uint8_t status_class = 0; // 1..6 for a response, else 0
};

// "SIP/2.0 404 ..." -> class 4; "INVITE sip:..." -> INVITE; an uppercase
// token followed by a space and "sip:"/"sips:"/"tel:" -> other; anything else
// (keep-alives, TCP continuation segments, garbage) -> neither.
SipPeek peek_sip(std::span<const uint8_t> payload);

} // namespace sipguard::daemon
