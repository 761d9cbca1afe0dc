// SPDX-License-Identifier: GPL-2.0-or-later
// The engine's side of the toll-fraud guard (agent/fraud): one FraudGate
// shared by every shard around the one fraud::Guard. It decides each call
// once even when sipguard sees both of its legs (a proxying PBX forwards the
// phone's INVITE to the trunk with the same Call-ID) and hands every event to
// a thread-safe sink (the daemon's ban log, replay's output).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "agent/fraud/guard.h"
#include "agent/util/clock.h"
#include "agent/util/lru_table.h"

namespace sipguard::engine {

// The ban log's and replay's reason for a fraud event: "call deny: rule
// default-deny-satellite", "call deny-and-lock: calls_per_minute critical
// (60 of 60)", ...
std::string fraud_reason(const fraud::Event& e);

// Receives every fraud event (warnings, denials, locks) from any shard's
// thread: it must be thread-safe.
class FraudEvents {
public:
	virtual ~FraudEvents() = default;
	virtual void on_fraud(const fraud::Event& e) = 0;
};

class FraudGate {
public:
	// Call-IDs decided on the phone's leg, remembered to recognise the same
	// call leaving towards the trunk (an LRU of hashes, no strings).
	static constexpr size_t kLinkedCalls = 8192;

	// `guard` and `events` (may be null) must outlive the gate. Call-IDs
	// are hashed once, with the guard's seed, for the gate and the guard.
	FraudGate(fraud::Guard& guard, FraudEvents* events);

	// Decides `a` unless it is the trunk leg of a call decided on its phone
	// leg (same Call-ID): then returns false and `out` is untouched.
	bool decide(const fraud::CallAttempt& a, util::TimePoint now, fraud::Decision& out);
	// `ref` is the decision's Decision::call when the caller kept it.
	void on_answered(std::string_view call_id, util::TimePoint now, const fraud::CallRef& ref = {})
	{
		guard_.on_answered(call_id, now, ref);
	}
	void on_ended(std::string_view call_id, util::TimePoint now, const fraud::CallRef& ref = {})
	{
		guard_.on_ended(call_id, now, ref);
	}
	void on_tick(util::TimePoint now) { guard_.on_tick(now); }

	// Decisions by verdict and number class (the metrics' labels), as
	// decided here: linked trunk legs and retransmissions are not counted.
	uint64_t decisions(fraud::Verdict v, fraud::NumberClass c) const
	{
		return decisions_[static_cast<size_t>(v)][static_cast<size_t>(c)].load(std::memory_order_relaxed);
	}

	fraud::Guard& guard() { return guard_; }
	const fraud::Guard& guard() const { return guard_; }
	void set_events(FraudEvents* events) { events_ = events; }

private:
	struct Linked {
		uint64_t key = 0;
		util::TimePoint at{};
	};

	fraud::Guard& guard_;
	FraudEvents* events_;
	std::mutex mu_;
	util::LruTable<Linked> linked_;
	std::array<std::array<std::atomic<uint64_t>, fraud::kNumberClassCount>, fraud::kVerdictCount> decisions_{};
};

} // namespace sipguard::engine
