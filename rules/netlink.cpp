// SPDX-License-Identifier: GPL-2.0-or-later
// NETLINK_NETFILTER socket and nf_tables transaction batches with per-message ACK checking.
#include "rules/netlink.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <exception>
#include <set>

#include <poll.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

namespace sipguard::rules {

namespace {

// Big enough that a whole transaction (kMaxElementsPerTransaction elements,
// tens of messages) fits in one sendmsg, and that its ACKs (one skb each,
// counted by truesize) cannot overflow the receive queue. netlink_sendmsg
// refuses messages larger than sk_sndbuf (EMSGSIZE); nft raises it the same
// way (SO_SNDBUFFORCE needs CAP_NET_ADMIN, which we need anyway).
constexpr int kSocketBuffer = 16 * 1024 * 1024;
constexpr size_t kRxBuffer = 256 * 1024;

void set_buffer(mnl_socket* sock, int force_opt, int opt)
{
	// SOL_SOCKET options: mnl_socket_setsockopt only does SOL_NETLINK.
	int size = kSocketBuffer;
	int fd = mnl_socket_get_fd(sock);
	if (setsockopt(fd, SOL_SOCKET, force_opt, &size, sizeof size) != 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

// The kernel's explanatory text, if it sent one (NETLINK_EXT_ACK): TLVs
// after the nlmsgerr and the echoed header (payload is capped by
// NETLINK_CAP_ACK).
std::string extack_message(const nlmsghdr* nlh)
{
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return {};
	const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(nlh));
	size_t off = NLMSG_HDRLEN + sizeof(nlmsgerr);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(nlmsghdr);
	if (off >= nlh->nlmsg_len)
		return {};
	auto* a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(nlh) + off);
	int remaining = static_cast<int>(nlh->nlmsg_len - off);
	while (mnl_attr_ok(a, remaining)) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return mnl_attr_get_str(a);
		remaining -= static_cast<int>(MNL_ALIGN(a->nla_len));
		a = reinterpret_cast<const nlattr*>(reinterpret_cast<const char*>(a) + MNL_ALIGN(a->nla_len));
	}
	return {};
}

} // namespace

Batch::Batch() { buf_.resize(64 * 1024); }

char* Batch::reserve(size_t max_len)
{
	if (buf_.size() < len_ + max_len)
		buf_.resize(std::max(buf_.size() * 2, len_ + max_len));
	std::memset(buf_.data() + len_, 0, max_len);
	return buf_.data() + len_;
}

void Batch::commit_message(std::string what)
{
	auto* nlh = reinterpret_cast<nlmsghdr*>(buf_.data() + len_);
	len_ += NLMSG_ALIGN(nlh->nlmsg_len);
	what_.push_back(std::move(what));
}

Batch::Framed Batch::frame(uint32_t first_seq) const
{
	Framed out;
	out.first_seq = first_seq;
	out.bytes.resize(len_ + 2 * NLMSG_ALIGN(sizeof(nlmsghdr) + sizeof(nfgenmsg)));
	char* p = out.bytes.data();
	nlmsghdr* begin = nftnl_batch_begin(p, first_seq - 1);
	size_t off = NLMSG_ALIGN(begin->nlmsg_len);
	std::memcpy(p + off, buf_.data(), len_);
	size_t pos = 0;
	uint32_t seq = first_seq;
	while (pos < len_) {
		auto* nlh = reinterpret_cast<nlmsghdr*>(p + off + pos);
		nlh->nlmsg_seq = seq++;
		nlh->nlmsg_flags |= NLM_F_ACK;
		pos += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	off += len_;
	nlmsghdr* end = nftnl_batch_end(p + off, seq);
	off += NLMSG_ALIGN(end->nlmsg_len);
	out.bytes.resize(off);
	return out;
}

void MnlSocketClose::operator()(mnl_socket* sock) const noexcept { mnl_socket_close(sock); }

Status Netlink::open()
{
	if (sock_)
		return Status::success();
	mnl_socket* sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!sock)
		return Status::failure(errno, describe_error("open netlink socket (NETLINK_NETFILTER)", errno));
	if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = errno;
		mnl_socket_close(sock);
		return Status::failure(err, describe_error("bind netlink socket", err));
	}
	// Errors echo only the header (not the whole failing message), and
	// extended ACKs carry the kernel's text when there is one.
	int one = 1;
	(void)mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &one, sizeof one);
	(void)mnl_socket_setsockopt(sock, NETLINK_EXT_ACK, &one, sizeof one);
	set_buffer(sock, SO_SNDBUFFORCE, SO_SNDBUF);
	set_buffer(sock, SO_RCVBUFFORCE, SO_RCVBUF);
	sock_.reset(sock);
	portid_ = mnl_socket_get_portid(sock);
	seq_ = static_cast<uint32_t>(time(nullptr)) << 8;
	rx_.resize(kRxBuffer);
	return Status::success();
}

