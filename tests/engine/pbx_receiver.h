// SPDX-License-Identifier: GPL-2.0-or-later
// The PBX's TCP receiver, as far as the stream invariant needs it: the
// segments the agent accepted, reassembled by sequence number, and the
// in-order prefix the PBX's application reads. Shared by the engine's TCP
// tests and tools/fuzz/fuzz_stream.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sipguard::test {

class PbxReceiver {
public:
	// The stream's first byte has sequence number `first`; bytes beyond
	// `length` of it are never sent by the tests' senders.
	PbxReceiver(uint32_t first, size_t length) : first_(first), bytes_(length, '\0'), have_(length, false) {}

	// An accepted segment. The first copy of a byte wins (what Linux does
	// with bytes it already holds in order); a later accepted copy that
	// differs is recorded, since another receiver might keep it instead.
	void accept(uint32_t seq, std::string_view data)
	{
		for (size_t i = 0; i < data.size(); ++i) {
			const int32_t off = static_cast<int32_t>(seq + static_cast<uint32_t>(i) - first_);
			if (off < 0 || static_cast<size_t>(off) >= bytes_.size())
				continue;
			const auto at = static_cast<size_t>(off);
			if (!have_[at]) {
				have_[at] = true;
				bytes_[at] = data[i];
			} else if (bytes_[at] != data[i]) {
				disagreed_ = true;
			}
		}
		while (next_ < bytes_.size() && have_[next_])
			++next_;
	}

	// What the application has read: every byte from the first up to the
	// first one missing.
	std::string_view delivered() const { return std::string_view(bytes_).substr(0, next_); }
	uint32_t rcv_nxt() const { return first_ + static_cast<uint32_t>(next_); }
	// One past the highest byte held (the right edge of the highest SACK
	// block); rcv_nxt() when nothing is held beyond it.
	uint32_t highest_edge() const
	{
		for (size_t i = have_.size(); i > next_; --i)
			if (have_[i - 1])
				return first_ + static_cast<uint32_t>(i);
		return rcv_nxt();
	}
	// Whether the byte at stream offset `off` is held (in order or not).
	bool holds(size_t off) const { return off < have_.size() && have_[off]; }
	// Two accepted copies of one byte differed.
	bool disagreed() const { return disagreed_; }

private:
	uint32_t first_;
	std::string bytes_;
	std::vector<bool> have_;
	size_t next_ = 0;
	bool disagreed_ = false;
};

} // namespace sipguard::test
