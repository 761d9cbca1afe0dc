// SPDX-License-Identifier: GPL-2.0-or-later
// FraudService: the guard's lifecycle in the daemon, its ban-log lines and
// its state files.
#include "agent/daemon/fraud_service.h"

#include <sys/stat.h>

#include <filesystem>

#include <fmt/core.h>

#include "agent/config/loader.h"
#include "agent/daemon/config.h"
#include "agent/daemon/persistence.h"
#include "agent/daemon/runtime.h"
#include "agent/util/hash.h"
#include "agent/util/log.h"

namespace sipguard::daemon {

namespace {

std::string state_path(const Runtime& rt, const char* name)
{
	return (std::filesystem::path(rt.config()->daemon().state_dir) / name).string();
}

} // namespace

FraudLogLine fraud_log_line(const fraud::Event& e)
{
	return FraudLogLine{engine::fraud_reason(e), e.to_json(), e.to_text()};
}

void FraudService::on_fraud(const fraud::Event& e)
{
	const FraudLogLine l = fraud_log_line(e);
	engine::BanLogEvent ev;
	ev.ts = e.when;
	ev.event = "fraud";
	ev.target = net::Cidr{e.source, static_cast<uint8_t>(e.source.max_prefix())};
	ev.detector = "fraud";
	ev.reason = l.reason;
	ev.evidence_json = l.evidence_json;
	ev.evidence_text = l.evidence_text;
	if (e.verdict == fraud::Verdict::DenyAndLock && e.reason != fraud::Reason::Locked) {
		ev.duration_s = std::chrono::duration_cast<std::chrono::seconds>(e.lock_duration).count();
		ev.offence_count = e.lock_step;
	}
	if (rt_.ban_log)
		rt_.ban_log->write(ev);
	rt_.publish(ev);
}

FraudService::FraudService(Runtime& rt) : rt_(rt), seed_(util::random_seed()) {}

fraud::Config FraudService::seeded(const fraud::Config& c) const
{
	fraud::Config out = c;
	out.hash_seed = seed_;
	return out;
}

std::vector<FraudService::FileStamp> FraudService::stamp(const std::vector<std::string>& paths)
{
	std::vector<FileStamp> out;
	for (const std::string& p : paths) {
		FileStamp s{p};
		struct stat st {};
		if (::stat(p.c_str(), &st) == 0) {
			s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
			s.size = static_cast<int64_t>(st.st_size);
		}
		out.push_back(std::move(s));
	}
	return out;
}

util::Status FraudService::start(const Config& cfg)
{
	if (!cfg.fraud().enabled)
		return util::Status::success();
	auto g = fraud::Guard::create(seeded(cfg.fraud()));
	if (!g)
		return util::Status::invalid(fmt::format("[fraud]: {}", g.error()));
	guard_ = std::move(*g);
	owned_gate_ = std::make_unique<engine::FraudGate>(*guard_, this);
	lists_ = stamp(cfg.fraud().bad_number_files);
	restore();
	gate_.store(owned_gate_.get(), std::memory_order_release);
	LOG(Daemon, Info, "fraud guard on: home country {}, {} bad-number list{}, {} rule{}",
	    cfg.fraud().country_code.empty() ? "none" : "+" + cfg.fraud().country_code,
	    cfg.fraud().bad_number_files.size(), cfg.fraud().bad_number_files.size() == 1 ? "" : "s",
	    cfg.fraud().rules.size(), cfg.fraud().rules.size() == 1 ? "" : "s");
	return util::Status::success();
}

util::Status FraudService::check(const Config& next) const
{
	if (!next.fraud().enabled)
		return util::Status::success();
	// A trial load: the running guard changes only once everything else of
	// the reload was accepted.
	auto g = fraud::Guard::create(seeded(next.fraud()));
	if (!g)
		return util::Status::invalid(fmt::format("[fraud]: {}", g.error()));
	return util::Status::success();
}

util::Status FraudService::apply(const Config& next)
{
	if (!next.fraud().enabled) {
		if (gate())
			LOG(Daemon, Info, "fraud guard off (its accounts and locks are kept until a restart)");
		gate_.store(nullptr, std::memory_order_release);
		return util::Status::success();
	}
	if (!guard_)
		return start(next);
	if (util::Status st = guard_->reconfigure(seeded(next.fraud())); !st)
		return util::Status::invalid(fmt::format("[fraud]: {}", st.message));
	lists_ = stamp(next.fraud().bad_number_files);
	gate_.store(owned_gate_.get(), std::memory_order_release);
	return util::Status::success();
}

void FraudService::housekeeping()
{
	if (!gate())
		return;
	std::vector<FileStamp> now = stamp(guard_->config().bad_number_files);
	bool changed = now.size() != lists_.size();
	for (size_t i = 0; !changed && i < now.size(); ++i)
		changed = now[i].mtime_ns != lists_[i].mtime_ns || now[i].size != lists_[i].size;
	if (changed) {
		lists_ = std::move(now);
		if (util::Status st = guard_->reload_bad_numbers(); !st)
			LOG(Daemon, Error, "fraud: bad-number lists not reloaded, the old ones stay: {}", st.message);
		else
			LOG(Daemon, Info, "fraud: bad-number lists reloaded");
	}
	if (++ticks_ >= 10) {
		ticks_ = 0;
		save();
	}
}

void FraudService::save()
{
	if (!guard_)
		return;
	std::lock_guard lock(save_mu_);
	const std::string locks = guard_->save_locks();
	const std::string baseline = guard_->save_baseline();
	if (locks != saved_locks_) {
		if (util::Status st = write_file_atomic(state_path(rt_, kFraudLocksFile), locks); !st)
			LOG(Daemon, Error, "fraud: cannot save the account locks: {}", st.message);
		else
			saved_locks_ = locks;
	}
	if (baseline != saved_baseline_) {
		if (util::Status st = write_file_atomic(state_path(rt_, kFraudBaselineFile), baseline); !st)
			LOG(Daemon, Error, "fraud: cannot save the learned baseline: {}", st.message);
		else
			saved_baseline_ = baseline;
	}
}

void FraudService::restore()
{
	// A missing file is a first start; a bad one is logged and the guard
	// starts without it (a lock is an operator's business to re-impose).
	for (const char* name : {kFraudLocksFile, kFraudBaselineFile}) {
		const std::string path = state_path(rt_, name);
		if (!std::filesystem::exists(path))
			continue;
		util::Result<std::string> text = config::read_file(path);
		if (!text) {
			LOG(Daemon, Error, "fraud: {}", text.error());
			continue;
		}
		const bool locks = name == kFraudLocksFile;
		util::Status st = locks ? guard_->restore_locks(*text, path) : guard_->restore_baseline(*text, path);
		if (!st)
			LOG(Daemon, Error, "fraud: {} not fully restored: {}", path, st.message);
		(locks ? saved_locks_ : saved_baseline_) = *text;
	}
	const size_t n = guard_->locks(wall_now()).size();
	if (n)
		LOG(Daemon, Info, "fraud: {} account lock{} restored", n, n == 1 ? "" : "s");
}

} // namespace sipguard::daemon
