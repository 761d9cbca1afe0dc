// SPDX-License-Identifier: GPL-2.0-or-later
// Zero-copy SIP parser: the entry points and the header loop, which splits
// the head into header fields and frames the body by Content-Length.
#include "agent/sip/parser.h"

#include <cstddef>
#include <string_view>

// The parser's parts, one concern each, included here and nowhere else:
// internal linkage in one translation unit lets GCC inline across them as
// in one file. Kept in the order the definitions had in that file (each
// after what it uses): GCC's inlining changes with the order it sees them.
#include "agent/sip/header_names.h"
#include "agent/sip/scan.h"
#include "agent/sip/parse/chars.h"
#include "agent/sip/parse/cursor.h"
#include "agent/sip/parse/numbers.h"
#include "agent/sip/parse/uri.h"
#include "agent/sip/parse/name_addr.h"
#include "agent/sip/parse/via.h"
#include "agent/sip/parse/auth.h"
#include "agent/sip/parse/not_sip.h"
#include "agent/sip/parse/start_line.h"
#include "agent/sip/parse/headers.h"
#include "agent/sip/parse/framing.h"
#include "agent/sip/parse/line_ends.h"
#include "agent/sip/parse/result.h"
#include "agent/sip/parse/test_hooks.h"

namespace sipguard::sip {

namespace {

void parse_impl(std::string_view data, Transport transport, Message& out);

} // namespace

void parse(std::string_view data, Transport transport, Message& out)
{
	parse_impl(data, transport, out);
	if (transport == Transport::Datagram) {
		out.length = data.size(); // a datagram is used whole, valid or not
		return;
	}
	if (transport == Transport::Stream && out.error != Malformation::None && !out.incomplete
	    && out.kind != Kind::NotSip && out.length == 0) {
		// A malformed message is reported once its header block is complete,
		// when its Content-Length can say where the next message starts.
		size_t skip = 0;
		while (skip < data.size() && (data[skip] == '\r' || data[skip] == '\n'))
			++skip;
		if (find_head_end(scan::sub(data, skip)) == std::string_view::npos && data.size() < kMaxMessageBytes) {
			out.incomplete = true;
			return;
		}
		const size_t n = resync_length(data);
		if (n > 0 && n <= data.size())
			out.length = n;
	}
}

namespace {

void parse_impl(std::string_view data, Transport transport, Message& out)
{
	reset(out, scan::wide_stores());
	const bool stream = transport == Transport::Stream;
	if (data.empty()) {
		fail(out, Malformation::Empty, "message");
		if (stream)
			out.incomplete = true;
		return;
	}
	if (looks_like_stun(data)) {
		out.not_sip = NotSipKind::Stun;
		out.length = data.size();
		return;
	}
	// CRLFs before the start line are ignored (§7.5); a datagram of nothing
	// but CRLF is a keep-alive (RFC 5626 §3.5.1 "\r\n\r\n" ping, "\r\n" pong).
	size_t start = 0;
	while (start < data.size() && (data[start] == '\r' || data[start] == '\n'))
		++start;
	if (start == data.size()) {
		out.not_sip = NotSipKind::Keepalive;
		out.length = data.size();
		return;
	}
	// Some UAs keep NAT bindings open with a few spaces or NUL bytes instead
	// of CRLF: a short datagram of nothing but blanks is a keep-alive too.
	if (!stream && is_blank_keepalive(data)) {
		out.not_sip = NotSipKind::Keepalive;
		out.length = data.size();
		return;
	}
	if (!stream && data.size() > kMaxMessageBytes) {
		out.length = data.size();
		fail(out, Malformation::OversizedField, "message");
		// Still classify what it claims to be, for the counters.
	}

	const char* const base = data.data();
	const size_t size = data.size();

	// Start line; the header loop goes on from the window its LF was in.
	const size_t line_cap = std::min(size - start, kMaxHeaderLineBytes);
	LineEnds ends(base, base + size);
	LineEnds::Next start_end;
	if (!ends.first_in_window(base + start, start_end)) [[unlikely]]
		start_end = ends.next(base + start, base + start + line_cap, 0);
	const char* const nl = start_end.lf;
	std::string_view line;
	size_t pos = 0;
	if (nl) {
		const size_t e = static_cast<size_t>(nl - base);
		line = scan::sub(data, start, e - start);
		pos = e + 1;
	} else if (stream && size - start < kMaxHeaderLineBytes) {
		// A partial start line: only junk that can never become a SIP start
		// line is judged now, so it is not buffered until overflow.
		line = scan::sub(data, start);
		if (line.back() == '\r')
			line.remove_suffix(1);
		if (istarts<"http/">(line)) {
			out.not_sip = NotSipKind::Http;
			out.length = size;
			return;
		}
		if (!istarts<"sip/">(line) && !all_text(line)) {
			out.not_sip = NotSipKind::Binary;
			out.length = size;
			return;
		}
		out.kind = istarts<"sip/">(line) ? Kind::Response : Kind::Request;
		out.incomplete = true;
		fail(out, Malformation::NoHeaderEnd, "start line");
		return;
	} else {
		line = scan::sub(data, start, line_cap);
		pos = size;
	}
	if (!line.empty() && line.back() == '\r')
		line.remove_suffix(1);
	const Malformation oversized = out.error;
	if (!parse_start_line(line, out, base + size)) {
		if (out.kind == Kind::NotSip)
			out.length = size;
		return;
	}
	if (oversized != Malformation::None) {
		out.error = oversized;
		return;
	}
	if (!nl) {
		fail(out, line_cap < size - start ? Malformation::OversizedField : Malformation::NoHeaderEnd, "start line");
		return;
	}

	// Stream: wait for the whole header block before judging it.
	if (stream) {
		const size_t head_end = find_head_end(scan::sub(data, start));
		if (head_end == std::string_view::npos) {
			out.incomplete = true;
			fail(out, Malformation::NoHeaderEnd, "headers");
			return;
		}
	}

	// A NUL in the head is legal only as a quoted-pair (§25.1) but may be in a
	// body: each header's end is compared with the first NUL seen so far.
	LineEnds::Cursor cur = ends.begin_headers(start_end.cur, base + pos);

	// Header fields. Each logical header is a line plus its folded
	// continuation lines (lines starting with SP/HT, §7.3.1).
	const char* const end = base + size;
	const char* p = base + pos;
	// The first byte of the line at p (0 at the buffer's end), read once both
	// to tell a folded line and to start the next header.
	unsigned char c = p < end ? static_cast<unsigned char>(*p) : 0;
	uint32_t seen = 0;
	size_t header_count = 0; // kept in a register; out.header_count is set on every exit
	auto stop = [&](Malformation err, std::string_view detail) {
		out.header_count = static_cast<uint16_t>(header_count);
		fail(out, err, detail);
	};
	size_t body_start = std::string_view::npos;
	for (;;) {
		// A header line starts with a name character: one compare sends the
		// end, the empty line, a stray fold and control bytes below.
		if (c <= ' ') [[unlikely]] {
			if (p == end)
				break;
			if (c == '\n') {
				body_start = static_cast<size_t>(p + 1 - base);
				break;
			}
			if (c == '\r' && p + 1 < end && p[1] == '\n') {
				body_start = static_cast<size_t>(p + 2 - base);
				break;
			}
			if (c == ' ' || c == '\t') {
				// A continuation with no header to continue (right after the start line).
				fail(out, Malformation::BadHeaderSyntax, "folded line after start line");
				return;
			}
		}
		const char* const hs = p;
		const char* he = nullptr; // end of the logical header, excluding its final line break
		if (ends.fast(cur, hs, header_count)) [[likely]] {
			// No length, NUL or header-count check (LineEnds::fast()); lf > hs
			// and a byte follows lf.
			const char* const lf = LineEnds::take(cur);
			he = lf[-1] == '\r' ? lf - 1 : lf;
			p = lf + 1;
			c = static_cast<unsigned char>(*p);
		}
		if (!he || (c <= ' ' && (c == ' ' || c == '\t'))) [[unlikely]] {
			// The line unless it was fast, then its continuation lines
			// (§7.3.1); the length is checked once the line break is found.
			do {
				const LineEnds::Next n = ends.next(p, end, header_count);
				cur = n.cur;
				if (!n.lf) {
					if (end - p > static_cast<std::ptrdiff_t>(kMaxHeaderLineBytes + 2))
						stop(Malformation::OversizedField, "header line");
					else
						stop(Malformation::NoHeaderEnd, "headers");
					return;
				}
				he = n.lf[-1] == '\r' ? n.lf - 1 : n.lf;
				if (static_cast<size_t>(he - hs) > kMaxHeaderLineBytes) {
					stop(Malformation::OversizedField, "header line");
					return;
				}
				p = n.lf + 1;
				c = p < end ? static_cast<unsigned char>(*p) : 0;
			} while (c == ' ' || c == '\t');
			if (ends.nul() < p && !nuls_quoted(hs, p)) {
				stop(Malformation::NulByte, "headers");
				return;
			}
			if (++header_count > kMaxHeaderCount) {
				stop(Malformation::TooManyHeaders, "headers");
				return;
			}
		} else {
			++header_count;
		}
		// header-name HCOLON value (§7.3.1). The first ':' ends the name; a
		// name not matched from the table is checked to be a token.
		size_t name_len = 0;
		HeaderId id = match_header_colon(hs, static_cast<size_t>(he - hs), name_len);
		const char* colon = hs + name_len;
		const char* ne = colon;
		if (id == HeaderId::Other) {
			colon = scan::find(hs, he, ':');
			ne = colon ? colon : hs;
			while (ne > hs && is_lws(ne[-1]))
				--ne;
			if (ne == hs) [[unlikely]] {
				stop(Malformation::BadHeaderSyntax, "header name");
				return;
			}
			id = lookup_header({hs, static_cast<size_t>(ne - hs)});
		}
		if (id != HeaderId::Other) {
			// Names whose values nothing reads (Allow, ...) are not trimmed.
			if (reads_value(id)) {
				parse_header(id, trim_value(colon + 1, he), out, seen, end);
				if (out.error != Malformation::None) {
					out.header_count = static_cast<uint16_t>(header_count);
					return;
				}
			}
		} else {
			Cur t{hs, ne, end};
			if (t.run<kToken>().size() != static_cast<size_t>(ne - hs)) [[unlikely]] {
				stop(Malformation::BadHeaderSyntax, "header name");
				return;
			}
		}
	}
	out.header_count = static_cast<uint16_t>(header_count);
	if (body_start == std::string_view::npos) {
		fail(out, Malformation::NoHeaderEnd, "headers");
		return;
	}

	// Mandatory headers (§8.1.1, §8.2.6.2 responses copy the same five).
	if (out.via_total == 0) {
		fail(out, Malformation::MissingHeader, "Via");
		return;
	}
	if ((seen & kSeenMandatory) != kSeenMandatory) [[unlikely]] {
		fail(out, Malformation::MissingHeader, missing_header(seen));
		return;
	}
	// The CSeq method is the request's, ACK and CANCEL included (§17.1.1.3,
	// §9.1); only extension methods need their tokens compared.
	const bool same_method = out.method != Method::Unknown || out.cseq_method != Method::Unknown
	                             ? out.method == out.cseq_method
	                             : out.cseq_method_token == out.method_token;
	if (out.kind == Kind::Request && !same_method) {
		fail(out, Malformation::CSeqMethodMismatch, "CSeq");
		return;
	}

	// Body framing (§18.3, §20.14).
	out.body_offset = body_start;
	const size_t avail = size - body_start;
	if (stream) {
		if (out.content_length < 0) {
			fail(out, Malformation::MissingHeader, "Content-Length");
			return;
		}
		const size_t cl = static_cast<size_t>(out.content_length);
		if (avail < cl) {
			out.incomplete = true;
			out.length = body_start + cl;
			fail(out, Malformation::ContentLengthMismatch, "body");
			return;
		}
		out.body = scan::sub(data, body_start, cl);
		out.length = body_start + cl;
		return;
	}
	out.length = size;
	if (out.content_length < 0) {
		out.body = scan::sub(data, body_start);
		return;
	}
	const size_t cl = static_cast<size_t>(out.content_length);
	if (avail < cl) {
		// The datagram ends before the declared body (RFC 4475 "clerr").
		fail(out, Malformation::ContentLengthMismatch, "Content-Length");
		return;
	}
	out.body = scan::sub(data, body_start, cl);
	out.trailing_bytes = avail - cl;
}

} // namespace


void parse(std::string_view data, Transport transport, Message& out, sdp::Session& session)
{
	parse(data, transport, out);
	if (!out.valid() || !out.has_sdp()) {
		session.clear(); // the call tracker passes every message here
		return;
	}
	const sdp::Error e = sdp::parse(out.body, session);
	if (e != sdp::Error::None)
		fail(out, Malformation::BadSdp, sdp::to_string(e));
}

} // namespace sipguard::sip
