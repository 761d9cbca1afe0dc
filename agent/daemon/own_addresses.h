// SPDX-License-Identifier: GPL-2.0-or-later
// Keeps the ban manager's list of this host's addresses current: read at
// start, re-read whenever rtnetlink reports an address change.
#pragma once

#include "agent/engine/ban_manager.h"
#include "agent/host/addresses.h"

namespace sipguard::daemon {

class OwnAddresses {
public:
	// Subscribes first, then reads, so no change falls in between. Failures
	// are logged: the other safety rails still hold without this list.
	void start(engine::BanManager& bans);
	// -1 when the subscription failed (poll ignores it).
	int fd() const { return watcher_.fd(); }
	// The fd is readable: re-read the list if an address changed.
	void on_readable(engine::BanManager& bans);

private:
	void read(engine::BanManager& bans);

	host::AddressWatcher watcher_;
};

} // namespace sipguard::daemon
