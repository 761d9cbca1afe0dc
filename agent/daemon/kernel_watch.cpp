// SPDX-License-Identifier: GPL-2.0-or-later
// Monitor events and timers to checks on the writer thread.
#include "agent/daemon/kernel_watch.h"

#include <algorithm>

#include <fmt/core.h>

#include "agent/daemon/kernel_sync.h"
#include "agent/util/log.h"

namespace sipguard::daemon {

namespace {

constexpr size_t kMaxCauses = 3;

int ms_until(KernelWatch::Clock::time_point now, KernelWatch::Clock::time_point t)
{
	auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - now).count();
	return static_cast<int>(std::clamp<int64_t>(ms, 0, 60000));
}

} // namespace

util::Status KernelWatch::open()
{
	return mon_.open();
}

void KernelWatch::schedule(Clock::time_point at)
{
	if (!due_ || at < *due_)
		due_ = at;
}

void KernelWatch::on_readable(Clock::time_point now)
{
	std::vector<rules::MonitorEvent> events;
	if (util::Status st = mon_.read(events); !st) {
		LOG(Kernel, Warning, "reading nf_tables notifications: {}; checking the table", st.message);
		causes_.push_back("the notification socket failed");
	}
	for (const auto& e : events) {
		std::string what = rules::describe(e);
		LOG(Kernel, Debug, "notification: {}", what);
		// The table's own deletion says it all: the chains, sets and rules
		// that went with it are counted, not listed.
		if (e.what == rules::What::Table && e.op == rules::MonitorEvent::Op::Deleted) {
			more_causes_ += causes_.size();
			causes_.assign(1, std::move(what));
			table_deleted_ = true;
		} else if (table_deleted_ ||
		           std::find(causes_.begin(), causes_.end(), what) != causes_.end()) {
			++more_causes_;
		} else {
			causes_.push_back(std::move(what));
		}
	}
	if (causes_.size() > kMaxCauses) {
		more_causes_ += causes_.size() - kMaxCauses;
		causes_.resize(kMaxCauses);
	}
	if (!events.empty() || !causes_.empty())
		schedule(now + kCheckDebounce);
}

std::string KernelWatch::take_cause()
{
	std::string s;
	for (const auto& c : causes_)
		s += (s.empty() ? "" : "; ") + c;
	if (more_causes_)
		s += fmt::format(" (and {} more notification{})", more_causes_, more_causes_ == 1 ? "" : "s");
	causes_.clear();
	more_causes_ = 0;
	table_deleted_ = false;
	return s;
}

int KernelWatch::run_due(Clock::time_point now)
{
	std::string asked;
	std::chrono::milliseconds delay{0};
	if (sync_.take_check_request(asked, delay)) {
		causes_.push_back(std::move(asked));
		schedule(now + delay);
	}
	if (due_ && now >= *due_) {
		std::string cause = take_cause();
		if (sync_.submit_check(cause.empty() ? std::string(kPeriodicCause) : cause)) {
			due_.reset();
			next_periodic_ = now + kCheckInterval;
		} else {
			// A check is queued and has not started: it will see what
			// these events changed, but check again after it for the log.
			if (!cause.empty())
				causes_.insert(causes_.begin(), std::move(cause));
			due_ = now + kCheckDebounce;
		}
	} else if (now >= next_periodic_) {
		if (sync_.submit_check(kPeriodicCause))
			next_periodic_ = now + kCheckInterval;
		else
			next_periodic_ = now + kCheckDebounce;
	}
	int wait = ms_until(now, next_periodic_);
	if (due_)
		wait = std::min(wait, ms_until(now, *due_));
	return wait;
}

} // namespace sipguard::daemon
