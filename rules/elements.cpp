// SPDX-License-Identifier: GPL-2.0-or-later
// Ban and media pinhole set elements: batched add/delete with per-element timeouts, listing.
#include "rules/elements.h"

#include <algorithm>
#include <cstring>
#include <endian.h>
#include <thread>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "rules/elements_internal.h"
#include "rules/nl_attrs.h"
#include "rules/ban_diff.h"
#include "rules/encode.h"
#include "rules/nftnl_handles.h"
#include "rules/projection.h"
#include "rules/table.h"

namespace sipguard::rules {

namespace {

// Elements per NEWSETELEM/DELSETELEM message. The element list is one
// netlink attribute (NFTA_SET_ELEM_LIST_ELEMENTS) whose length is 16 bits,
// so a message must stay under 64 KiB: 256 elements of at most ~80 bytes.
constexpr size_t kPerMessage = 256;
constexpr size_t kPerElementBytes = 160;
constexpr size_t kHeaderBytes = 1024;

const char* ban_set_name(const net::Cidr& c)
{
	if (c.base.is_v4())
		return c.is_host() ? kSetBan4 : kSetBanNet4;
	return c.is_host() ? kSetBan6 : kSetBanNet6;
}

uint64_t ms(std::chrono::milliseconds d) { return d.count() > 0 ? static_cast<uint64_t>(d.count()) : 0; }

// Formats into a fixed buffer and appends piecewise: GCC 12 -O3 reported a
// false -Wrestrict on `"[" + addr.to_string() + "]"` (libstdc++'s
// operator+(const char*, string&&) inserting at the front; GCC bug 105651).
std::string element_text(const ElementOp& op)
{
	char addr[64];
	size_t n = op.target.base.format(addr, sizeof addr);
	std::string out;
	out.reserve(n + 16);
	if (op.is_media) {
		bool v6 = op.target.base.is_v6();
		if (v6)
			out.push_back('[');
		out.append(addr, n);
		if (v6)
			out.push_back(']');
		out.append(" . ");
		out.append(std::to_string(op.port));
		return out;
	}
	if (op.last.valid())
		return piece_text(op.target.base, op.last);
	return op.target.to_string();
}

void add_times(nftnl_set_elem* e, const ElementOp& op)
{
	if (op.timeout.count() > 0)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, ms(op.timeout));
	if (op.expires_in.count() > 0)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_EXPIRATION, ms(op.expires_in));
}

// Builds one message for `ops[i..i+n)`, all in the same set.
void append_message(Batch& batch, uint16_t type, const char* set_name, const ElementOp* ops, size_t n,
                    bool with_timeouts)
{
	auto s = make_set();
	nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTable);
	nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set_name);
	for (size_t i = 0; i < n; ++i) {
		const ElementOp& op = ops[i];
		if (op.is_media) {
			// ipv4_addr . inet_service: each field padded to 4 bytes, the
			// padding zero (nft_payload_eval zeroes the register tail).
			uint8_t key[20] = {};
			size_t alen = op.target.base.size();
			std::memcpy(key, op.target.base.bytes.data(), alen);
			uint16_t be = htons(op.port);
			std::memcpy(key + alen, &be, 2);
			auto e = make_set_elem();
			nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, key, static_cast<uint32_t>(alen + 4));
			if (with_timeouts)
				add_times(e.get(), op);
			nftnl_set_elem_add(s.get(), e.release());
		} else if (!op.last.valid() && op.target.is_host()) {
			auto e = make_set_elem();
			nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, op.target.base.bytes.data(),
			                   static_cast<uint32_t>(op.target.base.size()));
			if (with_timeouts)
				add_times(e.get(), op);
			nftnl_set_elem_add(s.get(), e.release());
		} else {
			// Interval set (rbtree): start element carries the timeout; the
			// end element is flagged INTERVAL_END and may carry nothing else
			// (nf_tables_api.c rejects a timeout on it).
			IntervalKeys k = op.last.valid() ? range_keys(op.target.base, op.last) : interval_keys(op.target);
			auto start = make_set_elem();
			nftnl_set_elem_set(start.get(), NFTNL_SET_ELEM_KEY, k.start.data(), static_cast<uint32_t>(k.len));
			if (with_timeouts)
				add_times(start.get(), op);
			nftnl_set_elem_add(s.get(), start.release());
			bool with_end = k.has_end && !(op.kind == ElementOp::Kind::Remove && !op.end_element);
			if (with_end) {
				auto end = make_set_elem();
				nftnl_set_elem_set(end.get(), NFTNL_SET_ELEM_KEY, k.end.data(), static_cast<uint32_t>(k.len));
				nftnl_set_elem_set_u32(end.get(), NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
				nftnl_set_elem_add(s.get(), end.release());
			}
		}
	}
	char* buf = batch.reserve(kHeaderBytes + n * 2 * kPerElementBytes);
	// NLM_F_CREATE without NLM_F_EXCL: re-adding an existing element is not
	// an error (nft_add_set_elem turns EEXIST into success without EXCL).
	uint16_t flags = type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0;
	nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, flags, 0);
	nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
	std::string what = std::string(type == NFT_MSG_NEWSETELEM ? "add " : "delete ") +
	                   (n == 1 ? "element " + element_text(ops[0])
	                           : std::to_string(n) + " elements (first " + element_text(ops[0]) + ")") +
	                   (type == NFT_MSG_NEWSETELEM ? " to" : " from") + " set inet " + kTable + " " + set_name;
	batch.commit_message(std::move(what));
}

} // namespace

