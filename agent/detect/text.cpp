// SPDX-License-Identifier: GPL-2.0-or-later
// Text made safe to print: printable UTF-8 kept, controls and invalid bytes as '?'.
#include "agent/detect/text.h"

#include "agent/util/json_string.h"

namespace sipguard::detect {

namespace {

// The code point of the well-formed sequence s[i, i+len).
char32_t decode(std::string_view s, size_t i, size_t len)
{
	const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
	static constexpr unsigned char kLead[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	char32_t cp = p[0] & kLead[len];
	for (size_t k = 1; k < len; ++k)
		cp = (cp << 6) | (p[k] & 0x3f);
	return cp;
}

// Characters that print nothing of their own but steer the terminal or
// how the text around them reads (Unicode general categories Cc, Zl, Zp
// and the Cf characters that reorder or hide text, UTS #39 / CVE-2021-42574).
bool shown_as_is(char32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
		return false; // C0, DEL, C1 (0x9b is CSI on some terminals)
	if (cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069))
		return false; // bidi marks, embeddings, overrides, isolates
	if (cp == 0x2028 || cp == 0x2029 || cp == 0x0085)
		return false; // line and paragraph separators, NEL
	if (cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0xe0000 && cp <= 0xe007f))
		return false; // BOM, interlinear annotation, tag characters
	if ((cp & 0xfffe) == 0xfffe || (cp >= 0xfdd0 && cp <= 0xfdef))
		return false; // noncharacters
	return true;
}

} // namespace

std::string printable_text(std::string_view text, size_t max_bytes)
{
	std::string out;
	out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
	for (size_t i = 0; i < text.size();) {
		const size_t len = util::utf8_sequence_length(text, i);
		if (len == 0 || !shown_as_is(decode(text, i, len))) {
			if (out.size() + 1 > max_bytes)
				break;
			out += '?';
			i += len ? len : 1;
			continue;
		}
		if (out.size() + len > max_bytes)
			break;
		out.append(text, i, len);
		i += len;
	}
	return out;
}

} // namespace sipguard::detect
