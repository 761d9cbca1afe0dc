// SPDX-License-Identifier: GPL-2.0-or-later
// The difference between the projected ban elements and the ones the kernel lists: what to delete, what to add.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <vector>

#include "agent/net/ip_address.h"
#include "rules/elements_internal.h"
#include "rules/projection.h"

namespace sipguard::rules {

// One ban element as the kernel lists it.
struct ListedPiece {
	BanSet set = BanSet::Host4;
	net::IpAddress first;
	net::IpAddress last;
	// Interval sets: whether an end element closes the range. Without one
	// the kernel's lookup runs on to the next element or the top of the
	// address space, which is what `last` says.
	bool end_element = true;
	std::chrono::milliseconds timeout{0};    // as added; 0 = none
	std::chrono::milliseconds expires_in{0}; // remaining; 0 with a timeout = expired, awaiting GC
};

// The elements of one ban set, from its raw dump (rules/elements_internal.h).
// Interval elements pair up in key order: each start element covers up to
// the next element's key (exclusive) or the top, as the kernel's rbtree
// lookup does; an end element that closes no start is left out.
std::vector<ListedPiece> pieces_from_raw(BanSet set, std::vector<RawElement> raw);

struct DiffOptions {
	// A listed element whose remaining time is within this of the desired
	// one is kept; further apart it is replaced (delete + add). The listing
	// and the projection are taken a few ms apart, and the kernel rounds to
	// jiffies.
	std::chrono::milliseconds tolerance{1000};
};

struct ElementDiff {
	std::vector<ListedPiece> remove; // delete exactly these listed elements
	std::vector<BanPiece> add;       // then add these
	size_t unchanged = 0;
	size_t retimed = 0; // same range in both, remaining time differs: counted in remove and add

	bool empty() const { return remove.empty() && add.empty(); }
	size_t missing() const { return add.size() - retimed; } // desired, not in the kernel
	size_t extra() const { return remove.size() - retimed; } // in the kernel, not desired
};

// Expired listed elements (still in the set until the kernel's GC) are
// ignored: they match nothing, and adding over them works (tested).
ElementDiff diff_pieces(std::span<const BanPiece> desired, std::span<const ListedPiece> listed,
                        DiffOptions options = {});

// The element operations that apply a diff: every Remove first (per set), so
// no added interval overlaps one that is going away, then every Add.
std::vector<ElementOp> diff_ops(const ElementDiff& diff);

// Single element operations for a piece (exposed for tests and the writer).
ElementOp add_op(const BanPiece& piece);
ElementOp remove_op(const ListedPiece& piece);

} // namespace sipguard::rules
