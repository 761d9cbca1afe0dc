// SPDX-License-Identifier: GPL-2.0-or-later
// The control thread: one poll loop over the control socket, the metrics
// sockets (HTTP GET /metrics) and their clients. Every decoded request goes
// to one Handler (the daemon's is CommandTable::dispatch); handlers run on
// this thread and only take short locks, so queue threads are never blocked
// by a client.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/control/commands.h"
#include "agent/control/protocol.h"
#include "agent/net/ip_address.h"
#include "agent/util/unique_fd.h"

namespace sipguard::control {

using util::UniqueFd;

// An address and port to serve metrics on over TCP.
struct TcpEndpoint {
	net::IpAddress addr; // invalid = off
	uint16_t port = 0;
	bool enabled() const { return addr.valid(); }
};

class ControlServer {
public:
	using Handler = control::Handler;
	using MetricsFn = std::function<std::string()>;

	// Connections served at once (control and metrics); one more is told
	// so and closed.
	static constexpr size_t kMaxClients = 128;
	// Followers (`bans --follow`) among them: they wait for events by
	// design, so they alone are never idle-closed, and this keeps them from
	// taking every slot.
	static constexpr size_t kMaxFollowers = kMaxClients / 2;
	// How long a client (not a follower, not waiting for a pending answer)
	// may take to complete a request, or to read what it was sent, before
	// it is closed: an idle connection gives its slot back.
	static constexpr std::chrono::milliseconds kIdleTimeout{5000};

	struct Options {
		std::string control_path;
		std::string group;        // "" or a group name; members may connect
		std::string metrics_path; // "" = off
		TcpEndpoint metrics_tcp;  // disabled = off
		std::chrono::milliseconds idle_timeout = kIdleTimeout;
	};

	ControlServer(const ControlServer&) = delete;
	ControlServer& operator=(const ControlServer&) = delete;
	~ControlServer();

	// Binds and listens (no thread yet). Throws std::runtime_error with the
	// path and errno text on failure (e.g. a daemon already listening).
	static std::unique_ptr<ControlServer> create(const Options& opts, Handler handler, MetricsFn metrics);

	void start();
	// Stops the thread, closes clients, unlinks the socket files.
	void stop();

	// Thread-safe: queues one line (no newline) for every follower.
	void publish(std::string line);

	size_t clients() const { return client_count_.load(std::memory_order_relaxed); }
	// Lets publishers skip formatting events nobody follows.
	bool has_followers() const { return follower_count_.load(std::memory_order_relaxed) > 0; }

	// Whether credentials may use the sockets: root, our own uid, or a
	// member (primary or supplementary) of the configured group.
	static bool peer_allowed(const PeerCred& c, bool have_group, gid_t group);

private:
	struct Client;
	ControlServer() = default;
	void run();
	void accept_on(int listen_fd, int kind);
	void on_readable(Client& c);
	void answer_lines(Client& c);
	void queue_events(Client& c, const std::deque<std::string>& events);
	void flush(Client& c);
	// Answers a client's pending request once it is known; true if it was.
	bool resolve_pending(Client& c);
	// Closes clients past their deadline; the poll timeout until the next one.
	int expire_idle(std::chrono::steady_clock::time_point now);

	Options opts_;
	Handler handler_;
	MetricsFn metrics_;
	bool have_group_ = false;
	gid_t group_gid_ = 0;
	UniqueFd control_fd_;
	UniqueFd metrics_fd_;
	UniqueFd metrics_tcp_fd_;
	UniqueFd wake_fd_;
	std::vector<std::unique_ptr<Client>> clients_;
	std::atomic<size_t> client_count_{0};
	std::atomic<size_t> follower_count_{0};
	std::mutex pub_mutex_;
	std::deque<std::string> pub_queue_;
	std::atomic<bool> stop_{false};
	std::thread thread_;
	bool unlinked_ = false;
};

} // namespace sipguard::control
