// SPDX-License-Identifier: GPL-2.0-or-later
// One direction of a TCP connection carrying SIP: decides each segment's
// verdict so that no byte reaches the PBX before the message it belongs to
// has been framed and judged (rules and reasons: agent/engine/README.md,
// "TCP streams"). Pure: no clock, no syscalls; the retained copy of the
// stream is one fixed buffer per stream, allocated on first use.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "agent/sip/message.h"
#include "nfq/verdict_plan.h"

namespace sipguard::engine {

using nfq::Verdict;

// TCP sequence arithmetic (RFC 793 §3.3): differences taken modulo 2^32 and
// read as signed, so comparisons survive the wrap.
inline int32_t seq_diff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }
inline bool seq_lt(uint32_t a, uint32_t b) { return seq_diff(a, b) < 0; }
inline bool seq_le(uint32_t a, uint32_t b) { return seq_diff(a, b) <= 0; }
inline uint32_t seq_min(uint32_t a, uint32_t b) { return seq_lt(a, b) ? a : b; }
inline uint32_t seq_max(uint32_t a, uint32_t b) { return seq_lt(a, b) ? b : a; }

// Whether a segment can open a stream picked up without its SYN: it starts
// (after CRLF keep-alives) with a SIP request line of a known method or a
// status line.
bool starts_sip_stream(std::span<const uint8_t> payload);
// A segment of CR and LF only (keep-alives, RFC 5626 §3.5.1).
bool only_crlf(std::span<const uint8_t> payload);

// What a segment's verdict rests on; the engine counts each kind.
enum class TcpOutcome : uint8_t {
	Control,     // accepted: no payload (ACK, FIN)
	InOrder,     // accepted: judged bytes at the delivered point
	OutOfOrder,  // accepted: judged bytes beyond a gap (the PBX holds them until it is filled)
	Duplicate,   // accepted: bytes already seen, identical to the retained copy
	Judged,      // dropped: a message in it was judged now and dropped
	Held,        // dropped: holds bytes of a message not complete yet (buffered)
	AheadOfGap,  // dropped: starts beyond the buffered bytes (not buffered)
	AfterDrop,   // dropped: bytes at or after a dropped message, or past the FIN
	Conflict,    // dropped with the rest of the flow: bytes differ from the judged copy
	Stale,       // dropped: bytes older than the retained copy, cannot be compared
	Full,        // dropped: retained buffer or out-of-order list full
	BeforeStart, // dropped: bytes before the point a SYN-less stream was picked up at
};

// The judge of a stream's messages: the engine, or a test's recorder.
class TcpJudge {
public:
	enum class Framing : uint8_t {
		Message,  // a whole message, valid or malformed with a known length
		Unsynced, // malformed without a usable length, or not SIP: where the next message starts is unknown
		Overflow, // a message larger than sip::kMaxMessageBytes
	};
	// `m`'s views point into the stream's buffer and stay valid for the call.
	virtual Verdict judge(const sip::Message& m, Framing f) = 0;
	// Retransmitted bytes differ from the copy already judged (insertion or
	// evasion: Ptacek & Newsham 1998). The stream drops the flow itself.
	virtual void conflict() = 0;

protected:
	~TcpJudge() = default;
};

// Shared by an engine's streams: the message being parsed, and room for a
// message that wraps around a stream's ring while it is parsed.
struct TcpScratch {
	sip::Message msg;
	std::unique_ptr<uint8_t[]> bytes; // TcpStream::kCapacity, allocated on first use
};

class TcpStream {
public:
	// Retained bytes per stream: a power of two (the buffer is a ring indexed
	// by sequence number) that holds any message the parser accepts.
	static constexpr size_t kCapacity = 65536;
	static_assert(kCapacity > sip::kMaxMessageBytes && (kCapacity & (kCapacity - 1)) == 0);
	// Accepted ranges beyond the delivered point remembered per stream.
	static constexpr size_t kMaxRanges = 8;

	enum class Mode : uint8_t {
		Enforce, // a remote sender: accept only judged bytes, drop and let TCP retransmit the rest
		Trusted, // the PBX: accept as it comes, drop only segments ahead of a gap
		Observe, // dry run, allowlisted sender: accept everything, frame best-effort
	};

	struct Result {
		Verdict verdict = Verdict::Accept;
		TcpOutcome outcome = TcpOutcome::Control;
	};

