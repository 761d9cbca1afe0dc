// SPDX-License-Identifier: GPL-2.0-or-later
// The NFQUEUE loop: libmnl socket, one-message queue configuration, recvmmsg
// batches, decode, handler, verdicts sent in one sendmsg per batch.
#include "nfq/queue.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <ctime>

#include <poll.h>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "agent/util/log.h"
#include "agent/util/netlink_recv.h"
#include "nfq/decode.h"

// libmnl's header does not declare SOL_NETLINK on older libcs.
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

namespace sipguard::nfq {

namespace {

// The receive timeout bounds how long a stop request waits for a blocked
// recvmmsg (SO_RCVTIMEO sockets are not restarted after signals either).
constexpr long kRecvTimeoutUs = 200 * 1000;
// The kernel caps the copy range at 0xffff - NLA_HDRLEN
// (NFQNL_MAX_COPY_RANGE in net/netfilter/nfnetlink_queue.c).
constexpr uint32_t kMaxCopyRange = 0xffff - 4;
// Room for the attributes the kernel puts around the payload (packet header,
// mark, timestamp, interfaces, hw address, cap len, skb info, ...).
constexpr size_t kMessageOverhead = 1024;
// Size of one verdict message: nlmsghdr + nfgenmsg + NFQA_VERDICT_HDR.
constexpr size_t kVerdictMsgSize = 64;
// How long (and how many queued packets) a stop still runs through the
// handler before unbinding (the kernel drops whatever is still queued at
// unbind); bounded so that a flood cannot hold a shutdown past a second.
constexpr size_t kStopDrainBudget = 65536;
constexpr auto kStopDrainTime = std::chrono::milliseconds(100);

struct MnlCloser {
	void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};
using MnlSocket = std::unique_ptr<mnl_socket, MnlCloser>;

// Relaxed single-writer increment: the queue thread is the only writer.
inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1)
{
	c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

bool is_queue_packet(const nlmsghdr* nlh)
{
	return NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_QUEUE &&
	       NFNL_MSG_TYPE(nlh->nlmsg_type) == NFQNL_MSG_PACKET;
}

Direction direction_of_hook(uint8_t hook)
{
	return hook == NF_INET_LOCAL_OUT || hook == NF_INET_POST_ROUTING ? Direction::Out : Direction::In;
}

} // namespace

size_t rcvbuf_bytes(const QueueConfig& config)
{
	if (config.rcvbuf != 0)
		return config.rcvbuf;
	// A netlink skb carrying an MTU-sized datagram has a truesize of about
	// 2.3 KiB (kmalloc rounding + skb_shared_info); socket accounting uses
	// truesize, so this keeps room for a full queue of such messages.
	size_t per_msg = std::min<size_t>(config.copy_range, 1500) + kMessageOverhead;
	size_t bytes = static_cast<size_t>(config.max_len) * per_msg;
	return std::clamp<size_t>(bytes, size_t{1} << 20, INT_MAX / 2);
}

QueueStats QueueCounters::snapshot() const
{
	auto r = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
	QueueStats s;
	s.received = r(received);
	s.accepted = r(accepted);
	s.dropped = r(dropped);
	s.decode_errors = r(decode_errors);
	s.fragments = r(fragments);
	s.enobufs = r(enobufs);
	s.batches = r(batches);
	s.verdict_msgs = r(verdict_msgs);
	s.netlink_errors = r(netlink_errors);
	s.send_errors = r(send_errors);
	return s;
}

struct Queue::Impl {
	QueueConfig config;
	MnlSocket nl;
	uint32_t portid = 0;
	uint32_t seq = 0;
	bool bound = false;
	QueueCounters counters;

	size_t slot_size = 0;
	std::vector<uint8_t> rx;
	std::vector<mmsghdr> msgs;
	std::vector<iovec> iovs;
	std::vector<sockaddr_nl> addrs;
	std::vector<uint8_t> tx;
	std::vector<PendingVerdict> pending;
	std::vector<VerdictMsg> plan;
	std::vector<nlattr*> attrs = std::vector<nlattr*>(NFQA_MAX + 1);

