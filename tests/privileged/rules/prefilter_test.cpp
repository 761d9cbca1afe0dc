// SPDX-License-Identifier: GPL-2.0-or-later
// Privileged: the pre-filter in a real kernel: known sources skip the meters, an unknown source over its rate or the global budget is dropped in the kernel (counted), a proven receiver skips the budget but not its meter, unknown SIP never fails open while known SIP does at a full queue, one address takes the same offset in both queue ranges, and a repair restores the rules.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nfq/proc_stats.h"
#include "nfq/queue.h"
#include "rules/elements_internal.h"
#include "rules/reconcile.h"
#include "rules/table.h"
#include "tests/privileged/rules/probe_lab.h"

using namespace sipguard;
using namespace std::chrono_literals;
using sipguard::test::EnterNetns;

namespace {

constexpr const char* kKnown4 = "192.0.2.10";
constexpr const char* kUnknown4 = "192.0.2.20";
constexpr const char* kKnown6 = "2001:db8:1::10";
constexpr const char* kUnknown6 = "2001:db8:1::20";
const std::vector<std::string> kSources = {kKnown4, kUnknown4, kKnown6, kUnknown6};
// Below the receiving socket's default buffer (about 200 small datagrams).
constexpr int kBurst = 150;
constexpr const char* kOptions = "OPTIONS sip:pbx SIP/2.0\r\nContent-Length: 0\r\n\r\n";

rules::TableSpec prefilter_spec()
{
	rules::TableSpec spec;
	spec.sip_ports = {test::ProbeLab::kPort};
	spec.prefilter.enabled = true;
	spec.prefilter.source_rate = 10; // a silent source may send `burst` packets at once
	spec.prefilter.source_burst = 10;
	spec.prefilter.unknown_rate = 100000;
	spec.prefilter.unknown_burst = 100000;
	return spec;
}

// No per-source meter in the way (the tests of the queues, of the budget).
rules::TableSpec unmetered_spec()
{
	rules::TableSpec spec = prefilter_spec();
	spec.prefilter.source_rate = 100000;
	spec.prefilter.source_burst = 100000;
	return spec;
}

void install(test::ProbeLab& lab, rules::TableSpec& spec)
{
	bool available = false;
	std::string why;
	rules::Status st = rules::probe_prefilter(lab.nl(), available, why);
	REQUIRE_MESSAGE(st.ok(), st.message);
	REQUIRE_MESSAGE(available, why);
	spec.prefilter.limits = true;
	st = rules::install(lab.nl(), spec, lab.backend());
	REQUIRE_MESSAGE(st.ok(), st.message);
}

void add_known(test::ProbeLab& lab, const std::vector<const char*>& addrs, bool proven = false)
{
	std::vector<rules::ElementOp> ops;
	for (const char* a : addrs) {
		rules::ElementOp op;
		op.kind = rules::ElementOp::Kind::Refresh;
		op.is_known = !proven;
		op.is_proven = proven;
		op.target = net::Cidr::host(*net::IpAddress::parse(a));
		op.timeout = 600s;
		ops.push_back(op);
	}
	rules::Status st = rules::commit_element_ops(lab.nl(), ops);
	REQUIRE_MESSAGE(st.ok(), st.message);
}

nfq::KernelQueueStats proc_queue(const test::ProbeLab& lab, uint16_t num);

// Binds queue `num` in the pbx namespace; the test never reads it.
void bind_stalled(const test::ProbeLab& lab, nfq::Queue& q, uint16_t num, uint32_t max_len, bool fail_open)
{
	EnterNetns in(lab.pbx());
	nfq::QueueConfig qc;
	qc.queue_num = num;
	qc.max_len = max_len;
	qc.fail_open = fail_open;
	util::Status st = q.open(qc);
	REQUIRE_MESSAGE(st, st.message);
}

rules::Counters counters(test::ProbeLab& lab)
{
	rules::Counters c;
	rules::Status st = rules::read_counters(lab.nl(), c);
	REQUIRE_MESSAGE(st.ok(), st.message);
	return c;
}

std::string table_text(const test::ProbeLab& lab) { return lab.pbx().exec_capture("nft list table inet sipguard"); }

} // namespace