const char* set_name_of(const ElementOp& op)
{
	if (op.is_media)
		return op.target.base.is_v4() ? kSetMedia4 : kSetMedia6;
	if (op.is_known)
		return op.target.base.is_v4() ? kSetKnown4 : kSetKnown6;
	if (op.is_proven)
		return op.target.base.is_v4() ? kSetProven4 : kSetProven6;
	if (op.last.valid())
		return op.target.base.is_v4() ? kSetBanNet4 : kSetBanNet6;
	return ban_set_name(op.target);
}

namespace {

// The messages of `n` ops of one set and one kind.
void append_group(Batch& batch, const char* name, ElementOp::Kind kind, const ElementOp* ops, size_t n)
{
	for (size_t i = 0; i < n; i += kPerMessage) {
		size_t m = std::min(kPerMessage, n - i);
		const ElementOp* p = ops + i;
		switch (kind) {
		case ElementOp::Kind::Add:
			append_message(batch, NFT_MSG_NEWSETELEM, name, p, m, true);
			break;
		case ElementOp::Kind::Refresh:
			// add (idempotent) + delete + add with the new timeout:
			// atomically replaces an existing element's timeout.
			append_message(batch, NFT_MSG_NEWSETELEM, name, p, m, false);
			append_message(batch, NFT_MSG_DELSETELEM, name, p, m, false);
			append_message(batch, NFT_MSG_NEWSETELEM, name, p, m, true);
			break;
		case ElementOp::Kind::Delete:
			// A failing message aborts the whole transaction, and
			// deleting an absent element fails with ENOENT; adding it
			// first (idempotent) makes the delete always succeed.
			append_message(batch, NFT_MSG_NEWSETELEM, name, p, m, false);
			append_message(batch, NFT_MSG_DELSETELEM, name, p, m, false);
			break;
		case ElementOp::Kind::Remove:
			append_message(batch, NFT_MSG_DELSETELEM, name, p, m, false);
			break;
		}
	}
}

} // namespace

void append_element_ops(Batch& batch, std::span<const ElementOp> ops)
{
	// Group by (set, kind) preserving order within a group; messages of one
	// transaction apply in order, so the add/delete/add pattern per group
	// keeps its meaning.
	std::vector<const ElementOp*> sorted;
	sorted.reserve(ops.size());
	for (const auto& op : ops)
		sorted.push_back(&op);
	std::stable_sort(sorted.begin(), sorted.end(), [](const ElementOp* a, const ElementOp* b) {
		int sa = std::strcmp(set_name_of(*a), set_name_of(*b));
		if (sa != 0)
			return sa < 0;
		return static_cast<int>(a->kind) < static_cast<int>(b->kind);
	});
	std::vector<ElementOp> group;
	auto flush = [&]() {
		if (group.empty())
			return;
		append_group(batch, set_name_of(group[0]), group[0].kind, group.data(), group.size());
		group.clear();
	};
	for (const ElementOp* op : sorted) {
		if (!group.empty() &&
		    (std::strcmp(set_name_of(group[0]), set_name_of(*op)) != 0 || group[0].kind != op->kind))
			flush();
		group.push_back(*op);
	}
	flush();
}

