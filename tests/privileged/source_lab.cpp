// SPDX-License-Identifier: GPL-2.0-or-later
// The two-namespace lab with many sources (source_lab.h).
#include "tests/privileged/source_lab.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sipguard::test {

bool is_v6(const std::string& a) { return a.find(':') != std::string::npos; }

sockaddr_storage make_addr(const std::string& addr, uint16_t port, socklen_t& len)
{
	sockaddr_storage ss{};
	void* bytes;
	if (is_v6(addr)) {
		auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
		s6->sin6_port = htons(port);
		bytes = &s6->sin6_addr;
		len = sizeof(sockaddr_in6);
	} else {
		auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
		s4->sin_port = htons(port);
		bytes = &s4->sin_addr;
		len = sizeof(sockaddr_in);
	}
	ss.ss_family = is_v6(addr) ? AF_INET6 : AF_INET;
	if (inet_pton(ss.ss_family, addr.c_str(), bytes) != 1)
		throw std::runtime_error("bad address " + addr);
	return ss;
}

Fd::~Fd()
{
	if (fd >= 0)
		::close(fd);
}

int bound_udp(const std::string& addr, uint16_t port)
{
	socklen_t len = 0;
	sockaddr_storage ss = make_addr(addr, port, len);
	int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
	int one = 1;
	::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
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

SourceLab::SourceLab(const std::string& tag, const LabAddresses& addresses, std::vector<std::string> sources)
	: addresses_(addresses), client_(tag + "-cli"), pbx_(tag + "-pbx"), sources_(std::move(sources))
{
	const LabAddresses& a = addresses_;
	link_veth(client_, "veth0", {std::string(a.client4) + "/24", std::string(a.client6) + "/64"}, pbx_, "veth0",
	          {std::string(a.pbx4) + "/24", std::string(a.pbx6) + "/64"});
	for (const auto& p : sources_)
		client_.must(std::string("ip ") + (is_v6(p) ? "-6 " : "") + "addr add " + p + (is_v6(p) ? "/128" : "/32") +
		             " dev veth0" + (is_v6(p) ? " nodad" : ""));
	std::string mac = pbx_.exec_capture("cat /sys/class/net/veth0/address");
	while (!mac.empty() && (mac.back() == '\n' || mac.back() == ' '))
		mac.pop_back();
	if (mac.size() != 17)
		throw std::runtime_error("no MAC address for the pbx's veth0: '" + mac + "'");
	client_.must(std::string("ip neigh replace ") + a.pbx4 + " lladdr " + mac + " dev veth0 nud permanent");
	client_.must(std::string("ip -6 neigh replace ") + a.pbx6 + " lladdr " + mac + " dev veth0 nud permanent");
	pbx_.must("sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 "
	          "net.ipv4.conf.veth0.rp_filter=0");
	{
		EnterNetns in(pbx_);
		if (rules::Status st = nl_.open(); !st.ok())
			throw std::runtime_error(st.message);
	}
	// An always-aborted transaction: nothing is committed, nothing notified.
	if (rules::Status st = rules::probe_queue_backend(nl_, backend_); !st.ok())
		throw std::runtime_error(st.message);
}

std::map<std::string, int> SourceLab::send_from_each(const std::vector<std::string>& from, uint16_t port,
                                                     std::string_view payload, int per_source)
{
	std::map<std::string, int> got;
	for (const auto& p : from)
		got[p] = 0;
	Fd rx4, rx6;
	{
		EnterNetns in(pbx_);
		rx4.fd = bound_udp(addresses_.pbx4, port);
		rx6.fd = bound_udp(addresses_.pbx6, port);
	}
	{
		EnterNetns in(client_);
		for (const auto& p : from) {
			Fd tx;
			tx.fd = bound_udp(p, 40000);
			socklen_t len = 0;
			sockaddr_storage to = make_addr(is_v6(p) ? addresses_.pbx6 : addresses_.pbx4, port, len);
			for (int i = 0; i < per_source; ++i)
				::sendto(tx.fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), len);
		}
	}
	// Count until both sockets stay quiet for 250 ms (bounded by count).
	pollfd pfd[2] = {{rx4.fd, POLLIN, 0}, {rx6.fd, POLLIN, 0}};
	const int max = static_cast<int>(from.size()) * per_source * 2 + 10;
	for (int total = 0; total < max;) {
		if (::poll(pfd, 2, 250) <= 0)
			break;
		for (auto& f : pfd) {
			if (!(f.revents & POLLIN))
				continue;
			char buf[2048];
			sockaddr_storage src{};
			socklen_t fl = sizeof src;
			if (::recvfrom(f.fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&src), &fl) > 0) {
				++got[source_of(src)];
				++total;
			}
		}
	}
	return got;
}

void SourceLab::send_one(const std::string& from, uint16_t sport, uint16_t port, std::string_view payload)
{
	EnterNetns in(client_);
	Fd tx;
	tx.fd = bound_udp(from, sport);
	socklen_t len = 0;
	sockaddr_storage to = make_addr(is_v6(from) ? addresses_.pbx6 : addresses_.pbx4, port, len);
	if (::sendto(tx.fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to), len) < 0)
		throw std::runtime_error(std::string("sendto: ") + std::strerror(errno));
}

} // namespace sipguard::test
