// SPDX-License-Identifier: GPL-2.0-or-later
// Bad-number lists: parsing with separators, errors with file:line, longest prefix, files.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

#include <unistd.h>

#include "agent/fraud/bad_numbers.h"
#include "tests/fraud/fixture.h"

using namespace sipguard;
using namespace sipguard::fraud;

TEST_CASE("entries with '+', separators and comments; longest prefix across lists")
{
	BadNumbers b;
	REQUIRE(b.add_text("# ITSPA list\n+44 909 879\n882-16 # whole range\n\n  +53 (7) 123.4567  \n", "itspa.txt"));
	REQUIRE(b.add_text("4490987900\n4420\n", "own.txt"));
	b.freeze();
	CHECK(b.size() == 5);
	CHECK(b.lists()[0].entries == 3);
	CHECK(b.lists()[1].entries == 2);
	auto hit = b.find("449098790000");
	REQUIRE(hit);
	CHECK(b.lists()[static_cast<size_t>(hit.list)].name == "own.txt"); // 10 digits beat 6
	CHECK(hit.length == 10);
	hit = b.find("449098791234");
	REQUIRE(hit);
	CHECK(b.lists()[static_cast<size_t>(hit.list)].name == "itspa.txt");
	CHECK(b.find("88216123456").list == 0);
	CHECK(b.find("5371234567").list == 0);
	CHECK(!b.find("537123456")); // shorter than the entry: not listed
	CHECK(!b.find("442812345678"));
	CHECK(b.find("442079460000").list == 1);
}

TEST_CASE("a bad entry is an error with file and line, and nothing is loaded")
{
	BadNumbers b;
	util::Status st = b.add_text("4490\n# c\n44 90x\n", "list.txt");
	REQUIRE(!st);
	CHECK(st.message == "list.txt:3: expected an E.164 number or prefix (digits, '+', separators), got \"44 90x\"");
	st = b.add_text("4\n", "short.txt");
	CHECK(st.message.rfind("short.txt:1: \"4\" is shorter than 2 digits", 0) == 0);
	st = b.add_text("1234567890123456\n", "long.txt");
	CHECK(st.message.rfind("long.txt:1:", 0) == 0);

	char path[] = "/tmp/sipguard-bad-XXXXXX";
	const int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);
	std::ofstream(path) << "+44 909 879\nnot-a-number\n";
	auto loaded = BadNumbers::load(std::vector<std::string>{path});
	REQUIRE(!loaded);
	CHECK(loaded.error() == std::string(path) + ":2: expected an E.164 number or prefix (digits, '+', separators), "
	                                            "got \"not-a-number\"");
	std::ofstream(path) << "+44 909 879\n";
	loaded = BadNumbers::load(std::vector<std::string>{path});
	REQUIRE(loaded);
	CHECK((*loaded)->lists()[0].name == std::string(path).substr(5));
	CHECK((*loaded)->find("449098790000"));
	std::remove(path);
	CHECK(!BadNumbers::load(std::vector<std::string>{path}));
}
