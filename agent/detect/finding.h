// SPDX-License-Identifier: GPL-2.0-or-later
// What a detector reports: the offending source, which detector, why, and the
// evidence (counts, window, samples) that the ban log and `explain` show.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/net/ip_address.h"
#include "agent/util/clock.h"

namespace sipguard::detect {

// The clock types' older names, still used by agent/detect/config.h,
// agent/engine/config.h and agent/daemon; code here says util::.
using util::Duration;
using util::Millis;
using util::TimePoint;

enum class Detector : uint8_t {
	Scanner,
	Enumeration,
	BruteForce,
	Flood,
	Malformed,
	ForgedControl, // NOTIFY check-sync from an untrusted source; calls hook offences
	Manual,        // operator `sipguard ban`
	CallLimit,     // a call limit of the call tracker (agent/calls) was hit
	Account,       // an account, not a source: a blocked (source, account) pair, a guarded account, throttling
	Fraud,         // the toll-fraud guard (agent/fraud): a denied call, a locked account
};
inline constexpr size_t kDetectorCount = 10;
std::string_view to_string(Detector d);
bool detector_from_string(std::string_view text, Detector& out);

// Fixed-size evidence so that building a finding never allocates (a flood of
// spoofed sources can produce many). Names are static strings (string
// literals); sample text is copied and truncated.
struct Evidence {
	static constexpr size_t kMaxCounts = 8;
	static constexpr size_t kMaxSamples = 8;
	static constexpr size_t kSampleBytes = 48;

	struct Count {
		std::string_view name; // static
		int64_t value = 0;
	};
	struct Sample {
		std::string_view name; // static: "user", "user_agent", "method", ...
		std::array<char, kSampleBytes> text{};
		uint8_t len = 0;
		std::string_view view() const { return {text.data(), len}; }
	};

	std::array<Count, kMaxCounts> counts{};
	uint8_t count_n = 0;
	std::array<Sample, kMaxSamples> samples{};
	uint8_t sample_n = 0;
	util::Millis window{0}; // the detector's window (0: instantaneous, e.g. a signature)

	void add_count(std::string_view static_name, int64_t value);
	// Control characters and non-ASCII bytes are replaced by '?', so the
	// sample is safe in JSON and on a terminal; longer text is truncated.
	void add_sample(std::string_view static_name, std::string_view text);

	// {"window_s":60,"distinct_users":8,...,"samples":{"user":["100","101"]}}
	void append_json(std::string& out) const;
	// "distinct_users=8 failures=8 users=100,101 ua=friendly-scanner"
	void append_text(std::string& out) const;
};

struct Finding {
	net::IpAddress source;   // the packet's source address (never a header value)
	uint8_t prefix_len = 0;  // 32/128 for a host; 24/64 for a prefix finding
	Detector detector = Detector::Manual;
	std::string_view reason; // static text, e.g. "scanner user-agent"
	util::TimePoint at{};
	Evidence evidence;
	// Drop the packet that produced the finding even in dry-run? No: dry-run
	// never drops. This only says the detector wants the source banned
	// (false for informational findings, e.g. a suppressed allowlisted one).
	bool wants_ban = true;
};

} // namespace sipguard::detect
