// SPDX-License-Identifier: GPL-2.0-or-later
// The parser's name tables (methods, header names) and what is generated
// from them agree row by row.
#include <doctest/doctest.h>

#include <string>

#include "agent/sip/header_names.h"
#include "agent/sip/message.h"

using namespace sipguard::sip;

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
