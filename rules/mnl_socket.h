// SPDX-License-Identifier: GPL-2.0-or-later
// The move-only owner of an mnl_socket (closed with it), for Netlink and Monitor.
#pragma once

#include <memory>

struct mnl_socket;

namespace sipguard::rules {

struct MnlSocketClose {
	void operator()(mnl_socket* sock) const noexcept; // mnl_socket_close
};
using MnlSocket = std::unique_ptr<mnl_socket, MnlSocketClose>;

} // namespace sipguard::rules
