// SPDX-License-Identifier: GPL-2.0-or-later
// Two namespaces (client, pbx) where the client sends from many source addresses and the pbx counts what arrives from each.
#include "tests/privileged/rules/probe_lab.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace sipguard::test {

namespace {

constexpr const char* kClient4 = "198.51.100.1";
constexpr const char* kClient6 = "fd00:5a::1";

sockaddr_storage make_addr(const std::string& addr, uint16_t port, socklen_t& len)
{
	sockaddr_storage ss{};
	if (addr.find(':') != std::string::npos) {
		auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr.c_str(), &s6->sin6_addr) != 1)
			throw std::runtime_error("bad address " + addr);
		len = sizeof(sockaddr_in6);
	} else {
		auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (inet_pton(AF_INET, addr.c_str(), &s4->sin_addr) != 1)
			throw std::runtime_error("bad address " + addr);
		len = sizeof(sockaddr_in);
	}
	return ss;
}

struct Fd {
	int fd = -1;
	~Fd()
	{
		if (fd >= 0)
			::close(fd);
	}
};

int bound_udp(const std::string& addr, uint16_t port)
{
	socklen_t len = 0;
	sockaddr_storage ss = make_addr(addr, port, len);
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
		int err = errno;
		::close(fd);
		throw std::runtime_error("bind " + addr + ": " + std::strerror(err));
	}
	return fd;
}

std::string source_of(const sockaddr_storage& ss)
{
	char buf[INET6_ADDRSTRLEN] = {};
	if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
	else
		inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
	return buf;
}

} // namespace

ProbeLab::ProbeLab(const std::vector<std::string>& probes) : probes_(probes)
{
	std::vector<std::string> addrs = {std::string(kClient4) + "/24", std::string(kClient6) + "/64"};
	link_veth(client_, "veth0", addrs, pbx_, "veth0", {std::string(kPbx4) + "/24", std::string(kPbx6) + "/64"});
	for (const auto& p : probes_) {
		bool v6 = p.find(':') != std::string::npos;
		client_.must(std::string("ip ") + (v6 ? "-6 " : "") + "addr add " + p + (v6 ? "/128" : "/32") +
		             " dev veth0" + (v6 ? " nodad" : ""));
	}
	std::string mac = pbx_.exec_capture("cat /sys/class/net/veth0/address");
	while (!mac.empty() && (mac.back() == '\n' || mac.back() == ' '))
		mac.pop_back();
	if (mac.size() != 17)
		throw std::runtime_error("no MAC address for the pbx's veth0: '" + mac + "'");
	client_.must(std::string("ip neigh replace ") + kPbx4 + " lladdr " + mac + " dev veth0 nud permanent");
	client_.must(std::string("ip -6 neigh replace ") + kPbx6 + " lladdr " + mac + " dev veth0 nud permanent");
	pbx_.must("sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 "
	          "net.ipv4.conf.veth0.rp_filter=0");
	{
		EnterNetns in(pbx_);
		rules::Status st = nl_.open();
		if (!st.ok())
			throw std::runtime_error(st.message);
	}
	rules::Status st = rules::probe_queue_backend(nl_, backend_);
	if (!st.ok())
		throw std::runtime_error(st.message);
}

std::map<std::string, int> ProbeLab::send_all(int per_probe)
{
	std::map<std::string, int> got;
	for (const auto& p : probes_)
		got[p] = 0;
	Fd rx4, rx6;
	{
		EnterNetns in(pbx_);
		rx4.fd = bound_udp(kPbx4, kPort);
		rx6.fd = bound_udp(kPbx6, kPort);
	}
	{
		EnterNetns in(client_);
		const char msg[] = "OPTIONS sip:pbx SIP/2.0\r\nContent-Length: 0\r\n\r\n";
		for (const auto& p : probes_) {
			Fd tx;
			tx.fd = bound_udp(p, 40000);
			bool v6 = p.find(':') != std::string::npos;
			socklen_t len = 0;
			sockaddr_storage to = make_addr(v6 ? kPbx6 : kPbx4, kPort, len);
			for (int i = 0; i < per_probe; ++i)
				sendto(tx.fd, msg, sizeof msg - 1, 0, reinterpret_cast<sockaddr*>(&to), len);
		}
	}
	// Count until both sockets stay quiet for 250 ms (bounded by count).
	pollfd pfd[2] = {{rx4.fd, POLLIN, 0}, {rx6.fd, POLLIN, 0}};
	const int max = static_cast<int>(probes_.size()) * per_probe * 2 + 10;
	for (int total = 0; total < max;) {
		int r = poll(pfd, 2, 250);
		if (r <= 0)
			break;
		for (auto& f : pfd) {
			if (!(f.revents & POLLIN))
				continue;
			char buf[2048];
			sockaddr_storage from{};
			socklen_t fl = sizeof from;
			if (recvfrom(f.fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &fl) > 0) {
				++got[source_of(from)];
				++total;
			}
		}
	}
	return got;
}

} // namespace sipguard::test
