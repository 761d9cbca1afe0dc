// SPDX-License-Identifier: GPL-2.0-or-later
// Minimal accept-all libmnl NFQUEUE consumer (reference for the queue bench).
#include "tools/bench/queue/reference_consumer.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace sipguard::bench {

namespace {

struct Ctx {
	mnl_socket* nl;
	uint16_t queue;
	std::atomic<uint64_t>* verdicts;
};

int packet_cb(const nlmsghdr* nlh, void* data)
{
	auto* ctx = static_cast<Ctx*>(data);
	nlattr* attr[NFQA_MAX + 1] = {};
	if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr)
		return MNL_CB_OK;
	auto* ph = static_cast<nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
	char buf[MNL_SOCKET_BUFFER_SIZE];
	nlmsghdr* v = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, ctx->queue);
	nfq_nlmsg_verdict_put(v, static_cast<int>(ntohl(ph->packet_id)), NF_ACCEPT);
	if (mnl_socket_sendto(ctx->nl, v, v->nlmsg_len) >= 0)
		ctx->verdicts->fetch_add(1, std::memory_order_relaxed);
	return MNL_CB_OK;
}

int config(mnl_socket* nl, const nfq::QueueConfig& c, uint8_t cmd, bool params, uint32_t portid)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, c.queue_num);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = static_cast<uint32_t>(time(nullptr));
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, cmd);
	if (params) {
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, static_cast<int>(std::min<uint32_t>(c.copy_range, 0xffff)));
		nfq_nlmsg_cfg_put_qmaxlen(nlh, c.max_len);
		uint32_t flags = (c.fail_open ? NFQA_CFG_F_FAIL_OPEN : 0) | (c.gso ? NFQA_CFG_F_GSO : 0);
		mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
		mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO));
	}
	uint32_t seq = nlh->nlmsg_seq;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (int i = 0; i < 100; ++i) {
		int n = static_cast<int>(mnl_socket_recvfrom(nl, buf, sizeof buf));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		// Only the ACK is expected; a packet queued before it is left for
		// the main loop's batch of verdicts to miss: the bench starts
		// traffic only after binding.
		int r = mnl_cb_run(buf, static_cast<size_t>(n), seq, portid, nullptr, nullptr);
		if (r == MNL_CB_STOP || r == MNL_CB_OK)
			return 0;
		if (r < 0)
			return errno ? -errno : -EPROTO;
	}
	return -ETIMEDOUT;
}

} // namespace

util::Status run_reference_consumer(const nfq::QueueConfig& c, const std::atomic<bool>& go,
                                    const std::atomic<bool>& stop, std::atomic<uint64_t>& verdicts,
                                    std::atomic<bool>& ready)
{
	std::unique_ptr<mnl_socket, int (*)(mnl_socket*)> nl(mnl_socket_open(NETLINK_NETFILTER), mnl_socket_close);
	if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;
		return util::Status::failure(err, util::describe_errno("reference: netlink socket", err));
	}
	uint32_t portid = mnl_socket_get_portid(nl.get());
	int fd = mnl_socket_get_fd(nl.get());
	int rcvbuf = static_cast<int>(nfq::rcvbuf_bytes(c));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf);
	int one = 1;
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
	timeval tv{0, 200 * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (int r = config(nl.get(), c, NFQNL_CFG_CMD_BIND, true, portid); r < 0)
		return util::Status::failure(-r, util::describe_errno("reference: bind", -r));
	ready = true;
	while (!go.load() && !stop.load())
		std::this_thread::sleep_for(std::chrono::microseconds(100));
	std::vector<char> buf(0xffff + (MNL_SOCKET_BUFFER_SIZE / 2));
	Ctx ctx{nl.get(), c.queue_num, &verdicts};
	while (!stop.load(std::memory_order_relaxed)) {
		ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
		if (n < 0)
			continue; // EAGAIN (timeout), EINTR, ENOBUFS
		mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, portid, packet_cb, &ctx);
	}
	config(nl.get(), c, NFQNL_CFG_CMD_UNBIND, false, portid);
	return util::Status::success();
}

} // namespace sipguard::bench
