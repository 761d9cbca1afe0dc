// SPDX-License-Identifier: GPL-2.0-or-later
// The call tracker behind the engine's CallHook: turns the engine's
// per-message context into the tracker's, and the tracker's decisions and
// findings into the engine's CallDecision.
#pragma once

#include "agent/calls/call_hook.h"
#include "agent/calls/tracker.h"

namespace sipguard::calls {

class EngineHook final : public CallHook, private Sink {
public:
	// `shared`: see Tracker (the daemon's shards pass one table).
	explicit EngineHook(Config config, SharedLimits* shared = nullptr) : tracker_(std::move(config), *this, shared) {}

	CallDecision on_sip(const SipContext& ctx, PinholeSink& sink) override;
	void on_tick(util::TimePoint now, PinholeSink& sink) override;

	// A second receiver of every pinhole update (replay's MediaChecker).
	void set_observer(Sink* observer) { observer_ = observer; }

	Tracker& tracker() { return tracker_; }
	const Tracker& tracker() const { return tracker_; }

private:
	void on_pinhole(const PinholeUpdate& u) override;
	void on_finding(const Finding& f) override;

	Tracker tracker_;
	PinholeSink* out_ = nullptr;
	Sink* observer_ = nullptr;
	// The limit reported during the current on_sip (handed to the engine).
	CallLimitReport limit_;
	char limit_subject_[sizeof(Finding::subject)] = {};
	bool limit_set_ = false;
};

} // namespace sipguard::calls
