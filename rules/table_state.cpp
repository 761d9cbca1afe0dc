// SPDX-License-Identifier: GPL-2.0-or-later
// What the kernel holds of `table inet sipguard`: its chains, sets, rules (as comparable fingerprints) and set elements.
#include "rules/table_state.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include "rules/elements_internal.h"
#include "rules/nft_dump.h"
#include "rules/table.h"

namespace sipguard::rules {

namespace {

void append_hex(std::string& s, const void* data, uint32_t len)
{
	static constexpr char kHex[] = "0123456789abcdef";
	const auto* p = static_cast<const uint8_t*>(data);
	for (uint32_t i = 0; i < len; ++i) {
		s.push_back(kHex[p[i] >> 4]);
		s.push_back(kHex[p[i] & 0xf]);
	}
}

// Appended piecewise: `" " + std::to_string(v)` makes GCC 12 -O3 report a
// false -Wrestrict (GCC bug 105651), fatal under -Werror.
void number(std::string& s, const char* prefix, uint32_t v)
{
	s += prefix;
	s += std::to_string(v);
}

// Unset integer attributes read as 0, which is also what the kernel means
// by their absence (a lookup without NFTA_LOOKUP_FLAGS has flags 0; the
// kernel lists them back explicitly).
void u32s(std::string& s, const nftnl_expr* e, std::initializer_list<uint16_t> attrs)
{
	for (uint16_t a : attrs)
		number(s, " ", nftnl_expr_get_u32(e, a));
}

// Register attributes in the kernel's own numbering: 32-bit units, 0 the
// verdict. The kernel accepts NFT_REG_1..4 (16 bytes each) and NFT_REG32_00..15
// and lists back whichever name is shorter (net/netfilter/nf_tables_api.c
// nft_parse_register / nft_dump_register): our NFT_REG32_00 reads back as
// NFT_REG_1.
void regs(std::string& s, const nftnl_expr* e, std::initializer_list<uint16_t> attrs)
{
	constexpr uint32_t kPer128 = NFT_REG_SIZE / NFT_REG32_SIZE; // 4
	for (uint16_t a : attrs) {
		uint32_t r = nftnl_expr_get_u32(e, a);
		uint32_t unit = r <= NFT_REG_4 ? r * kPer128 : r - NFT_REG32_00 + kPer128;
		number(s, " r", unit);
	}
}

void u16s(std::string& s, const nftnl_expr* e, std::initializer_list<uint16_t> attrs)
{
	for (uint16_t a : attrs)
		number(s, " ", nftnl_expr_get_u16(e, a));
}

void bytes(std::string& s, const nftnl_expr* e, uint16_t attr)
{
	s += " ";
	if (!nftnl_expr_is_set(e, attr)) {
		s += "-";
		return;
	}
	uint32_t len = 0;
	const void* p = nftnl_expr_get(e, attr, &len);
	append_hex(s, p, len);
}

void str(std::string& s, const nftnl_expr* e, uint16_t attr)
{
	const char* v = nftnl_expr_is_set(e, attr) ? nftnl_expr_get_str(e, attr) : nullptr;
	s += " ";
	s += v ? v : "-";
}

void expr_fingerprint(std::string& s, const nftnl_expr* e)
{
	const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	std::string n = name ? name : "?";
	s += n;
	if (n == "meta") {
		u32s(s, e, {NFTNL_EXPR_META_KEY});
		regs(s, e, {NFTNL_EXPR_META_DREG, NFTNL_EXPR_META_SREG});
	}
	else if (n == "cmp") {
		regs(s, e, {NFTNL_EXPR_CMP_SREG});
		u32s(s, e, {NFTNL_EXPR_CMP_OP});
		bytes(s, e, NFTNL_EXPR_CMP_DATA);
	} else if (n == "payload") {
		u32s(s, e,
		     {NFTNL_EXPR_PAYLOAD_BASE, NFTNL_EXPR_PAYLOAD_OFFSET, NFTNL_EXPR_PAYLOAD_LEN,
		      NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, NFTNL_EXPR_PAYLOAD_FLAGS});
		regs(s, e, {NFTNL_EXPR_PAYLOAD_DREG, NFTNL_EXPR_PAYLOAD_SREG});
	} else if (n == "lookup") {
		regs(s, e, {NFTNL_EXPR_LOOKUP_SREG, NFTNL_EXPR_LOOKUP_DREG});
		u32s(s, e, {NFTNL_EXPR_LOOKUP_FLAGS});
		str(s, e, NFTNL_EXPR_LOOKUP_SET);
	} else if (n == "immediate") {
		regs(s, e, {NFTNL_EXPR_IMM_DREG});
		u32s(s, e, {NFTNL_EXPR_IMM_VERDICT});
		str(s, e, NFTNL_EXPR_IMM_CHAIN);
		bytes(s, e, NFTNL_EXPR_IMM_DATA);
	} else if (n == "queue") {
		u16s(s, e, {NFTNL_EXPR_QUEUE_NUM, NFTNL_EXPR_QUEUE_TOTAL, NFTNL_EXPR_QUEUE_FLAGS});
		regs(s, e, {NFTNL_EXPR_QUEUE_SREG_QNUM});
	} else if (n == "target") {
		str(s, e, NFTNL_EXPR_TG_NAME);
		u32s(s, e, {NFTNL_EXPR_TG_REV});
		bytes(s, e, NFTNL_EXPR_TG_INFO);
	} else if (n == "match") {
		str(s, e, NFTNL_EXPR_MT_NAME);
		u32s(s, e, {NFTNL_EXPR_MT_REV});
		bytes(s, e, NFTNL_EXPR_MT_INFO);
	} else if (n == "tproxy") {
		u32s(s, e, {NFTNL_EXPR_TPROXY_FAMILY});
		regs(s, e, {NFTNL_EXPR_TPROXY_REG_ADDR, NFTNL_EXPR_TPROXY_REG_PORT});
	} else if (n == "ct") {
		u32s(s, e, {NFTNL_EXPR_CT_KEY, NFTNL_EXPR_CT_DIR});
		regs(s, e, {NFTNL_EXPR_CT_DREG, NFTNL_EXPR_CT_SREG});
	} else if (n == "limit") {
		s += " ";
		s += std::to_string(nftnl_expr_get_u64(e, NFTNL_EXPR_LIMIT_RATE));
		s += "/";
		s += std::to_string(nftnl_expr_get_u64(e, NFTNL_EXPR_LIMIT_UNIT));
		u32s(s, e, {NFTNL_EXPR_LIMIT_BURST, NFTNL_EXPR_LIMIT_TYPE, NFTNL_EXPR_LIMIT_FLAGS});
	} else if (n == "dynset") {
		regs(s, e, {NFTNL_EXPR_DYNSET_SREG_KEY, NFTNL_EXPR_DYNSET_SREG_DATA});
		u32s(s, e, {NFTNL_EXPR_DYNSET_OP});
		str(s, e, NFTNL_EXPR_DYNSET_SET_NAME);
		// The nested expression (the meter's limit) decides the effect too.
		if (nftnl_expr_is_set(e, NFTNL_EXPR_DYNSET_EXPR)) {
			s += " [";
			uint32_t len = 0;
			expr_fingerprint(s, static_cast<const nftnl_expr*>(nftnl_expr_get(e, NFTNL_EXPR_DYNSET_EXPR, &len)));
			s += "]";
		}
	} else if (n != "counter") {
		s += " ?"; // an expression we never write: only its name matters
	}
	s += "; ";
}

struct ExprIterDeleter {
	void operator()(nftnl_expr_iter* it) const noexcept { nftnl_expr_iter_destroy(it); }
};

Status read_table(Netlink& nl, TableState& out)
{
	auto t = make_table();
	nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kTable);
	bool found = false;
	uint32_t flags = 0;
	Status st = detail::dump_objects(
		nl, t.get(), 0,
		[&](nftnl_table* r) {
			found = true;
			flags = nftnl_table_get_u32(r, NFTNL_TABLE_FLAGS);
			return true;
		},
		std::string("get table inet ") + kTable);
	if (!st.ok()) {
		if (st.error == ENOENT)
			return Status::success();
		return st;
	}
	out.exists = found;
	out.flags = flags;
	return Status::success();
}

Status read_chains(Netlink& nl, TableState& out)
{
	auto filter = make_chain();
	nftnl_chain_set_str(filter.get(), NFTNL_CHAIN_TABLE, kTable);
	return detail::dump_ours(
		nl, filter.get(),
		[&](nftnl_chain* c) {
			ChainState cs;
			const char* name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
			cs.name = name ? name : "";
			cs.base = nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM);
			if (cs.base) {
				cs.hook = nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM);
				cs.priority = nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO);
				const char* type = nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE);
				cs.type = type ? type : "";
				cs.policy = nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY);
			}
			out.chains.push_back(std::move(cs));
			return true;
		},
		std::string("list chains of table inet ") + kTable);
}

