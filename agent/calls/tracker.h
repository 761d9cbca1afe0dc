// SPDX-License-Identifier: GPL-2.0-or-later
// The call tracker: follows INVITE dialogs and their SDP offer/answer (RFC
// 3261, 3262, 3264, 3311), decides which media pinholes must be open, checks
// that in-dialog requests come from a party of the dialog, and enforces call
// limits. Pure: no syscalls, time passed in, fixed-capacity tables.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "agent/calls/config.h"
#include "agent/calls/events.h"
#include "agent/calls/shared_limits.h"
#include "agent/net/ip_address.h"
#include "agent/sip/message.h"
#include "agent/sip/sdp.h"
#include "agent/util/bounded_table.h"
#include "agent/util/lru_table.h"
#include "agent/util/slot_lists.h"
#include "nfq/packet_view.h"

namespace sipguard::calls {

// Streams (m= lines) followed per dialog side; later m-lines are ignored and
// counted (audio + video + two more covers real phones).
inline constexpr size_t kMaxStreams = 4;
// Early dialogs (distinct To tags) per (remote, Call-ID) when a proxy forks.
inline constexpr size_t kMaxForks = 3;
// ICE candidate addresses (RFC 8445 a=candidate) kept per stream besides c=:
// server-reflexive and relayed ones first, they are what arrives over NAT.
inline constexpr size_t kMaxCandidates = 2;
// Pinholes one fork may hold: streams x (RTP, RTCP) x (SDP, signalling,
// candidates) x (current, pending re-offer).
inline constexpr size_t kMaxPinholesPerFork = kMaxStreams * 2 * (2 + kMaxCandidates) * 2;
// Dialogs sharing one Call-ID (hairpins, proxies forwarding, forks via
// different addresses); an INVITE past this is not tracked (counted).
inline constexpr size_t kMaxDialogsPerCallId = 8;

struct MessageContext {
	net::IpAddress remote;                         // far end (PacketView::remote)
	nfq::Direction direction = nfq::Direction::In; // In: sent by `remote`
	util::TimePoint now{};
	bool trusted = false; // allowlisted by the engine's policy (trunks are known here)
};

enum class Decision : uint8_t {
	Accept,
	DropForged,        // in-dialog request for a known Call-ID from a non-party
	DropUnknownDialog, // in-dialog request for an unknown Call-ID (policy "drop")
	DropCallLimit,     // new INVITE past a call limit
};
std::string_view to_string(Decision d);

// Counters ("pegs"); read by the engine for metrics.
struct Counters {
	uint64_t dialogs_created = 0;
	uint64_t dialogs_confirmed = 0;
	uint64_t dialogs_ended = 0;       // BYE, CANCEL, failure
	uint64_t dialogs_expired = 0;     // early/idle timeout
	uint64_t dialogs_evicted = 0;     // table full
	uint64_t dialogs_untracked = 0;   // too many dialogs for one Call-ID
	uint64_t dialogs_adopted = 0;     // learnt from the PBX's own in-dialog request (after a restart)
	uint64_t forks_untracked = 0;     // more To tags than kMaxForks
	uint64_t streams_ignored = 0;     // m-lines past kMaxStreams
	uint64_t sdp_errors = 0;          // SDP bodies the parser rejected
	uint64_t pinholes_opened = 0;
	uint64_t pinholes_refreshed = 0;
	uint64_t pinholes_closed = 0;
	uint64_t pinhole_table_full = 0;  // media for a call could not be opened
	uint64_t forged_dropped = 0;
	uint64_t unknown_dialog_dropped = 0;
	uint64_t unknown_dialog_accepted = 0;
	uint64_t call_limit_dropped = 0;
	uint64_t sources_evicted = 0;
	uint64_t users_evicted = 0;       // the shared user table evicted an entry for this shard's call
};

class Tracker {
public:
	// `shared`: the per-user and per-trunk counters all shards share (it must
	// outlive the tracker and have a slot per trunk); null: a table of its own.
	Tracker(Config config, Sink& sink, SharedLimits* shared = nullptr);
	Tracker(const Tracker&) = delete;
	Tracker& operator=(const Tracker&) = delete;

	// One valid SIP message seen on the wire. Returns the verdict the engine
	// should apply; pinhole updates and findings go to the sink.
	Decision on_message(const sip::Message& msg, const MessageContext& ctx);

	// Timers: expiry of dialogs and refresh of kernel timeouts. Call at least
	// once a second (on_message also advances time).
	void on_tick(util::TimePoint now);

