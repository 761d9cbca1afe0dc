// SPDX-License-Identifier: GPL-2.0-or-later
// FraudGate: one decision per call across its legs, events to the sink.
#include "agent/engine/fraud_gate.h"

#include <fmt/core.h>

namespace sipguard::engine {

namespace {

// A proxy forwards the phone's INVITE within milliseconds; a Call-ID seen
// again towards a trunk after this long is another call.
constexpr util::Duration kLinkWindow = std::chrono::minutes(5);

} // namespace

std::string fraud_reason(const fraud::Event& e)
{
	const std::string_view verdict = fraud::to_string(e.verdict);
	const std::string_view rule(e.rule.data());
	switch (e.reason) {
	case fraud::Reason::Policy: return fmt::format("call {}: rule {}", verdict, rule);
	case fraud::Reason::BadNumber: return fmt::format("call {}: bad-number list {}", verdict, rule);
	case fraud::Reason::Pattern:
		return fmt::format("call {}: {} {} ({} of {})", verdict, rule, e.critical ? "critical" : "warning", e.count,
		                   e.threshold);
	case fraud::Reason::Locked: return fmt::format("call {}: account locked", verdict);
	case fraud::Reason::None: break;
	}
	return fmt::format("call {}", verdict);
}

FraudGate::FraudGate(fraud::Guard& guard, FraudEvents* events)
	: guard_(guard), events_(events), linked_(kLinkedCalls)
{
}

bool FraudGate::decide(const fraud::CallAttempt& a, util::TimePoint now, fraud::Decision& out)
{
	const uint64_t hash = guard_.call_hash(a.call_id);
	const uint64_t key = hash | 1;
	{
		std::lock_guard lock(mu_);
		const uint32_t s = linked_.find(key, [&](const Linked& l) { return l.key == key; });
		if (a.direction == fraud::CallDirection::ToTrunk) {
			if (s != util::kNoSlot && now - linked_[s].at <= kLinkWindow)
				return false; // the phone's leg of this call was decided
		} else if (s == util::kNoSlot) {
			const uint32_t n = linked_.insert(key);
			linked_[n] = Linked{key, now};
		} else {
			linked_[s].at = now;
			linked_.touch(s);
		}
	}
	guard_.decide(a, hash, now, out);
	decisions_[static_cast<size_t>(out.verdict)][static_cast<size_t>(out.event.number_class)].fetch_add(
		1, std::memory_order_relaxed);
	if (out.has_event && events_)
		events_->on_fraud(out.event);
	return true;
}

} // namespace sipguard::engine
