// SPDX-License-Identifier: GPL-2.0-or-later
// Watching nf_tables notifications for changes others make to `table inet sipguard` (reload, flush, deletions).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rules/mnl_socket.h"
#include "rules/status.h"

struct nlmsghdr;

namespace sipguard::rules {

// What an event or a reconcile finding is about; also the `what` label of
// the daemon's repair counters.
enum class What : uint8_t { Table, Chain, Rule, Set, Element };
std::string_view to_string(What what);

struct MonitorEvent {
	enum class Op : uint8_t {
		Deleted, // the object (or, for Element, `count` elements of set `name`) was removed
		Added,   // someone else added it: a rule in our chain, elements by hand
		Changed, // the table's flags changed (e.g. `flags dormant` switches the whole table off)
		Lost,    // the kernel dropped notifications (ENOBUFS): anything may have changed
	};
	Op op = Op::Deleted;
	What what = What::Table;
	std::string name;   // chain or set name; for a rule, its chain
	uint64_t handle = 0; // rule handle
	uint32_t count = 1;  // Element: elements in this event (coalesced per set within one read)
	uint32_t portid = 0; // netlink port that made the change (0: the kernel itself)
	// From the transaction's NFT_MSG_NEWGEN when it came in the same read:
	// the process that made the change, for the log ("nft", "firewalld").
	uint32_t pid = 0;
	std::string process;
};
std::string describe(const MonitorEvent& e);

// A NETLINK_NETFILTER socket subscribed to NFNLGRP_NFTABLES in the network
// namespace of the thread that opens it. Non-blocking: poll fd() for POLLIN,
// then read(). Reports only events about `table inet sipguard` that did not
// come from an ignored port (our own writer and repair sockets), so the
// daemon's own unbans do not echo back. Element expiry by the kernel's
// garbage collector sends no notification (tested), so it is never reported.
// Not thread-safe; one owner thread.
class Monitor {
public:
	Status open();
	bool is_open() const { return sock_ != nullptr; }
	int fd() const;

	// Changes made through this netlink port are not reported (pass each
	// rules::Netlink::portid() of the daemon's own sockets).
	void ignore_port(uint32_t portid);

	// Appends every pending event about our table to `out` without
	// blocking (EAGAIN ends the read; at most `max_messages` are consumed,
	// call again while fd() is readable). ENOBUFS becomes a Lost event
	// rather than an error: the daemon must reconcile.
	Status read(std::vector<MonitorEvent>& out, size_t max_messages = 65536);

	// Waits up to `timeout_ms` for the first event, then reads what is there.
	Status wait(int timeout_ms, std::vector<MonitorEvent>& out);

	// Exposed for unit tests: one notification message -> at most one event
	// (false when it is not about our table or comes from an ignored port).
	bool parse(const nlmsghdr* nlh, MonitorEvent& out) const;

private:
	MnlSocket sock_;
	std::vector<uint32_t> ignored_;
	std::vector<char> rx_;
};

} // namespace sipguard::rules
