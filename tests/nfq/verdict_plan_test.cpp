// SPDX-License-Identifier: GPL-2.0-or-later
// plan_verdicts: which verdict messages a receive batch turns into, checked
// both on fixed cases and against a model of the kernel's batch semantics.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <vector>

#include "nfq/verdict_plan.h"

using namespace sipguard::nfq;

namespace {

constexpr Verdict A = Verdict::Accept;
constexpr Verdict D = Verdict::Drop;

std::vector<VerdictMsg> plan(const std::vector<PendingVerdict>& in)
{
	std::vector<VerdictMsg> out(in.size());
	out.resize(plan_verdicts(in, out));
	return out;
}

// The kernel side: a queue of pending ids in order; a plain verdict removes
// its id, a batch verdict removes every pending id up to its id.
std::map<uint32_t, Verdict> apply(const std::vector<PendingVerdict>& in, const std::vector<VerdictMsg>& msgs,
                                  std::vector<uint32_t>& release_order)
{
	std::vector<uint32_t> queue;
	for (const auto& p : in)
		queue.push_back(p.id);
	std::map<uint32_t, Verdict> got;
	for (const auto& m : msgs) {
		if (m.batch) {
			while (!queue.empty() && static_cast<int32_t>(queue.front() - m.id) <= 0) {
				got[queue.front()] = m.verdict;
				release_order.push_back(queue.front());
				queue.erase(queue.begin());
			}
		} else {
			for (size_t i = 0; i < queue.size(); ++i)
				if (queue[i] == m.id) {
					got[m.id] = m.verdict;
					release_order.push_back(m.id);
					queue.erase(queue.begin() + static_cast<long>(i));
					break;
				}
		}
	}
	CHECK(queue.empty()); // every packet got a verdict
	return got;
}

} // namespace

TEST_CASE("empty batch sends nothing")
{
	CHECK(plan({}).empty());
}

TEST_CASE("a single accept is a plain verdict, a run of accepts one batch verdict")
{
	CHECK(plan({{7, A}}) == std::vector<VerdictMsg>{{7, A, false}});
	CHECK(plan({{7, A}, {8, A}, {9, A}}) == std::vector<VerdictMsg>{{9, A, true}});
}

TEST_CASE("drops go out alone, after the accepts before them")
{
	CHECK(plan({{1, D}}) == std::vector<VerdictMsg>{{1, D, false}});
	CHECK(plan({{1, A}, {2, A}, {3, D}, {4, A}, {5, A}}) ==
	      std::vector<VerdictMsg>{{2, A, true}, {3, D, false}, {5, A, true}});
	CHECK(plan({{1, A}, {2, D}, {3, A}}) == std::vector<VerdictMsg>{{1, A, false}, {2, D, false}, {3, A, false}});
	CHECK(plan({{1, D}, {2, D}, {3, A}, {4, A}}) ==
	      std::vector<VerdictMsg>{{1, D, false}, {2, D, false}, {4, A, true}});
	CHECK(plan({{1, A}, {2, A}, {3, D}}) == std::vector<VerdictMsg>{{2, A, true}, {3, D, false}});
}

TEST_CASE("gaps in ids (packets the kernel failed open) do not matter")
{
	CHECK(plan({{10, A}, {14, A}, {15, D}, {20, A}}) ==
	      std::vector<VerdictMsg>{{14, A, true}, {15, D, false}, {20, A, false}});
}

TEST_CASE("id wrap-around: the batch id is the last one in delivery order")
{
	CHECK(plan({{0xfffffffeu, A}, {0xffffffffu, A}, {0, A}, {1, A}}) == std::vector<VerdictMsg>{{1, A, true}});
}

TEST_CASE("random batches: every packet gets exactly its own verdict, in order, never more messages than packets")
{
	std::mt19937 rng(12345);
	for (int round = 0; round < 2000; ++round) {
		size_t n = rng() % 70;
		uint32_t id = rng();
		std::vector<PendingVerdict> in;
		for (size_t i = 0; i < n; ++i) {
			id += 1 + (rng() % 4 == 0 ? rng() % 3 : 0);
			in.push_back({id, rng() % 5 == 0 ? D : A});
		}
		auto msgs = plan(in);
		CHECK(msgs.size() <= in.size());
		size_t drops = 0;
		for (const auto& p : in)
			drops += p.verdict == D;
		// At most one message per drop plus one per run of accepts.
		CHECK(msgs.size() <= 2 * drops + 1);
		for (const auto& m : msgs)
			CHECK((m.verdict == A || !m.batch));
		std::vector<uint32_t> order;
		auto got = apply(in, msgs, order);
		REQUIRE(got.size() == in.size());
		for (size_t i = 0; i < in.size(); ++i) {
			CHECK(got[in[i].id] == in[i].verdict);
			CHECK(order[i] == in[i].id);
		}
	}
}
