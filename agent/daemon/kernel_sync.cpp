// SPDX-License-Identifier: GPL-2.0-or-later
// The records index, the writer jobs that bring the kernel to it (prefix
// sync, check + repair, table replacement) and the health they report. The
// restore at start-up is in kernel_restore.cpp.
#include "agent/daemon/kernel_sync.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <memory>
#include <optional>

#include <fmt/core.h>

#include "agent/daemon/runtime.h"
#include "agent/util/hash.h"
#include "agent/util/log.h"

namespace sipguard::daemon {

using namespace std::chrono_literals;

namespace {

double ms_since(std::chrono::steady_clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// The other spelling of a host that the kernel keys the same: a.b.c.d and
// ::ffff:a.b.c.d are one element of ban4 (rules/projection.h unmap_v4).
std::optional<net::Cidr> twin_of(const net::Cidr& host)
{
	if (host.base.is_v4()) {
		net::IpAddress m;
		m.family = net::Family::V6;
		m.bytes[10] = 0xff;
		m.bytes[11] = 0xff;
		std::memcpy(&m.bytes[12], host.base.bytes.data(), 4);
		return net::Cidr::host(m);
	}
	const net::Cidr v4 = rules::unmap_v4(host);
	if (v4 == host)
		return std::nullopt;
	return v4;
}

// What a check found, media pinholes put back included, for the log line and
// status.
std::string found_text(const rules::ReconcileReport& found, size_t media)
{
	if (media == 0)
		return found.summary();
	const std::string m = fmt::format("{} media pinhole{} missing (re-added from the call tracker)", media,
	                                  media == 1 ? "" : "s");
	return found.clean() ? m : found.summary() + "; " + m;
}

} // namespace

std::optional<util::TimePoint> KernelSync::twin_until_locked(const net::Cidr& host) const
{
	auto t = twin_of(host);
	if (!t)
		return std::nullopt;
	auto it = hosts_.find(*t);
	if (it == hosts_.end())
		return std::nullopt;
	return it->second;
}

void KernelSync::reset(const std::vector<engine::BanRecord>& active)
{
	std::lock_guard lock(index_mu_);
	hosts_.clear();
	prefixes_.clear();
	for (const auto& b : active)
		(b.target.is_host() ? hosts_ : prefixes_)[b.target] = b.until;
}

void KernelSync::set_table(const rules::TableSpec& spec, rules::QueueBackend backend)
{
	{
		std::lock_guard lock(table_mu_);
		spec_ = spec;
		backend_ = backend;
	}
	std::lock_guard lock(pin_mu_);
	if (!pins_)
		pins_ = std::make_unique<PinholeIndex>(spec.media_set_size, util::random_seed());
}

bool KernelSync::on_pinhole(const calls::PinholeUpdate& u)
{
	// One lock for the index and the request, so the index changes in the
	// order the kernel does.
	std::lock_guard lock(pin_mu_);
	if (pins_)
		pins_->update(u, u.at);
	if (!writer_)
		return true;
	if (u.op == calls::PinholeOp::Close)
		return writer_->close_pinhole(u.remote, u.local_port);
	return writer_->open_pinhole(u.remote, u.local_port, kernel_timeout(u.timeout));
}

// The index is read when the job runs, not when it was queued: every pinhole
// request queued since then runs after this job, and each one's own add or
// delete comes last, so what this adds is either still wanted or deleted
// again by the Close behind it.
size_t KernelSync::repair_media(rules::Netlink& nl, const std::string& cause)
{
	std::vector<rules::MediaElement> want;
	{
		std::lock_guard lock(pin_mu_);
		if (pins_)
			want = pins_->live(wall_now());
	}
	if (want.empty())
		return 0;
	std::vector<rules::ListedMedia> have;
	if (rules::Status st = rules::list_media(nl, have); !st) {
		LOG(Kernel, Error, "cannot list the media pinholes: {}", st.message);
		return 0;
	}
	auto key = [](const net::IpAddress& a, uint16_t port) { return std::pair{a, port}; };
	std::vector<std::pair<net::IpAddress, uint16_t>> held;
	held.reserve(have.size());
	for (const auto& m : have)
		held.push_back(key(m.addr, m.port));
	std::sort(held.begin(), held.end());
	std::erase_if(want, [&](const rules::MediaElement& m) {
		return std::binary_search(held.begin(), held.end(), key(m.addr, m.port));
	});
	if (want.empty())
		return 0;
	if (rules::Status st = rules::add_media(nl, want, false); !st) {
		LOG(Kernel, Error, "cannot re-add {} media pinholes the kernel lost ({}): {}", want.size(), cause, st.message);
		return 0;
	}
	return want.size();
}

std::pair<rules::TableSpec, rules::QueueBackend> KernelSync::table() const
{
	std::lock_guard lock(table_mu_);
	return {spec_, backend_};
}

std::vector<rules::BanRecord> KernelSync::records(bool prefixes_only) const
{
	std::lock_guard lock(index_mu_);
	return records_locked(prefixes_only);
}

std::vector<rules::BanRecord> KernelSync::records_locked(bool prefixes_only) const
{
	std::vector<rules::BanRecord> out;
	out.reserve(prefixes_.size() + (prefixes_only ? 0 : hosts_.size()));
	for (const auto& [target, until] : prefixes_)
		out.push_back({target, until});
	if (!prefixes_only)
		for (const auto& [target, until] : hosts_)
			out.push_back({target, until});
	return out;
}

bool KernelSync::on_ban(const engine::BanRecord& b, util::TimePoint now)
{
	std::lock_guard lock(index_mu_);
	if (b.target.is_host()) {
		hosts_[b.target] = b.until;
		const util::TimePoint until = std::max(b.until, twin_until_locked(b.target).value_or(b.until));
		return !writer_ || writer_->ban(b.target, kernel_timeout(until - now));
	}
	prefixes_[b.target] = b.until;
	return !writer_ || submit_prefix_sync_locked();
}

bool KernelSync::on_unban(const engine::BanRecord& b)
{
	std::lock_guard lock(index_mu_);
	if (b.target.is_host()) {
		hosts_.erase(b.target);
		if (!writer_)
			return true;
		// The same element still banned under its other spelling.
		if (auto twin = twin_until_locked(b.target))
			return writer_->ban(b.target, kernel_timeout(*twin - wall_now()));
		return writer_->unban(b.target);
	}
	prefixes_.erase(b.target);
	return !writer_ || submit_prefix_sync_locked();
}

// Prefixes overlap: only the projection of all of them may reach the
// interval sets, never one prefix on its own.
bool KernelSync::submit_prefix_sync_locked()
{
	auto superseded = std::make_shared<std::atomic<bool>>(false);
	bool queued = writer_->submit_job([this, snap = records_locked(true), superseded](rules::Netlink& nl) {
		if (!superseded->load())
			sync_prefixes(nl, snap);
	});
	if (!queued)
		return false;
	if (last_prefix_job_ && !check_since_prefix_job_)
		last_prefix_job_->store(true);
	last_prefix_job_ = std::move(superseded);
	check_since_prefix_job_ = false;
	return true;
}

// Writer thread.
void KernelSync::sync_prefixes(rules::Netlink& nl, const std::vector<rules::BanRecord>& prefixes)
{
	auto r = rules::sync_bans(nl, prefixes, rules::system_now, rules::BanScope::Prefixes, {kCheckTolerance});
	if (!r) {
		LOG(Kernel, Warning, "cannot bring the prefix ban sets to the records: {}; checking the table", r.error());
		request_check("a prefix ban could not be written (" + r.error() + ")", 0ms);
		return;
	}
	for (const auto& f : r->failures)
		LOG(Kernel, Error, "the kernel refused a prefix ban element: {}", f.message);
	if (!r->failures.empty()) {
		std::lock_guard lock(health_mu_);
		health_.in_sync = false;
		health_.divergent_elements = std::max(health_.divergent_elements, r->failures.size());
	}
	if (!r->transport.ok())
		request_check("writing prefix bans failed (" + r->transport.message + ")", 1000ms);
}

bool KernelSync::submit_check(std::string cause)
{
	if (!writer_ || check_job_queued_.exchange(true))
		return false;
	std::lock_guard lock(index_mu_);
	bool queued = writer_->submit_job([this, snap = records_locked(false), cause = std::move(cause)](
						  rules::Netlink& nl) { run_check(nl, snap, cause); });
	if (!queued) {
		check_job_queued_.store(false);
		return false;
	}
	check_since_prefix_job_ = true;
	return true;
}

void KernelSync::run_check(rules::Netlink& nl, const std::vector<rules::BanRecord>& records, const std::string& cause)
{
	check_job_queued_.store(false);
	const auto t0 = std::chrono::steady_clock::now();
	const auto [spec, backend] = table();
	auto r = rules::repair(nl, spec, backend, records, rules::system_now, {kCheckTolerance});
	const size_t media = r ? repair_media(nl, cause) : 0;
	note_check(r, cause, ms_since(t0), media);
}

void KernelSync::note_check(const util::Result<rules::RepairResult>& r, const std::string& cause, double ms,
                            size_t media)
{
	const util::TimePoint now = wall_now();
	std::unique_lock lock(health_mu_);
	health_.checked = true;
	health_.last_check = now;
	if (!r) {
		++health_.checks_failed;
		health_.in_sync = false;
		lock.unlock();
		LOG(Kernel, Error, "checking table inet sipguard failed ({}): {}; retrying in 1 s", cause, r.error());
		request_check("retry after a failed check", 1000ms);
		return;
	}
	const rules::ReconcileReport& found = r->found;
	const size_t failed = r->elements.failed() + r->invalid_records;
	// Ban elements that really differ, plus the fixed contents (sipports,
	// allow4/6) that count(Element) also holds.
	const size_t ban_diffs = found.elements.add.size() + found.elements.remove.size() - found.elements.retimed;
	const size_t elements = significant_elements(found.elements) + (found.count(rules::What::Element) - ban_diffs);
	// Elements the kernel refused last time and refuses again are not a
	// new difference: logged once, not counted as repairs every period.
	const bool same_refusals = failed > 0 && failed == last_failures_ && elements == failed;
	const bool repaired = !found.structure.empty() || (elements > 0 && !same_refusals) || media > 0;
	health_.in_sync = failed == 0;
	health_.divergent_elements = failed;
	if (repaired) {
		++health_.checks_repaired;
		for (size_t i = 0; i < kRepairLabels.size(); ++i)
			health_.repairs[i] +=
				kRepairLabels[i] == rules::What::Element ? elements + media : found.count(kRepairLabels[i]);
		health_.last_repair = fmt::format("{} ({})", found_text(found, media), cause);
		health_.last_repair_at = now;
	} else {
		++health_.checks_clean;
	}
	const bool refusals_changed = failed != last_failures_;
	last_failures_ = failed;
	lock.unlock();

	if (repaired)
		LOG(Kernel, Warning, "table inet sipguard differed from the ban records: {}; cause: {}; {} in {:.1f} ms{}",
		    found_text(found, media), cause,
		    r->reinstalled ? "reinstalled the table and restored every ban and pinhole" : "repaired the elements", ms,
		    failed ? fmt::format(" ({} element{} refused)", failed, failed == 1 ? "" : "s") : std::string());
	else if (cause != kPeriodicCause)
		LOG(Kernel, Info, "{}: table inet sipguard still matches the ban records", cause);
	if (refusals_changed || repaired)
		for (const auto& f : r->elements.failures)
			LOG(Kernel, Error, "the kernel refused a ban element: {}", f.message);
	if (!r->elements.transport.ok())
		request_check("retry after a netlink failure (" + r->elements.transport.message + ")", 1000ms);
}

util::Status KernelSync::replace_table(const rules::TableSpec& spec)
{
	if (!writer_)
		return util::Status::failure(ENOTCONN, "no rules writer");
	auto done = std::make_shared<std::promise<util::Status>>();
	std::future<util::Status> result = done->get_future();
	bool queued = writer_->submit_job([this, spec, done](rules::Netlink& nl) {
		util::Status st = rules::install(nl, spec, table().second);
		if (st.ok()) {
			std::lock_guard lock(table_mu_);
			spec_ = spec;
		}
		done->set_value(std::move(st));
	});
	if (!queued)
		return util::Status::failure(ESHUTDOWN, "the rules writer is stopping");
	return result.get();
}

void KernelSync::request_check(std::string cause, std::chrono::milliseconds delay)
{
	std::lock_guard lock(health_mu_);
	if (check_wanted_ && check_delay_ <= delay)
		return;
	check_wanted_ = true;
	check_cause_ = std::move(cause);
	check_delay_ = delay;
}

bool KernelSync::take_check_request(std::string& cause, std::chrono::milliseconds& delay)
{
	std::lock_guard lock(health_mu_);
	if (!check_wanted_)
		return false;
	check_wanted_ = false;
	cause = std::move(check_cause_);
	delay = check_delay_;
	return true;
}

KernelHealth KernelSync::health() const
{
	std::lock_guard lock(health_mu_);
	return health_;
}

} // namespace sipguard::daemon
