// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon's lifecycle: start-up in dependency order, the main loop
// (signals, expiry, saves, watchdog, reload requests, kernel checks) and a
// clean stop.
// Queue threads (queue_threads.cpp) run to completion in their shards (shard.cpp); control
// commands (control_handlers.cpp) and metrics (exporter.cpp) run on the
// control thread; reloads (apply_config.cpp) and saves (saved_bans.cpp) on
// the main thread; kernel checks and repairs (kernel_watch.cpp,
// kernel_sync.cpp) on the rules writer's thread.
#include "agent/daemon/daemon.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include "agent/daemon/apply_config.h"
#include "agent/daemon/config.h"
#include "agent/daemon/control_handlers.h"
#include "agent/daemon/exporter.h"
#include "agent/daemon/instance_lock.h"
#include "agent/daemon/kernel_watch.h"
#include "agent/daemon/own_addresses.h"
#include "agent/daemon/runtime.h"
#include "agent/daemon/queue_threads.h"
#include "agent/daemon/saved_bans.h"
#include "agent/daemon/table_install.h"
#include "agent/util/hash.h"
#include "agent/util/log.h"
#include "agent/util/unique_fd.h"
#include "rules/netlink.h"
#include "rules/table.h"

namespace sipguard::daemon {

namespace {

using util::UniqueFd;

class Daemon {
public:
	explicit Daemon(RunOptions opts) : opts_(std::move(opts)) {}
	int run();

private:
	bool load_initial_config();
	bool start();
	bool start_signals();
	bool start_control(const DaemonSettings& d);
	void save_state_now(const char* why);
	bool main_loop(); // false: a queue thread died (exit non-zero so systemd restarts us)
	std::string reload(); // "" on success, else the reason the old config stays
	void stop();

	InstanceLock lock_; // state directory and network namespace, from before the first kernel change to exit
	RunOptions opts_;
	std::string config_path_; // what SIGHUP re-reads
	bool config_explicit_ = false;
	control::CommandTable commands_; // outlives the control thread in rt_
	Runtime rt_;
	Exporter exporter_{rt_};
	rules::TableSpec spec_;
	rules::Netlink nl_; // main thread only
	KernelWatch watch_{rt_.kernel};
	std::atomic<bool> stop_queues_{false};
	UniqueFd signal_fd_;
	OwnAddresses own_addresses_; // no ban may cover them
	std::chrono::steady_clock::time_point last_save_{};
};

bool Daemon::load_initial_config()
{
	LoadResult r;
	if (!opts_.config_path.empty()) {
		config_path_ = opts_.config_path;
		config_explicit_ = true;
		r = load_config_file(config_path_);
	} else if (std::filesystem::exists(std::string(kDefaultConfigPath))) {
		config_path_ = std::string(kDefaultConfigPath);
		r = load_config_file(config_path_);
	} else {
		config_path_ = std::string(kDefaultConfigPath);
		r.config = default_config();
		LOG(Daemon, Info, "no config file at {}: running on the embedded defaults", kDefaultConfigPath);
	}
	for (const auto& e : r.errors)
		LOG(Daemon, Error, "{}", e.to_string());
	if (!r.config) {
		LOG(Daemon, Error, "{}; not starting", r.unreadable ? "unreadable configuration" : "invalid configuration");
		return false;
	}
	rt_.set_config(r.config);
	apply_log_level(*r.config);
	return true;
}

void Daemon::save_state_now(const char* why)
{
	rt_.state_dirty.store(false, std::memory_order_relaxed);
	if (!save_bans(rt_, why))
		rt_.state_dirty.store(true, std::memory_order_relaxed);
	last_save_ = std::chrono::steady_clock::now();
}

// Signals go to the main loop's signalfd; they are blocked before any thread
// starts so every thread inherits the mask.
bool Daemon::start_signals()
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, nullptr);
	::signal(SIGPIPE, SIG_IGN);
	signal_fd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
	if (!signal_fd_) {
		LOG(Daemon, Error, "signalfd: {}", std::strerror(errno));
		return false;
	}
	if (util::Status st = rt_.reloads.open(); !st) {
		LOG(Daemon, Error, "{}", st.message);
		return false;
	}
	return true;
}

bool Daemon::start_control(const DaemonSettings& d)
{
	add_control_commands(commands_, rt_);
	rt_.registry.add([this](metrics::Exposition& e) { exporter_.collect(e); });
	try {
		rt_.control = control::ControlServer::create(
			{d.control_socket, d.control_group, d.metrics_socket, {d.metrics_listen.addr, d.metrics_listen.port}},
			[this](const control::Request& r, const control::PeerCred& c) { return commands_.dispatch(r, c); },
			[this] { return rt_.registry.scrape(); });
	} catch (const std::exception& e) {
		LOG(Daemon, Error, "{}", e.what());
		return false;
	}
	return true;
}

