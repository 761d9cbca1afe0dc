// SPDX-License-Identifier: GPL-2.0-or-later
// Pure builders for the nftnl objects and messages of our table (no kernel; unit-tested).
#include "rules/encode.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include <arpa/inet.h>
#include <libnftnl/common.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>

namespace sipguard::rules {

namespace {

// Table-level messages are small; 4 KiB is ample for a chain, set or rule.
constexpr size_t kSmallMessage = 8192;

// Offsets in the IPv4/IPv6 headers and the UDP/TCP header (RFC 791 §3.1,
// RFC 8200 §3, RFC 768, RFC 9293 §3.1).
constexpr uint32_t kIp4SaddrOffset = 12;
constexpr uint32_t kIp6SaddrOffset = 8;
constexpr uint32_t kThSportOffset = 0;
constexpr uint32_t kThDportOffset = 2;

std::string object(const char* kind, const std::string& name)
{
	return std::string(kind) + " inet " + kTable + " " + name;
}

void add_expr(nftnl_rule* r, ExprPtr e)
{
	nftnl_rule_add_expr(r, e.release()); // the rule owns it from here
}

void add_meta(nftnl_rule* r, uint32_t key, uint32_t dreg)
{
	auto e = make_expr("meta");
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_META_DREG, dreg);
	add_expr(r, std::move(e));
}

void add_cmp(nftnl_rule* r, uint32_t sreg, uint32_t op, const void* data, uint32_t len)
{
	auto e = make_expr("cmp");
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set_data(e.get(), NFTNL_EXPR_CMP_DATA, data, len);
	add_expr(r, std::move(e));
}

void add_payload(nftnl_rule* r, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg)
{
	auto e = make_expr("payload");
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_PAYLOAD_DREG, dreg);
	add_expr(r, std::move(e));
}

void add_lookup(nftnl_rule* r, uint32_t sreg, const char* set, uint32_t set_id)
{
	auto e = make_expr("lookup");
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SREG, sreg);
	nftnl_expr_set_str(e.get(), NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LOOKUP_SET_ID, set_id);
	add_expr(r, std::move(e));
}

void add_counter(nftnl_rule* r)
{
	auto e = make_expr("counter");
	nftnl_expr_set_u64(e.get(), NFTNL_EXPR_CTR_PACKETS, 0);
	nftnl_expr_set_u64(e.get(), NFTNL_EXPR_CTR_BYTES, 0);
	add_expr(r, std::move(e));
}

void add_verdict(nftnl_rule* r, int verdict, const char* chain = nullptr)
{
	auto e = make_expr("immediate");
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(verdict));
	if (chain)
		nftnl_expr_set_str(e.get(), NFTNL_EXPR_IMM_CHAIN, chain);
	add_expr(r, std::move(e));
}

void match_nfproto(nftnl_rule* r, uint8_t nfproto)
{
	add_meta(r, NFT_META_NFPROTO, NFT_REG_1);
	add_cmp(r, NFT_REG_1, NFT_CMP_EQ, &nfproto, 1);
}

void match_l4proto(nftnl_rule* r, uint8_t proto)
{
	add_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	add_cmp(r, NFT_REG_1, NFT_CMP_EQ, &proto, 1);
}

void set_comment(nftnl_rule* r, const char* comment)
{
	UdataPtr ud(nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN));
	if (!ud)
		throw std::bad_alloc();
	nftnl_udata_put_strz(ud.get(), NFTNL_UDATA_RULE_COMMENT, comment);
	nftnl_rule_set_data(r, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud.get()), nftnl_udata_buf_len(ud.get()));
}

RulePtr new_rule(const std::string& chain)
{
	auto r = make_rule();
	nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kTable);
	nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain.c_str());
	return r;
}

} // namespace

uint32_t set_id_of(const std::string& name)
{
	static const char* const order[] = {kSetBan4,   kSetBan6,   kSetBanNet4,  kSetBanNet6, kSetAllow4,
	                                    kSetAllow6, kSetMedia4, kSetMedia6,   kSetSipPorts, kSetKnown4,
	                                    kSetKnown6, kSetMeter4, kSetMeter6,   kSetProven4, kSetProven6};
	for (uint32_t i = 0; i < std::size(order); ++i)
		if (name == order[i])
			return i + 1;
	return 0;
}

