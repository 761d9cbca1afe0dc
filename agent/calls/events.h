// SPDX-License-Identifier: GPL-2.0-or-later
// What the call tracker emits: pinhole updates for the rules writer and
// findings for the ban manager, through a sink the engine provides.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "agent/net/ip_address.h"
#include "agent/util/clock.h"

namespace sipguard::calls {

enum class PinholeOp : uint8_t {
	Open,    // add `remote . local_port` to @media4/@media6 with `timeout`
	Refresh, // the element exists; reset its timeout to `timeout`
	Close,   // delete the element
};
std::string_view to_string(PinholeOp op);

// A media pinhole change: `remote . local_port` in @media4/@media6. The one
// pinhole type: the tracker emits it, the engine's sink, the daemon (rules
// writer), replay and MediaChecker consume it.
struct PinholeUpdate {
	PinholeOp op = PinholeOp::Open;
	net::IpAddress remote;    // remote media source (set key part 1: saddr)
	uint16_t local_port = 0;  // local RTP or RTCP port (set key part 2: dport)
	std::chrono::seconds timeout{0};
	uint16_t remote_port = 0; // informational: the remote's SDP port (0 for the signalling address)
	uint64_t call_hash = 0;   // hash of (remote signalling address, Call-ID)
	std::string_view reason;  // static: "answer", "offer", "hold", "bye", "cancel", "failure", "timeout", "evicted", "refresh"
	util::TimePoint at{};     // when the tracker decided it
};

// A `call-limit` finding: an INVITE was dropped because a limit was reached.
// (Forged in-dialog requests are reported per request through the Decision;
// the engine's forged-control detector counts them.) At most one finding per
// limited key and minute.
struct Finding {
	net::IpAddress source;
	uint32_t count = 0;        // concurrent calls or attempts in the current minute
	uint32_t limit = 0;        // the configured limit
	std::string_view reason;   // static: "concurrent calls at the limit", "call attempts per minute at the limit"
	std::string_view scope;    // "source", "user", "trunk"
	char subject[64] = {};     // NUL-terminated copy: user name or trunk name (truncated)
	util::TimePoint at{};
};

class PinholeSink {
public:
	virtual ~PinholeSink() = default;
	virtual void on_pinhole(const PinholeUpdate& update) = 0;
};

// Where the tracker sends what it decides.
class Sink : public PinholeSink {
public:
	virtual void on_finding(const Finding& finding) = 0;
};

} // namespace sipguard::calls