TEST_CASE("pre-filter without an agent: known sources pass by bypass over their rate, unknown ones are metered "
          "and never pass")
{
	test::require_root_or_skip();
	test::ProbeLab lab{kSources};
	rules::TableSpec spec = prefilter_spec();
	install(lab, spec);
	add_known(lab, {kKnown4, kKnown6});
	INFO(table_text(lab));

	auto got = lab.send_from_each(kSources, test::ProbeLab::kPort, kOptions, kBurst);
	rules::Counters c = counters(lab);
	// Known: 15x the per-source bucket, every datagram queued (bypass, no
	// agent: passed), none metered.
	CHECK(got[kKnown4] == kBurst);
	CHECK(got[kKnown6] == kBurst);
	CHECK(c.queued_known == 2 * kBurst);
	// Unknown: the meter drops all but the bucket (burst = 10 packets, plus
	// what refills while sending), the rest reaches the queue without
	// bypass and, with no agent, is dropped. Nothing arrives.
	CHECK(got[kUnknown4] == 0);
	CHECK(got[kUnknown6] == 0);
	CHECK(c.source_drop_packets >= 2 * (kBurst - 15));
	CHECK(c.source_drop_packets <= 2 * (kBurst - 10));
	CHECK(c.queued_unknown == 2 * kBurst - c.source_drop_packets);
	CHECK(c.budget_drop_packets == 0);
	// Each unknown source has a meter entry; known ones none.
	std::string meter = lab.pbx().exec_capture("nft list set inet sipguard meter4");
	INFO(meter);
	CHECK(meter.find(kUnknown4) != std::string::npos);
	CHECK(meter.find(kKnown4) == std::string::npos);
}

TEST_CASE("pre-filter: the global budget for unknown sources drops in the kernel, counted")
{
	test::require_root_or_skip();
	test::ProbeLab lab{kSources};
	rules::TableSpec spec = unmetered_spec();
	spec.prefilter.unknown_rate = 10; // one bucket of 10 for every unknown source together
	spec.prefilter.unknown_burst = 10;
	install(lab, spec);
	add_known(lab, {kKnown4});

	auto got = lab.send_from_each({kKnown4, kUnknown4, kUnknown6}, test::ProbeLab::kPort, kOptions, kBurst);
	rules::Counters c = counters(lab);
	CHECK(got[kKnown4] == kBurst);
	CHECK(c.source_drop_packets == 0);
	CHECK(c.budget_drop_packets >= 2 * kBurst - 15);
	CHECK(c.budget_drop_packets <= 2 * kBurst - 10);
	CHECK(c.queued_unknown == 2 * kBurst - c.budget_drop_packets);
	CHECK(got[kUnknown4] + got[kUnknown6] == 0);
}

