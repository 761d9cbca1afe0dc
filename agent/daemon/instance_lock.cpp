// SPDX-License-Identifier: GPL-2.0-or-later
// The single-instance lock: flock on a file in the state directory, holding
// the owner's pid for the message a second daemon prints, and an abstract
// unix socket per network namespace that answers with the owner's pid.
#include "agent/daemon/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include <fmt/core.h>

#include "agent/util/log.h"

namespace sipguard::daemon {

namespace {

// The pid the holder wrote, or 0 when the file holds none yet (it may be
// between its flock and its write).
long holder_pid(int fd)
{
	char buf[32] = {};
	ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	char* end = nullptr;
	long pid = std::strtol(buf, &end, 10);
	return end != buf && pid > 0 ? pid : 0;
}

// The abstract address of `name` (a leading NUL, no terminating one); the
// caller checked that it fits.
socklen_t abstract_address(const std::string& name, sockaddr_un& sa)
{
	sa = {};
	sa.sun_family = AF_UNIX;
	std::memcpy(sa.sun_path + 1, name.data(), name.size());
	return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

// Who listens on `name`: SO_PEERCRED on a connected unix socket gives the
// listener's pid and uid as of its listen(2). Without credentials, `error`
// says why: ECONNREFUSED (bound, nobody listening), EAGAIN (backlog full).
struct Holder {
	std::optional<ucred> cred;
	int error = 0;
};

Holder name_holder(const sockaddr_un& sa, socklen_t len)
{
	util::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (!fd || ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&sa), len) < 0)
		return {std::nullopt, errno};
	ucred uc{};
	socklen_t n = sizeof(uc);
	if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &uc, &n) < 0)
		return {std::nullopt, errno};
	return {uc, 0};
}

// A listening socket bound to `sa`, or the bind/listen errno.
util::Result<util::UniqueFd> listen_abstract(const sockaddr_un& sa, socklen_t len)
{
	util::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	if (!fd || ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), len) < 0 || ::listen(fd.get(), 16) < 0)
		return util::Status::failure(errno, std::strerror(errno));
	return fd;
}

} // namespace

void InstanceLock::drain()
{
	while (netns_fd_) {
		int c = ::accept4(netns_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			return;
		::close(c);
	}
}

util::Status InstanceLock::acquire(const std::string& state_dir, const std::string& netns_name)
{
	if (util::Status st = lock_file(state_dir); !st)
		return st;
	if (netns_name.empty())
		return util::Status::success();
	util::Status st = lock_netns(netns_name);
	if (!st)
		fd_.reset();
	return st;
}

util::Status InstanceLock::lock_netns(const std::string& name)
{
	const std::string shown = "@" + name;
	sockaddr_un sa;
	if (name.size() + 1 > sizeof(sa.sun_path))
		return util::Status::invalid("lock name too long: " + shown);
	const socklen_t len = abstract_address(name, sa);
	// A holder between its bind and its listen refuses connections for a
	// moment: ask a few times before deciding nobody answers.
	for (int attempt = 0; attempt < 10; ++attempt) {
		auto fd = listen_abstract(sa, len);
		if (fd) {
			netns_fd_ = std::move(*fd);
			return util::Status::success();
		}
		if (fd.status().error != EADDRINUSE)
			return util::Status::failure(fd.status().error, "cannot take the lock " + shown + ": " + fd.error());
		const Holder h = name_holder(sa, len);
		if (h.cred && h.cred->uid != 0 && h.cred->uid != ::geteuid()) {
			LOG(Daemon, Warning,
			    "{} is held by pid {} (uid {}), which is not a sipguard: one daemon per network namespace is "
			    "not enforced (the state directory lock still is)",
			    shown, h.cred->pid, h.cred->uid);
			return util::Status::success();
		}
		if (h.cred || h.error == EAGAIN)
			return util::Status::failure(
				EADDRINUSE, fmt::format("another sipguard is running in this network namespace{}; it owns table "
				                        "inet sipguard here (lock {})",
				                        h.cred ? fmt::format(" (pid {})", h.cred->pid) : std::string(), shown));
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	}
	LOG(Daemon, Warning,
	    "{} is bound but nobody listens on it, so it is not a sipguard: one daemon per network namespace is not "
	    "enforced (the state directory lock still is)",
	    shown);
	return util::Status::success();
}

util::Status InstanceLock::lock_file(const std::string& state_dir)
{
	path_ = (std::filesystem::path(state_dir) / kLockFileName).string();
	std::error_code ec;
	std::filesystem::create_directories(state_dir, ec);
	if (ec)
		return util::Status::failure(ec.value(), fmt::format("cannot create the state directory {}: {}", state_dir,
		                                                     ec.message()));
	// No O_TRUNC: the holder's pid must survive our open.
	util::UniqueFd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
	if (!fd)
		return util::Status::failure(errno, util::describe_errno("cannot open the lock file " + path_, errno));
	if (::flock(fd.get(), LOCK_EX | LOCK_NB) < 0) {
		const int err = errno;
		if (err != EWOULDBLOCK)
			return util::Status::failure(err, util::describe_errno("cannot lock " + path_, err));
		const long pid = holder_pid(fd.get());
		return util::Status::failure(
			err, pid ? fmt::format("another sipguard is running (pid {}); lock {}", pid, path_)
			         : fmt::format("another sipguard is running; lock {}", path_));
	}
	const std::string text = fmt::format("{}\n", ::getpid());
	if (::ftruncate(fd.get(), 0) < 0 ||
	    ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
		return util::Status::failure(errno, util::describe_errno("cannot write our pid to " + path_, errno));
	fd_ = std::move(fd);
	return util::Status::success();
}

} // namespace sipguard::daemon