bool Daemon::start()
{
	const ConfigPtr cfg = rt_.config();
	const DaemonSettings& d = cfg->daemon();
	// Before anything changes: a second daemon (same state directory, or
	// the same network namespace, hence the same table) would replace the
	// first one's table while the first keeps enforcing its own records.
	if (util::Status st = lock_.acquire(d.state_dir); !st) {
		LOG(Daemon, Error, "{}", st.message);
		return false;
	}
	if (opts_.remove_on_exit)
		LOG(Daemon, Info, "--remove-on-exit: the table and every ban go when the daemon stops");
	if (!start_signals())
		return false;

	rt_.ban_log = std::make_unique<engine::BanLog>();
	if (!d.ban_log.empty()) {
		std::error_code ec;
		std::filesystem::create_directories(std::filesystem::path(d.ban_log).parent_path(), ec);
		if (util::Status st = rt_.ban_log->open(d.ban_log); !st) {
			LOG(Daemon, Error, "cannot open the ban log: {}", st.message);
			return false;
		}
	}
	rt_.bans = std::make_unique<engine::BanManager>(*cfg->engine(), rt_.ban_log.get(), util::random_seed());
	rt_.accounts = std::make_unique<detect::AccountTable>(cfg->engine()->tables.accounts, util::random_seed());
	rt_.fraud = std::make_unique<FraudService>(rt_);
	if (util::Status st = rt_.fraud->start(*cfg); !st) {
		LOG(Daemon, Error, "{}; not starting", st.message);
		return false;
	}

	if (rules::Status st = nl_.open(); !st) {
		LOG(Daemon, Error, "cannot open a netfilter netlink socket: {}", st.message);
		return false;
	}
	spec_ = table_spec(*cfg);
	if (util::Status st = install_table(nl_, *cfg, rt_, spec_); !st) {
		LOG(Daemon, Error, "{}", st.message);
		return false;
	}

	rt_.kernel.set_table(spec_, rt_.backend);
	own_addresses_.start(*rt_.bans); // before the restore: no saved ban may cover this host
	restore_saved_bans(rt_, nl_);

	rules::Netlink wnl;
	if (rules::Status st = wnl.open(); !st) {
		LOG(Daemon, Error, "cannot open the rules writer's netlink socket: {}", st.message);
		return false;
	}
	rt_.writer = std::make_unique<rules::Writer>(std::move(wnl), rules::WriterConfig{},
	                                             [](const rules::WriterRequest& r, const std::string& msg) {
		                                             LOG(Rules, Warning, "kernel refused {}: {}",
		                                                 r.target.to_string(), msg);
	                                             });
	rt_.kernel.attach(rt_.writer.get());
	// Opened after the restore, whose notifications would overflow it
	// (ENOBUFS); what happens in between, the first check finds.
	if (util::Status st = watch_.open(); !st) {
		LOG(Daemon, Error, "cannot watch the kernel for changes to table inet sipguard: {}", st.message);
		return false;
	}
	watch_.ignore_port(nl_.portid());
	watch_.ignore_port(rt_.writer->portid());
	rt_.bans->set_listener(&rt_);

	// The sockets exist before the queue threads (which publish to
	// followers); the control thread starts after them, so it never sees the
	// shards and queues while they are being built. Early clients wait in the
	// listen backlog.
	if (!start_control(d))
		return false;
	if (util::Status st = start_queue_threads(rt_, *cfg, stop_queues_); !st) {
		LOG(Daemon, Error, "{}", st.message);
		return false;
	}
	rt_.control->start();
	LOG(Daemon, Info, "sipguard {} running: {} queue thread{}, control socket {}, config {}", SIPGUARD_VERSION,
	    d.queues, d.queues == 1 ? "" : "s", d.control_socket, cfg->source());
	sd_notifyf(0, "READY=1\nSTATUS=inspecting SIP on %u queue(s), %zu active bans\nMAINPID=%d", d.queues,
	           rt_.bans->active_count(), static_cast<int>(::getpid()));
	return true;
}

std::string Daemon::reload()
{
	sd_notify(0, "RELOADING=1");
	if (rt_.ban_log)
		if (util::Status st = rt_.ban_log->reopen(); !st)
			LOG(Daemon, Error, "cannot reopen the ban log: {}", st.message);
	util::Status st = apply_config_file(rt_, nl_, spec_, config_path_, config_explicit_);
	if (st) {
		rt_.counters.reloads_ok.fetch_add(1, std::memory_order_relaxed);
	} else {
		rt_.counters.reloads_failed.fetch_add(1, std::memory_order_relaxed);
		LOG(Daemon, Error, "reload: {}; the running configuration stays", st.message);
	}
	sd_notify(0, "READY=1");
	return st.message;
}

