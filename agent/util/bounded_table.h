// SPDX-License-Identifier: GPL-2.0-or-later
// The fixed-capacity table behind every bounded table of the packet path:
// slots allocated once, a seeded open-addressing index, evictions counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

namespace sipguard::util {

inline constexpr uint32_t kNoSlot = UINT32_MAX;

// Entries live in `capacity` slots allocated at construction; nothing is
// allocated afterwards, so a flood of new keys costs the same memory as a
// trickle. A slot number stays valid while its entry lives, so lists and
// other entries may hold slot numbers.
//
// The caller hashes the key (seeded: net::hash_address, util::hash_text) and
// compares keys itself (`match`), so entries may carry their key in any form
// and several entries may share one hash. The index is linear probing over at
// least twice as many buckets as slots, each bucket holding the slot and the
// hash's low 32 bits: a probe reads an entry only when those bits match, and
// erase() shifts later buckets back instead of leaving tombstones.
//
// When insert() finds the table full the caller picks a victim and calls
// evict(), which erases it and counts an eviction. clock_victim() is the
// built-in pick (CLOCK, second chance: touch() marks an entry used, the hand
// clears marks as it passes and stops at the first unmarked entry); for LRU,
// FIFO or priority orders keep the slots in SlotLists and evict a list head.
//
// insert() hands out a slot as its previous occupant left it: reset what
// needs resetting, keep what should be reused (a TCP flow's framer buffer).
template <class Entry>
class BoundedTable {
public:
	// Construction writes each array once with memset, no per-slot loop:
	// the fuzz targets build a fresh engine, with tables of thousands of
	// slots, for every input.
	explicit BoundedTable(size_t capacity)
		: capacity_(capacity > 0 ? capacity : 1), entries_(std::make_unique<Entry[]>(capacity_)),
		  slot_hash_(std::make_unique_for_overwrite<uint32_t[]>(capacity_)),
		  state_(std::make_unique<uint8_t[]>(capacity_)), free_(std::make_unique_for_overwrite<uint32_t[]>(capacity_))
	{
		size_t buckets = 16;
		while (buckets < 2 * capacity_)
			buckets <<= 1;
		mask_ = buckets - 1;
		buckets_ = std::make_unique_for_overwrite<Bucket[]>(buckets);
		static_assert(kNoSlot == UINT32_MAX && std::is_trivially_copyable_v<Bucket>);
		std::memset(static_cast<void*>(buckets_.get()), 0xff, buckets * sizeof(Bucket)); // every slot kNoSlot
	}
	BoundedTable(const BoundedTable&) = delete;
	BoundedTable& operator=(const BoundedTable&) = delete;

	size_t capacity() const { return capacity_; }
	size_t size() const { return fresh_ - free_top_; }
	bool full() const { return free_top_ == 0 && fresh_ == capacity_; }
	uint64_t evictions() const { return evictions_; }
	// Memory held, fixed at construction.
	size_t bytes() const
	{
		return capacity_ * (sizeof(Entry) + sizeof(uint32_t) * 2 + sizeof(uint8_t)) + (mask_ + 1) * sizeof(Bucket);
	}

	Entry& operator[](uint32_t slot) { return entries_[slot]; }
	const Entry& operator[](uint32_t slot) const { return entries_[slot]; }
	bool live(uint32_t slot) const { return state_[slot] & kLive; }
	uint32_t slot_of(const Entry& e) const { return static_cast<uint32_t>(&e - entries_.get()); }

	// The slot of a live entry stored under `hash` for which match(entry)
	// holds, or kNoSlot.
	template <class Match>
	uint32_t find(uint64_t hash, Match&& match) const
	{
		const auto h = static_cast<uint32_t>(hash);
		for (size_t i = h & mask_;; i = (i + 1) & mask_) {
			const Bucket& b = buckets_[i];
			if (b.slot == kNoSlot)
				return kNoSlot;
			if (b.hash == h && match(static_cast<const Entry&>(entries_[b.slot])))
				return b.slot;
		}
	}

