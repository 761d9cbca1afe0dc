// SPDX-License-Identifier: GPL-2.0-or-later
// Unit: netlink encoding of our sets, queue expressions, rules and elements, without a kernel.
#include <doctest/doctest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>

#include "rules/elements.h"
#include "rules/elements_internal.h"
#include "rules/encode.h"
#include "rules/netlink.h"
#include "rules/status.h"
#include "rules/table.h"

using namespace sipguard;
using namespace sipguard::rules;
using namespace std::chrono_literals;

namespace {

// Serialises a rule to a NEWRULE message and parses it back, as the kernel
// and `nft` would see it.
RulePtr roundtrip(nftnl_rule* r)
{
	std::vector<char> buf(16384);
	nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_CREATE, 1);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	auto back = make_rule();
	REQUIRE(nftnl_rule_nlmsg_parse(nlh, back.get()) == 0);
	return back;
}

std::vector<nftnl_expr*> exprs(nftnl_rule* r)
{
	std::vector<nftnl_expr*> out;
	nftnl_expr_foreach(
		r,
		[](nftnl_expr* e, void* data) {
			static_cast<std::vector<nftnl_expr*>*>(data)->push_back(e);
			return 0;
		},
		&out);
	return out;
}

std::string name_of(nftnl_expr* e) { return nftnl_expr_get_str(e, NFTNL_EXPR_NAME); }

SetPtr set_roundtrip(nftnl_set* s)
{
	std::vector<char> buf(16384);
	nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf.data(), NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE, 1);
	nftnl_set_nlmsg_build_payload(nlh, s);
	auto back = make_set();
	REQUIRE(nftnl_set_nlmsg_parse(nlh, back.get()) == 0);
	return back;
}

const SetDef& def(const std::vector<SetDef>& defs, const char* name)
{
	for (const auto& d : defs)
		if (d.name == name)
			return d;
	FAIL("no set ", name);
	return defs[0];
}

struct Msg {
	uint16_t type;
	uint16_t flags;
	const nlmsghdr* nlh;
};

std::vector<Msg> messages(const Batch& b)
{
	std::vector<Msg> out;
	size_t len = b.byte_size();
	for (auto* nlh = reinterpret_cast<const nlmsghdr*>(b.data()); NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len))
		out.push_back({static_cast<uint16_t>(nlh->nlmsg_type & 0xff), nlh->nlmsg_flags, nlh});
	return out;
}

struct Elem {
	std::vector<uint8_t> key;
	uint64_t timeout = 0;
	uint64_t expiration = 0;
	uint32_t flags = 0;
};

std::vector<Elem> elements_of(const nlmsghdr* nlh, std::string* set_name = nullptr)
{
	std::vector<RawElement> raw;
	REQUIRE(parse_elements(nlh, raw, set_name));
	std::vector<Elem> out;
	for (const auto& r : raw) {
		Elem x;
		x.key.assign(r.key.begin(), r.key.begin() + r.key_len);
		x.timeout = static_cast<uint64_t>(r.timeout.count());
		x.expiration = static_cast<uint64_t>(r.expires_in.count());
		x.flags = r.interval_end ? NFT_SET_ELEM_INTERVAL_END : 0;
		out.push_back(x);
	}
	return out;
}

net::Cidr cidr(const char* t) { return *net::Cidr::parse(t); }

} // namespace

TEST_CASE("native queue expression: queue num base..base+n-1 bypass, address hash (no CPU fanout)")
{
	auto r = make_rule();
	nftnl_rule_add_expr(r.get(), make_queue_expr(QueueBackend::Native, 3, 4).release());
	auto back = roundtrip(r.get());
	auto e = exprs(back.get());
	REQUIRE(e.size() == 1);
	CHECK(name_of(e[0]) == "queue");
	CHECK(nftnl_expr_get_u16(e[0], NFTNL_EXPR_QUEUE_NUM) == 3);
	CHECK(nftnl_expr_get_u16(e[0], NFTNL_EXPR_QUEUE_TOTAL) == 4);
	CHECK(nftnl_expr_get_u16(e[0], NFTNL_EXPR_QUEUE_FLAGS) == NFT_QUEUE_FLAG_BYPASS);
	CHECK((nftnl_expr_get_u16(e[0], NFTNL_EXPR_QUEUE_FLAGS) & NFT_QUEUE_FLAG_CPU_FANOUT) == 0);
}

