// SPDX-License-Identifier: GPL-2.0-or-later
// Unit: comparing a table state with the spec names exactly what is missing, extra or different; notifications about other tables are ignored.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "rules/encode.h"
#include "rules/monitor.h"
#include "rules/reconcile.h"

using namespace sipguard;
using namespace sipguard::rules;
using namespace std::chrono_literals;

namespace {

net::IpAddress ip(const char* text) { return *net::IpAddress::parse(text); }

TableSpec spec_for_test()
{
	TableSpec spec;
	spec.sip_ports = {5060, 5080};
	spec.queue_count = 2;
	spec.allow = {*net::Cidr::parse("10.200.9.0/24")};
	return spec;
}

// The state a freshly installed table would read back as.
TableState perfect(const TableSpec& spec, QueueBackend backend, const std::vector<BanPiece>& bans)
{
	TableState s;
	s.exists = true;
	for (const ChainDef& def : chain_definitions()) {
		ChainState c;
		c.name = def.name;
		if (def.hook >= 0) {
			c.base = true;
			c.hook = static_cast<uint32_t>(def.hook);
			c.priority = def.priority;
			c.type = "filter";
			c.policy = NF_ACCEPT;
		}
		s.chains.push_back(c);
		uint64_t handle = 1;
		for (const RulePtr& r : make_chain_rules(def.name, spec, backend))
			s.rules.push_back({def.name, handle++, rule_fingerprint(r.get())});
	}
	for (const SetDef& def : set_definitions(spec))
		s.sets.push_back({def.name, def.key_type, def.key_len, def.flags});
	s.sip_ports = {5080, 5060};
	s.allow.push_back({BanSet::Net4, ip("10.200.9.0"), ip("10.200.9.255"), true, 0ms, 0ms});
	for (const BanPiece& p : bans)
		s.bans.push_back({p.set, p.first, p.last, true, p.timeout, p.timeout});
	return s;
}

const std::vector<BanPiece> kBans = {
	{BanSet::Host4, ip("192.0.2.1"), ip("192.0.2.1"), 60000ms},
	{BanSet::Net4, ip("172.16.0.0"), ip("172.16.4.255"), 60000ms},
	{BanSet::Net4, ip("172.16.5.0"), ip("172.16.5.255"), 120000ms},
};

bool has(const ReconcileReport& r, What what, Discrepancy::Kind kind, const std::string& name)
{
	for (const auto& d : r.structure)
		if (d.what == what && d.kind == kind && d.name == name)
			return true;
	return false;
}

} // namespace

TEST_CASE("a table as installed, with the projected elements, is clean")
{
	for (QueueBackend backend : {QueueBackend::Native, QueueBackend::CompatNfqueueV3}) {
		TableSpec spec = spec_for_test();
		ReconcileReport r = compare_state(perfect(spec, backend, kBans), spec, backend, kBans);
		CHECK_MESSAGE(r.clean(), r.summary());
		CHECK(r.summary() == "kernel matches");
	}
}

TEST_CASE("the defrag rule is ours: expected by the spec, its loss or replacement reported, never a queue rule")
{
	TableSpec spec = spec_for_test();
	spec.defrag = DefragBackend::Tproxy;
	TableState s = perfect(spec, QueueBackend::Native, kBans);
	REQUIRE(std::count_if(s.rules.begin(), s.rules.end(), [](const RuleState& r) { return r.chain == kChainDefrag; }) == 1);
	ReconcileReport r = compare_state(s, spec, QueueBackend::Native, kBans);
	CHECK_MESSAGE(r.clean(), r.summary());

	// Deleted by hand: a missing rule of chain defrag, repaired by reinstalling.
	TableState gone = s;
	gone.rules.erase(std::find_if(gone.rules.begin(), gone.rules.end(),
	                              [](const RuleState& x) { return x.chain == kChainDefrag; }));
	r = compare_state(gone, spec, QueueBackend::Native, kBans);
	CHECK(has(r, What::Rule, Discrepancy::Kind::Missing, kChainDefrag));
	CHECK(r.needs_reinstall());
	CHECK_FALSE(r.queue_rule_missing);

	// A ct rule where the spec says tproxy (or a spec without defrag): the
	// listed rule is foreign.
	TableSpec ct = spec;
	ct.defrag = DefragBackend::Conntrack;
	r = compare_state(perfect(ct, QueueBackend::Native, kBans), spec, QueueBackend::Native, kBans);
	CHECK(has(r, What::Rule, Discrepancy::Kind::Missing, kChainDefrag));
	CHECK(has(r, What::Rule, Discrepancy::Kind::Extra, kChainDefrag));
	TableSpec none = spec;
	none.defrag = DefragBackend::None;
	r = compare_state(s, none, QueueBackend::Native, kBans);
	CHECK(has(r, What::Rule, Discrepancy::Kind::Extra, kChainDefrag));
	CHECK(r.count(What::Rule) == 1);

	// Without a defrag mechanism the chain is still ours, just empty.
	r = compare_state(perfect(none, QueueBackend::Native, kBans), none, QueueBackend::Native, kBans);
	CHECK_MESSAGE(r.clean(), r.summary());
}

