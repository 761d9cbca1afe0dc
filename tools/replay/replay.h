// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard replay`: runs the engine over a capture with the capture's
// timestamps as the clock and reports every finding, ban, verdict change and
// pinhole in packet order, then a summary. Deterministic.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/calls/config.h"
#include "agent/calls/media_checker.h"
#include "agent/detect/finding.h"
#include "agent/engine/config.h"
#include "agent/engine/engine.h"
#include "agent/fraud/config.h"
#include "agent/net/ip_address.h"

namespace sipguard::replay {

struct Event {
	enum class Kind : uint8_t { Finding, Ban, PrefixBan, Unban, Expire, Verdict, Pinhole, Fraud };
	Kind kind = Kind::Finding;
	uint64_t packet = 0;           // frame number in the capture (0 for end-of-capture expiry)
	util::TimePoint ts{};
	double offset_s = 0;           // seconds since the first packet
	net::Cidr target;
	detect::Detector detector = detect::Detector::Manual;
	std::string reason;
	std::string outcome;           // findings: banned/dry_run/allowlisted/...; verdicts: drop/accept; fraud: the guard's verdict
	std::string evidence_json = "{}";
	std::string evidence_text;
	int64_t duration_s = 0;
	uint32_t offence_count = 0;
	uint16_t local_port = 0;       // pinholes
};
std::string_view to_string(Event::Kind k);

struct Summary {
	uint64_t frames = 0;
	uint64_t ip_packets = 0;
	uint64_t inbound = 0;
	uint64_t outbound = 0;
	uint64_t skipped_not_local = 0;   // neither address is --local
	uint64_t skipped_local_both = 0;  // both are
	uint64_t skipped_not_sip_port = 0; // local port not in sip_ports (RTP, ...)
	uint64_t decode_errors = 0;
	uint64_t non_ip = 0;
	uint64_t reassembled = 0;
	uint64_t tunnels = 0;
	uint64_t drops = 0;               // packets the engine dropped
	uint64_t bans = 0;
	uint64_t prefix_bans = 0;
	uint64_t pinholes = 0;
	// --check-media (calls::MediaChecker): UDP media to a local address
	// inside / outside a pinhole open at that moment.
	bool media_checked = false;
	uint64_t media_inside = 0;
	uint64_t media_outside = 0;
	uint64_t media_after_close = 0; // of media_outside: in flight when the call's pinhole closed
	engine::EngineCounters engine;
};

struct Options {
	std::vector<net::IpAddress> local;
	// Local SIP ports: like the daemon's queue rule, only packets whose
	// local port is one of these reach the engine (RTP and the rest are
	// skipped and counted).
	std::vector<uint16_t> sip_ports{5060};
	std::shared_ptr<const engine::Config> config; // null = defaults
	bool json = false;
	FILE* out = nullptr;       // events and summary printed here; null = collect only
	bool track_calls = true;   // attach the call tracker (pinholes)
	std::shared_ptr<const calls::Config> calls_config; // null = defaults
	// Check every media packet to a local address against the pinholes the
	// tracker had open at that moment (needs track_calls).
	std::optional<calls::MediaSelector> check_media;
	// The toll-fraud guard's settings ([fraud]); null or not enabled: off.
	std::shared_ptr<const fraud::Config> fraud_config;
};

struct Result {
	bool ok = false;
	std::string error;   // "FILE: reason" when !ok
	std::vector<Event> events;
	Summary summary;
};

Result run(const std::string& path, const Options& options);

// Printing, shared by the command and tests.
std::string format_event(const Event& e, bool json);
std::string format_summary(const Summary& s, bool json);

} // namespace sipguard::replay