TEST_CASE("pre-filter: with the global budget exhausted by a flood from many unknown addresses, a proven receiver's "
          "packets still reach the queue, an unproven source's do not, and a proven one over its own rate is dropped")
{
	test::require_root_or_skip();
	constexpr const char* kProven4 = "192.0.2.40";
	constexpr const char* kProven6 = "2001:db8:1::40";
	std::vector<std::string> flood;
	for (int i = 0; i < 24; ++i)
		flood.push_back("192.0.2." + std::to_string(100 + i));
	std::vector<std::string> all = flood;
	all.insert(all.end(), {kProven4, kProven6, kUnknown4});
	test::ProbeLab lab{all};
	rules::TableSpec spec = prefilter_spec();
	spec.prefilter.source_rate = 10;
	spec.prefilter.source_burst = 2 * kBurst; // every source's first kBurst fit its bucket
	spec.prefilter.unknown_rate = 10;         // one bucket of 10 for every unknown source together
	spec.prefilter.unknown_burst = 10;
	install(lab, spec);
	add_known(lab, {kProven4, kProven6}, true);
	INFO(table_text(lab));
	// The unknown range, bound without fail-open and never read: its id
	// sequence counts what reached it.
	nfq::Queue q0;
	bind_stalled(lab, q0, 0, 4096, false);

	// 24 × 40 datagrams from spoofed-looking newcomers: the budget lets about 10 in.
	lab.send_from_each(flood, test::ProbeLab::kPort, kOptions, 40);
	rules::Counters c = counters(lab);
	CHECK(c.budget_drop_packets >= 24 * 40 - 15);
	CHECK(c.source_drop_packets == 0);

	// The budget is empty: the proven receivers' packets all reach the queue,
	// the unproven source's are dropped by the budget.
	lab.send_from_each({kProven4, kProven6, kUnknown4}, test::ProbeLab::kPort, kOptions, kBurst);
	rules::Counters d = counters(lab);
	CHECK(d.queued_proven == 2 * kBurst);
	CHECK(d.budget_drop_packets - c.budget_drop_packets >= kBurst - 5);
	CHECK(d.queued_unknown - c.queued_unknown <= 5);
	nfq::KernelQueueStats stats = proc_queue(lab, 0);
	CHECK(stats.queue_dropped == 0);
	CHECK(stats.id_sequence == d.queued_proven + d.queued_unknown);

	// Over its own rate (kBurst more: its bucket held 2 × kBurst, refilled
	// by 10/s), a proven receiver is metered like anyone.
	lab.send_from_each({kProven4}, test::ProbeLab::kPort, kOptions, 2 * kBurst);
	rules::Counters e = counters(lab);
	CHECK(e.source_drop_packets >= kBurst - 20);
	CHECK(e.queued_proven - d.queued_proven <= kBurst + 20);
	CHECK(e.queued_proven - d.queued_proven >= kBurst);
	CHECK(e.budget_drop_packets == d.budget_drop_packets);
	std::string meter = lab.pbx().exec_capture("nft list set inet sipguard meter4");
	CHECK(meter.find(kProven4) != std::string::npos);
}

namespace {

// Both queue ranges bound and never read, as the daemon configures them with
// the pre-filter on: the unknown range (queue 0) without fail-open, the
// known range (queue 1) with it.
struct StalledPair {
	nfq::Queue unknown, known;
	explicit StalledPair(const test::ProbeLab& lab)
	{
		bind_stalled(lab, unknown, 0, 16, false);
		bind_stalled(lab, known, 1, 16, true);
	}
};

nfq::KernelQueueStats proc_queue(const test::ProbeLab& lab, uint16_t num)
{
	EnterNetns in(lab.pbx());
	auto stats = nfq::read_proc_queue_stats();
	REQUIRE(stats.ok());
	for (const auto& q : *stats)
		if (q.queue_num == num)
			return q;
	FAIL("queue ", num, " is not bound");
	return {};
}

} // namespace

TEST_CASE("pre-filter with a stalled consumer: a full queue lets no unknown packet through, known ones fail open")
{
	test::require_root_or_skip();
	test::ProbeLab lab{kSources};
	rules::TableSpec spec = unmetered_spec();
	install(lab, spec);
	add_known(lab, {kKnown4, kKnown6});
	REQUIRE(rules::known_queue_base(spec) == 1);

	StalledPair stalled(lab);
	auto got = lab.send_from_each({kUnknown4, kUnknown6}, test::ProbeLab::kPort, kOptions, kBurst);
	CHECK(got[kUnknown4] == 0);
	CHECK(got[kUnknown6] == 0);
	rules::Counters c = counters(lab);
	CHECK(c.queued_unknown == 2 * kBurst);
	// Every unknown packet is either held (16) or dropped by the full queue:
	// none failed open (rule counter = ids handed out + queue drops).
	nfq::KernelQueueStats q0 = proc_queue(lab, 0);
	CHECK(q0.id_sequence == 16);
	CHECK(q0.queue_dropped + q0.user_dropped == 2 * kBurst - 16);
	CHECK(c.queued_unknown == q0.id_sequence + q0.queue_dropped + q0.user_dropped);

	// Known sources have a queue of their own with fail-open: once it holds
	// 16, the rest passes uninspected (no id, no drop: the failed-open gap).
	auto known = lab.send_from_each({kKnown4, kKnown6}, test::ProbeLab::kPort, kOptions, kBurst);
	CHECK(known[kKnown4] + known[kKnown6] == 2 * kBurst - 16);
	c = counters(lab);
	CHECK(c.queued_known == 2 * kBurst);
	nfq::KernelQueueStats q1 = proc_queue(lab, 1);
	CHECK(q1.id_sequence == 16);
	CHECK(q1.queue_dropped + q1.user_dropped == 0);
	// The unknown queue is still full and still drops.
	auto again = lab.send_from_each({kUnknown4}, test::ProbeLab::kPort, kOptions, 20);
	CHECK(again[kUnknown4] == 0);

	// The consumer gone (unbound): known sources pass by bypass again,
	// unknown ones still do not.
	stalled.unknown.close();
	stalled.known.close();
	auto after = lab.send_from_each({kKnown4, kUnknown4}, test::ProbeLab::kPort, kOptions, 20);
	CHECK(after[kKnown4] == 20);
	CHECK(after[kUnknown4] == 0);
}

