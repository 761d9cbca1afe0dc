// SPDX-License-Identifier: GPL-2.0-or-later
// Counter tables and the scrape order of the daemon's metric families.
#include "agent/daemon/exporter.h"

#include <array>
#include <string>

#include <fmt/core.h>

#include "agent/daemon/runtime.h"
#include "rules/table.h"

namespace sipguard::daemon {

namespace {

using engine::EngineCounters;
using metrics::CounterTable;
using metrics::Type;
using ShardRead = std::function<uint64_t(const Shard&)>;
using Series = metrics::CounterFamily<Shard>::Series;

// A shard's counters: its own, its engine's and its call tracker's.
template <class M>
ShardRead engine(M EngineCounters::*m, size_t i)
{
	return [m, i](const Shard& s) { return (s.engine_counters().*m)[i]; };
}

ShardRead engine(uint64_t EngineCounters::*m)
{
	return [m](const Shard& s) { return s.engine_counters().*m; };
}

ShardRead calls(uint64_t calls::Counters::*m)
{
	return [m](const Shard& s) { return s.tracker().counters().*m; };
}

// The order of sipguard_sip_requests_total's series; sip::Method::Unknown
// (an extension method) is labelled "other".
constexpr sip::Method kMethodOrder[] = {
	sip::Method::Invite,    sip::Method::Ack,     sip::Method::Bye,     sip::Method::Cancel, sip::Method::Register,
	sip::Method::Options,   sip::Method::Notify,  sip::Method::Subscribe, sip::Method::Message, sip::Method::Info,
	sip::Method::Prack,     sip::Method::Update,  sip::Method::Refer,   sip::Method::Publish, sip::Method::Unknown,
};
static_assert(std::size(kMethodOrder) == engine::kMethodSlots, "every sip::Method has a series");

std::vector<Series> by_method()
{
	std::vector<Series> out;
	for (sip::Method m : kMethodOrder)
		out.push_back({{{"method", m == sip::Method::Unknown ? "other" : std::string(sip::to_string(m))}},
		               engine(&EngineCounters::requests_by_method, static_cast<size_t>(m))});
	return out;
}

std::vector<Series> by_status_class()
{
	std::vector<Series> out;
	for (size_t c = 0; c < engine::kStatusClasses; ++c)
		out.push_back({{{"class", fmt::format("{}xx", c + 1)}}, engine(&EngineCounters::responses_by_class, c)});
	return out;
}

std::vector<Series> by_detector()
{
	std::vector<Series> out;
	for (size_t d = 0; d < detect::kDetectorCount; ++d)
		out.push_back({{{"detector", std::string(detect::to_string(static_cast<detect::Detector>(d)))}},
		               engine(&EngineCounters::findings_by_detector, d)});
	return out;
}

ShardRead own(metrics::ShardCounter (Shard::*m)[2], int direction)
{
	return metrics::element(m, static_cast<size_t>(direction));
}

// Packets, verdicts, SIP messages, malformed input, findings, drops and
// evictions, summed over the shards.
const CounterTable<Shard>& traffic_table()
{
	static const CounterTable<Shard> table = {
		{"sipguard_packets_total", Type::Counter, "Packets inspected, by direction (in: to the PBX).",
		 {{{{"direction", "in"}}, own(&Shard::packets, 0)}, {{{"direction", "out"}}, own(&Shard::packets, 1)}}},
		{"sipguard_verdicts_total", Type::Counter, "Verdicts given, by direction and verdict.",
		 {{{{"direction", "in"}, {"verdict", "accept"}}, own(&Shard::accepted, 0)},
		  {{{"direction", "in"}, {"verdict", "drop"}}, own(&Shard::dropped, 0)},
		  {{{"direction", "out"}, {"verdict", "accept"}}, own(&Shard::accepted, 1)},
		  {{{"direction", "out"}, {"verdict", "drop"}}, own(&Shard::dropped, 1)}}},
		{"sipguard_sip_requests_total", Type::Counter, "SIP requests seen, by method.", by_method()},
		{"sipguard_sip_responses_total", Type::Counter, "SIP responses seen, by status class.", by_status_class()},
		{"sipguard_malformed_total", Type::Counter, "Messages on SIP ports that failed to parse, by kind.",
		 {{{{"kind", "malformed"}}, engine(&EngineCounters::malformed)},
		  {{{"kind", "not_sip"}}, engine(&EngineCounters::not_sip)}}},
		{"sipguard_keepalives_total", Type::Counter, "CRLF and STUN keep-alives.",
		 {{{}, engine(&EngineCounters::keepalives)}}},
		{"sipguard_findings_total", Type::Counter, "Detector findings, by detector.", by_detector()},
		{"sipguard_dropped_total", Type::Counter, "Packets the agent dropped, by cause.",
		 {{{{"cause", "banned"}}, engine(&EngineCounters::dropped_banned)},
		  {{{"cause", "global_guard"}}, engine(&EngineCounters::shed)},
		  {{{"cause", "enumeration_held"}}, engine(&EngineCounters::enumeration_held)},
		  {{{"cause", "account_blocked"}}, engine(&EngineCounters::account_blocked)},
		  {{{"cause", "throttled"}}, engine(&EngineCounters::throttled)},
		  {{{"cause", "account_guarded"}}, engine(&EngineCounters::account_guarded)},
		  {{{"cause", "forged"}}, engine(&EngineCounters::forged_dropped)},
		  {{{"cause", "call_policy"}}, engine(&EngineCounters::call_hook_drops)},
		  {{{"cause", "fraud"}}, engine(&EngineCounters::fraud_dropped)},
		  {{{"cause", "tcp_held"}}, engine(&EngineCounters::tcp_held)},
		  {{{"cause", "tcp_out_of_order"}}, engine(&EngineCounters::tcp_out_of_order)},
		  {{{"cause", "tcp_after_drop"}}, engine(&EngineCounters::tcp_after_drop)},
		  {{{"cause", "tcp_conflict"}}, engine(&EngineCounters::tcp_conflicts)},
		  {{{"cause", "tcp_stale"}}, engine(&EngineCounters::tcp_stale)},
		  {{{"cause", "tcp_window_full"}}, engine(&EngineCounters::tcp_window_full)},
		  {{{"cause", "tcp_midstream"}}, engine(&EngineCounters::tcp_midstream_dropped)},
		  {{{"cause", "tcp_flows_over_cap"}}, engine(&EngineCounters::tcp_flows_over_cap)},
		  {{{"cause", "tcp_urgent"}}, engine(&EngineCounters::tcp_urgent)},
		  {{{"cause", "udp_redropped"}}, engine(&EngineCounters::udp_redropped)},
		  {{{"cause", "fragment"}}, engine(&EngineCounters::first_fragments_dropped)}}},
		{"sipguard_evictions_total", Type::Counter, "Entries evicted from full bounded tables, by table.",
		 {{{{"table", "sources"}}, engine(&EngineCounters::source_evictions)},
		  {{{"table", "prefixes"}}, engine(&EngineCounters::prefix_evictions)},
		  {{{"table", "transactions"}}, engine(&EngineCounters::transaction_evictions)},
		  {{{"table", "tcp_flows"}}, engine(&EngineCounters::flow_evictions)},
		  {{{"table", "accounts"}}, engine(&EngineCounters::account_evictions)},
		  {{{"table", "account_pairs"}}, engine(&EngineCounters::pair_evictions)},
		  {{{"table", "histories"}}, engine(&EngineCounters::history_evictions)},
		  {{{"table", "dialogs"}}, calls(&calls::Counters::dialogs_evicted)}}},
		{"sipguard_tcp_events_total", Type::Counter,
		 "TCP stream events that pass: resent bytes identical to the judged copy, flows picked up without a SYN, "
		 "a remote's RST or SYN that does not match the stream (view kept).",
		 {{{{"event", "duplicate"}}, engine(&EngineCounters::tcp_duplicates)},
		  {{{"event", "midstream_pickup"}}, engine(&EngineCounters::tcp_midstream)},
		  {{{"event", "ignored_control"}}, engine(&EngineCounters::tcp_ignored_controls)}}},
	};
	return table;
}

// Calls and media pinholes, summed over the shards' call trackers.
const CounterTable<Shard>& calls_table()
{
	static const CounterTable<Shard> table = {
		{"sipguard_pinholes_active", Type::Gauge, "Media pinholes open.",
		 {{{}, [](const Shard& s) { return uint64_t{s.tracker().open_pinholes()}; }}}},
		{"sipguard_calls_active", Type::Gauge, "Dialogs tracked (early and confirmed).",
		 {{{}, [](const Shard& s) { return uint64_t{s.tracker().active_dialogs()}; }}}},
		{"sipguard_calls_total", Type::Counter, "Dialogs created.", {{{}, calls(&calls::Counters::dialogs_created)}}},
		{"sipguard_pinhole_table_full_total", Type::Counter, "Calls that got no media pinhole (table full).",
		 {{{}, calls(&calls::Counters::pinhole_table_full)}}},
	};
	return table;
}

std::function<uint64_t(const Runtime&)> daemon_counter(std::atomic<uint64_t> DaemonCounters::*m)
{
	return [m](const Runtime& rt) { return (rt.counters.*m).load(); };
}

const CounterTable<Runtime>& up_table()
{
	static const CounterTable<Runtime> table = {
		{"sipguard_up", Type::Gauge, "1 while the daemon runs.", {{{}, [](const Runtime&) { return uint64_t{1}; }}}},
	};
	return table;
}

const CounterTable<Runtime>& bans_table()
{
	static const CounterTable<Runtime> table = {
		{"sipguard_bans_active", Type::Gauge, "Bans in force (hosts and prefixes).",
		 {{{}, [](const Runtime& rt) { return uint64_t{rt.bans->active_count()}; }}}},
		{"sipguard_bans_total", Type::Counter, "Bans applied since start (restored bans excluded).",
		 {{{}, daemon_counter(&DaemonCounters::bans_total)}}},
		{"sipguard_unbans_total", Type::Counter, "Bans lifted since start (manual and expired).",
		 {{{}, daemon_counter(&DaemonCounters::unbans_total)}}},
	};
	return table;
}

// The rules writer's statistics and the pinholes the shards could not hand
// it (its queue was full), read once per scrape.
struct WriterScrape {
	rules::WriterStats writer;
	uint64_t pinholes_rejected = 0;
};

std::function<uint64_t(const WriterScrape&)> writer(uint64_t rules::WriterStats::*m)
{
	return [m](const WriterScrape& w) { return w.writer.*m; };
}

const CounterTable<WriterScrape>& writer_table()
{
	using rules::WriterStats;
	static const CounterTable<WriterScrape> table = {
		{"sipguard_rules_batch_seconds", Type::Summary, "Latency of rules-writer netlink batches.",
		 {{{}, writer(&WriterStats::batch_latency_ns_sum), "_sum", 1e9},
		  {{}, writer(&WriterStats::batches), "_count"}}},
		{"sipguard_rules_batch_seconds_max", Type::Gauge, "Slowest rules-writer batch since start.",
		 {{{}, writer(&WriterStats::batch_latency_ns_max), "", 1e9}}},
		{"sipguard_rules_elements_total", Type::Counter, "Set element changes by outcome.",
		 {{{{"outcome", "applied"}}, writer(&WriterStats::elements)},
		  {{{"outcome", "failed"}}, writer(&WriterStats::failed_elements)},
		  {{{"outcome", "queue_full"}},
		   [](const WriterScrape& w) { return w.writer.rejected_full + w.pinholes_rejected; }}}},
	};
	return table;
}

// The kernel's own drop counters of our ban and media rules.
const CounterTable<rules::Counters>& kernel_drops_table()
{
	static const CounterTable<rules::Counters> table = {
		{"sipguard_kernel_dropped_packets_total", Type::Counter,
		 "Packets dropped by table inet sipguard itself, by rule.",
		 {{{{"rule", "ban"}}, metrics::field(&rules::Counters::ban_drop_packets)},
		  {{{"rule", "media"}}, metrics::field(&rules::Counters::media_drop_packets)},
		  {{{"rule", "prefilter_source"}}, metrics::field(&rules::Counters::source_drop_packets)},
		  {{{"rule", "prefilter_budget"}}, metrics::field(&rules::Counters::budget_drop_packets)}}},
	};
	return table;
}

std::vector<metrics::CounterFamily<KernelHealth>::Series> by_repair()
{
	std::vector<metrics::CounterFamily<KernelHealth>::Series> out;
	for (size_t i = 0; i < kRepairLabels.size(); ++i)
		out.push_back({{{"what", std::string(rules::to_string(kRepairLabels[i]))}},
		               metrics::element(&KernelHealth::repairs, i)});
	return out;
}

// Whether the kernel holds what the records say (the last check) and what
// the checks repaired.
const CounterTable<KernelHealth>& kernel_health_table()
{
	static const CounterTable<KernelHealth> table = {
		{"sipguard_kernel_in_sync", Type::Gauge,
		 "1 when the last check found (or left, after repairing) table inet sipguard exactly as the ban "
		 "records say.",
		 {{{}, [](const KernelHealth& h) { return uint64_t{h.checked && h.in_sync}; }}}},
		{"sipguard_kernel_divergent_elements", Type::Gauge,
		 "Ban elements that still differ from the records after the last check's repair.",
		 {{{}, metrics::field(&KernelHealth::divergent_elements)}}},
		{"sipguard_kernel_checks_total", Type::Counter, "Checks of the kernel against the records, by result.",
		 {{{{"result", "clean"}}, metrics::field(&KernelHealth::checks_clean)},
		  {{{"result", "repaired"}}, metrics::field(&KernelHealth::checks_repaired)},
		  {{{"result", "failed"}}, metrics::field(&KernelHealth::checks_failed)}}},
		{"sipguard_kernel_repairs_total", Type::Counter,
		 "Differences found in table inet sipguard and repaired, by what (table, chain, rule, set, element).",
		 by_repair()},
	};
	return table;
}

// How the restore of saved bans at start went.
const CounterTable<Runtime>& restore_table()
{
	static const CounterTable<Runtime> table = {
		{"sipguard_restored_bans", Type::Gauge,
		 "Saved bans at start: enforced by the kernel (restored) or lost (failed: unreadable, refused).",
		 {{{{"result", "restored"}}, metrics::field(&Runtime::restored_bans)},
		  {{{"result", "failed"}}, metrics::field(&Runtime::restore_failed)}}},
	};
	return table;
}

std::function<uint64_t(const Runtime&)> defrag_is(rules::DefragBackend b)
{
	return [b](const Runtime& rt) { return uint64_t{rt.defrag == b}; };
}

const CounterTable<Runtime>& health_table()
{
	static const CounterTable<Runtime> table = {
		{"sipguard_reloads_total", Type::Counter, "Config reloads, by result.",
		 {{{{"result", "applied"}}, daemon_counter(&DaemonCounters::reloads_ok)},
		  {{{"result", "rejected"}}, daemon_counter(&DaemonCounters::reloads_failed)}}},
		{"sipguard_state_saves_total", Type::Counter, "State file saves, by result.",
		 {{{{"result", "ok"}}, daemon_counter(&DaemonCounters::saves)},
		  {{{"result", "error"}}, daemon_counter(&DaemonCounters::save_errors)}}},
		{"sipguard_control_clients", Type::Gauge, "Connected control/metrics clients.",
		 {{{}, [](const Runtime& rt) { return uint64_t{rt.control ? rt.control->clients() : 0}; }}}},
		{"sipguard_kernel_reassembly", Type::Gauge,
		 "1 for the mechanism table inet sipguard uses to make the kernel reassemble fragments before inspection.",
		 {{{{"mechanism", "tproxy"}}, defrag_is(rules::DefragBackend::Tproxy)},
		  {{{"mechanism", "conntrack"}}, defrag_is(rules::DefragBackend::Conntrack)},
		  {{{"mechanism", "none"}}, defrag_is(rules::DefragBackend::None)}}},
	};
	return table;
}

} // namespace

// One series per queue, labelled queue="N": our receive side of each NFQUEUE.
const CounterTable<nfq::QueueStats>& queue_table()
{
	using nfq::QueueStats;
	static const CounterTable<QueueStats> table = {
		{"sipguard_queue_received_total", Type::Counter, "Packets received from each NFQUEUE.",
		 {{{}, metrics::field(&QueueStats::received)}}},
		{"sipguard_queue_enobufs_total", Type::Counter, "Receive calls that reported ENOBUFS (messages lost).",
		 {{{}, metrics::field(&QueueStats::enobufs)}}},
	};
	return table;
}

// The kernel's view of each of our queues (/proc), labelled queue="N".
const CounterTable<nfq::KernelQueueStats>& kernel_queue_table()
{
	using nfq::KernelQueueStats;
	static const CounterTable<KernelQueueStats> table = {
		{"sipguard_kernel_queue_dropped_total", Type::Counter,
		 "Packets the kernel dropped for a queue (from /proc/net/netfilter/nfnetlink_queue), by reason.",
		 {{{{"reason", "queue_full"}}, metrics::field(&KernelQueueStats::queue_dropped)},
		  {{{"reason", "socket_full"}}, metrics::field(&KernelQueueStats::user_dropped)}}},
		{"sipguard_kernel_queue_waiting", Type::Gauge, "Packets waiting for a verdict in the kernel.",
		 {{{}, metrics::field(&KernelQueueStats::queue_total)}}},
	};
	return table;
}

void Exporter::collect(metrics::Exposition& e)
{
	metrics::export_one(e, up_table(), rt_);
	metrics::export_table(e, traffic_table(), rt_.shards);
	metrics::export_one(e, bans_table(), rt_);
	metrics::export_table(e, calls_table(), rt_.shards);
	queues(e);
	rules_writer(e);
	kernel_counters(e);
	metrics::export_one(e, prefilter_table(), rt_.prefilter_reader.read(rt_));
	metrics::export_one(e, kernel_health_table(), rt_.kernel.health());
	metrics::export_one(e, restore_table(), rt_);
	rt_.restore_seconds.collect(e, "sipguard_restore_seconds", "Time to re-apply saved bans at start.");
	metrics::export_one(e, health_table(), rt_);
	export_fraud(e, rt_);
}

void Exporter::queues(metrics::Exposition& e) const
{
	std::vector<std::pair<std::string, nfq::QueueStats>> ours;
	for (size_t i = 0; i < rt_.queues.size(); ++i)
		ours.emplace_back(std::to_string(rt_.queues.queue(i).config().queue_num), rt_.queues.queue(i).stats());
	metrics::export_each(e, queue_table(), ours, "queue");
	std::vector<std::pair<std::string, nfq::KernelQueueStats>> kernel;
	for (const nfq::KernelQueueStats& k : rt_.kernel_queue_stats())
		kernel.emplace_back(std::to_string(k.queue_num), k);
	metrics::export_each(e, kernel_queue_table(), kernel, "queue");
}

void Exporter::rules_writer(metrics::Exposition& e) const
{
	if (!rt_.writer)
		return;
	WriterScrape w{rt_.writer->stats()};
	for (const auto& s : rt_.shards)
		w.pinholes_rejected += s->pinhole_submit_failed.get();
	metrics::export_one(e, writer_table(), w);
}

void Exporter::kernel_counters(metrics::Exposition& e)
{
	if (!nl_.is_open())
		(void)nl_.open();
	rules::Counters rc;
	if (nl_.is_open() && rules::read_counters(nl_, rc).ok())
		metrics::export_one(e, kernel_drops_table(), rc);
}

} // namespace sipguard::daemon
