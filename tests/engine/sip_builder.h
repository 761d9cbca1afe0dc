// SPDX-License-Identifier: GPL-2.0-or-later
// Builds SIP requests and the PBX's responses as wire text for engine and
// replay tests (the messages go through the real parser).
#pragma once

#include <cstdint>
#include <string>

#include <fmt/core.h>

namespace sipguard::test {

struct Req {
	std::string method = "REGISTER";
	std::string ruri_user = "100";     // empty: no user part (sip:domain)
	std::string domain = "pbx.example.com";
	std::string from_user = "100";
	std::string from_display;
	std::string from_tag = "f1";
	std::string to_user = "100";
	std::string call_id = "call-1@198.51.100.10";
	uint32_t cseq = 1;
	std::string user_agent = "Yealink SIP-T46S 66.86.0.15";
	std::string via_host = "198.51.100.10";
	uint16_t via_port = 5060;
	std::string branch = "z9hG4bK-1";
	std::string transport = "UDP";
	std::string contact_host;          // default via_host
	bool credentials = false;          // Authorization with a response
	bool proxy_credentials = false;    // Proxy-Authorization instead
	std::string auth_user;             // default from_user
	std::string extra_headers;         // full lines with CRLF
	std::string body;
	std::string content_type = "application/sdp";
};

inline std::string request(const Req& r)
{
	std::string ruri = r.ruri_user.empty() ? fmt::format("sip:{}", r.domain)
	                                       : fmt::format("sip:{}@{}", r.ruri_user, r.domain);
	std::string from = r.from_display.empty()
		? fmt::format("<sip:{}@{}>;tag={}", r.from_user, r.domain, r.from_tag)
		: fmt::format("\"{}\" <sip:{}@{}>;tag={}", r.from_display, r.from_user, r.domain, r.from_tag);
	std::string s = fmt::format("{} {} SIP/2.0\r\n", r.method, ruri);
	s += fmt::format("Via: SIP/2.0/{} {}:{};branch={};rport\r\n", r.transport, r.via_host, r.via_port, r.branch);
	s += "Max-Forwards: 70\r\n";
	s += fmt::format("From: {}\r\n", from);
	s += fmt::format("To: <sip:{}@{}>\r\n", r.to_user, r.domain);
	s += fmt::format("Call-ID: {}\r\n", r.call_id);
	s += fmt::format("CSeq: {} {}\r\n", r.cseq, r.method == "CANCEL" || r.method == "ACK" ? r.method : r.method);
	s += fmt::format("Contact: <sip:{}@{}:{}>\r\n", r.from_user, r.contact_host.empty() ? r.via_host : r.contact_host,
	                 r.via_port);
	if (!r.user_agent.empty())
		s += fmt::format("User-Agent: {}\r\n", r.user_agent);
	if (r.credentials || r.proxy_credentials) {
		std::string user = r.auth_user.empty() ? r.from_user : r.auth_user;
		s += fmt::format("{}: Digest username=\"{}\", realm=\"asterisk\", nonce=\"4b5e2d1c\", uri=\"{}\", "
		                 "response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5\r\n",
		                 r.proxy_credentials ? "Proxy-Authorization" : "Authorization", user, ruri);
	}
	if (r.method == "REGISTER")
		s += "Expires: 3600\r\n";
	s += r.extra_headers;
	if (!r.body.empty())
		s += fmt::format("Content-Type: {}\r\n", r.content_type);
	s += fmt::format("Content-Length: {}\r\n\r\n", r.body.size());
	s += r.body;
	return s;
}

// The PBX's response to `r`: same Via/From/To/Call-ID/CSeq, a To tag on
// final responses, and a challenge on 401/407.
inline std::string response(const Req& r, int status, std::string_view reason = {})
{
	if (reason.empty())
		reason = status == 200 ? "OK" : status == 100 ? "Trying" : status == 180 ? "Ringing"
		         : status == 401 ? "Unauthorized" : status == 407 ? "Proxy Authentication Required"
		         : status == 403 ? "Forbidden" : status == 404 ? "Not Found" : "Whatever";
	std::string from = r.from_display.empty()
		? fmt::format("<sip:{}@{}>;tag={}", r.from_user, r.domain, r.from_tag)
		: fmt::format("\"{}\" <sip:{}@{}>;tag={}", r.from_display, r.from_user, r.domain, r.from_tag);
	std::string s = fmt::format("SIP/2.0 {} {}\r\n", status, reason);
	s += fmt::format("Via: SIP/2.0/{} {}:{};branch={};rport={};received={}\r\n", r.transport, r.via_host, r.via_port,
	                 r.branch, r.via_port, r.via_host);
	s += fmt::format("From: {}\r\n", from);
	s += fmt::format("To: <sip:{}@{}>{}\r\n", r.to_user, r.domain, status >= 200 ? ";tag=pbx-tag" : "");
	s += fmt::format("Call-ID: {}\r\n", r.call_id);
	s += fmt::format("CSeq: {} {}\r\n", r.cseq, r.method);
	s += "Server: Asterisk PBX 18.9.0\r\n";
	if (status == 401)
		s += "WWW-Authenticate: Digest algorithm=MD5, realm=\"asterisk\", nonce=\"4b5e2d1c\"\r\n";
	if (status == 407)
		s += "Proxy-Authenticate: Digest algorithm=MD5, realm=\"asterisk\", nonce=\"4b5e2d1c\"\r\n";
	s += "Content-Length: 0\r\n\r\n";
	return s;
}

} // namespace sipguard::test
