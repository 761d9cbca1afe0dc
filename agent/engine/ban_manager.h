// SPDX-License-Identifier: GPL-2.0-or-later
// The ban manager turns findings into bans: policy (allowlist, trusted, dry
// run), the escalation ladder with bounded offence history, prefix
// aggregation, manual ban/unban, expiry, and the state the daemon persists and
// the control socket lists. Shared by all engine shards; the mutex is taken
// only on the slow path (findings, control, expiry).
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
	Allowlisted,   // allowlisted or trusted: never banned
	DryRun,        // logged as a finding only
	TableFull,     // max_active reached
	Reported,      // logged as a finding; the detector does not ask for a ban (call-limit)
	Invalid,       // not a usable address/prefix
};
std::string_view to_string(BanOutcome o);

struct BanResult {
	BanOutcome outcome = BanOutcome::Invalid;
	std::optional<BanRecord> ban;        // set when Banned / AlreadyBanned
	std::optional<BanRecord> prefix_ban; // a prefix ban this ban triggered
	bool drop() const { return outcome == BanOutcome::Banned || outcome == BanOutcome::AlreadyBanned; }
};

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
	std::vector<BanRecord> bans; // active bans covering the address (host and prefix)
	std::optional<OffenceHistory> history;
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

	// From a detector via an engine shard. Only `f.source` (the packet's
	// source) is ever banned.
	BanResult on_finding(const detect::Finding& f, util::TimePoint now);
	// Operator ban; duration 0 = next step of the ladder.
	BanResult ban(const net::Cidr& target, util::Millis duration, std::string_view reason, util::TimePoint now);
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

	// Bumped on every ban/unban/expiry/reconfigure: shards compare it to
	// revalidate their cached per-source ban state without taking the lock.
	uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

	BanSnapshot snapshot(util::TimePoint now) const;
	// Re-applies saved bans with their remaining time (re-announced to the
	// listener) and the offence history. Entries already expired are skipped.
	void restore(const BanSnapshot& s, util::TimePoint now);

private:
	struct CidrHash {
		uint64_t seed;
		size_t operator()(const net::Cidr& c) const noexcept;
	};

	bool policy_exempt_locked(const net::IpAddress& a) const;
	bool prefix_covers_exempt_locked(const net::Cidr& c) const;
	const BanRecord* covering_locked(const net::IpAddress& a, util::TimePoint now) const;
	BanRecord& install_locked(BanRecord rec, std::string_view event, util::TimePoint now);
	void remove_locked(const net::Cidr& target, std::string_view event, UnbanCause cause, util::TimePoint now);
	void prune_history_locked(util::TimePoint now);
	OffenceHistory& record_offence_locked(const net::Cidr& target, Detector d, std::string_view reason,
	                                      util::TimePoint now);
	util::Millis ladder_locked(uint32_t offence_count) const;
	std::optional<BanRecord> maybe_prefix_ban_locked(const net::IpAddress& a, util::TimePoint now);
	void log_locked(std::string_view event, const BanRecord& r, util::TimePoint now);
	void log_finding_locked(const detect::Finding& f, std::string_view note);
	void bump();

	mutable std::mutex mu_;
	BanConfig ban_cfg_;
	std::vector<net::Cidr> allowlist_;
	std::vector<net::Cidr> trusted_;
	bool dry_run_ = false;
	BanLog* log_ = nullptr;
	BanListener* listener_ = nullptr;

	// Banned addresses are chosen by whoever sends the packets (spoofed UDP):
	// the maps hash them under a seed.
	std::unordered_map<net::Cidr, BanRecord, CidrHash> active_;
	std::unordered_map<net::Cidr, OffenceHistory, CidrHash> history_;
	// Host bans per prefix, for aggregation: prefix -> (addr, time) of recent bans.
	std::unordered_map<net::Cidr, std::vector<std::pair<net::IpAddress, util::TimePoint>>, CidrHash> recent_by_prefix_;
	std::array<uint32_t, 129> len_count_{}; // active bans per prefix length
	std::atomic<uint64_t> generation_{1};
};

} // namespace sipguard::engine
