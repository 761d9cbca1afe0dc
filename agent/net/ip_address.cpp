// SPDX-License-Identifier: GPL-2.0-or-later
// IpAddress and Cidr parsing, masking, formatting.
#include "agent/net/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace sipguard::net {

IpAddress IpAddress::v6(const uint8_t* network_order)
{
	IpAddress a;
	a.family = Family::V6;
	std::memcpy(a.bytes.data(), network_order, 16);
	return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text)
{
	if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
		text = text.substr(1, text.size() - 2);
	// INET6_ADDRSTRLEN is 46 including the NUL; longer text cannot be an address.
	char buf[64];
	if (text.empty() || text.size() >= sizeof(buf))
		return std::nullopt;
	std::memcpy(buf, text.data(), text.size());
	buf[text.size()] = '\0';
	uint8_t raw[16];
	if (text.find(':') == std::string_view::npos) {
		if (inet_pton(AF_INET, buf, raw) == 1)
			return v4(raw);
		return std::nullopt;
	}
	if (inet_pton(AF_INET6, buf, raw) == 1)
		return v6(raw);
	return std::nullopt;
}

bool IpAddress::is_unspecified() const
{
	for (size_t i = 0; i < size(); ++i)
		if (bytes[i] != 0)
			return false;
	return valid();
}

IpAddress IpAddress::masked(unsigned prefix_len) const
{
	IpAddress out = *this;
	const unsigned bits = static_cast<unsigned>(size()) * 8;
	for (unsigned bit = prefix_len; bit < bits; ++bit)
		out.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
	return out;
}

size_t IpAddress::format(char* out, size_t cap) const
{
	if (cap < 46 || !valid()) {
		if (cap > 0)
			out[0] = '\0';
		return 0;
	}
	const int af = is_v4() ? AF_INET : AF_INET6;
	if (!inet_ntop(af, bytes.data(), out, static_cast<socklen_t>(cap))) {
		out[0] = '\0';
		return 0;
	}
	return std::strlen(out);
}

std::string IpAddress::to_string() const
{
	char buf[64];
	size_t n = format(buf, sizeof(buf));
	return std::string(buf, n);
}

util::Result<Cidr> Cidr::parse(std::string_view text)
{
	auto fail = [](const char* why) { return util::Status::invalid(why); };
	auto slash = text.find('/');
	auto addr = IpAddress::parse(text.substr(0, slash));
	if (!addr)
		return fail("not an IPv4 or IPv6 address");
	unsigned len = addr->max_prefix();
	if (slash != std::string_view::npos) {
		auto digits = text.substr(slash + 1);
		if (digits.empty() || digits.size() > 3)
			return fail("prefix length must be a number");
		len = 0;
		for (char c : digits) {
			if (c < '0' || c > '9')
				return fail("prefix length must be a number");
			len = len * 10 + static_cast<unsigned>(c - '0');
		}
		if (len > addr->max_prefix())
			return fail(addr->is_v4() ? "IPv4 prefix length must be 0..32" : "IPv6 prefix length must be 0..128");
	}
	Cidr c{addr->masked(len), static_cast<uint8_t>(len)};
	if (c.base != *addr)
		return fail("address has bits set past the prefix length");
	return c;
}

bool Cidr::contains(const IpAddress& a) const
{
	return a.family == base.family && a.masked(prefix_len) == base;
}

bool Cidr::any_contains(const std::vector<Cidr>& blocks, const IpAddress& a)
{
	for (const auto& c : blocks)
		if (c.contains(a))
			return true;
	return false;
}

std::string Cidr::to_string() const
{
	std::string s = base.to_string();
	if (!is_host()) {
		s += '/';
		s += std::to_string(prefix_len);
	}
	return s;
}

} // namespace sipguard::net
