// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers for the SIP tests: write messages readably (LF, "{CL}") and get the
// wire form (CRLF, the real Content-Length).
#pragma once

#include <string>
#include <string_view>

namespace sipguard::sip::test {

// LF -> CRLF (bare LF only), then "{CL}" -> the body length.
inline std::string wire(std::string_view text)
{
	std::string s;
	s.reserve(text.size() + 64);
	for (size_t i = 0; i < text.size(); ++i) {
		if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
			s += '\r';
		s += text[i];
	}
	const size_t head_end = s.find("\r\n\r\n");
	const size_t body_len = head_end == std::string::npos ? 0 : s.size() - head_end - 4;
	const size_t cl = s.find("{CL}");
	if (cl != std::string::npos)
		s.replace(cl, 4, std::to_string(body_len));
	return s;
}

} // namespace sipguard::sip::test