Status read_sets(Netlink& nl, TableState& out)
{
	auto filter = make_set();
	nftnl_set_set_str(filter.get(), NFTNL_SET_TABLE, kTable);
	return detail::dump_ours(
		nl, filter.get(),
		[&](nftnl_set* s) {
			SetState ss;
			const char* name = nftnl_set_get_str(s, NFTNL_SET_NAME);
			ss.name = name ? name : "";
			ss.key_type = nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE);
			ss.key_len = nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN);
			ss.flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
			out.sets.push_back(std::move(ss));
			return true;
		},
		std::string("list sets of table inet ") + kTable);
}

Status read_rules(Netlink& nl, TableState& out)
{
	auto filter = make_rule();
	nftnl_rule_set_u32(filter.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
	nftnl_rule_set_str(filter.get(), NFTNL_RULE_TABLE, kTable);
	return detail::dump_ours(
		nl, filter.get(),
		[&](nftnl_rule* r) {
			RuleState rs;
			const char* chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
			rs.chain = chain ? chain : "";
			rs.handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
			rs.fingerprint = rule_fingerprint(r);
			out.rules.push_back(std::move(rs));
			return true;
		},
		std::string("list rules of table inet ") + kTable);
}

// A set deleted by someone else reads as empty; reconcile reports the set.
Status list_if_present(Netlink& nl, const char* set, std::vector<RawElement>& raw)
{
	Status st = list_set_raw(nl, set, raw);
	if (!st.ok() && st.error == ENOENT) {
		raw.clear();
		return Status::success();
	}
	return st;
}

} // namespace

