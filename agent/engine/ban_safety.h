// SPDX-License-Identifier: GPL-2.0-or-later
// The one safety check every ban path passes (detectors, prefix aggregation,
// manual, restore, imports): never the host itself, its loopback, link-local
// or multicast ranges, the allowlist or trusted networks, never /0, and never
// broader than the configured minimum prefix unless forced.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/net/ip_address.h"

namespace sipguard::engine {

enum class BanRefusal : uint8_t {
	None,
	Invalid,       // no address family
	WholeInternet, // /0: refused always, even with force
	TooBroad,      // shorter than the minimum prefix; force overrides
	Unspecified,   // covers 0.0.0.0 or ::
	Loopback,      // covers 127.0.0.0/8 or ::1
	LinkLocal,     // covers 169.254.0.0/16 or fe80::/10
	Multicast,     // covers 224.0.0.0/4 or ff00::/8
	OwnAddress,    // covers an address of this host
	Allowlisted,   // overlaps policy.allowlist
	Trusted,       // overlaps policy.trusted
};

std::string_view to_string(BanRefusal r);

struct BanSafety {
	uint8_t min_prefix_v4 = 16;
	uint8_t min_prefix_v6 = 32;
	std::vector<net::Cidr> allowlist;
	std::vector<net::Cidr> trusted;
	std::vector<net::IpAddress> own_addresses; // read at start and on every address change

	// Why `target` must not be banned, or None. `force` lifts only TooBroad.
	BanRefusal check(const net::Cidr& target, bool force = false) const;
	// "refusing to ban 10.0.0.0/8: it covers this host's address 10.1.2.3".
	std::string explain(const net::Cidr& target, bool force = false) const;
};

// ::ffff:a.b.c.d (RFC 4291 §2.5.5.2) as the IPv4 address a.b.c.d; any other
// address unchanged. Applied wherever an address enters the agent, so a
// mapped address bans, matches and lists as the IPv4 host it is.
net::IpAddress unmap_v4(const net::IpAddress& a);
// A prefix inside ::ffff:0:0/96 becomes the IPv4 prefix it covers.
net::Cidr unmap_v4(const net::Cidr& c);

// True when the two blocks share at least one address.
bool overlaps(const net::Cidr& a, const net::Cidr& b);

} // namespace sipguard::engine
