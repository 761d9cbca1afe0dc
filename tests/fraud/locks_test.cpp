// SPDX-License-Identifier: GPL-2.0-or-later
// Account locks: the ladder, expiry, forgetting, unlock and save/restore.
#include <doctest/doctest.h>

#include "agent/fraud/locks.h"
#include "tests/fraud/fixture.h"

using namespace sipguard;
using namespace sipguard::fraud;
using namespace sipguard::fraud::test;
using std::chrono::hours;

TEST_CASE("the ladder: 1h, then 6h, the last step repeats; old locks are forgotten")
{
	Locks locks(16, {hours(1), hours(6)}, hours(24 * 30), util::kDefaultHashSeed);
	auto t = at_seconds(kMonday10);
	Locks::Lock l = locks.lock("alice", t, "calls_per_minute");
	CHECK(l.step == 1);
	CHECK(l.duration == hours(1));
	CHECK(locks.locked("alice", t + hours(1) - std::chrono::seconds(1)) != nullptr);
	CHECK(locks.locked("alice", t + hours(1)) == nullptr);
	CHECK(locks.locked("bob", t) == nullptr);
	// Locking a locked account keeps the lock.
	CHECK(locks.lock("alice", t + std::chrono::minutes(5), "same_number").step == 1);
	t += hours(2);
	l = locks.lock("alice", t, "denied_per_hour");
	CHECK(l.step == 2);
	CHECK(l.duration == hours(6));
	t += hours(7);
	CHECK(locks.lock("alice", t, "x").duration == hours(6));
	// 31 days later the ladder starts again.
	t += hours(24 * 31);
	locks.expire(t);
	CHECK(locks.lock("alice", t, "x").step == 1);
}

TEST_CASE("unlock releases a lock but keeps its step; list shows the live locks")
{
	Locks locks(16, {hours(1), hours(6), hours(24)}, hours(24 * 30), util::kDefaultHashSeed);
	const auto t = at_seconds(kMonday10);
	locks.lock("alice", t, "calls_per_minute");
	locks.lock("bob", t + std::chrono::seconds(1), "itspa.txt");
	auto list = locks.list(t + std::chrono::seconds(2));
	REQUIRE(list.size() == 2);
	CHECK(list[0].account == "alice");
	CHECK(list[0].reason == "calls_per_minute");
	CHECK(list[1].account == "bob");
	CHECK(locks.unlock("alice", t + std::chrono::seconds(3)));
	CHECK(!locks.unlock("alice", t + std::chrono::seconds(4)));
	CHECK(!locks.unlock("carol", t));
	CHECK(locks.locked("alice", t + std::chrono::seconds(5)) == nullptr);
	CHECK(locks.list(t + std::chrono::seconds(5)).size() == 1);
	CHECK(locks.lock("alice", t + std::chrono::seconds(6), "x").step == 2);
}

TEST_CASE("a full table drops the lock that ends first")
{
	Locks locks(2, {hours(1)}, hours(24), util::kDefaultHashSeed);
	const auto t = at_seconds(kMonday10);
	locks.lock("a", t, "x");
	locks.lock("b", t + std::chrono::minutes(10), "x");
	locks.lock("c", t + std::chrono::minutes(20), "x");
	CHECK(locks.evictions() == 1);
	CHECK(locks.locked("a", t + std::chrono::minutes(21)) == nullptr);
	CHECK(locks.locked("b", t + std::chrono::minutes(21)) != nullptr);
	CHECK(locks.locked("c", t + std::chrono::minutes(21)) != nullptr);
}

TEST_CASE("save and restore round trip, with errors naming the line")
{
	Locks locks(16, {hours(1), hours(6)}, hours(24 * 30), util::kDefaultHashSeed);
	const auto t = at_seconds(kMonday10);
	locks.lock("alice", t, "calls_per_minute");
	*locks.locked("alice", t) += 3;
	locks.lock("bob", t, "itspa.txt");
	const std::string saved = locks.save();
	Locks back(16, {hours(1), hours(6)}, hours(24 * 30), 42);
	REQUIRE(back.restore(saved, "locks.txt"));
	CHECK(back.save().size() == saved.size());
	auto list = back.list(t);
	REQUIRE(list.size() == 2);
	const auto& alice = list[0].account == "alice" ? list[0] : list[1];
	CHECK(alice.stopped_calls == 3);
	CHECK(alice.until == t + hours(1));
	CHECK(back.lock("alice", t + hours(2), "x").step == 2);
	util::Status st = back.restore("carol\t1\t2\t1\t0\tx\ndave\tsoon\n", "locks.txt");
	CHECK(st.message.rfind("locks.txt:2: expected", 0) == 0);
}
