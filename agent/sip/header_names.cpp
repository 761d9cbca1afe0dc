// SPDX-License-Identifier: GPL-2.0-or-later
// Header-name lookup, generated from kHeaderNames: compact forms by letter,
// long forms by a switch on the length and one word compare each.
#include "agent/sip/header_names.h"

#include "agent/sip/scan.h"

namespace sipguard::sip {

HeaderId lookup_header(std::string_view n)
{
	if (n.size() == 1) {
		const unsigned c = static_cast<unsigned char>(n[0]) | 0x20;
		return c >= 'a' && c <= 'z' ? header_table::kCompact[c - 'a'] : HeaderId::Other;
	}
	const size_t i = scan::find_name<header_table::kNames, true>(n);
	return i < header_table::kCount ? kHeaderNames[i].id : HeaderId::Other;
}

std::string_view header_name(HeaderId id)
{
	const auto i = static_cast<size_t>(id);
	return i < kHeaderIdCount ? header_table::kNameOf[i] : std::string_view{};
}

} // namespace sipguard::sip
