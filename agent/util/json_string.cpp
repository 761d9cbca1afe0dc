// SPDX-License-Identifier: GPL-2.0-or-later
// JSON string escaping that stays valid for any input bytes.
#include "agent/util/json_string.h"

#include <cstddef>

namespace sipguard::util {

namespace {

// Length of the well-formed UTF-8 sequence at p[i], or 0 (RFC 3629 §4 table:
// no overlongs, no surrogates, nothing above U+10FFFF).
size_t utf8_sequence(const unsigned char* p, size_t i, size_t n)
{
	const unsigned char c = p[i];
	size_t len = 0;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	if (len == 0 || i + len > n)
		return 0;
	for (size_t k = 1; k < len; ++k)
		if ((p[i + k] & 0xc0) != 0x80)
			return 0;
	if (len == 3 && ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f)))
		return 0;
	if (len == 4 && ((c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f)))
		return 0;
	return len;
}

void append_u00(std::string& out, unsigned char c)
{
	static constexpr char kHex[] = "0123456789abcdef";
	out += "\\u00";
	out += kHex[c >> 4];
	out += kHex[c & 0xf];
}

} // namespace

size_t utf8_sequence_length(std::string_view s, size_t i)
{
	if (i >= s.size())
		return 0;
	const auto* p = reinterpret_cast<const unsigned char*>(s.data());
	return p[i] < 0x80 ? 1 : utf8_sequence(p, i, s.size());
}

void append_json_string(std::string& out, std::string_view s)
{
	const auto* p = reinterpret_cast<const unsigned char*>(s.data());
	const size_t n = s.size();
	out += '"';
	for (size_t i = 0; i < n; ++i) {
		const unsigned char c = p[i];
		switch (c) {
		case '"': out += "\\\""; continue;
		case '\\': out += "\\\\"; continue;
		case '\n': out += "\\n"; continue;
		case '\r': out += "\\r"; continue;
		case '\t': out += "\\t"; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			append_u00(out, c);
		} else if (c < 0x80) {
			out += static_cast<char>(c);
		} else if (size_t len = utf8_sequence(p, i, n)) {
			out.append(s.data() + i, len);
			i += len - 1;
		} else {
			append_u00(out, c);
		}
	}
	out += '"';
}

} // namespace sipguard::util
