// SPDX-License-Identifier: GPL-2.0-or-later
// The header block's line splitting: line ends found 64 bytes at a time must
// give the same headers, the same NUL and limit verdicts and the same
// header_count wherever a line, a fold, a CR or a NUL falls relative to those
// 64-byte windows and to the end of the buffer (which is never read past:
// the sanitized build runs these).
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sip/parser.h"
#include "tests/sip/test_util.h"

using namespace sipguard::sip;

namespace {

// Mandatory headers, each on its own line; {PAD} is replaced by padding.
const char* const kHead = "OPTIONS sip:{PAD}u@example.com SIP/2.0\n"
                          "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\n"
                          "From: <sip:a@example.com>;tag=ft\n"
                          "X-Pad: {PAD}\n"
                          "To: <sip:b@example.com>\n"
                          "Call-ID: c1@example.com\n"
                          "CSeq: 7 OPTIONS\n"
                          "Content-Length: {CL}\n";

std::string with_pad(std::string text, size_t start_pad, size_t header_pad, std::string_view eol)
{
	text.replace(text.find("{PAD}"), 5, std::string(start_pad, 'p'));
	text.replace(text.find("{PAD}"), 5, std::string(header_pad, 'x'));
	std::string out;
	for (char c : text) {
		if (c == '\n')
			out += eol;
		else
			out += c;
	}
	return out;
}

// Fills kHead's {CL} with value. The text is rebuilt rather than replaced in
// place: GCC 12 at -O2 and above reports a false -Wrestrict in the inlined
// std::string::replace of a short literal (GCC PR 105329).
void set_content_length(std::string& m, std::string_view value)
{
	const std::string_view key = "{CL}";
	const size_t at = m.find(key);
	if (at == std::string::npos)
		throw std::out_of_range("no {CL} in the message");
	std::string out;
	out.reserve(m.size() - key.size() + value.size());
	out.append(m, 0, at);
	out.append(value);
	out.append(m, at + key.size());
	m = std::move(out);
}

// The message from kHead with its empty line and body, Content-Length set.
std::string message(size_t start_pad, size_t header_pad, std::string_view eol, std::string_view body = {})
{
	std::string m = with_pad(kHead, start_pad, header_pad, eol);
	set_content_length(m, std::to_string(body.size()));
	return m + std::string(eol) + std::string(body);
}

// Parses a copy of s in a heap block of exactly its size, so a read past the
// buffer is caught by the sanitizer (a std::string has its terminator and
// spare capacity there), kept alive because a Message's views point into it.
using Keep = std::vector<std::unique_ptr<char[]>>;
Message parse_copy(const std::string& s, Transport t, Keep& keep)
{
	keep.push_back(std::make_unique<char[]>(s.size()));
	std::memcpy(keep.back().get(), s.data(), s.size());
	Message m;
	parse(std::string_view(keep.back().get(), s.size()), t, m);
	return m;
}

const char* name(Transport t) { return t == Transport::Datagram ? "datagram" : "stream"; }

} // namespace

TEST_CASE("header lines ending at every offset of a 64-byte window parse alike, CRLF and LF")
{
	Keep keep;
	const std::string body = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";
	for (const char* eol : {"\r\n", "\n"})
		for (size_t start_pad : {size_t{0}, size_t{1}, size_t{31}, size_t{64}})
			for (size_t pad = 0; pad <= 130; ++pad)
				for (const std::string& b : {std::string(), body})
					for (Transport t : {Transport::Datagram, Transport::Stream}) {
						INFO(name(t) << ", start pad " << start_pad << ", pad " << pad << ", body " << b.size()
						             << (eol[0] == '\n' ? ", LF" : ", CRLF"));
						const Message m = parse_copy(message(start_pad, pad, eol, b), t, keep);
						REQUIRE(m.valid());
						CHECK(m.header_count == 7);
						CHECK(m.via_count == 1);
						CHECK(m.via[0].branch == "z9hG4bK1");
						CHECK(m.from.tag == "ft");
						CHECK(m.to.uri.raw == "sip:b@example.com");
						CHECK(m.call_id == "c1@example.com");
						CHECK(m.cseq == 7);
						CHECK(m.body == b);
					}
}

