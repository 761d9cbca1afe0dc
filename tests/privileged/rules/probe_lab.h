// SPDX-License-Identifier: GPL-2.0-or-later
// Two namespaces (client, pbx) where the client sends from many source addresses and the pbx counts what arrives from each.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/net/ip_address.h"
#include "rules/netlink.h"
#include "rules/table.h"
#include "tests/privileged/netns.h"

namespace sipguard::test {

// The client's veth carries every probe address (/32, /128); the pbx's
// address is the only destination. The client has permanent neighbour
// entries for the pbx, so no ban (not even ::/0) can hold datagrams back in
// neighbour discovery; the pbx has reverse-path filtering off, so sources
// outside its subnet are delivered. Everything lives in the two namespaces.
class ProbeLab {
public:
	static constexpr const char* kPbx4 = "198.51.100.2";
	static constexpr const char* kPbx6 = "fd00:5a::2";
	static constexpr uint16_t kPort = 5060;

	explicit ProbeLab(const std::vector<std::string>& probes);
	ProbeLab(const ProbeLab&) = delete;
	ProbeLab& operator=(const ProbeLab&) = delete;

	const Netns& pbx() const { return pbx_; }
	const Netns& client() const { return client_; }
	// Bound to the pbx namespace.
	rules::Netlink& nl() { return nl_; }
	rules::QueueBackend backend() const { return backend_; }

	// Sends `per_probe` datagrams from every probe address to the pbx and
	// returns how many arrived from each (bounded: waits at most about
	// 250 ms past the last datagram).
	std::map<std::string, int> send_all(int per_probe = 2);

private:
	Netns client_{"probe-cli"};
	Netns pbx_{"probe-pbx"};
	std::vector<std::string> probes_;
	rules::Netlink nl_;
	rules::QueueBackend backend_{};
};

} // namespace sipguard::test
