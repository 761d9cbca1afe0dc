// SPDX-License-Identifier: GPL-2.0-or-later
// The ban manager turns findings into bans: the safety rails (BanSafety:
// allowlist, trusted, reserved ranges, the host's own addresses, minimum
// prefix), dry run, the escalation ladder with bounded offence history, prefix
// aggregation, manual ban/unban, imports, expiry, and the state the daemon
// persists and the control socket lists. Every way a ban is made passes the
// one safety check here. Shared by all engine shards; the mutex is taken only
// on the slow path (findings, control, expiry).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/detect/finding.h"
#include "agent/engine/ban_log.h"
#include "agent/engine/ban_safety.h"
#include "agent/engine/config.h"
#include "agent/net/ip_address.h"
#include "agent/util/hash.h"

namespace sipguard::engine {

using detect::Detector;

struct BanRecord {
	net::Cidr target;
	Detector detector = Detector::Manual;
	std::string reason;
	std::string evidence_json = "{}"; // the Evidence of the finding that caused it
	std::string evidence_text;
	util::TimePoint start{};
	util::TimePoint until{};
	uint32_t offence_count = 0; // 1 for a first offence
	bool prefix = false;        // an aggregated prefix ban

	util::Millis duration() const { return std::chrono::duration_cast<util::Millis>(until - start); }
	util::Millis remaining(util::TimePoint now) const
	{
		return now >= until ? util::Millis(0) : std::chrono::duration_cast<util::Millis>(until - now);
	}
};

struct Offence {
	util::TimePoint at{};
	Detector detector = Detector::Manual;
	std::string reason;
	util::Millis duration{0};
};

// Offences of one address or prefix, newest last, at most kMaxOffences kept
// (the count keeps counting).
struct OffenceHistory {
	static constexpr size_t kMaxOffences = 8;
	net::Cidr target;
	uint32_t count = 0;
	util::TimePoint last{};
	std::vector<Offence> offences;
};

enum class BanOutcome : uint8_t {
	Banned,        // new ban (or an existing one extended by a new offence)
	AlreadyBanned, // an active ban covers it; nothing changed
	Allowlisted,   // allowlisted or trusted: never banned (`refusal` says which)
	DryRun,        // logged as a finding only
	TableFull,     // max_active reached
	Reported,      // logged as a finding; the detector does not ask for a ban (call-limit)
	Invalid,       // not a usable address/prefix
	Refused,       // the safety rails refused it (reserved range, own address, /0, too broad): `refusal`
};
std::string_view to_string(BanOutcome o);

struct BanResult {
	BanOutcome outcome = BanOutcome::Invalid;
	BanRefusal refusal = BanRefusal::None; // set when Refused / Allowlisted
	std::string message;                   // BanSafety::explain(): "refusing to ban 127.0.0.1: it covers loopback"
	std::optional<BanRecord> ban;        // set when Banned / AlreadyBanned
	std::optional<BanRecord> prefix_ban; // a prefix ban this ban triggered
	BanRefusal prefix_refusal = BanRefusal::None; // the aggregation this ban would have triggered was refused
	bool drop() const { return outcome == BanOutcome::Banned || outcome == BanOutcome::AlreadyBanned; }
};

// Why a finding did not become a ban, as the ban log's "finding" line says
// it after the reason ("dry run: not banned"); "" when it did.
std::string finding_note(const BanResult& r);

// The ban log event of `r` (ban, prefix_ban, unban, expire) at `ts`: the
// manager's log, the daemon's followers and the listings use the same fields.
BanLogEvent ban_event(std::string_view event, const BanRecord& r, util::TimePoint ts);
// An active ban as `bans --json` lists it: its ban event (at its start) with
// remaining_s.
BanLogEvent listed_ban(const BanRecord& r, util::TimePoint now);

// Operator text (`ban --reason`) is cut to this many bytes.
inline constexpr size_t kMaxReasonBytes = 256;

enum class UnbanCause : uint8_t { Manual, Expired };

// Receives enforcement changes (the rules writer adds/deletes set elements
// with the remaining time as kernel timeout). Called with the manager's lock
// held: must not call back into the manager; queue and return.
class BanListener {
public:
	virtual ~BanListener() = default;
	virtual void on_ban(const BanRecord& ban) = 0;
	virtual void on_unban(const BanRecord& ban, UnbanCause cause) = 0;
};

// What persistence saves and restores.
struct BanSnapshot {
	struct Active {
		BanRecord ban;
		util::Millis remaining{0};
	};
	std::vector<Active> bans;
	std::vector<OffenceHistory> history;
};

struct Explanation {
	bool allowlisted = false;
	bool trusted = false;
	std::string never_banned; // the safety rails' refusal of a ban of this address, "" when it may be banned
	std::vector<BanRecord> bans; // active bans covering the address (host and prefix)
	std::optional<OffenceHistory> history;
};

// What restore() did with a saved state.
struct RestoreResult {
	size_t restored = 0;
	size_t expired = 0; // no time left
	size_t refused = 0; // refused by the safety rails now (allowlist, own address, ... changed while stopped)
};

// Bans the safety rails refused since start, by the path that asked.
struct RefusalCounts {
	uint64_t findings = 0;     // detector findings (allowlisted and trusted sources included)
	uint64_t aggregations = 0; // prefix aggregations not made
	uint64_t manual = 0;       // `sipguard ban`
	uint64_t restored = 0;     // saved bans skipped at restore
	uint64_t imports = 0;      // import_ban()
};

class BanManager {
public:
	// `log` may be null (no ban log); it must outlive the manager.
	// `hash_seed` seeds the hash of the ban and history maps.
	BanManager(const Config& config, BanLog* log, uint64_t hash_seed = util::kDefaultHashSeed);
	BanManager(const BanManager&) = delete;
	BanManager& operator=(const BanManager&) = delete;

