// SPDX-License-Identifier: GPL-2.0-or-later
// The queue threads: one shard per thread, each reading its queue of the
// unknown sources' range and, with the pre-filter, its queue of the known
// sources' range.
#include "agent/daemon/queue_threads.h"

#include <memory>
#include <vector>

#include "agent/util/hash.h"

namespace sipguard::daemon {

util::Status start_queue_threads(Runtime& rt, const Config& cfg, std::atomic<bool>& stop)
{
	const DaemonSettings& d = cfg.daemon();
	std::vector<nfq::QueueConfig> qcfgs;
	std::vector<nfq::Handler*> handlers;
	rt.call_limits = std::make_unique<calls::SharedLimits>(cfg.calls().max_tracked_users, cfg.calls().trunks.size(),
	                                                        util::random_seed());
	for (unsigned i = 0; i < d.queues; ++i) {
		nfq::QueueConfig q;
		q.queue_num = static_cast<uint16_t>(d.queue_base + i);
		q.max_len = d.queue_maxlen;
		// With the pre-filter this is the unknown sources' range: they must
		// never pass uninspected, and the kernel's fail-open is per queue.
		q.fail_open = d.fail_open && !d.prefilter.enabled;
		qcfgs.push_back(q);
		calls::Config cc = cfg.calls();
		cc.hash_seed ^= util::random_seed();
		rt.shards.push_back(std::make_unique<Shard>(rt, cc, util::random_seed()));
		handlers.push_back(rt.shards.back().get());
	}
	// The known sources' range (rules::known_queue_base): the same hash puts
	// an address at the same offset, so thread i reads queues i and Q+i.
	if (d.prefilter.enabled)
		for (unsigned i = 0; i < d.queues; ++i) {
			nfq::QueueConfig q = qcfgs[i];
			q.queue_num = static_cast<uint16_t>(d.queue_base + d.queues + i);
			q.fail_open = d.fail_open;
			qcfgs.push_back(q);
		}
	if (util::Status st = rt.queues.open(qcfgs, d.queues); !st)
		return util::Status::failure(st.error, "cannot bind the queues: " + st.message);
	if (util::Status st = rt.queues.start(handlers, stop); !st)
		return util::Status::failure(st.error, "cannot start the queue threads: " + st.message);
	return util::Status::success();
}

} // namespace sipguard::daemon