namespace {

// Rule `[match] l4proto P th <port> @sipports <queue>`.
RulePtr queue_rule(const std::string& chain, uint8_t proto, uint32_t port_offset, const TableSpec& spec,
                   QueueBackend backend)
{
	auto r = new_rule(chain);
	match_l4proto(r.get(), proto);
	add_payload(r.get(), NFT_PAYLOAD_TRANSPORT_HEADER, port_offset, 2, NFT_REG_1);
	add_lookup(r.get(), NFT_REG_1, kSetSipPorts, set_id_of(kSetSipPorts));
	if (backend == QueueBackend::CompatNfqueueV3) {
		// iptables-nft records the rule's L4 protocol for xt extensions
		// (nft_compat passes it to checkentry as the entry's proto).
		nftnl_rule_set_u32(r.get(), NFTNL_RULE_COMPAT_PROTO, proto);
		nftnl_rule_set_u32(r.get(), NFTNL_RULE_COMPAT_FLAGS, 0);
	}
	add_counter(r.get());
	// The PBX's own traffic is known-good: with the pre-filter it joins the
	// known range (same offset by the same hash, fail-open as configured).
	const uint16_t base = chain == kChainOutput ? known_queue_base(spec) : spec.queue_base;
	add_expr(r.get(), make_queue_expr(backend, base, spec.queue_count));
	set_comment(r.get(), chain == kChainOutput ? kCommentQueuePbx : kCommentQueue);
	return r;
}

// `meta l4proto P th dport @sipports jump sip`: SIP goes through the pre-filter.
RulePtr sip_jump_rule(uint8_t proto)
{
	auto r = new_rule(kChainInput);
	match_l4proto(r.get(), proto);
	add_payload(r.get(), NFT_PAYLOAD_TRANSPORT_HEADER, kThDportOffset, 2, NFT_REG_1);
	add_lookup(r.get(), NFT_REG_1, kSetSipPorts, set_id_of(kSetSipPorts));
	add_verdict(r.get(), NFT_JUMP, kChainSip);
	return r;
}

RulePtr ban_rule(uint8_t nfproto, const char* set)
{
	auto r = new_rule(kChainPrerouting);
	match_nfproto(r.get(), nfproto);
	bool v4 = nfproto == NFPROTO_IPV4;
	add_payload(r.get(), NFT_PAYLOAD_NETWORK_HEADER, v4 ? kIp4SaddrOffset : kIp6SaddrOffset, v4 ? 4 : 16,
	            NFT_REG_1);
	add_lookup(r.get(), NFT_REG_1, set, set_id_of(set));
	return r;
}

} // namespace

std::span<const ChainDef> chain_definitions()
{
	static constexpr ChainDef kChains[] = {
		{kChainPrerouting, NF_INET_PRE_ROUTING, -300},
		{kChainInput, NF_INET_LOCAL_IN, -10},
		{kChainMedia, -1, 0},
		{kChainOutput, NF_INET_LOCAL_OUT, -10},
		{kChainDefrag, -1, 0},
		{kChainSip, -1, 0},
	};
	return kChains;
}

