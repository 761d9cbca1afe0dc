// SPDX-License-Identifier: GPL-2.0-or-later
// A fixed-capacity hash table keyed by IP address (or prefix) with open
// addressing and CLOCK eviction: memory is allocated once, so a flood from a
// million spoofed sources costs the same as one from ten; evictions counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "agent/net/ip_address.h"

namespace sipguard::detect {

// Value must be default-constructible and resettable by assignment from T{}.
template <class Value>
class BoundedTable {
public:
	// Probe at most this many slots from the home slot: lookups stay O(1)
	// and an insert that finds no free slot in the window evicts by CLOCK.
	static constexpr size_t kProbe = 16;

	explicit BoundedTable(size_t capacity, uint64_t seed = util::kDefaultHashSeed) : seed_(seed)
	{
		size_t cap = 64;
		while (cap < capacity)
			cap <<= 1;
		mask_ = cap - 1;
		slots_ = std::make_unique<Slot[]>(cap);
	}

	size_t capacity() const { return mask_ + 1; }
	size_t size() const { return size_; }
	uint64_t evictions() const { return evictions_; }
	size_t bytes() const { return capacity() * sizeof(Slot); }

	Value* find(const net::IpAddress& key)
	{
		size_t i = net::hash_address(key, seed_) & mask_;
		for (size_t n = 0; n < kProbe; ++n, i = (i + 1) & mask_) {
			Slot& s = slots_[i];
			if (s.used && s.key == key) {
				s.referenced = true;
				return &s.value;
			}
		}
		return nullptr;
	}

	// Finds or inserts (value reset to Value{}); `inserted` says which. An
	// insert into a full probe window evicts the first slot whose reference
	// bit is clear, clearing bits as it goes (CLOCK, second chance).
	Value& find_or_insert(const net::IpAddress& key, bool& inserted)
	{
		size_t home = net::hash_address(key, seed_) & mask_;
		size_t i = home;
		Slot* free_slot = nullptr;
		for (size_t n = 0; n < kProbe; ++n, i = (i + 1) & mask_) {
			Slot& s = slots_[i];
			if (s.used) {
				if (s.key == key) {
					s.referenced = true;
					inserted = false;
					return s.value;
				}
			} else if (!free_slot) {
				free_slot = &s;
			}
		}
		inserted = true;
		if (!free_slot) {
			// Two sweeps at most: the first clears reference bits.
			for (size_t n = 0; n < 2 * kProbe && !free_slot; ++n) {
				Slot& s = slots_[(home + (hand_++ % kProbe)) & mask_];
				if (s.referenced)
					s.referenced = false;
				else
					free_slot = &s;
			}
			if (!free_slot)
				free_slot = &slots_[home];
			++evictions_;
			--size_;
		}
		++size_;
		free_slot->used = true;
		free_slot->referenced = true;
		free_slot->key = key;
		free_slot->value = Value{};
		return free_slot->value;
	}

	void erase(const net::IpAddress& key)
	{
		// Deleting from a probe window leaves no tombstone problem here:
		// lookups scan the whole window rather than stopping at a hole.
		size_t i = net::hash_address(key, seed_) & mask_;
		for (size_t n = 0; n < kProbe; ++n, i = (i + 1) & mask_) {
			Slot& s = slots_[i];
			if (s.used && s.key == key) {
				s.used = false;
				--size_;
				return;
			}
		}
	}

	template <class F>
	void for_each(F&& f)
	{
		for (size_t i = 0; i <= mask_; ++i)
			if (slots_[i].used)
				f(slots_[i].key, slots_[i].value);
	}

private:
	struct Slot {
		net::IpAddress key;
		bool used = false;
		bool referenced = false;
		Value value;
	};

	std::unique_ptr<Slot[]> slots_;
	size_t mask_ = 0;
	size_t size_ = 0;
	size_t hand_ = 0;
	uint64_t evictions_ = 0;
	uint64_t seed_;
};

} // namespace sipguard::detect