TEST_CASE("compat queue: xt target NFQUEUE revision 3 with struct xt_NFQ_info_v3, bypass, no CPU fanout")
{
	auto r = make_rule();
	nftnl_rule_add_expr(r.get(), make_queue_expr(QueueBackend::CompatNfqueueV3, 3, 4).release());
	auto back = roundtrip(r.get());
	auto e = exprs(back.get());
	REQUIRE(e.size() == 1);
	CHECK(name_of(e[0]) == "target");
	CHECK(std::string(nftnl_expr_get_str(e[0], NFTNL_EXPR_TG_NAME)) == "NFQUEUE");
	CHECK(nftnl_expr_get_u32(e[0], NFTNL_EXPR_TG_REV) == 3);
	uint32_t len = 0;
	auto* info = static_cast<const uint8_t*>(nftnl_expr_get(e[0], NFTNL_EXPR_TG_INFO, &len));
	// XT_ALIGN(sizeof(struct xt_NFQ_info_v3)) = 8: queuenum, queues_total,
	// flags in host order, then padding.
	REQUIRE(len == 8);
	XtNfqInfoV3 v;
	std::memcpy(&v, info, sizeof v);
	CHECK(v.queuenum == 3);
	CHECK(v.queues_total == 4);
	CHECK(v.flags == kNfqFlagBypass);
	CHECK((v.flags & kNfqFlagCpuFanout) == 0);
	CHECK(info[6] == 0);
	CHECK(info[7] == 0);
}

TEST_CASE("queue rules: udp/tcp SIP ports in input (dport) and output (sport); compat rules carry the L4 protocol")
{
	TableSpec spec;
	spec.queue_base = 0;
	spec.queue_count = 2;
	for (auto backend : {QueueBackend::Native, QueueBackend::CompatNfqueueV3}) {
		for (const char* chain : {kChainInput, kChainOutput}) {
			auto rules = make_chain_rules(chain, spec, backend);
			REQUIRE(rules.size() == 2); // pin_media off: no jump to media
			for (size_t i = 0; i < 2; ++i) {
				auto back = roundtrip(rules[i].get());
				auto e = exprs(back.get());
				REQUIRE(e.size() == 6); // meta, cmp, payload, lookup, counter, queue/target
				CHECK(name_of(e[0]) == "meta");
				CHECK(nftnl_expr_get_u32(e[0], NFTNL_EXPR_META_KEY) == NFT_META_L4PROTO);
				uint32_t len;
				uint8_t proto = *static_cast<const uint8_t*>(nftnl_expr_get(e[1], NFTNL_EXPR_CMP_DATA, &len));
				CHECK(proto == (i == 0 ? IPPROTO_UDP : IPPROTO_TCP));
				CHECK(name_of(e[2]) == "payload");
				CHECK(nftnl_expr_get_u32(e[2], NFTNL_EXPR_PAYLOAD_BASE) == NFT_PAYLOAD_TRANSPORT_HEADER);
				CHECK(nftnl_expr_get_u32(e[2], NFTNL_EXPR_PAYLOAD_OFFSET) ==
				      (std::string(chain) == kChainInput ? 2u : 0u));
				CHECK(name_of(e[3]) == "lookup");
				CHECK(std::string(nftnl_expr_get_str(e[3], NFTNL_EXPR_LOOKUP_SET)) == kSetSipPorts);
				CHECK(name_of(e[4]) == "counter");
				CHECK(name_of(e[5]) == (backend == QueueBackend::Native ? "queue" : "target"));
				if (backend == QueueBackend::CompatNfqueueV3) {
					CHECK(nftnl_rule_get_u32(back.get(), NFTNL_RULE_COMPAT_PROTO) == proto);
					CHECK(nftnl_rule_get_u32(back.get(), NFTNL_RULE_COMPAT_FLAGS) == 0);
				} else {
					CHECK_FALSE(nftnl_rule_is_set(back.get(), NFTNL_RULE_COMPAT_PROTO));
				}
			}
		}
	}
}