	int fd() const { return mnl_socket_get_fd(nl.get()); }
	// "queue N: <step>: <strerror>" with the errno.
	util::Status fail(int err, const char* step) const
	{
		return util::Status::failure(err, fmt::format("queue {}: {}: {}", config.queue_num, step, std::strerror(err)));
	}
	util::Status send_config(uint8_t command, bool with_params);
	util::Status wait_ack(uint32_t want_seq);
	void accept_now(uint32_t id);
	bool take_packet(const nlmsghdr* nlh, uint32_t& id, std::span<const uint8_t>& payload, uint8_t& hook);
	size_t process(size_t n, Handler& handler);
	int receive(int flags, Handler& handler, size_t& got);
	int check_receive(int r);
	void drain(Handler& handler);
	void send_verdicts(size_t npending);
	void unbind();
};

util::Status Queue::Impl::send_config(uint8_t command, bool with_params)
{
	alignas(nlmsghdr) char buf[MNL_SOCKET_BUFFER_SIZE];
	nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, config.queue_num);
	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++seq;
	nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, command);
	if (with_params) {
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET,
		                         static_cast<int>(std::min(config.copy_range, kMaxCopyRange)));
		nfq_nlmsg_cfg_put_qmaxlen(nlh, config.max_len);
		// Both flags in one NFQA_CFG_FLAGS with a mask naming both, so a
		// "false" clears a flag a previous owner of the queue number set.
		uint32_t flags = (config.fail_open ? NFQA_CFG_F_FAIL_OPEN : 0) | (config.gso ? NFQA_CFG_F_GSO : 0);
		uint32_t mask = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;
		mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
		mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(mask));
	}
	if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
		return fail(errno, "sending config");
	return wait_ack(nlh->nlmsg_seq);
}

// Reads until the ACK for `want_seq`. Packets that the kernel queues to us
// between the bind and the ACK are accepted at once: each must get a verdict.
util::Status Queue::Impl::wait_ack(uint32_t want_seq)
{
	auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
	std::vector<uint8_t> buf(slot_size);
	while (std::chrono::steady_clock::now() < deadline) {
		const util::NetlinkDatagram got = util::recv_netlink(fd(), buf.data(), buf.size(), 0);
		if (got.len < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return fail(errno, "waiting for the config ACK");
		}
		if (got.sender != 0)
			continue; // only the kernel may talk to us
		int rest = static_cast<int>(got.len);
		for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, rest);
		     nlh = mnl_nlmsg_next(nlh, &rest)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				if (nlh->nlmsg_seq != want_seq || nlh->nlmsg_pid != portid)
					continue;
				if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr)))
					return util::Status::failure(EBADMSG,
					                             fmt::format("queue {}: short netlink ACK", config.queue_num));
				const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
				if (err->error != 0)
					return fail(-err->error, "kernel refused the config");
				return util::Status::success();
			}
			if (is_queue_packet(nlh)) {
				uint32_t id;
				std::span<const uint8_t> payload;
				uint8_t hook;
				if (take_packet(nlh, id, payload, hook)) {
					bump(counters.received);
					bump(counters.accepted);
					accept_now(id);
				}
			}
		}
	}
	return util::Status::failure(ETIMEDOUT,
	                             fmt::format("queue {}: no ACK from the kernel within 2 s", config.queue_num));
}

void Queue::Impl::accept_now(uint32_t id)
{
	alignas(nlmsghdr) char buf[kVerdictMsgSize * 2];
	nlmsghdr* nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT, config.queue_num);
	nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), NF_ACCEPT);
	if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
		bump(counters.send_errors);
	else
		bump(counters.verdict_msgs);
}

