// SPDX-License-Identifier: GPL-2.0-or-later
// Plugs the call tracker into the engine (engine::CallHook): translates the
// engine's per-message context and the tracker's decisions and pinhole
// updates between the two vocabularies.
#pragma once

#include "agent/calls/tracker.h"
#include "agent/engine/call_hook.h"

namespace sipguard::calls {

class EngineHook final : public engine::CallHook, private Sink {
public:
	explicit EngineHook(Config config) : tracker_(std::move(config), *this) {}

	engine::CallDecision on_sip(const engine::SipContext& ctx, engine::PinholeSink& sink) override;
	void on_tick(util::TimePoint now, engine::PinholeSink& sink) override;

	// A second receiver of every pinhole update (replay's MediaChecker).
	void set_observer(Sink* observer) { observer_ = observer; }

	Tracker& tracker() { return tracker_; }
	const Tracker& tracker() const { return tracker_; }

private:
	void on_pinhole(const PinholeUpdate& u) override;
	void on_finding(const Finding& f) override;

	Tracker tracker_;
	engine::PinholeSink* out_ = nullptr;
	Sink* observer_ = nullptr;
	// The limit reported during the current on_sip (handed to the engine).
	engine::CallLimitReport limit_;
	char limit_subject_[sizeof(Finding::subject)] = {};
	bool limit_set_ = false;
};

} // namespace sipguard::calls
