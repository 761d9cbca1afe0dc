// SPDX-License-Identifier: GPL-2.0-or-later
// Parsing /proc/net/netfilter/nfnetlink_queue text.
#include <doctest/doctest.h>

#include <cerrno>

#include "nfq/proc_stats.h"

using namespace sipguard::nfq;

TEST_CASE("parses the kernel's format")
{
	// As printed by seq_show(): "%5u %6u %5u %1u %5u %5u %5u %8u %2d\n".
	std::string text = "    0 3471123     0 2 65531     0     0    10458  1\n"
	                   "    3  12345    17 2  1500    42     7 4294967295  1\n";
	auto parsed = parse_proc_queue_stats(text);
	REQUIRE_MESSAGE(parsed.ok(), parsed.error());
	const std::vector<KernelQueueStats>& out = *parsed;
	REQUIRE(out.size() == 2);
	CHECK(out[0].queue_num == 0);
	CHECK(out[0].peer_portid == 3471123);
	CHECK(out[0].copy_mode == 2);
	CHECK(out[0].copy_range == 65531);
	CHECK(out[0].id_sequence == 10458);
	CHECK(out[1].queue_num == 3);
	CHECK(out[1].queue_total == 17);
	CHECK(out[1].copy_range == 1500);
	CHECK(out[1].queue_dropped == 42);
	CHECK(out[1].user_dropped == 7);
	CHECK(out[1].id_sequence == 4294967295u);
}

TEST_CASE("empty file and blank lines")
{
	auto empty = parse_proc_queue_stats("");
	REQUIRE(empty.ok());
	CHECK(empty->empty());
	auto blank = parse_proc_queue_stats("\n   \n    1 2 3 2 4 5 6 7 1");
	REQUIRE(blank.ok());
	CHECK(blank->size() == 1);
}

TEST_CASE("malformed lines name the line")
{
	auto second = parse_proc_queue_stats("0 1 2 2 3 4 5 6 1\n0 1 2 x 3 4 5 6 1\n");
	REQUIRE_FALSE(second.ok());
	CHECK(second.error().find("line 2") != std::string::npos);
	CHECK(second.status().error == EINVAL);
	auto short_line = parse_proc_queue_stats("0 1 2 2 3 4 5 6\n");
	REQUIRE_FALSE(short_line.ok());
	CHECK(short_line.error().find("line 1") != std::string::npos);
	CHECK_FALSE(parse_proc_queue_stats("0 1 2 2 3 4 5 6 1 9\n").ok());
	CHECK_FALSE(parse_proc_queue_stats("70000 1 2 2 3 4 5 6 1\n").ok());
	CHECK_FALSE(parse_proc_queue_stats("0 1 2 2 3 4 5 99999999999 1\n").ok());
	CHECK_FALSE(parse_proc_queue_stats("0 -1 2 2 3 4 5 6 1\n").ok());
}
