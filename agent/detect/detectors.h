// SPDX-License-Identifier: GPL-2.0-or-later
// Entry points of the detectors. Each is a set of free functions over the
// bounded per-source state: the engine calls them with the facts of one
// message and gets back at most one Finding (returns true and fills `out`,
// except `out.source`, which the engine sets from the packet).
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "agent/detect/account_table.h"
#include "agent/detect/config.h"
#include "agent/detect/facts.h"
#include "agent/detect/finding.h"
#include "agent/detect/pair_table.h"
#include "agent/detect/source_state.h"
#include "agent/detect/user_history.h"
#include "agent/sip/message.h"

namespace sipguard::detect {

// Fills the common fields of a finding.
void begin_finding(Finding& out, Detector d, std::string_view reason, util::TimePoint now, util::Millis window);
// Adds the source's sampled user names and User-Agent to the evidence.
void add_source_samples(Finding& out, const SourceState& st);

MethodClass method_class(sip::Method m);

namespace scanner {
// Signatures (User-Agent, From display/user), then behaviour (OPTIONS probes
// to several users from a source the PBX does not know).
bool on_request(const ScannerConfig& cfg, SourceState& st, const RequestFacts& r, util::TimePoint now, Finding& out);
// Probes answered with errors (>= 400 but not a challenge) from an unknown source.
bool on_response(const ScannerConfig& cfg, SourceState& st, const ResponseFacts& r, util::TimePoint now, Finding& out);
} // namespace scanner

// State the engine finds or creates only when a detector needs it (most
// messages never do), so sources and prefixes stay small: the source's /24
// (/64), and the long histories of enumeration in tables of their own
// (null when the engine has none, or `create` is false and there is none).
class LazyState {
public:
	virtual PrefixState* prefix() = 0;
	// `created` (may be null) says a new, empty history was made.
	virtual SourceHistory* history(bool create, bool* created = nullptr) = 0;
	virtual PrefixHistory* prefix_history(bool create) = 0;

protected:
	~LazyState() = default;
};

namespace enumeration {
// Ban / BanPrefix: `out` is filled (the source / its /24 or /64). Hold: drop
// the request without a finding (challenges left behind would pass the
// threshold; the grace will confirm them).
enum class Outcome : uint8_t { None, Ban, BanPrefix, Hold };
Outcome on_request(const EnumerationConfig& cfg, SourceState& st, LazyState& lazy, const RequestFacts& r,
                   util::TimePoint now, Finding& out);
Outcome on_response(const EnumerationConfig& cfg, SourceState& st, LazyState& lazy, const ResponseFacts& r,
                    util::TimePoint now, Finding& out);
} // namespace enumeration

namespace brute_force {
// What on_response decided: ban the source (or its prefix), or block the
// (source, account) pair (an Account finding, the source not banned).
enum class Outcome : uint8_t { None, Ban, BanPrefix, Block };
struct Context {
	const AccountConfig& accounts;
	std::span<const util::Millis> ladder; // durations of a pair's blocks (ban.ladder)
	PairState* pair = nullptr;            // (source, account) of a response to credentials
	// For an auth failure (is_auth_failure): what the engine recorded in the
	// AccountTable shared by every shard (a distributed attack spreads its
	// sources over all queues); null otherwise.
	const AccountTable::Failure* account = nullptr;
	// An IPv6 source's /64 for an auth failure: failures are aggregated per
	// /64 from the first one (one host, many addresses); null otherwise.
	PrefixState* v6_prefix = nullptr;
	uint64_t source_hash = 0;
};
Outcome on_response(const BruteForceConfig& cfg, const Context& ctx, SourceState& st, const ResponseFacts& r,
                    util::TimePoint now, Finding& out);
// A 2xx to credentials: the account works from this source (known good).
void on_auth_success(SourceState& st, PairState& pair, uint64_t account);
// Credentials for a guarded account from a source where it never
// authenticated (dropped): Ban when the source failed for it before or
// sent such credentials already (another transaction), BanPrefix when the
// /64 aggregation says so; else None (the drop is recorded as a failure).
Outcome on_guarded(const BruteForceConfig& cfg, const Context& ctx, SourceState& st, PairState& pair,
                   uint64_t txn, std::string_view account_name, util::TimePoint now, Finding& out);
} // namespace brute_force

namespace flood {
// Throttle: a source where an account authenticated is over its rate: drop
// the request, report `out` (wants_ban false), never ban.
enum class Hit : uint8_t { None, Source, Prefix, Throttle };
// `prefix` may be null (no prefix state: table disabled).
Hit on_request(const FloodConfig& cfg, SourceState& st, PrefixState* prefix, const RequestFacts& r, util::TimePoint now,
               Finding& out);
// A success refunds the source's bucket and, when given, its prefix's (so a
// whole site re-registering after an outage is not a prefix flood).
void on_response(const FloodConfig& cfg, SourceState& st, PrefixState* prefix, const ResponseFacts& r,
                 util::TimePoint now);
} // namespace flood

namespace malformed {
// `what` names the malformation or not-SIP kind (static text).
bool on_message(const MalformedConfig& cfg, SourceState& st, std::string_view what, util::TimePoint now, Finding& out);
} // namespace malformed

namespace forged {
// True for NOTIFY with an Event in cfg.events (RFC 6665 §8.2.1 event package
// name, compared case-insensitively up to ';').
bool is_forged_control(const ForgedConfig& cfg, const sip::Message& msg);
// Counts one dropped forged request (or a call-hook offence); true when the
// source passed the threshold.
bool on_offence(const ForgedConfig& cfg, SourceState& st, std::string_view what, std::string_view sample,
                util::TimePoint now, Finding& out);
} // namespace forged

} // namespace sipguard::detect
