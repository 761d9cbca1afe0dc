// SPDX-License-Identifier: GPL-2.0-or-later
// NETLINK_NETFILTER socket and nf_tables transaction batches with per-message ACK checking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rules/mnl_socket.h"
#include "rules/status.h"

struct nlmsghdr;

namespace sipguard::rules {

// One nf_tables transaction: NFNL_MSG_BATCH_BEGIN, messages, NFNL_MSG_BATCH_END.
// The kernel applies all messages or none (nfnetlink_rcv_batch aborts the
// whole transaction when any message fails), so a batch is the unit of
// atomicity. Each message remembers a description used in error messages.
class Batch {
public:
	Batch();
	Batch(Batch&&) noexcept = default;
	Batch& operator=(Batch&&) noexcept = default;
	Batch(const Batch&) = delete;
	Batch& operator=(const Batch&) = delete;

	// Room at the tail for one message of at most `max_len` bytes; the
	// caller builds the message there (nftnl_nlmsg_build_hdr + payload) and
	// then calls commit_message. Pointers stay valid until the next reserve.
	char* reserve(size_t max_len);
	// Accounts for the message just built at the reserved tail.
	void commit_message(std::string what);

	size_t message_count() const { return what_.size(); }
	size_t byte_size() const { return len_; }
	bool empty() const { return what_.empty(); }

	// Used by Netlink::commit: stamps sequence numbers and frames the batch.
	struct Framed {
		std::vector<char> bytes;
		uint32_t first_seq = 0; // seq of the first real message (begin is first_seq - 1)
	};
	Framed frame(uint32_t first_seq) const;
	const std::string& what(size_t index) const { return what_[index]; }

	// Message bytes without batch framing (unit tests inspect these).
	const char* data() const { return buf_.data(); }

private:
	std::vector<char> buf_;
	size_t len_ = 0;
	std::vector<std::string> what_;
};

// Owns an mnl_socket bound to NETLINK_NETFILTER in the network namespace of
// the thread that calls open(). Not thread-safe; one owner thread at a time.
class Netlink {
public:
	Status open();
	bool is_open() const { return sock_ != nullptr; }
	uint32_t portid() const { return portid_; }

	// Sends the batch in one sendmsg and consumes every reply. The kernel
	// processes the whole batch inside sendmsg, so all ACKs/errors are queued
	// when it returns. Every message carries NLM_F_ACK; success requires an
	// ACK with error 0 for every sequence number, from the kernel (port 0).
	// On failure the message names each failing message and strerror.
	// `errors`, when given, receives (message index, errno) for each failure.
	Status commit(const Batch& batch, std::vector<std::pair<size_t, int>>* errors = nullptr);

	// A GET request with NLM_F_DUMP (or a plain GET); `build` fills the
	// message at the given buffer and returns it. `on_message` is called for
	// each reply (until NLMSG_DONE) and returns false to stop with EPROTO.
	Status dump(const std::function<nlmsghdr*(char* buf, uint32_t seq)>& build,
	            const std::function<bool(const nlmsghdr*)>& on_message, const std::string& what);

private:
	Status receive_acks(uint32_t first_seq, size_t count, const Batch& batch,
	                    std::vector<std::pair<size_t, int>>* errors);

	MnlSocket sock_;
	uint32_t portid_ = 0;
	uint32_t seq_ = 0;
	std::vector<char> rx_;
};

} // namespace sipguard::rules
