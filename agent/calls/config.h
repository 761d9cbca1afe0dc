// SPDX-License-Identifier: GPL-2.0-or-later
// Call tracker settings: plain structs with documented defaults, plus the
// tracker's rows of the config schema (section [calls] and the
// [[calls.trunk]] tables), each bound to its field.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/row.h"
#include "agent/net/ip_address.h"

namespace sipguard::calls {

// Which source addresses may send media into a pinhole.
enum class NatPolicy : uint8_t {
	// Only the SDP c= address (RFC 4566 §5.7). Strict; breaks phones behind
	// NAT whose SDP carries a private address.
	Sdp,
	// The SDP address and the dialog's signalling source address (default):
	// a NATed phone usually sends RTP from the same public address as its SIP.
	SdpAndSignalling,
	// Only the signalling source address: for peers that always put unusable
	// addresses in SDP but send media from their SIP address.
	Signalling,
};
std::string_view to_string(NatPolicy p);
std::optional<NatPolicy> nat_policy_from_string(std::string_view s);

// What to do with an in-dialog request (BYE, CANCEL, re-INVITE, UPDATE, PRACK,
// REFER, INFO) from an untrusted source for a Call-ID the tracker never saw.
enum class UnknownDialogPolicy : uint8_t {
	// Drop and count (default). Trade-off: dialogs set up while the agent was
	// not running (restart) cannot be torn down or re-INVITEd by the remote
	// side until they end; the PBX's own requests still pass, and trunks
	// (trusted) are exempt.
	Drop,
	// Accept and count: nothing is lost after a restart, but forged BYEs for
	// calls the agent did not see reach the PBX.
	Accept,
};
std::string_view to_string(UnknownDialogPolicy p);
std::optional<UnknownDialogPolicy> unknown_dialog_policy_from_string(std::string_view s);

// 0 means unlimited for every field.
struct Limits {
	uint32_t max_concurrent_calls = 0;
	uint32_t max_call_attempts_per_minute = 0;
};

// A named group of peers (an ITSP's signalling and media addresses). Dialogs
// with any address of a trunk accept in-dialog requests from every address of
// it (providers send BYE from another node), and the trunk's limits replace the
// per-source limits for its addresses.
struct Trunk {
	std::string name;
	std::vector<net::Cidr> networks;
	Limits limits{};      // default unlimited: a trunk carries many calls
	bool trusted = true;  // exempt from the unknown-dialog policy and forged checks
};

struct Config {
	using Seconds = std::chrono::seconds;

	// Table sizes, per engine shard. A dialog costs about 5 KB (Tracker::bytes_per_dialog()): 4096 take 21 MB.
	uint32_t max_dialogs = 4096;
	uint32_t max_pinholes = 16384;
	uint32_t max_tracked_sources = 8192;
	uint32_t max_tracked_users = 8192;

	// Kernel timeout of a pinhole element; the tracker refreshes it every
	// half timeout while the dialog lives. This is also how long media keeps
	// flowing after the agent dies.
	Seconds pinhole_timeout{120};
	// An INVITE without a final response is forgotten after this (RFC 3261
	// Timer C is "greater than 3 minutes").
	Seconds early_dialog_timeout{300};
	// A confirmed dialog without any signalling for this long is considered
	// gone (its BYE was lost or took another path). Calls without session
	// timers (RFC 4028) that last longer lose media: raise it if needed.
	Seconds call_idle_timeout{6 * 3600};
	// Ended dialogs are remembered this long so that retransmitted BYEs and
	// late responses are recognised (RFC 3261 Timer J/H: 64*T1 = 32 s).
	Seconds terminated_linger{32};

	NatPolicy nat_policy = NatPolicy::SdpAndSignalling;
	UnknownDialogPolicy unknown_dialog = UnknownDialogPolicy::Drop;

	// In-dialog requests for a known Call-ID from an address that is not a
	// party of it are always dropped and reported to the engine as offences;
	// the engine's forged-control detector (detect.forged.window /
	// max_messages) decides when the source is banned.

	// Call limits on new INVITEs (either direction): 0 = unlimited, the
	// default. An authenticated trunk at 40 calls/s is capacity, not an
	// attack (the flood detector bans unauthenticated floods and throttles
	// authenticated sources); set them to contain toll fraud or cap a site.
	Limits per_source{0, 0};
	Limits per_user{0, 0};
	std::vector<Trunk> trunks;

	// Seed for the table hashes (the daemon sets a random one).
	uint64_t hash_seed = 0x5eed5eedULL;

	// Every field checked against its row: an error message naming the key,
	// or nullopt.
	std::optional<std::string> validate() const;
};

// The tracker's rows, in file order ("calls.max_dialogs", ..., "calls.trunk"
// last), bound to Config. All apply at the next start: the tracker takes
// its config at construction.
std::span<const config::Row<Config>> rows();

// One scalar [calls] key ("nat_policy") set by hand, checked against its
// row: set_integer for the integer keys, set_text for the choices; the other
// is null. A view of rows() for code that sets a single key (tests, tools).
struct Parameter {
	template <class Arg>
	class Setter {
	public:
		Setter() = default;
		explicit Setter(const config::Row<Config>* row) : row_(row) {}
		// Fails (the row's message) when the row rejects `v`.
		util::Status operator()(Config& c, Arg v) const;
		bool operator==(std::nullptr_t) const { return row_ == nullptr; }

	private:
		const config::Row<Config>* row_ = nullptr;
	};

	std::string_view name; // key under [calls]
	std::string_view help;
	Setter<int64_t> set_integer;
	Setter<std::string_view> set_text;
};

std::span<const Parameter> parameters();
const Parameter* find_parameter(std::string_view name);

} // namespace sipguard::calls