void append_element_ops_in_order(Batch& batch, std::span<const ElementOp> ops)
{
	for (size_t i = 0; i < ops.size();) {
		const char* name = set_name_of(ops[i]);
		size_t j = i + 1;
		while (j < ops.size() && ops[j].kind == ops[i].kind && std::strcmp(set_name_of(ops[j]), name) == 0)
			++j;
		append_group(batch, name, ops[i].kind, ops.data() + i, j - i);
		i = j;
	}
}

Status commit_element_ops(Netlink& nl, std::span<const ElementOp> ops)
{
	for (size_t i = 0; i < ops.size(); i += kMaxElementsPerTransaction) {
		size_t n = std::min(kMaxElementsPerTransaction, ops.size() - i);
		Batch batch;
		append_element_ops(batch, ops.subspan(i, n));
		Status st = nl.commit(batch);
		if (!st.ok())
			return st;
	}
	return Status::success();
}

namespace {

bool valid_ban(const net::Cidr& c) { return c.base.valid(); }

std::vector<ElementOp> ban_ops(std::span<const BanElement> bans, ElementOp::Kind kind)
{
	std::vector<ElementOp> ops;
	ops.reserve(bans.size());
	for (const auto& b : bans) {
		ElementOp op;
		op.kind = kind;
		net::Cidr c = unmap_v4(b.target);
		op.target = net::Cidr{c.base.masked(c.prefix_len), c.prefix_len};
		op.timeout = b.timeout;
		ops.push_back(op);
	}
	return ops;
}

std::vector<ElementOp> media_ops(std::span<const MediaElement> elems, ElementOp::Kind kind)
{
	std::vector<ElementOp> ops;
	ops.reserve(elems.size());
	for (const auto& m : elems) {
		ElementOp op;
		op.kind = kind;
		op.is_media = true;
		op.target = net::Cidr::host(unmap_v4(m.addr));
		op.port = m.port;
		op.timeout = m.timeout;
		ops.push_back(op);
	}
	return ops;
}

Status check_bans(std::span<const BanElement> bans)
{
	for (const auto& b : bans)
		if (!valid_ban(b.target) || b.target.prefix_len > b.target.base.max_prefix())
			return Status::failure(EINVAL, "ban element has no valid address");
	return Status::success();
}

} // namespace

void append_ban_adds(Batch& batch, std::span<const BanElement> bans, bool refresh)
{
	auto ops = ban_ops(bans, refresh ? ElementOp::Kind::Refresh : ElementOp::Kind::Add);
	append_element_ops(batch, ops);
}

void append_ban_deletes(Batch& batch, std::span<const net::Cidr> targets)
{
	std::vector<BanElement> bans;
	for (const auto& t : targets)
		bans.push_back({t, {}});
	auto ops = ban_ops(bans, ElementOp::Kind::Delete);
	append_element_ops(batch, ops);
}

void append_media_adds(Batch& batch, std::span<const MediaElement> elems, bool refresh)
{
	append_element_ops(batch, media_ops(elems, refresh ? ElementOp::Kind::Refresh : ElementOp::Kind::Add));
}

void append_media_deletes(Batch& batch, std::span<const MediaElement> elems)
{
	append_element_ops(batch, media_ops(elems, ElementOp::Kind::Delete));
}

Status add_bans(Netlink& nl, std::span<const BanElement> bans, bool refresh)
{
	if (Status st = check_bans(bans); !st.ok())
		return st;
	return commit_element_ops(nl, ban_ops(bans, refresh ? ElementOp::Kind::Refresh : ElementOp::Kind::Add));
}

