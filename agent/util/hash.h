// SPDX-License-Identifier: GPL-2.0-or-later
// Seeded 64-bit hashing for the fixed-capacity tables: a finaliser, a combiner and a byte hash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sipguard::util {

// The seed of tables whose owner passes none (tests and replay, which want
// the same table layout on every run). The daemon passes a random one per
// start: table keys (addresses, Call-IDs, tags, user names) are chosen by
// whoever sends packets, and an unknown seed keeps them from aiming at one
// probe run. Correctness never depends on the hash; entries are always
// compared in full.
inline constexpr uint64_t kDefaultHashSeed = 0x5eed5eedULL;

// MurmurHash3's 64-bit finaliser: a bijection in which every input bit flips
// each output bit with probability close to 1/2.
inline uint64_t mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

// A hash of the pair (a, b); the order matters.
inline uint64_t hash_combine(uint64_t a, uint64_t b)
{
	return mix64(a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
}

// FNV-1a started from the seed and finished with mix64.
inline uint64_t hash_bytes(const void* data, size_t len, uint64_t seed)
{
	const auto* p = static_cast<const uint8_t*>(data);
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	for (size_t i = 0; i < len; ++i) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return mix64(h ^ len);
}

inline uint64_t hash_text(std::string_view s, uint64_t seed) { return hash_bytes(s.data(), s.size(), seed); }

// A seed from the kernel's CSPRNG (getrandom(2)) for the daemon's tables.
uint64_t random_seed();

} // namespace sipguard::util