	TcpStream() = default;
	TcpStream(const TcpStream&) = delete;
	TcpStream& operator=(const TcpStream&) = delete;
	TcpStream(TcpStream&&) noexcept = default;
	TcpStream& operator=(TcpStream&&) noexcept = default;

	// A new stream whose first byte has sequence number `first`: ISN + 1,
	// or the segment's it was picked up at without a SYN (then its first
	// message must be valid SIP). Keeps the buffer for reuse.
	void start(uint32_t first, bool picked_up = false);

	// One segment: its verdict, after framing and judging every message its
	// bytes complete.
	Result on_segment(uint32_t seq, bool fin, std::span<const uint8_t> payload, Mode mode, TcpJudge& judge,
	                  TcpScratch& scratch);

	// RFC 5961 §3.2: a RST ends the connection at the receiver only when its
	// sequence number is RCV.NXT (Linux also takes the right edge of its
	// highest SACK block): here the delivered point or the end of the
	// highest accepted range beyond it.
	bool rst_matches(uint32_t seq) const;

	uint32_t first() const { return base_; }  // the stream's first byte
	uint32_t delivered() const { return d_; } // every byte before it was accepted in order
	uint32_t judged() const { return j_; }    // every byte before it belongs to a judged message
	uint32_t buffered() const { return b_; }  // one past the last byte buffered
	bool dropped() const { return dropped_; }
	bool closed() const { return closed_; } // the sender's FIN was taken
	// The PBX holds exactly the bytes before delivered(), which end a
	// message, and nothing beyond; no message was dropped and no FIN seen:
	// a stream may start afresh at delivered() and frame as the PBX does.
	bool resumable() const { return !dropped_ && !closed_ && d_ == j_ && nranges_ == 0; }
	size_t buffer_bytes() const { return ring_ ? kCapacity : 0; }

private:
	Result enforce(uint32_t s, bool fin, std::span<const uint8_t> data, TcpJudge& judge, TcpScratch& scratch);
	Result lenient(uint32_t s, bool fin, std::span<const uint8_t> data, Mode mode, TcpJudge& judge,
	               TcpScratch& scratch);
	// Buffers the bytes of [s, s + data.size()) at and beyond b_, as many as
	// fit without overwriting [min(d_, j_), b_); returns whether all fitted.
	bool append(uint32_t s, std::span<const uint8_t> data, uint32_t keep);
	// Whether the retained bytes over [lo, hi) equal data (which starts at s).
	bool same(uint32_t s, std::span<const uint8_t> data, uint32_t lo, uint32_t hi) const;
	// Frames and judges the complete messages from j_; returns true when one
	// was dropped.
	bool frame(TcpJudge& judge, TcpScratch& scratch);
	bool ready_to_parse();
	const char* contiguous(uint32_t lo, uint32_t hi, TcpScratch& scratch) const;
	uint8_t at(uint32_t seq) const { return ring_[seq & (kCapacity - 1)]; }
	void mark_dropped(uint32_t from);
	bool add_range(uint32_t s, uint32_t e);
	void advance_delivered(uint32_t e);
	void new_message();

	std::unique_ptr<uint8_t[]> ring_; // bytes [r_, b_) at index seq % kCapacity
	uint32_t base_ = 0; // first byte of the stream; earlier bytes are never accepted
	uint32_t r_ = 0;    // oldest retained byte
	uint32_t d_ = 0;    // delivered: every byte before it accepted in order
	uint32_t j_ = 0;    // judged: every byte before it belongs to a judged message
	uint32_t b_ = 0;    // one past the last buffered byte
	uint32_t drop_from_ = 0; // with dropped_: no byte at or after it is accepted
	uint32_t fin_at_ = 0;    // with closed_: the sender's FIN
	// Framing the message at j_ without parsing it again per segment: the
	// parse waits until b_ reaches parse_at_ (a known length), or a line end
	// or head end appears past scanned_.
	uint32_t parse_at_ = 0;
	uint32_t scanned_ = 0;
	uint32_t parsed_size_ = 0;
	bool length_known_ = false;
	bool line_done_ = false;
	bool dropped_ = false;
	bool closed_ = false;
	bool unproven_ = false; // picked up, no valid message framed yet
	uint8_t nranges_ = 0;
	std::array<std::array<uint32_t, 2>, kMaxRanges> ranges_{}; // accepted [start, end) beyond d_
};

} // namespace sipguard::engine
