// SPDX-License-Identifier: GPL-2.0-or-later
// TCP framing: several messages per segment, a message split at every byte
// offset, keep-alives, malformed input and a bounded buffer.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "agent/sip/framer.h"
#include "tests/sip/test_util.h"

using namespace sipguard::sip;
using sipguard::sip::test::wire;

namespace {

std::string msg(int n, std::string body = "")
{
	return wire("OPTIONS sip:u@example.com SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK" + std::to_string(n)
	            + "\nFrom: <sip:a@b>;tag=1\nTo: <sip:b@c>\nCall-ID: call-" + std::to_string(n)
	            + "\nCSeq: " + std::to_string(n) + " OPTIONS\nContent-Length: {CL}\n\n" + body);
}

// Drains the framer; returns the Call-IDs of the messages it produced.
std::vector<std::string> drain(StreamFramer& f, int* malformed = nullptr, int* overflow = nullptr)
{
	std::vector<std::string> ids;
	Message m;
	for (;;) {
		auto st = f.next(m);
		if (st == StreamFramer::Status::NeedMore)
			break;
		if (st == StreamFramer::Status::Message)
			ids.emplace_back(m.call_id);
		else if (st == StreamFramer::Status::Malformed && malformed)
			++*malformed;
		else if (st == StreamFramer::Status::Overflow && overflow)
			++*overflow;
	}
	return ids;
}

} // namespace

TEST_CASE("several messages and keep-alives in one segment")
{
	StreamFramer f;
	const std::string stream = msg(1) + "\r\n\r\n" + msg(2, "hello") + msg(3);
	CHECK(f.feed(stream) == stream.size());
	auto ids = drain(f);
	CHECK(ids == std::vector<std::string>{"call-1", "call-2", "call-3"});
	CHECK(f.keepalives() == 1);
	CHECK(f.buffered() == 0);
}

TEST_CASE("a message split at every byte offset is reassembled exactly once")
{
	const std::string a = msg(1, "v=0\r\n"), b = msg(2);
	const std::string stream = a + b;
	for (size_t cut = 0; cut <= stream.size(); ++cut) {
		StreamFramer f(4096);
		std::vector<std::string> ids;
		f.feed(std::string_view(stream).substr(0, cut));
		for (auto& id : drain(f))
			ids.push_back(id);
		f.feed(std::string_view(stream).substr(cut));
		for (auto& id : drain(f))
			ids.push_back(id);
		INFO("cut at ", cut);
		CHECK(ids == std::vector<std::string>{"call-1", "call-2"});
		CHECK(f.malformed() == 0);
	}
}

TEST_CASE("byte-at-a-time delivery")
{
	const std::string stream = msg(7, "body") + msg(8);
	StreamFramer f(1024);
	std::vector<std::string> ids;
	for (char c : stream) {
		f.feed(std::string_view(&c, 1));
		for (auto& id : drain(f))
			ids.push_back(id);
	}
	CHECK(ids == std::vector<std::string>{"call-7", "call-8"});
}

TEST_CASE("a message larger than the buffer overflows, is counted, and the flow recovers")
{
	StreamFramer f(512);
	const std::string big = msg(1, std::string(2000, 'x'));
	size_t off = 0;
	int overflow = 0;
	while (off < big.size()) {
		off += f.feed(std::string_view(big).substr(off));
		drain(f, nullptr, &overflow);
	}
	CHECK(overflow >= 1);
	CHECK(f.overflows() >= 1);
	f.reset();
	f.feed(msg(2));
	CHECK(drain(f) == std::vector<std::string>{"call-2"});
	// A declared body that can never fit is an overflow as soon as the head is in.
	StreamFramer g(512);
	g.feed(wire("OPTIONS sip:u@x SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:b@c>\n"
	            "Call-ID: c\nCSeq: 1 OPTIONS\nContent-Length: 60000\n\n"));
	Message m;
	CHECK(g.next(m) == StreamFramer::Status::Overflow);
}

TEST_CASE("malformed messages: skipped when framed, buffer dropped when not")
{
	StreamFramer f;
	// Framed but invalid (CSeq method mismatch): skipped, next message parsed.
	std::string bad = msg(1);
	bad.replace(bad.find("1 OPTIONS"), 9, "1 INVITE ");
	int malformed = 0;
	f.feed(bad + msg(2));
	auto ids = drain(f, &malformed);
	CHECK(malformed == 1);
	CHECK(ids == std::vector<std::string>{"call-2"});
	// Junk cannot be resynchronised: everything buffered is dropped.
	StreamFramer g;
	g.feed(std::string("\x16\x03\x01 binary junk\r\n", 18));
	malformed = 0;
	CHECK(drain(g, &malformed).empty());
	CHECK(malformed == 1);
	CHECK(g.buffered() == 0);
	// No Content-Length on a stream.
	StreamFramer h;
	h.feed(wire("OPTIONS sip:u@x SIP/2.0\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\nFrom: <sip:a@b>;tag=1\nTo: <sip:b@c>\n"
	            "Call-ID: c\nCSeq: 1 OPTIONS\n\n"));
	Message m;
	CHECK(h.next(m) == StreamFramer::Status::Malformed);
	CHECK(m.error == Malformation::MissingHeader);
}

TEST_CASE("a malformed message split across segments is reported once, and the next one parses")
{
	std::string bad = msg(1, "abc");
	bad.replace(bad.find("SIP/2.0\r\n"), 7, "SIP/3.0");
	const std::string stream = bad + msg(2);
	for (size_t cut = 1; cut < bad.size(); cut += 7) {
		StreamFramer f;
		int malformed = 0;
		std::vector<std::string> ids;
		f.feed(std::string_view(stream).substr(0, cut));
		for (auto& id : drain(f, &malformed))
			ids.push_back(id);
		f.feed(std::string_view(stream).substr(cut));
		for (auto& id : drain(f, &malformed))
			ids.push_back(id);
		INFO("cut at ", cut);
		CHECK(malformed == 1);
		CHECK(ids == std::vector<std::string>{"call-2"});
	}
}