Status Netlink::commit(const Batch& batch, std::vector<std::pair<size_t, int>>* errors)
{
	if (!sock_)
		return Status::failure(EBADF, "netlink socket is not open");
	if (batch.empty())
		return Status::success();
	uint32_t first = seq_ + 1;
	seq_ += static_cast<uint32_t>(batch.message_count()) + 2;
	Batch::Framed framed = batch.frame(first);
	ssize_t sent = mnl_socket_sendto(sock_.get(), framed.bytes.data(), framed.bytes.size());
	if (sent < 0) {
		int err = errno;
		return Status::failure(err, describe_error("send nf_tables batch of " +
		                                               std::to_string(batch.message_count()) + " messages (" +
		                                               std::to_string(framed.bytes.size()) + " bytes)",
		                                           err));
	}
	return receive_acks(first, batch.message_count(), batch, errors);
}

Status Netlink::receive_acks(uint32_t first_seq, size_t count, const Batch& batch,
                             std::vector<std::pair<size_t, int>>* errors)
{
	std::vector<uint8_t> acked(count, 0);
	size_t outstanding = count;
	std::string message;
	int first_error = 0;
	bool saw_error = false;

	while (outstanding > 0) {
		// nfnetlink processes the batch inside sendmsg, so the replies are
		// already queued. After an error the kernel may stop early (fatal
		// batch errors are reported once, for the offending message), so
		// then we only drain what is there; otherwise wait (bounded).
		pollfd pfd{mnl_socket_get_fd(sock_.get()), POLLIN, 0};
		int pr = poll(&pfd, 1, saw_error ? 0 : 5000);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			break;
		ssize_t n = recv(mnl_socket_get_fd(sock_.get()), rx_.data(), rx_.size(), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			int err = errno;
			// ENOBUFS: the receive queue overflowed and ACKs were lost; the
			// outcome of the transaction is unknown to us.
			return Status::failure(err, describe_error("receive nf_tables ACKs", err));
		}
		size_t len = static_cast<size_t>(n);
		for (auto* nlh = reinterpret_cast<const nlmsghdr*>(rx_.data()); NLMSG_OK(nlh, len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_pid != portid_ && nlh->nlmsg_pid != 0)
				continue; // not addressed to us (cannot happen on a bound unicast socket)
			if (nlh->nlmsg_type != NLMSG_ERROR)
				continue; // nf_tables may echo objects with NLM_F_ECHO; we never ask
			const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(nlh));
			uint32_t seq = e->msg.nlmsg_seq;
			if (seq < first_seq || seq >= first_seq + count) {
				// The batch begin/end (seq first-1 / first+count) are
				// acknowledged only on fatal framing errors.
				if (e->error != 0) {
					saw_error = true;
					if (!first_error)
						first_error = -e->error;
					message += (message.empty() ? "" : "; ") +
					           describe_error("nf_tables batch framing", -e->error);
				}
				continue;
			}
			size_t index = seq - first_seq;
			if (acked[index])
				continue;
			acked[index] = 1;
			--outstanding;
			if (e->error != 0) {
				int err = -e->error;
				saw_error = true;
				if (!first_error)
					first_error = err;
				if (errors)
					errors->emplace_back(index, err);
				message += (message.empty() ? "" : "; ") + describe_error(batch.what(index), err);
				std::string ext = extack_message(nlh);
				if (!ext.empty())
					message += " (kernel: " + ext + ")";
			}
		}
	}
	if (saw_error)
		return Status::failure(first_error, message + " (transaction aborted, nothing applied)");
	if (outstanding > 0)
		return Status::failure(ETIMEDOUT, "no ACK from the kernel for " + std::to_string(outstanding) + " of " +
		                                      std::to_string(count) + " nf_tables messages");
	return Status::success();
}

