// SPDX-License-Identifier: GPL-2.0-or-later
// Malformed-message detector (fuzzing, PROTOS-style attacks): counts messages
// that are not valid SIP per source. Keep-alives (RFC 5626 §3.5.1 CRLF,
// STUN) never reach it.
#include "agent/detect/detectors.h"

namespace sipguard::detect::malformed {

bool on_message(const MalformedConfig& cfg, SourceState& st, std::string_view what, util::TimePoint now, Finding& out)
{
	if (!cfg.enabled)
		return false;
	if (count_in_window(st.malformed_window, st.malformed, now, cfg.window) < cfg.max_messages)
		return false;
	begin_finding(out, Detector::Malformed, "malformed SIP messages", now, cfg.window);
	out.evidence.add_count("malformed", st.malformed);
	out.evidence.add_count("requests", st.requests);
	out.evidence.add_sample("last_error", what);
	out.evidence.add_sample("user_agent", st.user_agent.view());
	return true;
}

} // namespace sipguard::detect::malformed
