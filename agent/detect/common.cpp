// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers shared by the detectors: finding set-up, evidence samples, method classes.
#include "agent/detect/detectors.h"

namespace sipguard::detect {

void begin_finding(Finding& out, Detector d, std::string_view reason, util::TimePoint now, util::Millis window)
{
	out.detector = d;
	out.reason = reason;
	out.at = now;
	out.wants_ban = true;
	out.evidence = Evidence{};
	out.evidence.window = window;
}

void add_source_samples(Finding& out, const SourceState& st)
{
	for (uint8_t i = 0; i < st.user_sample_count; ++i)
		out.evidence.add_sample("users", st.user_samples[i].view());
	out.evidence.add_sample("user_agent", st.user_agent.view());
}

MethodClass method_class(sip::Method m)
{
	switch (m) {
	case sip::Method::Invite: return MethodClass::Invite;
	case sip::Method::Register: return MethodClass::Register;
	case sip::Method::Options: return MethodClass::Options;
	default: return MethodClass::Other;
	}
}

} // namespace sipguard::detect
