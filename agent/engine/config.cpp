// SPDX-License-Identifier: GPL-2.0-or-later
// The engine's rows of the config schema: every detector threshold, the ban
// ladder and table sizes with type, range, default and help, each bound to
// its field of engine::Config.
#include "agent/engine/config.h"

#include <fmt/core.h>

#include "agent/config/loader.h"

namespace sipguard::engine {

namespace {

using T = ParamType;
using config::Apply;

const Param kParams[] = {
	// scanner
	{{.name = "detect.scanner.enabled", .type = T::Bool, .default_value = "true",
	      .help = "Detect scanners by signature and by behaviour."},
	 config::bind<&Config::scanner, &ScannerConfig::enabled>()},
	{{.name = "detect.scanner.user_agents", .type = T::StringList,
	      .default_value = "[\"friendly-scanner\", \"sipvicious\", \"sipcli\", \"VaxSIPUserAgent\", \"pplsip\", "
	                       "\"sundayddr\", \"iWar\", \"SIPScan\", \"SIP Call\", \"Cisco-SIPGateway\", "
	                       "\"PortSIP VoIP SDK\", \"Nmap NSE\", \"sip-scan\", \"sipsak\"]",
	      .help = "User-Agent substrings (case-insensitive) that mark a scanner: banned on its first request.\n"
	              "Put genuine devices that use one of these in policy.trusted.",
	      .max_items = 256},
	 config::bind<&Config::scanner, &ScannerConfig::user_agents>()},
	{{.name = "detect.scanner.from_patterns", .type = T::StringList,
	      .default_value = "[\"sipvicious\", \"friendly-scanner\"]",
	      .help = "Substrings (case-insensitive) of the From display name or user that mark a scanner.",
	      .max_items = 256},
	 config::bind<&Config::scanner, &ScannerConfig::from_patterns>()},
	{{.name = "detect.scanner.from_users", .type = T::StringList, .default_value = "[\"nm\", \"voipgw\"]",
	      .help = "From users (exact, case-insensitive) that mark a scanner.", .max_items = 256},
	 config::bind<&Config::scanner, &ScannerConfig::from_users>()},
	{{.name = "detect.scanner.window", .type = T::Duration, .default_value = "\"1m\"",
	      .help = "Window of the behavioural scanner counters.", .min = 1000, .max = 86400000},
	 config::bind<&Config::scanner, &ScannerConfig::window>()},
	{{.name = "detect.scanner.probe_users", .type = T::Int, .default_value = "4",
	      .help = "OPTIONS probes to this many distinct users from a source the PBX does not know\n"
	              "(no success, no credentials, not contacted by the PBX) mark a scanner.",
	      .min = 2, .max = 1000},
	 config::bind<&Config::scanner, &ScannerConfig::probe_users>()},
	{{.name = "detect.scanner.error_probes", .type = T::Int, .default_value = "10",
	      .help = "Probes (OPTIONS; REGISTER/INVITE without credentials) answered with errors other than\n"
	              "a challenge, from a source the PBX does not know, that mark a scanner.",
	      .min = 2, .max = 10000},
	 config::bind<&Config::scanner, &ScannerConfig::error_probes>()},
	// enumeration
	{{.name = "detect.enumeration.enabled", .type = T::Bool, .default_value = "true",
	      .help = "Detect extension enumeration (svwar)."},
	 config::bind<&Config::enumeration, &EnumerationConfig::enabled>()},
	{{.name = "detect.enumeration.window", .type = T::Duration, .default_value = "\"1m\"",
	      .help = "Sliding window over which distinct target users are counted (a user counts while its last\n"
	              "request or response is younger than this; at most 18 h).",
	      .min = 1000, .max = 64800000},
	 config::bind<&Config::enumeration, &EnumerationConfig::window>()},
	{{.name = "detect.enumeration.max_users", .type = T::Int, .default_value = "8",
	      .help = "Distinct users answered 404/403/484/604 (or challenged and never retried with credentials\n"
	              "within challenge_grace), minus success_credit per user that succeeded, before a ban.",
	      .min = 2, .max = 10000},
	 config::bind<&Config::enumeration, &EnumerationConfig::max_users>()},
	{{.name = "detect.enumeration.success_credit", .type = T::Int, .default_value = "3",
	      .help = "Failed users forgiven per user of the same source that registered or called successfully.",
	      .min = 0, .max = 1000},
	 config::bind<&Config::enumeration, &EnumerationConfig::success_credit>()},
	{{.name = "detect.enumeration.challenge_grace", .type = T::Duration, .default_value = "\"2s\"",
	      .help = "A 401/407 not followed by a request with credentials for the same user within this time\n"
	              "counts as a failed user (real phones answer a challenge within milliseconds).",
	      .min = 100, .max = 600000},
	 config::bind<&Config::enumeration, &EnumerationConfig::challenge_grace>()},
	{{.name = "detect.enumeration.max_unanswered_challenges", .type = T::Int, .default_value = "40",
	      .help = "Distinct users challenged at once from a source that never sent credentials (a PBX that\n"
	              "answers 401 to unknown users too); above a NATed office's phone count.",
	      .min = 2, .max = 10000},
	 config::bind<&Config::enumeration, &EnumerationConfig::max_unanswered_challenges>()},
	{{.name = "detect.enumeration.max_users_per_port", .type = T::Int, .default_value = "6",
	      .help = "Distinct users challenged (401/407) or refused from one source port of a source that has\n"
	              "never sent credentials and never succeeded, counted when a request without credentials\n"
	              "for yet another user arrives from that port (it is dropped and the source banned). One\n"
	              "socket asking for many users is a scanner; NATed phones each have their own port, and a\n"
	              "desk phone with up to this many lines answers its challenges with credentials.",
	      .min = 2, .max = 10000},
	 config::bind<&Config::enumeration, &EnumerationConfig::max_users_per_port>()},
	{{.name = "detect.enumeration.max_invite_users_per_port", .type = T::Int, .default_value = "4",
	      .help = "The same for INVITE (svwar -m INVITE): distinct called users challenged or refused from\n"
	              "one source port, credentials never sent, before the next INVITE to another user is\n"
	              "dropped and the source banned.",
	      .min = 2, .max = 10000},
	 config::bind<&Config::enumeration, &EnumerationConfig::max_invite_users_per_port>()},
	{{.name = "detect.enumeration.long_window", .type = T::Duration, .default_value = "\"4h\"",
	      .help = "Window of the slow-enumeration rule: distinct users refused or left challenged from one\n"
	              "source over hours, whatever its source ports.",
	      .min = 60000, .max = 30LL * 86400000},
	 config::bind<&Config::enumeration, &EnumerationConfig::long_window>()},
	{{.name = "detect.enumeration.long_max_users", .type = T::Int, .default_value = "10",
	      .help = "Distinct users refused or left challenged within long_window (minus success_credit per user\n"
	              "that succeeded) before a ban; also per /24 (/64) over its sources that never sent\n"
	              "credentials nor succeeded, when at least two contributed (a prefix ban).",
	      .min = 2, .max = 12},
	 config::bind<&Config::enumeration, &EnumerationConfig::long_max_users>()},
	// brute force
	{{.name = "detect.brute_force.enabled", .type = T::Bool, .default_value = "true",
	      .help = "Detect password guessing (svcrack)."},
	 config::bind<&Config::brute_force, &BruteForceConfig::enabled>()},
	{{.name = "detect.brute_force.window", .type = T::Duration, .default_value = "\"10m\"",
	      .help = "Window over which failed authentications are counted.", .min = 1000, .max = 604800000},
	 config::bind<&Config::brute_force, &BruteForceConfig::window>()},
	{{.name = "detect.brute_force.max_failures", .type = T::Int, .default_value = "5",
	      .help = "Requests with credentials answered 401/407/403 from one source before a ban.\n"
	              "A first challenge is not a failure; a stale-nonce retry that then succeeds is forgiven.",
	      .min = 1, .max = 10000},
	 config::bind<&Config::brute_force, &BruteForceConfig::max_failures>()},
	{{.name = "detect.brute_force.max_failures_per_user", .type = T::Int, .default_value = "20",
	      .help = "Failures on one user from all sources; past it every failing source is banned at once.",
	      .min = 1, .max = 100000},
	 config::bind<&Config::brute_force, &BruteForceConfig::max_failures_per_user>()},
	{{.name = "detect.brute_force.fast_failures", .type = T::Int, .default_value = "2",
	      .help = "Requests with credentials for the same user and method answered 401/407/403 from one\n"
	              "source within fast_window before a ban (svcrack guesses every few ms; a phone with a\n"
	              "wrong password retries after 30 s or more). A success for the user clears the count\n"
	              "(stale nonce). 0 disables the rule.",
	      .min = 0, .max = 10000},
	 config::bind<&Config::brute_force, &BruteForceConfig::fast_failures>()},
	{{.name = "detect.brute_force.fast_window", .type = T::Duration, .default_value = "\"5s\"",
	      .help = "Window of the fast-repeat rule (at most detect.enumeration.window, which bounds the\n"
	              "per-user state).",
	      .min = 100, .max = 600000},
	 config::bind<&Config::brute_force, &BruteForceConfig::fast_window>()},
	// flood
	{{.name = "detect.flood.enabled", .type = T::Bool, .default_value = "true",
	      .help = "Rate-limit requests per source and per /24 (/64)."},
	 config::bind<&Config::flood, &FloodConfig::enabled>()},
// A token bucket is two rows, its refill rate and its size.
#define SG_RATE(key, field, drate, dburst, what)                                                          \
	Param{{.name = "detect.flood." key "_rate", .type = T::Float, .default_value = drate,                 \
	       .help = what " requests per second allowed (token bucket refill).", .fmin = 0.1, .fmax = 1e6}, \
	      config::bind<&Config::flood, &FloodConfig::field, &Rate::rate>()},                              \
	Param{{.name = "detect.flood." key "_burst", .type = T::Float, .default_value = dburst,               \
	       .help = what " requests allowed at once (bucket size); the flood is detected after about\n"   \
	               "burst * R / (R - rate) requests at R per second.",                                    \
	       .fmin = 1, .fmax = 1e6},                                                                       \
	      config::bind<&Config::flood, &FloodConfig::field, &Rate::burst>()}
	SG_RATE("invite", invite, "10.0", "40.0", "INVITE"),
	SG_RATE("register", register_, "20.0", "40.0", "REGISTER"),
	SG_RATE("options", options, "10.0", "40.0", "OPTIONS"),
	SG_RATE("other", other, "50.0", "120.0", "Other (SUBSCRIBE, NOTIFY, ACK, BYE, ...)"),
	SG_RATE("prefix", prefix, "50.0", "40.0", "Per /24 (IPv4) or /64 (IPv6), from sources the PBX does not know,"),
	SG_RATE("global_unknown", global_unknown, "2000.0", "4000.0",
	        "All sources the PBX does not know together (past it their requests are shed, not banned),"),
#undef SG_RATE
	{{.name = "detect.flood.prefix_min_sources", .type = T::Int, .default_value = "3",
	      .help = "The per-prefix bucket applies once this many addresses of the prefix sent requests within\n"
	              "10 s, so one host's flood bans that host, not its /24.",
	      .min = 2, .max = 4},
	 config::bind<&Config::flood, &FloodConfig::prefix_min_sources>()},
	{{.name = "detect.flood.success_refund", .type = T::Float, .default_value = "2.0",
	      .help = "Tokens given back to a source's bucket for each 2xx it receives.", .fmin = 0, .fmax = 1000},
	 config::bind<&Config::flood, &FloodConfig::success_refund>()},
	{{.name = "detect.flood.known_multiplier", .type = T::Float, .default_value = "4.0",
	      .help = "Bucket sizes and rates multiplied by this for sources that have succeeded or that the PBX\n"
	              "contacts itself (trunks, registered phones).",
	      .fmin = 1, .fmax = 1000},
	 config::bind<&Config::flood, &FloodConfig::known_multiplier>()},
	{{.name = "detect.flood.authenticated_multiplier", .type = T::Float, .default_value = "10.0",
	      .help = "Bucket sizes and rates multiplied by this for sources from which an account authenticated\n"
	              "(a 2xx to credentials); their excess is dropped and reported once a minute, never banned\n"
	              "(authenticated volume is capacity: a trunk at 40 calls/s passes with the defaults).",
	      .fmin = 1, .fmax = 1000},
	 config::bind<&Config::flood, &FloodConfig::authenticated_multiplier>()},
	// malformed
	{{.name = "detect.malformed.enabled", .type = T::Bool, .default_value = "true",
	      .help = "Count malformed and non-SIP messages per source (keep-alives and STUN excepted)."},
	 config::bind<&Config::malformed, &MalformedConfig::enabled>()},
	{{.name = "detect.malformed.window", .type = T::Duration, .default_value = "\"1m\"",
	      .help = "Window over which malformed messages are counted.", .min = 1000, .max = 86400000},
	 config::bind<&Config::malformed, &MalformedConfig::window>()},
	{{.name = "detect.malformed.max_messages", .type = T::Int, .default_value = "10",
	      .help = "Malformed messages from one source before a ban.", .min = 1, .max = 100000},
	 config::bind<&Config::malformed, &MalformedConfig::max_messages>()},
	{{.name = "detect.malformed.drop", .type = T::Bool, .default_value = "false",
	      .help = "Drop each malformed message (true) or pass it to the PBX until the source is banned (false)."},
	 config::bind<&Config::malformed, &MalformedConfig::drop>()},
	// forged control
	{{.name = "detect.forged.enabled", .type = T::Bool, .default_value = "true",
	      .help = "Drop NOTIFY check-sync/resync from untrusted sources and ban repeat senders."},
	 config::bind<&Config::forged, &ForgedConfig::enabled>()},
	{{.name = "detect.forged.events", .type = T::StringList, .default_value = "[\"check-sync\", \"resync\"]",
	      .help = "NOTIFY Event packages (case-insensitive, parameters ignored) only trusted peers may send.",
	      .max_items = 64},
	 config::bind<&Config::forged, &ForgedConfig::events>()},
	{{.name = "detect.forged.window", .type = T::Duration, .default_value = "\"1h\"",
	      .help = "Window over which forged control requests are counted.", .min = 1000, .max = 604800000},
	 config::bind<&Config::forged, &ForgedConfig::window>()},
	{{.name = "detect.forged.max_messages", .type = T::Int, .default_value = "2",
	      .help = "Forged control requests (each dropped) from one source before a ban.", .min = 1, .max = 10000},
	 config::bind<&Config::forged, &ForgedConfig::max_messages>()},
	// call limits (reported by the call tracker)
	{{.name = "detect.call_limit.ban", .type = T::Bool, .default_value = "false",
	      .help = "Ban a source whose INVITEs hit a call limit (calls.*); by default the tracker only drops\n"
	              "the INVITEs past the limit and the ban log gets a `finding` with detector call-limit."},
	 config::bind<&Config::call_limit, &CallLimitConfig::ban>()},
	// accounts
	{{.name = "detect.account.enabled", .type = T::Bool, .default_value = "true",
	      .help = "Judge accounts beside addresses: a failing account from a source where other accounts\n"
	              "authenticate is blocked for that source (its requests dropped), the source not banned."},
	 config::bind<&Config::account, &AccountConfig::enabled>()},
	{{.name = "detect.account.pair_max_failures", .type = T::Int, .default_value = "5",
	      .help = "Failed authentications of one account from a source where an account authenticated (an\n"
	              "office NAT, a trunk), within detect.brute_force.window, before that account's requests from\n"
	              "that source are dropped (for ban.ladder's step; after a block, one failure blocks again,\n"
	              "one step further). The source and its other accounts keep working.",
	      .min = 1, .max = 10000},
	 config::bind<&Config::account, &AccountConfig::pair_max_failures>()},
	{{.name = "detect.account.max_failing_accounts", .type = T::Int, .default_value = "3",
	      .help = "Distinct accounts failing from one such source within detect.brute_force.window before the\n"
	              "source is banned after all (at most 4).",
	      .min = 2, .max = 4},
	 config::bind<&Config::account, &AccountConfig::max_failing_accounts>()},
	{{.name = "detect.account.guard_sources", .type = T::Int, .default_value = "3",
	      .help = "Distinct addresses failing for one account within guard_window that put it under guard: its\n"
	              "credentials from sources where it never authenticated are dropped (a source that failed\n"
	              "for it before is banned; an IPv6 /64 aggregates), the sources where it authenticated keep\n"
	              "working (at most 8).",
	      .min = 2, .max = 8},
	 config::bind<&Config::account, &AccountConfig::guard_sources>()},
	{{.name = "detect.account.guard_window", .type = T::Duration, .default_value = "\"10m\"",
	      .help = "Window over which an account's failing addresses are counted.", .min = 1000, .max = 86400000},
	 config::bind<&Config::account, &AccountConfig::guard_window>()},
	{{.name = "detect.account.guard_time", .type = T::Duration, .default_value = "\"30m\"",
	      .help = "How long an account stays guarded after its last failure.", .min = 1000, .max = 7LL * 86400000},
	 config::bind<&Config::account, &AccountConfig::guard_time>()},
	{{.name = "detect.account.rate", .type = T::Float, .default_value = "0.0",
	      .help = "Requests per second with one account's credentials, from the sources where it authenticated,\n"
	              "all together; the excess is dropped and reported once a minute (finding `account`), never\n"
	              "banned. 0 = no limit. A cap for a trunk's account; see also calls.max_call_attempts_per_user.",
	      .fmin = 0, .fmax = 1e6},
	 config::bind<&Config::account, &AccountConfig::rate, &Rate::rate>()},
	{{.name = "detect.account.burst", .type = T::Float, .default_value = "0.0",
	      .help = "Requests with one account's credentials allowed at once under detect.account.rate.",
	      .fmin = 0, .fmax = 1e6},
	 config::bind<&Config::account, &AccountConfig::rate, &Rate::burst>()},
	// bans
	{{.name = "ban.ladder", .type = T::DurationList, .default_value = "[\"10m\", \"1h\", \"24h\", \"7d\"]",
	      .help = "Ban duration per offence: the first ban lasts ladder[0], the second ladder[1], ...;\n"
	              "later offences keep the last step.",
	      .min = 1000, .max = 365LL * 86400000, .min_items = 1, .max_items = 16, .ascending = true},
	 config::bind<&Config::ban, &BanConfig::ladder>()},
	{{.name = "ban.history_ttl", .type = T::Duration, .default_value = "\"30d\"",
	      .help = "Offences older than this no longer escalate the ladder.", .min = 60000,
	      .max = 3650LL * 86400000},
	 config::bind<&Config::ban, &BanConfig::history_ttl>()},
	{{.name = "ban.max_history", .type = T::Int, .default_value = "100000",
	      .help = "Addresses whose offence history is kept (oldest forgotten first).", .min = 100,
	      .max = 10000000},
	 config::bind<&Config::ban, &BanConfig::max_history>()},
	{{.name = "ban.prefix_enabled", .type = T::Bool, .default_value = "true",
	      .help = "Ban a whole /24 (/64) when several of its addresses are banned."},
	 config::bind<&Config::ban, &BanConfig::prefix_enabled>()},
	{{.name = "ban.prefix_threshold", .type = T::Int, .default_value = "3",
	      .help = "Distinct banned addresses of one prefix within prefix_window that make a prefix ban.",
	      .min = 2, .max = 65536},
	 config::bind<&Config::ban, &BanConfig::prefix_threshold>()},
	{{.name = "ban.prefix_window", .type = T::Duration, .default_value = "\"10m\"",
	      .help = "Window for prefix aggregation.", .min = 1000, .max = 604800000},
	 config::bind<&Config::ban, &BanConfig::prefix_window>()},
	{{.name = "ban.prefix_len_v4", .type = T::Int, .default_value = "24",
	      .help = "IPv4 aggregation prefix length (flood prefix buckets and prefix bans).", .min = 8, .max = 32},
	 config::bind<&Config::ban, &BanConfig::prefix_len_v4>()},
	{{.name = "ban.prefix_len_v6", .type = T::Int, .default_value = "64",
	      .help = "IPv6 aggregation prefix length.", .min = 16, .max = 128},
	 config::bind<&Config::ban, &BanConfig::prefix_len_v6>()},
	{{.name = "ban.max_active", .type = T::Int, .default_value = "200000",
	      .help = "Active bans held; past it new findings are logged but not banned.", .min = 1, .max = 10000000},
	 config::bind<&Config::ban, &BanConfig::max_active>()},
	{{.name = "ban.min_prefix_v4", .type = T::Int, .default_value = "16",
	      .help = "No IPv4 ban from a detector, prefix aggregation or `sipguard ban` is broader than this\n"
	              "prefix length (`sipguard ban --force` lifts it for one ban; saved bans are restored as\n"
	              "made). /0, loopback, link-local, multicast, this host's addresses, policy.allowlist and\n"
	              "policy.trusted are refused always, whatever asks.",
	      .min = 1, .max = 32},
	 config::bind<&Config::ban, &BanConfig::min_prefix_v4>()},
	{{.name = "ban.min_prefix_v6", .type = T::Int, .default_value = "32",
	      .help = "No IPv6 ban is broader than this prefix length (as ban.min_prefix_v4).", .min = 1,
	      .max = 128},
	 config::bind<&Config::ban, &BanConfig::min_prefix_v6>()},
	// tables: their sizes are fixed at construction (Engine::set_config keeps them)
	{{.name = "engine.sources", .type = T::Int, .default_value = "16384",
	      .help = "Per-source states per queue thread (fixed memory, about 1.3 KB each; CLOCK eviction beyond:\n"
	              "a flood from more addresses costs no more memory, evictions are counted).",
	      .min = 1024, .max = 16777216, .apply = Apply::Restart},
	 config::bind<&Config::tables, &TableConfig::sources>()},
	{{.name = "engine.prefixes", .type = T::Int, .default_value = "16384",
	      .help = "Per-/24 and per-/64 states per queue thread.", .min = 256, .max = 16777216,
	      .apply = Apply::Restart},
	 config::bind<&Config::tables, &TableConfig::prefixes>()},
	{{.name = "engine.transactions", .type = T::Int, .default_value = "32768",
	      .help = "Requests awaiting the PBX's response, per queue thread.", .min = 256, .max = 16777216,
	      .apply = Apply::Restart},
	 config::bind<&Config::tables, &TableConfig::transactions>()},
	{{.name = "engine.tcp_flows", .type = T::Int, .default_value = "256",
	      .help = "TCP stream directions with a reassembly buffer (64 KiB each, allocated on first use).",
	      .min = 4, .max = 65536, .apply = Apply::Restart},
	 config::bind<&Config::tables, &TableConfig::tcp_flows>()},
	{{.name = "engine.tcp_flows_per_source", .type = T::Int, .default_value = "32",
	      .help = "TCP stream directions one remote address may hold (each direction of a connection is one); "
	              "a new connection beyond it is dropped. Allowlisted and trusted addresses have no limit.",
	      .min = 1, .max = 65536, .apply = Apply::Restart},
	 config::bind<&Config::tables, &TableConfig::tcp_flows_per_source>()},
	{{.name = "engine.accounts", .type = T::Int, .default_value = "16384",
	      .help = "Accounts (digest usernames) whose failures are counted, one table shared by all queue\n"
	              "threads (fixed memory, about 200 bytes each; CLOCK eviction beyond, counted).",
	      .min = 256, .max = 16777216, .apply = Apply::Restart},
	 config::bind<&Config::tables, &TableConfig::accounts>()},
	{{.name = "engine.account_pairs", .type = T::Int, .default_value = "32768",
	      .help = "(source, account) pairs per queue thread: which accounts authenticated from which source,\n"
	              "and their failures there (fixed memory, about 80 bytes each; CLOCK eviction beyond).",
	      .min = 256, .max = 16777216, .apply = Apply::Restart},
	 config::bind<&Config::tables, &TableConfig::account_pairs>()},
	{{.name = "engine.transaction_timeout", .type = T::Duration, .default_value = "\"32s\"",
	      .help = "How long a request waits for its response (RFC 3261 Timer B/F, 64*T1).", .min = 1000,
	      .max = 600000, .apply = Apply::Restart},
	 config::bind<&Config::tables, &TableConfig::transaction_timeout>()},
};

} // namespace

std::span<const Param> params() { return kParams; }

const Param* find_param(std::string_view name)
{
	for (const auto& p : kParams)
		if (p.name == name)
			return &p;
	return nullptr;
}

std::string validate(const Param& p, const ParamValue& v)
{
	return config::check(p, v).message;
}

std::string apply(Config& c, const Param& p, const ParamValue& v)
{
	return config::assign(p, c, v).message;
}

std::string check(const Config& c)
{
	return config::check_all(params(), c).message;
}

} // namespace sipguard::engine
