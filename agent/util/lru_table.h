// SPDX-License-Identifier: GPL-2.0-or-later
// A BoundedTable that keeps its entries in order of insertion or last
// touch() and, when full, evicts the oldest: LRU with touch(), FIFO without.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "agent/util/bounded_table.h"
#include "agent/util/slot_lists.h"

namespace sipguard::util {

template <class Entry>
class LruTable {
public:
	explicit LruTable(size_t capacity) : table_(capacity), links_(table_.capacity()) {}

	size_t capacity() const { return table_.capacity(); }
	size_t size() const { return table_.size(); }
	bool full() const { return table_.full(); }
	uint64_t evictions() const { return table_.evictions(); }
	size_t bytes() const { return table_.bytes() + capacity() * 2 * sizeof(uint32_t); }

	Entry& operator[](uint32_t slot) { return table_[slot]; }
	const Entry& operator[](uint32_t slot) const { return table_[slot]; }
	uint32_t slot_of(const Entry& e) const { return table_.slot_of(e); }

	template <class Match>
	uint32_t find(uint64_t hash, Match&& match) const
	{
		return table_.find(hash, std::forward<Match>(match));
	}

	// The slot moves to the back of the order (most recently used).
	void touch(uint32_t slot) { links_.move_to_back(order_, slot); }

	// The slot moves to the front of the order: the next one evicted.
	void retire(uint32_t slot) { links_.move_to_front(order_, slot); }

	// The least recently inserted or touched entry, kNoSlot when empty.
	uint32_t oldest() const { return order_.head; }

	// A slot for a new entry under `hash`, at the back of the order; a full
	// table evicts oldest() first. The slot holds its previous occupant's
	// contents (see BoundedTable::insert).
	uint32_t insert(uint64_t hash)
	{
		if (table_.full()) {
			const uint32_t victim = order_.head;
			links_.remove(order_, victim);
			table_.evict(victim);
		}
		const uint32_t slot = table_.insert(hash);
		links_.push_back(order_, slot);
		return slot;
	}

	void erase(uint32_t slot)
	{
		links_.remove(order_, slot);
		table_.erase(slot);
	}

private:
	BoundedTable<Entry> table_;
	SlotLists links_;
	SlotLists::List order_;
};

} // namespace sipguard::util
