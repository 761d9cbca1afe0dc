// SPDX-License-Identifier: GPL-2.0-or-later
// The engine: one shard per queue thread. Decodes SIP from a PacketView,
// runs the detectors over bounded per-source/per-prefix state, asks the
// shared BanManager for enforcement and returns the packet's verdict. Pure:
// no syscalls, time passed in, no allocation per packet in steady state.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

#include "agent/calls/call_hook.h"
#include "agent/detect/finding.h"
#include "agent/engine/ban_manager.h"
#include "agent/engine/config.h"
#include "agent/sip/message.h"
#include "agent/util/hash.h"
#include "nfq/packet_view.h"
#include "nfq/verdict_plan.h"

namespace sipguard::detect {
class AccountTable;
}

namespace sipguard::engine {

using nfq::Verdict;
class EnginePass;
class FraudGate;

// A source's packets start (or stop) being dropped by the engine.
struct VerdictChange {
	net::IpAddress source;
	uint8_t prefix_len = 0;
	Verdict verdict = Verdict::Accept;
	std::string_view why; // static: "banned", "prefix banned", "unbanned", "check-sync", ...
	util::TimePoint at{};
};


// Side effects of on_packet. Called synchronously on the shard's thread; a
// daemon sink forwards to the log/metrics, a replay sink prints. Pinhole
// updates come from the call hook (calls::PinholeSink).
class Sink : public calls::PinholeSink {
public:
	// A detector's finding and what the ban manager made of it (Banned,
	// DryRun, Allowlisted, ...). The ban is already logged and announced to
	// the BanListener by the manager.
	virtual void on_finding(const detect::Finding& f, const BanResult& result) = 0;
	virtual void on_verdict_change(const VerdictChange& /*c*/) {}
	void on_pinhole(const calls::PinholeUpdate& /*u*/) override {}
};

// One counter per entry of the parser's method table.
inline constexpr size_t kMethodSlots = sip::kMethodCount;
// Response status classes 1xx..6xx (RFC 3261 §7.2: status codes 100-699).
inline constexpr size_t kStatusClasses = 6;

// Counters ("pegs"): written by the shard thread only; read them from that
// thread or accept a torn snapshot.
struct EngineCounters {
	uint64_t packets = 0;
	uint64_t sip_messages = 0;
	uint64_t requests = 0;
	uint64_t responses = 0;
	uint64_t malformed = 0;
	uint64_t not_sip = 0;      // http/binary on a SIP port (counted as malformed by the detector)
	uint64_t keepalives = 0;   // CRLF, STUN
	uint64_t fragments = 0;    // non-first fragments, accepted uninspected
	uint64_t first_fragments = 0; // first fragments (partial message) of known-good sources, accepted uninspected
	uint64_t first_fragments_dropped = 0; // first fragments of other sources: cannot be inspected, dropped
	uint64_t accepted = 0;
	uint64_t dropped = 0;
	uint64_t dropped_banned = 0;
	uint64_t shed = 0;         // dropped by the global guard
	uint64_t enumeration_held = 0; // requests for yet another user with challenges left behind (dropped, no ban)
	uint64_t account_blocked = 0;  // requests of a blocked (source, account) pair (dropped, the source not banned)
	uint64_t throttled = 0;        // authenticated requests over a source's or an account's rate (dropped, no ban)
	uint64_t account_guarded = 0;  // credentials for a guarded account from a source where it never authenticated
	uint64_t findings = 0;
	std::array<uint64_t, detect::kDetectorCount> findings_by_detector{};
	uint64_t bans = 0;         // findings that produced a new ban
	uint64_t matched_responses = 0;
	uint64_t unmatched_responses = 0;
	uint64_t source_evictions = 0;
	uint64_t prefix_evictions = 0;
	uint64_t transaction_evictions = 0;
	uint64_t account_evictions = 0; // from the shared account table, by this shard's inserts
	uint64_t pair_evictions = 0;
	uint64_t history_evictions = 0; // long enumeration histories (sources and prefixes)
	uint64_t flow_evictions = 0;
	uint64_t tcp_overflows = 0;
	uint64_t forged_dropped = 0;
	uint64_t call_hook_drops = 0;
	// The toll-fraud guard (FraudGate): initial INVITEs it decided, the ones
	// dropped (denied, or a retransmission of a denied one), accounts locked.
	uint64_t fraud_decided = 0;
	uint64_t fraud_dropped = 0;
	uint64_t fraud_locks = 0;
	uint64_t fraud_linked = 0; // trunk legs of calls decided on their phone leg
	// TCP streams (agent/engine/README.md, "TCP streams"), in segments.
	// Dropped: the sender's TCP retransmits them, except where it says "never".
	uint64_t tcp_held = 0;         // part of a message not yet whole: buffered, passes once the message is judged
	uint64_t tcp_out_of_order = 0; // ahead of a gap in the stream: not buffered, passes when resent in order
	uint64_t tcp_after_drop = 0;   // at or after a dropped message (or past the sender's FIN): never passes
	uint64_t tcp_conflicts = 0;    // resent bytes differ from the judged copy: never passes, nor the rest of the flow
	uint64_t tcp_stale = 0;        // resent bytes older than the retained copy, so not comparable
	uint64_t tcp_window_full = 0;  // the flow's buffer or its list of out-of-order segments is full
	uint64_t tcp_midstream_dropped = 0; // flow without a SYN not at a SIP start line, bytes before its pickup, SYN with data
	uint64_t tcp_flows_over_cap = 0; // a new flow of a remote holding engine.tcp_flows_per_source: not tracked
	uint64_t tcp_urgent = 0;       // a remote's segment with URG (the PBX's socket would drop the marked byte): never passes
	// Accepted or ignored.
	uint64_t tcp_duplicates = 0;   // accepted: resent bytes identical to the judged copy
	uint64_t tcp_midstream = 0;    // flows picked up without a SYN, at a SIP start line
	uint64_t tcp_ignored_controls = 0; // a remote's RST not at the stream's edge, SYN on a live flow: view kept
	uint64_t udp_redropped = 0;    // UDP retransmission of a request dropped as forged or by call policy
	// Well-formed requests by sip::Method (Unknown: an extension method) and
	// responses by status class ([status / 100 - 1]), from the engine's parse;
	// banned sources' datagrams included (EnginePass::run).
	std::array<uint64_t, kMethodSlots> requests_by_method{};
	std::array<uint64_t, kStatusClasses> responses_by_class{};
};

class Engine {
public:
	// `config` is read at construction (table sizes) and on set_config();
	// `bans` and `sink` must outlive the engine. `hash_seed` seeds the
	// shard's table hashes (the daemon passes a random one). `accounts`, when
	// given, is the account table all shards share (it must outlive them);
	// otherwise the engine makes its own (one shard: replay, tests).
	Engine(std::shared_ptr<const Config> config, BanManager& bans, Sink& sink,
	       uint64_t hash_seed = util::kDefaultHashSeed, detect::AccountTable* accounts = nullptr);
	~Engine();
	Engine(const Engine&) = delete;
	Engine& operator=(const Engine&) = delete;

