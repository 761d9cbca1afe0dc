// SPDX-License-Identifier: GPL-2.0-or-later
// A longest-prefix map over digit strings (at most 15 digits, the E.164
// maximum), built once at config time and read-only afterwards: sorted
// 64-bit keys (the digits as nibbles, so numeric order is lexicographic
// order) and, per entry, its longest proper prefix in the map. A lookup is
// one binary search and a short walk up that chain.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sipguard::fraud {

inline constexpr size_t kMaxDigits = 15; // E.164 §6.1: at most 15 digits

class PrefixMap {
public:
	static constexpr uint32_t kNone = UINT32_MAX;

	// Up to 15 digits, digit i as the nibble (digit + 1) at bits 60-4i..63-4i;
	// the nibbles after the last digit are 0. A string sorts before every
	// string it prefixes, so key order is lexicographic order. Encode a
	// number once and look it up in several maps.
	struct Key {
		uint64_t bits = 0;
		uint32_t length = 0; // digits encoded
	};
	static Key encode(std::string_view digits)
	{
		Key k;
		k.length = static_cast<uint32_t>(std::min(digits.size(), kMaxDigits));
		for (uint32_t i = 0; i < k.length; ++i)
			k.bits |= static_cast<uint64_t>(digits[i] - '0' + 1) << (60 - 4 * i);
		return k;
	}

	// Build phase: add() any number of prefixes (1..15 ASCII digits; an
	// empty one is ignored), then freeze() once. A repeated prefix keeps the
	// value added first.
	void add(std::string_view digits, uint32_t value)
	{
		if (!digits.empty())
			pending_.push_back({encode(digits), value});
	}

	void freeze()
	{
		std::stable_sort(pending_.begin(), pending_.end(),
		                 [](const Pending& a, const Pending& b) { return a.key.bits < b.key.bits; });
		keys_.clear();
		entries_.clear();
		keys_.reserve(pending_.size());
		entries_.reserve(pending_.size());
		// In key order the prefixes of an entry are on a stack of open entries.
		std::vector<uint32_t> open;
		for (const Pending& p : pending_) {
			if (!keys_.empty() && keys_.back() == p.key.bits)
				continue;
			while (!open.empty() && !is_prefix(keys_[open.back()], entries_[open.back()].length, p.key.bits))
				open.pop_back();
			const auto index = static_cast<uint32_t>(keys_.size());
			keys_.push_back(p.key.bits);
			entries_.push_back({p.value, open.empty() ? kNone : open.back(), p.key.length});
			open.push_back(index);
		}
		pending_.clear();
		pending_.shrink_to_fit();
	}

	size_t size() const { return keys_.size(); }
	bool empty() const { return keys_.empty(); }

	struct Match {
		uint32_t value = kNone; // kNone: no prefix of the digits is in the map
		uint32_t length = 0;    // digits matched
	};

	// The longest prefix of `digits` (ASCII digits only) in the map.
	Match longest(std::string_view digits) const { return longest(encode(digits)); }

	Match longest(const Key& k) const
	{
		// The last key <= k: the longest prefix of k in the map is it or one
		// of its prefixes (every key between that prefix and k starts with it).
		size_t lo = 0, n = keys_.size();
		while (n > 1) {
			const size_t half = n / 2;
			lo = keys_[lo + half] <= k.bits ? lo + half : lo;
			n -= half;
		}
		if (n == 0 || keys_[lo] > k.bits)
			return {};
		for (uint32_t i = static_cast<uint32_t>(lo); i != kNone; i = entries_[i].parent) {
			const Entry& e = entries_[i];
			if (is_prefix(keys_[i], e.length, k.bits))
				return {e.value, e.length};
		}
		return {};
	}

	// Visits every (digits, value) in key order; for saving and tests.
	template <class F>
	void for_each(F&& f) const
	{
		for (size_t i = 0; i < keys_.size(); ++i) {
			char buf[kMaxDigits];
			const uint32_t len = entries_[i].length;
			for (uint32_t j = 0; j < len; ++j)
				buf[j] = static_cast<char>('0' + ((keys_[i] >> (60 - 4 * j)) & 0xf) - 1);
			f(std::string_view(buf, len), entries_[i].value);
		}
	}

private:
	// Whether the `length` digits of `prefix` start `bits`.
	static bool is_prefix(uint64_t prefix, uint32_t length, uint64_t bits)
	{
		const uint64_t mask = length == 0 ? 0 : ~uint64_t{0} << (64 - 4 * length);
		return (bits & mask) == prefix;
	}

	struct Pending {
		Key key;
		uint32_t value;
	};
	struct Entry {
		uint32_t value;
		uint32_t parent; // the longest proper prefix in the map, kNone if none
		uint32_t length;
	};
	std::vector<Pending> pending_;
	std::vector<uint64_t> keys_;
	std::vector<Entry> entries_;
};

} // namespace sipguard::fraud