TEST_CASE("a missing table is reported once, with every ban element missing")
{
	TableSpec spec = spec_for_test();
	TableState s;
	ReconcileReport r = compare_state(s, spec, QueueBackend::Native, kBans);
	CHECK(r.table_missing);
	CHECK(r.queue_rule_missing);
	CHECK(r.needs_reinstall());
	CHECK(r.count(What::Table) == 1);
	CHECK(r.count(What::Chain) == 0);
	CHECK(r.count(What::Element) == 3);
	CHECK(r.elements.add.size() == 3);
}

TEST_CASE("a deleted queue rule is a missing rule of its chain and flags queue_rule_missing")
{
	TableSpec spec = spec_for_test();
	TableState s = perfect(spec, QueueBackend::CompatNfqueueV3, kBans);
	auto it = std::find_if(s.rules.begin(), s.rules.end(), [](const RuleState& r) { return r.chain == "input"; });
	REQUIRE(it != s.rules.end());
	s.rules.erase(it);
	ReconcileReport r = compare_state(s, spec, QueueBackend::CompatNfqueueV3, kBans);
	CHECK(r.queue_rule_missing);
	CHECK(r.count(What::Rule) == 1);
	CHECK(has(r, What::Rule, Discrepancy::Kind::Missing, "input"));
	CHECK(r.elements.empty());
	MESSAGE(r.summary());
}

TEST_CASE("a deleted set with its rule: set missing, rule missing, its elements missing")
{
	TableSpec spec = spec_for_test();
	TableState s = perfect(spec, QueueBackend::Native, kBans);
	std::erase_if(s.sets, [](const SetState& x) { return x.name == "bannet4"; });
	std::erase_if(s.rules, [](const RuleState& x) { return x.fingerprint.find("bannet4") != std::string::npos; });
	std::erase_if(s.bans, [](const ListedPiece& p) { return p.set == BanSet::Net4; });
	ReconcileReport r = compare_state(s, spec, QueueBackend::Native, kBans);
	CHECK(has(r, What::Set, Discrepancy::Kind::Missing, "bannet4"));
	CHECK(has(r, What::Rule, Discrepancy::Kind::Missing, "prerouting"));
	CHECK_FALSE(r.queue_rule_missing);
	CHECK(r.count(What::Set) == 1);
	CHECK(r.count(What::Rule) == 1);
	CHECK(r.count(What::Element) == 2);
}

TEST_CASE("a flushed ban set is only elements; a flushed sipports or allowlist needs the table back")
{
	TableSpec spec = spec_for_test();
	TableState s = perfect(spec, QueueBackend::Native, kBans);
	std::erase_if(s.bans, [](const ListedPiece& p) { return p.set == BanSet::Host4; });
	ReconcileReport r = compare_state(s, spec, QueueBackend::Native, kBans);
	CHECK_FALSE(r.needs_reinstall());
	CHECK(r.count(What::Element) == 1);
	CHECK(r.elements.missing() == 1);

	s = perfect(spec, QueueBackend::Native, kBans);
	s.sip_ports.clear();
	s.allow.clear();
	r = compare_state(s, spec, QueueBackend::Native, kBans);
	CHECK(r.needs_reinstall());
	CHECK(has(r, What::Element, Discrepancy::Kind::Different, "sipports"));
	CHECK(has(r, What::Element, Discrepancy::Kind::Different, "allow4"));
	CHECK(r.count(What::Element) == 2);
}

