// SPDX-License-Identifier: GPL-2.0-or-later
// IPv4/IPv6 address and prefix values shared by the queue decoder, the engine
// and the rules writer: fixed size, no allocation, hashable.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/util/hash.h"
#include "agent/util/status.h"

namespace sipguard::net {

enum class Family : uint8_t { None = 0, V4 = 4, V6 = 6 };

// Stored in network byte order. IPv4 uses bytes [0,4); the rest stay zero so
// that equality and hashing can compare all 16 bytes.
struct IpAddress {
	std::array<uint8_t, 16> bytes{};
	Family family = Family::None;

	// Inline: built per packet (queue decoder) and per c= line (SDP).
	static IpAddress v4(const uint8_t* network_order)
	{
		IpAddress a;
		a.family = Family::V4;
		std::memcpy(a.bytes.data(), network_order, 4);
		return a;
	}
	static IpAddress v4(uint32_t host_order)
	{
		IpAddress a;
		a.family = Family::V4;
		a.bytes[0] = static_cast<uint8_t>(host_order >> 24);
		a.bytes[1] = static_cast<uint8_t>(host_order >> 16);
		a.bytes[2] = static_cast<uint8_t>(host_order >> 8);
		a.bytes[3] = static_cast<uint8_t>(host_order);
		return a;
	}
	static IpAddress v6(const uint8_t* network_order);

	// Accepts dotted quad, RFC 5952/4291 IPv6 text, and IPv6 in brackets.
	static std::optional<IpAddress> parse(std::string_view text);

	bool is_v4() const { return family == Family::V4; }
	bool is_v6() const { return family == Family::V6; }
	bool valid() const { return family != Family::None; }
	size_t size() const { return is_v4() ? 4 : is_v6() ? 16 : 0; }
	unsigned max_prefix() const { return is_v4() ? 32 : 128; }
	bool is_unspecified() const; // 0.0.0.0 or ::

	// The address with every bit past `prefix_len` cleared.
	IpAddress masked(unsigned prefix_len) const;

	std::string to_string() const;
	// Writes into `out` (at least 46 bytes); returns the length. No allocation.
	size_t format(char* out, size_t cap) const;

	friend bool operator==(const IpAddress&, const IpAddress&) = default;
	friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

// The one address hash: all 16 bytes and the family under a seed (see
// util::kDefaultHashSeed for why tables are seeded). Two rounds of mix64, so
// no difference between two addresses collides under every seed.
inline uint64_t hash_address(const IpAddress& a, uint64_t seed)
{
	uint64_t lo, hi;
	std::memcpy(&lo, a.bytes.data(), 8);
	std::memcpy(&hi, a.bytes.data() + 8, 8);
	return util::mix64(util::mix64(lo ^ seed) ^ hi ^ static_cast<uint64_t>(a.family));
}

// hash_address as a hasher for standard containers (off the packet path).
struct IpAddressHash {
	uint64_t seed = util::kDefaultHashSeed;
	size_t operator()(const IpAddress& a) const noexcept { return static_cast<size_t>(hash_address(a, seed)); }
};

// An address block: `base` is always stored masked to `prefix_len`.
struct Cidr {
	IpAddress base;
	uint8_t prefix_len = 0;

	// "192.0.2.0/24", "2001:db8::/32", or a bare address (full length).
	// Host bits set past the prefix are an error, so typos are not widened.
	// The failure (EINVAL) says what is wrong ("prefix length must be a number").
	static util::Result<Cidr> parse(std::string_view text);
	static Cidr host(const IpAddress& a) { return {a, static_cast<uint8_t>(a.max_prefix())}; }

	bool contains(const IpAddress& a) const;
	bool is_host() const { return prefix_len == base.max_prefix(); }
	// True when one of `blocks` contains `a` (allowlists, trusted peers).
	static bool any_contains(const std::vector<Cidr>& blocks, const IpAddress& a);
	std::string to_string() const;

	friend bool operator==(const Cidr&, const Cidr&) = default;
};

} // namespace sipguard::net
