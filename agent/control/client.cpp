// SPDX-License-Identifier: GPL-2.0-or-later
// Blocking unix-socket client for the control protocol.
#include "agent/control/client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

namespace sipguard::control {

namespace {

template <class T>
T value_or_throw(util::Result<T>&& r)
{
	if (!r)
		throw std::runtime_error(r.error());
	return std::move(r).value();
}

} // namespace

util::Result<ControlClient> ControlClient::connect(const std::string& path)
{
	sockaddr_un sa{};
	sa.sun_family = AF_UNIX;
	if (path.size() >= sizeof(sa.sun_path))
		return util::Status::invalid(fmt::format("socket path too long: {}", path));
	std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
	UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (!fd)
		return util::Status::failure(errno, fmt::format("cannot create a socket: {}", std::strerror(errno)));
	if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
		int e = errno;
		const char* hint = e == EACCES || e == EPERM ? "run as root or as a member of group sipguard"
		                                             : "is `sipguard run` running?";
		return util::Status::failure(
			e, fmt::format("cannot reach the daemon at {}: {} ({})", path, std::strerror(e), hint));
	}
	return ControlClient(path, std::move(fd));
}

util::Result<std::optional<std::string>> ControlClient::next_line(int timeout_ms)
{
	for (;;) {
		size_t nl = buf_.find('\n');
		if (nl != std::string::npos) {
			std::string line = buf_.substr(0, nl);
			buf_.erase(0, nl + 1);
			return std::optional<std::string>(std::move(line));
		}
		pollfd p{fd_.get(), POLLIN, 0};
		int n = ::poll(&p, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return util::Status::failure(ETIMEDOUT, fmt::format("the daemon at {} did not answer in time", path_));
		char buf[16384];
		ssize_t r = ::recv(fd_.get(), buf, sizeof(buf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return std::optional<std::string>();
		buf_.append(buf, static_cast<size_t>(r));
	}
}

util::Result<Response> ControlClient::request(const std::string& request_line, std::chrono::milliseconds timeout)
{
	std::string out = request_line + "\n";
	size_t off = 0;
	while (off < out.size()) {
		ssize_t n = ::send(fd_.get(), out.data() + off, out.size() - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			const int e = errno;
			// A daemon that refuses a connection (too many clients, not
			// allowed) says why and closes, maybe before we wrote.
			if (e == EPIPE || e == ECONNRESET)
				if (auto why = next_line(0); why && *why)
					if (auto r = decode_response(**why))
						return std::move(*r);
			return util::Status::failure(
				e, fmt::format("lost the connection to the daemon at {}: {}", path_, std::strerror(e)));
		}
		off += static_cast<size_t>(n);
	}
	auto line = next_line(static_cast<int>(timeout.count()));
	if (!line)
		return line.status();
	if (!*line)
		return util::Status::failure(
			ECONNRESET, fmt::format("the daemon at {} closed the connection without an answer", path_));
	auto r = decode_response(**line);
	if (!r)
		return util::Status::invalid(fmt::format("bad answer from the daemon at {}: {}", path_, r.error()));
	return std::move(*r);
}

ControlClient::ControlClient(const std::string& path) : ControlClient(value_or_throw(connect(path))) {}

Response ControlClient::call(const std::string& request_line, std::chrono::milliseconds timeout)
{
	return value_or_throw(request(request_line, timeout));
}

std::optional<std::string> ControlClient::read_line(int timeout_ms) { return value_or_throw(next_line(timeout_ms)); }

} // namespace sipguard::control
