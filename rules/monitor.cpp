// SPDX-License-Identifier: GPL-2.0-or-later
// Watching nf_tables notifications for changes others make to `table inet sipguard` (reload, flush, deletions).
#include "rules/monitor.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <arpa/inet.h>
#include <endian.h>
#include <poll.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "agent/util/enum_names.h"
#include "agent/util/netlink_recv.h"
#include "rules/nl_attrs.h"
#include "rules/table.h"

namespace sipguard::rules {

namespace {

// A `nft flush ruleset` of a big table sends one notification per rule,
// chain, set and (on a set flush) element; a large queue makes ENOBUFS
// (and the full reconcile it forces) rare. SO_RCVBUFFORCE needs
// CAP_NET_ADMIN, which the daemon has.
constexpr int kReceiveBuffer = 16 * 1024 * 1024;
// One recv returns at most one skb; nf_tables notifications fit in a page
// each, but several may share an skb.
constexpr size_t kRxBuffer = 256 * 1024;

struct Attrs {
	std::string table;
	std::string name;
	std::string chain;
	uint64_t handle = 0;
	uint32_t flags = 0;
	bool has_flags = false;
	uint32_t elements = 0;
	uint32_t gen_pid = 0;
	std::string gen_name;
};

std::string str_attr(const nlattr* a)
{
	// Strings are NUL-terminated in nf_tables; bound them by the payload anyway.
	const char* p = static_cast<const char*>(mnl_attr_get_payload(a));
	size_t n = mnl_attr_get_payload_len(a);
	return std::string(p, strnlen(p, n));
}

uint32_t u32_attr(const nlattr* a) { return mnl_attr_validate(a, MNL_TYPE_U32) == 0 ? ntohl(mnl_attr_get_u32(a)) : 0; }

uint64_t u64_attr(const nlattr* a)
{
	return mnl_attr_validate(a, MNL_TYPE_U64) == 0 ? be64toh(mnl_attr_get_u64(a)) : 0;
}

// Attribute numbers per message type (linux/netfilter/nf_tables.h).
bool parse_attrs(uint8_t msg, const nlmsghdr* nlh, Attrs& at)
{
	const void* start = mnl_nlmsg_get_payload_offset(nlh, sizeof(nfgenmsg));
	size_t len = nlh->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(nfgenmsg));
	return for_each_attr(start, len, [&](const nlattr* a) {
		uint16_t type = mnl_attr_get_type(a);
		switch (msg) {
		case NFT_MSG_NEWTABLE:
		case NFT_MSG_DELTABLE:
			if (type == NFTA_TABLE_NAME)
				at.table = str_attr(a);
			else if (type == NFTA_TABLE_FLAGS) {
				at.flags = u32_attr(a);
				at.has_flags = true;
			}
			break;
		case NFT_MSG_NEWCHAIN:
		case NFT_MSG_DELCHAIN:
			if (type == NFTA_CHAIN_TABLE)
				at.table = str_attr(a);
			else if (type == NFTA_CHAIN_NAME)
				at.name = str_attr(a);
			break;
		case NFT_MSG_NEWRULE:
		case NFT_MSG_DELRULE:
			if (type == NFTA_RULE_TABLE)
				at.table = str_attr(a);
			else if (type == NFTA_RULE_CHAIN)
				at.name = str_attr(a);
			else if (type == NFTA_RULE_HANDLE)
				at.handle = u64_attr(a);
			break;
		case NFT_MSG_NEWSET:
		case NFT_MSG_DELSET:
			if (type == NFTA_SET_TABLE)
				at.table = str_attr(a);
			else if (type == NFTA_SET_NAME)
				at.name = str_attr(a);
			break;
		case NFT_MSG_NEWSETELEM:
		case NFT_MSG_DELSETELEM:
			if (type == NFTA_SET_ELEM_LIST_TABLE)
				at.table = str_attr(a);
			else if (type == NFTA_SET_ELEM_LIST_SET)
				at.name = str_attr(a);
			else if (type == NFTA_SET_ELEM_LIST_ELEMENTS)
				for_each_attr(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a), [&](const nlattr*) {
					++at.elements;
					return true;
				});
			break;
		case NFT_MSG_NEWGEN:
			if (type == NFTA_GEN_PROC_PID)
				at.gen_pid = u32_attr(a);
			else if (type == NFTA_GEN_PROC_NAME)
				at.gen_name = str_attr(a);
			break;
		default:
			break;
		}
		return true;
	});
}

