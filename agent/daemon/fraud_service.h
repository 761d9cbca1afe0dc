// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's toll-fraud guard: one fraud::Guard and its engine::FraudGate
// shared by the shards, created when [fraud] is enabled, reconfigured on
// SIGHUP, its bad-number files reloaded when they change, its events written
// to the ban log, its locks and learned baseline saved in the state
// directory.
#pragma once

#include <atomic>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/engine/fraud_gate.h"
#include "agent/fraud/guard.h"
#include "agent/util/status.h"

namespace sipguard::daemon {

class Config;
struct Runtime;

// The ban log's line for a fraud event: event "fraud", the INVITE's source,
// detector "fraud", the event's JSON as evidence.
struct FraudLogLine {
	std::string reason;
	std::string evidence_json;
	std::string evidence_text;
};
FraudLogLine fraud_log_line(const fraud::Event& e);

// The state directory's files of the guard.
inline constexpr const char* kFraudLocksFile = "fraud-locks.txt";
inline constexpr const char* kFraudBaselineFile = "fraud-baseline.txt";

class FraudService final : public engine::FraudEvents {
public:
	explicit FraudService(Runtime& rt);

	// At start: the guard when [fraud] is enabled, its saved locks and
	// baseline restored. A failure (a data file, a time zone) names the key
	// or file:line; the daemon does not start with a broken fraud policy.
	[[nodiscard]] util::Status start(const Config& cfg);
	// Before a reload applies anything: the new [fraud] settings load (their
	// files read and checked) or the reload is refused.
	[[nodiscard]] util::Status check(const Config& next) const;
	// The reload itself: the guard created, reconfigured or switched off
	// (kept, so that turning it on again keeps its accounts and locks).
	// The shards pick gate() up with the new config version.
	[[nodiscard]] util::Status apply(const Config& next);
	// Main loop, about once a second: bad-number files whose mtime or size
	// changed are reloaded (the old lists stay on an error), and the state
	// files written when locks or the baseline changed (at most every 10 s).
	void housekeeping();
	// Writes the state files now (stop, unlock).
	void save();

	// Null while the guard is off.
	engine::FraudGate* gate() const { return gate_.load(std::memory_order_acquire); }
	fraud::Guard* guard() const { return guard_.get(); }

	void on_fraud(const fraud::Event& e) override;

private:
	struct FileStamp {
		std::string path;
		int64_t mtime_ns = -1;
		int64_t size = -1;
	};
	static std::vector<FileStamp> stamp(const std::vector<std::string>& paths);
	// `c` with this daemon's random hash seed (accounts, Call-IDs, numbers).
	fraud::Config seeded(const fraud::Config& c) const;
	void restore();

	Runtime& rt_;
	uint64_t seed_;
	std::unique_ptr<fraud::Guard> guard_;
	std::unique_ptr<engine::FraudGate> owned_gate_;
	std::atomic<engine::FraudGate*> gate_{nullptr};
	std::vector<FileStamp> lists_;
	std::string saved_locks_, saved_baseline_;
	int ticks_ = 0;
	std::mutex save_mu_;
};

} // namespace sipguard::daemon
