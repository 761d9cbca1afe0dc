// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged: a batch holding overlapping and invalid elements applies every valid one and reports each bad one with its errno.
#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <string>
#include <vector>

#include "rules/apply.h"
#include "rules/ban_diff.h"
#include "rules/elements.h"
#include "rules/netlink.h"
#include "rules/table.h"
#include "tests/privileged/rules/kernel_table.h"

using namespace sipguard;
using namespace std::chrono_literals;
using sipguard::test::Netns;

namespace {

net::IpAddress ip(const char* text) { return *net::IpAddress::parse(text); }

rules::ElementOp host(const char* a, std::chrono::milliseconds timeout)
{
	rules::ElementOp op;
	op.target = net::Cidr::host(ip(a));
	op.timeout = timeout;
	return op;
}

rules::ElementOp range(const char* first, const char* last, std::chrono::milliseconds timeout)
{
	rules::ElementOp op;
	op.target = net::Cidr::host(ip(first));
	op.last = ip(last);
	op.timeout = timeout;
	return op;
}

std::set<std::string> kernel_elements(rules::Netlink& nl)
{
	std::set<std::string> out;
	for (const auto& p : test::ban_pieces(nl))
		out.insert(rules::piece_text(p.first, p.last));
	return out;
}

// Beyond what the kernel converts to jiffies (nf_msecs_to_jiffies64: ERANGE).
constexpr std::chrono::milliseconds kAbsurd{std::chrono::milliseconds::rep{1} << 62};

} // namespace

TEST_CASE("robust apply: overlapping and invalid elements are refused alone, every valid one is applied")
{
	test::require_root_or_skip();
	Netns ns("rules-apply");
	rules::Netlink nl = test::open_with_table(ns);

	std::vector<rules::ElementOp> ops;
	for (int i = 1; i <= 40; ++i)
		ops.push_back(host(("192.0.2." + std::to_string(i)).c_str(), 600000ms));
	ops.push_back(range("10.0.0.0", "10.255.255.255", 600000ms));     // 40
	ops.push_back(range("10.1.0.0", "10.1.255.255", 600000ms));       // 41: inside 40: EEXIST
	ops.push_back(host("198.51.100.7", kAbsurd));                     // 42: ERANGE
	ops.push_back(range("172.16.0.0", "172.16.4.255", 60000ms));      // 43
	ops.push_back(range("172.16.5.0", "172.16.5.255", 120000ms));     // 44: neighbour of 43, fine
	ops.push_back(range("172.16.4.0", "172.16.5.127", 60000ms));      // 45: overlaps 43 and 44: EEXIST
	ops.push_back(range("2001:db8::", "2001:db8:0:ffff:ffff:ffff:ffff:ffff", 60000ms)); // 46
	ops.push_back(range("2001:db8::", "2001:db8::ff", 60000ms));      // 47: inside 46: EEXIST
	ops.push_back(host("2001:db8::1", 60000ms));                      // 48: host set, no overlap rule
	for (int i = 41; i <= 80; ++i)
		ops.push_back(host(("192.0.2." + std::to_string(i)).c_str(), 600000ms));

	rules::ApplyResult r = rules::apply_robust(nl, ops);
	CHECK_MESSAGE(r.transport.ok(), r.transport.message);
	std::vector<size_t> failed;
	for (const auto& f : r.failures) {
		failed.push_back(f.index);
		MESSAGE(f.index, ": ", f.error, " ", f.message);
	}
	CHECK(failed == std::vector<size_t>{41, 42, 45, 47});
	CHECK(r.applied == ops.size() - 4);
	CHECK(r.applied + r.failed() == ops.size());
	for (const auto& f : r.failures) {
		if (f.index == 42)
			CHECK(f.error == ERANGE);
		else
			CHECK(f.error == EEXIST);
		CHECK((f.message.find("bannet") != std::string::npos || f.index == 42));
	}
	MESSAGE(r.transactions, " transactions for ", ops.size(), " ops with 4 refused");
	CHECK(r.transactions < 60);

	std::set<std::string> have = kernel_elements(nl);
	CHECK(have.size() == ops.size() - 4);
	for (size_t i = 0; i < ops.size(); ++i) {
		std::string text = ops[i].last.valid() ? rules::piece_text(ops[i].target.base, ops[i].last)
		                                       : ops[i].target.base.to_string();
		bool bad = std::find(failed.begin(), failed.end(), i) != failed.end();
		CHECK_MESSAGE(have.count(text) == (bad ? 0u : 1u), text);
	}
}

TEST_CASE("robust apply: removing an element that already expired counts as applied")
{
	test::require_root_or_skip();
	Netns ns("rules-apply-gone");
	rules::Netlink nl = test::open_with_table(ns);
	std::vector<rules::ElementOp> add = {host("192.0.2.1", 600000ms), range("10.0.0.0", "10.0.0.255", 600000ms)};
	REQUIRE(rules::apply_robust(nl, add).ok());
	std::vector<rules::ListedPiece> listed;
	REQUIRE(rules::list_ban_pieces(nl, listed).ok());
	REQUIRE(listed.size() == 2);
	std::vector<rules::ElementOp> remove;
	for (const auto& p : listed)
		remove.push_back(rules::remove_op(p));
	remove.push_back(rules::remove_op({rules::BanSet::Host4, ip("192.0.2.99"), ip("192.0.2.99"), true, 0ms, 0ms}));
	rules::ApplyResult r = rules::apply_robust(nl, remove);
	CHECK(r.ok());
	CHECK(r.applied == 3);
	REQUIRE(rules::list_ban_pieces(nl, listed).ok());
	CHECK(listed.empty());
}
