// SPDX-License-Identifier: GPL-2.0-or-later
// Scanner detector: known tool signatures on the first packet, and the
// behaviour of a scanner that hides its User-Agent (probes to several users,
// or probes answered only with errors, from a source the PBX does not know).
#include "agent/detect/detectors.h"
#include "agent/detect/text.h"

namespace sipguard::detect::scanner {

namespace {

void signature_finding(Finding& out, const RequestFacts& r, const SourceState& st, std::string_view reason,
                       std::string_view field, std::string_view pattern, util::TimePoint now)
{
	begin_finding(out, Detector::Scanner, reason, now, util::Millis(0));
	out.evidence.add_count("requests", st.requests);
	out.evidence.add_sample("pattern", pattern);
	out.evidence.add_sample(field == "user_agent" ? "user_agent" : "from", field == "user_agent" ? r.msg.user_agent : r.msg.from.uri.raw);
	out.evidence.add_sample("method", r.msg.method_token);
	out.evidence.add_sample("users", r.target_user);
}

// Probes and their error answers are counted in one window.
void roll_scan_window(const ScannerConfig& cfg, SourceState& st, util::TimePoint now)
{
	if (restart_window(st.scan_window, now, cfg.window)) {
		st.probes = 0;
		st.probe_errors = 0;
	}
}

} // namespace

bool on_request(const ScannerConfig& cfg, SourceState& st, const RequestFacts& r, util::TimePoint now, Finding& out)
{
	if (!cfg.enabled)
		return false;
	const sip::Message& m = r.msg;
	if (const std::string* p = find_any(m.user_agent, cfg.user_agents)) {
		signature_finding(out, r, st, "scanner User-Agent", "user_agent", *p, now);
		return true;
	}
	const std::string* p = find_any(m.from.display, cfg.from_patterns);
	if (!p)
		p = find_any(m.from.uri.user, cfg.from_patterns);
	if (p) {
		signature_finding(out, r, st, "scanner From", "from", *p, now);
		return true;
	}
	for (const auto& u : cfg.from_users)
		if (iequals(m.from.uri.user, u)) {
			signature_finding(out, r, st, "scanner From user", "from", u, now);
			return true;
		}

	if (st.known() || st.ever_credentials || r.method != sip::Method::Options)
		return false;
	roll_scan_window(cfg, st, now);
	++st.probes;
	UserSlot* slot = st.user(r.target_hash, r.target_user, true);
	if (slot)
		slot->flags |= UserSlot::Probed;
	uint32_t probed = 0;
	for (uint8_t i = 0; i < st.user_count; ++i)
		probed += (st.users[i].flags & UserSlot::Probed) ? 1 : 0;
	if (probed < cfg.probe_users)
		return false;
	begin_finding(out, Detector::Scanner, "OPTIONS probes to several users from an unknown source", now, cfg.window);
	out.evidence.add_count("probed_users", probed);
	out.evidence.add_count("probes", st.probes);
	add_source_samples(out, st);
	return true;
}

bool on_response(const ScannerConfig& cfg, SourceState& st, const ResponseFacts& r, util::TimePoint now, Finding& out)
{
	if (!cfg.enabled || !r.probe || st.known() || st.ever_credentials)
		return false;
	if (r.status < 400 || is_challenge(r.status))
		return false;
	roll_scan_window(cfg, st, now);
	++st.probe_errors;
	if (st.probe_errors < cfg.error_probes)
		return false;
	begin_finding(out, Detector::Scanner, "probes from an unknown source answered only with errors", now, cfg.window);
	out.evidence.add_count("error_responses", st.probe_errors);
	out.evidence.add_count("last_status", r.status);
	add_source_samples(out, st);
	return true;
}

} // namespace sipguard::detect::scanner
