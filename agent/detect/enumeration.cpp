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
	uint32_t noted = 0;       // users newly counted failed in the long history
};

// A 16-bit tag of the source's address hash, to tell a prefix's sources apart.
uint16_t source_tag(uint64_t source_hash) { return static_cast<uint16_t>(source_hash >> 48); }

// The prefix's history takes only sources that never sent credentials nor
// succeeded: a phone's address is never evidence against its neighbours.
bool feeds_prefix(const SourceState& st) { return !st.ever_credentials && !st.known(); }

// Notes a failed user in the source's long history and, for a source that
// feeds it, in its prefix's.
[[gnu::cold]] void note_failed(SourceState& st, LazyState& lazy, UserSlot& u, uint64_t source_hash,
                              util::TimePoint now, Tally& t)
{
	if (!(u.flags & UserSlot::InHistory)) {
		bool created = false;
		if (SourceHistory* h = lazy.history(true, &created)) {
			// A new history starts with the window's successes as credit
			// (later ones are noted as they come).
			if (created)
				for (uint8_t i = 0; i < st.user_count; ++i)
					if (st.users[i].flags & UserSlot::Success)
						h->note(st.users[i].hash, UserHistoryBase::Succeeded, 0, now);
			u.flags |= UserSlot::InHistory;
			h->note(u.hash, UserHistoryBase::Failed, 0, now);
			++t.noted;
		}
	}
	if (!(u.flags & UserSlot::InPrefix) && feeds_prefix(st))
		if (PrefixHistory* ph = lazy.prefix_history(true)) {
			u.flags |= UserSlot::InPrefix;
			ph->note(u.hash, UserHistoryBase::Failed, source_tag(source_hash), now);
			++t.noted;
		}
}

[[gnu::cold]] Outcome finding(Finding& out, std::string_view reason, util::TimePoint now, util::Millis window,
                             const Tally& t, const SourceState& st, Outcome outcome)
{
	begin_finding(out, Detector::Enumeration, reason, now, window);
	out.evidence.add_count("failed_users", t.failed);
	out.evidence.add_count("unanswered_challenges", t.outstanding);
	out.evidence.add_count("successful_users", t.succeeded);
	out.evidence.add_count("users_from_one_port", t.same_port);
	out.evidence.add_count("requests", st.requests);
	add_source_samples(out, st);
	return outcome;
}

// The rules over hours, when the last message added a failed user: per
// source, then per prefix.
[[gnu::cold]] Outcome evaluate_long(const EnumerationConfig& cfg, SourceState& st, LazyState& lazy,
                                   util::TimePoint now, Tally& t, Finding& out)
{
	// A peer the PBX itself contacts (a trunk it qualifies) may send calls
	// for unassigned numbers all day: hours of those are not a scan.
	const SourceHistory* h = lazy.history(false);
	const auto mine = h ? h->count(now, cfg.long_window, cfg.challenge_grace) : SourceHistory::Count{};
	const int64_t effective = static_cast<int64_t>(mine.failed) -
	                          static_cast<int64_t>(cfg.success_credit) * static_cast<int64_t>(mine.succeeded);
	if (!st.pbx_peer && effective >= static_cast<int64_t>(cfg.long_max_users)) {
		finding(out, "distinct users answered 404/403 or left challenged over hours, without success", now,
		        cfg.long_window, t, st, Outcome::Ban);
		out.evidence.add_count("failed_users_long", mine.failed);
		out.evidence.add_count("successful_users_long", mine.succeeded);
		out.evidence.add_sample("identity", "source");
		return Outcome::Ban;
	}
	const PrefixHistory* ph = feeds_prefix(st) ? lazy.prefix_history(false) : nullptr;
	if (!ph)
		return Outcome::None;
	const auto all = ph->count(now, cfg.long_window, cfg.challenge_grace);
	if (all.failed < cfg.long_max_users || all.sources < 2)
		return Outcome::None;
	begin_finding(out, Detector::Enumeration,
	              "distinct users refused or left challenged from several addresses of one prefix", now,
	              cfg.long_window);
	out.evidence.add_count("failed_users", all.failed);
	out.evidence.add_count("sources", all.sources);
	out.evidence.add_count("requests", st.requests);
	out.evidence.add_sample("identity", "prefix");
	add_source_samples(out, st);
	return Outcome::BanPrefix;
}

