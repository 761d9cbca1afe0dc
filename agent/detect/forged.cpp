// SPDX-License-Identifier: GPL-2.0-or-later
// Forged-control detector: NOTIFY check-sync/resync that makes phones reboot
// or reprovision (Yealink, Polycom, Snom) from untrusted sources, and
// in-dialog offences reported by the call tracker.
#include "agent/detect/detectors.h"
#include "agent/detect/text.h"

namespace sipguard::detect::forged {

bool is_forged_control(const ForgedConfig& cfg, const sip::Message& msg)
{
	if (!cfg.enabled || msg.method != sip::Method::Notify || msg.event.empty())
		return false;
	std::string_view ev = msg.event;
	while (!ev.empty() && (ev.back() == ' ' || ev.back() == '\t'))
		ev.remove_suffix(1);
	for (const auto& e : cfg.events)
		if (iequals(ev, e))
			return true;
	return false;
}

bool on_offence(const ForgedConfig& cfg, SourceState& st, std::string_view what, std::string_view sample,
                util::TimePoint now, Finding& out)
{
	if (!cfg.enabled)
		return false;
	if (count_in_window(st.forged_window, st.forged, now, cfg.window) < cfg.max_messages)
		return false;
	begin_finding(out, Detector::ForgedControl, what, now, cfg.window);
	out.evidence.add_count("offences", st.forged);
	out.evidence.add_sample("event", sample);
	out.evidence.add_sample("user_agent", st.user_agent.view());
	return true;
}

} // namespace sipguard::detect::forged