TEST_CASE("a folded header across window edges is one header with all its lines")
{
	Keep keep;
	for (const char* eol : {"\r\n", "\n"})
		for (size_t pad = 0; pad <= 130; ++pad)
			for (size_t fold_pad : {size_t{0}, size_t{40}, size_t{63}, size_t{64}, size_t{65}, size_t{200}}) {
				INFO("pad " << pad << ", fold pad " << fold_pad << (eol[0] == '\n' ? ", LF" : ", CRLF"));
				// Via folded after its first value: two values, one header.
				std::string m = message(0, pad, eol);
				const std::string via = "Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1";
				m.replace(m.find(via), via.size(),
				          via + "," + std::string(fold_pad, ' ') + eol + "\t SIP/2.0/UDP h2;branch=z9hG4bK2" + eol + " ");
				const Message r = parse_copy(m, Transport::Datagram, keep);
				REQUIRE(r.valid());
				CHECK(r.header_count == 7);
				CHECK(r.via_count == 2);
				CHECK(r.via[1].branch == "z9hG4bK2");
				CHECK(r.call_id == "c1@example.com");
			}
}

TEST_CASE("a NUL anywhere in the header block is nul_byte, counted from its header; in the body it is data")
{
	Keep keep;
	const std::string body = "v=0\r\ns=-\r\n";
	for (const char* eol : {"\r\n", "\n"})
		for (size_t pad : {size_t{0}, size_t{5}, size_t{37}, size_t{64}, size_t{100}}) {
			const std::string clean = message(0, pad, eol, body);
			const size_t block = clean.find('\n') + 1; // the first header line
			const size_t body_at = clean.size() - body.size();
			for (size_t i = block; i < clean.size(); ++i) {
				if (clean[i] == '\r' || clean[i] == '\n')
					continue; // a NUL there would change the lines, not only hold a NUL
				std::string m = clean;
				m[i] = '\0';
				// The header holding it: the LFs from the first header line to it.
				uint16_t before = 0;
				for (size_t k = block; k < i; ++k)
					before = static_cast<uint16_t>(before + (clean[k] == '\n'));
				for (Transport t : {Transport::Datagram, Transport::Stream}) {
					INFO(name(t) << ", pad " << pad << ", NUL at " << i << " of " << clean.size()
					             << (eol[0] == '\n' ? ", LF" : ", CRLF"));
					const Message r = parse_copy(m, t, keep);
					if (i >= body_at) {
						CHECK(r.valid());
						CHECK(r.body.size() == body.size());
					} else {
						CHECK(r.error == Malformation::NulByte);
						CHECK(r.error_detail == "headers");
						CHECK(r.header_count == before);
					}
				}
			}
			// In the empty line: a header line of its own that holds a NUL.
			std::string m = clean;
			m.insert(body_at - std::string(eol).size(), 1, '\0');
			const Message r = parse_copy(m, Transport::Datagram, keep);
			CHECK(r.error == Malformation::NulByte);
			CHECK(r.header_count == 7);
		}
	// In the start line the start line's own checks judge it.
	std::string m = message(0, 0, "\r\n");
	m[m.find("SIP/2.0")] = '\0';
	const Message r = parse_copy(m, Transport::Datagram, keep);
	CHECK_FALSE(r.valid());
	CHECK(r.error != Malformation::NulByte);
}

TEST_CASE("a header line ending at the buffer's last byte, at every length")
{
	// No empty line: the headers are read, then the block has no end.
	Keep keep;
	for (const char* eol : {"\r\n", "\n"})
		for (size_t pad = 0; pad <= 140; ++pad)
			for (Transport t : {Transport::Datagram, Transport::Stream}) {
				INFO(name(t) << ", pad " << pad << (eol[0] == '\n' ? ", LF" : ", CRLF"));
				std::string m = with_pad(kHead, 0, pad, eol);
				set_content_length(m, "0");
				Message r = parse_copy(m, t, keep);
				CHECK(r.error == Malformation::NoHeaderEnd);
				CHECK(r.error_detail == "headers");
				if (t == Transport::Datagram)
					CHECK(r.header_count == 7);
				// Cut inside the last line, or just after its CR.
				m.pop_back();
				r = parse_copy(m, Transport::Datagram, keep);
				CHECK(r.error == Malformation::NoHeaderEnd);
				CHECK(r.header_count == 6);
				// A fold opened at the very end: the header's line has no end yet.
				m = with_pad(kHead, 0, pad, eol);
				set_content_length(m, "0");
				m += " ";
				r = parse_copy(m, Transport::Datagram, keep);
				CHECK(r.error == Malformation::NoHeaderEnd);
				CHECK(r.header_count == 6);
			}
}