TEST_CASE("defrag chain: a regular chain holding one tproxy or ct rule, or none")
{
	auto defs = chain_definitions();
	auto def = std::find_if(defs.begin(), defs.end(), [](const ChainDef& d) { return d.name == std::string(kChainDefrag); });
	REQUIRE(def != defs.end());
	CHECK(def->hook == -1); // nothing jumps to it: its rule never runs

	TableSpec spec;
	spec.sip_ports = {5080, 5060};
	CHECK(make_chain_rules(kChainDefrag, spec, QueueBackend::Native).empty()); // DefragBackend::None

	spec.defrag = DefragBackend::Tproxy;
	auto rules = make_chain_rules(kChainDefrag, spec, QueueBackend::Native);
	REQUIRE(rules.size() == 1);
	auto back = roundtrip(rules[0].get());
	auto e = exprs(back.get());
	REQUIRE(e.size() == 4); // meta l4proto udp, immediate port, tproxy
	CHECK(nftnl_expr_get_u32(e[0], NFTNL_EXPR_META_KEY) == NFT_META_L4PROTO);
	uint32_t len = 0;
	CHECK(*static_cast<const uint8_t*>(nftnl_expr_get(e[1], NFTNL_EXPR_CMP_DATA, &len)) == IPPROTO_UDP);
	CHECK(name_of(e[2]) == "immediate");
	const auto* port = static_cast<const uint8_t*>(nftnl_expr_get(e[2], NFTNL_EXPR_IMM_DATA, &len));
	REQUIRE(len == 2);
	CHECK((port[0] << 8 | port[1]) == 5080); // the first SIP port, big-endian
	CHECK(name_of(e[3]) == "tproxy");
	// NFPROTO_UNSPEC: nft_tproxy_init enables both IPv4 and IPv6 defrag.
	REQUIRE(nftnl_expr_is_set(e[3], NFTNL_EXPR_TPROXY_FAMILY));
	CHECK(nftnl_expr_get_u32(e[3], NFTNL_EXPR_TPROXY_FAMILY) == NFPROTO_UNSPEC);
	CHECK(nftnl_expr_get_u32(e[3], NFTNL_EXPR_TPROXY_REG_PORT) == NFT_REG_1);
	CHECK_FALSE(nftnl_expr_is_set(e[3], NFTNL_EXPR_TPROXY_REG_ADDR));

	spec.defrag = DefragBackend::Conntrack;
	rules = make_chain_rules(kChainDefrag, spec, QueueBackend::Native);
	REQUIRE(rules.size() == 1);
	back = roundtrip(rules[0].get());
	e = exprs(back.get());
	REQUIRE(e.size() == 2);
	CHECK(name_of(e[0]) == "ct");
	CHECK(nftnl_expr_get_u32(e[0], NFTNL_EXPR_CT_KEY) == NFT_CT_STATE);
	CHECK(name_of(e[1]) == "cmp");
}

TEST_CASE("set definitions: key types, lengths, flags, sizes and concatenation fields")
{
	CHECK(kTypeIpAddrService == 461); // (TYPE_IPADDR << TYPE_BITS) | TYPE_INET_SERVICE
	CHECK(kTypeIp6AddrService == 525);
	TableSpec spec;
	spec.ban_set_size = 200000;
	spec.media_set_size = 4096;
	auto defs = set_definitions(spec);
	CHECK(defs.size() == 9);
	struct Want {
		const char* name;
		uint32_t type, len, flags, size;
	} wants[] = {
		{kSetBan4, 7, 4, NFT_SET_TIMEOUT, 200000},
		{kSetBan6, 8, 16, NFT_SET_TIMEOUT, 200000},
		{kSetBanNet4, 7, 4, NFT_SET_INTERVAL | NFT_SET_TIMEOUT, 200000},
		{kSetBanNet6, 8, 16, NFT_SET_INTERVAL | NFT_SET_TIMEOUT, 200000},
		{kSetAllow4, 7, 4, NFT_SET_INTERVAL, 0},
		{kSetAllow6, 8, 16, NFT_SET_INTERVAL, 0},
		{kSetMedia4, 461, 8, NFT_SET_TIMEOUT | NFT_SET_CONCAT, 4096},
		{kSetMedia6, 525, 20, NFT_SET_TIMEOUT | NFT_SET_CONCAT, 4096},
		{kSetSipPorts, 13, 2, 0, 0},
	};
	for (const auto& w : wants) {
		CAPTURE(w.name);
		auto s = make_set_object(def(defs, w.name), 7);
		auto back = set_roundtrip(s.get());
		CHECK(std::string(nftnl_set_get_str(back.get(), NFTNL_SET_TABLE)) == "sipguard");
		CHECK(std::string(nftnl_set_get_str(back.get(), NFTNL_SET_NAME)) == w.name);
		CHECK(nftnl_set_get_u32(back.get(), NFTNL_SET_KEY_TYPE) == w.type);
		CHECK(nftnl_set_get_u32(back.get(), NFTNL_SET_KEY_LEN) == w.len);
		CHECK(nftnl_set_get_u32(back.get(), NFTNL_SET_FLAGS) == w.flags);
		CHECK(nftnl_set_get_u32(back.get(), NFTNL_SET_ID) == 7);
		if (w.size)
			CHECK(nftnl_set_get_u32(back.get(), NFTNL_SET_DESC_SIZE) == w.size);
		else
			CHECK_FALSE(nftnl_set_is_set(back.get(), NFTNL_SET_DESC_SIZE));
	}
	// Concatenation field lengths (NFTA_SET_DESC_CONCAT): 4+2 and 16+2 bytes.
	CHECK(def(defs, kSetMedia4).field_lens == std::vector<uint8_t>{4, 2});
	CHECK(def(defs, kSetMedia6).field_lens == std::vector<uint8_t>{16, 2});
	auto s = make_set_object(def(defs, kSetMedia6), 1);
	uint32_t len = 0;
	auto* lens = static_cast<const uint8_t*>(nftnl_set_get_data(s.get(), NFTNL_SET_DESC_CONCAT, &len));
	REQUIRE(lens != nullptr);
	CHECK(lens[0] == 16);
	CHECK(lens[1] == 2);
	CHECK(lens[2] == 0);
}

