// SPDX-License-Identifier: GPL-2.0-or-later
// The parser's name tables (methods, header names) and what is generated
// from them agree row by row.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "agent/sip/header_names.h"
#include "agent/sip/message.h"
#include "agent/sip/parser.h"
#include "tests/sip/test_util.h"

using namespace sipguard::sip;
using sipguard::sip::test::wire;

TEST_CASE("every method in the method table is named and found by its token")
{
	CHECK(kMethodCount == kMethodNames.size());
	CHECK(to_string(Method::Unknown) == "unknown");
	CHECK(method_from_token("unknown") == Method::Unknown);
	for (size_t i = 1; i < kMethodCount; ++i) {
		const auto m = static_cast<Method>(i);
		const std::string token(to_string(m));
		CAPTURE(token);
		CHECK(method_from_token(token) == m);
		std::string lower = token;
		for (char& c : lower)
			c = static_cast<char>(c | 0x20);
		CHECK(method_from_token(lower) == Method::Unknown);
	}
}

TEST_CASE("every header name in the table: long form, compact form, colon match")
{
	for (const HeaderName& h : kHeaderNames) {
		const std::string name(h.name);
		CAPTURE(name);
		CHECK(header_name(h.id) == h.name);
		CHECK(lookup_header(name) == h.id);
		if (h.compact != '\0') {
			CHECK(lookup_header(std::string(1, h.compact)) == h.id);
			CHECK(lookup_header(std::string(1, static_cast<char>(h.compact - 32))) == h.id);
		}
		// Only the names marked Colon are taken by the one-compare path; the
		// rest leave the line to the general path, which finds them.
		const std::string line = name + ": x";
		size_t len = 0;
		const HeaderId matched = match_header_colon(line.data(), line.size(), len);
		if (h.spelling == Spelling::Colon) {
			CHECK(matched == h.id);
			CHECK(len == name.size());
		} else {
			CHECK(matched == HeaderId::Other);
		}
	}
}

TEST_CASE("a missing or repeated single-valued header is named in error_detail")
{
	const std::vector<std::string> lines = {
	    "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-1", "From: <sip:a@example.com>;tag=1", "To: <sip:b@example.com>",
	    "Call-ID: c1", "CSeq: 1 OPTIONS", "Content-Length: 0"};
	const char* const names[] = {"Via", "From", "To", "Call-ID", "CSeq", "Content-Length"};
	auto message = [&](size_t drop, size_t twice) {
		std::string text = "OPTIONS sip:b@example.com SIP/2.0\n";
		for (size_t i = 0; i < lines.size(); ++i) {
			if (i != drop)
				text += lines[i] + "\n";
			if (i == twice)
				text += lines[i] + "\n";
		}
		return wire(text + "\n");
	};
	Message m;
	// RFC 3261 §8.1.1's five; Content-Length is optional on a datagram.
	for (size_t i = 0; i < 5; ++i) {
		CAPTURE(names[i]);
		const std::string w = message(i, lines.size());
		parse(w, Transport::Datagram, m);
		CHECK(m.error == Malformation::MissingHeader);
		CHECK(m.error_detail == names[i]);
	}
	// Several missing: the first in §8.1.1's order.
	const std::string w = wire("OPTIONS sip:b@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\nCSeq: 1 OPTIONS\n\n");
	parse(w, Transport::Datagram, m);
	CHECK(m.error_detail == "From");
	for (size_t i = 1; i < lines.size(); ++i) {
		CAPTURE(names[i]);
		const std::string twice = message(lines.size(), i);
		parse(twice, Transport::Datagram, m);
		CHECK(m.error == Malformation::DuplicateHeader);
		CHECK(m.error_detail == names[i]);
	}
	const std::string whole = message(lines.size(), lines.size());
	parse(whole, Transport::Datagram, m);
	CHECK(m.valid());
}
