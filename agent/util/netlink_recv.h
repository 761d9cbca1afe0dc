// SPDX-License-Identifier: GPL-2.0-or-later
// One recvmsg on a netlink socket that also says who sent the datagram (port
// id 0 is the kernel) and whether it was cut short, for the readers that must
// ignore anything but the kernel (NFQUEUE config ACKs, nf_tables events).
#pragma once

#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace sipguard::util {

struct NetlinkDatagram {
	ssize_t len = -1;       // recvmsg's result: < 0 with errno set on failure
	uint32_t sender = 0;    // nl_pid of the sending socket; 0 = the kernel
	bool truncated = false; // MSG_TRUNC: the buffer was too small
};

inline NetlinkDatagram recv_netlink(int fd, void* buf, size_t size, int flags)
{
	sockaddr_nl from{};
	iovec iov{buf, size};
	msghdr mh{};
	mh.msg_name = &from;
	mh.msg_namelen = sizeof from;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	const ssize_t n = ::recvmsg(fd, &mh, flags);
	return {n, from.nl_pid, (mh.msg_flags & MSG_TRUNC) != 0};
}

} // namespace sipguard::util
