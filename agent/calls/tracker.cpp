// SPDX-License-Identifier: GPL-2.0-or-later
// Call tracker: dialogs, offer/answer, pinhole decisions, in-dialog request
// validation and call limits (see tracker.h and README "Media pinning").
#include "agent/calls/tracker.h"

#include <algorithm>
#include <cstring>

#include "agent/util/enum_names.h"
#include "agent/util/hash.h"

namespace sipguard::calls {

using sip::Method;
using Direction = nfq::Direction;

namespace {

constexpr auto kPinholeOpNames = util::enum_names<PinholeOp::Close>({"open", "refresh", "close"}, "?");
constexpr auto kDecisionNames = util::enum_names<Decision::DropCallLimit>({
	"accept", "drop-forged", "drop-unknown-dialog", "drop-call-limit"
}, "?");

} // namespace

std::string_view to_string(PinholeOp op) { return kPinholeOpNames(op); }
std::string_view to_string(Decision d) { return kDecisionNames(d); }

namespace {

constexpr auto kMinute = std::chrono::seconds(60);

bool limited(const Limits& l)
{
	return l.max_concurrent_calls || l.max_call_attempts_per_minute;
}

// Fixed one-minute windows for the attempt limits: simple, bounded, and at
// most 2x the limit across a window edge, which is fine for a guard meant
// never to bite normal traffic.
void roll_minute(uint32_t& attempts, util::TimePoint& since, util::TimePoint now)
{
	if (since == util::TimePoint{} || now - since >= kMinute || now < since) {
		attempts = 0;
		since = now;
	}
}

// RFC 3264 §6.1: what a stream description says its owner does.
bool sends(sip::sdp::Direction d)
{
	return d == sip::sdp::Direction::SendRecv || d == sip::sdp::Direction::SendOnly;
}
bool receives(sip::sdp::Direction d)
{
	return d == sip::sdp::Direction::SendRecv || d == sip::sdp::Direction::RecvOnly;
}

bool usable(const net::IpAddress& a)
{
	return a.valid() && !a.is_unspecified();
}

void copy_subject(char (&dst)[64], std::string_view s)
{
	size_t n = std::min(s.size(), sizeof(dst) - 1);
	if (n)
		std::memcpy(dst, s.data(), n); // an empty view may have a null data()
	dst[n] = '\0';
}

} // namespace

// --- CountedTable -----------------------------------------------------------

Tracker::Counted* Tracker::CountedTable::find(uint64_t key, const net::IpAddress& addr)
{
	uint32_t s = table_.find(key, [&](const Counted& c) { return c.key == key && c.addr == addr; });
	return s == util::kNoSlot ? nullptr : &table_[s];
}

Tracker::Counted& Tracker::CountedTable::get(uint64_t key, const net::IpAddress& addr, uint64_t& evicted)
{
	uint32_t s = table_.find(key, [&](const Counted& c) { return c.key == key && c.addr == addr; });
	if (s != util::kNoSlot) {
		table_.touch(s);
		return table_[s];
	}
	if (table_.full())
		++evicted;
	s = table_.insert(key);
	table_[s] = Counted{};
	table_[s].key = key;
	table_[s].addr = addr;
	return table_[s];
}

// --- construction -----------------------------------------------------------

Tracker::Tracker(Config config, Sink& sink, SharedLimits* shared)
	: config_(std::move(config)),
	  sink_(sink),
	  dialogs_(config_.max_dialogs),
	  dialog_links_(config_.max_dialogs),
	  pinholes_(config_.max_pinholes),
	  pinhole_links_(config_.max_pinholes),
	  sources_(config_.max_tracked_sources),
	  limits_(shared)
{
	if (!limits_ || limits_->trunks() < config_.trunks.size()) {
		own_limits_ = std::make_unique<SharedLimits>(config_.max_tracked_users, config_.trunks.size(), config_.hash_seed);
		limits_ = own_limits_.get();
	}
}

// --- dialog table -----------------------------------------------------------

uint32_t Tracker::find_dialog(const net::IpAddress& remote, uint64_t h, std::string_view callid) const
{
	return dialogs_.find(h, [&](const Dialog& d) {
		return d.remote == remote && std::string_view(d.callid.data(), d.callid_len) == callid;
	});
}

template <class Visit>
void Tracker::for_each_same_callid(uint64_t h, std::string_view callid, Visit&& visit) const
{
	dialogs_.for_each_hash(h, [&](uint32_t s) {
		const Dialog& d = dialogs_[s];
		if (std::string_view(d.callid.data(), d.callid_len) == callid)
			visit(s);
	});
}

util::SlotLists::List& Tracker::list_of(State s)
{
	switch (s) {
	case State::Early: return early_;
	case State::Confirmed: return confirmed_;
	default: return terminated_;
	}
}

void Tracker::set_state(uint32_t slot, State s, util::TimePoint now)
{
	Dialog& d = dialogs_[slot];
	if (d.state != State::Free)
		dialog_links_.remove(list_of(d.state), slot);
	d.state = s;
	d.last_activity = now;
	dialog_links_.push_back(list_of(s), slot);
}

void Tracker::touch(uint32_t slot, util::TimePoint now)
{
	Dialog& d = dialogs_[slot];
	if (d.state == State::Early || d.state == State::Confirmed)
		set_state(slot, d.state, std::max(now, d.last_activity));
}

uint32_t Tracker::alloc_dialog(const MessageContext& ctx, uint64_t h, std::string_view call_id)
{
	const util::TimePoint now = ctx.now;
	if (dialogs_.full()) {
		// Snort's sip_dialog evicts at its cap too; we prefer dialogs that
		// matter least: ended, then unanswered, then the longest idle call.
		uint32_t victim = terminated_.head;
		if (victim == util::kNoSlot)
			victim = early_.head;
		if (victim == util::kNoSlot)
			victim = confirmed_.head;
		if (dialogs_[victim].state != State::Terminated) {
			const std::string_view why = why_;
			why_ = "evicted";
			terminate(victim, now);
			why_ = why;
		}
		free_dialog(victim, true);
		++counters_.dialogs_evicted;
	}
	const uint32_t slot = dialogs_.insert(h);
	Dialog& d = dialogs_[slot];
	d.callid_hash = h;
	d.remote = ctx.remote;
	d.callid_len = static_cast<uint16_t>(call_id.size());
	std::memcpy(d.callid.data(), call_id.data(), call_id.size());
	d.state = State::Free;
	return slot;
}

void Tracker::free_dialog(uint32_t slot, bool evicted)
{
	Dialog& d = dialogs_[slot];
	if (d.state != State::Free)
		dialog_links_.remove(list_of(d.state), slot);
	d.state = State::Free;
	if (evicted)
		dialogs_.evict(slot);
	else
		dialogs_.erase(slot);
}

void Tracker::terminate(uint32_t slot, util::TimePoint now)
{
	Dialog& d = dialogs_[slot];
	for (size_t i = 0; i < d.fork_count; ++i)
		close_fork(d, d.forks[i], now);
	uncount_call(d);
	set_state(slot, State::Terminated, now);
}

// --- timers -----------------------------------------------------------------

void Tracker::on_tick(util::TimePoint now)
{
	why_ = "timeout";
	while (early_.head != util::kNoSlot && dialogs_[early_.head].last_activity + config_.early_dialog_timeout <= now) {
		terminate(early_.head, now);
		++counters_.dialogs_expired;
	}
	while (confirmed_.head != util::kNoSlot && dialogs_[confirmed_.head].last_activity + config_.call_idle_timeout <= now) {
		terminate(confirmed_.head, now);
		++counters_.dialogs_expired;
	}
	while (terminated_.head != util::kNoSlot && dialogs_[terminated_.head].last_activity + config_.terminated_linger <= now)
		free_dialog(terminated_.head);

	// Kernel elements time out on their own; refresh at half the timeout so
	// one missed tick never lets a live call's media lapse.
	const auto half = config_.pinhole_timeout / 2;
	while (refresh_.head != util::kNoSlot && pinholes_[refresh_.head].last_sent + half <= now) {
		uint32_t s = refresh_.head;
		pinholes_[s].last_sent = now;
		pinhole_links_.remove(refresh_, s);
		pinhole_links_.push_back(refresh_, s);
		emit(PinholeOp::Refresh, pinholes_[s], now);
		++counters_.pinholes_refreshed;
	}
}

// --- messages ---------------------------------------------------------------

Decision Tracker::on_message(const sip::Message& msg, const MessageContext& ctx)
{
	on_tick(ctx.now);
	reason_ = {};
	if (!msg.valid() || msg.call_id.empty() || msg.call_id.size() > sip::kMaxCallIdBytes)
		return Decision::Accept;
	why_ = msg.is_response()             ? (msg.status >= 300 ? "failure" : "answer")
	       : msg.method == Method::Bye    ? "bye"
	       : msg.method == Method::Cancel ? "cancel"
	                                      : "offer";
	const uint64_t h = util::hash_text(msg.call_id, config_.hash_seed);

	if (msg.is_response()) {
		on_response(msg, ctx, h);
		return Decision::Accept;
	}
	switch (msg.method) {
	case Method::Invite:
		if (msg.to.tag.empty())
			return on_initial_invite(msg, ctx, h);
		return on_in_dialog_request(msg, ctx, h);
	case Method::Ack:
	case Method::Bye:
	case Method::Cancel:
	case Method::Update:
	case Method::Prack:
	case Method::Info:
	case Method::Refer:
		return on_in_dialog_request(msg, ctx, h);
	case Method::Notify:
	case Method::Message:
	case Method::Subscribe:
		// Only when sent inside an INVITE dialog we know (REFER's NOTIFYs);
		// other subscriptions are not tracked, so "unknown" means nothing.
		if (!msg.to.tag.empty())
			return on_in_dialog_request(msg, ctx, h);
		return Decision::Accept;
	default:
		return Decision::Accept;
	}
}

Decision Tracker::on_initial_invite(const sip::Message& msg, const MessageContext& ctx, uint64_t h)
{
	// Per-user limits key on the credentials' username only, and count a
	// call once the PBX accepted them (verify_user): a From user, or
	// credentials not checked yet, are whatever the sender wrote, and would
	// let anyone use up a user's limit.
	const std::string_view user = msg.authorization.has_response         ? msg.authorization.username
	                              : msg.proxy_authorization.has_response ? msg.proxy_authorization.username
	                                                                     : std::string_view{};
	const uint64_t user_hash = user.empty() ? 0 : limits_->user_key(user);

	uint32_t slot = find_dialog(ctx.remote, h, msg.call_id);
	if (slot != util::kNoSlot && dialogs_[slot].state != State::Terminated) {
		// A retransmission, or the caller re-sending before a final answer.
		Dialog& d = dialogs_[slot];
		touch(slot, ctx.now);
		d.invite_cseq = msg.cseq;
		if (read_sdp(msg, d.offer, d.offer)) {
			for (size_t i = 0; i < d.fork_count; ++i) {
				Fork& f = d.forks[i];
				(d.uac ? f.local : f.remote) = d.offer;
				if (f.live)
					update_pinholes(d, f, ctx.now);
			}
		}
		return Decision::Accept;
	}

	if (slot == util::kNoSlot) {
		size_t same = 0;
		for_each_same_callid(h, msg.call_id, [&](uint32_t) { ++same; });
		if (same >= kMaxDialogsPerCallId) {
			++counters_.dialogs_untracked;
			return Decision::Accept;
		}
	}

	const uint8_t trunk = trunk_of(ctx.remote);
	// The same Call-ID again after a 401/407 (RFC 3261 §22.2) is the call
	// admitted a moment ago, now with credentials: not a new attempt.
	const bool retry = slot != util::kNoSlot && dialogs_[slot].challenged;
	if (!check_limits(ctx, trunk, user_hash, user, retry)) {
		reason_ = "call limit reached";
		++counters_.call_limit_dropped;
		return Decision::DropCallLimit;
	}

	if (slot == util::kNoSlot) {
		slot = alloc_dialog(ctx, h, msg.call_id);
		++counters_.dialogs_created;
	}
	// New dialog, or the same Call-ID again after a failure (the retry after
	// a 401/407 challenge, RFC 3261 §22.2): start over.
	Dialog& d = dialogs_[slot];
	d.uac = ctx.direction == Direction::Out;
	d.trunk = trunk;
	d.counted = false;
	d.challenged = false;
	d.user_verified = false;
	d.invite_cseq = msg.cseq;
	d.caller_tag = util::hash_text(msg.from.tag, config_.hash_seed);
	d.user_hash = user_hash;
	d.offer = SideDesc{};
	d.fork_count = 0;
	for (auto& f : d.forks)
		f.live = false;
	set_state(slot, State::Early, ctx.now);
	count_call(d, ctx);
	read_sdp(msg, SideDesc{}, d.offer);
	return Decision::Accept;
}

Decision Tracker::on_in_dialog_request(const sip::Message& msg, const MessageContext& ctx, uint64_t h)
{
	uint32_t slot = find_dialog(ctx.remote, h, msg.call_id);
	if (slot != util::kNoSlot) {
		apply_request(slot, msg, ctx);
		return Decision::Accept;
	}

	if (ctx.direction == Direction::Out) {
		// The PBX itself may send in-dialog requests to another address than
		// the one the dialog was set up with (Record-Route/Contact changes,
		// outbound proxies): it is always a party, so apply it by Call-ID.
		uint32_t matches[kMaxDialogsPerCallId];
		size_t n = 0;
		for_each_same_callid(h, msg.call_id, [&](uint32_t s) {
			if (n < kMaxDialogsPerCallId)
				matches[n++] = s;
		});
		for (size_t i = 0; i < n; ++i)
			apply_request(matches[i], msg, ctx);
		if (n == 0)
			adopt(msg, ctx, h);
		return Decision::Accept;
	}

	// From the outside, and not under its own address: a known Call-ID means
	// somebody who is not a party is trying to end or change the call.
	const uint8_t trunk = trunk_of(ctx.remote);
	bool known = false;
	uint32_t same_trunk = util::kNoSlot;
	for_each_same_callid(h, msg.call_id, [&](uint32_t s) {
		known = true;
		if (trunk != kNoTrunk && dialogs_[s].trunk == trunk && same_trunk == util::kNoSlot)
			same_trunk = s;
	});
	if (known) {
		if (same_trunk != util::kNoSlot) {
			// Providers send BYE from another node of the same trunk.
			apply_request(same_trunk, msg, ctx);
			return Decision::Accept;
		}
		if (trusted(ctx))
			return Decision::Accept;
		++counters_.forged_dropped;
		reason_ = msg.method == Method::Bye      ? "BYE from a non-party of the dialog"
		          : msg.method == Method::Cancel ? "CANCEL from a non-party of the dialog"
		          : msg.method == Method::Invite ? "re-INVITE from a non-party of the dialog"
		                                         : "in-dialog request from a non-party of the dialog";
		return Decision::DropForged;
	}

	// Unknown dialog. ACK is absorbed by the PBX if it has no transaction, and
	// dropping the ACK of a call set up before a restart would make the PBX
	// tear it down (RFC 3261 §13.3.1.4), so it always passes. Requests that
	// need no dialog of ours (NOTIFY for subscriptions) pass as well.
	if (msg.method == Method::Ack || msg.method == Method::Notify || msg.method == Method::Message ||
	    msg.method == Method::Subscribe || trusted(ctx))
		return Decision::Accept;
	reason_ = "in-dialog request for an unknown dialog";
	if (config_.unknown_dialog == UnknownDialogPolicy::Drop) {
		++counters_.unknown_dialog_dropped;
		return Decision::DropUnknownDialog;
	}
	++counters_.unknown_dialog_accepted;
	return Decision::Accept;
}

// The PBX sends an in-dialog request for a dialog we never saw set up (the
// agent restarted during the call): the PBX vouches for it, so track it from
// here on, with the PBX's tag as the "caller" side. Later requests from that
// remote then pass under the unknown-dialog policy "drop", and SDP in this
// re-INVITE/UPDATE and its answer reopen the media pinholes.
void Tracker::adopt(const sip::Message& msg, const MessageContext& ctx, uint64_t h)
{
	if (msg.to.tag.empty() || msg.from.tag.empty())
		return;
	switch (msg.method) {
	case Method::Invite:
	case Method::Update:
	case Method::Info:
	case Method::Refer:
	case Method::Notify:
	case Method::Message:
		break;
	default:
		return; // BYE/CANCEL end it anyway; ACK and PRACK belong to a transaction we missed
	}
	const uint32_t slot = alloc_dialog(ctx, h, msg.call_id);
	Dialog& d = dialogs_[slot];
	d.uac = true;
	d.counted = false;
	d.challenged = false;
	d.user_verified = false;
	d.trunk = trunk_of(ctx.remote);
	d.invite_cseq = 0; // no initial INVITE transaction to match
	d.caller_tag = util::hash_text(msg.from.tag, config_.hash_seed);
	d.user_hash = 0;
	d.offer = SideDesc{};
	d.fork_count = 0;
	for (auto& f : d.forks)
		f.live = false;
	set_state(slot, State::Confirmed, ctx.now);
	Fork* f = fork_by_tag(d, util::hash_text(msg.to.tag, config_.hash_seed), true);
	if (f)
		f->confirmed = true;
	++counters_.dialogs_adopted;
	apply_request(slot, msg, ctx);
}

Tracker::Fork* Tracker::fork_by_tag(Dialog& d, uint64_t tag, bool create)
{
	for (size_t i = 0; i < d.fork_count; ++i)
		if (d.forks[i].tag == tag)
			return &d.forks[i];
	if (!create)
		return nullptr;
	Fork* f = nullptr;
	if (d.fork_count < kMaxForks) {
		f = &d.forks[d.fork_count++];
	} else {
		// Reuse a fork that already ended (the 180 of a branch that lost).
		for (auto& g : d.forks)
			if (!g.live && !g.confirmed) {
				f = &g;
				break;
			}
		if (!f) {
			++counters_.forks_untracked;
			return nullptr;
		}
	}
	*f = Fork{};
	f->tag = tag;
	f->live = true;
	(d.uac ? f->local : f->remote) = d.offer;
	return f;
}

// The fork a mid-dialog message belongs to: the tag that is not the caller's
// (From/To swap with the sender, RFC 3261 §12.2.1.1).
Tracker::Fork* Tracker::fork_for(Dialog& d, const sip::Message& msg)
{
	const uint64_t from = util::hash_text(msg.from.tag, config_.hash_seed);
	const uint64_t to = util::hash_text(msg.to.tag, config_.hash_seed);
	return fork_by_tag(d, from == d.caller_tag ? to : from, false);
}

void Tracker::apply_request(uint32_t slot, const sip::Message& msg, const MessageContext& ctx)
{
	Dialog& d = dialogs_[slot];
	if (d.state == State::Terminated)
		return; // retransmission of a BYE/CANCEL we already acted on
	touch(slot, ctx.now);
	const bool from_remote = ctx.direction == Direction::In;

	switch (msg.method) {
	case Method::Bye: {
		Fork* f = fork_for(d, msg);
		if (f)
			close_fork(d, *f, ctx.now);
		// A BYE whose tags match no fork still ends an unanswered dialog
		// that has no forks at all (nothing to keep open).
		if (!d.any_fork_live() && (f || d.fork_count == 0)) {
			terminate(slot, ctx.now);
			++counters_.dialogs_ended;
		}
		break;
	}
	case Method::Cancel: {
		// RFC 3261 §9.2: CANCEL has no effect once a final response was sent.
		if (!d.any_fork_confirmed()) {
			terminate(slot, ctx.now);
			++counters_.dialogs_ended;
		}
		break;
	}
	case Method::Invite:
	case Method::Update: {
		Fork* f = fork_for(d, msg);
		if (!f || !f->live || !msg.has_sdp())
			break;
		// A new offer (RFC 3264 §8, RFC 3311 §5.1): keep the old media open
		// until it is answered, restore it if it is rejected (§14.1 of RFC 3261).
		if (!f->pending) {
			f->prev_local = f->local;
			f->prev_remote = f->remote;
			f->pending = true;
		}
		f->pending_method = msg.method;
		f->pending_cseq = msg.cseq;
		if (read_side_sdp(*f, msg, from_remote))
			update_pinholes(d, *f, ctx.now);
		break;
	}
	case Method::Prack:
	case Method::Ack: {
		// SDP in PRACK answers an offer in a reliable 1xx (RFC 3262 §5); in
		// ACK it answers the offer of a 2xx (late offer, RFC 3261 §13.2.1).
		Fork* f = fork_for(d, msg);
		if (!f || !f->live || !msg.has_sdp())
			break;
		if (read_side_sdp(*f, msg, from_remote)) {
			if (msg.method == Method::Ack)
				f->pending = false;
			update_pinholes(d, *f, ctx.now);
		}
		break;
	}
	default:
		break;
	}
}

void Tracker::on_response(const sip::Message& msg, const MessageContext& ctx, uint64_t h)
{
	const uint32_t slot = find_dialog(ctx.remote, h, msg.call_id);
	if (slot == util::kNoSlot)
		return;
	Dialog& d = dialogs_[slot];
	if (d.state == State::Terminated)
		return;
	const bool from_remote = ctx.direction == Direction::In;
	const uint16_t status = msg.status;

	if (msg.cseq_method == Method::Invite) {
		const bool initial = msg.cseq == d.invite_cseq && util::hash_text(msg.from.tag, config_.hash_seed) == d.caller_tag;
		if (initial) {
			// Only a ringing, session progress, answer or redirect says the
			// PBX accepted the credentials: a 4xx-6xx may come before or
			// instead of the digest check (404, 500, 503 under load).
			if (status == 401 || status == 407)
				d.challenged = true;
			else if (status > 100 && status < 400 && d.user_hash && !d.user_verified)
				verify_user(d, ctx.now);
			if (status >= 300) {
				// RFC 3261 §13.2.2.3-4: a final failure ends every early
				// dialog; once one fork is confirmed the call stands.
				if (!d.any_fork_confirmed()) {
					terminate(slot, ctx.now);
					++counters_.dialogs_ended;
				}
				return;
			}
			if (status <= 100 || msg.to.tag.empty())
				return; // no dialog without a To tag (RFC 3261 §12.1)
			Fork* f = fork_by_tag(d, util::hash_text(msg.to.tag, config_.hash_seed), true);
			if (!f || !f->live)
				return;
			touch(slot, ctx.now);
			read_side_sdp(*f, msg, from_remote);
			if (status >= 200) {
				f->confirmed = true;
				if (d.state == State::Early) {
					set_state(slot, State::Confirmed, ctx.now);
					++counters_.dialogs_confirmed;
					// The other branches' early media ends with the answer.
					for (size_t i = 0; i < d.fork_count; ++i)
						if (&d.forks[i] != f && !d.forks[i].confirmed)
							close_fork(d, d.forks[i], ctx.now);
				}
			}
			update_pinholes(d, *f, ctx.now);
			return;
		}
		// A re-INVITE transaction.
		Fork* f = fork_for(d, msg);
		if (!f || !f->live)
			return;
		touch(slot, ctx.now);
		const bool ours = f->pending && f->pending_method == Method::Invite && f->pending_cseq == msg.cseq;
		if (status >= 300) {
			// RFC 5057 §5.1: 481 and 408 to a re-INVITE end the dialog usage.
			if (status == 481 || status == 408) {
				close_fork(d, *f, ctx.now);
				if (!d.any_fork_live()) {
					terminate(slot, ctx.now);
					++counters_.dialogs_ended;
				}
				return;
			}
			if (ours)
				restore_offer(d, *f, ctx.now);
			return;
		}
		if (status < 200 && !msg.has_sdp())
			return;
		read_side_sdp(*f, msg, from_remote);
		if (status >= 200 && ours)
			f->pending = false;
		update_pinholes(d, *f, ctx.now);
		return;
	}

	if (msg.cseq_method == Method::Update || msg.cseq_method == Method::Prack) {
		Fork* f = fork_for(d, msg);
		if (!f || !f->live)
			return;
		touch(slot, ctx.now);
		const bool ours = f->pending && f->pending_method == msg.cseq_method && f->pending_cseq == msg.cseq;
		if (status >= 300) {
			if (ours)
				restore_offer(d, *f, ctx.now);
			return;
		}
		if (status < 200)
			return;
		read_side_sdp(*f, msg, from_remote);
		if (ours)
			f->pending = false;
		update_pinholes(d, *f, ctx.now);
	}
}

bool Tracker::read_side_sdp(Fork& f, const sip::Message& msg, bool from_remote)
{
	SideDesc& side = from_remote ? f.remote : f.local;
	return read_sdp(msg, side, side);
}

void Tracker::restore_offer(Dialog& d, Fork& f, util::TimePoint now)
{
	f.local = f.prev_local;
	f.remote = f.prev_remote;
	f.pending = false;
	update_pinholes(d, f, now);
}

bool Tracker::read_sdp(const sip::Message& msg, const SideDesc& previous, SideDesc& out)
{
	if (!msg.has_sdp())
		return false;
	sip::sdp::Session s;
	if (sip::sdp::parse(msg.body, s) != sip::sdp::Error::None) {
		++counters_.sdp_errors;
		return false;
	}
	SideDesc next;
	next.present = true;
	next.count = static_cast<uint8_t>(std::min<size_t>(s.media_count, kMaxStreams));
	if (s.media_count > kMaxStreams)
		counters_.streams_ignored += s.media_count - kMaxStreams;
	for (size_t i = 0; i < next.count; ++i) {
		const auto& m = s.media[i];
		StreamDesc& sd = next.streams[i];
		sd.port = m.port;
		sd.rtcp_port = m.rtcp_port;
		sd.rtcp_addr = m.rtcp_address;
		sd.dir = m.direction;
		sd.rtcp_mux = m.rtcp_mux;
		if (usable(m.address)) {
			sd.addr = m.address;
		} else {
			// c=0.0.0.0: "do not send to me" (RFC 3264 §8.4). Keep the last
			// known address: RTCP still flows while on hold.
			sd.zero_hold = true;
			if (previous.present && i < previous.count)
				sd.addr = previous.streams[i].addr;
		}
	}
	read_candidates(msg.body, next);
	out = next;
	return true;
}

// a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
// (RFC 8839 §5.1). Only UDP candidates with a literal address (not mDNS
// names); per stream the kMaxCandidates best by type: srflx/prflx, relay, host.
void Tracker::read_candidates(std::string_view body, SideDesc& desc)
{
	int stream = -1;
	std::array<uint8_t, kMaxCandidates> rank_of{};
	size_t pos = 0;
	while (pos < body.size()) {
		size_t end = body.find('\n', pos);
		if (end == std::string_view::npos)
			end = body.size();
		std::string_view line = body.substr(pos, end - pos);
		pos = end + 1;
		if (!line.empty() && line.back() == '\r')
			line.remove_suffix(1);
		if (line.starts_with("m=")) {
			++stream;
			rank_of = {};
			continue;
		}
		if (stream < 0 || stream >= desc.count || !line.starts_with("a=candidate:"))
			continue;
		std::array<std::string_view, 8> field{};
		size_t n = 0;
		for (size_t i = 0; i < line.size() && n < field.size();) {
			size_t j = line.find(' ', i);
			if (j == std::string_view::npos)
				j = line.size();
			if (j > i)
				field[n++] = line.substr(i, j - i);
			i = j + 1;
		}
		if (n < 8 || field[6] != "typ")
			continue;
		const std::string_view transport = field[2];
		if (transport.size() != 3 || (transport[0] | 0x20) != 'u' || (transport[1] | 0x20) != 'd' ||
		    (transport[2] | 0x20) != 'p')
			continue;
		auto addr = net::IpAddress::parse(field[4]);
		if (!addr || !usable(*addr))
			continue;
		const uint8_t rank = field[7] == "srflx" || field[7] == "prflx" ? 0 : field[7] == "relay" ? 1 : 2;
		StreamDesc& sd = desc.streams[stream];
		if (*addr == sd.addr)
			continue;
		bool dup = false;
		for (size_t k = 0; k < sd.candidate_count; ++k)
			dup = dup || sd.candidates[k] == *addr;
		if (dup)
			continue;
		// Keep the best kMaxCandidates, sorted by rank (stable: first seen wins ties).
		size_t at = sd.candidate_count;
		while (at > 0 && rank < rank_of[at - 1])
			--at;
		if (at >= kMaxCandidates)
			continue;
		const size_t last = std::min<size_t>(sd.candidate_count, kMaxCandidates - 1);
		for (size_t k = last; k > at; --k) {
			sd.candidates[k] = sd.candidates[k - 1];
			rank_of[k] = rank_of[k - 1];
		}
		sd.candidates[at] = *addr;
		rank_of[at] = rank;
		sd.candidate_count = static_cast<uint8_t>(std::min<size_t>(sd.candidate_count + 1, kMaxCandidates));
	}
}

// --- pinholes ---------------------------------------------------------------

size_t Tracker::desired_pinholes(const Dialog& d, const SideDesc& local, const SideDesc& remote,
                                 std::array<Key, kMaxPinholesPerFork>& out, size_t n) const
{
	if (!local.present || !remote.present)
		return n;
	auto add = [&](const net::IpAddress& a, uint16_t port, uint16_t remote_port) {
		if (!usable(a) || port == 0 || n >= out.size())
			return;
		for (size_t i = 0; i < n; ++i)
			if (out[i].port == port && out[i].addr == a)
				return;
		out[n++] = Key{a, port, remote_port};
	};
	const bool use_sdp = config_.nat_policy != NatPolicy::Signalling;
	const bool use_sig = config_.nat_policy != NatPolicy::Sdp;
	const size_t streams = std::min(local.count, remote.count);
	for (size_t i = 0; i < streams; ++i) {
		const StreamDesc& l = local.streams[i];
		const StreamDesc& r = remote.streams[i];
		if (l.port == 0 || r.port == 0)
			continue; // RFC 3264 §6: port 0 rejects or removes the stream
		const bool mux = l.rtcp_mux && r.rtcp_mux; // RFC 5761: RTCP on the RTP port
		// RTP flows to us only if the remote sends and we receive; on hold
		// (sendonly/inactive/0.0.0.0) it stops but RTCP continues (RFC 3264 §5.1).
		const bool rtp = mux || (!r.zero_hold && sends(r.dir) && receives(l.dir));
		const uint16_t rtcp = mux ? 0 : l.rtcp_port ? l.rtcp_port : static_cast<uint16_t>(l.port == 65535 ? 0 : l.port + 1);
		const net::IpAddress& rtcp_addr = usable(r.rtcp_addr) ? r.rtcp_addr : r.addr;
		const uint16_t r_rtcp = r.rtcp_port ? r.rtcp_port : static_cast<uint16_t>(r.port + 1);
		if (use_sdp) {
			if (rtp)
				add(r.addr, l.port, r.port);
			add(rtcp_addr, rtcp, r_rtcp);
			for (size_t k = 0; k < r.candidate_count; ++k) {
				if (rtp)
					add(r.candidates[k], l.port, 0);
				add(r.candidates[k], rtcp, 0);
			}
		}
		if (use_sig) {
			if (rtp)
				add(d.remote, l.port, 0);
			add(d.remote, rtcp, 0);
		}
	}
	return n;
}

void Tracker::update_pinholes(Dialog& d, Fork& f, util::TimePoint now)
{
	std::array<Key, kMaxPinholesPerFork> want;
	size_t n = 0;
	if (f.live) {
		n = desired_pinholes(d, f.local, f.remote, want, n);
		if (f.pending)
			n = desired_pinholes(d, f.prev_local, f.prev_remote, want, n);
	}
	std::array<bool, kMaxPinholesPerFork> have{};
	uint8_t kept = 0;
	for (size_t i = 0; i < f.pin_count; ++i) {
		const Pinhole& p = pinholes_[f.pins[i]];
		bool wanted = false;
		for (size_t j = 0; j < n; ++j)
			if (!have[j] && want[j].port == p.port && want[j].addr == p.addr) {
				have[j] = true;
				wanted = true;
				break;
			}
		if (wanted)
			f.pins[kept++] = f.pins[i];
		else
			release_pinhole(f.pins[i], now);
	}
	for (size_t j = 0; j < n; ++j) {
		if (have[j])
			continue;
		const uint64_t call_hash = util::hash_combine(net::hash_address(d.remote, config_.hash_seed), d.callid_hash);
		uint32_t s = acquire_pinhole(want[j], call_hash, now);
		if (s != util::kNoSlot)
			f.pins[kept++] = s;
	}
	f.pin_count = kept;
}

void Tracker::close_fork(Dialog&, Fork& f, util::TimePoint now)
{
	for (size_t i = 0; i < f.pin_count; ++i)
		release_pinhole(f.pins[i], now);
	f.pin_count = 0;
	f.live = false;
	f.pending = false;
}

uint32_t Tracker::acquire_pinhole(const Key& k, uint64_t call_hash, util::TimePoint now)
{
	const uint64_t h = util::hash_combine(net::hash_address(k.addr, config_.hash_seed), k.port);
	uint32_t s = pinholes_.find(h, [&](const Pinhole& p) { return p.port == k.port && p.addr == k.addr; });
	if (s != util::kNoSlot) {
		// Two dialogs can name the same element (call pickup, a PBX reusing
		// a port while the old dialog lingers): the kernel has one element,
		// so count references and delete on the last release.
		++pinholes_[s].refs;
		return s;
	}
	s = pinholes_.insert(h);
	if (s == util::kNoSlot) {
		++counters_.pinhole_table_full;
		return util::kNoSlot;
	}
	Pinhole& p = pinholes_[s];
	p.addr = k.addr;
	p.port = k.port;
	p.refs = 1;
	p.remote_port = k.remote_port;
	p.call_hash = call_hash;
	p.last_sent = now;
	pinhole_links_.push_back(refresh_, s);
	emit(PinholeOp::Open, p, now);
	++counters_.pinholes_opened;
	return s;
}

void Tracker::release_pinhole(uint32_t slot, util::TimePoint now)
{
	Pinhole& p = pinholes_[slot];
	if (p.refs == 0 || --p.refs > 0)
		return;
	emit(PinholeOp::Close, p, now);
	++counters_.pinholes_closed;
	pinhole_links_.remove(refresh_, slot);
	pinholes_.erase(slot);
}

void Tracker::emit(PinholeOp op, const Pinhole& p, util::TimePoint now)
{
	PinholeUpdate u;
	u.op = op;
	u.remote = p.addr;
	u.local_port = p.port;
	u.timeout = op == PinholeOp::Close ? std::chrono::seconds(0) : config_.pinhole_timeout;
	u.remote_port = p.remote_port;
	u.call_hash = p.call_hash;
	u.reason = op == PinholeOp::Refresh ? std::string_view("refresh") : why_;
	u.at = now;
	sink_.on_pinhole(u);
}

size_t Tracker::bytes_per_dialog()
{
	return sizeof(Dialog);
}

bool Tracker::pinhole_open(const net::IpAddress& addr, uint16_t local_port) const
{
	const uint64_t h = util::hash_combine(net::hash_address(addr, config_.hash_seed), local_port);
	return pinholes_.find(h, [&](const Pinhole& p) { return p.port == local_port && p.addr == addr; }) !=
	       util::kNoSlot;
}

// --- limits and forged requests ---------------------------------------------

uint8_t Tracker::trunk_of(const net::IpAddress& a) const
{
	for (size_t i = 0; i < config_.trunks.size() && i < kNoTrunk; ++i)
		for (const auto& c : config_.trunks[i].networks)
			if (c.contains(a))
				return static_cast<uint8_t>(i);
	return kNoTrunk;
}

bool Tracker::trusted(const MessageContext& ctx) const
{
	if (ctx.trusted)
		return true;
	const uint8_t t = trunk_of(ctx.remote);
	return t != kNoTrunk && config_.trunks[t].trusted;
}

void Tracker::report_limit(const MessageContext& ctx, std::string_view scope, std::string_view subject,
                           uint32_t count, uint32_t limit, std::string_view reason)
{
	Finding f;
	f.source = ctx.remote;
	f.count = count;
	f.limit = limit;
	f.reason = reason;
	f.scope = scope;
	copy_subject(f.subject, subject);
	f.at = ctx.now;
	sink_.on_finding(f);
}

bool Tracker::check_limits(const MessageContext& ctx, uint8_t trunk, uint64_t user_hash, std::string_view user,
                           bool retry)
{
	const util::TimePoint now = ctx.now;
	LimitCheck c;
	Counted* src = nullptr;
	bool trunk_admitted = false; // its concurrent call is counted already (count_call)
	if (trunk != kNoTrunk) {
		// A trunk's addresses may hash to different queues: shared counts.
		const Limits& l = config_.trunks[trunk].limits;
		if (limited(l)) {
			if ((c = limits_->admit_trunk(trunk, l, retry, now)).over) {
				if (c.report)
					report_limit(ctx, "trunk", config_.trunks[trunk].name, c.count, c.limit, c.reason);
				return false;
			}
			trunk_admitted = true;
		}
	} else if (limited(config_.per_source)) {
		src = &sources_.get(net::hash_address(ctx.remote, config_.hash_seed), ctx.remote, counters_.sources_evicted);
		roll_minute(src->attempts, src->attempts_since, now);
		const Limits& l = config_.per_source;
		if (l.max_concurrent_calls && src->concurrent >= l.max_concurrent_calls)
			c = {true, false, src->concurrent, l.max_concurrent_calls, "concurrent calls at the limit"};
		// A retry's attempt was admitted with the INVITE it answers a
		// challenge to: only the concurrent calls are checked again.
		else if (!retry && l.max_call_attempts_per_minute && src->attempts >= l.max_call_attempts_per_minute)
			c = {true, false, src->attempts, l.max_call_attempts_per_minute, "call attempts per minute at the limit"};
		if (c.over) {
			// At most one finding per key and minute: the drops are counted anyway.
			if (!src->limit_reported || now - src->last_limit_finding >= kMinute || now < src->last_limit_finding) {
				src->limit_reported = true;
				src->last_limit_finding = now;
				report_limit(ctx, "source", {}, c.count, c.limit, c.reason);
			}
			return false;
		}
	}
	// A user's counts hold only calls whose credentials the PBX accepted
	// (verify_user), so nobody else's INVITEs can fill them.
	if (user_hash && limited(config_.per_user) && (c = limits_->check_user(user_hash, config_.per_user, now)).over) {
		if (c.report)
			report_limit(ctx, "user", user, c.count, c.limit, c.reason);
		if (trunk_admitted)
			limits_->unadmit_trunk(trunk, retry);
		return false;
	}
	if (src && !retry)
		++src->attempts;
	return true;
}

void Tracker::count_call(Dialog& d, const MessageContext& ctx)
{
	d.counted = true;
	// A trunk's call was counted when check_limits admitted it.
	if (d.trunk == kNoTrunk && config_.per_source.max_concurrent_calls)
		++sources_.get(net::hash_address(ctx.remote, config_.hash_seed), ctx.remote, counters_.sources_evicted).concurrent;
}

void Tracker::verify_user(Dialog& d, util::TimePoint now)
{
	d.user_verified = true;
	if (!limited(config_.per_user))
		return;
	if (limits_->user_verified(d.user_hash, d.counted && config_.per_user.max_concurrent_calls, now))
		++counters_.users_evicted;
}

void Tracker::uncount_call(Dialog& d)
{
	if (!d.counted)
		return;
	d.counted = false;
	// An evicted counter entry simply forgets (the table is bounded).
	if (d.trunk != kNoTrunk) {
		if (limited(config_.trunks[d.trunk].limits))
			limits_->trunk_call_ended(d.trunk);
	} else if (Counted* s = sources_.find(net::hash_address(d.remote, config_.hash_seed), d.remote)) {
		s->concurrent -= s->concurrent > 0;
	}
	if (d.user_hash && d.user_verified && config_.per_user.max_concurrent_calls)
		limits_->user_call_ended(d.user_hash);
}

} // namespace sipguard::calls
