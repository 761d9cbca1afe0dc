// SPDX-License-Identifier: GPL-2.0-or-later
// What the checks of the kernel against the ban records found (status,
// metrics), and which of a check's findings are differences worth counting.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>

#include "agent/detect/finding.h"
#include "rules/ban_diff.h"
#include "rules/monitor.h"

namespace sipguard::daemon {

// The `what` labels of sipguard_kernel_repairs_total, in export order.
inline constexpr std::array<rules::What, 5> kRepairLabels = {rules::What::Table, rules::What::Chain, rules::What::Rule,
                                                             rules::What::Set, rules::What::Element};

// Host elements are written in whole seconds rounded up (kernel_timeout), so
// the kernel may hold a host up to 1 s longer than its record, and the ban
// manager ends records on a 1 s tick; a check must not call either a
// difference. Jiffies and the listing's latency add a few ms.
inline constexpr std::chrono::milliseconds kCheckTolerance{1500};

// The cause of the checks the main loop runs on its timer.
inline constexpr const char* kPeriodicCause = "periodic check";

struct KernelHealth {
	bool checked = false; // a check has run (the restore at start is the first)
	// After the last check and its repair, the kernel holds exactly the
	// spec's table and the records' projection.
	bool in_sync = false;
	// Ban elements that still differ after the last repair (the kernel
	// refused them).
	size_t divergent_elements = 0;
	uint64_t checks_clean = 0;
	uint64_t checks_repaired = 0;
	uint64_t checks_failed = 0; // the kernel could not be read or the table not installed
	std::array<uint64_t, kRepairLabels.size()> repairs{}; // findings repaired, by kRepairLabels
	util::TimePoint last_check{};
	std::string last_repair; // "" until a check found something: what and its cause
	util::TimePoint last_repair_at{};
};

// Ban elements in `diff` that are real differences. Not counted: an element
// the kernel still holds for less than `tolerance` after its record ended
// (kernel_timeout rounds up; the manager's expiry tick), and a piece whose
// record ends within `tolerance` while the kernel's element already ended.
// Either way the repair still applies the diff.
size_t significant_elements(const rules::ElementDiff& diff, std::chrono::milliseconds tolerance = kCheckTolerance);

} // namespace sipguard::daemon
