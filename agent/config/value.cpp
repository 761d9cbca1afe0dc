// SPDX-License-Identifier: GPL-2.0-or-later
// Parsing and printing of the string-shaped config values (port ranges,
// endpoints).
#include "agent/config/value.h"

#include <fmt/core.h>

namespace sipguard::config {

namespace {

// 1..65535 without sign or spaces; 0 when `text` is not such a number.
uint32_t parse_port(std::string_view text)
{
	if (text.empty() || text.size() > 5)
		return 0;
	uint32_t v = 0;
	for (char c : text) {
		if (c < '0' || c > '9')
			return 0;
		v = v * 10 + static_cast<uint32_t>(c - '0');
	}
	return v <= 65535 ? v : 0;
}

} // namespace

std::string Endpoint::to_string() const
{
	if (!enabled())
		return "";
	return addr.is_v6() ? fmt::format("[{}]:{}", addr.to_string(), port) : fmt::format("{}:{}", addr.to_string(), port);
}

std::optional<PortRange> parse_port_range(std::string_view text)
{
	size_t dash = text.find('-');
	if (dash == std::string_view::npos)
		return std::nullopt;
	uint32_t lo = parse_port(text.substr(0, dash));
	uint32_t hi = parse_port(text.substr(dash + 1));
	if (!lo || !hi || lo > hi)
		return std::nullopt;
	return PortRange{static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
}

std::optional<Endpoint> parse_endpoint(std::string_view text)
{
	if (text.empty())
		return Endpoint{};
	size_t colon = text.rfind(':');
	if (colon == std::string_view::npos || colon == 0)
		return std::nullopt;
	std::string_view host = text.substr(0, colon);
	// A bare IPv6 address has colons of its own; require brackets.
	if (host.find(':') != std::string_view::npos && host.front() != '[')
		return std::nullopt;
	auto addr = net::IpAddress::parse(host);
	uint32_t port = parse_port(text.substr(colon + 1));
	if (!addr || !port)
		return std::nullopt;
	return Endpoint{*addr, static_cast<uint16_t>(port)};
}

} // namespace sipguard::config
