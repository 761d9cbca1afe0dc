// SPDX-License-Identifier: GPL-2.0-or-later
// Puts a SIP queue rule (queue 0, bypass) into a test namespace.
#pragma once

#include <string>

#include "tests/privileged/netns.h"

namespace sipguard::nfq {

// Bootstrap with iptables-nft (NFQUEUE through nft_compat) until rules::install lands.
inline void install_queue_rule(const test::Netns& ns, uint16_t port)
{
	std::string p = std::to_string(port);
	for (const char* tool : {"iptables-nft", "ip6tables-nft"}) {
		ns.must(std::string(tool) + " -A INPUT -p udp --dport " + p + " -j NFQUEUE --queue-num 0 --queue-bypass");
		ns.must(std::string(tool) + " -A OUTPUT -p udp --sport " + p + " -j NFQUEUE --queue-num 0 --queue-bypass");
	}
}

} // namespace sipguard::nfq
