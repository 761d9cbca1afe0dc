// SPDX-License-Identifier: GPL-2.0-or-later
// Ban and media pinhole set elements: batched add/delete with per-element timeouts, listing.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "agent/net/ip_address.h"
#include "rules/ban_diff.h"
#include "rules/netlink.h"
#include "rules/status.h"

namespace sipguard::rules {

// A host (/32, /128) goes to ban4/ban6, a shorter prefix to bannet4/bannet6.
// timeout 0 = no timeout (permanent until deleted).
struct BanElement {
	net::Cidr target;
	std::chrono::seconds timeout{0};
};

// `addr . port` in media4/media6 (UDP destination port on this host).
struct MediaElement {
	net::IpAddress addr;
	uint16_t port = 0;
	std::chrono::seconds timeout{0};
};

struct ListedBan {
	net::Cidr target;
	std::chrono::milliseconds timeout{0};    // as added; 0 = none
	std::chrono::milliseconds expires_in{0}; // remaining; 0 = none
};

struct ListedMedia {
	net::IpAddress addr;
	uint16_t port = 0;
	std::chrono::milliseconds timeout{0};
	std::chrono::milliseconds expires_in{0};
};

// Upper bound for one transaction; longer lists are committed as several
// transactions (each atomic) in order.
inline constexpr size_t kMaxElementsPerTransaction = 16384;

// Idempotent: NLM_F_CREATE without NLM_F_EXCL, so re-adding an element that
// exists succeeds (its timeout is not refreshed by the kernel; delete+add to
// refresh, which add_bans does when `refresh` is true, atomically).
Status add_bans(Netlink& nl, std::span<const BanElement> bans, bool refresh = true);
// Deleting an element that is already gone succeeds: each element is added
// (idempotent, no timeout change) and deleted in the same transaction, so no
// message can fail with ENOENT and abort the rest of the batch.
Status delete_bans(Netlink& nl, std::span<const net::Cidr> targets);
// Prefix elements are listed as CIDRs; an interval that is not a prefix
// (see rules/projection.h) as the prefixes that make it up.
Status list_bans(Netlink& nl, std::vector<ListedBan>& out);
// Every element of ban4, ban6, bannet4, bannet6 (only the last two with
// `prefixes_only`) as the kernel holds it (ranges as ranges), for
// diff_pieces (rules/ban_diff.h).
Status list_ban_pieces(Netlink& nl, std::vector<ListedPiece>& out, bool prefixes_only = false);

Status add_media(Netlink& nl, std::span<const MediaElement> elems, bool refresh = true);
Status delete_media(Netlink& nl, std::span<const MediaElement> elems); // timeout ignored
Status list_media(Netlink& nl, std::vector<ListedMedia>& out);

// Appends the messages for these operations to `batch` (the Writer mixes
// bans and pinholes into one transaction).
void append_ban_adds(Batch& batch, std::span<const BanElement> bans, bool refresh);
void append_ban_deletes(Batch& batch, std::span<const net::Cidr> targets);
void append_media_adds(Batch& batch, std::span<const MediaElement> elems, bool refresh);
void append_media_deletes(Batch& batch, std::span<const MediaElement> elems);

} // namespace sipguard::rules