TEST_CASE("foreign rules, chains and sets in our table, reordered rules, a dormant table, another policy")
{
	TableSpec spec = spec_for_test();
	TableState s = perfect(spec, QueueBackend::Native, kBans);
	s.rules.insert(s.rules.begin(), {"prerouting", 99, "immediate r0 1 - -; "}); // accept before the bans
	s.chains.push_back({"sneaky", false, 0, 0, "", 0});
	s.sets.push_back({"other", 7, 4, 0});
	s.flags = NFT_TABLE_F_DORMANT;
	s.chains[0].policy = NF_DROP;
	ReconcileReport r = compare_state(s, spec, QueueBackend::Native, kBans);
	CHECK(has(r, What::Rule, Discrepancy::Kind::Extra, "prerouting"));
	CHECK(has(r, What::Chain, Discrepancy::Kind::Extra, "sneaky"));
	CHECK(has(r, What::Set, Discrepancy::Kind::Extra, "other"));
	CHECK(has(r, What::Table, Discrepancy::Kind::Different, "sipguard"));
	CHECK(has(r, What::Chain, Discrepancy::Kind::Different, "prerouting"));

	s = perfect(spec, QueueBackend::Native, kBans);
	std::swap(s.rules[0], s.rules[2]); // a ban rule before the allowlist
	r = compare_state(s, spec, QueueBackend::Native, kBans);
	CHECK(has(r, What::Rule, Discrepancy::Kind::Different, "prerouting"));
	CHECK(r.count(What::Rule) == 1);
}

TEST_CASE("a set with other flags is different (an interval set recreated as a hash set)")
{
	TableSpec spec = spec_for_test();
	TableState s = perfect(spec, QueueBackend::Native, kBans);
	for (auto& x : s.sets)
		if (x.name == "bannet6")
			x.flags = NFT_SET_TIMEOUT;
	ReconcileReport r = compare_state(s, spec, QueueBackend::Native, kBans);
	CHECK(has(r, What::Set, Discrepancy::Kind::Different, "bannet6"));
}

namespace {

// A notification as the kernel sends it: header with the sender's port.
struct Notification {
	std::vector<char> buf = std::vector<char>(8192, 0);
	nlmsghdr* nlh = nullptr;
};

Notification set_notification(uint16_t msg, const char* table, const char* set, uint32_t portid)
{
	Notification n;
	auto s = make_set();
	nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s.get(), NFTNL_SET_NAME, set);
	n.nlh = nftnl_nlmsg_build_hdr(n.buf.data(), msg, NFPROTO_INET, 0, 7);
	nftnl_set_nlmsg_build_payload(n.nlh, s.get());
	n.nlh->nlmsg_pid = portid;
	return n;
}

} // namespace

TEST_CASE("monitor: events about our table are reported, other tables and our own ports are not")
{
	Monitor m;
	MonitorEvent e;
	auto del = set_notification(NFT_MSG_DELSET, "sipguard", "ban4", 4242);
	REQUIRE(m.parse(del.nlh, e));
	CHECK(e.op == MonitorEvent::Op::Deleted);
	CHECK(e.what == What::Set);
	CHECK(e.name == "ban4");
	CHECK(e.portid == 4242);
	CHECK(describe(e) == "set ban4 deleted by netlink port 4242");

	auto other = set_notification(NFT_MSG_DELSET, "filter", "ban4", 4242);
	CHECK_FALSE(m.parse(other.nlh, e));

	m.ignore_port(4242);
	CHECK_FALSE(m.parse(del.nlh, e));

	// Element notifications: table, set and the number of elements.
	Notification elems;
	auto s = make_set();
	nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, "sipguard");
	nftnl_set_set_str(s.get(), NFTNL_SET_NAME, "bannet4");
	for (uint32_t k : {0x0a000000u, 0x0b000000u}) {
		auto el = make_set_elem();
		nftnl_set_elem_set(el.get(), NFTNL_SET_ELEM_KEY, &k, 4);
		nftnl_set_elem_add(s.get(), el.release());
	}
	elems.nlh = nftnl_nlmsg_build_hdr(elems.buf.data(), NFT_MSG_DELSETELEM, NFPROTO_INET, 0, 9);
	nftnl_set_elems_nlmsg_build_payload(elems.nlh, s.get());
	elems.nlh->nlmsg_pid = 777;
	REQUIRE(m.parse(elems.nlh, e));
	CHECK(e.what == What::Element);
	CHECK(e.name == "bannet4");
	CHECK(e.count == 2);
	CHECK(describe(e) == "2 elements of set bannet4 deleted by netlink port 777");

	// The generation message names the process; it is not an event itself.
	Notification gen;
	gen.nlh = mnl_nlmsg_put_header(gen.buf.data());
	gen.nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN;
	auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(gen.nlh, sizeof(nfgenmsg)));
	nfg->nfgen_family = AF_UNSPEC;
	mnl_attr_put_u32(gen.nlh, NFTA_GEN_PROC_PID, htonl(1234));
	mnl_attr_put_strz(gen.nlh, NFTA_GEN_PROC_NAME, "nft");
	CHECK_FALSE(m.parse(gen.nlh, e));
	CHECK(e.pid == 1234);
	CHECK(e.process == "nft");
}
