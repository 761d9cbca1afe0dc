// SPDX-License-Identifier: GPL-2.0-or-later
// Restore at start-up and save on change, between the ban manager, the state
// file (persistence.h) and the kernel's ban sets.
#include "agent/daemon/saved_bans.h"

#include <chrono>
#include <filesystem>
#include <vector>

#include "agent/daemon/persistence.h"
#include "agent/daemon/runtime.h"
#include "agent/util/log.h"
#include "rules/elements.h"

namespace sipguard::daemon {

std::string state_file_path(const Runtime& rt)
{
	return (std::filesystem::path(rt.config()->daemon().state_dir) / kStateFileName).string();
}

void restore_saved_bans(Runtime& rt, rules::Netlink& nl)
{
	const auto t0 = std::chrono::steady_clock::now();
	const int64_t now_ms = unix_now_ms();
	const util::TimePoint now = from_unix_ms(now_ms);
	auto loaded = read_state(state_file_path(rt), now_ms);
	if (!loaded) {
		LOG(Daemon, Error, "cannot restore state: {}; starting without saved bans", loaded.error());
		return;
	}
	for (const auto& w : loaded->warnings)
		LOG(Daemon, Warning, "state file: {}", w);
	if (!loaded->found)
		return;
	const auto t_read = std::chrono::steady_clock::now();

	// The listener is not attached yet, so restore() announces nothing; the
	// kernel gets every ban in as few transactions as rules/ allows (one per
	// 16384 elements), each atomic, instead of one writer batch per 4096.
	rt.bans->restore(to_ban_snapshot(loaded->state, now_ms), now);
	std::vector<rules::BanElement> elems;
	for (const auto& b : rt.bans->active(now))
		elems.push_back({b.target, kernel_timeout(b.until - now)});
	const auto t_manager = std::chrono::steady_clock::now();
	rules::Status st = rules::add_bans(nl, elems, true);
	auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
	const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	rt.restore_seconds.observe(dt);
	rt.restored_bans = elems.size();
	rt.restore_ms = dt * 1000;
	if (!st)
		LOG(Daemon, Error, "re-applying {} saved bans failed: {}", elems.size(), st.message);
	else
		LOG(Daemon, Info,
		    "restored {} bans ({} expired while stopped) and {} offence histories in {:.1f} ms "
		    "(read {:.1f} ms, ban manager {:.1f} ms, kernel {:.1f} ms)",
		    elems.size(), loaded->expired_dropped, loaded->state.offences.size(), rt.restore_ms, ms(t0, t_read),
		    ms(t_read, t_manager), ms(t_manager, std::chrono::steady_clock::now()));
}

bool save_bans(Runtime& rt, const char* why)
{
	const std::string path = state_file_path(rt);
	const util::TimePoint now = wall_now();
	SavedState s = to_saved_state(rt.bans->snapshot(now), now);
	if (util::Status st = write_state(path, s); !st) {
		rt.counters.save_errors.fetch_add(1, std::memory_order_relaxed);
		LOG(Daemon, Error, "cannot save state: {}", st.message);
		return false;
	}
	rt.counters.saves.fetch_add(1, std::memory_order_relaxed);
	LOG(Daemon, Debug, "saved {} bans and {} offence histories to {} ({})", s.bans.size(), s.offences.size(), path,
	    why);
	return true;
}

} // namespace sipguard::daemon
