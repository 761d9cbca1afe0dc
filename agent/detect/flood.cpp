// SPDX-License-Identifier: GPL-2.0-or-later
// Flood detector: token buckets per source and method class, and per /24
// (/64) for sources the PBX does not know. Successes refund tokens and known
// sources get bigger buckets, so a NATed office's re-registration storm is
// not a flood while an INVITE flood trips within ~40 requests.
#include "agent/detect/detectors.h"

namespace sipguard::detect::flood {

namespace {

const Rate& rate_for(const FloodConfig& cfg, MethodClass c)
{
	switch (c) {
	case MethodClass::Invite: return cfg.invite;
	case MethodClass::Register: return cfg.register_;
	case MethodClass::Options: return cfg.options;
	default: return cfg.other;
	}
}

std::string_view reason_for(MethodClass c)
{
	switch (c) {
	case MethodClass::Invite: return "INVITE flood";
	case MethodClass::Register: return "REGISTER flood";
	case MethodClass::Options: return "OPTIONS flood";
	default: return "request flood";
	}
}

util::Millis window_of(const Rate& r)
{
	// The time a full bucket lasts at twice the allowed rate: a readable
	// "window" for the evidence.
	return util::Millis(r.rate > 0 ? static_cast<int64_t>(r.burst / r.rate * 1000.0) : 0);
}

double scale_for(const FloodConfig& cfg, const SourceState& st)
{
	return st.auth_success ? cfg.authenticated_multiplier : st.known() ? cfg.known_multiplier : 1.0;
}

} // namespace

Hit on_request(const FloodConfig& cfg, SourceState& st, PrefixState* prefix, const RequestFacts& r, util::TimePoint now,
               Finding& out)
{
	if (!cfg.enabled)
		return Hit::None;
	MethodClass c = method_class(r.method);
	const Rate& rate = rate_for(cfg, c);
	const double scale = scale_for(cfg, st);
	TokenBucket& b = st.buckets[static_cast<size_t>(c)];
	if (!b.take(rate, scale, now)) {
		if (st.auth_success) {
			// Throttled, not banned: the finding says so once a minute (the
			// engine's suppression by window), the excess is dropped.
			++st.throttled;
			begin_finding(out, Detector::Flood, "authenticated source over its request rate: excess dropped", now,
			              std::chrono::minutes(1));
			out.wants_ban = false;
			out.evidence.add_count("dropped", st.throttled);
			out.evidence.add_count("burst", static_cast<int64_t>(rate.burst * scale));
			out.evidence.add_count("rate_per_s", static_cast<int64_t>(rate.rate * scale));
			out.evidence.add_sample("method", r.msg.method_token);
			out.evidence.add_sample("identity", "source");
			out.evidence.add_sample("why", "not banned: an account authenticated from it");
			out.evidence.add_sample("user_agent", st.user_agent.view());
			return Hit::Throttle;
		}
		begin_finding(out, Detector::Flood, reason_for(c), now, window_of(rate));
		out.evidence.add_count("requests", st.requests);
		out.evidence.add_count("burst", static_cast<int64_t>(rate.burst * scale));
		out.evidence.add_count("rate_per_s", static_cast<int64_t>(rate.rate * scale));
		out.evidence.add_count("since_first_ms",
		                       std::chrono::duration_cast<util::Millis>(now - st.first_seen).count());
		out.evidence.add_sample("method", r.msg.method_token);
		add_source_samples(out, st);
		return Hit::Source;
	}
	if (prefix && !st.known()) {
		++prefix->requests;
		size_t sources = prefix->note_source(r.source_hash, now, std::chrono::seconds(10));
		if (sources >= cfg.prefix_min_sources && !prefix->bucket.take(cfg.prefix, 1.0, now)) {
			begin_finding(out, Detector::Flood, "request flood from one prefix", now, window_of(cfg.prefix));
			out.evidence.add_count("prefix_requests", prefix->requests);
			out.evidence.add_count("recent_sources", static_cast<int64_t>(sources));
			out.evidence.add_count("burst", static_cast<int64_t>(cfg.prefix.burst));
			out.evidence.add_count("rate_per_s", static_cast<int64_t>(cfg.prefix.rate));
			out.evidence.add_sample("method", r.msg.method_token);
			out.evidence.add_sample("user_agent", r.msg.user_agent);
			return Hit::Prefix;
		}
	}
	return Hit::None;
}

void on_response(const FloodConfig& cfg, SourceState& st, PrefixState* prefix, const ResponseFacts& r,
                 util::TimePoint now)
{
	if (!cfg.enabled || !is_success(r))
		return;
	if (prefix)
		prefix->bucket.refund(cfg.prefix, 1.0, cfg.success_refund, now);
	MethodClass c = method_class(r.method);
	st.buckets[static_cast<size_t>(c)].refund(rate_for(cfg, c), scale_for(cfg, st), cfg.success_refund, now);
}

} // namespace sipguard::detect::flood
