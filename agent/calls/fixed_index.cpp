// SPDX-License-Identifier: GPL-2.0-or-later
// Fixed-capacity hash index and slot lists used by the call tracker.
#include "agent/calls/fixed_index.h"

#include <algorithm>
#include <cassert>

namespace sipguard::calls {

namespace {

size_t next_pow2(size_t n)
{
	size_t p = 16;
	while (p < n)
		p <<= 1;
	return p;
}

} // namespace

HashIndex::HashIndex(size_t slots)
	: buckets_(next_pow2(slots * 2), kEmpty),
	  scratch_(buckets_.size(), kEmpty),
	  slot_hash_(slots, 0),
	  present_(slots, 0),
	  mask_(buckets_.size() - 1)
{
}

void HashIndex::insert(uint64_t h, uint32_t slot)
{
	assert(!present_[slot]);
	slot_hash_[slot] = h;
	present_[slot] = 1;
	// At most `slots` live entries in 2*slots buckets, and rebuild() keeps
	// tombstones below a quarter, so an empty or tombstone bucket always exists.
	for (size_t i = h & mask_;; i = (i + 1) & mask_) {
		if (buckets_[i] == kEmpty || buckets_[i] == kTomb) {
			if (buckets_[i] == kTomb)
				--tombstones_;
			buckets_[i] = slot;
			return;
		}
	}
}

void HashIndex::erase(uint32_t slot)
{
	if (!present_[slot])
		return;
	for (size_t i = slot_hash_[slot] & mask_, n = 0; n <= mask_; i = (i + 1) & mask_, ++n) {
		if (buckets_[i] == kEmpty)
			break;
		if (buckets_[i] == slot) {
			buckets_[i] = kTomb;
			++tombstones_;
			break;
		}
	}
	present_[slot] = 0;
	if (tombstones_ > buckets_.size() / 4)
		rebuild();
}

void HashIndex::rebuild()
{
	std::fill(scratch_.begin(), scratch_.end(), kEmpty);
	for (uint32_t b : buckets_) {
		if (b == kEmpty || b == kTomb)
			continue;
		for (size_t i = slot_hash_[b] & mask_;; i = (i + 1) & mask_) {
			if (scratch_[i] == kEmpty) {
				scratch_[i] = b;
				break;
			}
		}
	}
	buckets_.swap(scratch_);
	tombstones_ = 0;
}

void ListLinks::push_back(List& l, uint32_t s)
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

void ListLinks::remove(List& l, uint32_t s)
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

FreeSlots::FreeSlots(size_t slots) : free_(slots)
{
	// Hand out low slot numbers first (cache friendliness in small tables).
	for (size_t i = 0; i < slots; ++i)
		free_[i] = static_cast<uint32_t>(slots - 1 - i);
	top_ = slots;
}

} // namespace sipguard::calls
