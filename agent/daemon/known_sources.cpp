// SPDX-License-Identifier: GPL-2.0-or-later
// One queue thread's feed of the pre-filter's known sets, rate-limited per source.
#include "agent/daemon/known_sources.h"

#include "agent/daemon/config.h"
#include "agent/net/ip_address.h"

namespace sipguard::daemon {

KnownSources::Settings KnownSources::settings_of(const Config& cfg)
{
	const auto& pf = cfg.daemon().prefilter;
	Settings s;
	s.enabled = pf.enabled;
	s.timeout = std::chrono::ceil<std::chrono::seconds>(pf.known_timeout);
	s.refresh = pf.refresh;
	return s;
}

KnownSources::Settings KnownSources::proven_settings_of(const Config& cfg)
{
	Settings s = settings_of(cfg);
	s.timeout = std::chrono::ceil<std::chrono::seconds>(cfg.daemon().prefilter.proven_timeout);
	return s;
}

void KnownSources::touch(const net::IpAddress& addr, util::TimePoint now)
{
	if (!settings_.enabled || !send_)
		return;
	const uint64_t h = net::hash_address(addr, seed_);
	Slot& slot = slots_[h % kSlots];
	if (slot.addr == addr && now - slot.at < settings_.refresh && now >= slot.at)
		return;
	if (!send_(addr, settings_.timeout)) {
		rejected.add();
		return;
	}
	slot.addr = addr;
	slot.at = now;
	sent.add();
}

} // namespace sipguard::daemon
