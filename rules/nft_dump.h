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

// The per-kind libnftnl calls a dump needs: NftKind<nftnl_K> wraps the
// nftnl_K_* functions and the NFTNL_KIND_* attributes of kind K.
template <typename T>
struct NftKind;

#define SIPGUARD_NFT_KIND(kind, KIND, Ptr, attr_table) \
	template <> \
	struct NftKind<nftnl_##kind> { \
		static constexpr uint16_t kGet = NFT_MSG_GET##KIND; \
		static constexpr uint16_t kAttrTable = attr_table; \
		static constexpr uint16_t kAttrFamily = NFTNL_##KIND##_FAMILY; \
		static Ptr make() { return make_##kind(); } \
		static void build(nlmsghdr* nlh, nftnl_##kind* o) { nftnl_##kind##_nlmsg_build_payload(nlh, o); } \
		static int parse(const nlmsghdr* nlh, nftnl_##kind* o) { return nftnl_##kind##_nlmsg_parse(nlh, o); } \
		static const char* str(const nftnl_##kind* o, uint16_t a) { return nftnl_##kind##_get_str(o, a); } \
		static uint32_t u32(const nftnl_##kind* o, uint16_t a) { return nftnl_##kind##_get_u32(o, a); } \
	}

SIPGUARD_NFT_KIND(table, TABLE, TablePtr, NFTNL_TABLE_NAME);
SIPGUARD_NFT_KIND(chain, CHAIN, ChainPtr, NFTNL_CHAIN_TABLE);
SIPGUARD_NFT_KIND(set, SET, SetPtr, NFTNL_SET_TABLE);
SIPGUARD_NFT_KIND(rule, RULE, RulePtr, NFTNL_RULE_TABLE);

#undef SIPGUARD_NFT_KIND

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
