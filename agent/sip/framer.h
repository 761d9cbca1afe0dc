// SPDX-License-Identifier: GPL-2.0-or-later
// Splits a TCP byte stream into SIP messages (RFC 3261 §18.3: Content-Length
// frames every message on a stream transport) with a bounded per-flow buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "agent/sip/message.h"
#include "agent/sip/parser.h"

namespace sipguard::sip {

// One framer per TCP flow, owned by the caller. The buffer is allocated once
// in the constructor (capacity bytes) and never grows: a message that does not
// fit is an Overflow, the buffer is reset and the overflow counted, so a peer
// cannot make the agent hold more than `capacity` bytes per flow.
//
// Usage:
//	framer.feed(segment_payload);
//	for (;;) {
//		auto st = framer.next(msg);
//		if (st == StreamFramer::Status::NeedMore) break;
//		... handle Message / Malformed / Overflow ...
//	}
// A Message's views point into the framer's buffer and stay valid until the
// next call to feed() or next().
class StreamFramer {
public:
	enum class Status : uint8_t {
		Message,   // `out` holds one complete, valid message
		NeedMore,  // no complete message buffered yet (incomplete, not malformed)
		Malformed, // `out` holds a malformed message (out.error says why); the
		           // framer skipped it when its length was known, else reset
		Overflow,  // a message larger than the capacity: buffer reset, counted
	};

	explicit StreamFramer(size_t capacity = kMaxMessageBytes);
	StreamFramer(const StreamFramer&) = delete;
	StreamFramer& operator=(const StreamFramer&) = delete;
	StreamFramer(StreamFramer&&) noexcept = default;
	StreamFramer& operator=(StreamFramer&&) noexcept = default;

	// Appends bytes. Returns the number accepted: fewer than data.size() only
	// when the buffer is full; call next() to drain (it reports Overflow when
	// a single message cannot fit) and feed the rest again.
	size_t feed(std::span<const uint8_t> data);
	size_t feed(std::string_view data)
	{
		return feed(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
	}

	// Extracts the next message. Leading CRLF keep-alives (RFC 5626 §3.5.1)
	// are skipped and counted.
	Status next(Message& out);

	// Drops everything buffered (e.g. after Malformed on a flow the caller
	// keeps open).
	void reset();

	size_t buffered() const { return end_ - begin_; }
	size_t capacity() const { return capacity_; }
	uint64_t overflows() const { return overflows_; }
	uint64_t keepalives() const { return keepalives_; }
	uint64_t malformed() const { return malformed_; }

private:
	void compact();

	std::unique_ptr<uint8_t[]> buf_;
	size_t capacity_ = 0;
	size_t begin_ = 0; // first unconsumed byte
	size_t end_ = 0;   // one past the last buffered byte
	size_t consumed_ = 0; // bytes of the last returned message, released on the next call
	uint64_t overflows_ = 0;
	uint64_t keepalives_ = 0;
	uint64_t malformed_ = 0;
};

std::string_view to_string(StreamFramer::Status s);

} // namespace sipguard::sip