constexpr auto kWhatNames = util::enum_names<What::Element>({
	"table", "chain", "rule", "set", "element"
}, "?");

} // namespace

std::string_view to_string(What what) { return kWhatNames(what); }

std::string describe(const MonitorEvent& e)
{
	std::string s;
	if (e.op == MonitorEvent::Op::Lost)
		return "nf_tables notifications were lost (ENOBUFS): the table may have changed";
	switch (e.what) {
	case What::Table:
		s = std::string("table inet ") + kTable;
		break;
	case What::Chain:
		s = "chain " + e.name;
		break;
	case What::Rule:
		s = "rule in chain " + e.name + " (handle " + std::to_string(e.handle) + ")";
		break;
	case What::Set:
		s = "set " + e.name;
		break;
	case What::Element:
		s = std::to_string(e.count) + (e.count == 1 ? " element of set " : " elements of set ") + e.name;
		break;
	}
	switch (e.op) {
	case MonitorEvent::Op::Deleted:
		s += " deleted";
		break;
	case MonitorEvent::Op::Added:
		s += " added";
		break;
	case MonitorEvent::Op::Changed:
		s += " changed";
		break;
	case MonitorEvent::Op::Lost:
		break;
	}
	if (!e.process.empty())
		s += " by " + e.process + " (pid " + std::to_string(e.pid) + ")";
	else
		s += " by netlink port " + std::to_string(e.portid);
	return s;
}

int Monitor::fd() const { return sock_ ? mnl_socket_get_fd(sock_.get()) : -1; }

void Monitor::ignore_port(uint32_t portid)
{
	if (portid != 0 && std::find(ignored_.begin(), ignored_.end(), portid) == ignored_.end())
		ignored_.push_back(portid);
}

Status Monitor::open()
{
	if (sock_)
		return Status::success();
	mnl_socket* sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!sock)
		return Status::failure(errno, describe_error("open netlink socket (NETLINK_NETFILTER)", errno));
	// The group bitmask of bind() covers groups 1-32 (NFNLGRP_NFTABLES is 7).
	if (mnl_socket_bind(sock, 1u << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;
		mnl_socket_close(sock);
		return Status::failure(err, describe_error("subscribe to nf_tables notifications (NFNLGRP_NFTABLES)", err));
	}
	int fd = mnl_socket_get_fd(sock);
	int size = kReceiveBuffer;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
	sock_.reset(sock);
	rx_.resize(kRxBuffer);
	return Status::success();
}

