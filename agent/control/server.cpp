// SPDX-License-Identifier: GPL-2.0-or-later
// Control and metrics sockets served from one poll(2) loop.
#include "agent/control/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

#include "agent/util/log.h"

namespace sipguard::control {

namespace {

enum Kind { kControl = 0, kMetricsUnix = 1, kMetricsTcp = 2 };

// Bounds per client. Past this much unread output nothing more is queued:
// a follower is dropped, and a client's further requests wait (its socket is
// not read) until it reads. One answer may exceed it (`bans` with many bans).
constexpr size_t kMaxPendingOut = 4 * 1024 * 1024;
constexpr size_t kMaxHttpRequest = 8 * 1024;
// Reads per client per loop turn, so that a client writing requests as fast
// as they are answered cannot keep the thread from the others (poll is
// level-triggered: the rest is read next turn).
constexpr int kReadsPerTurn = 4;

std::runtime_error sys_error(std::string_view what, std::string_view path)
{
	return std::runtime_error(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

UniqueFd listen_unix(const std::string& path, bool have_group, gid_t gid)
{
	sockaddr_un sa{};
	sa.sun_family = AF_UNIX;
	if (path.size() >= sizeof(sa.sun_path))
		throw std::runtime_error(fmt::format("socket path too long: {}", path));
	std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);

	std::error_code ec;
	std::filesystem::path parent = std::filesystem::path(path).parent_path();
	if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
		std::filesystem::create_directories(parent, ec);
		if (ec)
			throw std::runtime_error(fmt::format("cannot create {}: {}", parent.string(), ec.message()));
	}

	UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (!fd)
		throw sys_error("cannot create a socket for", path);

	struct stat st{};
	if (::lstat(path.c_str(), &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			throw std::runtime_error(fmt::format("{} exists and is not a socket; refusing to replace it", path));
		// A socket file from a crashed daemon is stale; one that accepts a
		// connection belongs to a running daemon, which we must not hijack.
		UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
		if (probe && ::connect(probe.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0)
			throw std::runtime_error(fmt::format("another sipguard daemon is listening on {}", path));
		::unlink(path.c_str());
	}
	// Create the socket file with no access for others; chmod/chown below
	// widen it to 0660 root:group only once it has the right owner.
	mode_t old = ::umask(0177);
	int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
	::umask(old);
	if (rc < 0)
		throw sys_error("cannot bind", path);
	if (have_group && ::chown(path.c_str(), static_cast<uid_t>(-1), gid) < 0)
		LOG(Daemon, Warning, "cannot give {} to group {}: {}", path, gid, std::strerror(errno));
	if (::chmod(path.c_str(), 0660) < 0)
		throw sys_error("cannot chmod", path);
	if (::listen(fd.get(), 64) < 0)
		throw sys_error("cannot listen on", path);
	return fd;
}

UniqueFd listen_tcp(const TcpEndpoint& ep)
{
	const std::string name = ep.addr.is_v6() ? fmt::format("[{}]:{}", ep.addr.to_string(), ep.port)
	                                         : fmt::format("{}:{}", ep.addr.to_string(), ep.port);
	int family = ep.addr.is_v6() ? AF_INET6 : AF_INET;
	UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (!fd)
		throw sys_error("cannot create a socket for", name);
	int one = 1;
	::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sockaddr_storage ss{};
	socklen_t len;
	if (ep.addr.is_v6()) {
		auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ep.port);
		std::memcpy(&s6->sin6_addr, ep.addr.bytes.data(), 16);
		len = sizeof(*s6);
	} else {
		auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
		s4->sin_family = AF_INET;
		s4->sin_port = htons(ep.port);
		std::memcpy(&s4->sin_addr, ep.addr.bytes.data(), 4);
		len = sizeof(*s4);
	}
	if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0)
		throw sys_error("cannot bind metrics address", name);
	if (::listen(fd.get(), 16) < 0)
		throw sys_error("cannot listen on", name);
	return fd;
}

bool in_proc_groups(pid_t pid, gid_t group)
{
	std::ifstream in(fmt::format("/proc/{}/status", pid));
	std::string line;
	while (std::getline(in, line)) {
		if (line.rfind("Groups:", 0) != 0)
			continue;
		std::istringstream ss(line.substr(7));
		unsigned long g;
		while (ss >> g)
			if (static_cast<gid_t>(g) == group)
				return true;
		return false;
	}
	return false;
}

} // namespace

struct ControlServer::Client {
	UniqueFd fd;
	int kind = kControl;
	PeerCred cred;
	std::string in;
	std::string out;
	Pending pending; // an answer still to come; later requests wait for it
	// Complete the next request, or read some of what was sent, by then
	// (followers and pending answers excepted).
	std::chrono::steady_clock::time_point deadline;
	bool follower = false;
	bool peer_closed = false; // read end of stream: answer complete lines, then close
	bool held = false;        // complete lines in `in` wait for the client to read
	bool close_after_flush = false;
	bool dead = false;
};

ControlServer::~ControlServer() { stop(); }

bool ControlServer::peer_allowed(const PeerCred& c, bool have_group, gid_t group)
{
	if (c.uid == 0 || c.uid == ::geteuid())
		return true;
	if (!have_group)
		return false;
	return c.gid == group || in_proc_groups(c.pid, group);
}

std::unique_ptr<ControlServer> ControlServer::create(const Options& opts, Handler handler, MetricsFn metrics)
{
	std::unique_ptr<ControlServer> s(new ControlServer());
	s->opts_ = opts;
	s->handler_ = std::move(handler);
	s->metrics_ = std::move(metrics);
	if (!opts.group.empty()) {
		if (struct group* g = ::getgrnam(opts.group.c_str())) {
			s->have_group_ = true;
			s->group_gid_ = g->gr_gid;
		} else {
			LOG(Daemon, Info, "group {} does not exist: the control socket is root-only", opts.group);
		}
	}
	s->control_fd_ = listen_unix(opts.control_path, s->have_group_, s->group_gid_);
	if (!opts.metrics_path.empty())
		s->metrics_fd_ = listen_unix(opts.metrics_path, s->have_group_, s->group_gid_);
	if (opts.metrics_tcp.enabled())
		s->metrics_tcp_fd_ = listen_tcp(opts.metrics_tcp);
	s->wake_fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!s->wake_fd_)
		throw sys_error("cannot create", "eventfd");
	return s;
}

