// SPDX-License-Identifier: GPL-2.0-or-later
// Zero-copy SDP parser (RFC 4566, RFC 3605 a=rtcp, RFC 3264 hold): only what
// the call tracker needs to open media pinholes.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "agent/net/ip_address.h"

namespace sipguard::sip::sdp {

inline constexpr size_t kMaxMedia = 8;      // m= lines kept; more is malformed
inline constexpr size_t kMaxSdpBytes = 16384;

enum class Direction : uint8_t { SendRecv, SendOnly, RecvOnly, Inactive };
std::string_view to_string(Direction d);

struct Media {
	std::string_view type;   // "audio", "video", "application", ...
	uint16_t port = 0;       // 0: stream rejected or removed
	uint16_t port_count = 1; // m=audio 49170/2 -> 2
	std::string_view proto;  // "RTP/AVP", "RTP/SAVP", "UDP/TLS/RTP/SAVPF", ...
	net::IpAddress address;  // media-level c= or else session-level c=; unspecified = hold (0.0.0.0)
	uint16_t rtcp_port = 0;  // a=rtcp port, 0 when absent (RTCP then uses port+1)
	net::IpAddress rtcp_address; // a=rtcp address when given, else invalid
	Direction direction = Direction::SendRecv; // media-level, else session-level
	bool rtcp_mux = false;   // a=rtcp-mux

	bool on_hold() const { return address.is_unspecified() || direction == Direction::Inactive || direction == Direction::SendOnly; }
};

struct Session {
	net::IpAddress connection; // session-level c=, invalid when absent
	net::IpAddress origin;     // o= address
	Direction direction = Direction::SendRecv;
	std::array<Media, kMaxMedia> media{}; // only media[0, media_count) are meaningful
	uint8_t media_count = 0;

	// Empties the session for reuse. Media slots past media_count are never
	// read and are written whole when an m= line fills them, so only the
	// session-level fields are reset (a tenth of the struct; the parser
	// calls this once per SIP message).
	void clear()
	{
		connection = {};
		origin = {};
		direction = Direction::SendRecv;
		media_count = 0;
	}
};

enum class Error : uint8_t { None, Empty, BadLine, BadConnection, BadMedia, TooManyMedia, Oversized, NoConnection };
std::string_view to_string(Error e);

// Parses an SDP body. Lines may end in CRLF or LF. Returns Error::None on success.
Error parse(std::string_view body, Session& out);

} // namespace sipguard::sip::sdp