std::vector<SetDef> set_definitions(const TableSpec& spec)
{
	std::vector<SetDef> defs;
	defs.push_back({kSetBan4, kTypeIpAddr, 4, NFT_SET_TIMEOUT, spec.ban_set_size, 0, {}});
	defs.push_back({kSetBan6, kTypeIp6Addr, 16, NFT_SET_TIMEOUT, spec.ban_set_size, 0, {}});
	// Prefix bans are intervals (rbtree backend); a bounded share of the
	// host-ban size is plenty for prefixes.
	defs.push_back({kSetBanNet4, kTypeIpAddr, 4, NFT_SET_INTERVAL | NFT_SET_TIMEOUT, spec.ban_set_size, 0, {}});
	defs.push_back({kSetBanNet6, kTypeIp6Addr, 16, NFT_SET_INTERVAL | NFT_SET_TIMEOUT, spec.ban_set_size, 0, {}});
	defs.push_back({kSetAllow4, kTypeIpAddr, 4, NFT_SET_INTERVAL, 0, 0, {}});
	defs.push_back({kSetAllow6, kTypeIp6Addr, 16, NFT_SET_INTERVAL, 0, 0, {}});
	// Field lengths are the unpadded sizes in bytes, as nft sends them
	// (NFTA_SET_DESC_CONCAT / NFTA_SET_FIELD_LEN).
	// NFT_SET_CONCAT must accompany a multi-field description
	// (nf_tables_newset rejects either without the other with EINVAL).
	defs.push_back({kSetMedia4, kTypeIpAddrService, kKeyLenAddrService4, NFT_SET_TIMEOUT | NFT_SET_CONCAT,
	                spec.media_set_size, 0, {4, 2}});
	defs.push_back({kSetMedia6, kTypeIp6AddrService, kKeyLenAddrService6, NFT_SET_TIMEOUT | NFT_SET_CONCAT,
	                spec.media_set_size, 0, {16, 2}});
	defs.push_back({kSetSipPorts, kTypeInetService, 2, 0, 0, 0, {}});
	if (spec.prefilter.enabled) {
		const PrefilterSpec& pf = spec.prefilter;
		defs.push_back({kSetKnown4, kTypeIpAddr, 4, NFT_SET_TIMEOUT, pf.known_size, 0, {}});
		defs.push_back({kSetKnown6, kTypeIp6Addr, 16, NFT_SET_TIMEOUT, pf.known_size, 0, {}});
		defs.push_back({kSetProven4, kTypeIpAddr, 4, NFT_SET_TIMEOUT, pf.proven_size, 0, {}});
		defs.push_back({kSetProven6, kTypeIp6Addr, 16, NFT_SET_TIMEOUT, pf.proven_size, 0, {}});
		if (pf.limits) {
			// `flags dynamic,timeout` as nft makes a meter: the packet path
			// adds elements (NFT_SET_EVAL), each with the set's timeout.
			const uint64_t ms = static_cast<uint64_t>(pf.meter_timeout.count()) * 1000;
			defs.push_back({kSetMeter4, kTypeIpAddr, 4, NFT_SET_TIMEOUT | NFT_SET_EVAL, pf.meter_size, ms, {}});
			defs.push_back({kSetMeter6, kTypeIp6Addr, 16, NFT_SET_TIMEOUT | NFT_SET_EVAL, pf.meter_size, ms, {}});
		}
	}
	return defs;
}

SetPtr make_set_object(const SetDef& def, uint32_t set_id)
{
	auto s = make_set();
	nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTable);
	nftnl_set_set_str(s.get(), NFTNL_SET_NAME, def.name.c_str());
	nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, def.key_type);
	nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, def.key_len);
	nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, def.flags);
	nftnl_set_set_u32(s.get(), NFTNL_SET_ID, set_id);
	if (def.size)
		nftnl_set_set_u32(s.get(), NFTNL_SET_DESC_SIZE, def.size);
	if (def.timeout_ms)
		nftnl_set_set_u64(s.get(), NFTNL_SET_TIMEOUT, def.timeout_ms);
	if (!def.field_lens.empty()) {
		// libnftnl counts fields up to the first zero, so pass the whole
		// zero-terminated NFT_REG32_COUNT array.
		uint8_t lens[NFT_REG32_COUNT] = {};
		std::copy(def.field_lens.begin(), def.field_lens.end(), lens);
		nftnl_set_set_data(s.get(), NFTNL_SET_DESC_CONCAT, lens, sizeof lens);
	}
	return s;
}