	// Policy and ladder from a new config (reload). Active bans stay.
	void reconfigure(const Config& config);
	void set_listener(BanListener* listener);

	// The host's addresses, which no ban may cover: the daemon reads them at
	// start, before restore(), and again on every address change. A new
	// address inside an active ban lifts that ban (logged as "unban" at
	// `now`); returns how many were lifted.
	size_t set_own_addresses(std::vector<net::IpAddress> addrs, util::TimePoint now);
	BanSafety safety() const;

	// From a detector via an engine shard. Only `f.source` (the packet's
	// source) is ever banned; a refused source's finding is logged, not banned.
	BanResult on_finding(const detect::Finding& f, util::TimePoint now);
	// Operator ban; duration 0 = next step of the ladder. `force` lifts only
	// the minimum prefix (ban.min_prefix_v4/v6). The reason is made printable
	// and cut to kMaxReasonBytes.
	BanResult ban(const net::Cidr& target, util::Millis duration, std::string_view reason, util::TimePoint now,
	              bool force = false);
	// A ban from outside the packet path (blocklist file, CrowdSec decision):
	// the same safety check, never forced; `duration` must be positive. It is
	// recorded as a manual ban whose reason starts with `origin` and does not
	// escalate the offence history (a list that is fetched again is not a
	// new offence).
	BanResult import_ban(const net::Cidr& target, util::Millis duration, std::string_view origin,
	                     std::string_view reason, util::TimePoint now);
	// `a` authenticated (credentials the PBX accepted): its aggregation
	// prefix (ban.prefix_len_v4/v6) is never banned as a whole while the
	// daemon runs (bounded table); a prefix finding there bans the host that
	// sent it instead. Spoofed sources around an office must not cut it off.
	void note_authenticated(const net::IpAddress& a, util::TimePoint now);
	// Returns false when no active ban matched `target` exactly.
	bool unban(const net::Cidr& target, util::TimePoint now);
	// Removes bans whose time is up (logged as "expire"); returns how many.
	size_t expire(util::TimePoint now);