bool Daemon::main_loop()
{
	int dead_checks = 0;
	uint64_t wd_usec = 0;
	const bool watchdog = sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0;
	// Feed at half the interval, as sd_watchdog_enabled(3) recommends.
	const auto wd_period = std::chrono::microseconds(wd_usec / 2);
	auto next_wd = std::chrono::steady_clock::now();
	auto next_expire = std::chrono::steady_clock::now();
	for (;;) {
		const auto now = std::chrono::steady_clock::now();
		if (watchdog && now >= next_wd) {
			sd_notify(0, "WATCHDOG=1");
			next_wd = now + wd_period;
		}
		if (now >= next_expire) {
			rt_.bans->expire(wall_now());
			rt_.fraud->housekeeping();
			next_expire = now + std::chrono::seconds(1);
			dead_checks = rt_.queues_bound() ? 0 : dead_checks + 1;
			if (dead_checks >= 3) {
				LOG(Daemon, Error, "a queue thread is gone (its queue is no longer bound); exiting so the "
				                   "service manager restarts sipguard");
				return false;
			}
		}
		if (rt_.state_dirty.load(std::memory_order_relaxed) && now - last_save_ >= rt_.config()->daemon().save_interval)
			save_state_now("changed");

		int timeout_ms = std::clamp(watch_.run_due(now), 1, 250);
		if (watchdog)
			timeout_ms = static_cast<int>(std::clamp<int64_t>(
				std::chrono::duration_cast<std::chrono::milliseconds>(next_wd - now).count(), 1, timeout_ms));
		pollfd pfds[5] = {{signal_fd_.get(), POLLIN, 0},
		                  {rt_.reloads.fd(), POLLIN, 0},
		                  {watch_.fd(), POLLIN, 0},
		                  {own_addresses_.fd(), POLLIN, 0},
		                  {lock_.netns_fd(), POLLIN, 0}};
		int n = ::poll(pfds, 5, timeout_ms);
		if (n < 0 && errno != EINTR) {
			LOG(Daemon, Error, "poll: {}", std::strerror(errno));
			return false;
		}
		if (pfds[2].revents & POLLIN)
			watch_.on_readable(std::chrono::steady_clock::now());
		if (pfds[3].revents & POLLIN)
			own_addresses_.on_readable(*rt_.bans);
		if (pfds[4].revents & POLLIN)
			lock_.drain(); // a second daemon read our pid
		if (pfds[1].revents & POLLIN) {
			auto waiters = rt_.reloads.take();
			if (!waiters.empty()) {
				LOG(Daemon, Info, "reload requested over the control socket");
				std::string result = reload();
				for (auto& w : waiters)
					w.set_value(result);
			}
		}
		if (pfds[0].revents & POLLIN) {
			signalfd_siginfo si;
			while (::read(signal_fd_.get(), &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					LOG(Daemon, Info, "SIGHUP: reloading {} and reopening the ban log", config_path_);
					reload();
				} else {
					LOG(Daemon, Info, "{}: stopping", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
					return true;
				}
			}
		}
	}
}

void Daemon::stop()
{
	if (!lock_.held())
		return; // another daemon runs: nothing was started, nothing is ours
	sd_notify(0, "STOPPING=1");
	stop_queues_.store(true);
	int qrc = rt_.queues.join();
	if (qrc < 0)
		LOG(Daemon, Warning, "a queue thread ended with an error: {}", std::strerror(-qrc));
	rt_.flush_rules();
	if (rt_.fraud)
		rt_.fraud->save();
	if (rt_.bans) {
		rt_.bans->set_listener(nullptr);
		save_state_now("stop");
	}
	if (rt_.writer)
		rt_.writer->stop();
	const ConfigPtr cfg = rt_.config();
	const bool remove = opts_.remove_on_exit || (cfg && cfg->daemon().remove_table_on_exit);
	if (remove && nl_.is_open()) {
		if (rules::Status st = rules::remove(nl_); !st)
			LOG(Daemon, Error, "cannot remove table inet sipguard: {}", st.message);
		else
			LOG(Daemon, Info, "table inet sipguard removed (--remove-on-exit)");
	} else {
		LOG(Daemon, Info, "stopped; table inet sipguard stays: {} bans remain in force and SIP passes uninspected",
		    rt_.bans ? rt_.bans->active_count() : 0);
	}
	if (rt_.control)
		rt_.control->stop();
}

int Daemon::run()
{
	if (!load_initial_config())
		return config_explicit_ && !std::filesystem::exists(config_path_) ? 2 : 1;
	bool ok = start();
	if (ok)
		ok = main_loop();
	stop();
	return ok ? 0 : 1;
}

} // namespace

int run_daemon(const RunOptions& options)
{
	Daemon d(options);
	return d.run();
}

} // namespace sipguard::daemon
