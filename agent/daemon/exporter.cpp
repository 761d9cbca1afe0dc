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
		  {{{"cause", "forged"}}, engine(&EngineCounters::forged_dropped)},
		  {{{"cause", "call_policy"}}, engine(&EngineCounters::call_hook_drops)},
		  {{{"cause", "tcp_held"}}, engine(&EngineCounters::tcp_held)},
		  {{{"cause", "tcp_out_of_order"}}, engine(&EngineCounters::tcp_out_of_order)},
		  {{{"cause", "tcp_after_drop"}}, engine(&EngineCounters::tcp_after_drop)},
		  {{{"cause", "tcp_conflict"}}, engine(&EngineCounters::tcp_conflicts)},
		  {{{"cause", "tcp_stale"}}, engine(&EngineCounters::tcp_stale)},
		  {{{"cause", "tcp_window_full"}}, engine(&EngineCounters::tcp_window_full)},
		  {{{"cause", "tcp_midstream"}}, engine(&EngineCounters::tcp_midstream_dropped)},
		  {{{"cause", "tcp_flows_over_cap"}}, engine(&EngineCounters::tcp_flows_over_cap)},
		  {{{"cause", "udp_redropped"}}, engine(&EngineCounters::udp_redropped)},
		  {{{"cause", "fragment"}}, engine(&EngineCounters::first_fragments_dropped)}}},
		{"sipguard_evictions_total", Type::Counter, "Entries evicted from full bounded tables, by table.",
		 {{{{"table", "sources"}}, engine(&EngineCounters::source_evictions)},
		  {{{"table", "prefixes"}}, engine(&EngineCounters::prefix_evictions)},
		  {{{"table", "transactions"}}, engine(&EngineCounters::transaction_evictions)},
		  {{{"table", "tcp_flows"}}, engine(&EngineCounters::flow_evictions)},
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

void Exporter::collect(metrics::Exposition& e)
{
	const std::array<const Runtime*, 1> daemon{&rt_};
	e.family("sipguard_up", Type::Gauge, "1 while the daemon runs.");
	e.sample("sipguard_up", 1);
	metrics::export_table(e, traffic_table(), rt_.shards);
	metrics::export_table(e, bans_table(), daemon);
	metrics::export_table(e, calls_table(), rt_.shards);
	queues(e);
	rules_writer(e);
	kernel_counters(e);
	kernel_health(e);
	rt_.restore_seconds.collect(e, "sipguard_restore_seconds", "Time to re-apply saved bans at start.");
	metrics::export_table(e, health_table(), daemon);
}

// Our receive side of each queue, then the kernel's view of it.
void Exporter::queues(metrics::Exposition& e) const
{
	e.family("sipguard_queue_received_total", Type::Counter, "Packets received from each NFQUEUE.");
	e.family("sipguard_queue_enobufs_total", Type::Counter, "Receive calls that reported ENOBUFS (messages lost).");
	for (size_t i = 0; i < rt_.queues.size(); ++i) {
		nfq::QueueStats qs = rt_.queues.queue(i).stats();
		metrics::Labels l{{"queue", std::to_string(rt_.queues.queue(i).config().queue_num)}};
		e.sample("sipguard_queue_received_total", l, static_cast<double>(qs.received));
		e.sample("sipguard_queue_enobufs_total", l, static_cast<double>(qs.enobufs));
	}
	e.family("sipguard_kernel_queue_dropped_total", Type::Counter,
	         "Packets the kernel dropped for a queue (from /proc/net/netfilter/nfnetlink_queue), by reason.");
	e.family("sipguard_kernel_queue_waiting", Type::Gauge, "Packets waiting for a verdict in the kernel.");
	for (const auto& k : rt_.kernel_queue_stats()) {
		metrics::Labels l{{"queue", std::to_string(k.queue_num)}};
		metrics::Labels lq = l, lu = l;
		lq.emplace_back("reason", "queue_full");
		lu.emplace_back("reason", "socket_full");
		e.sample("sipguard_kernel_queue_dropped_total", lq, k.queue_dropped);
		e.sample("sipguard_kernel_queue_dropped_total", lu, k.user_dropped);
		e.sample("sipguard_kernel_queue_waiting", l, k.queue_total);
	}
}

void Exporter::rules_writer(metrics::Exposition& e) const
{
	if (!rt_.writer)
		return;
	rules::WriterStats ws = rt_.writer->stats();
	uint64_t pinholes_rejected = 0;
	for (const auto& s : rt_.shards)
		pinholes_rejected += s->pinhole_submit_failed.get();
	e.family("sipguard_rules_batch_seconds", Type::Summary, "Latency of rules-writer netlink batches.");
	e.sample("sipguard_rules_batch_seconds_sum", static_cast<double>(ws.batch_latency_ns_sum) / 1e9);
	e.sample("sipguard_rules_batch_seconds_count", static_cast<double>(ws.batches));
	e.family("sipguard_rules_batch_seconds_max", Type::Gauge, "Slowest rules-writer batch since start.");
	e.sample("sipguard_rules_batch_seconds_max", static_cast<double>(ws.batch_latency_ns_max) / 1e9);
	e.family("sipguard_rules_elements_total", Type::Counter, "Set element changes by outcome.");
	e.sample("sipguard_rules_elements_total", {{"outcome", "applied"}}, static_cast<double>(ws.elements));
	e.sample("sipguard_rules_elements_total", {{"outcome", "failed"}}, static_cast<double>(ws.failed_elements));
	e.sample("sipguard_rules_elements_total", {{"outcome", "queue_full"}},
	         static_cast<double>(ws.rejected_full + pinholes_rejected));
}

// The kernel's own drop counters of our ban and media rules.
void Exporter::kernel_counters(metrics::Exposition& e)
{
	if (!nl_.is_open())
		(void)nl_.open();
	rules::Counters rc;
	if (!nl_.is_open() || !rules::read_counters(nl_, rc).ok())
		return;
	e.family("sipguard_kernel_dropped_packets_total", Type::Counter,
	         "Packets dropped by table inet sipguard itself, by rule.");
	e.sample("sipguard_kernel_dropped_packets_total", {{"rule", "ban"}}, static_cast<double>(rc.ban_drop_packets));
	e.sample("sipguard_kernel_dropped_packets_total", {{"rule", "media"}}, static_cast<double>(rc.media_drop_packets));
}

// Whether the kernel holds what the records say (the last check), what the
// checks repaired, and how the restore at start went.
void Exporter::kernel_health(metrics::Exposition& e) const
{
	const KernelHealth h = rt_.kernel.health();
	e.family("sipguard_kernel_in_sync", Type::Gauge,
	         "1 when the last check found (or left, after repairing) table inet sipguard exactly as the ban "
	         "records say.");
	e.sample("sipguard_kernel_in_sync", h.checked && h.in_sync ? 1 : 0);
	e.family("sipguard_kernel_divergent_elements", Type::Gauge,
	         "Ban elements that still differ from the records after the last check's repair.");
	e.sample("sipguard_kernel_divergent_elements", static_cast<double>(h.divergent_elements));
	e.family("sipguard_kernel_checks_total", Type::Counter, "Checks of the kernel against the records, by result.");
	e.sample("sipguard_kernel_checks_total", {{"result", "clean"}}, static_cast<double>(h.checks_clean));
	e.sample("sipguard_kernel_checks_total", {{"result", "repaired"}}, static_cast<double>(h.checks_repaired));
	e.sample("sipguard_kernel_checks_total", {{"result", "failed"}}, static_cast<double>(h.checks_failed));
	e.family("sipguard_kernel_repairs_total", Type::Counter,
	         "Differences found in table inet sipguard and repaired, by what (table, chain, rule, set, element).");
	for (size_t i = 0; i < kRepairLabels.size(); ++i)
		e.sample("sipguard_kernel_repairs_total", {{"what", std::string(rules::to_string(kRepairLabels[i]))}},
		         static_cast<double>(h.repairs[i]));
	e.family("sipguard_restored_bans", Type::Gauge,
	         "Saved bans at start: enforced by the kernel (restored) or lost (failed: unreadable, refused).");
	e.sample("sipguard_restored_bans", {{"result", "restored"}}, static_cast<double>(rt_.restored_bans));
	e.sample("sipguard_restored_bans", {{"result", "failed"}}, static_cast<double>(rt_.restore_failed));
}

} // namespace sipguard::daemon