ExprPtr make_queue_expr(QueueBackend backend, uint16_t base, uint16_t count, bool bypass)
{
	if (backend == QueueBackend::Native) {
		// nft `queue num base-(base+count-1) bypass`: with total > 1 the
		// kernel picks base + nfqueue_hash(), a symmetric hash of the
		// addresses (net/netfilter/nft_queue.c), unless CPU_FANOUT is set.
		auto e = make_expr("queue");
		nftnl_expr_set_u16(e.get(), NFTNL_EXPR_QUEUE_NUM, base);
		nftnl_expr_set_u16(e.get(), NFTNL_EXPR_QUEUE_TOTAL, count);
		nftnl_expr_set_u16(e.get(), NFTNL_EXPR_QUEUE_FLAGS, bypass ? NFT_QUEUE_FLAG_BYPASS : 0);
		return e;
	}
	// NFQUEUE --queue-balance base:last --queue-bypass, revision 3 (the
	// first with NFQ_FLAG_CPU_FANOUT; we leave it clear so nfqueue_tg_v3
	// hashes addresses). xt_check_target wants the payload size to equal
	// XT_ALIGN(targetsize) = 8, and libnftnl frees the buffer with the expr.
	auto e = make_expr("target");
	nftnl_expr_set_str(e.get(), NFTNL_EXPR_TG_NAME, "NFQUEUE");
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_TG_REV, 3);
	constexpr size_t kAligned = (sizeof(XtNfqInfoV3) + 7) & ~size_t{7};
	auto* info = static_cast<uint8_t*>(std::calloc(1, kAligned));
	if (!info)
		throw std::bad_alloc();
	XtNfqInfoV3 v{base, count, bypass ? kNfqFlagBypass : uint16_t{0}};
	std::memcpy(info, &v, sizeof v); // host byte order, like the xtables ABI
	nftnl_expr_set(e.get(), NFTNL_EXPR_TG_INFO, info, kAligned);
	return e;
}

ExprPtr make_limit_over_expr(uint32_t rate, uint32_t burst)
{
	// nft_limit_pkts: the bucket holds rate + burst packets' worth of
	// tokens (net/netfilter/nft_limit.c, nft_limit_init); NFT_LIMIT_F_INV
	// makes the expression match when the bucket is empty ("over").
	auto e = make_expr("limit");
	nftnl_expr_set_u64(e.get(), NFTNL_EXPR_LIMIT_RATE, rate);
	nftnl_expr_set_u64(e.get(), NFTNL_EXPR_LIMIT_UNIT, 1); // per second
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LIMIT_BURST, burst);
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
	nftnl_expr_set_u32(e.get(), NFTNL_EXPR_LIMIT_FLAGS, NFT_LIMIT_F_INV);
	return e;
}

