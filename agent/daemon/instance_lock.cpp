// SPDX-License-Identifier: GPL-2.0-or-later
// The single-instance lock: flock on a file in the state directory, holding
// the owner's pid for the message a second daemon prints.
#include "agent/daemon/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <fmt/core.h>

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

} // namespace

util::Status InstanceLock::acquire(const std::string& state_dir)
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
