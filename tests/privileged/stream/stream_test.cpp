// SPDX-License-Identifier: GPL-2.0-or-later
// TCP stream inspection on the real kernel: a raw-socket sender (rawtcp.py)
// sends SIP over TCP in every order, with duplicates, conflicting overlaps,
// RST/SYN and byte by byte through `sipguard run`; what the pbx namespace's
// application receives must be what an in-order UDP sender gets through.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "tests/privileged/daemon/agent.h"
#include "tests/privileged/daemon/lab.h"
#include "tests/privileged/netns.h"

using namespace std::chrono_literals;
using sipguard::test::Agent;
using sipguard::test::DaemonLab;
using sipguard::test::EnterNetns;
using sipguard::test::Netns;
using sipguard::test::TempDir;
namespace json = sipguard::util::json;

namespace {

constexpr const char* kPbx = DaemonLab::kPbx4;
constexpr uint16_t kSip = 5060;

// --- the pbx's application: every byte per TCP peer, every datagram per UDP peer ---

class Sink {
public:
	// Listens on the pbx's IPv4 and IPv6 address (TCP and UDP on each).
	explicit Sink(const Netns& pbx)
	{
		EnterNetns in(pbx);
		for (size_t k = 0; k < 2; ++k) {
			socklen_t len = 0;
			const sockaddr_storage a = sipguard::test::make_addr(kSinkAddrs[k], kSip, len);
			int one = 1;
			tcp_[k] = ::socket(a.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
			udp_[k] = ::socket(a.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
			REQUIRE(tcp_[k] >= 0);
			REQUIRE(udp_[k] >= 0);
			::setsockopt(tcp_[k], SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
			REQUIRE(::bind(tcp_[k], reinterpret_cast<const sockaddr*>(&a), len) == 0);
			REQUIRE(::listen(tcp_[k], 512) == 0);
			REQUIRE(::bind(udp_[k], reinterpret_cast<const sockaddr*>(&a), len) == 0);
			int buf = 4 << 20;
			::setsockopt(udp_[k], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
		}
		thread_ = std::thread([this] { loop(); });
	}
	~Sink()
	{
		stop_ = true;
		thread_.join();
		for (auto& [fd, peer] : conns_)
			::close(fd);
		for (int fd : {tcp_[0], tcp_[1], udp_[0], udp_[1]})
			::close(fd);
	}
	Sink(const Sink&) = delete;
	Sink& operator=(const Sink&) = delete;

	// Bytes from every connection of `peer` (the cases use one each).
	std::string tcp(const std::string& peer) const
	{
		std::lock_guard lock(mu_);
		std::string out;
		for (const auto& [key, bytes] : tcp_bytes_)
			if (key.starts_with(peer + ":"))
				out += bytes;
		return out;
	}
	std::string tcp(const std::string& peer, uint16_t port) const
	{
		std::lock_guard lock(mu_);
		auto it = tcp_bytes_.find(fmt::format("{}:{}", peer, port));
		return it == tcp_bytes_.end() ? std::string() : it->second;
	}
	std::vector<std::string> udp(const std::string& peer) const
	{
		std::lock_guard lock(mu_);
		auto it = udp_msgs_.find(peer);
		return it == udp_msgs_.end() ? std::vector<std::string>() : it->second;
	}

private:
	static constexpr const char* kSinkAddrs[2] = {DaemonLab::kPbx4, DaemonLab::kPbx6};
	static uint16_t port_of(const sockaddr_storage& a)
	{
		return ntohs(a.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&a)->sin6_port
		                                     : reinterpret_cast<const sockaddr_in*>(&a)->sin_port);
	}

	// Bounded: each pass waits at most 50 ms; ends when the test is done.
	void loop()
	{
		std::vector<char> buf(65536);
		while (!stop_) {
			std::vector<pollfd> fds{{tcp_[0], POLLIN, 0}, {tcp_[1], POLLIN, 0}, {udp_[0], POLLIN, 0}, {udp_[1], POLLIN, 0}};
			for (auto& [fd, peer] : conns_)
				fds.push_back({fd, POLLIN, 0});
			if (::poll(fds.data(), fds.size(), 50) <= 0)
				continue;
			for (size_t k = 0; k < 2; ++k) {
				if (!(fds[k].revents & POLLIN))
					continue;
				for (int i = 0; i < 64; ++i) {
					sockaddr_storage a{};
					socklen_t len = sizeof a;
					int fd = ::accept4(tcp_[k], reinterpret_cast<sockaddr*>(&a), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					conns_[fd] = fmt::format("{}:{}", sipguard::test::source_of(a), port_of(a));
				}
			}
			for (size_t k = 0; k < 2; ++k) {
				if (!(fds[2 + k].revents & POLLIN))
					continue;
				for (int i = 0; i < 256; ++i) {
					sockaddr_storage a{};
					socklen_t len = sizeof a;
					ssize_t n = ::recvfrom(udp_[k], buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&a), &len);
					if (n < 0)
						break;
					std::lock_guard lock(mu_);
					udp_msgs_[sipguard::test::source_of(a)].emplace_back(buf.data(), static_cast<size_t>(n));
				}
			}
			for (size_t i = 4; i < fds.size(); ++i) {
				if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				ssize_t n = ::recv(fds[i].fd, buf.data(), buf.size(), 0);
				if (n > 0) {
					std::lock_guard lock(mu_);
					tcp_bytes_[conns_[fds[i].fd]].append(buf.data(), static_cast<size_t>(n));
				} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
					::close(fds[i].fd);
					conns_.erase(fds[i].fd);
				}
			}
		}
	}

	int tcp_[2] = {-1, -1}, udp_[2] = {-1, -1}; // [0] IPv4, [1] IPv6
	std::atomic<bool> stop_{false};
	std::map<int, std::string> conns_; // loop thread only: fd -> "addr:port"
	mutable std::mutex mu_;
	std::map<std::string, std::string> tcp_bytes_; // by "addr:port"
	std::map<std::string, std::vector<std::string>> udp_msgs_;
	std::thread thread_;
};

// --- SIP messages -----------------------------------------------------------

std::string options(const std::string& id, int cseq)
{
	return fmt::format("OPTIONS sip:100@{0} SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10:5070;branch=z9hG4bK-{1}\r\n"
	                   "Max-Forwards: 70\r\nFrom: <sip:100@{0}>;tag={1}\r\nTo: <sip:100@{0}>\r\n"
	                   "Call-ID: {1}@192.0.2.10\r\nCSeq: {2} OPTIONS\r\nUser-Agent: Yealink SIP-T46S 66.86.0.15\r\n"
	                   "Content-Length: 0\r\n\r\n",
	                   kPbx, id, cseq);
}

std::string message_with_body(const std::string& body = "hello over a reordered stream, 0123456789")
{
	return fmt::format("MESSAGE sip:101@{0} SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10:5070;branch=z9hG4bK-m1\r\n"
	                   "Max-Forwards: 70\r\nFrom: <sip:100@{0}>;tag=m1\r\nTo: <sip:101@{0}>\r\n"
	                   "Call-ID: m1@192.0.2.10\r\nCSeq: 1 MESSAGE\r\nUser-Agent: Yealink SIP-T46S 66.86.0.15\r\n"
	                   "Content-Type: text/plain\r\nContent-Length: {1}\r\n\r\n{2}",
	                   kPbx, body.size(), body);
}

// Makes phones reprovision; from an untrusted source the agent drops it
// (agent/detect/forged.cpp) and a UDP sender never gets it through.
std::string checksync_notify()
{
	return fmt::format("NOTIFY sip:100@{0} SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10:5070;branch=z9hG4bK-n1\r\n"
	                   "Max-Forwards: 70\r\nFrom: <sip:provisioning@{0}>;tag=n1\r\nTo: <sip:100@{0}>\r\n"
	                   "Call-ID: n1@192.0.2.10\r\nCSeq: 1 NOTIFY\r\nEvent: check-sync\r\n"
	                   "Subscription-State: terminated\r\nContent-Length: 0\r\n\r\n",
	                   kPbx);
}

// `n` bytes of text, to make a message longer than one segment (MSS 1460 on the veth).
std::string long_body(size_t n)
{
	std::string body;
	for (size_t i = 0; body.size() < n; ++i)
		body += fmt::format("line {:04} of a body longer than one segment\r\n", i);
	body.resize(n);
	return body;
}

// `msg` (without a body) with long_body(n) as its body.
std::string padded(const std::string& msg, size_t n)
{
	const std::string body = long_body(n);
	const std::string empty = "Content-Length: 0\r\n\r\n";
	std::string out = msg;
	out.replace(out.find(empty), empty.size(),
	            fmt::format("Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{}", n, body));
	return out;
}

// Ten in one 1460-byte segment: compact header forms (RFC 3261 §7.3.3).
std::string short_options(int i)
{
	return fmt::format("OPTIONS sip:100@{0} SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bKk{1}\r\nf: <sip:100@h>;tag=k{1}"
	                   "\r\nt: <sip:100@h>\r\ni: k{1}\r\nCSeq: {1} OPTIONS\r\nl: 0\r\n\r\n",
	                   kPbx, i);
}

// The same forged NOTIFY, short enough to be the tenth in that segment.
std::string short_checksync_notify()
{
	return fmt::format("NOTIFY sip:100@{0} SIP/2.0\r\nv: SIP/2.0/TCP h;branch=z9hG4bKn1\r\nf: <sip:100@h>;tag=n1\r\n"
	                   "t: <sip:100@h>\r\ni: n1\r\nCSeq: 1 NOTIFY\r\nEvent: check-sync\r\nl: 0\r\n\r\n",
	                   kPbx);
}

// Splits received bytes into messages (head up to CRLFCRLF, Content-Length
// or l: for the body); a trailing incomplete part is returned as such.
std::vector<std::string> split_messages(const std::string& bytes, std::string* partial = nullptr)
{
	std::vector<std::string> out;
	size_t pos = 0;
	for (int guard = 0; guard < 10000 && pos < bytes.size(); ++guard) {
		size_t end = bytes.find("\r\n\r\n", pos);
		if (end == std::string::npos)
			break;
		std::string head = bytes.substr(pos, end - pos);
		std::string lower = head;
		std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
		size_t body = 0;
		for (const char* name : {"\r\ncontent-length:", "\r\nl:"}) {
			size_t h = lower.find(name);
			if (h != std::string::npos) {
				body = std::strtoul(lower.c_str() + h + std::strlen(name), nullptr, 10);
				break;
			}
		}
		if (end + 4 + body > bytes.size())
			break;
		out.push_back(bytes.substr(pos, end + 4 + body - pos));
		pos = end + 4 + body;
	}
	if (partial)
		*partial = bytes.substr(pos);
	return out;
}

// "OPTIONS,MESSAGE x2,+12 bytes" for the report.
std::string describe(const std::vector<std::string>& msgs, const std::string& partial = {})
{
	std::string s;
	for (size_t i = 0; i < msgs.size();) {
		const std::string method = msgs[i].substr(0, msgs[i].find(' '));
		size_t run = 1;
		while (i + run < msgs.size() && msgs[i + run].substr(0, msgs[i + run].find(' ')) == method)
			++run;
		s += (s.empty() ? "" : ",") + method + (run > 1 ? fmt::format(" x{}", run) : "");
		i += run;
	}
	if (!partial.empty())
		s += (s.empty() ? "" : ",") + fmt::format("+{} bytes", partial.size());
	return s.empty() ? "-" : s;
}

// The tool's "off+len" list, runs of one-byte segments folded ("270..556+1").
std::string describe_sent(const json::Value& sent)
{
	std::string s;
	const auto& a = sent.as_array();
	for (size_t i = 0; i < a.size();) {
		const std::string& x = a[i].as_string();
		size_t j = i;
		if (x.ends_with("+1") && std::isdigit(static_cast<unsigned char>(x[0]))) {
			long first = std::atol(x.c_str());
			while (j + 1 < a.size() && a[j + 1].as_string() == fmt::format("{}+1", first + static_cast<long>(j + 1 - i)))
				++j;
			if (j > i) {
				s += fmt::format("{}..{}+1 ", first, first + static_cast<long>(j - i));
				i = j + 1;
				continue;
			}
		}
		s += x + " ";
		++i;
	}
	return s;
}

std::string hex(std::string_view s)
{
	std::string out;
	for (unsigned char c : s)
		out += fmt::format("{:02x}", c);
	return out;
}

// --- cases --------------------------------------------------------------------

enum class Expect {
	Udp,    // byte for byte what the UDP sender got through, in order
	Prefix, // exactly the first `prefix` messages of the stream (the flow ends there)
	Safe,   // whole messages only, a prefix of what UDP got through (nothing it did not)
};

struct Case {
	std::string name;
	std::vector<std::string> msgs;
	json::Array steps;
	Expect expect = Expect::Udp;
	size_t prefix = 0;
	int gap_ms = 8;
	int64_t isn = -1; // the sender's ISN; -1 = random
};

json::Value seg(size_t off, size_t len)
{
	json::Value v;
	v.set("off", static_cast<unsigned long>(off));
	v.set("len", static_cast<unsigned long>(len));
	return v;
}

json::Value seg_bytes(size_t off, const std::string& bytes)
{
	json::Value v = seg(off, bytes.size());
	v.set("data", hex(bytes));
	return v;
}

json::Value step(const char* key, json::Value what)
{
	json::Value v;
	v.set(key, std::move(what));
	return v;
}

size_t offset_of(const std::vector<std::string>& msgs, size_t index)
{
	size_t off = 0;
	for (size_t i = 0; i < index; ++i)
		off += msgs[i].size();
	return off;
}

// The message under test (index 1 of its stream) cut at landmarks: after the
// method, at a key header, at the empty line ending the head.
struct Subject {
	std::vector<std::string> msgs; // [benign OPTIONS, subject, (more)]
	size_t index = 1;
	size_t key = 0;       // the header that decides (Event:, Content-Type:)
	size_t head_end = 0;  // the CRLF of the empty line
	size_t conflict = 0;  // bytes whose other version a conflicting overlap carries
	std::string other;    // that version
	const std::string& text() const { return msgs[index]; }
	size_t base() const { return offset_of(msgs, index); }
};

Subject benign_subject()
{
	Subject s;
	s.msgs = {options("o1", 1), message_with_body(), options("o2", 2)};
	s.key = s.text().find("Content-Type:");
	s.head_end = s.text().find("\r\n\r\n") + 2;
	s.conflict = s.text().find("hello");
	s.other = "HELLO";
	return s;
}

Subject attack_subject()
{
	Subject s;
	s.msgs = {options("o1", 1), checksync_notify()};
	s.key = s.text().find("Event:");
	s.head_end = s.text().find("\r\n\r\n") + 2;
	s.conflict = s.text().find("check-sync");
	s.other = "keep-alive";
	return s;
}

using Pieces = std::vector<std::pair<size_t, size_t>>; // [from, to) within the subject

// Whole messages before the subject, its pieces in the given order (extra
// steps spliced in before piece `at`), then whole messages after it.
json::Array around(const Subject& s, const Pieces& pieces, const std::vector<size_t>& order,
                   const std::vector<std::pair<size_t, json::Value>>& extra = {})
{
	json::Array steps;
	for (size_t i = 0; i < s.index; ++i)
		steps.push_back(seg(offset_of(s.msgs, i), s.msgs[i].size()));
	for (size_t k = 0; k < order.size(); ++k) {
		for (const auto& [at, v] : extra)
			if (at == k)
				steps.push_back(v);
		const auto& p = pieces[order[k]];
		steps.push_back(seg(s.base() + p.first, p.second - p.first));
	}
	for (size_t i = s.index + 1; i < s.msgs.size(); ++i)
		steps.push_back(seg(offset_of(s.msgs, i), s.msgs[i].size()));
	return steps;
}

std::vector<size_t> iota_order(size_t n)
{
	std::vector<size_t> v(n);
	std::iota(v.begin(), v.end(), 0);
	return v;
}

std::string order_name(const std::vector<size_t>& order)
{
	std::string s;
	for (size_t i : order)
		s += static_cast<char>('0' + i);
	return s;
}

void add_subject_cases(std::vector<Case>& out, const Subject& s, const std::string& tag)
{
	const size_t n = s.text().size();
	auto add = [&](std::string name, json::Array steps, Expect e = Expect::Udp, size_t prefix = 0) {
		out.push_back(Case{tag + "/" + std::move(name), s.msgs, std::move(steps), e, prefix});
	};
	// The sequence numbers wrap 29 bytes into the subject.
	auto add_wrapped = [&](std::string name, json::Array steps) {
		add("seq-wrap-" + std::move(name), std::move(steps));
		out.back().isn = (int64_t{1} << 32) - static_cast<int64_t>(s.base()) - 30;
	};
	add("in-order", around(s, {{0, n}}, {0}));
	add("tail-first-crlf", around(s, {{0, n - 2}, {n - 2, n}}, {1, 0}));
	add("tail-first-30", around(s, {{0, n - 30}, {n - 30, n}}, {1, 0}));
	add("middle-first", around(s, {{0, s.key}, {s.key, s.head_end}, {s.head_end, n}}, {1, 0, 2}));
	const Pieces three{{0, s.key}, {s.key, s.head_end}, {s.head_end, n}};
	const Pieces four{{0, 7}, {7, s.key}, {s.key, s.head_end}, {s.head_end, n}};
	for (const Pieces* p : {&three, &four}) {
		std::vector<size_t> order = iota_order(p->size());
		do
			add(fmt::format("perm{}-{}", p->size(), order_name(order)), around(s, *p, order));
		while (std::next_permutation(order.begin(), order.end()));
	}
	add("duplicates", around(s, {{0, s.key}, {s.key, n}}, {0, 0, 1, 1}));
	add("duplicate-before", around(s, {{s.key, n}, {0, s.key}}, {0, 0, 1, 0, 1}));
	add("overlap-same", around(s, {{0, s.key + 10}, {s.key - 5, s.head_end + 1}, {s.head_end - 1, n}}, {0, 1, 2}));
	add("overlap-same-reverse", around(s, {{0, s.key + 10}, {s.key - 5, s.head_end + 1}, {s.head_end - 1, n}}, {2, 1, 0}));
	{
		Pieces bytes;
		for (size_t i = 0; i < n; ++i)
			bytes.push_back({i, i + 1});
		add("bytewise", around(s, bytes, iota_order(n)));
	}
	add("retransmit", around(s, {{0, n}}, {0, 0, 0}, {{1, step("wait", 300)}, {2, step("wait", 300)}}));
	add_wrapped("in-order", around(s, {{0, n}}, {0}));
	add_wrapped("tail-first-crlf", around(s, {{0, n - 2}, {n - 2, n}}, {1, 0}));
	add_wrapped("perm4-3201", around(s, four, {3, 2, 0, 1}));
	add_wrapped("retransmit", around(s, {{0, n}}, {0, 0}, {{1, step("wait", 300)}}));
	{
		// One segment from inside the delivered OPTIONS into the subject's head.
		json::Array steps{seg(0, s.base())};
		steps.push_back(seg(s.base() - 20, 20 + s.key));
		steps.push_back(seg(s.base() + s.key, n - s.key));
		for (size_t i = s.index + 1; i < s.msgs.size(); ++i)
			steps.push_back(seg(offset_of(s.msgs, i), s.msgs[i].size()));
		add("straddle-delivered", std::move(steps));
	}
	// RST/SYN between the head and the rest of the subject.
	const Pieces halves{{0, s.key}, {s.key, n}};
	add("rst-inside-window", around(s, halves, {0, 1}, {{1, step("wait", 60)}, {1, step("rst", "inside")}}));
	add("rst-out-of-window", around(s, halves, {0, 1}, {{1, step("wait", 60)}, {1, step("rst", "far")}}));
	add("syn-out-of-window", around(s, halves, {0, 1}, {{1, step("wait", 60)}, {1, step("syn", "far")}}));
	add("rst-at-frontier", around(s, halves, {0, 1}, {{1, step("wait", 60)}, {1, step("rst", "frontier")}}),
	    Expect::Prefix, s.index);
	// Conflicting overlaps: the other version of the decisive bytes first,
	// then the real ones, and the other way round; and a conflicting resend
	// of a message the peer already acknowledged.
	{
		const size_t c = s.conflict, len = s.other.size();
		std::string first = s.text().substr(0, c + len);
		first.replace(c, len, s.other);
		json::Array a = around(s, {{c, n}}, {0}, {{0, seg_bytes(s.base(), first)}});
		add("conflict-other-first", std::move(a), Expect::Prefix, s.index);
		json::Array b = around(s, {{c, n}}, {0});
		b.insert(b.begin() + static_cast<long>(s.index) + 1, seg_bytes(s.base(), first));
		add("conflict-real-first", std::move(b), Expect::Prefix, s.index);
		std::string o1 = s.msgs[0];
		o1[o1.find("o1@")] = 'x';
		json::Array r = around(s, {{0, n}}, {0}, {{0, step("wait", 60)}, {0, seg_bytes(0, o1)}});
		add("conflict-after-ack", std::move(r), Expect::Prefix, s.index);
		// Insertion: the other version whole with a bad TCP checksum, which
		// the PBX's TCP discards after the queue hook, then the real one.
		std::string whole = s.text();
		whole.replace(c, len, s.other);
		json::Value inserted = seg_bytes(s.base(), whole);
		inserted.set("badsum", true);
		add("insertion-bad-checksum", around(s, {{0, n}}, {0}, {{0, inserted}, {0, step("wait", 60)}}), Expect::Prefix,
		    s.index);
	}
}

std::vector<Case> all_cases()
{
	std::vector<Case> out;
	add_subject_cases(out, benign_subject(), "benign");
	add_subject_cases(out, attack_subject(), "checksync");
	// A message longer than the MSS, sent in order as a sender's kernel cuts it.
	for (bool notify : {false, true}) {
		Case c;
		c.name = notify ? "checksync/longer-than-mss" : "benign/longer-than-mss";
		c.msgs = {options("o1", 1), notify ? padded(checksync_notify(), 2400) : message_with_body(long_body(2400))};
		if (!notify)
			c.msgs.push_back(options("o2", 2));
		for (size_t i = 0, off = 0; i < c.msgs.size(); off += c.msgs[i].size(), ++i)
			for (size_t k = 0; k < c.msgs[i].size(); k += 1460)
				c.steps.push_back(seg(off + k, std::min<size_t>(1460, c.msgs[i].size() - k)));
		out.push_back(std::move(c));
	}
	for (bool notify : {false, true}) {
		Case c;
		c.name = notify ? "ten-in-one-segment/notify-last" : "ten-in-one-segment";
		for (int i = 1; i <= 10; ++i)
			c.msgs.push_back(notify && i == 10 ? short_checksync_notify() : short_options(i));
		size_t total = offset_of(c.msgs, c.msgs.size());
		c.steps.push_back(seg(0, total));
		// A NOTIFY among them cannot be cut out of the segment: nothing, or whole messages.
		c.expect = notify ? Expect::Safe : Expect::Udp;
		out.push_back(std::move(c));
	}
	return out;
}

// --- agent counters ---------------------------------------------------------

std::map<std::string, double> metric_values(const std::string& text)
{
	std::map<std::string, double> out;
	std::istringstream in(text);
	std::string line;
	while (std::getline(in, line)) {
		if (line.empty() || line[0] == '#')
			continue;
		size_t sp = line.rfind(' ');
		if (sp == std::string::npos)
			continue;
		out[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
	}
	return out;
}

std::string metric_delta(const std::map<std::string, double>& before, const std::map<std::string, double>& after)
{
	std::string s;
	for (const auto& [k, v] : after) {
		auto it = before.find(k);
		double d = v - (it == before.end() ? 0 : it->second);
		if (d != 0 && k.find("_seconds") == std::string::npos && k.find("bytes") == std::string::npos)
			s += fmt::format("    {} +{}\n", k, d);
	}
	return s;
}

// Case i's TCP (transport 0) or UDP (1) source: 10.20.i.1 / 10.21.i.1, or
// fd00:20:i::1 / fd00:21:i::1 (a /48 each: no detector's prefix joins two),
// in the form inet_ntop gives the sink ("fd00:20::1" for i = 0).
std::string case_addr(int transport, size_t i, bool v6 = false)
{
	if (!v6)
		return fmt::format("10.{}.{}.1", 20 + transport, i);
	in6_addr a{};
	char buf[INET6_ADDRSTRLEN] = {};
	inet_pton(AF_INET6, fmt::format("fd00:{}:{}::1", 20 + transport, i).c_str(), &a);
	inet_ntop(AF_INET6, &a, buf, sizeof buf);
	return buf;
}

// rawtcp.py beside this file; exits 77 without it or python3.
std::string rawtcp_tool()
{
	const char* root = std::getenv("SIPGUARD_SOURCE_ROOT");
	const std::string tool = std::string(root ? root : ".") + "/tests/privileged/stream/rawtcp.py";
	if (sipguard::test::run("python3 -c 'import socket, select, json' >/dev/null 2>&1") != 0 ||
	    !std::ifstream(tool)) {
		std::fprintf(stderr, "skipped: needs python3 and %s\n", tool.c_str());
		std::exit(77);
	}
	return tool;
}

// The pbx routes the senders' 10.20/15 and fd00:20::/31 back; the client
// kernel, which has no socket for the raw sender's ports, would answer every
// SYN-ACK with a RST: its unmarked RSTs are dropped (the raw sender marks its
// own; the inet table covers IPv4 and IPv6).
void prepare_lab(DaemonLab& lab)
{
	lab.pbx().must(std::string("ip route add 10.20.0.0/15 via 198.18.0.1"));
	lab.pbx().must(std::string("ip -6 route add fd00:20::/31 via fd00:5b::1"));
	lab.client().must("nft add table inet rawtcp && nft add chain inet rawtcp out "
	                  "'{ type filter hook output priority 0; policy accept; }' && "
	                  "nft add rule inet rawtcp out meta mark != 0x5347 tcp dport 5060 'tcp flags & rst == rst' drop");
}

// Runs the sessions in the client namespace (bounded: 90 s); reports by name.
std::map<std::string, json::Value> run_rawtcp(const DaemonLab& lab, const std::filesystem::path& dir,
                                              const std::string& tool, const json::Array& specs, int stagger_ms = 5,
                                              const char* dst = kPbx)
{
	const auto file = dir / "sessions.json";
	std::ofstream(file, std::ios::trunc) << json::Value(specs).dump();
	int st = 0;
	const std::string out = lab.client().exec_capture(fmt::format("timeout 90 python3 {} --dst {} --stagger-ms {} {} 2>{}",
	                                                              tool, dst, stagger_ms, file.string(),
	                                                              (dir / "rawtcp.err").string()),
	                                                  &st);
	INFO("rawtcp.py exited " << st << ": " << sipguard::test::read_file(dir / "rawtcp.err"));
	REQUIRE(st == 0);
	auto v = json::parse(out);
	REQUIRE_MESSAGE(v, out);
	std::map<std::string, json::Value> reports;
	for (const auto& r : v->as_array())
		reports[r["name"].as_string()] = r;
	return reports;
}

// Runs `cases` (filtered by STREAM_TEST_ONLY) through a fresh lab and agent,
// from IPv6 sources to the pbx's IPv6 address if `v6`, and checks each.
void run_cases(std::vector<Case> cases, bool v6)
{
	sipguard::test::require_root_or_skip();
	const std::string tool = rawtcp_tool();

	if (const char* only = std::getenv("STREAM_TEST_ONLY"))
		std::erase_if(cases, [&](const Case& c) { return c.name.find(only) == std::string::npos; });
	if (cases.empty())
		return;
	REQUIRE(cases.size() < 256);
	const bool serial = std::getenv("STREAM_TEST_SERIAL") != nullptr;
	auto addr = [v6](int transport, size_t i) { return case_addr(transport, i, v6); };
	const char* pbx = v6 ? DaemonLab::kPbx6 : DaemonLab::kPbx4;

	// One /24 (IPv4) or /48 (IPv6) per sender (the flood detector's prefix
	// bucket and prefix bans join addresses of one prefix).
	std::vector<std::string> sources;
	for (size_t i = 0; i < cases.size(); ++i) {
		sources.push_back(addr(0, i));
		sources.push_back(addr(1, i));
	}
	DaemonLab lab(sources);
	prepare_lab(lab);
	TempDir dir;
	Sink sink(lab.pbx());
	Agent agent(lab.pbx(), dir.path);
	agent.start();

	// The reference: each case's messages as datagrams, in order, from its own source.
	for (size_t i = 0; i < cases.size(); ++i)
		for (const auto& m : cases[i].msgs)
			lab.send_sip(addr(1, i), m);

	auto session = [&](size_t i) {
		const Case& c = cases[i];
		std::string stream;
		for (const auto& m : c.msgs)
			stream += m;
		json::Value s;
		s.set("name", c.name);
		s.set("src", addr(0, i));
		s.set("sport", static_cast<int>(30000 + i));
		s.set("stream", hex(stream));
		s.set("steps", c.steps);
		s.set("gap_ms", c.gap_ms);
		s.set("finish_ms", 2000);
		if (c.isn >= 0)
			s.set("isn", static_cast<long long>(c.isn));
		return s;
	};
	std::map<std::string, json::Value> reports;
	std::map<std::string, std::string> deltas;
	auto run_tool = [&](const json::Array& specs) {
		for (auto& [name, r] : run_rawtcp(lab, dir.path, tool, specs, 5, pbx))
			reports[name] = r;
	};
	const auto t0 = std::chrono::steady_clock::now();
	if (serial) {
		for (size_t i = 0; i < cases.size(); ++i) {
			auto before = metric_values(agent.metrics());
			run_tool({session(i)});
			std::this_thread::sleep_for(200ms);
			deltas[cases[i].name] = metric_delta(before, metric_values(agent.metrics()));
		}
	} else {
		json::Array specs;
		for (size_t i = 0; i < cases.size(); ++i)
			specs.push_back(session(i));
		run_tool(specs);
	}
	std::this_thread::sleep_for(300ms);
	const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);

	std::map<std::string, std::string> banned; // source -> detector
	for (const auto& b : agent.bans().as_array())
		banned[b["addr"].as_string()] = b["detector"].as_string();

	int passed = 0;
	std::string table;
	for (size_t i = 0; i < cases.size(); ++i) {
		const Case& c = cases[i];
		const std::vector<std::string> udp = sink.udp(addr(1, i));
		// The reference means something only if UDP got the benign messages
		// through and the forged NOTIFY not.
		std::vector<std::string> benign;
		std::copy_if(c.msgs.begin(), c.msgs.end(), std::back_inserter(benign),
		             [](const std::string& m) { return m.find("Event: check-sync") == std::string::npos; });
		CHECK_MESSAGE(udp == benign, c.name << ": the UDP sender got [" << describe(udp) << "] through, not ["
		                                    << describe(benign) << "]");
		const std::string got = sink.tcp(addr(0, i));
		std::string partial;
		const std::vector<std::string> got_msgs = split_messages(got, &partial);
		std::vector<std::string> want = udp;
		if (c.expect == Expect::Prefix)
			want.assign(c.msgs.begin(), c.msgs.begin() + static_cast<long>(c.prefix));
		bool ok = partial.empty() && got_msgs == want;
		std::string want_text = describe(want);
		if (c.expect == Expect::Safe) {
			ok = partial.empty() && got_msgs.size() <= udp.size() &&
			     std::equal(got_msgs.begin(), got_msgs.end(), udp.begin());
			want_text = "a prefix of " + want_text;
		}
		passed += ok ? 1 : 0;
		const json::Value& r = reports[c.name];
		const std::string src = addr(0, i);
		std::string line = fmt::format("{:4} {:38} want [{}] got [{}]{} acked {}/{}/{}{}{}{}\n", ok ? "ok" : "FAIL",
		                               c.name, want_text, describe(got_msgs, partial),
		                               c.expect == Expect::Udp ? "" : " (udp [" + describe(udp) + "])",
		                               r["acked_script"].as_int(), r["acked"].as_int(), r["length"].as_int(),
		                               r["peer_rst"].as_bool() ? " peer-rst" : "",
		                               banned.count(src) ? " tcp-source-banned:" + banned[src] : "",
		                               r["error"].is_string() ? " error: " + r["error"].as_string() : "");
		if (!ok || serial) {
			line += "       sent (offset+len, * = other bytes, R = finisher): " + describe_sent(r["sent"]) + "\n";
			if (deltas.count(c.name))
				line += "       agent counters:\n" + deltas[c.name];
		}
		table += line;
		CHECK_MESSAGE(ok, line);
		CHECK_MESSAGE(r["connected"].as_bool(), c.name << ": no handshake: " << r.dump());
	}
	std::printf("TCP stream cases over %s (acked = bytes the PBX acknowledged after the script / at the end / stream "
	            "length):\n%s%d of %zu cases pass; TCP phase %lld ms\n",
	            v6 ? "IPv6" : "IPv4", table.c_str(), passed, cases.size(), static_cast<long long>(took.count()));
	std::printf("agent counters at the end:\n%s", metric_delta({}, metric_values(agent.metrics())).c_str());
	std::fflush(stdout);
}

// The IPv6 run: one or more cases of each kind (in order, tail first, out of
// order, retransmission of a dropped message, conflicting overlaps, an
// insertion with a bad checksum, a segment starting inside delivered bytes,
// RST at the frontier, sequence wrap, byte by byte, many in one segment).
std::vector<Case> ipv6_cases()
{
	static const std::set<std::string> kNames{
	    "benign/in-order", "checksync/in-order", "benign/tail-first-crlf", "checksync/tail-first-crlf",
	    "checksync/tail-first-30", "benign/middle-first", "checksync/middle-first", "benign/perm4-3201",
	    "checksync/perm4-3201", "checksync/perm3-210", "checksync/duplicate-before", "checksync/overlap-same-reverse",
	    "checksync/retransmit", "benign/conflict-other-first", "checksync/conflict-other-first",
	    "checksync/conflict-real-first", "checksync/conflict-after-ack", "checksync/insertion-bad-checksum",
	    "benign/straddle-delivered", "checksync/straddle-delivered", "checksync/rst-at-frontier",
	    "checksync/seq-wrap-tail-first-crlf", "checksync/bytewise", "ten-in-one-segment/notify-last"};
	std::vector<Case> cases = all_cases();
	std::erase_if(cases, [](const Case& c) { return !kNames.count(c.name); });
	REQUIRE(cases.size() == kNames.size());
	return cases;
}

} // namespace

TEST_CASE("a SIP stream over TCP reaches the PBX exactly as an in-order UDP sender gets it through")
{
	run_cases(all_cases(), false);
}

TEST_CASE("over IPv6 too: a SIP stream over TCP reaches the PBX exactly as an in-order UDP sender gets it through")
{
	run_cases(ipv6_cases(), true);
}

// The eviction attack (agent/engine/README.md, "TCP streams"): a sender
// that pushes its own flow out of the agent's table, with more than
// engine.tcp_flows newer connections of its own on the shard, takes the
// agent's copy of the delivered bytes with it. It then resends the delivered
// range with other bytes, which open for the agent an OPTIONS whose body runs
// to the end of a forged NOTIFY; the PBX ignores the resend and would read
// the NOTIFY as a message of its own.
namespace {

// `extra`: agent config; `capped`: whether engine.tcp_flows_per_source keeps
// the other connections out of the table (else they evict the sender's flow);
// `v6`: from IPv6 sources to the pbx's IPv6 address.
void eviction_attack(const std::string& extra, bool capped, bool v6 = false)
{
	sipguard::test::require_root_or_skip();
	const std::string tool = rawtcp_tool();
	// `control` does the same without evicting anything first.
	const std::string sender = case_addr(0, 0, v6), reference = case_addr(1, 0, v6), control = case_addr(0, 1, v6);
	const char* pbx = v6 ? DaemonLab::kPbx6 : DaemonLab::kPbx4;
	DaemonLab lab({sender, reference, control});
	prepare_lab(lab);
	TempDir dir;
	Sink sink(lab.pbx());
	Agent agent(lab.pbx(), dir.path, extra);
	agent.start();

	const std::vector<std::string> msgs{options("o1", 1), checksync_notify()};
	for (const auto& m : msgs)
		lab.send_sip(reference, m);
	const size_t delivered = msgs[0].size(), total = delivered + msgs[1].size();
	auto fake_head = [&](size_t length) {
		return fmt::format("OPTIONS sip:100@{0} SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bKe1\r\nFrom: <sip:100@{0}>;tag=e1"
		                   "\r\nTo: <sip:100@{0}>\r\nCall-ID: e1@h\r\nCSeq: 1 OPTIONS\r\nContent-Type: text/plain\r\n"
		                   "Content-Length: {1}\r\n\r\n",
		                   kPbx, length);
	};
	const size_t head_size = fake_head(100).size(); // the length has 3 digits
	REQUIRE(head_size < delivered);
	REQUIRE(total - head_size >= 100);
	REQUIRE(total - head_size < 1000);
	const std::string fake = fake_head(total - head_size) + std::string(delivered - head_size, 'x');
	REQUIRE(fake.size() == delivered);

	auto attacker = [&](const std::string& name, const std::string& src, int wait_ms) {
		json::Value v;
		v.set("name", name);
		v.set("src", src);
		v.set("sport", 31000);
		v.set("stream", hex(msgs[0] + msgs[1]));
		v.set("steps", json::Array{seg(0, delivered), step("wait", wait_ms), seg_bytes(0, fake), step("wait", 60),
		                           seg(delivered, msgs[1].size())});
		v.set("finish_ms", 1500);
		return v;
	};
	auto control_reports = run_rawtcp(lab, dir.path, tool, {attacker("control", control, 100)}, 5, pbx);

	constexpr int kEvictors = 300; // engine.tcp_flows is 256 by default, 64 in the uncapped case
	json::Array specs{attacker("sender", sender, 5000)};
	for (int i = 0; i < kEvictors; ++i) {
		json::Value v;
		v.set("name", fmt::format("evictor-{}", i));
		v.set("src", sender);
		v.set("sport", 32000 + i);
		v.set("stream", hex("\r\n\r\n"));
		v.set("steps", json::Array{seg(0, 4)});
		v.set("finish_ms", 500);
		v.set("close", false); // a connection that ends frees its flow
		specs.push_back(std::move(v));
	}
	auto reports = run_rawtcp(lab, dir.path, tool, specs, 2, pbx);
	std::this_thread::sleep_for(300ms);

	const auto metrics = metric_values(agent.metrics());
	const auto evictions = metrics.find("sipguard_evictions_total{table=\"tcp_flows\"}");
	const std::string got = sink.tcp(sender, 31000);
	std::string partial;
	const auto got_msgs = split_messages(got, &partial);
	int connected = 0;
	for (const auto& [name, r] : reports)
		connected += r["connected"].as_bool() ? 1 : 0;
	const json::Value& r = reports["sender"];
	std::printf("flow eviction over %s: %d of %d connections up, tcp_flows evictions %.0f; the PBX got [%s] from the sender "
	            "(acked %lld/%lld/%lld), UDP got [%s] through\n",
	            v6 ? "IPv6" : "IPv4", connected, kEvictors + 1, evictions == metrics.end() ? -1.0 : evictions->second,
	            describe(got_msgs, partial).c_str(), static_cast<long long>(r["acked_script"].as_int()),
	            static_cast<long long>(r["acked"].as_int()), static_cast<long long>(r["length"].as_int()),
	            describe(sink.udp(reference)).c_str());
	std::printf("without the evictors the PBX got [%s]; agent counters:\n", describe(split_messages(sink.tcp(control, 31000))).c_str());
	for (const auto& [k, v] : metrics)
		if (v != 0 && (k.find("tcp") != std::string::npos || k.find("forged") != std::string::npos))
			std::printf("    %s %.0f\n", k.c_str(), v);
	std::fflush(stdout);
	CHECK(sink.udp(reference) == std::vector<std::string>{msgs[0]});
	CHECK(sink.tcp(control, 31000) == msgs[0]);
	CHECK_MESSAGE(got == msgs[0], "the forged NOTIFY reached the PBX after the sender evicted its own flow");
	auto metric = [&](const std::string& name) {
		const auto it = metrics.find(name);
		return it == metrics.end() ? 0.0 : it->second;
	};
	if (capped) {
		CHECK(metric("sipguard_evictions_total{table=\"tcp_flows\"}") == 0);
		CHECK(metric("sipguard_dropped_total{cause=\"tcp_flows_over_cap\"}") > 0);
	} else {
		// The resend is refused (not at the evicted point); the NOTIFY
		// resumes the stream there and is judged.
		CHECK(metric("sipguard_evictions_total{table=\"tcp_flows\"}") > 0);
		CHECK(metric("sipguard_dropped_total{cause=\"tcp_flows_over_cap\"}") == 0);
		CHECK(metric("sipguard_dropped_total{cause=\"tcp_midstream\"}") > 0);
		CHECK(metric("sipguard_dropped_total{cause=\"forged\"}") > 0);
	}
}

} // namespace

TEST_CASE("a sender that evicts its own flow from the agent's table cannot get a forged NOTIFY through")
{
	eviction_attack("", true);
}

// The same with the per-source cap above the table: the sender's flow is
// evicted and resumes only at its delivered point.
TEST_CASE("a sender whose flow is evicted resumes at its delivered point: no forged NOTIFY through")
{
	// A table of 64 stream directions: the 300 evictors overflow it even
	// when a loaded machine completes only part of their handshakes in time.
	eviction_attack("[engine]\ntcp_flows = 64\ntcp_flows_per_source = 1024\n", false);
}

// The same over IPv6: the evicted flow is picked up midstream only at its
// delivered point.
TEST_CASE("over IPv6 too: a sender whose flow is evicted resumes at its delivered point: no forged NOTIFY through")
{
	eviction_attack("[engine]\ntcp_flows = 64\ntcp_flows_per_source = 1024\n", false, true);
}