// `new_user` (request time only, 0 at response time): a request without
// credentials for a user not yet answered. Then `port`/`port_limit` run the
// per-port rule over the other users of that port (port 0 = skip), and the
// challenges of the other users not yet answered count as left behind.
// `noted`: the caller already added a user to a long history.
Outcome evaluate(const EnumerationConfig& cfg, SourceState& st, LazyState& lazy, uint64_t source_hash,
                 util::TimePoint now, uint16_t port, uint32_t port_limit, uint32_t new_user, Finding& out,
                 bool noted = false)
{
	Tally t;
	t.failed = st.users_untracked_failed;
	t.noted = noted ? 1 : 0;
	const uint16_t now_ds = st.deciseconds(now);
	const auto grace_ds = static_cast<uint32_t>(cfg.challenge_grace.count() / 100);
	for (uint8_t i = 0; i < st.user_count; ++i) {
		UserSlot& u = st.users[i];
		if (u.flags & UserSlot::Success) {
			++t.succeeded;
			continue;
		}
		const bool unanswered = (u.flags & UserSlot::Challenged) && !(u.flags & UserSlot::CredsSent);
		if (port != 0 && u.port == port && u.hash != new_user &&
		    (u.flags & (UserSlot::FailedHard | UserSlot::Challenged)) && !(u.flags & UserSlot::CredsSent))
			++t.same_port;
		bool failed = false;
		if (u.flags & UserSlot::FailedHard) {
			failed = true;
		} else if (unanswered) {
			++t.outstanding;
			if (static_cast<uint16_t>(now_ds - u.challenged_at_ds) >= grace_ds)
				failed = true;
			else if (new_user != 0 && u.hash != new_user)
				++t.provisional;
		} else if (u.flags & UserSlot::Challenged) {
			++t.answered;
		}
		if (failed) {
			++t.failed;
			note_failed(st, lazy, u, source_hash, now, t);
		}
	}
	const int64_t credit = static_cast<int64_t>(cfg.success_credit) * t.succeeded;
	const int64_t effective = static_cast<int64_t>(t.failed) - credit;
	if (effective >= static_cast<int64_t>(cfg.max_users))
		return finding(out, "distinct users answered 404/403 or left challenged, without success", now, cfg.window, t,
		               st, Outcome::Ban);
	if (port != 0 && !st.ever_credentials && !st.known() && t.same_port >= port_limit)
		return finding(out, "distinct users from one source port challenged or refused, credentials never sent", now,
		               cfg.window, t, st, Outcome::Ban);
	if (!st.ever_credentials && t.outstanding >= cfg.max_unanswered_challenges)
		return finding(out, "distinct users challenged, credentials never sent", now, cfg.window, t, st, Outcome::Ban);
	if (t.noted > 0)
		if (Outcome o = evaluate_long(cfg, st, lazy, now, t, out); o != Outcome::None)
			return o;
	// A challenge counts as soon as the source asks for another user without
	// answering it (a scanner never does; a phone answers within a round
	// trip): with those, this request would pass the threshold. It is held
	// (dropped, no ban) until the grace confirms them: a NATed office whose
	// phones all registered within one round trip has them answered by then,
	// and the held REGISTER's retransmission passes.
	if (new_user != 0 && t.provisional > 2 * t.answered &&
	    effective + static_cast<int64_t>(t.provisional) >= static_cast<int64_t>(cfg.max_users))
		return Outcome::Hold;
	return Outcome::None;
}

} // namespace

Outcome on_request(const EnumerationConfig& cfg, SourceState& st, LazyState& lazy, const RequestFacts& r,
                   util::TimePoint now, Finding& out)
{
	if (!cfg.enabled)
		return Outcome::None;
	if (r.has_credentials) {
		if (UserSlot* u = st.user(r.target_hash, r.target_user, true, r.remote_port)) {
			// A challenge noted in the prefix is answered: a phone, not a scanner.
			if ((u->flags & (UserSlot::InPrefix | UserSlot::CredsSent)) == UserSlot::InPrefix &&
			    !(u->flags & UserSlot::FailedHard))
				if (PrefixHistory* ph = lazy.prefix_history(false))
					ph->note(u->hash, UserHistoryBase::Answered, source_tag(r.source_hash), now);
			u->flags |= UserSlot::CredsSent;
		}
		return Outcome::None;
	}
	// A request for a user not yet answered is where svwar shows itself:
	// the earlier users were challenged or refused and it moved on without
	// answering; judging it here drops it before it reaches the PBX. A new
	// user gets its slot only if the request passes.
	UserSlot* u = st.user(r.target_hash, r.target_user, false);
	const bool fresh = !u || !(u->flags & (UserSlot::Challenged | UserSlot::FailedHard | UserSlot::Success));
	const uint32_t limit = r.method == sip::Method::Invite ? cfg.max_invite_users_per_port : cfg.max_users_per_port;
	const Outcome o =
		evaluate(cfg, st, lazy, r.source_hash, now, fresh ? r.remote_port : 0, limit, fresh ? r.target_hash : 0, out);
	if (o == Outcome::None && !u)
		st.user(r.target_hash, r.target_user, true, r.remote_port);
	return o;
}

Outcome on_response(const EnumerationConfig& cfg, SourceState& st, LazyState& lazy, const ResponseFacts& r,
                    util::TimePoint now, Finding& out)
{
	if (!cfg.enabled || r.status < 200)
		return Outcome::None;
	UserSlot* u = st.user(r.target_hash, r.target_user, true, r.remote_port);
	if (is_success(r)) {
		if (u && !(u->flags & UserSlot::Success)) {
			u->flags |= UserSlot::Success;
			if (SourceHistory* h = lazy.history(false))
				h->note(u->hash, UserHistoryBase::Succeeded, 0, now);
		}
		return Outcome::None;
	}
	if (r.had_credentials)
		return Outcome::None; // brute force's business
	bool noted = false;
	if (is_challenge(r.status)) {
		if (u && !(u->flags & UserSlot::Challenged)) {
			u->flags |= UserSlot::Challenged;
			u->challenged_at_ds = st.deciseconds(now);
			// The prefix ages it into a failure unless credentials follow
			// (a source asking once per address never comes back to it).
			if (feeds_prefix(st) && !(u->flags & UserSlot::InPrefix))
				if (PrefixHistory* ph = lazy.prefix_history(true)) {
					u->flags |= UserSlot::InPrefix;
					ph->note(u->hash, UserHistoryBase::Challenged, source_tag(r.source_hash), now);
					noted = true;
				}
		}
	} else if (is_user_failure(r.status)) {
		if (u)
			u->flags |= UserSlot::FailedHard;
		else
			++st.users_untracked_failed;
	} else {
		return Outcome::None;
	}
	return evaluate(cfg, st, lazy, r.source_hash, now, 0, 0, 0, out, noted);
}

} // namespace sipguard::detect::enumeration
