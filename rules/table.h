// SPDX-License-Identifier: GPL-2.0-or-later
// Creating, atomically replacing and removing `table inet sipguard` (and nothing else).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/net/ip_address.h"
#include "rules/netlink.h"
#include "rules/status.h"

namespace sipguard::rules {

// Object names. Only these are ever created or deleted; other tables
// (firewalld, docker, ufw, fail2ban) are never flushed or touched.
inline constexpr const char* kTable = "sipguard";
inline constexpr const char* kProbeTable = "sipguard_probe"; // never committed, see probe_queue_backend
inline constexpr const char* kSetBan4 = "ban4";
inline constexpr const char* kSetBan6 = "ban6";
inline constexpr const char* kSetBanNet4 = "bannet4";
inline constexpr const char* kSetBanNet6 = "bannet6";
inline constexpr const char* kSetAllow4 = "allow4";
inline constexpr const char* kSetAllow6 = "allow6";
inline constexpr const char* kSetMedia4 = "media4";
inline constexpr const char* kSetMedia6 = "media6";
inline constexpr const char* kSetSipPorts = "sipports";
// Pre-filter (issue 20): sources the agent knows to be good, and the
// per-source meters for everyone else.
inline constexpr const char* kSetKnown4 = "known4";
inline constexpr const char* kSetKnown6 = "known6";
// Proven receivers: sources that answered a challenge sent to their address
// (agent/engine/receiver_proof.h); metered, never budget-limited.
inline constexpr const char* kSetProven4 = "proven4";
inline constexpr const char* kSetProven6 = "proven6";
inline constexpr const char* kSetMeter4 = "meter4";
inline constexpr const char* kSetMeter6 = "meter6";
inline constexpr const char* kChainPrerouting = "prerouting";
inline constexpr const char* kChainInput = "input";
inline constexpr const char* kChainMedia = "media";
inline constexpr const char* kChainOutput = "output";
// Regular chain the input chain jumps to for SIP when the pre-filter is on.
inline constexpr const char* kChainSip = "sip";
// A regular chain nothing jumps to: its one rule is never evaluated; its
// expression exists for its side effect (see DefragBackend).
inline constexpr const char* kChainDefrag = "defrag";

// Rule comments; read_counters finds the counters by these.
inline constexpr const char* kCommentBanDrop = "sipguard-ban-drop";
inline constexpr const char* kCommentMediaDrop = "sipguard-media-drop";
// Queue rules carry counters so the agent can compare what the rules sent
// to the queues with what the queues handed over (failed-open packets).
inline constexpr const char* kCommentQueue = "sipguard-queue";            // input, pre-filter off
inline constexpr const char* kCommentQueueKnown = "sipguard-queue-known"; // sip chain, bypass
inline constexpr const char* kCommentQueueUnknown = "sipguard-queue-unknown"; // sip chain, no bypass
inline constexpr const char* kCommentQueueProven = "sipguard-queue-proven";   // sip chain, no bypass
inline constexpr const char* kCommentQueuePbx = "sipguard-queue-pbx";     // output
inline constexpr const char* kCommentSourceDrop = "sipguard-prefilter-source";
inline constexpr const char* kCommentBudgetDrop = "sipguard-prefilter-budget";
inline constexpr const char* kCommentDefrag = "sipguard-defrag: never evaluated, makes the kernel reassemble fragments";

// How the table makes the kernel reassemble IP fragments before our hooks,
// so the queue sees whole datagrams (IPv6 is otherwise reassembled only
// after LOCAL_IN, so its first fragment would be queued alone). Both run
// nf_defrag_ipv4/ipv6 at prerouting priority -400 in this namespace for as
// long as the rule exists (the expressions' init/destroy take and drop a
// per-netns reference).
enum class DefragBackend : uint8_t {
	None,      // the kernel has neither: the engine drops unknown sources' first fragments
	Tproxy,    // nft_tproxy_init: nf_defrag_ipv4_enable + nf_defrag_ipv6_enable, nothing else
	Conntrack, // nft_ct_get_init: nf_ct_netns_get, i.e. full conntrack (which enables both defrags)
};
std::string_view to_string(DefragBackend backend);

// The kernel-side pre-filter in front of the queue (rules/README.md,
// "Pre-filter"). Rates are packets per second.
struct PrefilterSpec {
	bool enabled = false;
	// The kernel offers `limit` and dynamic sets (probe_prefilter); without
	// them only the known/unknown split is installed.
	bool limits = true;
	// Known sources' queue rules pass packets when no agent listens
	// (daemon.fail_open); unknown sources' never do.
	bool known_bypass = true;
	uint32_t source_rate = 100;
	uint32_t source_burst = 500;
	uint32_t unknown_rate = 50000;
	uint32_t unknown_burst = 5000;
	uint32_t known_size = 65536;
	uint32_t proven_size = 65536;
	uint32_t meter_size = 65536;
	// A meter entry lives this long after the source's last packet (each
	// packet refreshes it); at least the bucket's refill time, so an entry
	// that expires had a full bucket anyway.
	std::chrono::seconds meter_timeout{10};
	friend bool operator==(const PrefilterSpec&, const PrefilterSpec&) = default;
};

struct TableSpec {
	std::vector<uint16_t> sip_ports{5060};
	uint16_t queue_base = 0;
	uint16_t queue_count = 1; // queues queue_base .. queue_base+queue_count-1
	bool pin_media = false;
	uint16_t rtp_min = 10000;
	uint16_t rtp_max = 20000;
	uint32_t ban_set_size = 1048576;
	uint32_t media_set_size = 65536;
	std::vector<net::Cidr> allow; // never banned: accepted in prerouting before the ban check
	// The rule of chain `defrag`; install_auto sets what the kernel offers.
	DefragBackend defrag = DefragBackend::None;
	PrefilterSpec prefilter;
	// On replace, copy the current ban and media elements (with their
	// remaining time) into the new table.
	bool keep_elements = true;
};

// The first queue of the known sources' range (rules/README.md, "Pre-filter"):
// with the pre-filter on, known sources, allowlisted/trusted networks and the
// PBX's own traffic go to queue_base+queue_count .. +2*queue_count-1 (the
// agent binds them fail-open as configured), unknown sources to queue_base ..
// (never fail-open). Without the pre-filter there is one range: queue_base.
uint16_t known_queue_base(const TableSpec& spec);
// Every queue number the table sends to: queue_count, or 2 × queue_count
// with the pre-filter.
uint32_t total_queues(const TableSpec& spec);

// Checks ranges (ports, queues, RTP range, sizes); returns a message or "".
std::string validate(const TableSpec& spec);

enum class QueueBackend : uint8_t {
	Native,          // nft `queue` expression (CONFIG_NFT_QUEUE)
	CompatNfqueueV3, // xtables NFQUEUE target revision 3 through nft_compat
};
std::string_view to_string(QueueBackend backend);

// Asks the kernel whether it knows the native `queue` expression, without
// committing anything: one batch that creates `inet sipguard_probe` with a
// queue rule and ends with a message that must fail, so the transaction is
// always aborted. The rule message's own errno tells the answer.
// Falls back to CompatNfqueueV3 when native gives ENOENT/EOPNOTSUPP; fails
// if neither is available.
Status probe_queue_backend(Netlink& nl, QueueBackend& out);

// Creates `table inet sipguard` or replaces it, in one transaction: add the
// table (idempotent), delete it, add it anew with sets, chains, rules and the
// allow elements. Nobody ever sees a half-built table.
Status install(Netlink& nl, const TableSpec& spec, QueueBackend backend);

// Asks the kernel, like probe_queue_backend (one always-aborted transaction
// per candidate), whether it knows the `tproxy` expression, else `ct`;
// None (and success) when it knows neither.
Status probe_defrag_backend(Netlink& nl, DefragBackend& out);

// Asks the kernel, like probe_queue_backend, whether it takes a rule with a
// dynamic set update carrying `limit` (nft_dynset + nft_limit) and a plain
// `limit`. `available` false (and success) when not; `detail` says why.
Status probe_prefilter(Netlink& nl, bool& available, std::string& detail);

// install with probing: the queue backend, the defrag mechanism
// (`spec.defrag` is overwritten with what the kernel offers) and the
// pre-filter's rate limits (`spec.prefilter.limits`, probed whether or not
// the pre-filter is on). On success
// `chosen` holds the queue backend used.
Status install_auto(Netlink& nl, TableSpec& spec, QueueBackend& chosen);

// Deletes `table inet sipguard` (no error if it does not exist).
Status remove(Netlink& nl);

// True if `table inet sipguard` exists.
Status table_exists(Netlink& nl, bool& exists);

struct Counters {
	uint64_t ban_drop_packets = 0, ban_drop_bytes = 0;     // prerouting, all ban sets
	uint64_t media_drop_packets = 0, media_drop_bytes = 0; // media chain fallthrough drop
	// Pre-filter drops and what the queue rules sent to the queues.
	uint64_t source_drop_packets = 0; // per-source meter (sipguard-prefilter-source)
	uint64_t budget_drop_packets = 0; // global budget for unknown sources
	uint64_t queued_known = 0;        // sip chain, known sources (bypass)
	uint64_t queued_unknown = 0;      // sip chain, unknown sources (no bypass)
	uint64_t queued_proven = 0;       // sip chain, proven receivers (no bypass, past the meter)
	uint64_t queued_other = 0;        // input with the pre-filter off, and output (the PBX's own)
	uint64_t queued() const { return queued_known + queued_unknown + queued_proven + queued_other; }
};
// Reads the counter expressions of our rules (identified by comment).
Status read_counters(Netlink& nl, Counters& out);

} // namespace sipguard::rules