std::string rule_fingerprint(const nftnl_rule* rule)
{
	std::string s;
	std::unique_ptr<nftnl_expr_iter, ExprIterDeleter> it(nftnl_expr_iter_create(rule));
	if (!it)
		throw std::bad_alloc();
	while (nftnl_expr* e = nftnl_expr_iter_next(it.get()))
		expr_fingerprint(s, e);
	return s;
}

// Declared in table.h: the same GET as read_table_state's first step.
Status table_exists(Netlink& nl, bool& exists)
{
	TableState state;
	Status st = read_table(nl, state);
	exists = state.exists;
	return st;
}

Status read_table_state(Netlink& nl, TableState& out)
{
	out = TableState{};
	if (Status st = read_table(nl, out); !st.ok() || !out.exists)
		return st;
	for (auto* step : {read_chains, read_sets, read_rules})
		if (Status st = step(nl, out); !st.ok())
			return st;

	std::vector<RawElement> raw;
	if (Status st = list_if_present(nl, kSetSipPorts, raw); !st.ok())
		return st;
	for (const RawElement& e : raw)
		if (e.key_len == 2)
			out.sip_ports.push_back(static_cast<uint16_t>((e.key[0] << 8) | e.key[1]));

	for (BanSet set : {BanSet::Net4, BanSet::Net6}) {
		if (Status st = list_if_present(nl, set == BanSet::Net4 ? kSetAllow4 : kSetAllow6, raw); !st.ok())
			return st;
		auto pieces = pieces_from_raw(set, std::move(raw));
		out.allow.insert(out.allow.end(), pieces.begin(), pieces.end());
		raw.clear();
	}
	for (BanSet set : {BanSet::Host4, BanSet::Host6, BanSet::Net4, BanSet::Net6}) {
		if (Status st = list_if_present(nl, set_name(set), raw); !st.ok())
			return st;
		auto pieces = pieces_from_raw(set, std::move(raw));
		out.bans.insert(out.bans.end(), pieces.begin(), pieces.end());
		raw.clear();
	}
	return Status::success();
}

} // namespace sipguard::rules
