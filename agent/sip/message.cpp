// SPDX-License-Identifier: GPL-2.0-or-later
// Stable names of the parser's enums (used in JSON output and metrics) and
// method lookup from the method table.
#include "agent/sip/message.h"

#include "agent/sip/scan.h"
#include "agent/util/enum_names.h"

namespace sipguard::sip {

namespace {

constexpr auto kMalformationNames = util::enum_names<Malformation::BadNumber>({
	"none", "empty", "bad_start_line", "bad_version", "bad_method", "bad_request_uri",
	"bad_status_code", "bad_header_syntax", "missing_header", "duplicate_header", "bad_via",
	"bad_from_to", "bad_cseq", "cseq_method_mismatch", "bad_content_length",
	"content_length_mismatch", "unbalanced_quote", "oversized_field", "too_many_headers",
	"nul_byte", "no_header_end", "bad_sdp", "bad_contact", "bad_authorization", "bad_number"
}, "unknown");
constexpr auto kNotSipKindNames = util::enum_names<NotSipKind::Text>({
	"none", "keepalive", "stun", "http", "binary", "text"
}, "unknown");
constexpr auto kKindNames = util::enum_names<Kind::NotSip>({"request", "response", "not_sip"}, "unknown");

} // namespace

std::string_view to_string(Malformation m) { return kMalformationNames(m); }
std::string_view to_string(NotSipKind k) { return kNotSipKindNames(k); }
std::string_view to_string(Kind k) { return kKindNames(k); }

Method method_from_token(std::string_view t)
{
	// From 1: "unknown" is Unknown's name, not a token to match.
	const size_t i = scan::find_name<kMethodNames, false, 1>(t);
	return i < kMethodCount ? static_cast<Method>(i) : Method::Unknown;
}

bool Message::has_sdp() const
{
	// Media types are case-insensitive (RFC 2045 §5.1): one word-wise compare.
	return !body.empty() && scan::ieq<"application/sdp">(content_type);
}

} // namespace sipguard::sip
