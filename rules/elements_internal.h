// SPDX-License-Identifier: GPL-2.0-or-later
// Element operations shared by elements.cpp, table.cpp (keeping elements on replace) and the writer.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "agent/net/ip_address.h"
#include "rules/netlink.h"
#include "rules/status.h"

namespace sipguard::rules {

struct ElementOp {
	enum class Kind : uint8_t {
		Add,     // idempotent add; an existing element keeps its old timeout
		Refresh, // add + delete + add: element ends up with exactly this timeout
		Delete,  // add + delete: never fails for an absent element
		Remove,  // delete alone, of an element known to exist (listed): an
		         // add first could overlap a neighbour in an interval set
	};
	Kind kind = Kind::Add;
	bool is_media = false;
	bool is_known = false;  // known4/known6 (pre-filter): a host, like a host ban
	bool is_proven = false; // proven4/proven6 (pre-filter): likewise
	net::Cidr target; // media: host address; range: `first` in target.base
	// An interval range that need not be a prefix, [target.base, last]
	// (bannet4/bannet6); family None = the prefix `target`.
	net::IpAddress last;
	// Remove only: false when the listed interval has no end element (it
	// runs to the top of the address space, or its end was lost).
	bool end_element = true;
	uint16_t port = 0;
	std::chrono::milliseconds timeout{0};
	std::chrono::milliseconds expires_in{0}; // restoring: remaining time (NFTA_SET_ELEM_EXPIRATION)
};

// Target set of an element (ban4/ban6/bannet4/bannet6/media4/media6).
const char* set_name_of(const ElementOp& op);

// Appends messages for all ops (grouped per set and kind).
void append_element_ops(Batch& batch, std::span<const ElementOp> ops);
// Appends messages in the ops' own order, joining only neighbours of the
// same set and kind into one message: a Remove listed before an Add of an
// overlapping interval is applied first, as the kernel's overlap check needs.
void append_element_ops_in_order(Batch& batch, std::span<const ElementOp> ops);
// Commits in transactions of at most kMaxElementsPerTransaction ops.
Status commit_element_ops(Netlink& nl, std::span<const ElementOp> ops);

struct RawElement {
	std::array<uint8_t, 20> key{};
	uint32_t key_len = 0;
	bool interval_end = false;
	std::chrono::milliseconds timeout{0};
	std::chrono::milliseconds expires_in{0};
};
// Parses the elements of one NEWSETELEM/GETSETELEM message (libmnl only:
// some libnftnl releases return an uninitialised status from
// nftnl_set_elems_nlmsg_parse). Returns false on a malformed message;
// `set_name` receives NFTA_SET_ELEM_LIST_SET when present.
bool parse_elements(const nlmsghdr* nlh, std::vector<RawElement>& out, std::string* set_name = nullptr);

Status list_set_raw(Netlink& nl, const char* set_name, std::vector<RawElement>& out);

} // namespace sipguard::rules
