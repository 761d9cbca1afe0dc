// SPDX-License-Identifier: GPL-2.0-or-later
// calls::CallHook implementation over calls::Tracker.
#include "agent/calls/engine_hook.h"

#include <cstring>

#include "agent/util/log.h"

namespace sipguard::calls {

CallDecision EngineHook::on_sip(const SipContext& ctx, PinholeSink& sink)
{
	out_ = &sink;
	MessageContext mc;
	mc.remote = ctx.remote;
	mc.direction = ctx.direction;
	mc.now = ctx.now;
	// Allowlisted sources are never dropped by policy; trusted ones are peers.
	mc.trusted = ctx.remote_trusted || ctx.remote_allowlisted;
	limit_set_ = false;
	const Decision d = tracker_.on_message(ctx.message, mc);
	out_ = nullptr;

	CallDecision out;
	if (limit_set_)
		out.limit = &limit_; // the engine logs it as a call-limit finding
	switch (d) {
	case Decision::Accept:
		break;
	case Decision::DropForged:
		out.drop = true;
		out.offence = true; // counted by detect's forged-control towards a ban
		out.reason = tracker_.last_reason();
		break;
	case Decision::DropUnknownDialog:
	case Decision::DropCallLimit:
		out.drop = true;
		out.reason = tracker_.last_reason();
		break;
	}
	return out;
}

void EngineHook::on_tick(util::TimePoint now, PinholeSink& sink)
{
	out_ = &sink;
	tracker_.on_tick(now);
	out_ = nullptr;
}

void EngineHook::on_pinhole(const PinholeUpdate& u)
{
	if (observer_)
		observer_->on_pinhole(u);
	if (out_)
		out_->on_pinhole(u);
}

void EngineHook::on_finding(const Finding& f)
{
	if (observer_)
		observer_->on_finding(f);
	if (out_) { // inside on_sip: pass it to the engine
		std::memcpy(limit_subject_, f.subject, sizeof(limit_subject_));
		limit_subject_[sizeof(limit_subject_) - 1] = 0;
		limit_ = CallLimitReport{f.reason, f.scope, std::string_view(limit_subject_), f.count, f.limit};
		limit_set_ = true;
	}
	// The tracker reports each limited key at most once a minute, so this
	// line is already rate-limited.
	char addr[64];
	size_t n = f.source.format(addr, sizeof(addr));
	if (f.subject[0])
		LOG(Calls, Warning, "call-limit: INVITE from {} dropped: {} \"{}\": {} ({} of {})", std::string_view(addr, n), f.scope,
		    f.subject, f.reason, f.count, f.limit);
	else
		LOG(Calls, Warning, "call-limit: INVITE from {} dropped: {}: {} ({} of {})", std::string_view(addr, n), f.scope,
		    f.reason, f.count, f.limit);
}

} // namespace sipguard::calls
