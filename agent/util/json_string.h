// SPDX-License-Identifier: GPL-2.0-or-later
// JSON string literals from untrusted bytes (User-Agents, URIs, SIP headers):
// one escaper for the ban log, replay, `sipguard parse` and the control socket.
#pragma once

#include <string>
#include <string_view>

namespace sipguard::util {

// Appends `s` as a JSON string literal (RFC 8259 §7): quotes, backslash and
// control characters are escaped; well-formed UTF-8 (RFC 3629 §4) is copied;
// every byte that is not part of well-formed UTF-8 becomes \u00XX, so the
// output is always valid JSON whatever an attacker put in a header.
void append_json_string(std::string& out, std::string_view s);

// Length of the well-formed UTF-8 sequence (RFC 3629 §4: no overlongs, no
// surrogates, nothing above U+10FFFF) that starts at s[i], or 0. ASCII is 1.
size_t utf8_sequence_length(std::string_view s, size_t i);

} // namespace sipguard::util