	// Why the last on_message() dropped (static text), empty after Accept.
	std::string_view last_reason() const { return reason_; }

	const Counters& counters() const { return counters_; }
	const Config& config() const { return config_; }
	size_t active_dialogs() const { return early_.size + confirmed_.size; }
	size_t open_pinholes() const { return refresh_.size; }

	// Fixed memory of one dialog slot (docs: max_dialogs sizing).
	static size_t bytes_per_dialog();

	// Is `addr . local_port` open in the tracker's view (tests, replay)?
	bool pinhole_open(const net::IpAddress& addr, uint16_t local_port) const;

private:
	struct StreamDesc {
		net::IpAddress addr;      // last specified c= address (kept over a 0.0.0.0 hold)
		net::IpAddress rtcp_addr; // a=rtcp address, else invalid
		uint16_t port = 0;
		uint16_t rtcp_port = 0;   // a=rtcp port, else 0
		sip::sdp::Direction dir = sip::sdp::Direction::SendRecv;
		bool zero_hold = false;   // c=0.0.0.0 (RFC 3264 §8.4 / RFC 2543 hold)
		bool rtcp_mux = false;
		uint8_t candidate_count = 0;
		std::array<net::IpAddress, kMaxCandidates> candidates{};
	};
	struct SideDesc {
		std::array<StreamDesc, kMaxStreams> streams{};
		uint8_t count = 0;
		bool present = false;
	};
	struct Fork {
		uint64_t tag = 0;         // hash of the callee's tag
		bool live = false;
		bool confirmed = false;
		bool pending = false;     // re-offer awaiting its answer; prev_* hold the old state
		sip::Method pending_method = sip::Method::Unknown;
		uint32_t pending_cseq = 0;
		SideDesc local, remote, prev_local, prev_remote;
		std::array<uint32_t, kMaxPinholesPerFork> pins{};
		uint8_t pin_count = 0;
	};
	enum class State : uint8_t { Free, Early, Confirmed, Terminated };
	struct Dialog {
		uint64_t callid_hash = 0;
		net::IpAddress remote;
		State state = State::Free;
		bool uac = false;           // the PBX sent the initial INVITE
		bool counted = false;       // holds a concurrent-call count
		bool challenged = false;    // the initial INVITE was answered 401/407
		bool user_verified = false; // the PBX accepted the credentials: counted against user_hash
		uint8_t trunk = kNoTrunk;
		uint16_t callid_len = 0;
		uint32_t invite_cseq = 0;
		uint64_t caller_tag = 0;
		uint64_t user_hash = 0;     // SharedLimits::user_key of the credentials' username, 0: none
		util::TimePoint last_activity{};
		SideDesc offer;             // caller's SDP in the initial INVITE
		std::array<Fork, kMaxForks> forks{};
		uint8_t fork_count = 0;
		std::array<char, sip::kMaxCallIdBytes> callid{};

		// Once one fork has a final 2xx the call stands (RFC 3261 §13.2.2.4):
		// neither CANCEL nor another fork's failure ends it.
		bool any_fork_confirmed() const
		{
			for (size_t i = 0; i < fork_count; ++i)
				if (forks[i].confirmed)
					return true;
			return false;
		}
		bool any_fork_live() const
		{
			for (size_t i = 0; i < fork_count; ++i)
				if (forks[i].live)
					return true;
			return false;
		}
	};
	struct Pinhole {
		net::IpAddress addr;
		uint16_t port = 0;
		uint32_t refs = 0;
		uint16_t remote_port = 0; // of the first opener, for logs
		uint64_t call_hash = 0;   // of the first opener, for logs
		util::TimePoint last_sent{};
	};
	// Per-source counters for call limits: a source's packets all reach one
	// queue, so they need no sharing (users and trunks: SharedLimits).
	struct Counted {
		uint64_t key = 0;
		net::IpAddress addr;
		uint32_t concurrent = 0;
		uint32_t attempts = 0;
		util::TimePoint attempts_since{};
		util::TimePoint last_limit_finding{};
		bool limit_reported = false;
	};
	class CountedTable {
	public:
		explicit CountedTable(size_t cap) : table_(cap) {}
		Counted* find(uint64_t key, const net::IpAddress& addr);
		// Creates when absent, evicting the least recently used; `evicted` counts that.
		Counted& get(uint64_t key, const net::IpAddress& addr, uint64_t& evicted);

