// SPDX-License-Identifier: GPL-2.0-or-later
// The rules writer thread: collects ban/unban/pinhole requests from other threads and flushes them as batches.
#include "rules/writer.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <tuple>

#include "agent/util/log.h"
#include "rules/apply.h"
#include "rules/elements_internal.h"
#include "rules/projection.h"

namespace sipguard::rules {

Writer::Writer(Netlink nl, WriterConfig config, FailureHandler on_failure)
	: nl_(std::move(nl)), config_(config), on_failure_(std::move(on_failure)), portid_(nl_.portid())
{
	if (config_.max_batch == 0)
		config_.max_batch = 1;
	thread_ = std::thread([this] { run(); });
}

Writer::~Writer() { stop(); }

void Writer::stop()
{
	{
		std::lock_guard lock(mutex_);
		if (stopping_ && !thread_.joinable())
			return;
		stopping_ = true;
	}
	wake_.notify_all();
	if (thread_.joinable())
		thread_.join();
}

bool Writer::submit(const WriterRequest& request)
{
	{
		std::lock_guard lock(mutex_);
		if (stopping_ || queue_.size() >= config_.queue_capacity) {
			++stats_.rejected_full;
			return false;
		}
		queue_.push_back(request);
		++enqueued_;
		++stats_.submitted;
	}
	wake_.notify_one();
	return true;
}

bool Writer::ban(const net::Cidr& target, std::chrono::seconds timeout)
{
	return submit({WriterRequest::Op::Ban, target, 0, timeout});
}

bool Writer::unban(const net::Cidr& target) { return submit({WriterRequest::Op::Unban, target, 0, {}}); }

bool Writer::known(const net::IpAddress& addr, std::chrono::seconds timeout)
{
	return submit({WriterRequest::Op::Known, net::Cidr::host(addr), 0, timeout});
}

bool Writer::proven(const net::IpAddress& addr, std::chrono::seconds timeout)
{
	return submit({WriterRequest::Op::Proven, net::Cidr::host(addr), 0, timeout});
}

bool Writer::open_pinhole(const net::IpAddress& addr, uint16_t port, std::chrono::seconds timeout)
{
	return submit({WriterRequest::Op::OpenPinhole, net::Cidr::host(addr), port, timeout});
}

bool Writer::close_pinhole(const net::IpAddress& addr, uint16_t port)
{
	return submit({WriterRequest::Op::ClosePinhole, net::Cidr::host(addr), port, {}});
}

bool Writer::submit_job(Job job)
{
	{
		std::lock_guard lock(mutex_);
		if (stopping_)
			return false;
		jobs_.emplace_back(enqueued_, std::move(job));
		++jobs_submitted_;
	}
	wake_.notify_one();
	return true;
}

void Writer::flush()
{
	std::unique_lock lock(mutex_);
	uint64_t target = enqueued_, jobs_target = jobs_submitted_;
	wake_.notify_one();
	drained_.wait(lock, [&] { return (done_ >= target && jobs_done_ >= jobs_target) || !thread_.joinable(); });
}

WriterStats Writer::stats() const
{
	std::lock_guard lock(mutex_);
	return stats_;
}

namespace {

ElementOp to_op(const WriterRequest& r)
{
	ElementOp op;
	net::Cidr c = unmap_v4(r.target);
	op.target = net::Cidr{c.base.masked(c.prefix_len), c.prefix_len};
	op.timeout = r.timeout;
	switch (r.op) {
	case WriterRequest::Op::Ban:
		op.kind = ElementOp::Kind::Refresh;
		break;
	case WriterRequest::Op::Unban:
		op.kind = ElementOp::Kind::Delete;
		break;
	case WriterRequest::Op::OpenPinhole:
		op.kind = ElementOp::Kind::Refresh;
		op.is_media = true;
		op.port = r.port;
		break;
	case WriterRequest::Op::ClosePinhole:
		op.kind = ElementOp::Kind::Delete;
		op.is_media = true;
		op.port = r.port;
		break;
	case WriterRequest::Op::Known:
		op.kind = ElementOp::Kind::Refresh;
		op.is_known = true;
		break;
	case WriterRequest::Op::Proven:
		op.kind = ElementOp::Kind::Refresh;
		op.is_proven = true;
		break;
	}
	return op;
}

} // namespace

void Writer::apply(std::vector<WriterRequest>& requests)
{
	// Later requests for the same element win (ban then unban = unban):
	// keep only the last request per (set, key, port), in request order.
	std::vector<ElementOp> all;
	all.reserve(requests.size());
	for (const auto& r : requests)
		all.push_back(to_op(r));
	std::vector<size_t> order(all.size());
	for (size_t i = 0; i < order.size(); ++i)
		order[i] = i;
	auto key_less = [&](size_t a, size_t b) {
		const ElementOp& x = all[a];
		const ElementOp& y = all[b];
		return std::tie(x.is_media, x.is_known, x.is_proven, x.target.base.family, x.target.base.bytes, x.target.prefix_len, x.port) <
		       std::tie(y.is_media, y.is_known, y.is_proven, y.target.base.family, y.target.base.bytes, y.target.prefix_len, y.port);
	};
	std::stable_sort(order.begin(), order.end(), key_less);
	std::vector<uint8_t> keep(all.size(), 0);
	for (size_t i = 0; i < order.size(); ++i) {
		bool last_of_key = i + 1 == order.size() || key_less(order[i], order[i + 1]);
		if (last_of_key && all[order[i]].target.base.valid())
			keep[order[i]] = 1;
	}
	std::vector<ElementOp> ops;
	ops.reserve(all.size());
	for (size_t i = 0; i < all.size(); ++i)
		if (keep[i])
			ops.push_back(all[i]);

	// One op per element is left, so their order is free: group them per
	// set with deletions first, so that an unbanned prefix is gone before
	// a ban that overlaps it is added (an interval set refuses overlaps).
	std::stable_sort(ops.begin(), ops.end(), [](const ElementOp& a, const ElementOp& b) {
		int c = std::strcmp(set_name_of(a), set_name_of(b));
		if (c != 0)
			return c < 0;
		return (a.kind == ElementOp::Kind::Delete) > (b.kind == ElementOp::Kind::Delete);
	});

	auto t0 = std::chrono::steady_clock::now();
	// A refused transaction is halved down to the refused elements (say an
	// overlapping prefix), so they do not cost the others their ban.
	ApplyResult result = apply_robust(nl_, ops);
	uint64_t ns = static_cast<uint64_t>(
		std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
	if (result.transactions > 1)
		LOG(Rules, Warning, "batch of {} element operations: {} refused, {} transactions", ops.size(),
		    result.failed(), result.transactions);
	if (!result.transport.ok())
		LOG(Rules, Error, "writing elements: {}", result.transport.message);
	for (const FailedOp& f : result.failures) {
		const ElementOp& op = ops[f.index];
		// A full known or proven set refuses refreshes of new sources:
		// expected under load, counted in failed_elements, not logged one by one.
		if (!op.is_known && !op.is_proven)
			LOG(Rules, Error, "{}", f.message);
		if (on_failure_) {
			WriterRequest r{};
			r.op = op.is_known    ? WriterRequest::Op::Known
			     : op.is_proven ? WriterRequest::Op::Proven
			     : op.is_media ? (op.kind == ElementOp::Kind::Delete ? WriterRequest::Op::ClosePinhole
			                                                          : WriterRequest::Op::OpenPinhole)
			                   : (op.kind == ElementOp::Kind::Delete ? WriterRequest::Op::Unban
			                                                          : WriterRequest::Op::Ban);
			r.target = op.target;
			r.port = op.port;
			r.timeout = std::chrono::duration_cast<std::chrono::seconds>(op.timeout);
			on_failure_(r, f.message);
		}
	}
	uint64_t failed = result.failed();
	uint64_t ok = requests.size() - failed; // superseded duplicates count as done
	std::lock_guard lock(mutex_);
	++stats_.batches;
	stats_.elements += ok;
	stats_.failed_elements += failed;
	stats_.batch_latency_ns_last = ns;
	stats_.batch_latency_ns_sum += ns;
	stats_.batch_latency_ns_max = std::max(stats_.batch_latency_ns_max, ns);
}

void Writer::run()
{
	std::vector<WriterRequest> pending;
	for (;;) {
		Job job;
		{
			std::unique_lock lock(mutex_);
			wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !jobs_.empty(); });
			if (queue_.empty() && jobs_.empty() && stopping_)
				break;
			// Requests submitted before the first job go first; the job runs
			// once none of them is left, before anything submitted after it.
			uint64_t before_job = jobs_.empty() ? UINT64_MAX : jobs_.front().first - taken_;
			if (before_job == 0) {
				job = std::move(jobs_.front().second);
				jobs_.pop_front();
			} else {
				// Coalesce: wait up to flush_interval for more, unless enough
				// are pending to fill a batch (or we are stopping, flushing
				// or a job waits).
				auto deadline = std::chrono::steady_clock::now() + config_.flush_interval;
				auto full = [&] { return stopping_ || !jobs_.empty() || queue_.size() >= config_.max_batch; };
				while (!full() && wake_.wait_until(lock, deadline, full) == false) {
					if (std::chrono::steady_clock::now() >= deadline)
						break;
				}
				before_job = jobs_.empty() ? UINT64_MAX : jobs_.front().first - taken_;
				size_t n = std::min<uint64_t>({queue_.size(), config_.max_batch, before_job});
				pending.assign(queue_.begin(), queue_.begin() + static_cast<long>(n));
				queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
				taken_ += n;
			}
		}
		if (job) {
			try {
				job(nl_);
			} catch (const std::exception& e) {
				LOG(Rules, Error, "writer job failed: {}", e.what());
			}
			{
				std::lock_guard lock(mutex_);
				++jobs_done_;
				++stats_.jobs;
			}
			drained_.notify_all();
			continue;
		}
		apply(pending);
		{
			std::lock_guard lock(mutex_);
			done_ += pending.size();
		}
		drained_.notify_all();
	}
	drained_.notify_all();
}

} // namespace sipguard::rules
