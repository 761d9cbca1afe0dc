// SPDX-License-Identifier: GPL-2.0-or-later
// Header-name lookup: a switch on length and first letter, then one
// word-wise case-insensitive compare; compact forms in one table.
#include "agent/sip/header_names.h"

#include <array>

#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace {

// Compact forms: RFC 3261 §7.3.3 (c e f i k l m s t v) and the IANA SIP
// header registry (a b d j n o r u x y). The only place they are expanded.
constexpr std::array<HeaderId, 26> make_compact()
{
	std::array<HeaderId, 26> t{};
	for (auto& x : t)
		x = HeaderId::Other;
	t['a' - 'a'] = HeaderId::AcceptContact;      // RFC 3841
	t['b' - 'a'] = HeaderId::ReferredBy;         // RFC 3892
	t['c' - 'a'] = HeaderId::ContentType;
	t['d' - 'a'] = HeaderId::RequestDisposition; // RFC 3841
	t['e' - 'a'] = HeaderId::ContentEncoding;
	t['f' - 'a'] = HeaderId::From;
	t['i' - 'a'] = HeaderId::CallId;
	t['j' - 'a'] = HeaderId::RejectContact;      // RFC 3841
	t['k' - 'a'] = HeaderId::Supported;
	t['l' - 'a'] = HeaderId::ContentLength;
	t['m' - 'a'] = HeaderId::Contact;
	t['n' - 'a'] = HeaderId::IdentityInfo;       // RFC 4474
	t['o' - 'a'] = HeaderId::Event;              // RFC 6665
	t['r' - 'a'] = HeaderId::ReferTo;            // RFC 3515
	t['s' - 'a'] = HeaderId::Subject;
	t['t' - 'a'] = HeaderId::To;
	t['u' - 'a'] = HeaderId::AllowEvents;        // RFC 6665
	t['v' - 'a'] = HeaderId::Via;
	t['x' - 'a'] = HeaderId::SessionExpires;     // RFC 4028
	t['y' - 'a'] = HeaderId::Identity;           // RFC 8224
	return t;
}
constexpr auto kCompact = make_compact();

} // namespace

HeaderId lookup_header(std::string_view n)
{
	if (n.empty())
		return HeaderId::Other;
	const char* const d = n.data();
	const unsigned char c0 = static_cast<unsigned char>(n[0]) | 0x20;
	switch (n.size()) {
	case 1:
		return (c0 >= 'a' && c0 <= 'z') ? kCompact[c0 - 'a'] : HeaderId::Other;
	case 2:
		return scan::ieq<"to">(d) ? HeaderId::To : HeaderId::Other;
	case 3:
		return scan::ieq<"via">(d) ? HeaderId::Via : HeaderId::Other;
	case 4:
		if (c0 == 'f')
			return scan::ieq<"from">(d) ? HeaderId::From : HeaderId::Other;
		if (c0 == 'd')
			return scan::ieq<"date">(d) ? HeaderId::Date : HeaderId::Other;
		return scan::ieq<"cseq">(d) ? HeaderId::CSeq : HeaderId::Other;
	case 5:
		switch (c0) {
		case 'e':
			return scan::ieq<"event">(d) ? HeaderId::Event : HeaderId::Other;
		case 'a':
			return scan::ieq<"allow">(d) ? HeaderId::Allow : HeaderId::Other;
		case 'r':
			return scan::ieq<"route">(d) ? HeaderId::Route : HeaderId::Other;
		default:
			return HeaderId::Other;
		}
	case 6:
		switch (c0) {
		case 's':
			return scan::ieq<"server">(d) ? HeaderId::Server : HeaderId::Other;
		case 'a':
			return scan::ieq<"accept">(d) ? HeaderId::Accept : HeaderId::Other;
		case 'r':
			return scan::ieq<"reason">(d) ? HeaderId::Reason : HeaderId::Other;
		case 'm':
			return scan::ieq<"min-se">(d) ? HeaderId::MinSe : HeaderId::Other;
		default:
			return HeaderId::Other;
		}
	case 7:
		switch (c0) {
		case 'c':
			if (scan::ieq<"call-id">(d))
				return HeaderId::CallId;
			return scan::ieq<"contact">(d) ? HeaderId::Contact : HeaderId::Other;
		case 'e':
			return scan::ieq<"expires">(d) ? HeaderId::Expires : HeaderId::Other;
		case 's':
			return scan::ieq<"subject">(d) ? HeaderId::Subject : HeaderId::Other;
		case 'r':
			return scan::ieq<"require">(d) ? HeaderId::Require : HeaderId::Other;
		default:
			return HeaderId::Other;
		}
	case 8:
		if (c0 == 'r')
			return scan::ieq<"refer-to">(d) ? HeaderId::ReferTo : HeaderId::Other;
		return scan::ieq<"identity">(d) ? HeaderId::Identity : HeaderId::Other;
	case 9:
		return scan::ieq<"supported">(d) ? HeaderId::Supported : HeaderId::Other;
	case 10:
		return scan::ieq<"user-agent">(d) ? HeaderId::UserAgent : HeaderId::Other;
	case 11:
		return scan::ieq<"referred-by">(d) ? HeaderId::ReferredBy : HeaderId::Other;
	case 12:
		if (c0 == 'c')
			return scan::ieq<"content-type">(d) ? HeaderId::ContentType : HeaderId::Other;
		if (c0 == 'm')
			return scan::ieq<"max-forwards">(d) ? HeaderId::MaxForwards : HeaderId::Other;
		if (c0 == 'a')
			return scan::ieq<"allow-events">(d) ? HeaderId::AllowEvents : HeaderId::Other;
		if (c0 == 'r')
			return scan::ieq<"record-route">(d) ? HeaderId::RecordRoute : HeaderId::Other;
		return HeaderId::Other;
	case 13:
		if (c0 == 'a')
			return scan::ieq<"authorization">(d) ? HeaderId::Authorization : HeaderId::Other;
		if (c0 == 'i')
			return scan::ieq<"identity-info">(d) ? HeaderId::IdentityInfo : HeaderId::Other;
		return HeaderId::Other;
	case 14:
		if (c0 == 'c')
			return scan::ieq<"content-length">(d) ? HeaderId::ContentLength : HeaderId::Other;
		if (c0 == 'a')
			return scan::ieq<"accept-contact">(d) ? HeaderId::AcceptContact : HeaderId::Other;
		return scan::ieq<"reject-contact">(d) ? HeaderId::RejectContact : HeaderId::Other;
	case 15:
		return scan::ieq<"session-expires">(d) ? HeaderId::SessionExpires : HeaderId::Other;
	case 16:
		if (c0 == 'w')
			return scan::ieq<"www-authenticate">(d) ? HeaderId::WwwAuthenticate : HeaderId::Other;
		return scan::ieq<"content-encoding">(d) ? HeaderId::ContentEncoding : HeaderId::Other;
	case 18:
		return scan::ieq<"proxy-authenticate">(d) ? HeaderId::ProxyAuthenticate : HeaderId::Other;
	case 19:
		if (c0 == 'p')
			return scan::ieq<"proxy-authorization">(d) ? HeaderId::ProxyAuthorization : HeaderId::Other;
		return scan::ieq<"request-disposition">(d) ? HeaderId::RequestDisposition : HeaderId::Other;
	default:
		return HeaderId::Other;
	}
}

