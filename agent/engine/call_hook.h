// SPDX-License-Identifier: GPL-2.0-or-later
// The hook through which the engine hands every valid SIP message to the call
// tracker (agent/calls) and receives pinhole updates and in-dialog verdicts.
// Header-only and free of engine internals, so agent/calls can implement it
// without linking the engine.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "agent/detect/finding.h"
#include "agent/net/ip_address.h"
#include "agent/sip/message.h"
#include "nfq/packet_view.h"

namespace sipguard::engine {

// One valid SIP message as the engine saw it.
struct SipContext {
	const nfq::PacketView& packet;
	nfq::Direction direction;
	const sip::Message& message;
	util::TimePoint now;
	const net::IpAddress& remote; // packet.remote(direction)
	bool remote_trusted;          // in policy.trusted
	bool remote_allowlisted;      // in policy.allowlist or policy.trusted
};

// A media pinhole change: `remote . local_port` in @media4/@media6.
struct PinholeEvent {
	enum class Op : uint8_t { Open, Refresh, Close };
	Op op = Op::Open;
	net::IpAddress remote;
	uint16_t local_port = 0;
	uint16_t remote_port = 0;        // informational (the set key has no remote port)
	std::chrono::milliseconds timeout{0}; // kernel element timeout for Open/Refresh
	uint64_t call_hash = 0;          // hash of (remote signalling address, Call-ID)
	std::string_view reason;         // static: "answer", "bye", "cancel", "timeout", ...
	util::TimePoint at{};
};

inline std::string_view to_string(PinholeEvent::Op op)
{
	switch (op) {
	case PinholeEvent::Op::Open: return "open";
	case PinholeEvent::Op::Refresh: return "refresh";
	case PinholeEvent::Op::Close: return "close";
	}
	return "?";
}

class PinholeSink {
public:
	virtual ~PinholeSink() = default;
	virtual void on_pinhole(const PinholeEvent& e) = 0;
};

// A call limit hit while handling the message (the tracker reports each
// limited key at most once a minute). The engine logs it as a `call-limit`
// finding against the packet's source (banned only with
// detect.call_limit.ban). Views stay valid until the next on_sip call.
struct CallLimitReport {
	std::string_view reason;  // static: "concurrent calls at the limit", ...
	std::string_view scope;   // static: "source", "user", "trunk"
	std::string_view subject; // user or trunk name (may be empty)
	uint32_t count = 0;
	uint32_t limit = 0;
};

// What the tracker wants done with the message.
struct CallDecision {
	bool drop = false;       // e.g. BYE/CANCEL/re-INVITE/REFER from a non-party of the dialog
	bool offence = false;    // counts towards a ForgedControl ban of the remote (untrusted only)
	std::string_view reason; // static text, e.g. "BYE from non-party"
	const CallLimitReport* limit = nullptr; // set when a call limit was reported
};

class CallHook {
public:
	virtual ~CallHook() = default;
	// Called for every valid SIP message, both directions, after the
	// detectors; never for sources already being dropped. Must not throw or
	// allocate per message in steady state.
	virtual CallDecision on_sip(const SipContext& ctx, PinholeSink& sink) = 0;
	// Called from Engine::on_tick (about once a second): dialog timeouts.
	virtual void on_tick(util::TimePoint now, PinholeSink& sink) = 0;
};

} // namespace sipguard::engine