TEST_CASE("pre-filter with 4 queues: an address takes queue i while unknown and queue 4+i once known")
{
	test::require_root_or_skip();
	std::vector<std::string> sources;
	for (int i = 1; i <= 12; ++i)
		sources.push_back("192.0.2." + std::to_string(30 + i));
	for (int i = 1; i <= 12; ++i)
		sources.push_back("2001:db8:1::" + std::to_string(30 + i));
	test::ProbeLab lab{sources};
	rules::TableSpec spec = prefilter_spec();
	spec.queue_count = 4;
	spec.prefilter.source_rate = 100000;
	spec.prefilter.source_burst = 100000;
	install(lab, spec);
	INFO(table_text(lab));

	std::vector<nfq::Queue> queues(8);
	{
		EnterNetns in(lab.pbx());
		for (uint16_t n = 0; n < 8; ++n) {
			nfq::QueueConfig qc;
			qc.queue_num = n;
			qc.max_len = 64;
			qc.fail_open = n >= 4;
			util::Status st = queues[n].open(qc);
			REQUIRE_MESSAGE(st, st.message);
		}
	}
	auto ids = [&] {
		std::vector<uint32_t> v(8, 0);
		EnterNetns in(lab.pbx());
		auto stats = nfq::read_proc_queue_stats();
		REQUIRE(stats.ok());
		for (const auto& q : *stats)
			if (q.queue_num < 8)
				v[q.queue_num] = q.id_sequence;
		return v;
	};
	// The queue one datagram from `from` landed on (bounded wait: 1 s).
	auto queue_of = [&](const std::string& from) {
		const std::vector<uint32_t> before = ids();
		lab.send_one(from, 40000, test::ProbeLab::kPort, kOptions);
		for (int tries = 0; tries < 100; ++tries) {
			const std::vector<uint32_t> now = ids();
			for (int n = 0; n < 8; ++n)
				if (now[n] != before[n])
					return n;
			std::this_thread::sleep_for(10ms);
		}
		return -1;
	};
	std::map<std::string, int> unknown_q;
	for (const auto& a : sources)
		unknown_q[a] = queue_of(a);
	std::vector<const char*> all;
	for (const auto& a : sources)
		all.push_back(a.c_str());
	add_known(lab, all);
	std::set<int> used;
	for (const auto& a : sources) {
		INFO(a);
		const int u = unknown_q[a];
		const int k = queue_of(a);
		CHECK(u >= 0);
		CHECK(u < 4);
		CHECK(k == u + 4);
		used.insert(u);
	}
	// 24 addresses spread over more than one queue (else the test proves nothing).
	CHECK(used.size() > 1);
}