	private:
		util::LruTable<Counted> table_;
	};
	static constexpr uint8_t kNoTrunk = 0xff;
	struct Key {
		net::IpAddress addr;
		uint16_t port;
		uint16_t remote_port; // informational
	};

	// Dialog table.
	uint32_t find_dialog(const net::IpAddress& remote, uint64_t h, std::string_view callid) const;
	template <class Visit>
	void for_each_same_callid(uint64_t h, std::string_view callid, Visit&& visit) const;
	// A free slot (evicting the least important dialog when full), indexed
	// under the Call-ID hash `h` and holding the dialog's identity, state Free.
	uint32_t alloc_dialog(const MessageContext& ctx, uint64_t h, std::string_view call_id);
	// Takes a dialog out of its list and the table; `evicted` counts it as an eviction.
	void free_dialog(uint32_t slot, bool evicted = false);
	util::SlotLists::List& list_of(State s);
	void set_state(uint32_t slot, State s, util::TimePoint now);
	void touch(uint32_t slot, util::TimePoint now);
	void terminate(uint32_t slot, util::TimePoint now);

	// Message handling.
	Decision on_initial_invite(const sip::Message& msg, const MessageContext& ctx, uint64_t h);
	Decision on_in_dialog_request(const sip::Message& msg, const MessageContext& ctx, uint64_t h);
	void apply_request(uint32_t slot, const sip::Message& msg, const MessageContext& ctx);
	void adopt(const sip::Message& msg, const MessageContext& ctx, uint64_t h);
	void on_response(const sip::Message& msg, const MessageContext& ctx, uint64_t h);
	Fork* fork_for(Dialog& d, const sip::Message& msg);
	Fork* fork_by_tag(Dialog& d, uint64_t tag, bool create);
	bool read_sdp(const sip::Message& msg, const SideDesc& previous, SideDesc& out);
	// The SDP of `msg` as the new description of the side that sent it;
	// false when there is none or it does not parse.
	bool read_side_sdp(Fork& f, const sip::Message& msg, bool from_remote);
	// A re-offer was rejected: back to the media before it (RFC 3261 §14.1).
	void restore_offer(Dialog& d, Fork& f, util::TimePoint now);
	static void read_candidates(std::string_view body, SideDesc& desc);
	void close_fork(Dialog& d, Fork& f, util::TimePoint now);
	void update_pinholes(Dialog& d, Fork& f, util::TimePoint now);
	size_t desired_pinholes(const Dialog& d, const SideDesc& local, const SideDesc& remote,
	                        std::array<Key, kMaxPinholesPerFork>& out, size_t n) const;

	// Pinhole table.
	uint32_t acquire_pinhole(const Key& k, uint64_t call_hash, util::TimePoint now);
	void release_pinhole(uint32_t slot, util::TimePoint now);
	void emit(PinholeOp op, const Pinhole& p, util::TimePoint now);

	// Limits.
	uint8_t trunk_of(const net::IpAddress& a) const;
	bool trusted(const MessageContext& ctx) const;
	// `retry`: the INVITE answers a challenge to one already admitted (same
	// Call-ID): its source/trunk attempt is not counted again.
	bool check_limits(const MessageContext& ctx, uint8_t trunk, uint64_t user_hash, std::string_view user,
	                  bool retry);
	void count_call(Dialog& d, const MessageContext& ctx);
	// The PBX accepted the dialog's credentials: the call counts against its user.
	void verify_user(Dialog& d, util::TimePoint now);
	void uncount_call(Dialog& d);
	void report_limit(const MessageContext& ctx, std::string_view scope, std::string_view subject,
	                  uint32_t count, uint32_t limit, std::string_view reason);

	Config config_;
	Sink& sink_;
	Counters counters_;
	std::string_view reason_; // of the last drop
	std::string_view why_;    // cause of the pinhole updates being emitted now

	// Dialogs under the hash of their Call-ID (a Call-ID's dialogs with
	// several remotes share it), each in the list of its state.
	util::BoundedTable<Dialog> dialogs_;
	util::SlotLists dialog_links_;
	util::SlotLists::List early_, confirmed_, terminated_;

	// Pinholes under the hash of (address, port), in refresh order.
	util::BoundedTable<Pinhole> pinholes_;
	util::SlotLists pinhole_links_;
	util::SlotLists::List refresh_;

	CountedTable sources_;
	std::unique_ptr<SharedLimits> own_limits_; // when no shared table was given
	SharedLimits* limits_;
};

} // namespace sipguard::calls