namespace {
struct DumpContext {
	const std::function<bool(const nlmsghdr*)>* on_message;
	bool stopped = false;
	std::exception_ptr thrown;
};

// Called from mnl_cb_run (C): an exception (bad_alloc while collecting a
// large dump) must not unwind through it, so it is carried out and
// rethrown once mnl_cb_run has returned.
int dump_cb(const nlmsghdr* nlh, void* data) noexcept
{
	auto* ctx = static_cast<DumpContext*>(data);
	try {
		if (!(*ctx->on_message)(nlh)) {
			ctx->stopped = true;
			return MNL_CB_ERROR;
		}
	} catch (...) {
		ctx->thrown = std::current_exception();
		ctx->stopped = true;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}
} // namespace

Status Netlink::dump(const std::function<nlmsghdr*(char* buf, uint32_t seq)>& build,
                     const std::function<bool(const nlmsghdr*)>& on_message, const std::string& what)
{
	if (!sock_)
		return Status::failure(EBADF, "netlink socket is not open");
	// Replies left over from an earlier exchange (there should be none)
	// would fail the sequence check below; drop them first.
	{
		pollfd pfd{mnl_socket_get_fd(sock_.get()), POLLIN, 0};
		while (poll(&pfd, 1, 0) > 0 &&
		       recv(mnl_socket_get_fd(sock_.get()), rx_.data(), rx_.size(), MSG_DONTWAIT) > 0) {
		}
	}
	std::vector<char> req(MNL_SOCKET_BUFFER_SIZE, 0);
	uint32_t seq = ++seq_;
	nlmsghdr* nlh = build(req.data(), seq);
	if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
		int err = errno;
		return Status::failure(err, describe_error(what, err));
	}
	DumpContext ctx{&on_message};
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(sock_.get(), rx_.data(), rx_.size());
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int err = errno;
			return Status::failure(err, describe_error(what, err));
		}
		// mnl_cb_run checks the sequence number and port id of every reply.
		int ret = mnl_cb_run(rx_.data(), static_cast<size_t>(n), seq, portid_, dump_cb, &ctx);
		if (ctx.thrown) {
			pollfd pfd{mnl_socket_get_fd(sock_.get()), POLLIN, 0};
			while (poll(&pfd, 1, 0) > 0 &&
			       recv(mnl_socket_get_fd(sock_.get()), rx_.data(), rx_.size(), MSG_DONTWAIT) > 0) {
			}
			std::rethrow_exception(ctx.thrown);
		}
		if (ret == MNL_CB_STOP)
			return Status::success();
		if (ret < 0) {
			if (ctx.stopped)
				return Status::failure(EPROTO, what + ": malformed reply from the kernel");
			int err = errno;
			// Drain the rest of a multipart dump so the next request does
			// not read stale replies.
			pollfd pfd{mnl_socket_get_fd(sock_.get()), POLLIN, 0};
			while (poll(&pfd, 1, 0) > 0 &&
			       recv(mnl_socket_get_fd(sock_.get()), rx_.data(), rx_.size(), MSG_DONTWAIT) > 0) {
			}
			return Status::failure(err, describe_error(what, err));
		}
		// MNL_CB_OK: a plain GET is answered by one message without
		// NLMSG_DONE.
		if (!(nlh->nlmsg_flags & NLM_F_DUMP))
			return Status::success();
	}
}

} // namespace sipguard::rules