std::string_view header_name(HeaderId id)
{
	switch (id) {
	case HeaderId::Other: return "";
	case HeaderId::Via: return "Via";
	case HeaderId::From: return "From";
	case HeaderId::To: return "To";
	case HeaderId::CallId: return "Call-ID";
	case HeaderId::CSeq: return "CSeq";
	case HeaderId::Contact: return "Contact";
	case HeaderId::ContentLength: return "Content-Length";
	case HeaderId::ContentType: return "Content-Type";
	case HeaderId::UserAgent: return "User-Agent";
	case HeaderId::Server: return "Server";
	case HeaderId::Authorization: return "Authorization";
	case HeaderId::ProxyAuthorization: return "Proxy-Authorization";
	case HeaderId::WwwAuthenticate: return "WWW-Authenticate";
	case HeaderId::ProxyAuthenticate: return "Proxy-Authenticate";
	case HeaderId::Event: return "Event";
	case HeaderId::MaxForwards: return "Max-Forwards";
	case HeaderId::Expires: return "Expires";
	case HeaderId::AcceptContact: return "Accept-Contact";
	case HeaderId::ReferredBy: return "Referred-By";
	case HeaderId::RequestDisposition: return "Request-Disposition";
	case HeaderId::ContentEncoding: return "Content-Encoding";
	case HeaderId::RejectContact: return "Reject-Contact";
	case HeaderId::Supported: return "Supported";
	case HeaderId::IdentityInfo: return "Identity-Info";
	case HeaderId::ReferTo: return "Refer-To";
	case HeaderId::Subject: return "Subject";
	case HeaderId::AllowEvents: return "Allow-Events";
	case HeaderId::SessionExpires: return "Session-Expires";
	case HeaderId::Identity: return "Identity";
	case HeaderId::Allow: return "Allow";
	case HeaderId::Accept: return "Accept";
	case HeaderId::Reason: return "Reason";
	case HeaderId::Date: return "Date";
	case HeaderId::Route: return "Route";
	case HeaderId::RecordRoute: return "Record-Route";
	case HeaderId::Require: return "Require";
	case HeaderId::MinSe: return "Min-SE";
	}
	return "";
}

} // namespace sipguard::sip
