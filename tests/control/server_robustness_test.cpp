// SPDX-License-Identifier: GPL-2.0-or-later
// The control socket under abuse: malformed and binary lines, a request cut
// off mid-line, a 10 MB line, a slow-loris client, idle connections up to and
// past the limit, a follower that stops reading, a client that pipelines
// requests without reading, one that half-closes without reading, an answer
// larger than the backlog bound, idle clients past the idle timeout, too
// many followers, an answer that is pending for a while. After each, another
// client's `status` is answered within a second.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent/control/client.h"
#include "agent/control/server.h"
#include "tests/temp_dir.h"

using namespace sipguard;
using test::TempDir;
using namespace sipguard::control;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kAnswerWithin = 1000ms;
// The `stats` answer here: big, so that a few fill a socket buffer.
const std::string kMetrics(64 * 1024, 'm');
// The `explain` answer here: more than the 4 MiB bound of unread output, as
// `bans` is with tens of thousands of bans.
constexpr size_t kHugeAnswer = 10 * 1024 * 1024;

// A control server on a socket in a temp dir with a handler that counts
// what it executes.
struct Daemon {
	TempDir dir{"sg-ctl-robust"};
	std::string path = (dir.path / "control.sock").string();
	std::atomic<int> status_calls{0};
	std::atomic<int> ban_calls{0};
	std::atomic<int> stats_calls{0};
	std::atomic<bool> reload_done{false}; // `reload` is pending until then
	std::unique_ptr<ControlServer> server;

	explicit Daemon(std::chrono::milliseconds idle_timeout = ControlServer::kIdleTimeout)
	{
		ControlServer::Options o;
		o.control_path = path;
		o.idle_timeout = idle_timeout;
		server = ControlServer::create(
			o,
			[this](const Request& r, const PeerCred&) -> HandlerResult {
				json::Value body = json::Object{};
				body.set("cmd", r.cmd);
				if (r.cmd == "reload") {
					HandlerResult pending;
					pending.pending = [this, body]() -> std::optional<std::string> {
						if (!reload_done)
							return std::nullopt;
						return encode_ok(body);
					};
					return pending;
				}
				if (r.cmd == "status")
					++status_calls;
				if (r.cmd == "ban")
					++ban_calls;
				if (r.cmd == "stats") {
					++stats_calls;
					body.set("metrics", kMetrics);
				}
				if (r.cmd == "explain")
					body.set("text", std::string(kHugeAnswer, 'e'));
				return {encode_ok(std::move(body)), r.cmd == "follow" || r.args["follow"].as_bool()};
			},
			[] { return std::string(); });
		server->start();
	}

	// Waits (bounded) until the server holds `n` clients.
	bool clients_become(size_t n, std::chrono::milliseconds within = 2000ms) const
	{
		const auto deadline = Clock::now() + within;
		while (server->clients() != n && Clock::now() < deadline)
			std::this_thread::sleep_for(5ms);
		return server->clients() == n;
	}
};

// Another client's `status`, as `sipguard status` sends it: answered, and in time.
bool status_answered(const Daemon& d)
{
	const auto start = Clock::now();
	auto c = ControlClient::connect(d.path);
	if (!c) {
		MESSAGE(c.error());
		return false;
	}
	auto r = c->request(encode_request("status"), kAnswerWithin);
	const auto took = Clock::now() - start;
	if (!r) {
		MESSAGE(r.error());
		return false;
	}
	if (!r->ok)
		MESSAGE(r->error);
	return r->ok && r->body["cmd"].as_string() == "status" && took < kAnswerWithin;
}