TEST_CASE("ban elements: host keys with per-element timeouts; prefixes as interval start/end pairs")
{
	Batch batch;
	std::vector<BanElement> bans = {
		{cidr("192.0.2.1"), 600s},
		{cidr("2001:db8::1"), 60s},
		{cidr("198.51.100.0/24"), 3600s},
	};
	append_ban_adds(batch, bans, /*refresh=*/false);
	auto msgs = messages(batch);
	REQUIRE(msgs.size() == 3); // one message per set
	for (const auto& m : msgs) {
		CHECK(m.type == NFT_MSG_NEWSETELEM);
		CHECK((m.flags & NLM_F_CREATE) != 0);
		CHECK((m.flags & NLM_F_EXCL) == 0); // idempotent adds
		std::string set;
		auto elems = elements_of(m.nlh, &set);
		if (set == kSetBan4) {
			REQUIRE(elems.size() == 1);
			CHECK(elems[0].key == std::vector<uint8_t>{192, 0, 2, 1});
			CHECK(elems[0].timeout == 600000);
		} else if (set == kSetBan6) {
			REQUIRE(elems.size() == 1);
			CHECK(elems[0].key.size() == 16);
			CHECK(elems[0].key[0] == 0x20);
			CHECK(elems[0].key[15] == 1);
			CHECK(elems[0].timeout == 60000);
		} else {
			CHECK(set == kSetBanNet4);
			REQUIRE(elems.size() == 2);
			CHECK(elems[0].key == std::vector<uint8_t>{198, 51, 100, 0});
			CHECK(elems[0].timeout == 3600000);
			CHECK(elems[0].flags == 0);
			CHECK(elems[1].key == std::vector<uint8_t>{198, 51, 101, 0});
			CHECK(elems[1].flags == NFT_SET_ELEM_INTERVAL_END);
			CHECK(elems[1].timeout == 0); // the kernel refuses a timeout on an interval end
		}
	}
}

TEST_CASE("refresh is add+delete+add and delete is add+delete, so neither fails on state")
{
	std::vector<BanElement> bans = {{cidr("192.0.2.1"), 10s}};
	Batch refresh;
	append_ban_adds(refresh, bans, /*refresh=*/true);
	auto m = messages(refresh);
	REQUIRE(m.size() == 3);
	CHECK(m[0].type == NFT_MSG_NEWSETELEM);
	CHECK(m[1].type == NFT_MSG_DELSETELEM);
	CHECK(m[2].type == NFT_MSG_NEWSETELEM);
	CHECK(elements_of(m[0].nlh)[0].timeout == 0);
	CHECK(elements_of(m[2].nlh)[0].timeout == 10000);

	Batch del;
	std::vector<net::Cidr> targets = {cidr("192.0.2.1"), cidr("2001:db8::/48")};
	append_ban_deletes(del, targets);
	m = messages(del);
	REQUIRE(m.size() == 4);
	int adds = 0, dels = 0;
	for (const auto& x : m)
		(x.type == NFT_MSG_NEWSETELEM ? adds : dels)++;
	CHECK(adds == 2);
	CHECK(dels == 2);
	CHECK(m[0].type == NFT_MSG_NEWSETELEM); // add precedes delete per set
	CHECK(m[1].type == NFT_MSG_DELSETELEM);
}

