// SPDX-License-Identifier: GPL-2.0-or-later
// The per-source and per-prefix tables: a util::BoundedTable keyed by IP
// address (or masked prefix) with CLOCK eviction, so a flood from a million
// spoofed sources costs the same memory as one from ten; evictions counted.
#pragma once

#include <cstddef>
#include <cstdint>

#include "agent/net/ip_address.h"
#include "agent/util/bounded_table.h"
#include "agent/util/hash.h"

namespace sipguard::detect {

// Value must be default-constructible and resettable by assignment from Value{}.
template <class Value>
class AddressTable {
public:
	explicit AddressTable(size_t capacity, uint64_t seed = util::kDefaultHashSeed) : table_(capacity), seed_(seed) {}

	size_t capacity() const { return table_.capacity(); }
	size_t size() const { return table_.size(); }
	uint64_t evictions() const { return table_.evictions(); }
	size_t bytes() const { return table_.bytes(); }

	// net::hash_address under the table's seed; the overloads below that
	// take it spare a caller that needs the hash anyway a second one.
	uint64_t hash(const net::IpAddress& key) const { return net::hash_address(key, seed_); }

	// Marks the entry used (CLOCK).
	Value* find(const net::IpAddress& key) { return find(key, hash(key)); }
	Value* find(const net::IpAddress& key, uint64_t h)
	{
		const uint32_t s = table_.find(h, [&](const Entry& e) { return e.key == key; });
		if (s == util::kNoSlot)
			return nullptr;
		table_.touch(s);
		return &table_[s].value;
	}

	// Finds or inserts (value reset to Value{}); `inserted` says which. An
	// insert into a full table evicts the entry the CLOCK hand picks.
	Value& find_or_insert(const net::IpAddress& key, bool& inserted) { return find_or_insert(key, hash(key), inserted); }
	Value& find_or_insert(const net::IpAddress& key, uint64_t h, bool& inserted)
	{
		uint32_t s = table_.find(h, [&](const Entry& e) { return e.key == key; });
		inserted = s == util::kNoSlot;
		if (!inserted) {
			table_.touch(s);
			return table_[s].value;
		}
		if (table_.full())
			table_.evict(victim());
		s = table_.insert(h);
		Entry& e = table_[s];
		e.key = key;
		e.value = Value{};
		return e.value;
	}

	void erase(const net::IpAddress& key)
	{
		const uint32_t s = table_.find(hash(key), [&](const Entry& e) { return e.key == key; });
		if (s != util::kNoSlot)
			table_.erase(s);
	}

private:
	struct Entry {
		net::IpAddress key;
		Value value{};
	};

	// The CLOCK victim; an entry the PBX knows (a source that registered or
	// authenticated, a peer it contacts) is passed over for one it does not,
	// a few passes of the hand at most: a spoofed flood inserts only unknown
	// sources and must not make the office's phones strangers again.
	uint32_t victim()
	{
		uint32_t v = table_.clock_victim();
		if constexpr (requires(const Value& x) { x.known(); }) {
			for (int i = 0; i < kSpareKnown && table_[v].value.known(); ++i) {
				table_.touch(v);
				v = table_.clock_victim();
			}
		}
		return v;
	}
	static constexpr int kSpareKnown = 8;

	util::BoundedTable<Entry> table_;
	uint64_t seed_;
};

} // namespace sipguard::detect
