// SPDX-License-Identifier: GPL-2.0-or-later
// One daemon per state directory and per network namespace: an exclusive
// flock(2) on `daemon.state_dir`/sipguard.lock and an abstract unix socket
// named after our table, both taken before anything touches the kernel.
#pragma once

#include <string>

#include "agent/util/status.h"
#include "agent/util/unique_fd.h"

namespace sipguard::daemon {

inline constexpr const char* kLockFileName = "sipguard.lock";
// `table inet sipguard` exists once per network namespace, and so does an
// abstract socket name (unix(7): the abstract namespace is per network
// namespace), so whoever holds "@sipguard/inet/sipguard" owns the table.
inline constexpr const char* kNetnsLockName = "sipguard/inet/sipguard";

// Held for the daemon's lifetime; the kernel drops both when the process
// ends, however it ends (kill -9 included), so nothing stale ever blocks a
// start. The file is never unlinked: a second daemon could otherwise lock a
// new file while the first still holds the old inode. The socket listens
// only so that a second daemon can read the holder's pid (SO_PEERCRED).
class InstanceLock {
public:
	InstanceLock() = default;

	// Creates `state_dir` if needed, locks the file without waiting and
	// writes our pid into it, then binds `netns_name` (abstract; tests pass
	// a name of their own). Fails with EWOULDBLOCK and "another sipguard is
	// running (pid N); lock FILE" when another process holds the file, and
	// with EADDRINUSE and "another sipguard is running in this network
	// namespace (pid N) ..." when a sipguard (root or our uid) holds the
	// name; held() is false after any failure. A name held by another uid
	// is not a sipguard's (an unprivileged squatter): logged, not waited
	// for, and only the file lock is held.
	[[nodiscard]] util::Status acquire(const std::string& state_dir,
	                                   const std::string& netns_name = kNetnsLockName);
	bool held() const { return fd_.valid(); }
	const std::string& path() const { return path_; }

	// Readable when a second daemon asked who holds the name (-1 when the
	// name is not ours): drain() accepts and closes those connections.
	int netns_fd() const { return netns_fd_.get(); }
	void drain();

private:
	[[nodiscard]] util::Status lock_file(const std::string& state_dir);
	[[nodiscard]] util::Status lock_netns(const std::string& name);

	util::UniqueFd fd_;
	util::UniqueFd netns_fd_;
	std::string path_;
};

} // namespace sipguard::daemon
