// SPDX-License-Identifier: GPL-2.0-or-later
// KernelSync::restore: the saved bans put back into the kernel at start-up,
// counted as restored only where the kernel holds them completely.
#include "agent/daemon/kernel_sync.h"

#include <chrono>

#include "agent/daemon/runtime.h"
#include "agent/util/log.h"

namespace sipguard::daemon {

using namespace std::chrono_literals;

namespace {

bool intersects(const net::Cidr& record, const rules::BanPiece& piece)
{
	const net::Cidr c = rules::unmap_v4(record);
	if (c.base.family != piece.first.family)
		return false;
	return c.contains(piece.first) || (piece.first <= c.base && c.base <= piece.last);
}

// Records the kernel does not hold completely after the restore: a refused
// piece leaves every record that projects onto part of it unenforced there.
size_t not_enforced(rules::Netlink& nl, const rules::TableSpec& spec, rules::QueueBackend backend,
                    const std::vector<rules::BanRecord>& records, const rules::RepairResult& r)
{
	if (r.elements.ok() && r.invalid_records == 0)
		return 0;
	auto rep = rules::reconcile(nl, spec, backend, records, rules::system_now(), {kCheckTolerance});
	if (!rep) {
		LOG(Kernel, Error, "cannot read back the restored bans: {}", rep.error());
		return records.size();
	}
	size_t n = 0;
	for (const auto& rec : records) {
		bool missing = !rec.target.base.valid();
		for (size_t i = 0; !missing && i < rep->elements.add.size(); ++i)
			missing = intersects(rec.target, rep->elements.add[i]);
		n += missing;
	}
	return n;
}

} // namespace

RestoreCount KernelSync::restore(rules::Netlink& nl)
{
	const std::vector<rules::BanRecord> snap = records(false);
	const auto [spec, backend] = table();
	const auto t0 = std::chrono::steady_clock::now();
	auto r = rules::repair(nl, spec, backend, snap, rules::system_now, {kCheckTolerance});
	RestoreCount c;
	{
		std::lock_guard lock(health_mu_);
		health_.checked = true;
		health_.last_check = wall_now();
		health_.in_sync = r.ok() && r->elements.ok() && r->invalid_records == 0;
		health_.divergent_elements = r.ok() ? r->elements.failed() + r->invalid_records : 0;
		if (!r.ok())
			++health_.checks_failed;
		last_failures_ = health_.divergent_elements;
	}
	if (!r) {
		LOG(Kernel, Error, "re-applying {} saved bans failed: {}", snap.size(), r.error());
		request_check("retry after the failed restore", 1000ms);
		c.failed = snap.size();
		return c;
	}
	for (const auto& f : r->elements.failures)
		LOG(Kernel, Error, "restore: the kernel refused a ban element: {}", f.message);
	if (!r->found.clean())
		LOG(Kernel, Debug, "restore: {} ({:.1f} ms)", r->found.summary(), std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
	c.failed = not_enforced(nl, spec, backend, snap, *r);
	c.restored = snap.size() - c.failed;
	return c;
}

} // namespace sipguard::daemon
