// SPDX-License-Identifier: GPL-2.0-or-later
// Checking the kernel's table against the spec and the ban records, and repairing any difference.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "agent/util/status.h"
#include "rules/apply.h"
#include "rules/ban_diff.h"
#include "rules/monitor.h"
#include "rules/netlink.h"
#include "rules/projection.h"
#include "rules/table.h"
#include "rules/table_state.h"

namespace sipguard::rules {

struct Discrepancy {
	enum class Kind : uint8_t { Missing, Extra, Different };
	What what = What::Table;
	Kind kind = Kind::Missing;
	std::string name;   // chain or set; for a rule its chain; for elements their set
	std::string detail; // for the log
};
std::string describe(const Discrepancy& d);

struct ReconcileReport {
	bool table_missing = false;
	bool queue_rule_missing = false; // a SIP queue rule of input or output is gone: SIP bypasses the agent
	// The table's layout: the table itself (missing, dormant), chains,
	// sets, rules and the contents the spec fixes (sipports, allow4/6).
	// Any entry here is repaired by reinstalling the table. When the table
	// is missing, only that is listed.
	std::vector<Discrepancy> structure;
	// Ban elements against the projection of the records (all missing
	// when the table is).
	ElementDiff elements;

	bool needs_reinstall() const { return !structure.empty(); }
	bool clean() const { return structure.empty() && elements.empty(); }
	// Findings per `what` label (table, chain, rule, set, element); for
	// elements: ban pieces missing + extra + retimed, plus fixed-content
	// elements of sipports/allow4/allow6.
	size_t count(What what) const;
	std::string summary() const;
};

// Pure: what differs between a read state and what `spec`, `backend` and
// the desired pieces (rules/projection.h) say the kernel should hold.
ReconcileReport compare_state(const TableState& state, const TableSpec& spec, QueueBackend backend,
                              std::span<const BanPiece> desired, DiffOptions options = {});

// Reads our table (rules/table_state.h) and compares it with `spec` and the
// ban manager's records projected at `now`. Changes nothing.
util::Result<ReconcileReport> reconcile(Netlink& nl, const TableSpec& spec, QueueBackend backend,
                                        std::span<const BanRecord> records, TimePoint now,
                                        DiffOptions options = {});

using Clock = std::function<TimePoint()>;
TimePoint system_now();

enum class BanScope : uint8_t {
	All,      // ban4, ban6, bannet4, bannet6
	Prefixes, // bannet4, bannet6 only (host bans keep going through Writer::ban/unban)
};

// Brings the ban sets in `scope` to the projection of `records` taken at
// now(): lists them, diffs (rules/ban_diff.h), applies with apply_robust.
// The table's layout is not checked (see repair). With Prefixes, pass every
// prefix record (host records are ignored); listing two small interval sets
// keeps this cheap enough to run on every prefix ban and unban. Fails when a
// set cannot be listed (missing: call repair).
util::Result<ApplyResult> sync_bans(Netlink& nl, std::span<const BanRecord> records, const Clock& now = system_now,
                                    BanScope scope = BanScope::All, DiffOptions options = {});

struct RepairResult {
	ReconcileReport found;   // what was wrong before the repair (count its labels)
	bool reinstalled = false; // the table was replaced (atomically, rules/table.h install)
	ApplyResult elements;    // the element operations that followed
	size_t invalid_records = 0; // records project() could not use (no address)
};

// Brings the kernel to `spec` + the records: reconcile; if the layout
// differs, install() the table anew in one transaction (keeping the ban and
// media elements that survive, with their remaining time), read it again;
// then delete and add ban elements (apply_robust) until the ban sets hold
// exactly the projection. The projection is taken from `now()` right after
// each read, so the timeouts written are exact to the read's latency.
// Fails only when the kernel cannot be read or the table cannot be
// installed, or still differs after reinstalling (a foreign process
// racing us); element refusals are in `elements.failures`.
util::Result<RepairResult> repair(Netlink& nl, const TableSpec& spec, QueueBackend backend,
                                  std::span<const BanRecord> records, const Clock& now = system_now,
                                  DiffOptions options = {});

} // namespace sipguard::rules
