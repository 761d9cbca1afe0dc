// SPDX-License-Identifier: GPL-2.0-or-later
// The Request-Line and Status-Line (RFC 3261 §7.1, §7.2), and what a first
// line that is not SIP looks like (internal to parser.cpp).
#pragma once

#include <cstddef>
#include <string_view>

#include "agent/sip/message.h"
#include "agent/sip/parse/chars.h"
#include "agent/sip/parse/cursor.h"
#include "agent/sip/parse/not_sip.h"
#include "agent/sip/parse/result.h"
#include "agent/sip/parse/uri.h"
#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace {

// Classifies the first line and parses the request or status line; false
// when the message is finished (not SIP, or malformed). Inlined by force:
// parse_impl() is near GCC's inlining limits, which would keep it out.
[[gnu::always_inline]] inline bool parse_start_line(std::string_view line, Message& m, const char* lim)
{
	if (istarts<"sip/">(line)) {
		m.kind = Kind::Response;
		// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2);
		// "SIP" is case-insensitive (RFC 5234 string literal), 2.0 is exact.
		if (line.size() < 7 || scan::sub(line, 3, 4) != "/2.0" || (line.size() > 7 && line[7] != ' ')) {
			fail(m, Malformation::BadVersion, "Status-Line");
			return false;
		}
		if (line.size() < 11 || !is(line[8], kDigit) || !is(line[9], kDigit) || !is(line[10], kDigit)
		    || (line.size() > 11 && line[11] != ' ')) {
			fail(m, Malformation::BadStatusCode, "Status-Line");
			return false;
		}
		m.status = static_cast<uint16_t>((line[8] - '0') * 100 + (line[9] - '0') * 10 + (line[10] - '0'));
		if (m.status < 100 || m.status > 699) {
			fail(m, Malformation::BadStatusCode, "Status-Line");
			return false;
		}
		// Reason-Phrase may be empty (RFC 4475 "noreason") and hold UTF-8
		// (RFC 4475 "unreason"); control characters other than HT are not text.
		m.reason = line.size() > 12 ? scan::sub(line, 12) : std::string_view{};
		for (char ch : m.reason)
			if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t') {
				fail(m, Malformation::BadStartLine, "Reason-Phrase");
				return false;
			}
		return true;
	}
	if (istarts<"http/">(line)) {
		m.not_sip = NotSipKind::Http;
		return false;
	}
	// The usual " SIP/2.0" end by one word compare, else a backward search.
	const size_t last_sp = line.size() > 8 && scan::ieq<" sip/2.0">(line.data() + line.size() - 8)
	                           ? line.size() - 8
	                           : line.rfind(' ');
	const std::string_view last_word = last_sp == std::string_view::npos ? std::string_view{} : scan::sub(line, last_sp + 1);
	if (istarts<"http/">(last_word)) {
		// "GET / HTTP/1.1", "M-SEARCH * HTTP/1.1" (SSDP), "NOTIFY * HTTP/1.1".
		m.not_sip = NotSipKind::Http;
		return false;
	}
	const bool sip_version = istarts<"sip/">(last_word);
	Cur mc{line.data(), line.data() + line.size(), lim};
	const size_t mlen = mc.run<kToken>().size();
	const bool token_sp = mlen > 0 && mlen < line.size() && line[mlen] == ' ';
	if (!sip_version && (!token_sp || !all_text(line))) {
		m.not_sip = all_text(line) ? NotSipKind::Text : NotSipKind::Binary;
		return false;
	}
	m.kind = Kind::Request;
	if (!token_sp) {
		fail(m, Malformation::BadMethod, "Request-Line");
		return false;
	}
	if (mlen > kMaxTokenBytes) {
		fail(m, Malformation::OversizedField, "Method");
		return false;
	}
	m.method_token = scan::sub(line, 0, mlen);
	m.method = method_from_token(m.method_token);
	// Request-Line = Method SP Request-URI SP SIP-Version CRLF (§7.1): exactly
	// one SP each, nothing after the version (RFC 4475 "lwsstart", "trws").
	if (is(line.back(), kLws)) {
		fail(m, Malformation::BadStartLine, "Request-Line");
		return false;
	}
	if (!sip_version) {
		fail(m, Malformation::BadStartLine, "Request-Line");
		return false;
	}
	if (last_word.size() != 7 || scan::sub(last_word, 3) != "/2.0") {
		fail(m, Malformation::BadVersion, "Request-Line");
		return false;
	}
	if (last_sp <= mlen) {
		fail(m, Malformation::BadStartLine, "Request-Line");
		return false;
	}
	std::string_view ruri = scan::sub(line, mlen + 1, last_sp - mlen - 1);
	if (ruri.size() > kMaxUriBytes) {
		fail(m, Malformation::OversizedField, "Request-URI");
		return false;
	}
	// LWS inside, "<...>" or headers make an invalid Request-URI (RFC 4475
	// "lwsruri", "ltgtruri", "escruri").
	if (!parse_uri(ruri, m.ruri, UriSite::RequestLine, lim)) {
		fail(m, Malformation::BadRequestUri, "Request-URI");
		return false;
	}
	return true;
}

} // namespace

} // namespace sipguard::sip
