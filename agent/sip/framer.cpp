// SPDX-License-Identifier: GPL-2.0-or-later
// TCP stream framing for SIP (RFC 3261 §18.3) over a fixed-capacity buffer.
#include "agent/sip/framer.h"

#include <algorithm>
#include <cstring>

namespace sipguard::sip {

StreamFramer::StreamFramer(size_t capacity)
	: buf_(new uint8_t[capacity == 0 ? 1 : capacity]), capacity_(capacity == 0 ? 1 : capacity)
{
}

void StreamFramer::reset()
{
	begin_ = end_ = consumed_ = 0;
}

void StreamFramer::compact()
{
	if (begin_ == 0)
		return;
	const size_t n = end_ - begin_;
	if (n > 0)
		std::memmove(buf_.get(), buf_.get() + begin_, n);
	begin_ = 0;
	end_ = n;
}

size_t StreamFramer::feed(std::span<const uint8_t> data)
{
	// Release the message handed out last: its views are no longer valid.
	begin_ += consumed_;
	consumed_ = 0;
	if (capacity_ - end_ < data.size())
		compact();
	const size_t n = std::min(data.size(), capacity_ - end_);
	if (n > 0)
		std::memcpy(buf_.get() + end_, data.data(), n);
	end_ += n;
	return n;
}

StreamFramer::Status StreamFramer::next(Message& out)
{
	begin_ += consumed_;
	consumed_ = 0;
	// CRLF keep-alives between messages (RFC 5626 §3.5.1; RFC 3261 §7.5
	// says to ignore CRLF before a start line on streams).
	if (begin_ < end_ && (buf_[begin_] == '\r' || buf_[begin_] == '\n')) {
		while (begin_ < end_ && (buf_[begin_] == '\r' || buf_[begin_] == '\n'))
			++begin_;
		++keepalives_;
	}
	if (begin_ == end_) {
		begin_ = end_ = 0;
		out = Message{};
		return Status::NeedMore;
	}
	const std::string_view view(reinterpret_cast<const char*>(buf_.get() + begin_), end_ - begin_);
	parse(view, Transport::Stream, out);
	if (out.incomplete) {
		// A message that cannot fit even in an empty buffer will never
		// complete: drop what we have rather than stall the flow.
		const bool cannot_fit = out.length > capacity_ || (begin_ == 0 && end_ == capacity_);
		if (cannot_fit) {
			++overflows_;
			reset();
			return Status::Overflow;
		}
		compact();
		return Status::NeedMore;
	}
	if (out.kind == Kind::NotSip || out.error != Malformation::None) {
		// A malformed message with a known length whose body is still in
		// flight: wait for it, then skip exactly that message.
		if (out.kind != Kind::NotSip && out.length > end_ - begin_) {
			if (out.length > capacity_) {
				++overflows_;
				reset();
				return Status::Overflow;
			}
			compact();
			return Status::NeedMore;
		}
		++malformed_;
		// With a known length the stream stays in sync; without one (bad
		// start line, bad Content-Length, no Content-Length) it cannot be
		// resynchronised and everything buffered is dropped.
		if (out.kind != Kind::NotSip && out.length > 0)
			consumed_ = out.length;
		else
			reset();
		return Status::Malformed;
	}
	consumed_ = out.length;
	return Status::Message;
}

std::string_view to_string(StreamFramer::Status s)
{
	switch (s) {
	case StreamFramer::Status::Message: return "message";
	case StreamFramer::Status::NeedMore: return "need_more";
	case StreamFramer::Status::Malformed: return "malformed";
	case StreamFramer::Status::Overflow: return "overflow";
	}
	return "unknown";
}

} // namespace sipguard::sip