void append_meter_exprs(nftnl_rule* rule, bool v4, uint32_t rate, uint32_t burst)
{
	match_nfproto(rule, v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
	add_payload(rule, NFT_PAYLOAD_NETWORK_HEADER, v4 ? kIp4SaddrOffset : kIp6SaddrOffset, v4 ? 4 : 16, NFT_REG_1);
	// `update`: each packet refreshes the entry's timeout, so a steady
	// sender keeps its (empty) bucket instead of getting a full one back
	// when the entry would have expired. A full set makes the expression
	// not match (nft_dynset_eval: NFT_BREAK): the global budget is next.
	auto d = make_expr("dynset");
	nftnl_expr_set_u32(d.get(), NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
	nftnl_expr_set_u32(d.get(), NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
	const char* set = v4 ? kSetMeter4 : kSetMeter6;
	nftnl_expr_set_str(d.get(), NFTNL_EXPR_DYNSET_SET_NAME, set);
	nftnl_expr_set_u32(d.get(), NFTNL_EXPR_DYNSET_SET_ID, set_id_of(set));
	// libnftnl takes the nested expression's pointer and owns it from here.
	nftnl_expr_set(d.get(), NFTNL_EXPR_DYNSET_EXPR, make_limit_over_expr(rate, burst).release(), 0);
	add_expr(rule, std::move(d));
}

namespace {

// The rules of chain `sip` (rules/README.md, "Pre-filter"): known sources to
// the known queue range (bypass as configured), the rest through the
// per-source meter; proven receivers then to the unknown range, everyone else
// through the global budget first; the unknown range has no bypass.
void append_sip_rules(std::vector<RulePtr>& rules, const TableSpec& spec, QueueBackend backend)
{
	const PrefilterSpec& pf = spec.prefilter;
	auto queue_to = [&](RulePtr& r, uint16_t base, bool bypass, const char* comment) {
		add_counter(r.get());
		add_expr(r.get(), make_queue_expr(backend, base, spec.queue_count, bypass));
		set_comment(r.get(), comment);
	};
	// Allowlisted and trusted networks (allow4/6), then the agent's known
	// sources: straight to the queue.
	for (const char* set : {kSetAllow4, kSetAllow6, kSetKnown4, kSetKnown6}) {
		bool v4 = set == kSetAllow4 || set == kSetKnown4;
		auto r = ban_rule(v4 ? NFPROTO_IPV4 : NFPROTO_IPV6, set);
		nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, kChainSip);
		queue_to(r, known_queue_base(spec), pf.known_bypass, kCommentQueueKnown);
		rules.push_back(std::move(r));
	}
	if (pf.limits) {
		for (bool v4 : {true, false}) {
			auto r = new_rule(kChainSip);
			append_meter_exprs(r.get(), v4, pf.source_rate, pf.source_burst);
			add_counter(r.get());
			add_verdict(r.get(), NF_DROP);
			set_comment(r.get(), kCommentSourceDrop);
			rules.push_back(std::move(r));
		}
	}
	// Proven receivers (past their meter): never the global budget, and the
	// unknown range, so never failed open either.
	for (const char* set : {kSetProven4, kSetProven6}) {
		auto r = ban_rule(set == kSetProven4 ? NFPROTO_IPV4 : NFPROTO_IPV6, set);
		nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, kChainSip);
		queue_to(r, spec.queue_base, false, kCommentQueueProven);
		rules.push_back(std::move(r));
	}
	if (pf.limits) {
		auto r = new_rule(kChainSip);
		add_expr(r.get(), make_limit_over_expr(pf.unknown_rate, pf.unknown_burst));
		add_counter(r.get());
		add_verdict(r.get(), NF_DROP);
		set_comment(r.get(), kCommentBudgetDrop);
		rules.push_back(std::move(r));
	}
	// Unknown sources never fail open: with no agent, dropped; their range
	// is bound without NFQA_CFG_F_FAIL_OPEN, so a full queue drops too.
	auto r = new_rule(kChainSip);
	queue_to(r, spec.queue_base, false, kCommentQueueUnknown);
	rules.push_back(std::move(r));
}

} // namespace

void append_defrag_exprs(nftnl_rule* rule, DefragBackend backend, uint16_t port)
{
	if (backend == DefragBackend::Tproxy) {
		// nft requires an L4 protocol match before tproxy; the kernel needs
		// NFTA_TPROXY_FAMILY and a port or address register. Family
		// NFPROTO_UNSPEC (an inet table without an address) enables both
		// nf_defrag_ipv4 and nf_defrag_ipv6 (net/netfilter/nft_tproxy.c,
		// nft_tproxy_init).
		match_l4proto(rule, IPPROTO_UDP);
		auto imm = make_expr("immediate");
		nftnl_expr_set_u32(imm.get(), NFTNL_EXPR_IMM_DREG, NFT_REG_1);
		uint16_t be = htons(port);
		nftnl_expr_set_data(imm.get(), NFTNL_EXPR_IMM_DATA, &be, sizeof be);
		add_expr(rule, std::move(imm));
		auto tp = make_expr("tproxy");
		nftnl_expr_set_u32(tp.get(), NFTNL_EXPR_TPROXY_FAMILY, NFPROTO_UNSPEC);
		nftnl_expr_set_u32(tp.get(), NFTNL_EXPR_TPROXY_REG_PORT, NFT_REG_1);
		add_expr(rule, std::move(tp));
	} else if (backend == DefragBackend::Conntrack) {
		// Any ct load takes a conntrack reference for the table's family
		// (nft_ct_get_init: nf_ct_netns_get), which enables both defrags.
		auto ct = make_expr("ct");
		nftnl_expr_set_u32(ct.get(), NFTNL_EXPR_CT_KEY, NFT_CT_STATE);
		nftnl_expr_set_u32(ct.get(), NFTNL_EXPR_CT_DREG, NFT_REG_1);
		add_expr(rule, std::move(ct));
		const uint32_t state_new = NF_CT_STATE_BIT(IP_CT_NEW); // host byte order, like nft
		add_cmp(rule, NFT_REG_1, NFT_CMP_EQ, &state_new, sizeof state_new);
	}
}

std::vector<RulePtr> make_chain_rules(const std::string& chain, const TableSpec& spec, QueueBackend backend)
{
	std::vector<RulePtr> rules;
	if (chain == kChainPrerouting) {
		// Allowed sources leave our prerouting chain before any ban check
		// (accept ends this base chain only; other tables still run).
		for (auto [proto, set] : {std::pair<uint8_t, const char*>{NFPROTO_IPV4, kSetAllow4},
		                          std::pair<uint8_t, const char*>{NFPROTO_IPV6, kSetAllow6}}) {
			auto r = ban_rule(proto, set);
			add_verdict(r.get(), NF_ACCEPT);
			rules.push_back(std::move(r));
		}
		for (auto [proto, set] : {std::pair<uint8_t, const char*>{NFPROTO_IPV4, kSetBan4},
		                          std::pair<uint8_t, const char*>{NFPROTO_IPV4, kSetBanNet4},
		                          std::pair<uint8_t, const char*>{NFPROTO_IPV6, kSetBan6},
		                          std::pair<uint8_t, const char*>{NFPROTO_IPV6, kSetBanNet6}}) {
			auto r = ban_rule(proto, set);
			add_counter(r.get());
			add_verdict(r.get(), NF_DROP);
			set_comment(r.get(), kCommentBanDrop);
			rules.push_back(std::move(r));
		}
	} else if (chain == kChainInput) {
		if (spec.prefilter.enabled) {
			rules.push_back(sip_jump_rule(IPPROTO_UDP));
			rules.push_back(sip_jump_rule(IPPROTO_TCP));
		} else {
			rules.push_back(queue_rule(chain, IPPROTO_UDP, kThDportOffset, spec, backend));
			rules.push_back(queue_rule(chain, IPPROTO_TCP, kThDportOffset, spec, backend));
		}
		if (spec.pin_media) {
			auto r = new_rule(chain);
			match_l4proto(r.get(), IPPROTO_UDP);
			add_payload(r.get(), NFT_PAYLOAD_TRANSPORT_HEADER, kThDportOffset, 2, NFT_REG_1);
			// Ports compare as big-endian bytes (nft_cmp uses memcmp).
			uint16_t lo = htons(spec.rtp_min), hi = htons(spec.rtp_max);
			add_cmp(r.get(), NFT_REG_1, NFT_CMP_GTE, &lo, 2);
			add_cmp(r.get(), NFT_REG_1, NFT_CMP_LTE, &hi, 2);
			add_verdict(r.get(), NFT_JUMP, kChainMedia);
			rules.push_back(std::move(r));
		}
	} else if (chain == kChainMedia) {
		for (bool v4 : {true, false}) {
			auto r = new_rule(chain);
			match_nfproto(r.get(), v4 ? NFPROTO_IPV4 : NFPROTO_IPV6);
			// Concatenation: each field starts at a 32-bit register
			// (NFT_REG32_00 + padded length of earlier fields).
			add_payload(r.get(), NFT_PAYLOAD_NETWORK_HEADER, v4 ? kIp4SaddrOffset : kIp6SaddrOffset, v4 ? 4 : 16,
			            NFT_REG32_00);
			add_payload(r.get(), NFT_PAYLOAD_TRANSPORT_HEADER, kThDportOffset, 2, NFT_REG32_00 + (v4 ? 1 : 4));
			add_lookup(r.get(), NFT_REG32_00, v4 ? kSetMedia4 : kSetMedia6, set_id_of(v4 ? kSetMedia4 : kSetMedia6));
			add_verdict(r.get(), NF_ACCEPT);
			rules.push_back(std::move(r));
		}
		auto r = new_rule(chain);
		add_counter(r.get());
		add_verdict(r.get(), NF_DROP);
		set_comment(r.get(), kCommentMediaDrop);
		rules.push_back(std::move(r));
	} else if (chain == kChainOutput) {
		// The PBX's responses leave from the SIP ports; same hash, same queue.
		rules.push_back(queue_rule(chain, IPPROTO_UDP, kThSportOffset, spec, backend));
		rules.push_back(queue_rule(chain, IPPROTO_TCP, kThSportOffset, spec, backend));
	} else if (chain == kChainSip && spec.prefilter.enabled) {
		append_sip_rules(rules, spec, backend);
	} else if (chain == kChainDefrag && spec.defrag != DefragBackend::None) {
		auto r = new_rule(chain);
		append_defrag_exprs(r.get(), spec.defrag, spec.sip_ports.empty() ? 5060 : spec.sip_ports.front());
		set_comment(r.get(), kCommentDefrag);
		rules.push_back(std::move(r));
	}
	return rules;
}

void append_table_add(Batch& batch)
{
	auto t = make_table();
	nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kTable);
	nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
	char* buf = batch.reserve(kSmallMessage);
	// NLM_F_CREATE without NLM_F_EXCL: succeeds whether or not it exists.
	nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWTABLE, NFPROTO_INET, NLM_F_CREATE, 0);
	nftnl_table_nlmsg_build_payload(nlh, t.get());
	batch.commit_message(std::string("add table inet ") + kTable);
}