Status delete_bans(Netlink& nl, std::span<const net::Cidr> targets)
{
	std::vector<BanElement> bans;
	for (const auto& t : targets)
		bans.push_back({t, {}});
	if (Status st = check_bans(bans); !st.ok())
		return st;
	return commit_element_ops(nl, ban_ops(bans, ElementOp::Kind::Delete));
}

Status add_media(Netlink& nl, std::span<const MediaElement> elems, bool refresh)
{
	for (const auto& m : elems)
		if (!m.addr.valid())
			return Status::failure(EINVAL, "media element has no valid address");
	return commit_element_ops(nl, media_ops(elems, refresh ? ElementOp::Kind::Refresh : ElementOp::Kind::Add));
}

Status delete_media(Netlink& nl, std::span<const MediaElement> elems)
{
	for (const auto& m : elems)
		if (!m.addr.valid())
			return Status::failure(EINVAL, "media element has no valid address");
	return commit_element_ops(nl, media_ops(elems, ElementOp::Kind::Delete));
}

// ---- listing ----

namespace {

bool parse_one_element(const nlattr* elem, RawElement& r)
{
	return for_each_attr(mnl_attr_get_payload(elem), mnl_attr_get_payload_len(elem), [&](const nlattr* a) {
		switch (mnl_attr_get_type(a)) {
		case NFTA_SET_ELEM_KEY:
			// Nested NFTA_DATA_VALUE holding the key bytes.
			return for_each_attr(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a), [&](const nlattr* d) {
				if (mnl_attr_get_type(d) == NFTA_DATA_VALUE) {
					uint16_t n = mnl_attr_get_payload_len(d);
					if (n > r.key.size())
						return false;
					std::memcpy(r.key.data(), mnl_attr_get_payload(d), n);
					r.key_len = n;
				}
				return true;
			});
		case NFTA_SET_ELEM_FLAGS:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return false;
			r.interval_end = ntohl(mnl_attr_get_u32(a)) & NFT_SET_ELEM_INTERVAL_END;
			return true;
		case NFTA_SET_ELEM_TIMEOUT:
			if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
				return false;
			r.timeout = std::chrono::milliseconds(be64toh(mnl_attr_get_u64(a)));
			return true;
		case NFTA_SET_ELEM_EXPIRATION:
			if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
				return false;
			r.expires_in = std::chrono::milliseconds(be64toh(mnl_attr_get_u64(a)));
			return true;
		default:
			return true;
		}
	});
}

} // namespace

bool parse_elements(const nlmsghdr* nlh, std::vector<RawElement>& out, std::string* set_name)
{
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(nfgenmsg))
		return false;
	return for_each_attr(mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg)),
	                     nlh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(nfgenmsg)), [&](const nlattr* a) {
		                     uint16_t type = mnl_attr_get_type(a);
		                     if (type == NFTA_SET_ELEM_LIST_SET && set_name) {
			                     if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
				                     return false;
			                     *set_name = mnl_attr_get_str(a);
		                     }
		                     if (type != NFTA_SET_ELEM_LIST_ELEMENTS)
			                     return true;
		                     return for_each_attr(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a),
		                                          [&](const nlattr* e) {
			                                          // The kernel ignores the nest type of
			                                          // list items (libnftnl numbers them
			                                          // 1, 2, 3...), so do we.
			                                          RawElement r;
			                                          if (!parse_one_element(e, r))
				                                          return false;
			                                          out.push_back(r);
			                                          return true;
		                                          });
	                     });
}

namespace {
Status list_set_once(Netlink& nl, const char* set_name, std::vector<RawElement>& out, bool& interrupted)
{
	auto s = make_set();
	nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTable);
	nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set_name);
	std::string what = std::string("list elements of set inet ") + kTable + " " + set_name;
	Status st = nl.dump(
		[&](char* buf, uint32_t seq) {
			nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, seq);
			nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
			return nlh;
		},
		[&](const nlmsghdr* nlh) {
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				interrupted = true;
			return parse_elements(nlh, out);
		},
		what);
	return st;
}
} // namespace

