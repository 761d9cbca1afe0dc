// SPDX-License-Identifier: GPL-2.0-or-later
// The host's own addresses, read through rtnetlink (RTM_GETADDR) and watched
// for changes (RTNLGRP_IPV4_IFADDR/IPV6_IFADDR), so no ban ever covers them.
#pragma once

#include <vector>

#include "agent/net/ip_address.h"
#include "agent/util/status.h"
#include "agent/util/unique_fd.h"

namespace sipguard::host {

// Every address configured on any interface of the current network namespace
// (loopback included), sorted and without duplicates.
util::Result<std::vector<net::IpAddress>> read_local_addresses();

// A non-blocking rtnetlink socket subscribed to address changes. Poll fd()
// for readability, then drain(): true when an address was added or removed
// (or the kernel dropped notifications), so the caller re-reads the list.
class AddressWatcher {
public:
	util::Status open();
	int fd() const { return fd_.get(); }
	bool drain();

private:
	util::UniqueFd fd_;
};

} // namespace sipguard::host