	// Calls visit(slot) for every live entry stored under `hash` (and some
	// that only share its low 32 bits: compare keys). visit must not insert
	// or erase.
	template <class Visit>
	void for_each_hash(uint64_t hash, Visit&& visit) const
	{
		const auto h = static_cast<uint32_t>(hash);
		for (size_t i = h & mask_; buckets_[i].slot != kNoSlot; i = (i + 1) & mask_)
			if (buckets_[i].hash == h)
				visit(buckets_[i].slot);
	}

	// A free slot, indexed under `hash` and marked used, or kNoSlot when the
	// table is full.
	uint32_t insert(uint64_t hash)
	{
		// Freed slots first (last freed first), then never used ones in
		// order: a lightly used table stays in few cache lines.
		uint32_t slot;
		if (free_top_ > 0)
			slot = free_[--free_top_];
		else if (fresh_ < capacity_)
			slot = static_cast<uint32_t>(fresh_++);
		else
			return kNoSlot;
		const auto h = static_cast<uint32_t>(hash);
		slot_hash_[slot] = h;
		state_[slot] = kLive | kUsed;
		// At most half the buckets are taken, so an empty one is near.
		size_t i = h & mask_;
		while (buckets_[i].slot != kNoSlot)
			i = (i + 1) & mask_;
		buckets_[i] = Bucket{slot, h};
		return slot;
	}

	// Frees a live entry's slot (the entry's contents stay for the next
	// occupant).
	void erase(uint32_t slot)
	{
		size_t i = slot_hash_[slot] & mask_;
		while (buckets_[i].slot != slot)
			i = (i + 1) & mask_;
		// Backward shift (Knuth 6.4, algorithm R): move up every later
		// bucket of the run whose home is not between the hole and itself.
		for (size_t j = (i + 1) & mask_; buckets_[j].slot != kNoSlot; j = (j + 1) & mask_) {
			const size_t home = buckets_[j].hash & mask_;
			if (((j - home) & mask_) >= ((j - i) & mask_)) {
				buckets_[i] = buckets_[j];
				i = j;
			}
		}
		buckets_[i].slot = kNoSlot;
		state_[slot] = 0;
		free_[free_top_++] = slot;
	}

	// erase() of an entry pushed out to make room: counted.
	void evict(uint32_t slot)
	{
		erase(slot);
		++evictions_;
	}

	void touch(uint32_t slot) { state_[slot] |= kUsed; }

	// The next live entry the CLOCK hand finds unused since it last passed,
	// clearing the marks it passes (at most two turns). kNoSlot when the
	// table is empty.
	uint32_t clock_victim()
	{
		if (size() == 0)
			return kNoSlot;
		for (;;) {
			const auto slot = static_cast<uint32_t>(hand_);
			hand_ = hand_ + 1 == capacity_ ? 0 : hand_ + 1;
			if (state_[slot] == kLive)
				return slot;
			state_[slot] &= static_cast<uint8_t>(~kUsed);
		}
	}

	// Calls f(entry) for every live entry, in slot order.
	template <class F>
	void for_each(F&& f)
	{
		for (size_t s = 0; s < capacity_; ++s)
			if (state_[s] & kLive)
				f(entries_[s]);
	}

private:
	struct Bucket {
		uint32_t slot;
		uint32_t hash;
	};
	static constexpr uint8_t kLive = 1;
	static constexpr uint8_t kUsed = 2;

	size_t capacity_;
	std::unique_ptr<Entry[]> entries_;
	std::unique_ptr<uint32_t[]> slot_hash_; // low 32 bits of each live entry's hash (written by insert())
	std::unique_ptr<uint8_t[]> state_;      // kLive | kUsed
	std::unique_ptr<uint32_t[]> free_;      // stack of freed slots
	size_t free_top_ = 0;
	size_t fresh_ = 0; // slots fresh_ .. capacity_ - 1 were never handed out
	std::unique_ptr<Bucket[]> buckets_;
	size_t mask_ = 0;
	size_t hand_ = 0;
	uint64_t evictions_ = 0;
};

} // namespace sipguard::util