void append_table_delete(Batch& batch)
{
	auto t = make_table();
	nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kTable);
	nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
	char* buf = batch.reserve(kSmallMessage);
	nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_DELTABLE, NFPROTO_INET, 0, 0);
	nftnl_table_nlmsg_build_payload(nlh, t.get());
	batch.commit_message(std::string("delete table inet ") + kTable);
}

namespace {

void append_chain(Batch& batch, const ChainDef& def)
{
	auto c = make_chain();
	nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, kTable);
	nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, def.name);
	nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (def.hook >= 0) {
		nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, static_cast<uint32_t>(def.hook));
		nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, def.priority);
		nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, "filter");
		nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	char* buf = batch.reserve(kSmallMessage);
	nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE, 0);
	nftnl_chain_nlmsg_build_payload(nlh, c.get());
	batch.commit_message(object("add chain", def.name));
}

void append_interval_elems(nftnl_set* s, const net::Cidr& cidr)
{
	IntervalKeys k = interval_keys(cidr);
	auto start = make_set_elem();
	nftnl_set_elem_set(start.get(), NFTNL_SET_ELEM_KEY, k.start.data(), static_cast<uint32_t>(k.len));
	nftnl_set_elem_add(s, start.release());
	if (k.has_end) {
		auto end = make_set_elem();
		nftnl_set_elem_set(end.get(), NFTNL_SET_ELEM_KEY, k.end.data(), static_cast<uint32_t>(k.len));
		nftnl_set_elem_set_u32(end.get(), NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
		nftnl_set_elem_add(s, end.release());
	}
}

} // namespace

