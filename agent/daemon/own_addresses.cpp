// SPDX-License-Identifier: GPL-2.0-or-later
// This host's addresses for the ban safety rails.
#include "agent/daemon/own_addresses.h"

#include "agent/daemon/runtime.h"
#include "agent/util/log.h"

namespace sipguard::daemon {

void OwnAddresses::start(engine::BanManager& bans)
{
	if (util::Status st = watcher_.open(); !st)
		LOG(Daemon, Warning, "cannot watch this host's addresses: {}", st.message);
	read(bans);
}

void OwnAddresses::on_readable(engine::BanManager& bans)
{
	if (watcher_.drain())
		read(bans);
}

void OwnAddresses::read(engine::BanManager& bans)
{
	auto addrs = host::read_local_addresses();
	if (!addrs) {
		LOG(Daemon, Warning, "cannot read this host's addresses: {}", addrs.error());
		return;
	}
	const size_t n = addrs->size();
	if (size_t lifted = bans.set_own_addresses(std::move(*addrs), wall_now()))
		LOG(Daemon, Warning, "{} ban(s) covered an address of this host and were lifted", lifted);
	LOG(Daemon, Debug, "{} addresses of this host are never banned", n);
}

} // namespace sipguard::daemon