TEST_CASE("every prefix of a message: a header block cut short has no end")
{
	// Datagrams of every length from the first header on, including under 16
	// and under 64 bytes, where the windows are read by smaller blocks.
	Keep keep;
	const std::string full = "SIP/2.0 200\r\ng:h\r\nq:w\r\n\r\n";
	for (size_t n = 13; n < full.size() - 2; ++n) {
		INFO("length " << n);
		const Message r = parse_copy(full.substr(0, n), Transport::Datagram, keep);
		CHECK(r.error == Malformation::NoHeaderEnd);
		CHECK(r.header_count == (n >= 23 ? 2 : n >= 18 ? 1 : 0));
	}
	for (size_t n = full.size() - 2; n <= full.size(); ++n) {
		INFO("length " << n);
		const Message r = parse_copy(full.substr(0, n), Transport::Datagram, keep);
		CHECK(r.error == (n == full.size() ? Malformation::MissingHeader : Malformation::NoHeaderEnd));
		CHECK(r.header_count == 2);
	}
	const std::string big = message(0, 100, "\r\n");
	const size_t block = big.find('\n') + 1;
	const size_t block_end = big.size() - 2;
	for (size_t n = block; n < block_end; ++n) {
		INFO("length " << n << " of " << big.size());
		uint16_t lines = 0;
		for (size_t k = block; k < n; ++k)
			lines = static_cast<uint16_t>(lines + (big[k] == '\n'));
		const Message r = parse_copy(big.substr(0, n), Transport::Datagram, keep);
		CHECK(r.error == Malformation::NoHeaderEnd);
		CHECK(r.header_count == lines);
	}
}

TEST_CASE("short messages: results under 16 and 64 bytes")
{
	Keep keep;
	struct Case {
		std::string in;
		Malformation error;
		const char* detail;
		uint16_t headers;
	};
	const Case cases[] = {
	    {std::string("SIP/2.0 200\n\n"), Malformation::MissingHeader, "Via", 0},
	    {std::string("SIP/2.0 200\nV:a\n"), Malformation::BadVia, "Via", 1},
	    {std::string("SIP/2.0 200\na:b\n\n"), Malformation::MissingHeader, "Via", 1},
	    {std::string("SIP/2.0 200\nv\0\n\n", 16), Malformation::NulByte, "headers", 0},
	    {std::string("SIP/2.0 200\n\0\n\n", 15), Malformation::NulByte, "headers", 0},
	    {std::string("SIP/2.0 200\r\n\0\r\n\r\n", 18), Malformation::NulByte, "headers", 0},
	    {std::string("SIP/2.0 200\r\na:b\r\n"), Malformation::NoHeaderEnd, "headers", 1},
	    {std::string("SIP/2.0 200\r\na:b\r"), Malformation::NoHeaderEnd, "headers", 0},
	    {std::string("SIP/2.0 200\r\n a\r\n\r\n"), Malformation::BadHeaderSyntax, "folded line after start line", 0},
	    {std::string("SIP/2.0 200\r\na:b\r\n c\r\n"), Malformation::NoHeaderEnd, "headers", 1},
	    {std::string("SIP/2.0 200\r\na:b\r\n\r"), Malformation::NoHeaderEnd, "headers", 1},
	    {std::string("SIP/2.0 200\r\n:b\r\n\r\n"), Malformation::BadHeaderSyntax, "header name", 1},
	    {std::string("SIP/2.0 200\r\n\x01:b\r\n\r\n"), Malformation::BadHeaderSyntax, "header name", 1},
	    {std::string("SIP/2.0 200\r\n\rb:c\r\n\r\n"), Malformation::BadHeaderSyntax, "header name", 1},
	};
	for (const Case& c : cases) {
		INFO(c.in.size() << " bytes");
		const Message r = parse_copy(c.in, Transport::Datagram, keep);
		CHECK(r.error == c.error);
		CHECK(r.error_detail == c.detail);
		CHECK(r.header_count == c.headers);
	}
}