void append_table_contents(Batch& batch, const TableSpec& spec, QueueBackend backend)
{
	append_table_add(batch);
	for (const SetDef& def : set_definitions(spec)) {
		auto s = make_set_object(def, set_id_of(def.name));
		char* buf = batch.reserve(kSmallMessage);
		nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE, 0);
		nftnl_set_nlmsg_build_payload(nlh, s.get());
		batch.commit_message(object("add set", def.name));
	}

	// Set contents fixed by the spec: SIP ports and the allowlist.
	{
		auto s = make_set();
		nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTable);
		nftnl_set_set_str(s.get(), NFTNL_SET_NAME, kSetSipPorts);
		nftnl_set_set_u32(s.get(), NFTNL_SET_ID, set_id_of(kSetSipPorts));
		for (uint16_t port : spec.sip_ports) {
			auto e = make_set_elem();
			uint16_t be = htons(port);
			nftnl_set_elem_set(e.get(), NFTNL_SET_ELEM_KEY, &be, 2);
			nftnl_set_elem_add(s.get(), e.release());
		}
		char* buf = batch.reserve(kSmallMessage + spec.sip_ports.size() * 64);
		nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET, NLM_F_CREATE, 0);
		nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
		batch.commit_message(object("add SIP ports to set", kSetSipPorts));
	}
	std::vector<net::Cidr> allow = normalize_prefixes(spec.allow);
	for (bool v4 : {true, false}) {
		const char* name = v4 ? kSetAllow4 : kSetAllow6;
		constexpr size_t kPerMessage = 256;
		std::vector<net::Cidr> fam;
		for (const auto& c : allow)
			if (c.base.is_v4() == v4)
				fam.push_back(c);
		for (size_t i = 0; i < fam.size(); i += kPerMessage) {
			auto s = make_set();
			nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTable);
			nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name);
			nftnl_set_set_u32(s.get(), NFTNL_SET_ID, set_id_of(name));
			size_t n = std::min(kPerMessage, fam.size() - i);
			for (size_t j = 0; j < n; ++j)
				append_interval_elems(s.get(), fam[i + j]);
			char* buf = batch.reserve(kSmallMessage + n * 128);
			nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSETELEM, NFPROTO_INET, NLM_F_CREATE, 0);
			nftnl_set_elems_nlmsg_build_payload(nlh, s.get());
			batch.commit_message(object("add allowlist prefixes to set", name) + " (first " +
			                     fam[i].to_string() + ")");
		}
	}

	for (const auto& def : chain_definitions())
		append_chain(batch, def);
	for (const auto& def : chain_definitions()) {
		for (auto& r : make_chain_rules(def.name, spec, backend)) {
			char* buf = batch.reserve(kSmallMessage);
			nlmsghdr* nlh =
				nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_APPEND | NLM_F_CREATE, 0);
			nftnl_rule_nlmsg_build_payload(nlh, r.get());
			std::string what = object("add rule to chain", def.name);
			if (def.name == std::string(kChainInput) || def.name == std::string(kChainOutput) ||
			    def.name == std::string(kChainSip))
				what += std::string(" (queue via ") + std::string(to_string(backend)) + ")";
			else if (def.name == std::string(kChainDefrag))
				what += std::string(" (reassembly via ") + std::string(to_string(spec.defrag)) + ")";
			batch.commit_message(std::move(what));
		}
	}
}

