// SPDX-License-Identifier: GPL-2.0-or-later
// First-line classification of SIP messages for per-method metrics.
#include "agent/daemon/sip_peek.h"

namespace sipguard::daemon {

SipPeek peek_sip(std::span<const uint8_t> payload)
{
	SipPeek r;
	std::string_view s(reinterpret_cast<const char*>(payload.data()), payload.size());
	// RFC 3261 §7.2: Status-Line = SIP-Version SP Status-Code SP ...
	if (s.size() >= 12 && s.substr(0, 8) == "SIP/2.0 " && s[8] >= '1' && s[8] <= '6' && s[9] >= '0' &&
	    s[9] <= '9' && s[10] >= '0' && s[10] <= '9' && s[11] == ' ') {
		r.status_class = static_cast<uint8_t>(s[8] - '0');
		return r;
	}
	// RFC 3261 §7.1: Request-Line = Method SP Request-URI SP SIP-Version.
	size_t sp = s.find(' ');
	if (sp == std::string_view::npos || sp == 0 || sp > 16)
		return r;
	std::string_view method = s.substr(0, sp);
	for (size_t i = 0; i + 1 < kPeekMethodCount; ++i) {
		if (method == kPeekMethodNames[i]) {
			r.method = static_cast<int>(i);
			return r;
		}
	}
	for (char c : method)
		if (c < 'A' || c > 'Z')
			return r;
	std::string_view uri = s.substr(sp + 1);
	if (uri.starts_with("sip:") || uri.starts_with("sips:") || uri.starts_with("tel:"))
		r.method = static_cast<int>(kPeekMethodCount - 1);
	return r;
}

} // namespace sipguard::daemon
