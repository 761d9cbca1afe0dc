// SPDX-License-Identifier: GPL-2.0-or-later
// The value of one config key as the loader hands it to a row's binder: one
// variant over every type a row can have, comparable for reload diffs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "agent/net/ip_address.h"

namespace sipguard::config {

using Millis = std::chrono::milliseconds;

// "LO-HI", 1 <= LO <= HI <= 65535.
struct PortRange {
	uint16_t lo = 0;
	uint16_t hi = 0;
	friend bool operator==(const PortRange&, const PortRange&) = default;
};

// "ADDR:PORT" or "[V6]:PORT"; an invalid address means off ("").
struct Endpoint {
	net::IpAddress addr;
	uint16_t port = 0;
	bool enabled() const { return addr.valid(); }
	std::string to_string() const;
	friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

std::optional<PortRange> parse_port_range(std::string_view text);
// "" parses to a disabled endpoint; a bare IPv6 address needs brackets.
std::optional<Endpoint> parse_endpoint(std::string_view text);

struct Record;

// Which alternative a row holds follows from its Type (row.h): Bool -> bool,
// Int -> int64_t, Float -> double, String/Path/SocketPath/Enum -> string,
// Duration -> Millis, ..., TableList -> one Record per table.
using Value = std::variant<bool, int64_t, double, std::string, Millis, std::vector<Millis>, std::vector<net::Cidr>,
                           std::vector<uint16_t>, PortRange, Endpoint, std::vector<std::string>, std::vector<Record>>;

// One table of a list-of-tables row ([[calls.trunk]]): its fields in the
// order of the row's sub-rows, absent keys holding their defaults.
struct Record {
	std::vector<Value> fields;
	friend bool operator==(const Record&, const Record&) = default;
};

} // namespace sipguard::config
