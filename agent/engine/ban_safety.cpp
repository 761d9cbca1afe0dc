// SPDX-License-Identifier: GPL-2.0-or-later
// Ban safety rails: ranges no ban may cover, whatever asked for it.
#include "agent/engine/ban_safety.h"

#include <array>
#include <optional>

#include <fmt/core.h>

namespace sipguard::engine {

namespace {

net::Cidr cidr(std::string_view text)
{
	return *net::Cidr::parse(text);
}

struct Reserved {
	BanRefusal why;
	net::Cidr block;
};

// RFC 6890 special-purpose blocks a ban must never cover.
const std::array<Reserved, 6>& reserved()
{
	static const std::array<Reserved, 6> table{{
		{BanRefusal::Loopback, cidr("127.0.0.0/8")},
		{BanRefusal::Loopback, cidr("::1/128")},
		{BanRefusal::LinkLocal, cidr("169.254.0.0/16")},
		{BanRefusal::LinkLocal, cidr("fe80::/10")},
		{BanRefusal::Multicast, cidr("224.0.0.0/4")},
		{BanRefusal::Multicast, cidr("ff00::/8")},
	}};
	return table;
}

bool is_mapped(const net::IpAddress& a)
{
	if (!a.is_v6())
		return false;
	for (size_t i = 0; i < 10; ++i)
		if (a.bytes[i] != 0)
			return false;
	return a.bytes[10] == 0xff && a.bytes[11] == 0xff;
}

} // namespace

std::string_view to_string(BanRefusal r)
{
	switch (r) {
	case BanRefusal::None: return "none";
	case BanRefusal::Invalid: return "invalid address";
	case BanRefusal::WholeInternet: return "it is the whole address family (/0)";
	case BanRefusal::TooBroad: return "it is broader than the minimum prefix";
	case BanRefusal::Unspecified: return "it covers the unspecified address";
	case BanRefusal::Loopback: return "it covers loopback";
	case BanRefusal::LinkLocal: return "it covers link-local addresses";
	case BanRefusal::Multicast: return "it covers multicast addresses";
	case BanRefusal::OwnAddress: return "it covers an address of this host";
	case BanRefusal::Allowlisted: return "it overlaps policy.allowlist";
	case BanRefusal::Trusted: return "it overlaps policy.trusted";
	}
	return "?";
}

net::IpAddress unmap_v4(const net::IpAddress& a)
{
	return is_mapped(a) ? net::IpAddress::v4(a.bytes.data() + 12) : a;
}

net::Cidr unmap_v4(const net::Cidr& c)
{
	if (c.prefix_len < 96 || !is_mapped(c.base))
		return c;
	return {unmap_v4(c.base), static_cast<uint8_t>(c.prefix_len - 96)};
}

bool overlaps(const net::Cidr& a, const net::Cidr& b)
{
	if (a.base.family != b.base.family || !a.base.valid())
		return false;
	// Two aligned blocks overlap exactly when the shorter one contains the other's base.
	return a.prefix_len <= b.prefix_len ? a.contains(b.base) : b.contains(a.base);
}

BanRefusal BanSafety::check(const net::Cidr& raw, bool force) const
{
	const net::Cidr target = unmap_v4(raw);
	if (!target.base.valid())
		return BanRefusal::Invalid;
	if (target.prefix_len == 0)
		return BanRefusal::WholeInternet;
	if (target.contains(target.base.is_v4() ? net::IpAddress::v4(uint32_t{0}) : net::IpAddress{.family = net::Family::V6}))
		return BanRefusal::Unspecified;
	for (const Reserved& r : reserved())
		if (overlaps(target, r.block))
			return r.why;
	for (const net::IpAddress& own : own_addresses)
		if (target.contains(unmap_v4(own)))
			return BanRefusal::OwnAddress;
	for (const net::Cidr& c : allowlist)
		if (overlaps(target, unmap_v4(c)))
			return BanRefusal::Allowlisted;
	for (const net::Cidr& c : trusted)
		if (overlaps(target, unmap_v4(c)))
			return BanRefusal::Trusted;
	const uint8_t min = target.base.is_v4() ? min_prefix_v4 : min_prefix_v6;
	if (target.prefix_len < min && !force)
		return BanRefusal::TooBroad;
	return BanRefusal::None;
}

std::string BanSafety::explain(const net::Cidr& raw, bool force) const
{
	const net::Cidr target = unmap_v4(raw);
	const BanRefusal r = check(target, force);
	if (r == BanRefusal::None)
		return {};
	std::string detail;
	if (r == BanRefusal::TooBroad)
		detail = fmt::format(" (minimum /{} for {}; --force overrides)",
		                     target.base.is_v4() ? min_prefix_v4 : min_prefix_v6, target.base.is_v4() ? "IPv4" : "IPv6");
	if (r == BanRefusal::OwnAddress)
		for (const net::IpAddress& own : own_addresses)
			if (target.contains(unmap_v4(own))) {
				detail = fmt::format(" ({})", unmap_v4(own).to_string());
				break;
			}
	return fmt::format("refusing to ban {}: {}{}", target.to_string(), to_string(r), detail);
}

} // namespace sipguard::engine
