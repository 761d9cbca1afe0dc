// SPDX-License-Identifier: GPL-2.0-or-later
// One dump for the libnftnl object kinds we list (tables, chains, sets,
// rules): build the GET request from a filter object, parse each reply into
// a fresh object and hand it on. Shared by table.cpp and table_state.cpp.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netlink.h>

#include "rules/netlink.h"
#include "rules/nftnl_handles.h"
#include "rules/status.h"
#include "rules/table.h"

namespace sipguard::rules::detail {

// The per-kind libnftnl calls a dump needs.
template <typename T>
struct NftKind;

template <>
struct NftKind<nftnl_table> {
	static constexpr uint16_t kGet = NFT_MSG_GETTABLE;
	static constexpr uint16_t kAttrTable = NFTNL_TABLE_NAME;
	static constexpr uint16_t kAttrFamily = NFTNL_TABLE_FAMILY;
	static TablePtr make() { return make_table(); }
	static void build(nlmsghdr* nlh, nftnl_table* o) { nftnl_table_nlmsg_build_payload(nlh, o); }
	static int parse(const nlmsghdr* nlh, nftnl_table* o) { return nftnl_table_nlmsg_parse(nlh, o); }
	static const char* str(const nftnl_table* o, uint16_t a) { return nftnl_table_get_str(o, a); }
	static uint32_t u32(const nftnl_table* o, uint16_t a) { return nftnl_table_get_u32(o, a); }
};

template <>
struct NftKind<nftnl_chain> {
	static constexpr uint16_t kGet = NFT_MSG_GETCHAIN;
	static constexpr uint16_t kAttrTable = NFTNL_CHAIN_TABLE;
	static constexpr uint16_t kAttrFamily = NFTNL_CHAIN_FAMILY;
	static ChainPtr make() { return make_chain(); }
	static void build(nlmsghdr* nlh, nftnl_chain* o) { nftnl_chain_nlmsg_build_payload(nlh, o); }
	static int parse(const nlmsghdr* nlh, nftnl_chain* o) { return nftnl_chain_nlmsg_parse(nlh, o); }
	static const char* str(const nftnl_chain* o, uint16_t a) { return nftnl_chain_get_str(o, a); }
	static uint32_t u32(const nftnl_chain* o, uint16_t a) { return nftnl_chain_get_u32(o, a); }
};

template <>
struct NftKind<nftnl_set> {
	static constexpr uint16_t kGet = NFT_MSG_GETSET;
	static constexpr uint16_t kAttrTable = NFTNL_SET_TABLE;
	static constexpr uint16_t kAttrFamily = NFTNL_SET_FAMILY;
	static SetPtr make() { return make_set(); }
	static void build(nlmsghdr* nlh, nftnl_set* o) { nftnl_set_nlmsg_build_payload(nlh, o); }
	static int parse(const nlmsghdr* nlh, nftnl_set* o) { return nftnl_set_nlmsg_parse(nlh, o); }
	static const char* str(const nftnl_set* o, uint16_t a) { return nftnl_set_get_str(o, a); }
	static uint32_t u32(const nftnl_set* o, uint16_t a) { return nftnl_set_get_u32(o, a); }
};

template <>
struct NftKind<nftnl_rule> {
	static constexpr uint16_t kGet = NFT_MSG_GETRULE;
	static constexpr uint16_t kAttrTable = NFTNL_RULE_TABLE;
	static constexpr uint16_t kAttrFamily = NFTNL_RULE_FAMILY;
	static RulePtr make() { return make_rule(); }
	static void build(nlmsghdr* nlh, nftnl_rule* o) { nftnl_rule_nlmsg_build_payload(nlh, o); }
	static int parse(const nlmsghdr* nlh, nftnl_rule* o) { return nftnl_rule_nlmsg_parse(nlh, o); }
	static const char* str(const nftnl_rule* o, uint16_t a) { return nftnl_rule_get_str(o, a); }
	static uint32_t u32(const nftnl_rule* o, uint16_t a) { return nftnl_rule_get_u32(o, a); }
};

// Dumps (inet family) the objects `filter` asks for; each reply is parsed
// into a fresh T and given to on_object(T*), whose false return stops the
// dump, as does a reply that does not parse. nlm_flags: NLM_F_DUMP for a
// list, 0 for a single get.
template <typename T, typename OnObject>
Status dump_objects(Netlink& nl, T* filter, uint16_t nlm_flags, OnObject&& on_object, const std::string& what)
{
	using K = NftKind<T>;
	return nl.dump(
		[&](char* buf, uint32_t seq) {
			nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, K::kGet, NFPROTO_INET, nlm_flags, seq);
			K::build(nlh, filter);
			return nlh;
		},
		[&](const nlmsghdr* nlh) {
			auto o = K::make();
			if (K::parse(nlh, o.get()) < 0)
				return false;
			return static_cast<bool>(on_object(o.get()));
		},
		what);
}

// dump_objects over NLM_F_DUMP, keeping only the objects of our table in the
// inet family: older kernels dump every table's, so filter here too.
template <typename T, typename OnObject>
Status dump_ours(Netlink& nl, T* filter, OnObject&& on_object, const std::string& what)
{
	using K = NftKind<T>;
	return dump_objects(
		nl, filter, NLM_F_DUMP,
		[&](T* o) {
			const char* table = K::str(o, K::kAttrTable);
			if (!table || std::strcmp(table, kTable) != 0 || K::u32(o, K::kAttrFamily) != NFPROTO_INET)
				return true;
			return static_cast<bool>(on_object(o));
		},
		what);
}

} // namespace sipguard::rules::detail
