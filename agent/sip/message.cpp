// SPDX-License-Identifier: GPL-2.0-or-later
// Stable names of the parser's enums (used in JSON output and metrics) and
// method lookup from the method table.
#include "agent/sip/message.h"

#include "agent/sip/scan.h"

namespace sipguard::sip {

std::string_view to_string(Malformation m)
{
	switch (m) {
	case Malformation::None: return "none";
	case Malformation::Empty: return "empty";
	case Malformation::BadStartLine: return "bad_start_line";
	case Malformation::BadVersion: return "bad_version";
	case Malformation::BadMethod: return "bad_method";
	case Malformation::BadRequestUri: return "bad_request_uri";
	case Malformation::BadStatusCode: return "bad_status_code";
	case Malformation::BadHeaderSyntax: return "bad_header_syntax";
	case Malformation::MissingHeader: return "missing_header";
	case Malformation::DuplicateHeader: return "duplicate_header";
	case Malformation::BadVia: return "bad_via";
	case Malformation::BadFromTo: return "bad_from_to";
	case Malformation::BadCSeq: return "bad_cseq";
	case Malformation::CSeqMethodMismatch: return "cseq_method_mismatch";
	case Malformation::BadContentLength: return "bad_content_length";
	case Malformation::ContentLengthMismatch: return "content_length_mismatch";
	case Malformation::UnbalancedQuote: return "unbalanced_quote";
	case Malformation::OversizedField: return "oversized_field";
	case Malformation::TooManyHeaders: return "too_many_headers";
	case Malformation::NulByte: return "nul_byte";
	case Malformation::NoHeaderEnd: return "no_header_end";
	case Malformation::BadSdp: return "bad_sdp";
	case Malformation::BadContact: return "bad_contact";
	case Malformation::BadAuthorization: return "bad_authorization";
	case Malformation::BadNumber: return "bad_number";
	}
	return "unknown";
}

std::string_view to_string(NotSipKind k)
{
	switch (k) {
	case NotSipKind::None: return "none";
	case NotSipKind::Keepalive: return "keepalive";
	case NotSipKind::Stun: return "stun";
	case NotSipKind::Http: return "http";
	case NotSipKind::Binary: return "binary";
	case NotSipKind::Text: return "text";
	}
	return "unknown";
}

std::string_view to_string(Kind k)
{
	switch (k) {
	case Kind::Request: return "request";
	case Kind::Response: return "response";
	case Kind::NotSip: return "not_sip";
	}
	return "unknown";
}

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
