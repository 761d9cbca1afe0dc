// SPDX-License-Identifier: GPL-2.0-or-later
// Config hand-over between threads, ban events to the kernel and followers,
// reload requests.
#include "agent/daemon/runtime.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace sipguard::daemon {

util::TimePoint wall_now()
{
	return std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now());
}

std::chrono::seconds kernel_timeout(std::chrono::nanoseconds d)
{
	auto s = std::chrono::ceil<std::chrono::seconds>(d);
	return s.count() < 1 ? std::chrono::seconds(1) : s;
}

util::Status ReloadRequests::open()
{
	fd_ = util::UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!fd_)
		return util::Status::failure(errno, util::describe_errno("eventfd", errno));
	return util::Status::success();
}

std::future<std::string> ReloadRequests::request()
{
	std::future<std::string> f;
	{
		std::lock_guard lock(mu_);
		waiters_.emplace_back();
		f = waiters_.back().get_future();
	}
	uint64_t one = 1;
	[[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof(one));
	return f;
}

std::vector<std::promise<std::string>> ReloadRequests::take()
{
	uint64_t v;
	[[maybe_unused]] ssize_t r = ::read(fd_.get(), &v, sizeof(v));
	std::vector<std::promise<std::string>> out;
	std::lock_guard lock(mu_);
	out.swap(waiters_);
	return out;
}

ConfigPtr Runtime::config() const
{
	std::lock_guard lock(cfg_mu_);
	return config_;
}

void Runtime::set_config(ConfigPtr next)
{
	{
		std::lock_guard lock(cfg_mu_);
		config_ = std::move(next);
	}
	config_version.fetch_add(1, std::memory_order_release);
}

void Runtime::on_ban(const engine::BanRecord& b)
{
	const util::TimePoint now = wall_now();
	if (!kernel.on_ban(b, now))
		counters.writer_rejected.fetch_add(1, std::memory_order_relaxed);
	counters.bans_total.fetch_add(1, std::memory_order_relaxed);
	state_dirty.store(true, std::memory_order_relaxed);
	publish(engine::ban_event(b.prefix ? "prefix_ban" : "ban", b, now));
}

void Runtime::on_unban(const engine::BanRecord& b, engine::UnbanCause cause)
{
	if (!kernel.on_unban(b))
		counters.writer_rejected.fetch_add(1, std::memory_order_relaxed);
	counters.unbans_total.fetch_add(1, std::memory_order_relaxed);
	state_dirty.store(true, std::memory_order_relaxed);
	// The same fields as the ban log's line (duration_s of the ban that ended).
	publish(engine::ban_event(cause == engine::UnbanCause::Expired ? "expire" : "unban", b, wall_now()));
}

void Runtime::publish(const engine::BanLogEvent& e)
{
	if (has_followers())
		control->publish(engine::format_json(e));
}

void Runtime::flush_rules()
{
	if (writer)
		writer->flush();
}

std::vector<nfq::KernelQueueStats> Runtime::kernel_queue_stats() const
{
	auto read = nfq::read_proc_queue_stats();
	if (!read)
		return {};
	std::vector<nfq::KernelQueueStats> all = std::move(*read);
	const uint32_t base = config()->daemon().queue_base;
	std::erase_if(all, [&](const nfq::KernelQueueStats& k) {
		return k.queue_num < base || k.queue_num >= base + queues.size();
	});
	return all;
}

// A queue thread that ended (fatal socket error) unbinds its queue; its SIP
// then passes uninspected through the bypass. The kernel's list of bound
// queues shows it (the main loop ends the daemon after three misses in a row,
// a second apart, so that systemd's Restart=on-failure starts a whole one).
bool Runtime::queues_bound() const
{
	auto read = nfq::read_proc_queue_stats();
	if (!read)
		return true; // cannot tell; never stop on an unreadable /proc
	const std::vector<nfq::KernelQueueStats>& ks = *read;
	for (size_t i = 0; i < queues.size(); ++i) {
		const nfq::Queue& q = queues.queue(i);
		auto bound = [&q](const nfq::KernelQueueStats& k) {
			return k.queue_num == q.config().queue_num && k.peer_portid == q.portid();
		};
		if (std::none_of(ks.begin(), ks.end(), bound))
			return false;
	}
	return true;
}

} // namespace sipguard::daemon