Status list_set_raw(Netlink& nl, const char* set_name, std::vector<RawElement>& out)
{
	// A dump is walked in several recv rounds; if the kernel resizes the
	// set's hash table in between (rhashtable grows in a deferred worker
	// after large inserts), the walk can repeat some elements and miss
	// others. Repeats are visible, so retry (bounded) until a walk has none.
	for (int attempt = 0;; ++attempt) {
		out.clear();
		bool interrupted = false;
		Status st = list_set_once(nl, set_name, out, interrupted);
		if (!st.ok())
			return st;
		std::vector<std::pair<std::array<uint8_t, 20>, bool>> keys;
		keys.reserve(out.size());
		for (const auto& e : out)
			keys.emplace_back(e.key, e.interval_end);
		std::sort(keys.begin(), keys.end());
		bool repeated = std::adjacent_find(keys.begin(), keys.end()) != keys.end();
		if (!repeated && !interrupted)
			return Status::success();
		if (attempt == 6)
			return Status::failure(EAGAIN, std::string("list elements of set inet ") + kTable + " " + set_name +
			                                   ": the set kept changing during the listing");
		std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
	}
}

namespace {

net::IpAddress addr_from(const uint8_t* p, bool v4)
{
	return v4 ? net::IpAddress::v4(p) : net::IpAddress::v6(p);
}

} // namespace

Status list_bans(Netlink& nl, std::vector<ListedBan>& out)
{
	out.clear();
	for (const char* name : {kSetBan4, kSetBan6}) {
		std::vector<RawElement> raw;
		if (Status st = list_set_raw(nl, name, raw); !st.ok())
			return st;
		bool v4 = name == kSetBan4;
		for (const auto& r : raw) {
			if (r.key_len != (v4 ? 4u : 16u))
				continue;
			ListedBan b;
			b.target = net::Cidr::host(addr_from(r.key.data(), v4));
			b.timeout = r.timeout;
			b.expires_in = r.expires_in;
			out.push_back(b);
		}
	}
	for (BanSet set : {BanSet::Net4, BanSet::Net6}) {
		std::vector<RawElement> raw;
		if (Status st = list_set_raw(nl, set_name(set), raw); !st.ok())
			return st;
		// A piece that is not a prefix (the projection's ranges) is shown
		// as the prefixes that make it up, each with the piece's times.
		for (const ListedPiece& p : pieces_from_raw(set, std::move(raw)))
			for (const net::Cidr& c : prefix_cover(p.first, p.last))
				out.push_back({c, p.timeout, p.expires_in});
	}
	return Status::success();
}

Status list_ban_pieces(Netlink& nl, std::vector<ListedPiece>& out, bool prefixes_only)
{
	out.clear();
	for (BanSet set : {BanSet::Host4, BanSet::Host6, BanSet::Net4, BanSet::Net6}) {
		if (prefixes_only && !is_interval(set))
			continue;
		std::vector<RawElement> raw;
		Status st = list_set_raw(nl, set_name(set), raw);
		if (!st.ok())
			return st;
		auto pieces = pieces_from_raw(set, std::move(raw));
		out.insert(out.end(), pieces.begin(), pieces.end());
	}
	return Status::success();
}

Status list_media(Netlink& nl, std::vector<ListedMedia>& out)
{
	out.clear();
	for (const char* name : {kSetMedia4, kSetMedia6}) {
		std::vector<RawElement> raw;
		if (Status st = list_set_raw(nl, name, raw); !st.ok())
			return st;
		bool v4 = name == kSetMedia4;
		size_t alen = v4 ? 4 : 16;
		for (const auto& r : raw) {
			if (r.key_len != alen + 4)
				continue;
			ListedMedia m;
			m.addr = addr_from(r.key.data(), v4);
			uint16_t be;
			std::memcpy(&be, r.key.data() + alen, 2);
			m.port = ntohs(be);
			m.timeout = r.timeout;
			m.expires_in = r.expires_in;
			out.push_back(m);
		}
	}
	return Status::success();
}

} // namespace sipguard::rules