IntervalKeys interval_keys(const net::Cidr& cidr)
{
	net::IpAddress last = cidr.base.masked(cidr.prefix_len);
	for (size_t bit = cidr.prefix_len; bit < last.size() * 8; ++bit)
		last.bytes[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
	return range_keys(cidr.base.masked(cidr.prefix_len), last);
}

IntervalKeys range_keys(const net::IpAddress& first, const net::IpAddress& last)
{
	IntervalKeys k;
	k.len = first.size();
	std::copy(first.bytes.begin(), first.bytes.begin() + static_cast<long>(k.len), k.start.begin());
	// end = last + 1 (exclusive); carry out of the top means the interval
	// runs to the end of the address space: no end element.
	std::array<uint8_t, 16> end{};
	std::copy(last.bytes.begin(), last.bytes.begin() + static_cast<long>(k.len), end.begin());
	bool carry = true;
	for (size_t i = k.len; i-- > 0 && carry;) {
		end[i] = static_cast<uint8_t>(end[i] + 1);
		carry = end[i] == 0;
	}
	k.has_end = !carry;
	k.end = end;
	return k;
}

std::vector<net::Cidr> normalize_prefixes(std::vector<net::Cidr> cidrs)
{
	std::sort(cidrs.begin(), cidrs.end(), [](const net::Cidr& a, const net::Cidr& b) {
		if (a.base.family != b.base.family)
			return a.base.family < b.base.family;
		if (a.base.bytes != b.base.bytes)
			return a.base.bytes < b.base.bytes;
		return a.prefix_len < b.prefix_len;
	});
	std::vector<net::Cidr> out;
	for (const auto& c : cidrs) {
		if (!c.base.valid())
			continue;
		// Sorted by start, a shorter prefix comes before what it contains.
		if (!out.empty() && out.back().base.family == c.base.family && out.back().contains(c.base))
			continue;
		out.push_back(c);
	}
	return out;
}

} // namespace sipguard::rules
