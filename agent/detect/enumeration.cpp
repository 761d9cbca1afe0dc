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

// What evaluate() saw in the users window.
struct Tally {
	uint32_t failed = 0;      // refused, or challenged and not answered within the grace
	uint32_t outstanding = 0; // challenged, not answered (yet)
	uint32_t provisional = 0; // challenged within the grace and left behind for another user
	uint32_t answered = 0;    // challenged, then answered with credentials
	uint32_t succeeded = 0;
	uint32_t same_port = 0;   // challenged or refused users asked from `port`
};

void fill_evidence(Finding& out, const Tally& t, const SourceState& st)
{
	out.evidence.add_count("failed_users", t.failed);
	out.evidence.add_count("unanswered_challenges", t.outstanding);
	out.evidence.add_count("successful_users", t.succeeded);
	out.evidence.add_count("users_from_one_port", t.same_port);
	out.evidence.add_count("requests", st.requests);
	add_source_samples(out, st);
}

// `new_user` (request time only, 0 at response time): a request without
// credentials for a user not yet answered. Then `port`/`port_limit` run the
// per-port rule over the other users of that port (port 0 = skip), and the
// challenges of the other users not yet answered count as left behind.
Outcome evaluate(const EnumerationConfig& cfg, SourceState& st, util::TimePoint now, uint16_t port,
                 uint32_t port_limit, uint32_t new_user, Finding& out)
{
	Tally t;
	t.failed = st.users_untracked_failed;
	const uint16_t now_ds = st.deciseconds(now);
	const auto grace_ds = static_cast<uint32_t>(cfg.challenge_grace.count() / 100);
	for (uint8_t i = 0; i < st.user_count; ++i) {
		const UserSlot& u = st.users[i];
		if (u.flags & UserSlot::Success) {
			++t.succeeded;
			continue;
		}
		const bool unanswered = (u.flags & UserSlot::Challenged) && !(u.flags & UserSlot::CredsSent);
		if (port != 0 && u.port == port && u.hash != new_user &&
		    (u.flags & (UserSlot::FailedHard | UserSlot::Challenged)) && !(u.flags & UserSlot::CredsSent))
			++t.same_port;
		if (u.flags & UserSlot::FailedHard) {
			++t.failed;
		} else if (unanswered) {
			++t.outstanding;
			if (static_cast<uint16_t>(now_ds - u.challenged_at_ds) >= grace_ds)
				++t.failed;
			else if (new_user != 0 && u.hash != new_user)
				++t.provisional;
		} else if (u.flags & UserSlot::Challenged) {
			++t.answered;
		}
	}
	const int64_t credit = static_cast<int64_t>(cfg.success_credit) * t.succeeded;
	const int64_t effective = static_cast<int64_t>(t.failed) - credit;
	std::string_view reason;
	if (effective >= static_cast<int64_t>(cfg.max_users))
		reason = "distinct users answered 404/403 or left challenged, without success";
	else if (port != 0 && !st.ever_credentials && !st.known() && t.same_port >= port_limit)
		reason = "distinct users from one source port challenged or refused, credentials never sent";
	else if (!st.ever_credentials && t.outstanding >= cfg.max_unanswered_challenges)
		reason = "distinct users challenged, credentials never sent";
	// A challenge counts as soon as the source asks for another user without
	// answering it (a scanner never does; a phone answers within a round
	// trip): with those, this request would pass the threshold. It is held
	// (dropped, no ban) until the grace confirms them: a NATed office whose
	// phones all registered within one round trip has them answered by then,
	// and the held REGISTER's retransmission passes.
	else if (new_user != 0 && t.provisional > 2 * t.answered &&
	         effective + static_cast<int64_t>(t.provisional) >= static_cast<int64_t>(cfg.max_users))
		return Outcome::Hold;
	else
		return Outcome::None;
	begin_finding(out, Detector::Enumeration, reason, now, cfg.window);
	fill_evidence(out, t, st);
	return Outcome::Ban;
}

} // namespace

Outcome on_request(const EnumerationConfig& cfg, SourceState& st, const RequestFacts& r, util::TimePoint now,
                   Finding& out)
{
	if (!cfg.enabled)
		return Outcome::None;
	if (r.has_credentials) {
		if (UserSlot* u = st.user(r.target_hash, r.target_user, true, r.remote_port))
			u->flags |= UserSlot::CredsSent;
		return Outcome::None;
	}
	// A request for a user not yet answered is where svwar shows itself:
	// the earlier users were challenged or refused and it moved on without
	// answering; judging it here drops it before it reaches the PBX. A new
	// user gets its slot only if the request passes.
	UserSlot* u = st.user(r.target_hash, r.target_user, false);
	const bool fresh = !u || !(u->flags & (UserSlot::Challenged | UserSlot::FailedHard | UserSlot::Success));
	const uint32_t limit = r.method == sip::Method::Invite ? cfg.max_invite_users_per_port : cfg.max_users_per_port;
	const Outcome o = evaluate(cfg, st, now, fresh ? r.remote_port : 0, limit, fresh ? r.target_hash : 0, out);
	if (o == Outcome::None && !u)
		st.user(r.target_hash, r.target_user, true, r.remote_port);
	return o;
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
	return evaluate(cfg, st, now, 0, 0, 0, out) == Outcome::Ban;
}

} // namespace sipguard::detect::enumeration