// Extracts id, hook and payload of a packet message. False when the message
// carries no packet header (then it has no id to verdict).
bool Queue::Impl::take_packet(const nlmsghdr* nlh, uint32_t& id, std::span<const uint8_t>& payload, uint8_t& hook)
{
	std::fill(attrs.begin(), attrs.end(), nullptr);
	if (nfq_nlmsg_parse(nlh, attrs.data()) < 0 || attrs[NFQA_PACKET_HDR] == nullptr ||
	    mnl_attr_get_payload_len(attrs[NFQA_PACKET_HDR]) < sizeof(nfqnl_msg_packet_hdr)) {
		bump(counters.netlink_errors);
		return false;
	}
	const auto* ph = static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attrs[NFQA_PACKET_HDR]));
	id = ntohl(ph->packet_id);
	hook = ph->hook;
	if (attrs[NFQA_PAYLOAD] != nullptr)
		payload = {static_cast<const uint8_t*>(mnl_attr_get_payload(attrs[NFQA_PAYLOAD])),
		           mnl_attr_get_payload_len(attrs[NFQA_PAYLOAD])};
	else
		payload = {};
	return true;
}

// Decides the first `n` received datagrams; returns how many verdicts are pending.
size_t Queue::Impl::process(size_t n, Handler& handler)
{
	size_t np = 0;
	PacketView view;
	for (size_t i = 0; i < n; ++i) {
		const mmsghdr& m = msgs[i];
		if (addrs[i].nl_pid != 0) {
			bump(counters.netlink_errors);
			continue;
		}
		if (m.msg_hdr.msg_flags & MSG_TRUNC) {
			// Cannot happen with slot_size >= copy range + overhead; if it
			// does, the packet stays queued until the next batch verdict
			// (which covers every lower id) releases it.
			bump(counters.netlink_errors);
			continue;
		}
		int rest = static_cast<int>(m.msg_len);
		for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rx.data() + i * slot_size); mnl_nlmsg_ok(nlh, rest);
		     nlh = mnl_nlmsg_next(nlh, &rest)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				// A verdict the kernel refused (e.g. ENOENT: unknown id).
				const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
				if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(nlmsgerr)) && err->error != 0)
					bump(counters.netlink_errors);
				continue;
			}
			if (!is_queue_packet(nlh)) {
				if (nlh->nlmsg_type != NLMSG_NOOP && nlh->nlmsg_type != NLMSG_DONE)
					bump(counters.netlink_errors);
				continue;
			}
			uint32_t id;
			std::span<const uint8_t> payload;
			uint8_t hook;
			if (!take_packet(nlh, id, payload, hook))
				continue;
			bump(counters.received);
			Verdict v = Verdict::Accept;
			// NFQA_CAP_LEN: the packet's length when the copy range cut it
			// (a reassembled datagram over 65531 bytes).
			const nlattr* cap = attrs[NFQA_CAP_LEN];
			const bool cut = cap != nullptr && mnl_attr_get_payload_len(cap) >= sizeof(uint32_t) &&
			                 ntohl(mnl_attr_get_u32(cap)) > payload.size();
			DecodeStatus st = decode_ip(payload, view, cut);
			if (st == DecodeStatus::Ok)
				v = handler.on_packet(view, direction_of_hook(hook));
			else if (st == DecodeStatus::Fragment)
				bump(counters.fragments);
			else
				bump(counters.decode_errors); // fail-open: not ours to judge
			bump(v == Verdict::Accept ? counters.accepted : counters.dropped);
			if (np == pending.size())
				pending.resize(np * 2); // only if a datagram held several messages
			pending[np++] = {id, v};
		}
	}
	return np;
}

