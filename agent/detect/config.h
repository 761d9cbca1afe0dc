// SPDX-License-Identifier: GPL-2.0-or-later
// Detector thresholds: one plain struct per detector with documented
// defaults. The parameter table in agent/engine/config.h maps config keys
// (detect.*) onto these fields.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/detect/finding.h"

namespace sipguard::detect {

using namespace std::chrono_literals;

// A token bucket: `burst` requests at once, refilled at `rate` per second.
// At 500 req/s a bucket trips after burst * 500 / (500 - rate) requests, i.e.
// within (burst / (500 - rate)) seconds of the flood's start.
struct Rate {
	double rate = 0;  // tokens per second
	double burst = 0; // bucket size
};

struct ScannerConfig {
	bool enabled = true;
	// Case-insensitive substrings of User-Agent (THREATS.md: SIPVicious,
	// Kamailio's default cfg and secfilter samples).
	std::vector<std::string> user_agents{"friendly-scanner", "sipvicious", "sipcli", "VaxSIPUserAgent",
	                                     "pplsip",           "sundayddr",  "iWar",   "SIPScan",
	                                     "SIP Call",         "Cisco-SIPGateway", "PortSIP VoIP SDK",
	                                     "Nmap NSE",         "sip-scan",   "sipsak"};
	// Case-insensitive substrings of the From display name or user.
	std::vector<std::string> from_patterns{"sipvicious", "friendly-scanner"};
	// Exact (case-insensitive) From users used by scanners.
	std::vector<std::string> from_users{"nm", "voipgw"};
	// Behaviour: a source that never had a success, probing (OPTIONS, or
	// REGISTER/INVITE without credentials) several distinct users, or whose
	// probes are all answered with errors.
	Millis window = 60s;
	uint32_t probe_users = 4;  // distinct probed users without any success
	uint32_t error_probes = 10; // probes answered >= 400 (not 401/407) without any success;
	                            // above enumeration.max_users so distinct-user scans are enumeration's
};

struct EnumerationConfig {
	bool enabled = true;
	Millis window = 60s;
	// Distinct users answered 404/403/484/... (or challenged and never
	// followed up with credentials within challenge_grace), minus
	// success_credit per user that succeeded.
	uint32_t max_users = 8;
	uint32_t success_credit = 3;
	Millis challenge_grace = 2s;
	// Challenged users outstanding from a source that has never sent
	// credentials at all (a PBX answering 401 to every unknown user).
	uint32_t max_unanswered_challenges = 40;
	// Distinct users challenged or refused from ONE source port of a source
	// that has never sent credentials: one UA instance (one socket) asking
	// for many users is a scanner (svwar), while the phones of a NATed
	// office each get their own port from the NAT (RFC 4787 NAPT).
	// Checked when a request without credentials for a NEW user arrives:
	// it counts the OTHER users of that port already challenged or refused
	// and not answered with credentials, so a desk phone with up to this
	// many lines never trips it however its REGISTERs and 401s interleave
	// (each line answers its 401 with credentials). Sources the PBX knows
	// (a 2xx, or contacted by the PBX) are exempt.
	uint32_t max_users_per_port = 6;
	// The same for INVITE (svwar -m INVITE): a phone does not call several
	// distinct users that are all challenged or refused without ever
	// answering a challenge; svwar's ACKs double what reaches the PBX.
	uint32_t max_invite_users_per_port = 4;
	// Over hours (slow enumeration, one user every few seconds or minutes,
	// whatever the ports): distinct users refused or left challenged, minus
	// success_credit per user that succeeded, per source; and per /24
	// (/64) for the prefix's sources that never sent credentials nor
	// succeeded, when at least two of them contributed (a prefix ban).
	Millis long_window = 4h;
	uint32_t long_max_users = 10;
};

struct BruteForceConfig {
	bool enabled = true;
	Millis window = 10min;
	// Requests with credentials answered 401/407/403 per source (one failure
	// immediately followed by a success for the same user is forgiven: stale
	// nonce, RFC 2617 §3.2.1).
	uint32_t max_failures = 5;
	// Failures against one user from all sources in the window: past it, a
	// source's first failure on that user is enough (distributed cracking).
	uint32_t max_failures_per_user = 20;
	// Fast repeat (svcrack: one guess per ~12 ms): this many failed
	// credentialed requests for the SAME user and the same method from one
	// source within fast_window. A phone with a wrong password fails once
	// and retries after 30 s or more; a stale nonce is one failure then a
	// success (which clears the count); a phone answering a 407 for an
	// INVITE and a 401 for a REGISTER fails at most once per method.
	uint32_t fast_failures = 2;
	Millis fast_window = 5s;
};

// The account (digest username) as an identity beside the address. A
// source from which some account authenticated successfully (an office's
// NAT, a trunk) is known good: a failing account there is a misconfigured
// phone, and banning the address would cut off every phone behind it.
struct AccountConfig {
	bool enabled = true;
	// Failed authentications of one account from a known-good source (within
	// detect.brute_force.window) before that account's requests from that
	// source are dropped in the agent, the source not banned. The block
	// lasts ban.ladder's step for the pair; once blocked, the next failure
	// after a block blocks again, one step further.
	uint32_t pair_max_failures = 5;
	// Distinct accounts failing from one known-good source within the window
	// before the source is banned after all (guessing from behind a valid
	// account).
	uint32_t max_failing_accounts = 3;
	// An account failing from this many distinct addresses within
	// guard_window is under attack: for guard_time after its last failure,
	// credentials for it from sources where it never authenticated are
	// dropped (a source that failed for it before is banned), while the
	// sources where it authenticated keep working.
	uint32_t guard_sources = 3;
	Millis guard_window = 10min;
	Millis guard_time = 30min;
	// Requests with one account's credentials, from all sources together:
	// past this rate the excess is dropped and reported once a minute, no
	// ban (a cap for a trunk's account). 0 = no limit (default).
	Rate rate{0, 0};
};

struct FloodConfig {
	bool enabled = true;
	// Per source and method class. A phone's normal bursts (REGISTER + auth
	// retry, a call with PRACK/ACK/BYE, BLF SUBSCRIBEs) stay far below.
	Rate invite{10, 40};
	Rate register_{20, 40};
	Rate options{10, 40};
	Rate other{50, 120};
	// Per /24 (IPv4) or /64 (IPv6), all methods together: trips within
	// ~90 ms of a 500 req/s flood spread over many addresses of one prefix.
	Rate prefix{50, 40};
	// The prefix bucket applies once this many addresses of the prefix sent
	// requests within 10 s (2..4).
	uint32_t prefix_min_sources = 3;
	// Requests from sources with no success yet, all sources together; past
	// it such requests are dropped (not banned), counted as shed.
	Rate global_unknown{2000, 4000};
	// Tokens returned to a source's bucket per 2xx it receives, so a NATed
	// office whose registrations succeed is not a flood.
	double success_refund = 2;
	// Bucket sizes are multiplied by this for sources that have succeeded
	// (a 2xx to REGISTER/INVITE) or that the PBX itself contacts (trunks).
	double known_multiplier = 4;
	// ... and by this for sources from which an account authenticated (a 2xx
	// to credentials): their excess is dropped and reported once a minute,
	// never banned. Authenticated volume is a capacity question: a trunk at
	// 40 calls/s sends 80 INVITEs/s (each challenged once), well inside
	// INVITE 10/s x 10 plus the refunds of its 2xx.
	double authenticated_multiplier = 10;
};

struct MalformedConfig {
	bool enabled = true;
	Millis window = 60s;
	uint32_t max_messages = 10; // malformed/not-SIP (keep-alives and STUN excepted)
	// Pass malformed messages to the PBX (false) or drop them (true). Default
	// pass: a parser disagreement must not cut a phone off before the ban
	// threshold says it is an attack.
	bool drop = false;
};

struct ForgedConfig {
	bool enabled = true;
	// Case-insensitive Event values (up to ';') that reboot or reprovision phones.
	std::vector<std::string> events{"check-sync", "resync"};
	Millis window = 1h;
	uint32_t max_messages = 2; // dropped NOTIFYs before a ban
};

// Call limits (agent/calls: concurrent calls / attempts per minute per
// source, user or trunk). The tracker drops the INVITEs past a limit and
// reports each limited key at most once a minute; the engine writes that
// report to the ban log as a `call-limit` finding.
struct CallLimitConfig {
	// Also ban the source (ban ladder) on such a finding. Default off: a
	// busy but legitimate site hitting its limit should be told, not cut off.
	bool ban = false;
};

} // namespace sipguard::detect