void ControlServer::start()
{
	thread_ = std::thread([this] { run(); });
}

void ControlServer::stop()
{
	if (thread_.joinable()) {
		stop_.store(true);
		uint64_t one = 1;
		[[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof(one));
		thread_.join();
	}
	clients_.clear();
	if (!unlinked_) {
		unlinked_ = true;
		if (control_fd_)
			::unlink(opts_.control_path.c_str());
		if (metrics_fd_)
			::unlink(opts_.metrics_path.c_str());
	}
	control_fd_.reset();
	metrics_fd_.reset();
	metrics_tcp_fd_.reset();
}

void ControlServer::publish(std::string line)
{
	if (!has_followers())
		return;
	{
		std::lock_guard lock(pub_mutex_);
		// A burst larger than this is more than any follower could use; the
		// oldest lines go first (followers are a convenience, the ban log is
		// the record).
		if (pub_queue_.size() >= 65536)
			pub_queue_.pop_front();
		pub_queue_.push_back(std::move(line));
	}
	uint64_t one = 1;
	[[maybe_unused]] ssize_t n = ::write(wake_fd_.get(), &one, sizeof(one));
}

void ControlServer::accept_on(int listen_fd, int kind)
{
	for (;;) {
		int cfd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0)
			return;
		UniqueFd fd(cfd);
		if (clients_.size() >= kMaxClients) {
			LOG(Daemon, Warning, "control: too many clients ({}), refusing one", clients_.size());
			// Say why: a bare close reads as a crashed daemon.
			std::string msg = kind == kControl
				? encode_error(fmt::format("too many clients ({}) on the control socket; try again", kMaxClients)) + "\n"
				: std::string("HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
			[[maybe_unused]] ssize_t n = ::send(cfd, msg.data(), msg.size(), MSG_NOSIGNAL);
			continue;
		}
		auto c = std::make_unique<Client>();
		c->kind = kind;
		c->deadline = std::chrono::steady_clock::now() + opts_.idle_timeout;
		if (kind != kMetricsTcp) {
			ucred uc{};
			socklen_t len = sizeof(uc);
			if (::getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
				continue;
			c->cred = {uc.pid, uc.uid, uc.gid};
			if (!peer_allowed(c->cred, have_group_, group_gid_)) {
				LOG(Daemon, Warning, "control: refused uid {} (pid {}): not root nor in group {}", uc.uid, uc.pid,
				    opts_.group);
				std::string msg = encode_error(fmt::format(
					"permission denied: uid {} is neither root nor a member of group {}", uc.uid, opts_.group)) + "\n";
				if (kind == kMetricsUnix)
					msg = "HTTP/1.0 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
				[[maybe_unused]] ssize_t n = ::send(cfd, msg.data(), msg.size(), MSG_NOSIGNAL);
				continue;
			}
		}
		c->fd = std::move(fd);
		clients_.push_back(std::move(c));
	}
}

void ControlServer::flush(Client& c)
{
	while (!c.out.empty()) {
		ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			c.dead = true;
			return;
		}
		c.out.erase(0, static_cast<size_t>(n));
		c.deadline = std::chrono::steady_clock::now() + opts_.idle_timeout; // it reads
	}
	if (c.out.empty() && c.close_after_flush)
		c.dead = true;
}

void ControlServer::queue_events(Client& c, const std::deque<std::string>& events)
{
	for (const auto& e : events) {
		if (c.out.size() > kMaxPendingOut) {
			LOG(Daemon, Warning, "control: dropping a follower that does not read ({} bytes pending)", c.out.size());
			c.dead = true;
			return;
		}
		c.out += e;
		c.out += '\n';
	}
}

bool ControlServer::resolve_pending(Client& c)
{
	if (!c.pending)
		return false;
	std::optional<std::string> line;
	try {
		line = c.pending();
	} catch (const std::exception& e) {
		line = encode_error(fmt::format("internal error: {}", e.what()));
	}
	if (!line)
		return false;
	c.pending = nullptr;
	c.out += *line + "\n";
	c.deadline = std::chrono::steady_clock::now() + opts_.idle_timeout;
	return true;
}

void ControlServer::answer_lines(Client& c)
{
	size_t start = 0;
	size_t nl;
	// One request at a time: a pending answer holds the client's later
	// requests back (answers stay in order).
	while (!c.pending && !c.close_after_flush && c.out.size() <= kMaxPendingOut &&
	       (nl = c.in.find('\n', start)) != std::string::npos) {
		std::string_view line(c.in.data() + start, nl - start);
		start = nl + 1;
		if (!line.empty() && line.back() == '\r')
			line.remove_suffix(1);
		if (line.empty())
			continue;
		auto req = decode_request(line);
		if (!req) {
			c.out += encode_error(req.error()) + "\n";
			continue;
		}
		HandlerResult r;
		try {
			r = handler_(*req, c.cred);
		} catch (const std::exception& e) {
			r.line = encode_error(fmt::format("internal error: {}", e.what()));
		}
		c.deadline = std::chrono::steady_clock::now() + opts_.idle_timeout;
		if (r.pending) {
			c.pending = std::move(r.pending);
			resolve_pending(c); // perhaps known already
			continue;
		}
		if (r.follow && !c.follower && follower_count_.load(std::memory_order_relaxed) >= kMaxFollowers) {
			LOG(Daemon, Warning, "control: too many followers ({}), refusing one", kMaxFollowers);
			c.out += encode_error(fmt::format("too many followers ({}) on the control socket; try again",
			                                  kMaxFollowers)) + "\n";
			c.close_after_flush = true;
			continue;
		}
		c.out += r.line + "\n";
		if (r.follow && !c.follower) {
			c.follower = true;
			follower_count_.fetch_add(1, std::memory_order_relaxed);
		}
	}
	c.in.erase(0, start);
	c.held = c.in.find('\n') != std::string::npos;
}

void ControlServer::on_readable(Client& c)
{
	char buf[16384];
	for (int reads = 0; reads < kReadsPerTurn && c.out.size() <= kMaxPendingOut; ++reads) {
		ssize_t n = ::recv(c.fd.get(), buf, sizeof(buf), 0);
		if (n == 0) {
			// Peer closed its side; a half-closed client may still wait
			// for the answers to its complete requests.
			c.peer_closed = true;
			break;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				c.dead = true;
			break;
		}
		c.in.append(buf, static_cast<size_t>(n));
		if (c.kind != kControl) {
			if (c.in.size() > kMaxHttpRequest) {
				c.dead = true;
				return;
			}
			if (c.in.find("\r\n\r\n") == std::string::npos && c.in.find("\n\n") == std::string::npos)
				continue;
			bool get_metrics = c.in.rfind("GET /metrics ", 0) == 0 || c.in.rfind("GET / ", 0) == 0;
			if (get_metrics) {
				std::string body = metrics_();
				c.out = fmt::format("HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
				                    "Content-Length: {}\r\nConnection: close\r\n\r\n",
				                    body.size()) +
				        body;
			} else {
				std::string body = "only GET /metrics is served here\n";
				c.out = fmt::format("HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n"
				                    "Connection: close\r\n\r\n",
				                    body.size()) +
				        body;
			}
			c.in.clear();
			c.close_after_flush = true;
			return;
		}
		answer_lines(c);
		// Complete lines held back for an unread backlog are not the
		// unfinished one.
		const size_t last_nl = c.in.rfind('\n');
		const size_t unfinished = last_nl == std::string::npos ? c.in.size() : c.in.size() - last_nl - 1;
		if (unfinished > kMaxLine) {
			c.out += encode_error("request line too long") + "\n";
			c.close_after_flush = true;
			c.in.clear();
			return;
		}
	}
}

int ControlServer::expire_idle(std::chrono::steady_clock::time_point now)
{
	using std::chrono::milliseconds;
	milliseconds wait{1000};
	for (auto& cp : clients_) {
		Client& c = *cp;
		if (c.dead || c.follower)
			continue;
		if (c.pending) {
			wait = std::min(wait, milliseconds(20)); // nothing wakes us when it resolves
			continue;
		}
		if (now < c.deadline) {
			wait = std::min(wait, std::chrono::ceil<milliseconds>(c.deadline - now));
			continue;
		}
		// Say why, if the client reads at all; then the slot is free.
		const double s = static_cast<double>(opts_.idle_timeout.count()) / 1000;
		if (c.kind == kControl)
			c.out += encode_error(fmt::format("no complete request within {:g} s; closing the connection", s)) + "\n";
		else if (c.out.empty())
			c.out = "HTTP/1.0 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		flush(c);
		c.dead = true;
	}
	return static_cast<int>(std::max(wait, milliseconds(1)).count());
}

void ControlServer::run()
{
	std::vector<pollfd> pfds;
	int timeout_ms = 1000;
	while (!stop_.load()) {
		pfds.clear();
		pfds.push_back({wake_fd_.get(), POLLIN, 0});
		pfds.push_back({control_fd_.get(), POLLIN, 0});
		pfds.push_back({metrics_fd_.get(), static_cast<short>(metrics_fd_ ? POLLIN : 0), 0});
		pfds.push_back({metrics_tcp_fd_.get(), static_cast<short>(metrics_tcp_fd_ ? POLLIN : 0), 0});
		for (auto& c : clients_) {
			// No POLLIN after end of stream (it would report readable on
			// every turn) nor while the client's unread output is over
			// the bound (the kernel buffers its requests meanwhile).
			short ev = 0;
			if (!c->peer_closed && !c->close_after_flush && c->out.size() <= kMaxPendingOut && !c->pending)
				ev |= POLLIN;
			if (!c->out.empty())
				ev |= POLLOUT;
			pfds.push_back({c->fd.get(), ev, 0});
		}
		int n = ::poll(pfds.data(), pfds.size(), timeout_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			LOG(Daemon, Error, "control: poll failed: {}", std::strerror(errno));
			return;
		}
		if (pfds[0].revents & POLLIN) {
			uint64_t v;
			[[maybe_unused]] ssize_t r = ::read(wake_fd_.get(), &v, sizeof(v));
		}
		std::deque<std::string> events;
		{
			std::lock_guard lock(pub_mutex_);
			events.swap(pub_queue_);
		}
		const size_t existing = clients_.size();
		for (size_t i = 0; i < existing; ++i) {
			Client& c = *clients_[i];
			short re = pfds[4 + i].revents;
			if (re & (POLLIN | POLLHUP | POLLERR))
				on_readable(c);
			resolve_pending(c);
			if (c.follower && !c.dead)
				queue_events(c, events);
			if (!c.dead && !c.out.empty())
				flush(c);
			// Requests held back while the client was not reading, or
			// behind a pending answer. Each pass answers a line, so this
			// ends with the lines, a full socket or a new pending answer.
			while (!c.dead && c.held && c.out.size() <= kMaxPendingOut && !c.pending && !c.close_after_flush) {
				answer_lines(c);
				flush(c);
			}
			if (c.peer_closed && c.out.empty() && !c.held && !c.pending)
				c.dead = true;
		}
		if (pfds[1].revents & POLLIN)
			accept_on(control_fd_.get(), kControl);
		if (pfds[2].revents & POLLIN)
			accept_on(metrics_fd_.get(), kMetricsUnix);
		if (pfds[3].revents & POLLIN)
			accept_on(metrics_tcp_fd_.get(), kMetricsTcp);
		timeout_ms = expire_idle(std::chrono::steady_clock::now());
		std::erase_if(clients_, [](const auto& c) { return c->dead; });
		client_count_.store(clients_.size(), std::memory_order_relaxed);
		size_t followers = 0;
		for (const auto& c : clients_)
			followers += c->follower ? 1 : 0;
		follower_count_.store(followers, std::memory_order_relaxed);
	}
}

} // namespace sipguard::control