TEST_CASE("the header count limit is exact, with short lines many to a window")
{
	Keep keep;
	for (const char* eol : {"\r\n", "\n"})
		for (const std::string filler : {"a:b", "ab:c", "X-Long-Header-Name: with a value"})
			for (size_t pad : {size_t{0}, size_t{3}, size_t{50}}) {
				INFO(filler << ", pad " << pad << (eol[0] == '\n' ? ", LF" : ", CRLF"));
				// 7 headers in kHead; fillers up to the limit, then one more.
				std::string base = with_pad(kHead, 0, pad, eol);
				set_content_length(base, "0");
				std::string lines;
				for (size_t i = 0; i + 7 < kMaxHeaderCount; ++i)
					lines += filler + eol;
				Message r = parse_copy(base + lines + eol, Transport::Datagram, keep);
				CHECK(r.valid());
				CHECK(r.header_count == kMaxHeaderCount);
				r = parse_copy(base + lines + filler + eol + eol, Transport::Datagram, keep);
				CHECK(r.error == Malformation::TooManyHeaders);
				CHECK(r.header_count == kMaxHeaderCount + 1);
				// A NUL in the header past the limit: the NUL is judged first.
				r = parse_copy(base + lines + "a:" + std::string(1, '\0') + eol + eol, Transport::Datagram, keep);
				CHECK(r.error == Malformation::NulByte);
				CHECK(r.header_count == kMaxHeaderCount);
			}
}

TEST_CASE("long header lines around the window and line-length bounds")
{
	Keep keep;
	const std::string head = "OPTIONS sip:u@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
	                         "From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: a\r\nCSeq: 1 OPTIONS\r\n";
	const size_t lengths[] = {62,   63,   64,   65,   66,   126,  127,  128,  129,  130,  190,  191,  192,
	                          193,  8000, 8060, 8062, 8063, 8064, 8065, 8066, 8127, 8128, 8129, 8190, 8191,
	                          8192, 8193, 8194, 8195, 8256, 9000};
	for (size_t len : lengths)
		for (size_t shift : {size_t{0}, size_t{1}, size_t{17}, size_t{63}}) {
			INFO("line " << len << ", shift " << shift);
			// "X-Big: " is 7 bytes; a value-less X-Shift line moves the big one.
			const std::string big = "X-Big: " + std::string(len - 7, 'x') + "\r\n";
			const std::string shifted = "X-S:" + std::string(shift, 's') + "\r\n";
			const std::string m = head + shifted + big + "Content-Length: 0\r\n\r\n";
			const Message r = parse_copy(m, Transport::Datagram, keep);
			if (len <= kMaxHeaderLineBytes) {
				CHECK(r.valid());
				CHECK(r.header_count == 8);
			} else {
				CHECK(r.error == Malformation::OversizedField);
				CHECK(r.error_detail == "header line");
				CHECK(r.header_count == 6);
			}
			// The same line last in the buffer, without its break.
			const Message cut = parse_copy(head + shifted + big.substr(0, big.size() - 2), Transport::Datagram, keep);
			CHECK(cut.error == (len > kMaxHeaderLineBytes + 2 ? Malformation::OversizedField : Malformation::NoHeaderEnd));
			CHECK(cut.header_count == 6);
		}
}

TEST_CASE("start lines of every length up to a window and around the line limit")
{
	Keep keep;
	const std::string rest = "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\n"
	                         "Call-ID: a\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	for (size_t n = 1; n <= 140; ++n) {
		INFO("user of " << n);
		const Message r =
		    parse_copy("OPTIONS sip:" + std::string(n, 'u') + "@example.com SIP/2.0\r\n" + rest, Transport::Datagram, keep);
		CHECK(r.valid());
		CHECK(r.header_count == 6);
		CHECK(r.ruri.user.size() == n);
	}
	// A status line's reason phrase as long as a line may be, and longer:
	// its LF must be within kMaxHeaderLineBytes of the line's start.
	for (size_t n : {size_t{8170}, size_t{8177}, size_t{8178}, size_t{8179}, size_t{8180}, size_t{8190}}) {
		INFO("reason of " << n);
		const Message r = parse_copy("SIP/2.0 200 " + std::string(n, 'r') + "\r\n" + rest, Transport::Datagram, keep);
		if (12 + n + 1 < kMaxHeaderLineBytes) {
			CHECK(r.valid());
			CHECK(r.reason.size() == n);
		} else {
			CHECK(r.error == Malformation::OversizedField);
			CHECK(r.error_detail == "start line");
		}
	}
}
