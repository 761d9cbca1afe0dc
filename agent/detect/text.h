// SPDX-License-Identifier: GPL-2.0-or-later
// ASCII case-insensitive matching for signature lists (User-Agent, From,
// Event): no locale, no allocation; and the rules for text that will be
// shown on a terminal or in a log, whoever wrote it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sipguard::detect {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// One byte of text an attacker chose (a SIP header sample in a finding's
// fixed storage): every byte outside printable ASCII becomes '?', so no
// newline forges a log line and no ESC drives the terminal.
inline char printable(char c)
{
	const auto u = static_cast<unsigned char>(c);
	return (u < 0x20 || u >= 0x7f) ? '?' : c;
}

// Text shown by `sipguard bans`, `--follow`, `explain` and the journal
// (an operator's `ban --reason`, an import's origin, daemon text the CLI
// prints): well-formed UTF-8 that prints is kept ("Betrug über Nacht",
// "攻撃"); control characters (C0, DEL, C1: newline, ESC, CSI), invisible
// format characters that reorder or hide text (bidi controls, line and
// paragraph separators, BOM, tag characters) and bytes that are not
// well-formed UTF-8 each become one '?'. Cut to at most `max_bytes`, never
// inside a character.
std::string printable_text(std::string_view text, size_t max_bytes);

inline bool iequals(std::string_view a, std::string_view b)
{
	if (a.size() != b.size())
		return false;
	for (size_t i = 0; i < a.size(); ++i)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

inline bool icontains(std::string_view hay, std::string_view needle)
{
	if (needle.empty())
		return false;
	if (needle.size() > hay.size())
		return false;
	for (size_t i = 0; i + needle.size() <= hay.size(); ++i) {
		size_t j = 0;
		while (j < needle.size() && ascii_lower(hay[i + j]) == ascii_lower(needle[j]))
			++j;
		if (j == needle.size())
			return true;
	}
	return false;
}

// The first pattern contained in `hay`, or nullptr.
inline const std::string* find_any(std::string_view hay, const std::vector<std::string>& patterns)
{
	for (const auto& p : patterns)
		if (icontains(hay, p))
			return &p;
	return nullptr;
}

} // namespace sipguard::detect
