// SPDX-License-Identifier: GPL-2.0-or-later
// util::BoundedTable, SlotLists and LruTable: fixed capacity, lookups that
// survive any order of inserts and erases (shared hashes, runs that wrap),
// counted evictions, CLOCK second chance, LRU order.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "agent/util/bounded_table.h"
#include "agent/util/lru_table.h"

using namespace sipguard;
using util::kNoSlot;

namespace {

struct Item {
	uint64_t key = 0;
	int value = 0;
};

uint32_t find_key(const util::BoundedTable<Item>& t, uint64_t hash, uint64_t key)
{
	return t.find(hash, [&](const Item& e) { return e.key == key; });
}

} // namespace

TEST_CASE("bounded table: fixed capacity; a full table refuses until an entry is evicted, which is counted")
{
	util::BoundedTable<Item> t(100);
	CHECK(t.capacity() == 100);
	const size_t bytes = t.bytes();
	for (uint64_t k = 0; k < 100; ++k) {
		uint32_t s = t.insert(k * 0x9E3779B97F4A7C15ull);
		REQUIRE(s != kNoSlot);
		t[s] = Item{k, static_cast<int>(k)};
	}
	CHECK(t.full());
	CHECK(t.insert(12345) == kNoSlot);
	const uint32_t victim = find_key(t, 7 * 0x9E3779B97F4A7C15ull, 7);
	REQUIRE(victim != kNoSlot);
	t.evict(victim);
	CHECK(t.evictions() == 1);
	CHECK(find_key(t, 7 * 0x9E3779B97F4A7C15ull, 7) == kNoSlot);
	CHECK(t.insert(12345) == victim); // the freed slot is reused
	t.erase(find_key(t, 8 * 0x9E3779B97F4A7C15ull, 8));
	CHECK(t.evictions() == 1); // erase is not an eviction
	CHECK(t.bytes() == bytes);
}

TEST_CASE("bounded table: slots are handed out from the lowest, a freed one first; size and full count both")
{
	util::BoundedTable<Item> t(4);
	CHECK(t.size() == 0);
	CHECK(t.clock_victim() == kNoSlot); // empty
	CHECK(t.insert(10) == 0);
	CHECK(t.insert(11) == 1);
	CHECK(t.insert(12) == 2);
	t.erase(1);
	t.erase(0);
	CHECK(t.size() == 1);
	CHECK(t.insert(13) == 0); // the last freed
	CHECK(t.insert(14) == 1);
	CHECK(t.insert(15) == 3); // then the never used one
	CHECK(t.size() == 4);
	CHECK(t.full());
	CHECK(t.insert(16) == kNoSlot);
	for (uint32_t s : {0u, 1u, 2u, 3u})
		t.erase(s);
	CHECK(t.size() == 0);
	CHECK_FALSE(t.full());
	CHECK(t.clock_victim() == kNoSlot);
	CHECK(t.find(12, [](const Item&) { return true; }) == kNoSlot); // every bucket empty again
}

TEST_CASE("bounded table: random inserts and erases with colliding hashes agree with a reference map")
{
	// Few distinct hashes and ones near the top of the bucket array, so runs
	// are long, share hashes and wrap around; erase must keep every other
	// entry reachable.
	for (uint64_t spread : {3ull, 17ull, 1000ull}) {
		util::BoundedTable<Item> t(64);
		std::map<uint64_t, uint32_t> ref; // key -> slot
		std::mt19937_64 rng(spread);
		auto hash_of = [&](uint64_t key) { return (key % spread) * 37 + 120; };
		for (int op = 0; op < 20000; ++op) {
			const uint64_t key = rng() % 100;
			const uint32_t s = find_key(t, hash_of(key), key);
			auto it = ref.find(key);
			REQUIRE((s != kNoSlot) == (it != ref.end()));
			if (it != ref.end()) {
				REQUIRE(s == it->second);
				if (rng() % 2) {
					t.erase(s);
					ref.erase(it);
				}
			} else if (!t.full()) {
				const uint32_t n = t.insert(hash_of(key));
				REQUIRE(n != kNoSlot);
				t[n].key = key;
				ref[key] = n;
			}
			REQUIRE(t.size() == ref.size());
		}
		// Entries under one hash are all visited.
		for (uint64_t h = 0; h < spread; ++h) {
			size_t visited = 0, expected = 0;
			t.for_each_hash(h * 37 + 120, [&](uint32_t slot) { visited += hash_of(t[slot].key) == h * 37 + 120; });
			for (const auto& [k, slot] : ref)
				expected += hash_of(k) == h * 37 + 120;
			CHECK(visited == expected);
		}
	}
}

TEST_CASE("bounded table: CLOCK evicts an entry not touched since the hand passed")
{
	util::BoundedTable<Item> t(8);
	for (uint64_t k = 0; k < 8; ++k)
		t[t.insert(k)].key = k;
	// Every entry starts touched: the hand clears all marks, then takes the first.
	const uint32_t first = t.clock_victim();
	t.evict(first);
	t[t.insert(100)].key = 100;
	// A hot entry touched before every pick is never the victim.
	const uint32_t hot = find_key(t, 3, 3);
	for (uint64_t k = 200; k < 300; ++k) {
		t.touch(hot);
		const uint32_t v = t.clock_victim();
		REQUIRE(v != hot);
		t.evict(v);
		t[t.insert(k)].key = k;
	}
	CHECK(find_key(t, 3, 3) == hot);
	CHECK(t.evictions() == 101);
}

TEST_CASE("lru table: a full table evicts the least recently inserted or touched entry")
{
	util::LruTable<Item> t(4);
	auto put = [&](uint64_t k) { t[t.insert(k)].key = k; };
	auto has = [&](uint64_t k) { return t.find(k, [&](const Item& e) { return e.key == k; }) != kNoSlot; };
	for (uint64_t k = 1; k <= 4; ++k)
		put(k);
	t.touch(t.find(1, [](const Item& e) { return e.key == 1; }));
	put(5); // evicts 2, the oldest untouched
	CHECK(has(1));
	CHECK_FALSE(has(2));
	CHECK(t.evictions() == 1);
	t.erase(t.find(3, [](const Item& e) { return e.key == 3; }));
	put(6); // room again: nothing evicted
	CHECK(t.evictions() == 1);
	CHECK(t[t.oldest()].key == 4);
}