	std::vector<BanRecord> active(util::TimePoint now) const;
	Explanation explain(const net::IpAddress& addr, util::TimePoint now) const;
	bool is_banned(const net::IpAddress& addr, util::TimePoint now) const;
	bool is_allowlisted(const net::IpAddress& addr) const; // allowlist or trusted
	bool is_trusted(const net::IpAddress& addr) const;
	size_t active_count() const;
	RefusalCounts refusals() const;

	// Bumped on every ban/unban/expiry/reconfigure: shards compare it to
	// revalidate their cached per-source ban state without taking the lock.
	uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

	BanSnapshot snapshot(util::TimePoint now) const;
	// Re-applies saved bans with their remaining time (re-announced to the
	// listener) and the offence history. Entries already expired are skipped;
	// entries the safety rails refuse now are skipped, logged and counted
	// (a saved ban keeps its prefix length: the minimum is not re-applied).
	RestoreResult restore(const BanSnapshot& s, util::TimePoint now);

private:
	struct CidrHash {
		uint64_t seed;
		size_t operator()(const net::Cidr& c) const noexcept;
	};

	bool policy_exempt_locked(const net::IpAddress& a) const;
	// The safety check with the result filled in when it refuses.
	bool refused_locked(const net::Cidr& target, bool force, BanResult& res) const;
	BanResult manual_locked(const net::Cidr& target, util::Millis duration, std::string reason, bool force,
	                        bool record_history, uint64_t& refused_counter, util::TimePoint now);
	const BanRecord* covering_locked(const net::IpAddress& a, util::TimePoint now) const;
	BanRecord& install_locked(BanRecord rec, std::string_view event, util::TimePoint now);
	void remove_locked(const net::Cidr& target, std::string_view event, UnbanCause cause, util::TimePoint now);
	void prune_history_locked(util::TimePoint now);
	OffenceHistory& record_offence_locked(const net::Cidr& target, Detector d, std::string_view reason,
	                                      util::TimePoint now);
	util::Millis ladder_locked(uint32_t offence_count) const;
	std::optional<BanRecord> maybe_prefix_ban_locked(const net::IpAddress& a, util::TimePoint now,
	                                                 BanRefusal& refused);
	void log_locked(std::string_view event, const BanRecord& r, util::TimePoint now);
	void log_finding_locked(const detect::Finding& f, const net::Cidr& target, std::string_view note);
	void bump();

	mutable std::mutex mu_;
	BanConfig ban_cfg_;
	// Allowlist and trusted (IPv4-mapped entries as IPv4), the minimum
	// prefixes and the host's own addresses.
	BanSafety safety_;
	bool dry_run_ = false;
	RefusalCounts refusals_;
	BanLog* log_ = nullptr;
	BanListener* listener_ = nullptr;

	// Banned addresses are chosen by whoever sends the packets (spoofed UDP):
	// the maps hash them under a seed.
	std::unordered_map<net::Cidr, BanRecord, CidrHash> active_;
	std::unordered_map<net::Cidr, OffenceHistory, CidrHash> history_;
	// Host bans per prefix, for aggregation: prefix -> (addr, time) of recent bans.
	std::unordered_map<net::Cidr, std::vector<std::pair<net::IpAddress, util::TimePoint>>, CidrHash> recent_by_prefix_;
	std::array<uint32_t, 129> len_count_{}; // active bans per prefix length
	// Aggregation prefixes a source authenticated from -> when first noted
	// (bounded: kMaxKnownPrefixes; when full, entries older than a day go).
	std::unordered_map<net::Cidr, util::TimePoint, CidrHash> known_prefixes_;
	bool known_prefix_locked(const net::Cidr& prefix, util::TimePoint now) const;
	std::atomic<uint64_t> generation_{1};
};

} // namespace sipguard::engine