	Verdict on_packet(const nfq::PacketView& packet, nfq::Direction direction, util::TimePoint now);
	// Housekeeping, about once a second: ban expiry is the manager's (call
	// BanManager::expire from one thread); this ages the shard's tables and
	// ticks the call hook.
	void on_tick(util::TimePoint now);

	// Thresholds and policy from a reloaded config; table sizes keep their
	// construction values until restart.
	void set_config(std::shared_ptr<const Config> config);
	void set_call_hook(calls::CallHook* hook) { hook_ = hook; }
	// The toll-fraud guard all shards share (null: off); must outlive the engine.
	void set_fraud(FraudGate* gate) { fraud_ = gate; }

	const EngineCounters& counters() const { return counters_; }
	// Whether the source of the last on_packet (the remote address) is known
	// good after it: authenticated or registered successfully, or contacted
	// by the PBX; allowlisted and trusted sources are not (the kernel knows
	// them from the config). The daemon feeds the pre-filter's known sets
	// from this.
	bool last_source_known() const { return last_known_; }
	// Whether the source of the last on_packet sent a request and is a
	// proven receiver (receiver_proof.h: it answered a challenge the PBX
	// sent to its address), not known, allowlisted or trusted. The daemon
	// feeds the pre-filter's proven sets from this.
	bool last_source_proven() const { return last_proven_; }
	// Fixed memory held by the shard's tables, in bytes (for the docs/bench);
	// an account table shared with other shards is not counted.
	size_t table_bytes() const;

	struct Impl; // tables and scratch; defined in engine.cpp

private:
	friend class EnginePass;
	std::unique_ptr<Impl> impl_;
	calls::CallHook* hook_ = nullptr;
	FraudGate* fraud_ = nullptr;
	EngineCounters counters_;
	bool last_known_ = false;
	bool last_proven_ = false;
};

} // namespace sipguard::engine
