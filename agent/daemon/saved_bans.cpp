// SPDX-License-Identifier: GPL-2.0-or-later
// Restore at start-up and save on change, between the ban manager, the state
// file (persistence.h) and the kernel's ban sets.
#include "agent/daemon/saved_bans.h"

#include <chrono>
#include <filesystem>
#include <vector>

#include <fmt/core.h>

#include "agent/daemon/persistence.h"
#include "agent/daemon/runtime.h"
#include "agent/util/log.h"

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
	if (!loaded)
		LOG(Daemon, Error, "cannot restore state: {}; starting without saved bans", loaded.error());
	else
		for (const auto& w : loaded->warnings)
			LOG(Daemon, Warning, "state file: {}", w);
	if (!loaded || !loaded->found) {
		// Nothing to restore, but the table may hold elements from an
		// earlier run (install keeps them): the kernel follows the records.
		rt.kernel.reset({});
		(void)rt.kernel.restore(nl);
		return;
	}
	const auto t_read = std::chrono::steady_clock::now();

	// The listener is not attached yet, so restore() announces nothing. The
	// kernel gets the projection of the records through repair(): overlapping
	// prefixes become non-overlapping pieces, and an element the kernel
	// refuses costs only itself (rules/apply.h), never the whole restore.
	// The manager logs each ban the safety rails refuse now, with the reason.
	const engine::RestoreResult restored = rt.bans->restore(to_ban_snapshot(loaded->state, now_ms), now);
	rt.restore_refused = restored.refused;
	rt.kernel.reset(rt.bans->active(now));
	const auto t_manager = std::chrono::steady_clock::now();
	const RestoreCount c = rt.kernel.restore(nl);
	auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
	const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	rt.restore_seconds.observe(dt);
	rt.restored_bans = c.restored;
	rt.restore_failed = c.failed + loaded->bad_bans;
	rt.restore_ms = dt * 1000;
	const std::string failed =
		rt.restore_failed ? fmt::format(", {} failed: {} unreadable in the state file, {} not enforced by the kernel",
		                                rt.restore_failed, loaded->bad_bans, c.failed)
		                  : std::string();
	const std::string refused =
		rt.restore_refused ? fmt::format(", {} refused by the safety rails", rt.restore_refused) : std::string();
	const std::string line = fmt::format(
		"restored {} bans ({} expired while stopped{}{}) and {} offence histories in {:.1f} ms "
		"(read {:.1f} ms, ban manager {:.1f} ms, kernel {:.1f} ms)",
		c.restored, loaded->expired_dropped + restored.expired, failed, refused, loaded->state.offences.size(),
		rt.restore_ms, ms(t0, t_read), ms(t_read, t_manager), ms(t_manager, std::chrono::steady_clock::now()));
	if (rt.restore_failed || rt.restore_refused)
		LOG(Daemon, Warning, "{}", line);
	else
		LOG(Daemon, Info, "{}", line);
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
