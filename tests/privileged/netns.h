// SPDX-License-Identifier: GPL-2.0-or-later
// RAII network namespaces, veth links and setns for privileged tests and kernel benchmarks.
#pragma once

#include <string>
#include <vector>

namespace sipguard::test {

// Exits with 77 (meson's "skipped") unless running as root.
void require_root_or_skip();

// Runs `sh -c command`; returns the exit status (or -1). Output goes to the
// test's stdout/stderr unless captured.
int run(const std::string& command);
// Runs and captures stdout; `status` receives the exit status.
std::string run_capture(const std::string& command, int* status = nullptr);

// A named network namespace `sg-<tag>-<pid>-<n>` created with `ip netns add`
// and deleted (with everything in it) by the destructor. Loopback is set up.
class Netns {
public:
	explicit Netns(const std::string& tag);
	~Netns();
	Netns(const Netns&) = delete;
	Netns& operator=(const Netns&) = delete;

	const std::string& name() const { return name_; }
	// Runs `command` inside the namespace (`ip netns exec NAME sh -c ...`).
	int exec(const std::string& command) const;
	std::string exec_capture(const std::string& command, int* status = nullptr) const;
	// Same, but throws std::runtime_error when the command fails.
	void must(const std::string& command) const;

private:
	std::string name_;
};

// Connects two namespaces with a veth pair. Addresses are "10.200.1.1/24",
// "fd00:5a::1/64" style (only test/documentation ranges, only in namespaces).
// IPv6 DAD is disabled on both ends so addresses work at once.
void link_veth(const Netns& a, const std::string& a_if, const std::vector<std::string>& a_addrs,
               const Netns& b, const std::string& b_if, const std::vector<std::string>& b_addrs);

// Moves the calling thread into `ns` (setns on /var/run/netns/NAME) and back
// into the original namespace on scope exit. Sockets opened meanwhile stay
// bound to `ns`.
class EnterNetns {
public:
	explicit EnterNetns(const Netns& ns);
	~EnterNetns();
	EnterNetns(const EnterNetns&) = delete;
	EnterNetns& operator=(const EnterNetns&) = delete;

private:
	int original_fd_ = -1;
};

} // namespace sipguard::test
