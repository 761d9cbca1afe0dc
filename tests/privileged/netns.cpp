// SPDX-License-Identifier: GPL-2.0-or-later
// RAII network namespaces, veth links and setns for privileged tests and kernel benchmarks.
#include "tests/privileged/netns.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sipguard::test {

namespace {

std::atomic<unsigned> g_counter{0};

std::string quote(const std::string& s)
{
	std::string out = "'";
	for (char c : s) {
		if (c == '\'')
			out += "'\\''";
		else
			out += c;
	}
	out += "'";
	return out;
}

int decode_status(int raw)
{
	if (raw == -1)
		return -1;
	if (WIFEXITED(raw))
		return WEXITSTATUS(raw);
	return 128 + (WIFSIGNALED(raw) ? WTERMSIG(raw) : 0);
}

} // namespace

void require_root_or_skip()
{
	if (geteuid() != 0) {
		std::fprintf(stderr, "skipped: needs root (network namespaces, nftables)\n");
		std::exit(77);
	}
}

int run(const std::string& command)
{
	return decode_status(std::system(command.c_str()));
}

std::string run_capture(const std::string& command, int* status)
{
	std::string out;
	FILE* f = popen(command.c_str(), "r");
	if (!f) {
		if (status)
			*status = -1;
		return out;
	}
	char buf[4096];
	size_t n;
	while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
		out.append(buf, n);
	int raw = pclose(f);
	if (status)
		*status = decode_status(raw);
	return out;
}

Netns::Netns(const std::string& tag)
{
	name_ = "sg-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(g_counter++);
	if (run("ip netns add " + quote(name_)) != 0)
		throw std::runtime_error("ip netns add " + name_ + " failed");
	if (exec("ip link set lo up") != 0) {
		run("ip netns del " + quote(name_));
		throw std::runtime_error("cannot bring up lo in " + name_);
	}
}

Netns::~Netns()
{
	// Deleting the namespace removes its veth ends, its nftables tables and
	// its sockets' bindings; processes started inside were bounded by their
	// callers. Retry once: a just-exited `ip netns exec` may hold the mount.
	if (run("ip netns del " + quote(name_) + " 2>/dev/null") != 0) {
		usleep(100000);
		if (run("ip netns del " + quote(name_)) != 0)
			std::fprintf(stderr, "warning: could not delete network namespace %s\n", name_.c_str());
	}
}

int Netns::exec(const std::string& command) const
{
	return run("ip netns exec " + quote(name_) + " sh -c " + quote(command));
}

std::string Netns::exec_capture(const std::string& command, int* status) const
{
	return run_capture("ip netns exec " + quote(name_) + " sh -c " + quote(command), status);
}

void Netns::must(const std::string& command) const
{
	int st = exec(command);
	if (st != 0)
		throw std::runtime_error("in " + name_ + ": `" + command + "` exited " + std::to_string(st));
}

void link_veth(const Netns& a, const std::string& a_if, const std::vector<std::string>& a_addrs,
               const Netns& b, const std::string& b_if, const std::vector<std::string>& b_addrs)
{
	// Created inside `a` so the host namespace never holds the pair.
	a.must("ip link add " + a_if + " type veth peer name " + b_if + " netns " + b.name());
	auto setup = [](const Netns& ns, const std::string& ifname, const std::vector<std::string>& addrs) {
		ns.must("sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 "
		        "net.ipv6.conf." + ifname + ".accept_dad=0 || true");
		for (const auto& addr : addrs) {
			bool v6 = addr.find(':') != std::string::npos;
			ns.must(std::string("ip ") + (v6 ? "-6 " : "") + "addr add " + addr + " dev " + ifname +
			        (v6 ? " nodad" : ""));
		}
		ns.must("ip link set " + ifname + " up");
	};
	setup(a, a_if, a_addrs);
	setup(b, b_if, b_addrs);
}

EnterNetns::EnterNetns(const Netns& ns)
{
	original_fd_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (original_fd_ < 0)
		throw std::runtime_error(std::string("open /proc/thread-self/ns/net: ") + std::strerror(errno));
	std::string path = "/var/run/netns/" + ns.name();
	int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		::close(original_fd_);
		throw std::runtime_error("open " + path + ": " + std::strerror(err));
	}
	if (setns(fd, CLONE_NEWNET) != 0) {
		int err = errno;
		::close(fd);
		::close(original_fd_);
		throw std::runtime_error("setns " + path + ": " + std::strerror(err));
	}
	::close(fd);
}

EnterNetns::~EnterNetns()
{
	if (setns(original_fd_, CLONE_NEWNET) != 0) {
		// Staying in a test namespace would make later steps touch the
		// wrong namespace; there is no safe way to continue.
		std::fprintf(stderr, "fatal: cannot restore network namespace: %s\n", std::strerror(errno));
		std::abort();
	}
	::close(original_fd_);
}

} // namespace sipguard::test
