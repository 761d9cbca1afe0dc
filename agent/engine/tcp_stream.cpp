// SPDX-License-Identifier: GPL-2.0-or-later
// TCP stream handling for SIP: segment verdicts from the judged, delivered
// and buffered points of one stream direction (agent/engine/README.md).
#include "agent/engine/tcp_stream.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>

#include "agent/sip/message.h"
#include "agent/sip/parser.h"

namespace sipguard::engine {

namespace {

constexpr uint32_t kMask = TcpStream::kCapacity - 1;

bool is_crlf(uint8_t c) { return c == '\r' || c == '\n'; }

bool is_sip_version(std::string_view v)
{
	// SIP-Version is case-insensitive (§7.1).
	static constexpr std::string_view kVersion = "SIP/2.0";
	if (v.size() != kVersion.size())
		return false;
	for (size_t i = 0; i < v.size(); ++i)
		if ((v[i] | 0x20) != (kVersion[i] | 0x20))
			return false;
	return true;
}

} // namespace

bool only_crlf(std::span<const uint8_t> payload)
{
	for (uint8_t c : payload)
		if (!is_crlf(c))
			return false;
	return true;
}

bool starts_sip_stream(std::span<const uint8_t> payload)
{
	size_t i = 0;
	while (i < payload.size() && is_crlf(payload[i]))
		++i;
	if (i == payload.size())
		return false; // keep-alives only: they start no message
	const std::string_view rest(reinterpret_cast<const char*>(payload.data()) + i, payload.size() - i);
	const size_t nl = rest.find('\n');
	if (nl == std::string_view::npos)
		return false; // the start line must be whole to be recognised
	std::string_view line = rest.substr(0, nl);
	if (!line.empty() && line.back() == '\r')
		line.remove_suffix(1);
	// Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2).
	if (line.size() >= 12 && is_sip_version(line.substr(0, 7)) && line[7] == ' ')
		return line[8] >= '1' && line[8] <= '6' && std::isdigit(static_cast<unsigned char>(line[9])) &&
		       std::isdigit(static_cast<unsigned char>(line[10])) && line[11] == ' ';
	// Request-Line = Method SP Request-URI SP SIP-Version (§7.1), with a
	// method the parser knows: the tail of a request line ("STER sip:...")
	// would pass as an extension method.
	const size_t sp1 = line.find(' ');
	if (sp1 == std::string_view::npos || line.size() < sp1 + 10 ||
	    sip::method_from_token(line.substr(0, sp1)) == sip::Method::Unknown)
		return false;
	const size_t sp2 = line.size() - 8;
	if (line[sp2] != ' ' || !is_sip_version(line.substr(sp2 + 1)))
		return false;
	const std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
	return !uri.empty() && uri.find(' ') == std::string_view::npos && uri.find(':') != std::string_view::npos;
}

void TcpStream::start(uint32_t first, bool picked_up)
{
	base_ = r_ = d_ = j_ = b_ = first;
	drop_from_ = fin_at_ = 0;
	dropped_ = closed_ = false;
	unproven_ = picked_up;
	nranges_ = 0;
	new_message();
}

void TcpStream::new_message()
{
	parse_at_ = scanned_ = j_;
	parsed_size_ = 0;
	length_known_ = line_done_ = false;
}

TcpStream::Result TcpStream::on_segment(uint32_t seq, bool fin, std::span<const uint8_t> payload, Mode mode,
                                        TcpJudge& judge, TcpScratch& scratch)
{
	if (payload.empty()) {
		// A bare FIN (or ACK) carries no byte to judge; the FIN closes the
		// stream once everything before it was delivered.
		if (fin && seq == d_ && !closed_) {
			closed_ = true;
			fin_at_ = seq;
		}
		return {Verdict::Accept, TcpOutcome::Control};
	}
	return mode == Mode::Enforce ? enforce(seq, fin, payload, judge, scratch)
	                             : lenient(seq, fin, payload, mode, judge, scratch);
}

TcpStream::Result TcpStream::enforce(uint32_t s, bool fin, std::span<const uint8_t> data, TcpJudge& judge,
                                     TcpScratch& scratch)
{
	const uint32_t e = s + static_cast<uint32_t>(data.size());
	if (seq_lt(s, base_))
		return {Verdict::Drop, TcpOutcome::BeforeStart};
	if ((closed_ && seq_lt(fin_at_, e)) || (dropped_ && seq_lt(drop_from_, e)))
		return {Verdict::Drop, TcpOutcome::AfterDrop};
	if (seq_lt(b_, s))
		return {Verdict::Drop, TcpOutcome::AheadOfGap};
	if (seq_lt(s, r_))
		return {Verdict::Drop, TcpOutcome::Stale};
	// Every byte seen before is compared with the copy that was judged.
	const uint32_t seen_to = seq_min(e, b_);
	if (seq_lt(s, seen_to) && !same(s, data, s, seen_to)) {
		mark_dropped(d_);
		judge.conflict();
		return {Verdict::Drop, TcpOutcome::Conflict};
	}
	if (seq_le(e, d_)) {
		if (fin && e == d_ && !closed_) {
			closed_ = true;
			fin_at_ = e;
		}
		return {Verdict::Accept, TcpOutcome::Duplicate};
	}
	bool fitted = true;
	bool judged_drop = false;
	if (seq_lt(b_, e)) {
		fitted = append(s, data, seq_min(d_, j_));
		judged_drop = frame(judge, scratch);
	}
	if (dropped_ && seq_lt(drop_from_, e))
		return {Verdict::Drop, judged_drop ? TcpOutcome::Judged : TcpOutcome::AfterDrop};
	if (seq_lt(j_, e))
		return {Verdict::Drop, fitted ? TcpOutcome::Held : TcpOutcome::Full};
	// Every byte belongs to a message judged and accepted.
	TcpOutcome outcome = TcpOutcome::InOrder;
	if (seq_le(s, d_))
		advance_delivered(e);
	else if (add_range(s, e))
		outcome = TcpOutcome::OutOfOrder;
	else
		return {Verdict::Drop, TcpOutcome::Full};
	if (fin && e == d_ && !closed_) {
		closed_ = true;
		fin_at_ = e;
	}
	return {Verdict::Accept, outcome};
}

TcpStream::Result TcpStream::lenient(uint32_t s, bool fin, std::span<const uint8_t> data, Mode mode,
                                     TcpJudge& judge, TcpScratch& scratch)
{
	const uint32_t e = s + static_cast<uint32_t>(data.size());
	if (mode == Mode::Observe) {
		dropped_ = false; // never drops, even on a flow judged under Enforce before
	} else if (dropped_ && seq_lt(drop_from_, e)) {
		return {Verdict::Drop, TcpOutcome::AfterDrop};
	}
	TcpOutcome outcome = TcpOutcome::InOrder;
	if (seq_lt(b_, s)) {
		// The PBX sends in order: a gap means we dropped or missed its
		// segment; it retransmits it. Observing, the missing bytes were
		// accepted unseen: frame afresh from this segment.
		if (mode == Mode::Trusted)
			return {Verdict::Drop, TcpOutcome::AheadOfGap};
		r_ = d_ = j_ = b_ = s;
		nranges_ = 0;
		new_message();
		outcome = TcpOutcome::AheadOfGap;
	}
	if (mode == Mode::Observe) {
		const uint32_t lo = seq_max(s, r_);
		const uint32_t hi = seq_min(e, b_);
		if (seq_lt(lo, hi) && !same(s, data, lo, hi)) {
			judge.conflict();
			outcome = TcpOutcome::Conflict;
		}
	}
	if (seq_le(e, b_))
		return {Verdict::Accept, outcome == TcpOutcome::InOrder ? TcpOutcome::Duplicate : outcome};
	(void)append(s, data, j_); // from b_ on; a message too large is judged as such
	const bool judged_drop = frame(judge, scratch);
	d_ = b_;
	nranges_ = 0;
	if (fin && e == b_) {
		closed_ = true;
		fin_at_ = e;
	}
	if (judged_drop && mode == Mode::Trusted)
		return {Verdict::Drop, TcpOutcome::Judged};
	return {Verdict::Accept, outcome};
}

bool TcpStream::append(uint32_t s, std::span<const uint8_t> data, uint32_t keep)
{
	const uint32_t skip = b_ - s;
	size_t n = data.size() - skip;
	const size_t room = kCapacity - (b_ - keep);
	const bool all = n <= room;
	n = std::min(n, room);
	if (n == 0)
		return all;
	if (!ring_)
		ring_ = std::make_unique<uint8_t[]>(kCapacity);
	const uint8_t* src = data.data() + skip;
	const size_t idx = b_ & kMask;
	const size_t first = std::min(n, kCapacity - idx);
	std::memcpy(ring_.get() + idx, src, first);
	std::memcpy(ring_.get(), src + first, n - first);
	b_ += static_cast<uint32_t>(n);
	if (b_ - r_ > kCapacity)
		r_ = b_ - static_cast<uint32_t>(kCapacity);
	return all;
}

bool TcpStream::same(uint32_t s, std::span<const uint8_t> data, uint32_t lo, uint32_t hi) const
{
	const uint8_t* src = data.data() + (lo - s);
	const size_t n = hi - lo;
	const size_t idx = lo & kMask;
	const size_t first = std::min(n, kCapacity - idx);
	return std::memcmp(ring_.get() + idx, src, first) == 0 && std::memcmp(ring_.get(), src + first, n - first) == 0;
}

const char* TcpStream::contiguous(uint32_t lo, uint32_t hi, TcpScratch& scratch) const
{
	const size_t n = hi - lo;
	const size_t idx = lo & kMask;
	if (idx + n <= kCapacity)
		return reinterpret_cast<const char*>(ring_.get() + idx);
	if (!scratch.bytes)
		scratch.bytes = std::make_unique<uint8_t[]>(kCapacity);
	const size_t first = kCapacity - idx;
	std::memcpy(scratch.bytes.get(), ring_.get() + idx, first);
	std::memcpy(scratch.bytes.get() + first, ring_.get(), n - first);
	return reinterpret_cast<const char*>(scratch.bytes.get());
}

// The message at j_ is parsed when it may have become whole or judgeable,
// not once per segment: a message sent a byte at a time costs a scan of
// each byte, not a parse of everything buffered per byte.
bool TcpStream::ready_to_parse()
{
	const uint32_t avail = b_ - j_;
	if (avail >= sip::kMaxMessageBytes)
		return true; // judged as too large
	if (length_known_)
		return seq_le(parse_at_, b_);
	// The head is not whole yet. A partial start line is parsed as it
	// doubles (junk is judged before it fills the buffer); a line end or
	// the head's end (an empty line, §7) makes it worth parsing again.
	bool ready = parsed_size_ == 0 || (!line_done_ && avail >= 2 * parsed_size_);
	uint32_t p = seq_max(j_, scanned_ - 2);
	while (seq_lt(p, b_)) {
		const size_t idx = p & kMask;
		const size_t n = std::min<size_t>(b_ - p, kCapacity - idx);
		const void* nl = std::memchr(ring_.get() + idx, '\n', n);
		if (!nl) {
			p += static_cast<uint32_t>(n);
			continue;
		}
		p += static_cast<uint32_t>(static_cast<const uint8_t*>(nl) - (ring_.get() + idx));
		if (!line_done_) {
			line_done_ = true;
			ready = true;
		}
		// "\n\n" or "\n\r\n" ends the head (as the parser's find_head_end).
		if ((seq_lt(p + 1, b_) && at(p + 1) == '\n') ||
		    (seq_lt(p + 2, b_) && at(p + 1) == '\r' && at(p + 2) == '\n')) {
			ready = true;
			break;
		}
		++p;
	}
	scanned_ = b_;
	return ready;
}

bool TcpStream::frame(TcpJudge& judge, TcpScratch& scratch)
{
	for (;;) {
		// CRLF keep-alives between messages (RFC 5626 §3.5.1; RFC 3261
		// §7.5 ignores CRLF before a start line on streams).
		if (j_ != b_ && is_crlf(at(j_))) {
			while (j_ != b_ && is_crlf(at(j_)))
				++j_;
			new_message();
		}
		if (j_ == b_ || !ready_to_parse())
			return false;
		const uint32_t avail = b_ - j_;
		sip::Message& m = scratch.msg;
		sip::parse(std::string_view(contiguous(j_, b_, scratch), avail), sip::Transport::Stream, m);
		parsed_size_ = avail;
		TcpJudge::Framing how = TcpJudge::Framing::Message;
		const bool malformed = m.kind == sip::Kind::NotSip || m.error != sip::Malformation::None;
		if (m.incomplete || (malformed && m.kind != sip::Kind::NotSip && m.length > avail)) {
			if (m.length <= sip::kMaxMessageBytes && avail < sip::kMaxMessageBytes) {
				if (m.length > avail) {
					length_known_ = true;
					parse_at_ = j_ + static_cast<uint32_t>(m.length);
				}
				return false;
			}
			how = TcpJudge::Framing::Overflow;
		} else if (malformed && (m.kind == sip::Kind::NotSip || m.length == 0 || unproven_)) {
			// Without a length the next message's start is unknown (§18.3).
			// A picked-up stream whose first message is malformed was
			// picked up inside a message: its framing is unknown too.
			how = TcpJudge::Framing::Unsynced;
		}
		if (judge.judge(m, how) == Verdict::Drop) {
			mark_dropped(j_);
			return true;
		}
		// Accepted without a length: what is buffered counts as judged.
		j_ = how == TcpJudge::Framing::Message ? j_ + static_cast<uint32_t>(m.length) : b_;
		unproven_ = unproven_ && how != TcpJudge::Framing::Message;
		new_message();
	}
}

void TcpStream::mark_dropped(uint32_t from)
{
	if (!dropped_ || seq_lt(from, drop_from_))
		drop_from_ = from;
	dropped_ = true;
}

bool TcpStream::add_range(uint32_t s, uint32_t e)
{
	// Ranges never overlap or touch each other, so one pass finds every
	// range the new one merges with.
	size_t merged = 0;
	for (size_t i = 0; i < nranges_; ++i)
		if (seq_le(ranges_[i][0], e) && seq_le(s, ranges_[i][1]))
			++merged;
	if (nranges_ - merged + 1 > kMaxRanges)
		return false;
	size_t kept = 0;
	for (size_t i = 0; i < nranges_; ++i) {
		if (seq_le(ranges_[i][0], e) && seq_le(s, ranges_[i][1])) {
			s = seq_min(s, ranges_[i][0]);
			e = seq_max(e, ranges_[i][1]);
		} else {
			ranges_[kept++] = ranges_[i];
		}
	}
	ranges_[kept++] = {s, e};
	nranges_ = static_cast<uint8_t>(kept);
	return true;
}

void TcpStream::advance_delivered(uint32_t e)
{
	d_ = seq_max(d_, e);
	for (bool moved = true; moved;) {
		moved = false;
		for (size_t i = 0; i < nranges_; ++i) {
			if (seq_le(ranges_[i][0], d_)) {
				d_ = seq_max(d_, ranges_[i][1]);
				ranges_[i] = ranges_[--nranges_];
				moved = true;
				break;
			}
		}
	}
}

bool TcpStream::rst_matches(uint32_t seq) const
{
	if (seq == d_)
		return true;
	if (nranges_ == 0)
		return false;
	uint32_t edge = ranges_[0][1];
	for (size_t i = 1; i < nranges_; ++i)
		edge = seq_max(edge, ranges_[i][1]);
	return seq == edge;
}

} // namespace sipguard::engine
