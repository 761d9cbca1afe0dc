// SPDX-License-Identifier: GPL-2.0-or-later
// The main loop's eye on the kernel: nf_tables notifications about our table
// (rules::Monitor), a timer, and requests from writer jobs turn into checks
// that repair the table on the rules writer's thread (kernel_sync.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/util/status.h"
#include "rules/monitor.h"

namespace sipguard::daemon {

class KernelSync;

// A flush of the ruleset sends one notification per object: wait this long
// after the first before checking, so one check sees the whole transaction.
inline constexpr std::chrono::milliseconds kCheckDebounce{100};
// Element expiry sends no notification and a lost one (ENOBUFS) says only
// that something changed; the timer catches what notifications do not tell.
inline constexpr std::chrono::seconds kCheckInterval{30};

class KernelWatch {
public:
	using Clock = std::chrono::steady_clock;

	explicit KernelWatch(KernelSync& sync) : sync_(sync) {}

	// In the daemon's network namespace. Our own sockets' changes (start-up,
	// writer, reload) must not come back as events: ignore their ports.
	[[nodiscard]] util::Status open();
	void ignore_port(uint32_t portid) { mon_.ignore_port(portid); }
	int fd() const { return mon_.is_open() ? mon_.fd() : -1; }

	// The monitor fd is readable: read what is there; the first event about
	// our table schedules a check kCheckDebounce later.
	void on_readable(Clock::time_point now);
	// Submits what is due (checks asked for by events, writer jobs, the
	// timer); returns the milliseconds until something will be due.
	int run_due(Clock::time_point now);

private:
	void schedule(Clock::time_point at);
	std::string take_cause();

	KernelSync& sync_;
	rules::Monitor mon_;
	std::optional<Clock::time_point> due_;
	Clock::time_point next_periodic_ = Clock::now() + kCheckInterval;
	// What the events since the last check said, for its log line.
	std::vector<std::string> causes_;
	size_t more_causes_ = 0;
	bool table_deleted_ = false;
};

} // namespace sipguard::daemon
