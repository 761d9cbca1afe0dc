// SPDX-License-Identifier: GPL-2.0-or-later
// Fixed-capacity building blocks for the call tracker: an open-addressing
// index of slot numbers and intrusive slot lists. Everything is
// allocated once at construction so the per-packet path never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sipguard::calls {

inline constexpr uint32_t kNoSlot = UINT32_MAX;

// Open-addressing index (linear probing, tombstones) from a 64-bit hash to a
// slot number in some external fixed array. The caller compares the entries
// (`match(slot)`); the index only remembers each slot's hash so it can delete
// and rebuild without asking.
class HashIndex {
public:
	explicit HashIndex(size_t slots);

	template <class Match>
	uint32_t find(uint64_t h, Match&& match) const
	{
		for (size_t i = h & mask_, n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
			uint32_t b = buckets_[i];
			if (b == kEmpty)
				return kNoSlot;
			if (b != kTomb && slot_hash_[b] == h && match(b))
				return b;
		}
		return kNoSlot;
	}

	// Calls visit(slot) for every slot stored under exactly hash `h`.
	template <class Visit>
	void for_each(uint64_t h, Visit&& visit) const
	{
		for (size_t i = h & mask_, n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
			uint32_t b = buckets_[i];
			if (b == kEmpty)
				return;
			if (b != kTomb && slot_hash_[b] == h)
				visit(b);
		}
	}

	void insert(uint64_t h, uint32_t slot);
	void erase(uint32_t slot);

private:
	static constexpr uint32_t kEmpty = UINT32_MAX;
	static constexpr uint32_t kTomb = UINT32_MAX - 1;
	void rebuild();

	std::vector<uint32_t> buckets_;
	std::vector<uint32_t> scratch_;  // same size, used by rebuild()
	std::vector<uint64_t> slot_hash_;
	std::vector<uint8_t> present_;
	size_t mask_ = 0;
	size_t tombstones_ = 0;
};

// Doubly linked lists threaded through slot numbers; a slot is in at most one
// of the lists sharing a ListLinks. Used for LRU/expiry order: every list
// holds entries with one common timeout, so appending on activity keeps each
// list sorted by expiry and the head is always the next to expire.
class ListLinks {
public:
	explicit ListLinks(size_t slots) : prev_(slots, kNoSlot), next_(slots, kNoSlot) {}

	struct List {
		uint32_t head = kNoSlot;
		uint32_t tail = kNoSlot;
		uint32_t size = 0;
	};

	void push_back(List& l, uint32_t s);
	void remove(List& l, uint32_t s);
	uint32_t next(uint32_t s) const { return next_[s]; }

private:
	std::vector<uint32_t> prev_;
	std::vector<uint32_t> next_;
};

// A stack of free slot numbers.
class FreeSlots {
public:
	explicit FreeSlots(size_t slots);
	bool empty() const { return top_ == 0; }
	uint32_t pop() { return free_[--top_]; }
	void push(uint32_t s) { free_[top_++] = s; }
	size_t size() const { return top_; }

private:
	std::vector<uint32_t> free_;
	size_t top_ = 0;
};

} // namespace sipguard::calls
