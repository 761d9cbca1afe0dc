// SPDX-License-Identifier: GPL-2.0-or-later
// Blocking unix-socket client for the control protocol.
#include "agent/daemon/control_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

namespace sipguard::daemon {

ControlClient::ControlClient(const std::string& path) : path_(path)
{
	sockaddr_un sa{};
	sa.sun_family = AF_UNIX;
	if (path.size() >= sizeof(sa.sun_path))
		throw std::runtime_error(fmt::format("socket path too long: {}", path));
	std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
	fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	if (!fd_)
		throw std::runtime_error(fmt::format("cannot create a socket: {}", std::strerror(errno)));
	if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) {
		int e = errno;
		if (e == EACCES || e == EPERM)
			throw std::runtime_error(fmt::format(
				"cannot reach the daemon at {}: {} (run as root or as a member of group sipguard)", path,
				std::strerror(e)));
		throw std::runtime_error(fmt::format("cannot reach the daemon at {}: {} (is `sipguard run` running?)", path,
		                                     std::strerror(e)));
	}
}

std::optional<std::string> ControlClient::read_line(int timeout_ms)
{
	for (;;) {
		size_t nl = buf_.find('\n');
		if (nl != std::string::npos) {
			std::string line = buf_.substr(0, nl);
			buf_.erase(0, nl + 1);
			return line;
		}
		pollfd p{fd_.get(), POLLIN, 0};
		int n = ::poll(&p, 1, timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			throw std::runtime_error(fmt::format("the daemon at {} did not answer in time", path_));
		char buf[16384];
		ssize_t r = ::recv(fd_.get(), buf, sizeof(buf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return std::nullopt;
		buf_.append(buf, static_cast<size_t>(r));
	}
}

control::Response ControlClient::call(const std::string& request_line, std::chrono::milliseconds timeout)
{
	std::string out = request_line + "\n";
	size_t off = 0;
	while (off < out.size()) {
		ssize_t n = ::send(fd_.get(), out.data() + off, out.size() - off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			throw std::runtime_error(fmt::format("lost the connection to the daemon at {}: {}", path_,
			                                     std::strerror(errno)));
		}
		off += static_cast<size_t>(n);
	}
	auto line = read_line(static_cast<int>(timeout.count()));
	if (!line)
		throw std::runtime_error(fmt::format("the daemon at {} closed the connection without an answer", path_));
	std::string err;
	auto r = control::decode_response(*line, &err);
	if (!r)
		throw std::runtime_error(fmt::format("bad answer from the daemon at {}: {}", path_, err));
	return std::move(*r);
}

} // namespace sipguard::daemon