TEST_CASE("media elements: addr . port keys padded to 32-bit fields")
{
	Batch batch;
	std::vector<MediaElement> media = {{*net::IpAddress::parse("192.0.2.5"), 10002, 30s},
	                                   {*net::IpAddress::parse("2001:db8::5"), 20000, 30s}};
	append_media_adds(batch, media, false);
	auto m = messages(batch);
	REQUIRE(m.size() == 2);
	for (const auto& x : m) {
		std::string set;
		auto e = elements_of(x.nlh, &set);
		REQUIRE(e.size() == 1);
		CHECK(e[0].timeout == 30000);
		if (set == kSetMedia4) {
			CHECK(e[0].key == std::vector<uint8_t>{192, 0, 2, 5, 0x27, 0x12, 0, 0}); // 10002 = 0x2712
		} else {
			CHECK(set == kSetMedia6);
			REQUIRE(e[0].key.size() == 20);
			CHECK(e[0].key[16] == 0x4e); // 20000 = 0x4e20
			CHECK(e[0].key[17] == 0x20);
			CHECK(e[0].key[18] == 0);
			CHECK(e[0].key[19] == 0);
		}
	}
}

TEST_CASE("large element lists are split into messages under the 64 KiB attribute limit")
{
	std::vector<BanElement> bans;
	for (uint32_t i = 0; i < 1000; ++i)
		bans.push_back({net::Cidr::host(net::IpAddress::v6(std::array<uint8_t, 16>{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,
		                                                                             0, 0, 0, 0, 0, 0, 0,
		                                                                             static_cast<uint8_t>(i >> 8),
		                                                                             static_cast<uint8_t>(i)}
		                                                    .data())),
		                60s});
	Batch batch;
	append_ban_adds(batch, bans, false);
	auto m = messages(batch);
	CHECK(m.size() == 4); // 256 per message
	size_t total = 0;
	for (const auto& x : m) {
		CHECK(x.nlh->nlmsg_len < 65535);
		total += elements_of(x.nlh).size();
	}
	CHECK(total == 1000);
}

TEST_CASE("interval keys: exclusive end, none at the top of the address space")
{
	auto k = interval_keys(cidr("10.0.0.0/8"));
	CHECK(k.len == 4);
	CHECK(k.has_end);
	CHECK(k.end[0] == 11);
	k = interval_keys(cidr("255.0.0.0/8"));
	CHECK_FALSE(k.has_end);
	k = interval_keys(cidr("0.0.0.0/0"));
	CHECK_FALSE(k.has_end);
	k = interval_keys(cidr("2001:db8::/32"));
	CHECK(k.len == 16);
	CHECK(k.has_end);
	CHECK(k.end[3] == 0xb9);
	k = interval_keys(cidr("192.0.2.255/32"));
	CHECK(k.end[2] == 3);
	CHECK(k.end[3] == 0);

	auto n = normalize_prefixes({cidr("10.1.0.0/16"), cidr("10.0.0.0/8"), cidr("10.0.0.0/8"), cidr("192.0.2.0/24"),
	                             cidr("2001:db8::/32"), cidr("2001:db8:1::/48")});
	REQUIRE(n.size() == 3);
	CHECK(n[0] == cidr("10.0.0.0/8"));
	CHECK(n[1] == cidr("192.0.2.0/24"));
	CHECK(n[2] == cidr("2001:db8::/32"));
}

