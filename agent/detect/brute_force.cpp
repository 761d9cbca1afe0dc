// SPDX-License-Identifier: GPL-2.0-or-later
// Brute-force detector (svcrack): requests that carried credentials and were
// answered with another challenge or 403, per source and per user. A first
// challenge (no credentials) is never a failure, and one failure followed by
// a success for the same user (stale nonce, RFC 2617 §3.2.1 / RFC 7616 §3.3)
// is forgiven.
#include "agent/detect/detectors.h"

namespace sipguard::detect::brute_force {

bool on_response(const BruteForceConfig& cfg, SourceState& st, const AccountTable::Failure* account,
                 const ResponseFacts& r, util::TimePoint now, Finding& out)
{
	if (!cfg.enabled || !r.had_credentials || r.status < 200)
		return false;
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
		return false;
	}
	if (!is_auth_failure(r))
		return false;
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
	const uint32_t per_user = account ? account->failures : 0;
	std::string_view reason;
	util::Millis window = cfg.window;
	if (st.auth_failures >= cfg.max_failures) {
		reason = "failed authentications";
	} else if (cfg.fast_failures > 0 && fast >= cfg.fast_failures) {
		reason = "failed authentications for one user in quick succession";
		window = cfg.fast_window;
	} else if (per_user >= cfg.max_failures_per_user) {
		reason = "failed authentication on a user under distributed attack";
	} else {
		return false;
	}
	begin_finding(out, Detector::BruteForce, reason, now, window);
	out.evidence.add_count("failures", st.auth_failures);
	out.evidence.add_count("user_fast_failures", fast);
	out.evidence.add_count("user_failures_all_sources", per_user);
	out.evidence.add_count("last_status", r.status);
	out.evidence.add_sample("auth_user", st.last_auth_user.view());
	add_source_samples(out, st);
	return true;
}

} // namespace sipguard::detect::brute_force
