// SPDX-License-Identifier: GPL-2.0-or-later
// Header-name lookup without allocation: long and compact forms (RFC 3261
// §7.3.3, IANA "Header Fields" registry) mapped to one id, case-insensitively.
#pragma once

#include <cstdint>
#include <string_view>

namespace sipguard::sip {

enum class HeaderId : uint8_t {
	Other,
	Via,
	From,
	To,
	CallId,
	CSeq,
	Contact,
	ContentLength,
	ContentType,
	UserAgent,
	Server,
	Authorization,
	ProxyAuthorization,
	WwwAuthenticate,
	ProxyAuthenticate,
	Event,
	MaxForwards,
	Expires,
	// Known compact forms whose values the parser does not need.
	AcceptContact,
	ReferredBy,
	RequestDisposition,
	ContentEncoding,
	RejectContact,
	Supported,
	IdentityInfo,
	ReferTo,
	Subject,
	AllowEvents,
	SessionExpires,
	Identity,
};

// `name` is the header name as written (any case). Exact for any bytes: a
// name with a non-token character is Other.
HeaderId lookup_header(std::string_view name);
// The canonical long name ("Call-ID"); "" for Other.
std::string_view header_name(HeaderId id);

} // namespace sipguard::sip