TEST_CASE("batch framing: begin/end around the messages, consecutive sequence numbers, ACK requested")
{
	Batch batch;
	append_table_add(batch);
	append_table_delete(batch);
	auto framed = batch.frame(100);
	std::vector<const nlmsghdr*> all;
	size_t len = framed.bytes.size();
	for (auto* nlh = reinterpret_cast<const nlmsghdr*>(framed.bytes.data()); NLMSG_OK(nlh, len);
	     nlh = NLMSG_NEXT(nlh, len))
		all.push_back(nlh);
	REQUIRE(all.size() == 4);
	CHECK(all[0]->nlmsg_type == NFNL_MSG_BATCH_BEGIN);
	CHECK(all[3]->nlmsg_type == NFNL_MSG_BATCH_END);
	CHECK(all[1]->nlmsg_seq == 100);
	CHECK(all[2]->nlmsg_seq == 101);
	CHECK((all[1]->nlmsg_flags & NLM_F_ACK) != 0);
	CHECK((all[2]->nlmsg_flags & NLM_F_ACK) != 0);
	CHECK((all[1]->nlmsg_type & 0xff) == NFT_MSG_NEWTABLE);
	CHECK((all[2]->nlmsg_type & 0xff) == NFT_MSG_DELTABLE);
	CHECK(batch.what(0) == "add table inet sipguard");
	CHECK(batch.what(1) == "delete table inet sipguard");
}

TEST_CASE("the whole table is one batch: table add/delete/add, sets, elements, chains, rules")
{
	TableSpec spec;
	spec.pin_media = true;
	spec.allow = {cidr("192.0.2.0/24")};
	Batch batch;
	append_table_add(batch);
	append_table_delete(batch);
	append_table_contents(batch, spec, QueueBackend::CompatNfqueueV3);
	auto m = messages(batch);
	int tables = 0, sets = 0, chains = 0, rules = 0, elems = 0;
	for (const auto& x : m) {
		switch (x.type) {
		case NFT_MSG_NEWTABLE:
		case NFT_MSG_DELTABLE:
			++tables;
			break;
		case NFT_MSG_NEWSET:
			++sets;
			break;
		case NFT_MSG_NEWCHAIN:
			++chains;
			break;
		case NFT_MSG_NEWRULE:
			++rules;
			break;
		case NFT_MSG_NEWSETELEM:
			++elems;
			break;
		}
	}
	CHECK(tables == 3);
	CHECK(sets == 9);
	CHECK(chains == 6); // prerouting, input, media, output, defrag, sip (empty: pre-filter off)
	CHECK(rules == 6 + 3 + 3 + 2); // prerouting, input (+jump), media, output
	CHECK(elems == 2);             // SIP ports, allow4
	CHECK(m[0].type == NFT_MSG_NEWTABLE);
	CHECK(m[1].type == NFT_MSG_DELTABLE);
}

TEST_CASE("errors name the object and carry the kernel's errno text")
{
	CHECK(describe_error("add set inet sipguard ban4", EEXIST) == "add set inet sipguard ban4: File exists");
	CHECK(describe_error("delete element 192.0.2.1 from set inet sipguard ban4", ENOENT) ==
	      "delete element 192.0.2.1 from set inet sipguard ban4: No such file or directory");
	CHECK(describe_error("add element 192.0.2.1 to set inet sipguard ban4", ENFILE).find("the set is full") !=
	      std::string::npos);
	Batch batch;
	std::vector<BanElement> one = {{cidr("198.51.100.0/24"), 5s}};
	append_ban_adds(batch, one, false);
	CHECK(batch.what(0) == "add element 198.51.100.0/24 to set inet sipguard bannet4");
}

TEST_CASE("table spec validation")
{
	TableSpec spec;
	CHECK(validate(spec) == "");
	spec.sip_ports.clear();
	CHECK(validate(spec) == "no SIP ports configured");
	spec = {};
	spec.queue_count = 0;
	CHECK(validate(spec) == "queue count must be at least 1");
	spec = {};
	spec.queue_base = 65535;
	spec.queue_count = 2;
	CHECK(validate(spec).find("exceed") != std::string::npos);
	spec = {};
	spec.pin_media = true;
	spec.rtp_min = 20000;
	spec.rtp_max = 10000;
	CHECK(validate(spec).find("RTP port range") != std::string::npos);
	spec = {};
	spec.pin_media = true;
	spec.sip_ports = {15060};
	CHECK(validate(spec) == "SIP port 15060 lies inside the RTP range");
	CHECK(std::string(to_string(QueueBackend::CompatNfqueueV3)) == "xt NFQUEUE v3 (nft_compat)");
}

