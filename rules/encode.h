// SPDX-License-Identifier: GPL-2.0-or-later
// Pure builders for the nftnl objects and messages of our table (no kernel; unit-tested).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "agent/net/ip_address.h"
#include "rules/netlink.h"
#include "rules/nftnl_handles.h"
#include "rules/table.h"

namespace sipguard::rules {

// nftables datatype ids (nftables include/datatype.h, enum datatypes) and the
// concatenation encoding (include/datatype.h: TYPE_BITS 6, concat_type_alloc
// shifts earlier fields left by TYPE_BITS).
inline constexpr uint32_t kTypeIpAddr = 7;       // TYPE_IPADDR
inline constexpr uint32_t kTypeIp6Addr = 8;      // TYPE_IP6ADDR
inline constexpr uint32_t kTypeInetService = 13; // TYPE_INET_SERVICE
inline constexpr uint32_t kTypeBits = 6;         // TYPE_BITS
inline constexpr uint32_t kTypeIpAddrService = (kTypeIpAddr << kTypeBits) | kTypeInetService;   // 461
inline constexpr uint32_t kTypeIp6AddrService = (kTypeIp6Addr << kTypeBits) | kTypeInetService; // 525

// Concatenated keys: each field is padded to 32-bit registers
// (kernel include/net/netfilter/nf_tables.h: NFT_REG32_SIZE, nft_pad).
inline constexpr uint32_t kKeyLenAddrService4 = 4 + 4;  // ipv4_addr(4) . inet_service(2→4)
inline constexpr uint32_t kKeyLenAddrService6 = 16 + 4; // ipv6_addr(16) . inet_service(2→4)

// xt_NFQUEUE revision 3 (kernel include/uapi/linux/netfilter/xt_NFQUEUE.h).
struct XtNfqInfoV3 {
	uint16_t queuenum;
	uint16_t queues_total;
	uint16_t flags;
};
static_assert(sizeof(XtNfqInfoV3) == 6);
inline constexpr uint16_t kNfqFlagBypass = 0x01;    // NFQ_FLAG_BYPASS
inline constexpr uint16_t kNfqFlagCpuFanout = 0x02; // NFQ_FLAG_CPU_FANOUT (never set: we want the address hash)

struct SetDef {
	std::string name;
	uint32_t key_type = 0;
	uint32_t key_len = 0;
	uint32_t flags = 0;               // NFT_SET_*
	uint32_t size = 0;                // 0 = no declared size
	uint64_t timeout_ms = 0;          // default element timeout (dynamic sets), 0 = none
	std::vector<uint8_t> field_lens;  // concatenations only (NFTNL_SET_DESC_CONCAT)
};
std::vector<SetDef> set_definitions(const TableSpec& spec);
// Set ids let rules in the same transaction refer to sets created in it
// (NFTA_LOOKUP_SET_ID, as nft does); names are unique per table.
uint32_t set_id_of(const std::string& name);
SetPtr make_set_object(const SetDef& def, uint32_t set_id);

// Our chains. Hook numbers and priorities: NF_INET_* (linux/netfilter.h);
// NF_IP_PRI_RAW = -300 runs before conntrack (-200), so banned sources cost
// no conntrack entry.
struct ChainDef {
	const char* name;
	int hook; // -1: regular chain
	int priority;
};
std::span<const ChainDef> chain_definitions();

// The verdict expression of a queue rule; `bypass` lets packets pass when no
// program listens on the queue.
ExprPtr make_queue_expr(QueueBackend backend, uint16_t base, uint16_t count, bool bypass = true);

// `limit rate over RATE/second burst BURST packets` (matches above the rate).
ExprPtr make_limit_over_expr(uint32_t rate, uint32_t burst);
// The pre-filter's per-source meter rule body, as nft writes
// `update @SET { ip saddr limit rate over RATE/second burst BURST packets }`
// (v4) or with `ip6 saddr`; appended to `rule`.
void append_meter_exprs(nftnl_rule* rule, bool v4, uint32_t rate, uint32_t burst);

// The expressions of the defrag rule (nothing for None), as nft would write
// `meta l4proto udp tproxy to :PORT` or `ct state == new`. The rule lives in a
// chain nothing jumps to, so it never runs: what matters is the expression's
// init in the kernel (table.h, DefragBackend).
void append_defrag_exprs(nftnl_rule* rule, DefragBackend backend, uint16_t port);

// Appends every message that creates the whole table (the caller frames it in
// a batch, after an add+delete of the old table when replacing).
void append_table_contents(Batch& batch, const TableSpec& spec, QueueBackend backend);
void append_table_add(Batch& batch);
void append_table_delete(Batch& batch);

// Builds the rules of one chain (exposed for tests).
std::vector<RulePtr> make_chain_rules(const std::string& chain, const TableSpec& spec, QueueBackend backend);

// Interval elements: an interval set (rbtree) stores [start, end) as a start
// element and an end element flagged NFT_SET_ELEM_INTERVAL_END; the end is
// left out when the prefix reaches the top of the address space.
struct IntervalKeys {
	std::array<uint8_t, 16> start{};
	std::array<uint8_t, 16> end{};
	size_t len = 0;
	bool has_end = false;
};
IntervalKeys interval_keys(const net::Cidr& cidr);
// Any range [first, last] (inclusive, same family, first <= last): the start
// key is `first`, the end key `last + 1`, none when `last` is the top address.
IntervalKeys range_keys(const net::IpAddress& first, const net::IpAddress& last);

// Drops duplicates and prefixes contained in another one: two prefixes either
// nest or are disjoint, and the kernel rejects overlapping intervals (EEXIST).
std::vector<net::Cidr> normalize_prefixes(std::vector<net::Cidr> cidrs);

} // namespace sipguard::rules
