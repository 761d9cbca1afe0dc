// SPDX-License-Identifier: GPL-2.0-or-later
// append_json_string: the ban log and `sipguard parse` stay valid JSON whatever
// bytes an attacker put in a header.
#include <doctest/doctest.h>

#include <string>

#include "agent/util/json_string.h"

using sipguard::util::append_json_string;

static std::string js(std::string_view s)
{
	std::string out;
	append_json_string(out, s);
	return out;
}

TEST_CASE("quotes, backslashes and control characters are escaped")
{
	CHECK(js("friendly-scanner") == "\"friendly-scanner\"");
	CHECK(js("a\"b\\c") == "\"a\\\"b\\\\c\"");
	CHECK(js("l1\r\nl2\t") == "\"l1\\r\\nl2\\t\"");
	CHECK(js(std::string_view("\0\x01\x1f\x7f", 4)) == "\"\\u0000\\u0001\\u001f\\u007f\"");
}

TEST_CASE("well-formed UTF-8 passes, every other high byte becomes \\u00XX")
{
	CHECK(js("J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x93\x9e") == "\"J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x93\x9e\"");
	CHECK(js("\xff\xfe") == "\"\\u00ff\\u00fe\"");
	CHECK(js("\xc3") == "\"\\u00c3\"");               // truncated sequence
	CHECK(js("\xc0\xaf") == "\"\\u00c0\\u00af\"");     // overlong '/'
	CHECK(js("\xed\xa0\x80") == "\"\\u00ed\\u00a0\\u0080\""); // UTF-16 surrogate
	CHECK(js("\xf4\x90\x80\x80") == "\"\\u00f4\\u0090\\u0080\\u0080\""); // > U+10FFFF
}
