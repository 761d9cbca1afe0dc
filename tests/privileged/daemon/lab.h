// SPDX-License-Identifier: GPL-2.0-or-later
// A pbx namespace for the daemon and a client namespace sending from many
// source addresses: probes that only the kernel's ban drop can stop, SIP
// that the daemon inspects, and the kernel read back against the agent.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/util/json.h"
#include "rules/netlink.h"
#include "rules/projection.h"
#include "rules/reconcile.h"
#include "rules/table.h"
#include "tests/privileged/netns.h"

namespace sipguard::test {

// The client's veth carries every source address (/32, /128) and permanent
// neighbour entries for the pbx, so no ban can stall neighbour discovery;
// the pbx has reverse-path filtering off. Only test ranges, only inside the
// two namespaces, both deleted with the lab.
class DaemonLab {
public:
	static constexpr const char* kPbx4 = "198.18.0.2";
	static constexpr const char* kPbx6 = "fd00:5b::2";
	// Not a SIP port: nothing queues it, only prerouting's ban drop decides.
	static constexpr uint16_t kProbePort = 4000;

	explicit DaemonLab(std::vector<std::string> sources);
	DaemonLab(const DaemonLab&) = delete;
	DaemonLab& operator=(const DaemonLab&) = delete;

	const Netns& pbx() const { return pbx_; }
	const Netns& client() const { return client_; }

	// `per_source` datagrams from each of `from` (default: every source) to
	// kProbePort; how many arrived from each. Bounded: waits at most 250 ms
	// past the last datagram.
	std::map<std::string, int> send_probes(const std::vector<std::string>& from = {}, int per_source = 2);
	// One SIP datagram from `from`:5070 to the pbx's port 5060.
	void send_sip(const std::string& from, const std::string& text);

	// A netlink socket in the pbx namespace, to read the table back.
	rules::Netlink& nl() { return nl_; }
	rules::QueueBackend backend() const { return backend_; }
	// What install_auto picks in this kernel (the daemon's table has it).
	rules::DefragBackend defrag() const { return defrag_; }

private:
	Netns client_{"dlab-cli"};
	Netns pbx_{"dlab-pbx"};
	std::vector<std::string> sources_;
	rules::Netlink nl_;
	rules::QueueBackend backend_{};
	rules::DefragBackend defrag_{};
};

// Socket helpers for traffic between the lab's namespaces (open sockets
// inside an EnterNetns scope). Addresses are literals, v4 or v6.
bool is_v6(const std::string& addr);
sockaddr_storage make_addr(const std::string& addr, uint16_t port, socklen_t& len);
// A UDP socket bound to addr:port (SO_REUSEADDR); throws on failure.
int bound_udp(const std::string& addr, uint16_t port);
std::string source_of(const sockaddr_storage& ss);
struct Fd {
	int fd = -1;
	Fd() = default;
	Fd(const Fd&) = delete;
	Fd& operator=(const Fd&) = delete;
	~Fd();
};

// An OPTIONS as sipvicious sends it (User-Agent friendly-scanner): the
// scanner detector bans its source on the first one.
std::string scanner_options(const std::string& from, int seq);

// The agent's bans (a `bans --json` array) as projection records, expiring
// at their `until` (to the ms, as the agent's projection sees them).
std::vector<rules::BanRecord> records_of(const util::json::Value& bans);
// Which of `addrs` some ban in `bans` covers.
std::set<std::string> covered(const util::json::Value& bans, const std::vector<std::string>& addrs);

// Compares the pbx's table with `spec` and `records` (tolerating the
// seconds host elements are rounded up to, and a margin). The queue backend
// and the defrag mechanism are the lab's probes (the daemon's choice), not
// the spec's.
util::Result<rules::ReconcileReport> check_kernel(DaemonLab& lab, const rules::TableSpec& spec,
                                                   const std::vector<rules::BanRecord>& records);

} // namespace sipguard::test
