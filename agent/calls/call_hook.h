// SPDX-License-Identifier: GPL-2.0-or-later
// The interface the engine calls for every valid SIP message: the call
// tracker's side of the engine, defined here so that the engine depends on
// agent/calls and never the other way round.
#pragma once

#include <cstdint>
#include <string_view>

#include "agent/calls/events.h"
#include "agent/net/ip_address.h"
#include "agent/sip/message.h"
#include "agent/util/clock.h"
#include "nfq/packet_view.h"

namespace sipguard::calls {

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

} // namespace sipguard::calls
