// SPDX-License-Identifier: GPL-2.0-or-later
// Brute-force detector (svcrack): requests that carried credentials and were
// answered with another challenge or 403, per source and per user. A first
// challenge (no credentials) is never a failure, and one failure followed by
// a success for the same user (stale nonce, RFC 2617 §3.2.1 / RFC 7616 §3.3)
// is forgiven.
#include "agent/detect/detectors.h"

namespace sipguard::detect::brute_force {

namespace {

uint32_t low_bits(uint64_t account) { return static_cast<uint32_t>(account) | 1; }

// Notes `account` among the source's failing accounts; returns how many
// failed within `window` (a full list forgets the oldest).
uint32_t note_failing(SourceState& st, uint64_t account, util::TimePoint now, util::Millis window)
{
	const uint32_t key = low_bits(account);
	const uint32_t t = UserHistoryBase::seconds(now);
	const auto window_s = static_cast<uint32_t>(window.count() / 1000);
	size_t slot = 0;
	for (size_t i = 0; i < SourceState::kFailingAccounts; ++i) {
		if (st.failing_accounts[i] == key) {
			slot = i;
			break;
		}
		if (st.failing_at_s[i] < st.failing_at_s[slot])
			slot = i;
	}
	st.failing_accounts[slot] = key;
	st.failing_at_s[slot] = t;
	uint32_t n = 0;
	for (size_t i = 0; i < SourceState::kFailingAccounts; ++i)
		n += st.failing_accounts[i] != 0 && t - st.failing_at_s[i] <= window_s ? 1 : 0;
	return n;
}

[[gnu::cold]] void common_evidence(Finding& out, const SourceState& st, uint16_t status, uint32_t fast,
                                   uint32_t per_user)
{
	out.evidence.add_count("failures", st.auth_failures);
	out.evidence.add_count("user_fast_failures", fast);
	out.evidence.add_count("user_failures_all_sources", per_user);
	out.evidence.add_count("last_status", status);
	out.evidence.add_sample("auth_user", st.last_auth_user.view());
}

// A failure of an IPv6 source where no account authenticated counts
// against its /64 at once: a host rotating addresses inside its /64 is one
// attacker. True when the /64 is to be banned: max_failures from at least
// two of its addresses, and no account ever authenticated from it.
bool prefix_failure(const BruteForceConfig& cfg, PrefixState& ps, uint64_t source_hash, util::TimePoint now,
                    uint32_t& sources)
{
	if (restart_window(ps.auth_window, now, cfg.window)) {
		ps.auth_failures = 0;
		ps.auth_sources = {};
	}
	if (ps.auth_failures < UINT16_MAX)
		++ps.auth_failures;
	const auto tag = static_cast<uint16_t>((source_hash >> 48) | 1);
	bool found = false;
	for (uint16_t t : ps.auth_sources)
		found = found || t == tag;
	if (!found)
		ps.auth_sources[ps.auth_failures % ps.auth_sources.size()] = tag;
	sources = 0;
	for (uint16_t t : ps.auth_sources)
		sources += t != 0 ? 1 : 0;
	return !ps.auth_success && sources >= 2 && ps.auth_failures >= cfg.max_failures;
}

[[gnu::cold]] Outcome ban_prefix(Finding& out, const BruteForceConfig& cfg, const SourceState& st,
                                const PrefixState& ps, uint32_t sources, util::TimePoint now)
{
	begin_finding(out, Detector::BruteForce, "failed authentications from several addresses of one /64", now,
	              cfg.window);
	out.evidence.add_count("prefix_failures", ps.auth_failures);
	out.evidence.add_count("sources", sources);
	out.evidence.add_sample("identity", "prefix");
	out.evidence.add_sample("why", "no account authenticated from the prefix");
	add_source_samples(out, st);
	return Outcome::BanPrefix;
}

// A source where an account authenticated: an office NAT or a trunk. A
// failing account there is one misconfigured phone; the pair is blocked,
// the source banned only when several accounts fail from it.
[[gnu::cold]] Outcome known_good(const BruteForceConfig& cfg, const Context& ctx, SourceState& st,
                                const ResponseFacts& r, uint32_t fast, util::TimePoint now, Finding& out)
{
	PairState& pair = *ctx.pair;
	if (restart_window(pair.failures_since, now, cfg.window))
		pair.failures = 0;
	if (pair.failures < UINT16_MAX)
		++pair.failures;
	const uint32_t failing = note_failing(st, r.account, now, cfg.window);
	const uint32_t per_user = ctx.account ? ctx.account->failures : 0;
	if (failing >= ctx.accounts.max_failing_accounts) {
		begin_finding(out, Detector::BruteForce, "failed authentications for several accounts from one source", now,
		              cfg.window);
		common_evidence(out, st, r.status, fast, per_user);
		out.evidence.add_count("failing_accounts", failing);
		out.evidence.add_sample("identity", "source");
		out.evidence.add_sample("why", "several accounts fail from it, though one authenticated");
		add_source_samples(out, st);
		return Outcome::Ban;
	}
	// After a block, the first failure blocks again, one step further.
	const bool fast_repeat = cfg.fast_failures > 0 && fast >= cfg.fast_failures;
	if (pair.failures < ctx.accounts.pair_max_failures && !fast_repeat && pair.blocks == 0)
		return Outcome::None;
	if (ctx.ladder.empty())
		return Outcome::None;
	const util::Millis block = ctx.ladder[std::min<size_t>(pair.blocks, ctx.ladder.size() - 1)];
	if (pair.blocks < UINT16_MAX)
		++pair.blocks;
	pair.blocked_until = now + block;
	st.pairs_blocked_until = std::max(st.pairs_blocked_until, pair.blocked_until);
	begin_finding(out, Detector::Account,
	              "failed authentications for one account from a source where accounts authenticate: its "
	              "requests from there are dropped",
	              now, block);
	out.wants_ban = false;
	out.evidence.add_count("account_failures", pair.failures);
	out.evidence.add_count("failing_accounts", failing);
	out.evidence.add_count("block_s", std::chrono::duration_cast<std::chrono::seconds>(block).count());
	out.evidence.add_count("blocks", pair.blocks);
	out.evidence.add_count("last_status", r.status);
	out.evidence.add_sample("account", r.account_name);
	out.evidence.add_sample("identity", "source+account");
	out.evidence.add_sample("why", "not banned: an account authenticated from this source");
	out.evidence.add_sample("user_agent", st.user_agent.view());
	return Outcome::Block;
}

} // namespace

void on_auth_success(SourceState& st, PairState& pair, uint64_t account)
{
	st.auth_success = true;
	pair.succeeded = true;
	pair.failures = 0;
	// A failure just before was a stale nonce, not a failing account.
	const uint32_t key = low_bits(account);
	for (size_t i = 0; i < SourceState::kFailingAccounts; ++i)
		if (st.failing_accounts[i] == key)
			st.failing_accounts[i] = 0;
}

Outcome on_response(const BruteForceConfig& cfg, const Context& ctx, SourceState& st, const ResponseFacts& r,
                    util::TimePoint now, Finding& out)
{
	if (!cfg.enabled || !r.had_credentials || r.status < 200)
		return Outcome::None;
	if (restart_window(st.brute_window, now, cfg.window))
		st.auth_failures = 0;
	UserSlot* u = st.user(r.target_hash, r.target_user, true);
	if (is_success(r)) {
		if (u && u->pending_failures > 0) {
			if (st.auth_failures > 0)
				--st.auth_failures;
			u->pending_failures = 0;
		}
		if (u)
			u->fast_failures = 0; // the password works: earlier failures were stale nonces
		return Outcome::None;
	}
	if (!is_auth_failure(r))
		return Outcome::None;
	++st.auth_failures;
	uint32_t fast = 0;
	if (u) {
		if (u->pending_failures < 255)
			++u->pending_failures;
		// Fast repeat: failures of the same method for this user in a row
		// within fast_window.
		const uint16_t now_ds = st.deciseconds(now);
		const auto method = static_cast<uint8_t>(r.method);
		const auto fast_ds = static_cast<uint32_t>(cfg.fast_window.count() / 100);
		if (u->fast_failures == 0 || u->fast_method != method ||
		    static_cast<uint16_t>(now_ds - u->fast_start_ds) > fast_ds) {
			u->fast_failures = 0;
			u->fast_method = method;
			u->fast_start_ds = now_ds;
		}
		if (u->fast_failures < 255)
			++u->fast_failures;
		fast = u->fast_failures;
	}
	if (!r.target_user.empty())
		st.last_auth_user.set(r.target_user);
	if (ctx.accounts.enabled && ctx.pair && st.auth_success)
		return known_good(cfg, ctx, st, r, fast, now, out);
	const uint32_t per_user = ctx.account ? ctx.account->failures : 0;
	uint32_t prefix_sources = 0;
	const bool prefix = ctx.v6_prefix && prefix_failure(cfg, *ctx.v6_prefix, ctx.source_hash, now, prefix_sources);
	std::string_view reason;
	util::Millis window = cfg.window;
	if (st.auth_failures >= cfg.max_failures) {
		reason = "failed authentications";
	} else if (cfg.fast_failures > 0 && fast >= cfg.fast_failures) {
		reason = "failed authentications for one user in quick succession";
		window = cfg.fast_window;
	} else if (ctx.account && ctx.account->guarded) {
		reason = "failed authentication on an account under attack from several sources";
	} else if (per_user >= cfg.max_failures_per_user) {
		reason = "failed authentication on a user under distributed attack";
	} else if (prefix) {
		return ban_prefix(out, cfg, st, *ctx.v6_prefix, prefix_sources, now);
	} else {
		return Outcome::None;
	}
	begin_finding(out, Detector::BruteForce, reason, now, window);
	common_evidence(out, st, r.status, fast, per_user);
	out.evidence.add_count("account_sources", ctx.account ? ctx.account->sources : 0);
	out.evidence.add_sample("identity", "source");
	out.evidence.add_sample("why", "no account authenticated from it");
	add_source_samples(out, st);
	return Outcome::Ban;
}

Outcome on_guarded(const BruteForceConfig& cfg, const Context& ctx, SourceState& st, PairState& pair, uint64_t txn,
                   std::string_view account_name, util::TimePoint now, Finding& out)
{
	if (!cfg.enabled || pair.guarded_txn == txn)
		return Outcome::None; // a retransmission of the request already dropped
	const bool again = pair.failures > 0 || pair.guarded_txn != 0;
	pair.guarded_txn = txn;
	// The refused credentials count as a failure, as if the PBX had said so.
	if (restart_window(pair.failures_since, now, cfg.window))
		pair.failures = 0;
	if (pair.failures < UINT16_MAX)
		++pair.failures;
	if (restart_window(st.brute_window, now, cfg.window))
		st.auth_failures = 0;
	++st.auth_failures;
	st.last_auth_user.set(account_name);
	if (st.auth_success)
		return Outcome::None; // known good: its own accounts keep working
	uint32_t prefix_sources = 0;
	if (ctx.v6_prefix && prefix_failure(cfg, *ctx.v6_prefix, ctx.source_hash, now, prefix_sources))
		return ban_prefix(out, cfg, st, *ctx.v6_prefix, prefix_sources, now);
	if (!again)
		return Outcome::None;
	begin_finding(out, Detector::BruteForce,
	              "credentials again for an account under attack from several sources, where it never authenticated",
	              now, ctx.accounts.guard_time);
	common_evidence(out, st, 0, 0, ctx.account ? ctx.account->failures : 0);
	out.evidence.add_count("account_sources", ctx.account ? ctx.account->sources : 0);
	out.evidence.add_sample("identity", "source");
	out.evidence.add_sample("why", "the account is guarded and never authenticated from it");
	add_source_samples(out, st);
	return Outcome::Ban;
}

} // namespace sipguard::detect::brute_force