TEST_CASE("pre-filter: input jumps to chain sip; known sources queue with bypass, unknown ones pass the meter, "
          "proven receivers then queue without bypass, the others pass the budget first")
{
	TableSpec spec;
	spec.queue_count = 2;
	spec.prefilter.enabled = true;
	spec.prefilter.source_rate = 30;
	spec.prefilter.source_burst = 60;
	spec.prefilter.unknown_rate = 5000;
	spec.prefilter.unknown_burst = 700;
	spec.prefilter.known_size = 1000;
	spec.prefilter.proven_size = 3000;
	spec.prefilter.meter_size = 2000;
	auto defs = set_definitions(spec);
	auto set = [&](const char* name) {
		auto it = std::find_if(defs.begin(), defs.end(), [&](const SetDef& d) { return d.name == name; });
		REQUIRE(it != defs.end());
		return *it;
	};
	CHECK(set(kSetKnown4).flags == NFT_SET_TIMEOUT);
	CHECK(set(kSetKnown4).size == 1000);
	CHECK(set(kSetKnown6).key_len == 16);
	CHECK(set(kSetProven4).flags == NFT_SET_TIMEOUT);
	CHECK(set(kSetProven4).size == 3000);
	CHECK(set(kSetProven6).key_len == 16);
	CHECK(set(kSetMeter4).flags == (NFT_SET_TIMEOUT | NFT_SET_EVAL));
	CHECK(set(kSetMeter4).size == 2000);
	CHECK(set(kSetMeter6).timeout_ms == 10000);

	for (auto backend : {QueueBackend::Native, QueueBackend::CompatNfqueueV3}) {
		auto input = make_chain_rules(kChainInput, spec, backend);
		REQUIRE(input.size() == 2);
		for (auto& r : input) {
			auto back = roundtrip(r.get());
			auto e = exprs(back.get());
			REQUIRE(e.size() == 5);
			CHECK(name_of(e[4]) == "immediate");
			CHECK(static_cast<int>(nftnl_expr_get_u32(e[4], NFTNL_EXPR_IMM_VERDICT)) == NFT_JUMP);
			CHECK(std::string(nftnl_expr_get_str(e[4], NFTNL_EXPR_IMM_CHAIN)) == kChainSip);
		}
		auto sip = make_chain_rules(kChainSip, spec, backend);
		REQUIRE(sip.size() == 10); // allow4/6, known4/6, meter4/6, proven4/6, budget, unknown
		auto bypass_of = [&](const nftnl_expr* q) {
			if (backend == QueueBackend::Native)
				return (nftnl_expr_get_u16(q, NFTNL_EXPR_QUEUE_FLAGS) & NFT_QUEUE_FLAG_BYPASS) != 0;
			uint32_t len = 0;
			auto* info = static_cast<const XtNfqInfoV3*>(nftnl_expr_get(q, NFTNL_EXPR_TG_INFO, &len));
			return (info->flags & kNfqFlagBypass) != 0;
		};
		// (first queue, queue count) of a queue expression.
		auto range_of = [&](const nftnl_expr* q) {
			if (backend == QueueBackend::Native)
				return std::pair<int, int>(nftnl_expr_get_u16(q, NFTNL_EXPR_QUEUE_NUM),
				                           nftnl_expr_get_u16(q, NFTNL_EXPR_QUEUE_TOTAL));
			uint32_t len = 0;
			auto* info = static_cast<const XtNfqInfoV3*>(nftnl_expr_get(q, NFTNL_EXPR_TG_INFO, &len));
			return std::pair<int, int>(info->queuenum, info->queues_total);
		};
		for (size_t i = 0; i < 4; ++i) {
			auto back = roundtrip(sip[i].get());
			auto e = exprs(back.get());
			REQUIRE(e.size() == 6); // nfproto, cmp, saddr, lookup, counter, queue
			CHECK(std::string(nftnl_expr_get_str(e[3], NFTNL_EXPR_LOOKUP_SET)) ==
			      (i == 0 ? kSetAllow4 : i == 1 ? kSetAllow6 : i == 2 ? kSetKnown4 : kSetKnown6));
			CHECK(name_of(e[4]) == "counter");
			CHECK(bypass_of(e[5]));
			// Known sources: the second range, 2..3 (fail-open per config).
			CHECK(range_of(e[5]) == std::pair(2, 2));
		}
		for (size_t i = 4; i < 6; ++i) {
			auto back = roundtrip(sip[i].get());
			auto e = exprs(back.get());
			REQUIRE(e.size() == 6); // nfproto, cmp, saddr, dynset{limit}, counter, drop
			CHECK(name_of(e[3]) == "dynset");
			CHECK(nftnl_expr_get_u32(e[3], NFTNL_EXPR_DYNSET_OP) == NFT_DYNSET_OP_UPDATE);
			CHECK(std::string(nftnl_expr_get_str(e[3], NFTNL_EXPR_DYNSET_SET_NAME)) == (i == 4 ? kSetMeter4 : kSetMeter6));
			uint32_t len = 0;
			auto* lim = static_cast<nftnl_expr*>(const_cast<void*>(nftnl_expr_get(e[3], NFTNL_EXPR_DYNSET_EXPR, &len)));
			REQUIRE(lim != nullptr);
			CHECK(name_of(lim) == "limit");
			CHECK(nftnl_expr_get_u64(lim, NFTNL_EXPR_LIMIT_RATE) == 30);
			CHECK(nftnl_expr_get_u32(lim, NFTNL_EXPR_LIMIT_BURST) == 60);
			CHECK(nftnl_expr_get_u32(lim, NFTNL_EXPR_LIMIT_FLAGS) == NFT_LIMIT_F_INV);
			CHECK(name_of(e[4]) == "counter");
			CHECK(static_cast<int>(nftnl_expr_get_u32(e[5], NFTNL_EXPR_IMM_VERDICT)) == NF_DROP);
		}
		for (size_t i = 6; i < 8; ++i) {
			auto back = roundtrip(sip[i].get());
			auto e = exprs(back.get());
			REQUIRE(e.size() == 6); // nfproto, cmp, saddr, lookup, counter, queue
			CHECK(std::string(nftnl_expr_get_str(e[3], NFTNL_EXPR_LOOKUP_SET)) == (i == 6 ? kSetProven4 : kSetProven6));
			// Proven receivers: the unknown range, never fail-open.
			CHECK_FALSE(bypass_of(e[5]));
			CHECK(range_of(e[5]) == std::pair(0, 2));
		}
		{
			auto back = roundtrip(sip[8].get());
			auto e = exprs(back.get());
			REQUIRE(e.size() == 3); // limit, counter, drop
			CHECK(nftnl_expr_get_u64(e[0], NFTNL_EXPR_LIMIT_RATE) == 5000);
			CHECK(nftnl_expr_get_u32(e[0], NFTNL_EXPR_LIMIT_BURST) == 700);
			CHECK(nftnl_expr_get_u32(e[0], NFTNL_EXPR_LIMIT_TYPE) == NFT_LIMIT_PKTS);
		}
		auto back_last = roundtrip(sip[9].get());
		auto last = exprs(back_last.get());
		REQUIRE(last.size() == 2); // counter, queue
		CHECK_FALSE(bypass_of(last[1]));
		// Unknown sources: the first range, 0..1 (never fail-open).
		CHECK(range_of(last[1]) == std::pair(0, 2));
		// The PBX's own traffic joins the known range.
		for (auto& r : make_chain_rules(kChainOutput, spec, backend)) {
			auto back = roundtrip(r.get());
			auto e = exprs(back.get());
			CHECK(range_of(e.back()) == std::pair(2, 2));
		}

		// Without fail-open the known sources' rules lose bypass too.
		TableSpec closed = spec;
		closed.prefilter.known_bypass = false;
		auto back_known = roundtrip(make_chain_rules(kChainSip, closed, backend)[2].get());
		auto k = exprs(back_known.get());
		CHECK_FALSE(bypass_of(k[5]));
		// Without the kernel's limit: only the split.
		TableSpec split = spec;
		split.prefilter.limits = false;
		CHECK(make_chain_rules(kChainSip, split, backend).size() == 7);
		CHECK(set_definitions(split).size() == 13);
	}
	CHECK(validate(spec).empty());
	CHECK(known_queue_base(spec) == 2);
	CHECK(total_queues(spec) == 4);
	// Two ranges must fit below 65536: 65532..65535 does, 65533.. does not.
	TableSpec high = spec;
	high.queue_base = 65532;
	CHECK(validate(high).empty());
	high.queue_base = 65533;
	CHECK(validate(high) == "queues 65533..65536 exceed queue number 65535");
	high.prefilter.enabled = false;
	CHECK(validate(high).empty());
	CHECK(known_queue_base(high) == 65533);
	TableSpec bad = spec;
	bad.prefilter.source_rate = 0;
	CHECK(validate(bad) == "pre-filter rates must be at least 1 packet/s");
}