// A raw, non-blocking connection: writes what it is told, reads only when
// asked, every wait bounded by a deadline.
class Raw {
public:
	explicit Raw(const std::string& path)
	{
		fd_ = util::UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
		REQUIRE(fd_);
		sockaddr_un sa{};
		sa.sun_family = AF_UNIX;
		std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
		// Blocking connect waits for room in the listen backlog.
		REQUIRE(::connect(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
		REQUIRE(::fcntl(fd_.get(), F_SETFL, O_NONBLOCK) == 0);
	}

	// Bytes written before the deadline or the peer going away.
	size_t send_some(std::string_view data, Clock::time_point deadline)
	{
		size_t off = 0;
		while (off < data.size() && Clock::now() < deadline) {
			ssize_t n = ::send(fd_.get(), data.data() + off, data.size() - off, MSG_NOSIGNAL);
			if (n > 0) {
				off += static_cast<size_t>(n);
				continue;
			}
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				break; // EPIPE, ECONNRESET: the server closed us
			pollfd p{fd_.get(), POLLOUT, 0};
			::poll(&p, 1, 10);
		}
		return off;
	}
	bool send_all(std::string_view data, std::chrono::milliseconds within = 1000ms)
	{
		return send_some(data, Clock::now() + within) == data.size();
	}

	// The next line, or nullopt on end of stream or the deadline.
	std::optional<std::string> line(std::chrono::milliseconds within = kAnswerWithin)
	{
		const auto deadline = Clock::now() + within;
		for (;;) {
			if (size_t nl = buf_.find('\n'); nl != std::string::npos) {
				std::string l = buf_.substr(0, nl);
				buf_.erase(0, nl + 1);
				return l;
			}
			if (eof_ || !fill(deadline))
				return std::nullopt;
		}
	}

	// Reads until the server closes the connection (true) or the deadline;
	// what arrived stays in buf().
	bool closed_by_server(std::chrono::milliseconds within = kAnswerWithin)
	{
		const auto deadline = Clock::now() + within;
		while (!eof_ && fill(deadline)) {
		}
		return eof_;
	}

	void shutdown_write() { ::shutdown(fd_.get(), SHUT_WR); }
	void close() { fd_.reset(); }
	const std::string& buf() const { return buf_; }

private:
	// One read; false at the deadline.
	bool fill(Clock::time_point deadline)
	{
		const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
		if (left <= 0)
			return false;
		pollfd p{fd_.get(), POLLIN, 0};
		if (::poll(&p, 1, static_cast<int>(left)) <= 0)
			return false;
		char b[65536];
		ssize_t n = ::recv(fd_.get(), b, sizeof(b), 0);
		if (n > 0)
			buf_.append(b, static_cast<size_t>(n));
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			eof_ = true; // ECONNRESET counts as closed
		return true;
	}

	util::UniqueFd fd_;
	std::string buf_;
	bool eof_ = false;
};

double process_cpu_seconds()
{
	timespec ts{};
	::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

} // namespace

TEST_CASE("malformed JSON and binary garbage: one error per line, and the connection keeps serving")
{
	Daemon d;
	Raw c(d.path);
	const std::string deep(60000, '[');
	const std::vector<std::string> bad = {
		"{\"cmd\":",
		"{\"cmd\":\"status\"",
		"}{",
		"{\"cmd\":\"status\"}{\"cmd\":\"status\"}",
		"[1,2,3]",
		"42",
		"{\"cmd\":42}",
		"{\"cmd\":\"status\",\"cmd\":\"ban\",\"addr\":\"192.0.2.7\"}",
		"{\"cmd\":\"st\\u0000atus\"}",
		std::string("{\"cmd\":\"status\"\0}", 17),
		"{\"cmd\":\"\xff\xfe\xc0\x80\"}",
		"{\"cmd\":\"status\",\"x\":\"\x01\"}",
		deep,
	};
	for (const std::string& line : bad) {
		CAPTURE(line.substr(0, 60));
		REQUIRE(c.send_all(line + "\r\n"));
		auto answer = c.line();
		REQUIRE(answer);
		// Every answer is a response a client can read, whatever bytes it quotes.
		auto r = decode_response(*answer);
		REQUIRE_MESSAGE(r.ok(), r.error());
		CHECK_FALSE(r->ok);
		CHECK_FALSE(r->error.empty());
	}
	// Blank lines are not requests and get no answer.
	REQUIRE(c.send_all("\n\r\n\n" + encode_request("status") + "\n"));
	auto ok = c.line();
	REQUIRE(ok);
	CHECK(decode_response(*ok)->ok);
	CHECK(d.status_calls == 1);
	CHECK(d.ban_calls == 0);

	// 256 KiB of random bytes: every line is answered with an error, never executed.
	std::mt19937 rng(20240501);
	std::string garbage(256 * 1024, '\0');
	for (char& ch : garbage)
		ch = static_cast<char>(rng());
	Raw g(d.path);
	std::thread reader([&g] { g.closed_by_server(3000ms); });
	CHECK(g.send_all(garbage, 3000ms));
	g.shutdown_write();
	reader.join();
	size_t answers = 0;
	std::string_view rest = g.buf();
	while (!rest.empty()) {
		size_t nl = rest.find('\n');
		REQUIRE(nl != std::string_view::npos);
		auto r = decode_response(rest.substr(0, nl));
		REQUIRE(r);
		CHECK_FALSE(r->ok);
		rest.remove_prefix(nl + 1);
		++answers;
	}
	CHECK(answers > 100);
	CHECK(d.status_calls == 1);
	CHECK(d.ban_calls == 0);
	CHECK(status_answered(d));
}

TEST_CASE("a request cut off mid-line is never executed, and the daemon forgets the client")
{
	Daemon d;
	{
		Raw c(d.path);
		REQUIRE(c.send_all("{\"cmd\":\"ban\",\"addr\":\"192.0.2.7\""));
		REQUIRE(d.clients_become(1));
	}
	CHECK(d.clients_become(0));
	// Half-closed mid-line: the server closes without executing or answering.
	Raw h(d.path);
	REQUIRE(h.send_all("{\"cmd\":\"ban\",\"addr\":\"192.0.2.8\"}"));
	h.shutdown_write();
	CHECK(h.closed_by_server());
	CHECK(h.buf().empty());
	// Gone before its answer is written: no SIGPIPE, nothing left behind.
	for (int i = 0; i < 20; ++i) {
		Raw g(d.path);
		REQUIRE(g.send_all(encode_request("stats") + "\n"));
	}
	CHECK(d.clients_become(0));
	CHECK(d.ban_calls == 0);
	CHECK(status_answered(d));
}

TEST_CASE("a 10 MB request without a newline is refused after 64 KiB and its connection closed")
{
	Daemon d;
	Raw c(d.path);
	const std::string huge(10 * 1024 * 1024, 'a');
	std::thread reader([&c] { c.closed_by_server(3000ms); });
	const size_t sent = c.send_some(huge, Clock::now() + 3000ms);
	reader.join();
	// The server stopped reading: what got through is the limit plus socket buffers.
	CHECK(sent < huge.size());
	CHECK(c.buf() == encode_error("request line too long") + "\n");
	CHECK(d.clients_become(0));
	CHECK(status_answered(d));
}

TEST_CASE("a slow-loris client that never finishes its line does not delay anyone")
{
	Daemon d;
	std::atomic<bool> done{false};
	std::thread loris([&d, &done] {
		Raw c(d.path);
		const std::string line = "{\"cmd\":\"status\",\"pad\":\"" + std::string(100, 'x');
		for (size_t i = 0; i < line.size() && !done; ++i) {
			c.send_all(line.substr(i, 1));
			for (int t = 0; t < 20 && !done; ++t) // one byte a second
				std::this_thread::sleep_for(50ms);
		}
	});
	const auto until = Clock::now() + 3s;
	int answered = 0;
	while (Clock::now() < until) {
		CHECK(status_answered(d));
		++answered;
		std::this_thread::sleep_for(200ms);
	}
	done = true;
	loris.join();
	CHECK(answered >= 5);
	CHECK(d.status_calls == answered);
	CHECK(d.clients_become(0));
}

TEST_CASE("idle connections up to the limit; past it a clear refusal; a freed slot serves again")
{
	Daemon d;
	std::vector<std::unique_ptr<Raw>> idle;
	for (size_t i = 0; i < ControlServer::kMaxClients; ++i)
		idle.push_back(std::make_unique<Raw>(d.path));
	REQUIRE(d.clients_become(ControlServer::kMaxClients));

	// Past the limit the client hears why instead of a bare close, also
	// when it writes its request only after the daemon has closed.
	for (auto delay : {0ms, 0ms, 100ms}) {
		auto c = ControlClient::connect(d.path);
		REQUIRE(c);
		std::this_thread::sleep_for(delay);
		auto r = c->request(encode_request("status"), kAnswerWithin);
		REQUIRE_MESSAGE(r, r.error());
		CHECK_FALSE(r->ok);
		CHECK(r->error.find("too many clients") != std::string::npos);
	}
	CHECK(d.status_calls == 0);
	CHECK(d.server->clients() == ControlServer::kMaxClients);

	idle.pop_back();
	REQUIRE(d.clients_become(ControlServer::kMaxClients - 1));
	CHECK(status_answered(d));
	idle.clear();
	CHECK(d.clients_become(0));
	CHECK(status_answered(d));
}

TEST_CASE("a follower that stops reading is dropped at the bound; a reading follower gets every event")
{
	Daemon d;
	Raw stalled(d.path);
	REQUIRE(stalled.send_all(encode_request("bans", json::Object{{"follow", true}}) + "\n"));
	ControlClient good(d.path);
	REQUIRE(good.call(encode_request("follow")).ok);
	REQUIRE(d.clients_become(2));
	REQUIRE(d.server->has_followers());

	constexpr int kEvents = 8000; // 1 KiB each: 8 MiB, past the 4 MiB bound and the socket buffer
	std::atomic<int> received{0};
	std::atomic<bool> in_order{true};
	std::thread reader([&good, &received, &in_order] {
		const auto deadline = Clock::now() + 8s;
		while (received < kEvents && Clock::now() < deadline) {
			auto l = good.next_line(500);
			if (!l || !*l)
				break;
			auto v = json::parse(**l);
			if (!v || (*v)["n"].as_int(-1) != received)
				in_order = false;
			++received;
		}
	});
	const std::string pad(1000, 'p');
	for (int i = 0; i < kEvents; ++i) {
		json::Value e = json::Object{};
		e.set("n", i);
		e.set("pad", pad);
		d.server->publish(e.dump());
		if (i % 256 == 255) {
			// The reading follower keeps within 512 events of the publisher,
			// however the threads are scheduled; the stalled one falls behind.
			const auto deadline = Clock::now() + 2s;
			while (received < i + 1 - 512 && Clock::now() < deadline)
				std::this_thread::sleep_for(1ms);
			if (i % 2048 == 2047)
				CHECK(status_answered(d));
		}
	}
	reader.join();
	CHECK(received == kEvents);
	CHECK(in_order);
	CHECK(d.clients_become(1)); // the stalled one went, the good one stays
	CHECK(stalled.closed_by_server(3000ms));
	CHECK(status_answered(d));
}

TEST_CASE("a client that pipelines requests and does not read is held back, not served without bound")
{
	Daemon d;
	Raw c(d.path);
	// 300 requests for a 64 KiB answer each: 19 MiB of answers.
	std::string burst;
	for (int i = 0; i < 300; ++i)
		burst += encode_request("stats") + "\n";
	REQUIRE(c.send_all(burst));
	std::this_thread::sleep_for(300ms);
	CHECK(status_answered(d));
	// Answered up to the 4 MiB bound of unread output, give or take one
	// answer and what the socket buffers took; the rest wait.
	const int answered = d.stats_calls;
	CHECK(answered * kMetrics.size() < 8u * 1024 * 1024);

	// Once it reads, every answer arrives, in order, then the close.
	c.shutdown_write();
	CHECK(c.closed_by_server(5000ms));
	size_t lines = 0;
	for (char ch : c.buf())
		lines += ch == '\n';
	CHECK(lines == 300);
	CHECK(d.stats_calls == 300);
	CHECK(d.clients_become(0));
}

TEST_CASE("an answer larger than the backlog bound reaches a client that reads it")
{
	Daemon d;
	ControlClient c(d.path);
	auto r = c.call(encode_request("explain", json::Object{{"addr", "192.0.2.1"}}), 3000ms);
	REQUIRE(r.ok);
	CHECK(r.body["text"].as_string().size() == kHugeAnswer);
	CHECK(status_answered(d));
}

TEST_CASE("a half-closed client with unread answers does not make the control thread spin")
{
	Daemon d;
	Raw c(d.path);
	std::string burst;
	for (int i = 0; i < 20; ++i) // 1.3 MiB of answers: more than the socket takes
		burst += encode_request("stats") + "\n";
	REQUIRE(c.send_all(burst));
	c.shutdown_write();
	const auto deadline = Clock::now() + 2s;
	while (d.stats_calls < 20 && Clock::now() < deadline)
		std::this_thread::sleep_for(5ms);
	REQUIRE(d.stats_calls == 20);

	const double before = process_cpu_seconds();
	std::this_thread::sleep_for(500ms);
	const double used = process_cpu_seconds() - before;
	CHECK_MESSAGE(used < 0.1, "the process burnt ", used, " s of CPU in 0.5 s while idle");
	CHECK(status_answered(d));

	// Reading now still gets every answer, then the close.
	CHECK(c.closed_by_server(3000ms));
	size_t lines = 0;
	for (char ch : c.buf())
		lines += ch == '\n';
	CHECK(lines == 20);
	CHECK(d.clients_become(0));
}

TEST_CASE("idle clients are closed after the idle timeout with the reason; followers stay")
{
	Daemon d(300ms);
	Raw silent(d.path);
	std::atomic<bool> done{false};
	std::thread loris([&d, &done] {
		Raw c(d.path);
		const std::string line = "{\"cmd\":\"status\",\"pad\":\"" + std::string(100, 'x');
		for (size_t i = 0; i < line.size() && !done; ++i) { // a byte every 50 ms, never a whole line
			c.send_all(line.substr(i, 1));
			std::this_thread::sleep_for(50ms);
		}
	});
	ControlClient follower(d.path);
	REQUIRE(follower.call(encode_request("follow")).ok);
	// One that asked once and then holds the connection.
	Raw asked(d.path);
	REQUIRE(asked.send_all(encode_request("status") + "\n"));
	REQUIRE(asked.line());
	REQUIRE(d.clients_become(4));

	const std::string why = encode_error("no complete request within 0.3 s; closing the connection") + "\n";
	CHECK(silent.closed_by_server(2000ms));
	CHECK(silent.buf() == why);
	CHECK(asked.closed_by_server(2000ms));
	CHECK(asked.buf() == why);
	CHECK(d.clients_become(1, 2000ms)); // the dribbling one too; the follower stays
	done = true;
	loris.join();
	CHECK(d.status_calls == 1);
	d.server->publish("{\"event\":\"ban\"}");
	auto e = follower.read_line(1000);
	REQUIRE(e);
	CHECK(*e == "{\"event\":\"ban\"}");
	CHECK(status_answered(d));
}

TEST_CASE("every slot taken by idle clients: an operator is served once the idle timeout frees them")
{
	Daemon d(300ms);
	std::vector<std::unique_ptr<Raw>> idle;
	for (size_t i = 0; i < ControlServer::kMaxClients; ++i)
		idle.push_back(std::make_unique<Raw>(d.path));
	REQUIRE(d.clients_become(ControlServer::kMaxClients));
	auto refused = ControlClient::connect(d.path);
	REQUIRE(refused);
	auto r = refused->request(encode_request("status"), kAnswerWithin);
	REQUIRE(r);
	CHECK(r->error.find("too many clients") != std::string::npos);
	// Without anyone closing them: the server does, at the timeout.
	CHECK(d.clients_become(0, 2000ms));
	CHECK(status_answered(d));
}

TEST_CASE("followers take at most half the slots; the next one is refused, commands still get theirs")
{
	Daemon d(300ms);
	std::vector<std::unique_ptr<ControlClient>> followers;
	for (size_t i = 0; i < ControlServer::kMaxFollowers; ++i) {
		followers.push_back(std::make_unique<ControlClient>(d.path));
		REQUIRE(followers.back()->call(encode_request("follow")).ok);
	}
	ControlClient one_more(d.path);
	auto r = one_more.call(encode_request("bans", json::Object{{"follow", true}}));
	CHECK_FALSE(r.ok);
	CHECK(r.error == "too many followers (64) on the control socket; try again");
	CHECK(d.clients_become(ControlServer::kMaxFollowers, 2000ms));
	std::this_thread::sleep_for(500ms); // past the idle timeout: followers are not idle
	CHECK(d.server->clients() == ControlServer::kMaxFollowers);
	CHECK(status_answered(d));
	followers.pop_back();
	REQUIRE(d.clients_become(ControlServer::kMaxFollowers - 1));
	ControlClient again(d.path);
	CHECK(again.call(encode_request("follow")).ok);
}

TEST_CASE("a pending answer: others are served meanwhile, the client's next request waits its turn")
{
	Daemon d(300ms);
	Raw c(d.path);
	REQUIRE(c.send_all(encode_request("reload") + "\n" + encode_request("status") + "\n"));
	// Longer than the idle timeout: waiting for an answer is not idle.
	const auto until = Clock::now() + 800ms;
	while (Clock::now() < until) {
		CHECK(status_answered(d));
		std::this_thread::sleep_for(100ms);
	}
	CHECK_FALSE(c.line(50ms)); // nothing yet, not even the status behind it
	const int before = d.status_calls;
	d.reload_done = true;
	auto first = c.line();
	REQUIRE(first);
	CHECK(decode_response(*first)->body["cmd"].as_string() == "reload");
	auto second = c.line();
	REQUIRE(second);
	CHECK(decode_response(*second)->body["cmd"].as_string() == "status");
	CHECK(d.status_calls == before + 1);
}