bool Monitor::parse(const nlmsghdr* nlh, MonitorEvent& out) const
{
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(nfgenmsg) || (nlh->nlmsg_type >> 8) != NFNL_SUBSYS_NFTABLES)
		return false;
	const uint8_t msg = static_cast<uint8_t>(nlh->nlmsg_type & 0xff);
	const auto* nfg = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
	Attrs at;
	if (!parse_attrs(msg, nlh, at))
		return false; // malformed: not ours to judge, the reconcile will
	out = MonitorEvent{};
	out.portid = nlh->nlmsg_pid;
	if (msg == NFT_MSG_NEWGEN) {
		// Not an event: carries who made the transaction that just ended.
		out.pid = at.gen_pid;
		out.process = at.gen_name;
		return false;
	}
	if (nfg->nfgen_family != NFPROTO_INET || at.table != kTable)
		return false;
	if (std::find(ignored_.begin(), ignored_.end(), nlh->nlmsg_pid) != ignored_.end())
		return false;
	out.name = at.name;
	switch (msg) {
	case NFT_MSG_DELTABLE:
		out.what = What::Table;
		out.op = MonitorEvent::Op::Deleted;
		return true;
	case NFT_MSG_NEWTABLE:
		out.what = What::Table;
		out.op = MonitorEvent::Op::Changed;
		return true;
	case NFT_MSG_DELCHAIN:
	case NFT_MSG_NEWCHAIN:
		out.what = What::Chain;
		out.op = msg == NFT_MSG_DELCHAIN ? MonitorEvent::Op::Deleted : MonitorEvent::Op::Added;
		return true;
	case NFT_MSG_DELRULE:
	case NFT_MSG_NEWRULE:
		out.what = What::Rule;
		out.handle = at.handle;
		out.op = msg == NFT_MSG_DELRULE ? MonitorEvent::Op::Deleted : MonitorEvent::Op::Added;
		return true;
	case NFT_MSG_DELSET:
	case NFT_MSG_NEWSET:
		out.what = What::Set;
		out.op = msg == NFT_MSG_DELSET ? MonitorEvent::Op::Deleted : MonitorEvent::Op::Added;
		return true;
	case NFT_MSG_DELSETELEM:
	case NFT_MSG_NEWSETELEM:
		out.what = What::Element;
		out.count = at.elements;
		out.op = msg == NFT_MSG_DELSETELEM ? MonitorEvent::Op::Deleted : MonitorEvent::Op::Added;
		return true;
	default:
		return false; // objects, flowtables, traces: not part of our table's layout
	}
}

Status Monitor::read(std::vector<MonitorEvent>& out, size_t max_messages)
{
	if (!sock_)
		return Status::failure(EBADF, "nf_tables monitor is not open");
	// Events of the transaction in progress start here; its NEWGEN (sent
	// after all of them) stamps them with the process name.
	size_t gen_start = out.size();
	size_t consumed = 0;
	while (consumed < max_messages) {
		const util::NetlinkDatagram got =
			util::recv_netlink(mnl_socket_get_fd(sock_.get()), rx_.data(), rx_.size(), MSG_DONTWAIT);
		if (got.len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				// The socket keeps working; what was dropped is unknown.
				MonitorEvent lost;
				lost.op = MonitorEvent::Op::Lost;
				out.push_back(lost);
				gen_start = out.size();
				continue;
			}
			int err = errno;
			return Status::failure(err, describe_error("read nf_tables notifications", err));
		}
		// Only the kernel (port 0) sends group notifications; anything
		// else on this socket is spoofed or stray.
		if (got.sender != 0 || got.truncated)
			continue;
		size_t len = static_cast<size_t>(got.len);
		for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rx_.data()); NLMSG_OK(nlh, len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			++consumed;
			MonitorEvent e;
			if (!parse(nlh, e)) {
				if ((nlh->nlmsg_type >> 8) == NFNL_SUBSYS_NFTABLES &&
				    (nlh->nlmsg_type & 0xff) == NFT_MSG_NEWGEN) {
					for (size_t i = gen_start; i < out.size(); ++i) {
						out[i].pid = e.pid;
						out[i].process = e.process;
					}
					gen_start = out.size();
				}
				continue;
			}
			// A set flush or a bulk delete sends one message per element
			// (or per batch of them): one event per set and op.
			if (e.what == What::Element && out.size() > gen_start) {
				MonitorEvent& last = out.back();
				if (last.what == What::Element && last.op == e.op && last.name == e.name &&
				    last.portid == e.portid) {
					last.count += e.count;
					continue;
				}
			}
			out.push_back(std::move(e));
		}
	}
	return Status::success();
}

Status Monitor::wait(int timeout_ms, std::vector<MonitorEvent>& out)
{
	if (!sock_)
		return Status::failure(EBADF, "nf_tables monitor is not open");
	pollfd pfd{mnl_socket_get_fd(sock_.get()), POLLIN, 0};
	int r;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		int err = errno;
		return Status::failure(err, describe_error("poll nf_tables notifications", err));
	}
	return read(out);
}

} // namespace sipguard::rules
