// SPDX-License-Identifier: GPL-2.0-or-later
// Two namespaces, a client sending UDP from many source addresses and a pbx
// counting what arrives from each: the harness of the privileged tests that
// watch the kernel drop or pass traffic by source (rules/, daemon/).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "rules/netlink.h"
#include "rules/table.h"
#include "tests/privileged/netns.h"

namespace sipguard::test {

// The veth addresses of a lab: the client's (a /24 and a /64, besides the
// sources) and the pbx's, the only destination.
struct LabAddresses {
	const char* client4;
	const char* client6;
	const char* pbx4;
	const char* pbx6;
};

// The client's veth carries every source address (/32, /128) and permanent
// neighbour entries for the pbx, so no ban (not even ::/0) can hold
// datagrams back in neighbour discovery; the pbx has reverse-path filtering
// off, so sources outside its subnet are delivered. Only test ranges, only
// inside the two namespaces (`<tag>-cli`, `<tag>-pbx`), both deleted with
// the lab.
class SourceLab {
public:
	SourceLab(const std::string& tag, const LabAddresses& addresses, std::vector<std::string> sources);
	SourceLab(const SourceLab&) = delete;
	SourceLab& operator=(const SourceLab&) = delete;

	const Netns& pbx() const { return pbx_; }
	const Netns& client() const { return client_; }
	const std::vector<std::string>& sources() const { return sources_; }
	// A netlink socket bound to the pbx namespace, to read the table back.
	rules::Netlink& nl() { return nl_; }
	rules::QueueBackend backend() const { return backend_; }

	// `per_source` datagrams of `payload` from each of `from` (port 40000) to
	// the pbx's `port`; how many arrived from each. Bounded: waits at most
	// 250 ms past the last datagram.
	std::map<std::string, int> send_from_each(const std::vector<std::string>& from, uint16_t port,
	                                          std::string_view payload, int per_source);
	// One datagram from `from`:`sport` to the pbx's `port`.
	void send_one(const std::string& from, uint16_t sport, uint16_t port, std::string_view payload);

private:
	LabAddresses addresses_;
	Netns client_;
	Netns pbx_;
	std::vector<std::string> sources_;
	rules::Netlink nl_;
	rules::QueueBackend backend_{};
};

// Socket helpers for traffic between a lab's namespaces (open sockets inside
// an EnterNetns scope). Addresses are literals, v4 or v6.
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

} // namespace sipguard::test
