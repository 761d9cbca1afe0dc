// SPDX-License-Identifier: GPL-2.0-or-later
// rtnetlink address dump and change subscription over a plain netlink socket.
#include "agent/host/addresses.h"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace sipguard::host {

namespace {

util::Result<util::UniqueFd> netlink_socket(uint32_t groups, bool nonblock)
{
	int type = SOCK_RAW | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0);
	util::UniqueFd fd(::socket(AF_NETLINK, type, NETLINK_ROUTE));
	if (!fd)
		return util::Status::failure(errno, util::describe_errno("open rtnetlink socket", errno));
	sockaddr_nl sa{};
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = groups;
	if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
		return util::Status::failure(errno, util::describe_errno("bind rtnetlink socket", errno));
	return fd;
}

// Adds the address of one RTM_NEWADDR message. IFA_LOCAL is the interface's
// own address on point-to-point links, where IFA_ADDRESS is the peer's.
void add_address(const nlmsghdr* nh, std::vector<net::IpAddress>& out)
{
	const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(nh));
	int len = static_cast<int>(IFA_PAYLOAD(nh));
	const rtattr* local = nullptr;
	const rtattr* address = nullptr;
	for (const rtattr* rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (rta->rta_type == IFA_LOCAL)
			local = rta;
		else if (rta->rta_type == IFA_ADDRESS)
			address = rta;
	}
	const rtattr* use = local ? local : address;
	if (!use)
		return;
	const auto* data = static_cast<const uint8_t*>(RTA_DATA(use));
	const size_t n = RTA_PAYLOAD(use);
	if (ifa->ifa_family == AF_INET && n == 4)
		out.push_back(net::IpAddress::v4(data));
	else if (ifa->ifa_family == AF_INET6 && n == 16)
		out.push_back(net::IpAddress::v6(data));
}

} // namespace

util::Result<std::vector<net::IpAddress>> read_local_addresses()
{
	auto sock = netlink_socket(0, false);
	if (!sock)
		return sock.status();
	const int fd = sock->get();
	struct {
		nlmsghdr nh;
		ifaddrmsg ifa;
	} req{};
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
	req.nh.nlmsg_type = RTM_GETADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nh.nlmsg_seq = 1;
	req.ifa.ifa_family = AF_UNSPEC;
	if (::send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return util::Status::failure(errno, util::describe_errno("send RTM_GETADDR", errno));

	std::vector<net::IpAddress> out;
	alignas(nlmsghdr) std::array<char, 32768> buf;
	for (;;) {
		ssize_t got = ::recv(fd, buf.data(), buf.size(), 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return util::Status::failure(errno, util::describe_errno("receive RTM_GETADDR dump", errno));
		}
		int len = static_cast<int>(got);
		for (auto* nh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nh, len); nh = mnl_nlmsg_next(nh, &len)) {
			if (nh->nlmsg_seq != 1)
				continue;
			if (nh->nlmsg_type == NLMSG_DONE) {
				std::sort(out.begin(), out.end());
				out.erase(std::unique(out.begin(), out.end()), out.end());
				return out;
			}
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(nh));
				return util::Status::failure(-e->error, util::describe_errno("RTM_GETADDR dump", -e->error));
			}
			if (nh->nlmsg_type == RTM_NEWADDR)
				add_address(nh, out);
		}
	}
}

util::Status AddressWatcher::open()
{
	auto sock = netlink_socket(RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, true);
	if (!sock)
		return sock.status();
	fd_ = std::move(sock).value();
	return util::Status::success();
}

bool AddressWatcher::drain()
{
	bool changed = false;
	alignas(nlmsghdr) std::array<char, 8192> buf;
	for (;;) {
		ssize_t got = ::recv(fd_.get(), buf.data(), buf.size(), 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			// ENOBUFS: notifications were lost; the caller re-reads the list.
			return changed || errno == ENOBUFS;
		}
		if (got == 0)
			return changed;
		int len = static_cast<int>(got);
		for (auto* nh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nh, len); nh = mnl_nlmsg_next(nh, &len))
			if (nh->nlmsg_type == RTM_NEWADDR || nh->nlmsg_type == RTM_DELADDR)
				changed = true;
	}
}

} // namespace sipguard::host
