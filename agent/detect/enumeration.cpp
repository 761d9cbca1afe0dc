// SPDX-License-Identifier: GPL-2.0-or-later
// Enumeration detector (svwar and friends): many distinct target users from
// one source answered 404/403 (or challenged and never followed up with
// credentials), with a success credit so that a NATed office whose phones
// authenticate is never mistaken for a scan.
#include "agent/detect/detectors.h"

namespace sipguard::detect::enumeration {

namespace {

// Statuses that say "no such user" or "not allowed" without asking for
// credentials (RFC 3261 §21.4.4/§21.4.5, §21.4.21 484, §21.6.3 604).
bool is_user_failure(uint16_t status)
{
	return status == 403 || status == 404 || status == 484 || status == 604 || status == 410;
}

// `port`/`port_limit` (request time only; port 0 = skip): the per-port rule
// over the users other than `new_user` asked from that port.
bool evaluate(const EnumerationConfig& cfg, SourceState& st, util::TimePoint now, uint16_t port, uint32_t port_limit,
              uint32_t new_user, Finding& out)
{
	uint32_t failed = st.users_untracked_failed;
	uint32_t outstanding = 0;
	uint32_t succeeded = 0;
	uint32_t same_port = 0; // challenged or refused users asked from `port`
	const uint16_t now_ds = st.deciseconds(now);
	const auto grace_ds = static_cast<uint32_t>(cfg.challenge_grace.count() / 100);
	for (uint8_t i = 0; i < st.user_count; ++i) {
		const UserSlot& u = st.users[i];
		if (u.flags & UserSlot::Success) {
			++succeeded;
			continue;
		}
		if (port != 0 && u.port == port && u.hash != new_user &&
		    (u.flags & (UserSlot::FailedHard | UserSlot::Challenged)) && !(u.flags & UserSlot::CredsSent))
			++same_port;
		if (u.flags & UserSlot::FailedHard) {
			++failed;
		} else if ((u.flags & UserSlot::Challenged) && !(u.flags & UserSlot::CredsSent)) {
			++outstanding;
			if (static_cast<uint16_t>(now_ds - u.challenged_at_ds) >= grace_ds)
				++failed;
		}
	}
	int64_t effective = static_cast<int64_t>(failed) - static_cast<int64_t>(cfg.success_credit) * succeeded;
	std::string_view reason;
	if (effective >= static_cast<int64_t>(cfg.max_users))
		reason = "distinct users answered 404/403 or left challenged, without success";
	else if (port != 0 && !st.ever_credentials && !st.known() && same_port >= port_limit)
		reason = "distinct users from one source port challenged or refused, credentials never sent";
	else if (!st.ever_credentials && outstanding >= cfg.max_unanswered_challenges)
		reason = "distinct users challenged, credentials never sent";
	else
		return false;
	begin_finding(out, Detector::Enumeration, reason, now, cfg.window);
	out.evidence.add_count("failed_users", failed);
	out.evidence.add_count("unanswered_challenges", outstanding);
	out.evidence.add_count("successful_users", succeeded);
	out.evidence.add_count("users_from_one_port", same_port);
	out.evidence.add_count("requests", st.requests);
	add_source_samples(out, st);
	return true;
}

} // namespace

bool on_request(const EnumerationConfig& cfg, SourceState& st, const RequestFacts& r, util::TimePoint now, Finding& out)
{
	if (!cfg.enabled)
		return false;
	if (r.has_credentials) {
		if (UserSlot* u = st.user(r.target_hash, r.target_user, true, r.remote_port))
			u->flags |= UserSlot::CredsSent;
		return false;
	}
	UserSlot* u = st.user(r.target_hash, r.target_user, true, r.remote_port);
	// A new request re-evaluates challenges whose grace ran out. A request
	// for a user not yet answered from this port is where svwar shows
	// itself: the earlier users of its one socket were challenged or
	// refused and it moved on without answering; judging it here drops it
	// before it reaches the PBX.
	bool fresh = u && !(u->flags & (UserSlot::Challenged | UserSlot::FailedHard | UserSlot::Success));
	uint32_t limit = r.method == sip::Method::Invite ? cfg.max_invite_users_per_port : cfg.max_users_per_port;
	return evaluate(cfg, st, now, fresh ? r.remote_port : 0, limit, r.target_hash, out);
}

bool on_response(const EnumerationConfig& cfg, SourceState& st, const ResponseFacts& r, util::TimePoint now, Finding& out)
{
	if (!cfg.enabled || r.status < 200)
		return false;
	UserSlot* u = st.user(r.target_hash, r.target_user, true, r.remote_port);
	if (is_success(r)) {
		if (u)
			u->flags |= UserSlot::Success;
		return false;
	}
	if (r.had_credentials)
		return false; // brute force's business
	if (is_challenge(r.status)) {
		if (u && !(u->flags & UserSlot::Challenged)) {
			u->flags |= UserSlot::Challenged;
			u->challenged_at_ds = st.deciseconds(now);
		}
	} else if (is_user_failure(r.status)) {
		if (u)
			u->flags |= UserSlot::FailedHard;
		else
			++st.users_untracked_failed;
	} else {
		return false;
	}
	return evaluate(cfg, st, now, 0, 0, 0, out);
}

} // namespace sipguard::detect::enumeration
