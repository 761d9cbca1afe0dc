// SPDX-License-Identifier: GPL-2.0-or-later
// A longest-prefix map over digit strings (at most 15 digits, the E.164
// maximum), built once at config time and read-only afterwards: sorted
// 64-bit keys (value * 16 + length), one binary search per length present.
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

	// Build phase: add() any number of prefixes (1..15 ASCII digits), then
	// freeze() once. A repeated prefix keeps the value added first.
	void add(std::string_view digits, uint32_t value)
	{
		pending_.push_back({key(digits), value});
		lengths_ |= 1u << digits.size();
	}

	void freeze()
	{
		std::stable_sort(pending_.begin(), pending_.end(),
		                 [](const Pending& a, const Pending& b) { return a.key < b.key; });
		keys_.clear();
		values_.clear();
		keys_.reserve(pending_.size());
		values_.reserve(pending_.size());
		for (const Pending& p : pending_) {
			if (!keys_.empty() && keys_.back() == p.key)
				continue;
			keys_.push_back(p.key);
			values_.push_back(p.value);
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
	Match longest(std::string_view digits) const
	{
		uint64_t prefix_value[kMaxDigits + 1];
		const size_t n = std::min(digits.size(), kMaxDigits);
		prefix_value[0] = 0;
		for (size_t i = 0; i < n; ++i)
			prefix_value[i + 1] = prefix_value[i] * 10 + static_cast<uint64_t>(digits[i] - '0');
		for (size_t len = n; len > 0; --len) {
			if (!(lengths_ & (1u << len)))
				continue;
			const uint64_t k = prefix_value[len] * 16 + len;
			auto it = std::lower_bound(keys_.begin(), keys_.end(), k);
			if (it != keys_.end() && *it == k)
				return {values_[static_cast<size_t>(it - keys_.begin())], static_cast<uint32_t>(len)};
		}
		return {};
	}

	// Visits every (digits, value) in key order; for saving and tests.
	template <class F>
	void for_each(F&& f) const
	{
		for (size_t i = 0; i < keys_.size(); ++i) {
			char buf[kMaxDigits];
			const auto len = static_cast<size_t>(keys_[i] % 16);
			uint64_t v = keys_[i] / 16;
			for (size_t j = len; j > 0; --j) {
				buf[j - 1] = static_cast<char>('0' + v % 10);
				v /= 10;
			}
			f(std::string_view(buf, len), values_[i]);
		}
	}

private:
	static uint64_t key(std::string_view digits)
	{
		uint64_t v = 0;
		for (char c : digits)
			v = v * 10 + static_cast<uint64_t>(c - '0');
		return v * 16 + digits.size();
	}

	struct Pending {
		uint64_t key;
		uint32_t value;
	};
	std::vector<Pending> pending_;
	std::vector<uint64_t> keys_;
	std::vector<uint32_t> values_;
	uint32_t lengths_ = 0; // bit n set: some key has n digits
};

} // namespace sipguard::fraud
