// SPDX-License-Identifier: GPL-2.0-or-later
// One daemon per state directory: an exclusive flock(2) on
// `daemon.state_dir`/sipguard.lock, taken before anything touches the kernel.
#pragma once

#include <string>

#include "agent/util/status.h"
#include "agent/util/unique_fd.h"

namespace sipguard::daemon {

inline constexpr const char* kLockFileName = "sipguard.lock";

// Held for the daemon's lifetime; the kernel drops the lock when the process
// ends, however it ends (kill -9 included), so a stale file never blocks a
// start. The file is never unlinked: a second daemon could otherwise lock a
// new file while the first still holds the old inode.
class InstanceLock {
public:
	InstanceLock() = default;

	// Creates `state_dir` if needed, locks the file without waiting and
	// writes our pid into it. Fails with EWOULDBLOCK and "another sipguard
	// is running (pid N); lock FILE" when another process holds it.
	[[nodiscard]] util::Status acquire(const std::string& state_dir);
	bool held() const { return fd_.valid(); }
	const std::string& path() const { return path_; }

private:
	util::UniqueFd fd_;
	std::string path_;
};

} // namespace sipguard::daemon