void Queue::Impl::send_verdicts(size_t npending)
{
	if (npending == 0)
		return;
	if (plan.size() < npending)
		plan.resize(npending);
	size_t nmsg = plan_verdicts({pending.data(), npending}, plan);
	if (tx.size() < nmsg * kVerdictMsgSize)
		tx.resize(nmsg * kVerdictMsgSize);
	size_t off = 0;
	for (size_t k = 0; k < nmsg; ++k) {
		const VerdictMsg& vm = plan[k];
		nlmsghdr* nlh = nfq_nlmsg_put(reinterpret_cast<char*>(tx.data() + off),
		                              vm.batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT, config.queue_num);
		nfq_nlmsg_verdict_put(nlh, static_cast<int>(vm.id), vm.verdict == Verdict::Accept ? NF_ACCEPT : NF_DROP);
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	// All of the batch's verdicts in one sendmsg: nfnetlink hands every
	// message in the skb to netlink_rcv_skb in order, so drops still precede
	// the accepts queued after them.
	for (int attempt = 0; attempt < 4; ++attempt) {
		if (mnl_socket_sendto(nl.get(), tx.data(), off) >= 0) {
			bump(counters.verdict_msgs, nmsg);
			return;
		}
		if (errno != EINTR && errno != EAGAIN && errno != ENOBUFS && errno != ENOMEM)
			break;
	}
	bump(counters.send_errors);
	LOG(Nfq, Error, "queue {}: sending {} verdicts failed: {}", config.queue_num, nmsg, std::strerror(errno));
}

// One recvmmsg (blocking for the first message unless `flags` has
// MSG_DONTWAIT), then verdicts. Returns 0 or -errno; `got` = packets received.
int Queue::Impl::receive(int flags, Handler& handler, size_t& got)
{
	got = 0;
	size_t batch = msgs.size();
	for (size_t i = 0; i < batch; ++i) {
		msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_nl);
		msgs[i].msg_hdr.msg_flags = 0;
		msgs[i].msg_len = 0;
	}
	int n = recvmmsg(fd(), msgs.data(), static_cast<unsigned>(batch), flags, nullptr);
	if (n < 0)
		return -errno;
	bump(counters.batches);
	size_t np = process(static_cast<size_t>(n), handler);
	send_verdicts(np);
	got = static_cast<size_t>(n);
	return 0;
}

void Queue::Impl::unbind()
{
	if (!bound)
		return;
	bound = false;
	if (util::Status st = send_config(NFQNL_CFG_CMD_UNBIND, false); !st)
		LOG(Nfq, Warning, "{}", st.message);
}

Queue::Queue() : impl_(std::make_unique<Impl>()) {}
Queue::~Queue() { close(); }
Queue::Queue(Queue&&) noexcept = default;
Queue& Queue::operator=(Queue&&) noexcept = default;