TEST_CASE("pre-filter: reconcile sees a deleted meter rule, a flushed chain sip or a deleted known set; repair "
          "restores them and the known sources' and proven receivers' elements")
{
	test::require_root_or_skip();
	test::ProbeLab lab{kSources};
	rules::TableSpec spec = prefilter_spec();
	install(lab, spec);
	add_known(lab, {kKnown4});
	add_known(lab, {kUnknown6}, true); // a proven receiver
	auto clean = rules::reconcile(lab.nl(), spec, lab.backend(), {}, rules::system_now());
	REQUIRE(clean.ok());
	CHECK_MESSAGE(clean->clean(), clean->summary());

	struct Damage {
		const char* what;
		std::string command;
		rules::What found;
	};
	std::string handle = lab.pbx().exec_capture(
		"nft -a list chain inet sipguard sip | grep sipguard-prefilter-source | head -1 | sed 's/.*# handle //'");
	while (!handle.empty() && (handle.back() == '\n' || handle.back() == ' '))
		handle.pop_back();
	REQUIRE(!handle.empty());
	const std::vector<Damage> damages = {
		{"meter rule deleted", "nft delete rule inet sipguard sip handle " + handle, rules::What::Rule},
		{"chain sip flushed", "nft flush chain inet sipguard sip", rules::What::Rule},
		{"jump to sip deleted", "nft flush chain inet sipguard input", rules::What::Rule},
		{"chain sip flushed and meter set deleted", "nft flush chain inet sipguard sip; nft delete set inet sipguard meter4", rules::What::Set},
	};
	for (const Damage& d : damages) {
		INFO(d.what);
		lab.pbx().must(d.command);
		auto found = rules::reconcile(lab.nl(), spec, lab.backend(), {}, rules::system_now());
		REQUIRE(found.ok());
		CHECK(found->count(d.found) > 0);
		INFO(found->summary());
		// Every damage but the first takes the sip chain's queue rules along.
		CHECK(found->queue_rule_missing == (std::string(d.what) != "meter rule deleted"));
		auto r = rules::repair(lab.nl(), spec, lab.backend(), {});
		REQUIRE_MESSAGE(r.ok(), r.error());
		CHECK(r->reinstalled);
		auto after = rules::reconcile(lab.nl(), spec, lab.backend(), {}, rules::system_now());
		REQUIRE(after.ok());
		CHECK_MESSAGE(after->clean(), after->summary());
		// The known source survived the reinstall; the meter works again.
		std::string known = lab.pbx().exec_capture("nft list set inet sipguard known4");
		CHECK(known.find(kKnown4) != std::string::npos);
		CHECK(lab.pbx().exec_capture("nft list set inet sipguard proven6").find(kUnknown6) != std::string::npos);
		auto got = lab.send_from_each({kKnown4, kUnknown4}, test::ProbeLab::kPort, kOptions, 40);
		CHECK(got[kKnown4] == 40);
		CHECK(got[kUnknown4] == 0);
		rules::Counters c = counters(lab);
		CHECK(c.source_drop_packets >= 15);
	}
}

TEST_CASE("pre-filter switched off and on again (a reload): bans carry over in the same transaction, known sources "
          "only while the sets exist")
{
	test::require_root_or_skip();
	test::ProbeLab lab{kSources};
	rules::TableSpec spec = prefilter_spec();
	install(lab, spec);
	add_known(lab, {kKnown4});
	rules::ElementOp ban;
	ban.kind = rules::ElementOp::Kind::Refresh;
	ban.target = net::Cidr::host(*net::IpAddress::parse(kUnknown6));
	ban.timeout = 600s;
	REQUIRE(rules::commit_element_ops(lab.nl(), std::vector<rules::ElementOp>{ban}).ok());

	rules::TableSpec off = spec;
	off.prefilter.enabled = false;
	rules::Status st = rules::install(lab.nl(), off, lab.backend());
	REQUIRE_MESSAGE(st.ok(), st.message);
	std::string text = table_text(lab);
	CHECK(text.find("known4") == std::string::npos);
	CHECK(text.find("udp dport @sipports counter packets 0 bytes 0 queue num 0 bypass") != std::string::npos);
	CHECK(lab.pbx().exec_capture("nft list set inet sipguard ban6").find(kUnknown6) != std::string::npos);
	auto got = lab.send_from_each({kKnown4, kUnknown4}, test::ProbeLab::kPort, kOptions, 30);
	CHECK(got[kKnown4] == 30); // no agent: bypass for everyone, as before the pre-filter
	CHECK(got[kUnknown4] == 30);

	st = rules::install(lab.nl(), spec, lab.backend());
	REQUIRE_MESSAGE(st.ok(), st.message);
	CHECK(lab.pbx().exec_capture("nft list set inet sipguard ban6").find(kUnknown6) != std::string::npos);
	got = lab.send_from_each({kKnown4}, test::ProbeLab::kPort, kOptions, 30);
	CHECK(got[kKnown4] == 0); // the known set starts empty: the agent refills it
}
