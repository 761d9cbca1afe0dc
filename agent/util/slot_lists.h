// SPDX-License-Identifier: GPL-2.0-or-later
// Doubly linked lists threaded through the slot numbers of a BoundedTable:
// the LRU, FIFO and expiry orders that pick eviction victims and timeouts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "agent/util/bounded_table.h"

namespace sipguard::util {

// A slot is in at most one of the lists sharing one SlotLists. Appending on
// activity keeps a list in order of last activity; when every entry of a
// list has the same timeout, that is expiry order and the head expires next.
class SlotLists {
public:
	explicit SlotLists(size_t slots)
		: prev_(std::make_unique<uint32_t[]>(slots)), next_(std::make_unique<uint32_t[]>(slots))
	{
		for (size_t i = 0; i < slots; ++i)
			prev_[i] = next_[i] = kNoSlot;
	}

	struct List {
		uint32_t head = kNoSlot;
		uint32_t tail = kNoSlot;
		uint32_t size = 0;
	};

	void push_back(List& l, uint32_t s)
	{
		prev_[s] = l.tail;
		next_[s] = kNoSlot;
		if (l.tail != kNoSlot)
			next_[l.tail] = s;
		else
			l.head = s;
		l.tail = s;
		++l.size;
	}

	void remove(List& l, uint32_t s)
	{
		if (prev_[s] != kNoSlot)
			next_[prev_[s]] = next_[s];
		else
			l.head = next_[s];
		if (next_[s] != kNoSlot)
			prev_[next_[s]] = prev_[s];
		else
			l.tail = prev_[s];
		prev_[s] = next_[s] = kNoSlot;
		--l.size;
	}

	void move_to_back(List& l, uint32_t s)
	{
		if (l.tail == s)
			return;
		remove(l, s);
		push_back(l, s);
	}

	void move_to_front(List& l, uint32_t s)
	{
		if (l.head == s)
			return;
		remove(l, s);
		prev_[s] = kNoSlot;
		next_[s] = l.head;
		if (l.head != kNoSlot)
			prev_[l.head] = s;
		else
			l.tail = s;
		l.head = s;
		++l.size;
	}

	uint32_t next(uint32_t s) const { return next_[s]; }

private:
	std::unique_ptr<uint32_t[]> prev_;
	std::unique_ptr<uint32_t[]> next_;
};

} // namespace sipguard::util