util::Status Queue::open(const QueueConfig& config)
{
	close();
	if (!impl_)
		impl_ = std::make_unique<Impl>();
	Impl& q = *impl_;
	q.config = config;
	if (q.config.batch == 0)
		q.config.batch = 1;
	q.nl.reset(mnl_socket_open(NETLINK_NETFILTER));
	if (!q.nl)
		return q.fail(errno, "netlink socket");
	if (mnl_socket_bind(q.nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
		util::Status st = q.fail(errno, "netlink bind");
		q.nl.reset();
		return st;
	}
	q.portid = mnl_socket_get_portid(q.nl.get());
	q.seq = static_cast<uint32_t>(time(nullptr));

	// SO_RCVBUFFORCE ignores net.core.rmem_max (needs CAP_NET_ADMIN, which
	// binding a queue needs anyway); fall back to SO_RCVBUF otherwise.
	int rcvbuf = static_cast<int>(rcvbuf_bytes(q.config));
	if (setsockopt(q.fd(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
	    setsockopt(q.fd(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
		LOG(Nfq, Warning, "queue {}: cannot size the receive buffer: {}", config.queue_num, std::strerror(errno));
	// A full socket makes the kernel fail the unicast (fail-open accepts the
	// packet, otherwise it counts a user drop); without NETLINK_NO_ENOBUFS
	// it would also report ENOBUFS to us, which carries no id to act on.
	int one = 1;
	if (setsockopt(q.fd(), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one) < 0)
		LOG(Nfq, Warning, "queue {}: NETLINK_NO_ENOBUFS: {}", config.queue_num, std::strerror(errno));
	timeval tv{0, kRecvTimeoutUs};
	if (setsockopt(q.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
		util::Status st = q.fail(errno, "SO_RCVTIMEO");
		q.nl.reset();
		return st;
	}

	q.slot_size = NLMSG_ALIGN(std::min(q.config.copy_range, kMaxCopyRange) + kMessageOverhead);
	size_t batch = q.config.batch;
	q.rx.assign(batch * q.slot_size, 0);
	q.msgs.assign(batch, mmsghdr{});
	q.iovs.assign(batch, iovec{});
	q.addrs.assign(batch, sockaddr_nl{});
	for (size_t i = 0; i < batch; ++i) {
		q.iovs[i] = {q.rx.data() + i * q.slot_size, q.slot_size};
		q.msgs[i].msg_hdr.msg_iov = &q.iovs[i];
		q.msgs[i].msg_hdr.msg_iovlen = 1;
		q.msgs[i].msg_hdr.msg_name = &q.addrs[i];
	}
	q.pending.assign(batch, PendingVerdict{});
	q.plan.assign(batch, VerdictMsg{});
	q.tx.assign(batch * kVerdictMsgSize, 0);

	if (util::Status st = q.send_config(NFQNL_CFG_CMD_BIND, true); !st) {
		q.nl.reset();
		return st;
	}
	q.bound = true;
	LOG(Nfq, Info, "queue {}: bound (copy range {}, max len {}, fail-open {}, gso {}, rcvbuf {})",
	    config.queue_num, q.config.copy_range, q.config.max_len, q.config.fail_open, q.config.gso, rcvbuf);
	return util::Status::success();
}

bool Queue::is_open() const { return impl_ && impl_->nl; }

// What a receive result means to the loop: 0 go on (nothing, a signal, or
// lost messages counted), -errno a fatal socket error.
int Queue::Impl::check_receive(int r)
{
	if (r == 0 || r == -EINTR || r == -EAGAIN || r == -EWOULDBLOCK)
		return 0;
	if (r == -ENOBUFS) {
		// Messages were lost (only without NETLINK_NO_ENOBUFS or an old
		// kernel); their packets were failed open or dropped by the kernel.
		bump(counters.enobufs);
		return 0;
	}
	LOG(Nfq, Error, "queue {}: receive failed: {}", config.queue_num, std::strerror(-r));
	return r;
}

// Packets already in the socket are in the kernel queue too; unbinding
// would drop them (instance_destroy flushes with NF_DROP), so decide them.
void Queue::Impl::drain(Handler& handler)
{
	size_t drained = 0, got;
	auto drain_until = std::chrono::steady_clock::now() + kStopDrainTime;
	while (drained < kStopDrainBudget && std::chrono::steady_clock::now() < drain_until) {
		int r = receive(MSG_DONTWAIT, handler, got);
		if (r == -EINTR || r == -ENOBUFS)
			continue;
		if (r < 0 || got == 0)
			break;
		drained += got;
	}
}

int Queue::run(Handler& handler, const std::atomic<bool>& stop)
{
	if (!is_open())
		return -EBADF;
	Impl& q = *impl_;
	int result = 0;
	size_t got;
	while (result == 0 && !stop.load(std::memory_order_relaxed)) {
		// MSG_WAITFORONE: block (up to SO_RCVTIMEO) for the first message,
		// then take whatever else is already queued, up to the batch.
		int r = q.receive(MSG_WAITFORONE, handler, got);
		if (r == -EAGAIN || r == -EWOULDBLOCK)
			handler.on_idle();
		result = q.check_receive(r);
	}
	if (result == 0)
		q.drain(handler);
	q.unbind();
	return result;
}

int Queue::run_with(Queue& second, Handler& handler, const std::atomic<bool>& stop)
{
	if (!is_open() || !second.is_open())
		return -EBADF;
	Impl* qs[2] = {impl_.get(), second.impl_.get()};
	pollfd pfd[2] = {{qs[0]->fd(), POLLIN, 0}, {qs[1]->fd(), POLLIN, 0}};
	int result = 0;
	size_t got;
	while (result == 0 && !stop.load(std::memory_order_relaxed)) {
		int n = poll(pfd, 2, static_cast<int>(kRecvTimeoutUs / 1000));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			result = -errno;
			LOG(Nfq, Error, "queues {}+{}: poll failed: {}", qs[0]->config.queue_num, qs[1]->config.queue_num,
			    std::strerror(errno));
			break;
		}
		if (n == 0) {
			handler.on_idle();
			continue;
		}
		// One batch from each readable socket in turn, so a flood on one
		// range costs the other at most one batch of latency.
		for (int k = 0; k < 2 && result == 0; ++k)
			if (pfd[k].revents != 0)
				result = qs[k]->check_receive(qs[k]->receive(MSG_DONTWAIT, handler, got));
	}
	for (Impl* q : qs) {
		if (result == 0)
			q->drain(handler);
		q->unbind();
	}
	return result;
}

void Queue::close()
{
	if (!impl_ || !impl_->nl)
		return;
	impl_->unbind();
	impl_->nl.reset();
}

const QueueConfig& Queue::config() const { return impl_->config; }
uint32_t Queue::portid() const { return impl_->portid; }
const QueueCounters& Queue::counters() const { return impl_->counters; }

QueueGroup::~QueueGroup() { join(); }

util::Status QueueGroup::open(std::span<const QueueConfig> configs, size_t threads)
{
	queues_.clear();
	if (threads == 0)
		threads = configs.size();
	if (configs.size() != threads && configs.size() != 2 * threads)
		return util::Status::invalid(fmt::format("{} queues for {} threads", configs.size(), threads));
	threads_wanted_ = threads;
	for (const QueueConfig& c : configs) {
		auto q = std::make_unique<Queue>();
		if (util::Status st = q->open(c); !st) {
			queues_.clear();
			return st;
		}
		queues_.push_back(std::move(q));
	}
	return util::Status::success();
}

util::Status QueueGroup::start(std::span<Handler* const> handlers, const std::atomic<bool>& stop)
{
	if (handlers.size() != threads_wanted_)
		return util::Status::invalid(fmt::format("{} handlers for {} threads", handlers.size(), threads_wanted_));
	const bool paired = queues_.size() == 2 * threads_wanted_;
	results_.assign(threads_wanted_, 0);
	for (size_t i = 0; i < threads_wanted_; ++i)
		threads_.emplace_back([this, i, paired, h = handlers[i], &stop] {
			results_[i] = paired ? queues_[i]->run_with(*queues_[threads_wanted_ + i], *h, stop)
			                     : queues_[i]->run(*h, stop);
		});
	return util::Status::success();
}

int QueueGroup::join()
{
	for (std::thread& t : threads_)
		if (t.joinable())
			t.join();
	threads_.clear();
	for (int r : results_)
		if (r != 0)
			return r;
	return 0;
}

QueueStats QueueGroup::total() const
{
	QueueStats t;
	for (const auto& q : queues_) {
		QueueStats s = q->stats();
		t.received += s.received;
		t.accepted += s.accepted;
		t.dropped += s.dropped;
		t.decode_errors += s.decode_errors;
		t.fragments += s.fragments;
		t.enobufs += s.enobufs;
		t.batches += s.batches;
		t.verdict_msgs += s.verdict_msgs;
		t.netlink_errors += s.netlink_errors;
		t.send_errors += s.send_errors;
	}
	return t;
}

} // namespace sipguard::nfq
