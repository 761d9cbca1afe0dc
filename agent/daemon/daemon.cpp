// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon: start-up in dependency order, the main loop, atomic reload,
// persistence and a clean stop. Queue threads run to completion; everything
// else (control, saves, expiry, reload) stays off their path.
#include "agent/daemon/daemon.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include "agent/calls/engine_hook.h"
#include "agent/control/server.h"
#include "agent/daemon/config.h"
#include "agent/daemon/duration.h"
#include "agent/daemon/metrics.h"
#include "agent/daemon/persistence.h"
#include "agent/daemon/sip_peek.h"
#include "agent/util/unique_fd.h"
#include "agent/engine/ban_log.h"
#include "agent/engine/ban_manager.h"
#include "agent/engine/engine.h"
#include "agent/util/log.h"
#include "nfq/proc_stats.h"
#include "nfq/queue.h"
#include "rules/elements.h"
#include "rules/netlink.h"
#include "rules/table.h"
#include "rules/writer.h"

namespace sipguard::daemon {

namespace json = util::json;
using util::UniqueFd;

namespace {

using Clock = std::chrono::system_clock;
using detect::TimePoint;
using metrics::Exposition;
using metrics::ShardCounter;
using metrics::Type;

TimePoint now_tp() { return std::chrono::time_point_cast<std::chrono::nanoseconds>(Clock::now()); }

// Kernel element timeouts are whole seconds here; round up so a ban never
// ends in the kernel before it ends in the manager.
std::chrono::seconds ceil_seconds(std::chrono::nanoseconds d)
{
	auto s = std::chrono::ceil<std::chrono::seconds>(d);
	return s.count() < 1 ? std::chrono::seconds(1) : s;
}

rules::TableSpec table_spec(const Config& cfg)
{
	const DaemonSettings& d = cfg.daemon();
	rules::TableSpec spec;
	spec.sip_ports = d.sip_ports;
	spec.queue_base = d.queue_base;
	spec.queue_count = static_cast<uint16_t>(d.queues);
	spec.pin_media = d.media_pinning;
	spec.rtp_min = d.rtp_range.lo;
	spec.rtp_max = d.rtp_range.hi;
	spec.allow = d.allowlist;
	spec.allow.insert(spec.allow.end(), d.trusted.begin(), d.trusted.end());
	spec.keep_elements = true;
	return spec;
}

bool same_spec(const rules::TableSpec& a, const rules::TableSpec& b)
{
	return a.sip_ports == b.sip_ports && a.queue_base == b.queue_base && a.queue_count == b.queue_count &&
	       a.pin_media == b.pin_media && a.rtp_min == b.rtp_min && a.rtp_max == b.rtp_max && a.allow == b.allow;
}

json::Value evidence_value(const std::string& text)
{
	auto v = json::parse(text);
	return v ? std::move(*v) : json::Value(text);
}

json::Value ban_json(const engine::BanRecord& b, TimePoint now)
{
	json::Value v = json::Object{};
	v.set("addr", b.target.base.to_string());
	v.set("prefix_len", b.target.prefix_len);
	v.set("detector", std::string(detect::to_string(b.detector)));
	v.set("reason", b.reason);
	v.set("remaining_s", std::chrono::duration_cast<std::chrono::seconds>(b.remaining(now)).count());
	v.set("duration_s", std::chrono::duration_cast<std::chrono::seconds>(b.duration()).count());
	v.set("since", engine::format_rfc3339(b.start));
	v.set("until", engine::format_rfc3339(b.until));
	v.set("offences", b.offence_count);
	v.set("prefix_ban", b.prefix);
	v.set("evidence", evidence_value(b.evidence_json));
	v.set("evidence_text", b.evidence_text);
	return v;
}

class Daemon;

// One queue thread's state: its engine shard, call tracker and counters.
class Shard final : public nfq::Handler, public engine::Sink {
public:
	Shard(Daemon& d, std::shared_ptr<const engine::Config> ecfg, const calls::Config& ccfg, uint64_t version);

	nfq::Verdict on_packet(const nfq::PacketView& p, nfq::Direction dir) override;
	void on_idle() override;
	void on_finding(const detect::Finding& f, const engine::BanResult& result) override;
	void on_pinhole(const engine::PinholeEvent& e) override;

	const engine::EngineCounters& engine_counters() const { return engine_.counters(); }
	const calls::Tracker& tracker() const { return hook_.tracker(); }

	// [direction]: In = 0, Out = 1.
	ShardCounter packets[2];
	ShardCounter accepted[2];
	ShardCounter dropped[2];
	ShardCounter methods[kPeekMethodCount];
	ShardCounter status_class[7]; // [1..6]
	ShardCounter pinhole_submit_failed;

private:
	void tick(TimePoint now);

	Daemon& d_;
	calls::EngineHook hook_;
	engine::Engine engine_;
	uint64_t version_;
	TimePoint last_tick_{};
};

class Daemon final : public engine::BanListener {
public:
	explicit Daemon(RunOptions opts) : opts_(std::move(opts)) {}
	int run();

	// Read by shards between packets.
	std::atomic<uint64_t> config_version_{1};
	std::shared_ptr<const engine::Config> engine_config()
	{
		std::lock_guard lock(cfg_mu_);
		return config_->engine();
	}
	rules::Writer* writer() { return writer_.get(); }
	engine::BanManager& bans() { return *bans_; }
	bool has_followers() const { return control_ && control_->has_followers(); }
	void publish_event(const engine::BanLogEvent& e)
	{
		if (has_followers())
			control_->publish(engine::format_json(e));
	}

	// BanListener: called with the manager's lock held; queue and return.
	void on_ban(const engine::BanRecord& b) override;
	void on_unban(const engine::BanRecord& b, engine::UnbanCause cause) override;

private:
	bool load_initial_config();
	bool start();
	void restore_state();
	void save_state_now(const char* why);
	bool main_loop(); // false: a queue thread died (exit non-zero so systemd restarts us)
	bool queues_alive();
	std::string reload(); // "" on success, else the reason the old config stays
	void stop();

	control::HandlerResult handle(const control::Request& req, const control::PeerCred& cred);
	json::Value status_json();
	void collect(Exposition& e);

	RunOptions opts_;
	std::string config_path_;   // what SIGHUP re-reads
	bool config_explicit_ = false;
	std::mutex cfg_mu_;
	ConfigPtr config_;
	rules::TableSpec spec_;
	rules::QueueBackend backend_ = rules::QueueBackend::CompatNfqueueV3;
	rules::Netlink nl_; // main thread only
	rules::Netlink metrics_nl_; // control thread only
	std::unique_ptr<engine::BanLog> ban_log_;
	std::unique_ptr<engine::BanManager> bans_;
	std::unique_ptr<rules::Writer> writer_;
	std::unique_ptr<control::ControlServer> control_;
	metrics::Registry registry_;
	metrics::Histogram restore_seconds_{{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}};
	std::vector<std::unique_ptr<Shard>> shards_;
	nfq::QueueGroup queues_;
	std::atomic<bool> stop_queues_{false};
	UniqueFd signal_fd_;
	UniqueFd reload_fd_;
	std::mutex reload_mu_;
	std::vector<std::promise<std::string>> reload_waiters_;
	std::atomic<bool> dirty_{false};
	std::atomic<uint64_t> bans_total_{0};
	std::atomic<uint64_t> unbans_total_{0};
	std::atomic<uint64_t> writer_rejected_{0};
	std::atomic<uint64_t> reloads_ok_{0}, reloads_failed_{0};
	std::atomic<uint64_t> saves_{0}, save_errors_{0};
	std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
	std::chrono::steady_clock::time_point last_save_{};
	size_t restored_bans_ = 0;
	double restore_ms_ = 0;
};

Shard::Shard(Daemon& d, std::shared_ptr<const engine::Config> ecfg, const calls::Config& ccfg, uint64_t version)
	: d_(d), hook_(ccfg), engine_(std::move(ecfg), d.bans(), *this), version_(version)
{
	engine_.set_call_hook(&hook_);
}

// Time-driven engine work (dialog and pinhole timeouts, table ageing) at most
// once a second, from whichever comes first: a packet or an idle queue.
void Shard::tick(TimePoint now)
{
	if (now - last_tick_ >= std::chrono::seconds(1)) {
		last_tick_ = now;
		engine_.on_tick(now);
	}
}

void Shard::on_idle() { tick(now_tp()); }

nfq::Verdict Shard::on_packet(const nfq::PacketView& p, nfq::Direction dir)
{
	const TimePoint now = now_tp();
	// A reload publishes a new immutable engine snapshot and bumps the
	// version; the shard picks it up between packets, never mid-packet.
	uint64_t v = d_.config_version_.load(std::memory_order_acquire);
	if (v != version_) {
		version_ = v;
		engine_.set_config(d_.engine_config());
	}
	tick(now);
	const int di = dir == nfq::Direction::In ? 0 : 1;
	packets[di].add();
	SipPeek peek = peek_sip(p.payload);
	if (peek.status_class)
		status_class[peek.status_class].add();
	else if (peek.method >= 0)
		methods[peek.method].add();
	nfq::Verdict verdict = engine_.on_packet(p, dir, now);
	(verdict == nfq::Verdict::Accept ? accepted[di] : dropped[di]).add();
	return verdict;
}

void Shard::on_finding(const detect::Finding& f, const engine::BanResult& result)
{
	// Bans are announced through the listener; followers also see findings
	// that did not become a ban (dry run, allowlisted, already banned).
	if (result.outcome == engine::BanOutcome::Banned || !d_.has_followers())
		return;
	std::string ev;
	f.evidence.append_json(ev);
	std::string text;
	f.evidence.append_text(text);
	engine::BanLogEvent e{.ts = f.at,
	                      .event = "finding",
	                      .target = net::Cidr{f.source.masked(f.prefix_len), f.prefix_len},
	                      .detector = detect::to_string(f.detector),
	                      .reason = f.reason,
	                      .evidence_json = ev,
	                      .evidence_text = text};
	(void)result;
	d_.publish_event(e);
}

void Shard::on_pinhole(const engine::PinholeEvent& e)
{
	rules::Writer* w = d_.writer();
	if (!w)
		return;
	bool ok = true;
	if (e.op == engine::PinholeEvent::Op::Close)
		ok = w->close_pinhole(e.remote, e.local_port);
	else
		ok = w->open_pinhole(e.remote, e.local_port, ceil_seconds(e.timeout));
	if (!ok)
		pinhole_submit_failed.add();
}

void Daemon::on_ban(const engine::BanRecord& b)
{
	const TimePoint now = now_tp();
	if (writer_ && !writer_->ban(b.target, ceil_seconds(b.until - now)))
		writer_rejected_.fetch_add(1, std::memory_order_relaxed);
	bans_total_.fetch_add(1, std::memory_order_relaxed);
	dirty_.store(true, std::memory_order_relaxed);
	publish_event({.ts = now,
	               .event = b.prefix ? "prefix_ban" : "ban",
	               .target = b.target,
	               .detector = detect::to_string(b.detector),
	               .reason = b.reason,
	               .evidence_json = b.evidence_json,
	               .evidence_text = b.evidence_text,
	               .duration_s = std::chrono::duration_cast<std::chrono::seconds>(b.duration()).count(),
	               .offence_count = b.offence_count});
}

void Daemon::on_unban(const engine::BanRecord& b, engine::UnbanCause cause)
{
	if (writer_ && !writer_->unban(b.target))
		writer_rejected_.fetch_add(1, std::memory_order_relaxed);
	unbans_total_.fetch_add(1, std::memory_order_relaxed);
	dirty_.store(true, std::memory_order_relaxed);
	publish_event({.ts = now_tp(),
	               .event = cause == engine::UnbanCause::Expired ? "expire" : "unban",
	               .target = b.target,
	               .detector = detect::to_string(b.detector),
	               .reason = b.reason,
	               .offence_count = b.offence_count});
}

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
	config_ = r.config;
	log::Level level;
	if (log::parse_level(config_->daemon().log_level, level))
		log::set_threshold(level);
	return true;
}

void Daemon::restore_state()
{
	const DaemonSettings& d = config_->daemon();
	const std::string path = (std::filesystem::path(d.state_dir) / kStateFileName).string();
	auto t0 = std::chrono::steady_clock::now();
	const int64_t now_ms = unix_now_ms();
	const TimePoint now = from_unix_ms(now_ms);
	auto loaded = read_state(path, now_ms);
	if (!loaded) {
		LOG(Daemon, Error, "cannot restore state: {}; starting without saved bans", loaded.error());
		return;
	}
	for (const auto& w : loaded->warnings)
		LOG(Daemon, Warning, "state file: {}", w);
	if (!loaded->found)
		return;
	auto t_read = std::chrono::steady_clock::now();

	// The listener is not attached yet, so restore() announces nothing; the
	// kernel gets every ban in as few transactions as rules/ allows (one per
	// 16384 elements), each atomic, instead of one writer batch per 4096.
	bans_->restore(to_ban_snapshot(loaded->state, now_ms), now);
	std::vector<rules::BanElement> elems;
	for (const auto& b : bans_->active(now))
		elems.push_back({b.target, ceil_seconds(b.until - now)});
	auto t_manager = std::chrono::steady_clock::now();
	rules::Status st = rules::add_bans(nl_, elems, true);
	auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
	auto dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	restore_seconds_.observe(dt);
	restored_bans_ = elems.size();
	restore_ms_ = dt * 1000;
	if (!st)
		LOG(Daemon, Error, "re-applying {} saved bans failed: {}", elems.size(), st.message);
	else
		LOG(Daemon, Info,
		    "restored {} bans ({} expired while stopped) and {} offence histories in {:.1f} ms "
		    "(read {:.1f} ms, ban manager {:.1f} ms, kernel {:.1f} ms)",
		    elems.size(), loaded->expired_dropped, loaded->state.offences.size(), restore_ms_, ms(t0, t_read),
		    ms(t_read, t_manager), ms(t_manager, std::chrono::steady_clock::now()));
}

void Daemon::save_state_now(const char* why)
{
	const DaemonSettings& d = config_->daemon();
	const std::string path = (std::filesystem::path(d.state_dir) / kStateFileName).string();
	dirty_.store(false, std::memory_order_relaxed);
	const TimePoint now = now_tp();
	SavedState s = to_saved_state(bans_->snapshot(now), now);
	if (util::Status st = write_state(path, s); st) {
		saves_.fetch_add(1, std::memory_order_relaxed);
		LOG(Daemon, Debug, "saved {} bans and {} offence histories to {} ({})", s.bans.size(), s.offences.size(),
		    path, why);
	} else {
		save_errors_.fetch_add(1, std::memory_order_relaxed);
		dirty_.store(true, std::memory_order_relaxed);
		LOG(Daemon, Error, "cannot save state: {}", st.message);
	}
	last_save_ = std::chrono::steady_clock::now();
}

bool Daemon::start()
{
	const DaemonSettings& d = config_->daemon();
	if (opts_.remove_on_exit)
		LOG(Daemon, Info, "--remove-on-exit: the table and every ban go when the daemon stops");

	// Signals go to the main loop's signalfd; block them before any thread
	// starts so every thread inherits the mask.
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, nullptr);
	::signal(SIGPIPE, SIG_IGN);
	signal_fd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
	reload_fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!signal_fd_ || !reload_fd_) {
		LOG(Daemon, Error, "signalfd/eventfd: {}", std::strerror(errno));
		return false;
	}

	ban_log_ = std::make_unique<engine::BanLog>();
	if (!d.ban_log.empty()) {
		std::error_code ec;
		std::filesystem::create_directories(std::filesystem::path(d.ban_log).parent_path(), ec);
		std::string err;
		if (!ban_log_->open(d.ban_log, &err)) {
			LOG(Daemon, Error, "cannot open the ban log: {}", err);
			return false;
		}
	}
	bans_ = std::make_unique<engine::BanManager>(*config_->engine(), ban_log_.get());

	if (rules::Status st = nl_.open(); !st) {
		LOG(Daemon, Error, "cannot open a netfilter netlink socket: {}", st.message);
		return false;
	}
	spec_ = table_spec(*config_);
	if (rules::Status st = rules::install_auto(nl_, spec_, backend_); !st) {
		LOG(Daemon, Error, "cannot install table inet sipguard: {}", st.message);
		return false;
	}
	LOG(Daemon, Info, "table inet sipguard installed (queue backend {}, queues {}..{}, SIP ports {}, media pinning {})",
	    rules::to_string(backend_), d.queue_base, d.queue_base + d.queues - 1, fmt::join(d.sip_ports, ","),
	    d.media_pinning ? fmt::format("on {}-{}", d.rtp_range.lo, d.rtp_range.hi) : std::string("off"));

	restore_state();

	rules::Netlink wnl;
	if (rules::Status st = wnl.open(); !st) {
		LOG(Daemon, Error, "cannot open the rules writer's netlink socket: {}", st.message);
		return false;
	}
	writer_ = std::make_unique<rules::Writer>(std::move(wnl), rules::WriterConfig{},
	                                          [](const rules::WriterRequest& r, const std::string& msg) {
		                                          LOG(Rules, Warning, "kernel refused {}: {}",
		                                              r.target.to_string(), msg);
	                                          });
	bans_->set_listener(this);

	registry_.add([this](Exposition& e) { collect(e); });
	try {
		control_ = control::ControlServer::create(
			{d.control_socket, d.control_group, d.metrics_socket, {d.metrics_listen.addr, d.metrics_listen.port}},
			[this](const control::Request& r, const control::PeerCred& c) { return handle(r, c); },
			[this] { return registry_.scrape(); });
	} catch (const std::exception& e) {
		LOG(Daemon, Error, "{}", e.what());
		return false;
	}
	control_->start();

	std::vector<nfq::QueueConfig> qcfgs;
	std::vector<nfq::Handler*> handlers;
	for (unsigned i = 0; i < d.queues; ++i) {
		nfq::QueueConfig q;
		q.queue_num = static_cast<uint16_t>(d.queue_base + i);
		q.max_len = d.queue_maxlen;
		q.fail_open = d.fail_open;
		qcfgs.push_back(q);
		calls::Config cc = config_->calls();
		cc.hash_seed ^= (static_cast<uint64_t>(::getpid()) << 32) ^ static_cast<uint64_t>(now_tp().time_since_epoch().count()) ^ i;
		shards_.push_back(std::make_unique<Shard>(*this, config_->engine(), cc, config_version_.load()));
		handlers.push_back(shards_.back().get());
	}
	std::string err;
	if (queues_.open(qcfgs, err) < 0) {
		LOG(Daemon, Error, "cannot bind the queues: {}", err);
		return false;
	}
	if (queues_.start(handlers, stop_queues_, err) < 0) {
		LOG(Daemon, Error, "cannot start the queue threads: {}", err);
		return false;
	}
	LOG(Daemon, Info, "sipguard {} running: {} queue thread{}, control socket {}, config {}", SIPGUARD_VERSION,
	    d.queues, d.queues == 1 ? "" : "s", d.control_socket, config_->source());
	sd_notifyf(0, "READY=1\nSTATUS=inspecting SIP on %u queue(s), %zu active bans\nMAINPID=%d", d.queues,
	           bans_->active_count(), static_cast<int>(::getpid()));
	return true;
}

std::string Daemon::reload()
{
	sd_notify(0, "RELOADING=1");
	std::string reopen_err;
	if (ban_log_ && !ban_log_->reopen(&reopen_err))
		LOG(Daemon, Error, "cannot reopen the ban log: {}", reopen_err);

	auto fail = [&](std::string why) {
		reloads_failed_.fetch_add(1, std::memory_order_relaxed);
		LOG(Daemon, Error, "reload: {}; the running configuration stays", why);
		sd_notify(0, "READY=1");
		return why;
	};
	LoadResult r;
	if (config_explicit_ || std::filesystem::exists(config_path_))
		r = load_config_file(config_path_);
	else
		r.config = default_config();
	for (const auto& e : r.errors)
		LOG(Daemon, Error, "reload: {}", e.to_string());
	if (!r.config)
		return fail(fmt::format("{} is invalid ({} error{}: {})", config_path_, r.errors.size(),
		                        r.errors.size() == 1 ? "" : "s", r.errors.empty() ? "" : r.errors[0].to_string()));

	ConfigPtr next = r.config;
	std::vector<std::string> changed = next->diff(*config_);
	std::vector<std::string> restart_keys;
	for (const auto& k : changed)
		for (const Param& p : all_params())
			if (p.name == k && p.apply == Param::Apply::Restart)
				restart_keys.push_back(k);
	if (!restart_keys.empty())
		return fail(fmt::format("{} change{} only at a restart (systemctl restart sipguard)",
		                        fmt::join(restart_keys, ", "), restart_keys.size() == 1 ? "s" : ""));

	rules::TableSpec spec = table_spec(*next);
	if (!same_spec(spec, spec_)) {
		// One transaction replaces the whole table, carrying bans and
		// pinholes over: the kernel sees the old ruleset or the new one.
		if (rules::Status st = rules::install(nl_, spec, backend_); !st)
			return fail(fmt::format("replacing table inet sipguard failed: {}", st.message));
		spec_ = spec;
	}
	{
		std::lock_guard lock(cfg_mu_);
		config_ = next;
	}
	bans_->reconfigure(*next->engine());
	config_version_.fetch_add(1, std::memory_order_release);
	log::Level level;
	if (log::parse_level(next->daemon().log_level, level))
		log::set_threshold(level);
	reloads_ok_.fetch_add(1, std::memory_order_relaxed);
	LOG(Daemon, Info, "reload: {} applied ({})", config_->source(),
	    changed.empty() ? std::string("no changes") : fmt::format("changed: {}", fmt::join(changed, ", ")));
	sd_notify(0, "READY=1");
	return "";
}

// A queue thread that ended (fatal socket error) unbinds its queue; its SIP
// then passes uninspected through the bypass. The kernel's list of bound
// queues shows it: three misses in a row (a second apart) end the daemon
// with a failure so that systemd (Restart=on-failure) starts a whole one.
bool Daemon::queues_alive()
{
	std::vector<nfq::KernelQueueStats> ks;
	std::string err;
	if (!nfq::read_proc_queue_stats(ks, err))
		return true; // cannot tell; never stop on an unreadable /proc
	for (size_t i = 0; i < queues_.size(); ++i) {
		const nfq::Queue& q = queues_.queue(i);
		bool found = false;
		for (const auto& k : ks)
			found = found || (k.queue_num == q.config().queue_num && k.peer_portid == q.portid());
		if (!found)
			return false;
	}
	return true;
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
			bans_->expire(now_tp());
			next_expire = now + std::chrono::seconds(1);
			dead_checks = queues_alive() ? 0 : dead_checks + 1;
			if (dead_checks >= 3) {
				LOG(Daemon, Error, "a queue thread is gone (its queue is no longer bound); exiting so the "
				                   "service manager restarts sipguard");
				return false;
			}
		}
		if (dirty_.load(std::memory_order_relaxed) && now - last_save_ >= config_->daemon().save_interval)
			save_state_now("changed");

		int timeout_ms = 250;
		if (watchdog)
			timeout_ms = static_cast<int>(std::clamp<int64_t>(
				std::chrono::duration_cast<std::chrono::milliseconds>(next_wd - now).count(), 1, 250));
		pollfd pfds[2] = {{signal_fd_.get(), POLLIN, 0}, {reload_fd_.get(), POLLIN, 0}};
		int n = ::poll(pfds, 2, timeout_ms);
		if (n < 0 && errno != EINTR) {
			LOG(Daemon, Error, "poll: {}", std::strerror(errno));
			return false;
		}
		if (pfds[1].revents & POLLIN) {
			uint64_t v;
			[[maybe_unused]] ssize_t r = ::read(reload_fd_.get(), &v, sizeof(v));
			std::vector<std::promise<std::string>> waiters;
			{
				std::lock_guard lock(reload_mu_);
				waiters.swap(reload_waiters_);
			}
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
	sd_notify(0, "STOPPING=1");
	stop_queues_.store(true);
	int qrc = queues_.join();
	if (qrc < 0)
		LOG(Daemon, Warning, "a queue thread ended with an error: {}", std::strerror(-qrc));
	if (writer_) {
		writer_->flush();
	}
	if (bans_) {
		bans_->set_listener(nullptr);
		save_state_now("stop");
	}
	if (writer_)
		writer_->stop();
	const bool remove = opts_.remove_on_exit || (config_ && config_->daemon().remove_table_on_exit);
	if (remove && nl_.is_open()) {
		if (rules::Status st = rules::remove(nl_); !st)
			LOG(Daemon, Error, "cannot remove table inet sipguard: {}", st.message);
		else
			LOG(Daemon, Info, "table inet sipguard removed (--remove-on-exit)");
	} else {
		LOG(Daemon, Info, "stopped; table inet sipguard stays: {} bans remain in force and SIP passes uninspected",
		    bans_ ? bans_->active_count() : 0);
	}
	if (control_)
		control_->stop();
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

// ---- control ----

json::Value Daemon::status_json()
{
	json::Value v = json::Object{};
	v.set("version", SIPGUARD_VERSION);
	v.set("pid", static_cast<int64_t>(::getpid()));
	v.set("uptime_s",
	      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count());
	v.set("config", config_->source());
	v.set("queue_backend", std::string(backend_ == rules::QueueBackend::Native ? "native" : "compat"));
	v.set("queues", shards_.size());
	v.set("dry_run", config_->daemon().dry_run);
	v.set("media_pinning", config_->daemon().media_pinning);
	uint64_t pk[2] = {0, 0}, acc[2] = {0, 0}, drp[2] = {0, 0}, malformed = 0, sip = 0, findings = 0;
	uint64_t pinholes = 0, calls_active = 0;
	for (const auto& s : shards_) {
		for (int i = 0; i < 2; ++i) {
			pk[i] += s->packets[i].get();
			acc[i] += s->accepted[i].get();
			drp[i] += s->dropped[i].get();
		}
		const auto& c = s->engine_counters();
		malformed += c.malformed;
		sip += c.sip_messages;
		findings += c.findings;
		pinholes += s->tracker().open_pinholes();
		calls_active += s->tracker().active_dialogs();
	}
	json::Value packets = json::Object{};
	packets.set("in", pk[0]);
	packets.set("out", pk[1]);
	v.set("packets", std::move(packets));
	json::Value verdicts = json::Object{};
	verdicts.set("accepted", acc[0] + acc[1]);
	verdicts.set("dropped", drp[0] + drp[1]);
	v.set("verdicts", std::move(verdicts));
	v.set("sip_messages", sip);
	v.set("malformed", malformed);
	v.set("findings", findings);
	v.set("bans_active", bans_->active_count());
	v.set("bans_total", bans_total_.load());
	v.set("pinholes", pinholes);
	v.set("calls", calls_active);
	nfq::QueueStats qs = queues_.total();
	std::vector<nfq::KernelQueueStats> ks;
	std::string err;
	uint64_t kdrops = 0;
	if (nfq::read_proc_queue_stats(ks, err))
		for (const auto& k : ks)
			if (k.queue_num >= config_->daemon().queue_base &&
			    k.queue_num < config_->daemon().queue_base + shards_.size())
				kdrops += uint64_t(k.queue_dropped) + k.user_dropped;
	json::Value drops = json::Object{};
	drops.set("queue_enobufs", qs.enobufs);
	drops.set("kernel", kdrops);
	v.set("drops", std::move(drops));
	v.set("restored_bans", restored_bans_);
	v.set("restore_ms", restore_ms_);
	return v;
}

control::HandlerResult Daemon::handle(const control::Request& req, const control::PeerCred& /*cred*/)
{
	const TimePoint now = now_tp();
	const std::string& cmd = req.cmd;
	auto parse_target = [&](net::Cidr& out, std::string& err) {
		const std::string& text = req.args["addr"].as_string();
		auto c = net::Cidr::parse(text, &err);
		if (!c) {
			err = fmt::format("\"{}\" is not an address or prefix{}", text, err.empty() ? "" : ": " + err);
			return false;
		}
		out = *c;
		return true;
	};
	if (cmd == "status")
		return {control::encode_ok(status_json())};
	if (cmd == "bans" || cmd == "follow") {
		json::Value body = json::Object{};
		json::Array list;
		for (const auto& b : bans_->active(now))
			list.push_back(ban_json(b, now));
		body.set("bans", std::move(list));
		bool follow = cmd == "follow" || req.args["follow"].as_bool();
		return {control::encode_ok(std::move(body)), follow};
	}
	if (cmd == "ban") {
		net::Cidr target;
		std::string err;
		if (!parse_target(target, err))
			return {control::encode_error(err)};
		int64_t for_s = req.args["for_s"].as_int(0);
		if (for_s < 0)
			return {control::encode_error("the duration must be positive")};
		std::string reason = req.args["reason"].as_string();
		if (reason.empty())
			reason = "manual ban";
		engine::BanResult r = bans_->ban(target, std::chrono::seconds(for_s), reason, now);
		if (r.outcome != engine::BanOutcome::Banned && r.outcome != engine::BanOutcome::AlreadyBanned)
			return {control::encode_error(
				fmt::format("{} not banned: {}", target.to_string(), engine::to_string(r.outcome)))};
		// Answer once the element is in the kernel, so scripts can rely on it.
		writer_->flush();
		json::Value body = json::Object{};
		body.set("outcome", std::string(engine::to_string(r.outcome)));
		if (r.ban)
			body.set("ban", ban_json(*r.ban, now));
		return {control::encode_ok(std::move(body))};
	}
	if (cmd == "unban") {
		net::Cidr target;
		std::string err;
		if (!parse_target(target, err))
			return {control::encode_error(err)};
		if (!bans_->unban(target, now))
			return {control::encode_error(fmt::format("no active ban for {}", target.to_string()))};
		writer_->flush();
		return {control::encode_ok()};
	}
	if (cmd == "explain") {
		auto a = net::IpAddress::parse(req.args["addr"].as_string());
		if (!a)
			return {control::encode_error(
				fmt::format("\"{}\" is not an IPv4 or IPv6 address", req.args["addr"].as_string()))};
		engine::Explanation x = bans_->explain(*a, now);
		json::Value body = json::Object{};
		body.set("addr", a->to_string());
		body.set("allowlisted", x.allowlisted);
		body.set("trusted", x.trusted);
		json::Array list;
		for (const auto& b : x.bans)
			list.push_back(ban_json(b, now));
		body.set("bans", std::move(list));
		if (x.history) {
			json::Value h = json::Object{};
			h.set("target", x.history->target.to_string());
			h.set("count", x.history->count);
			h.set("last", engine::format_rfc3339(x.history->last));
			json::Array offences;
			for (const auto& o : x.history->offences) {
				json::Value ov = json::Object{};
				ov.set("at", engine::format_rfc3339(o.at));
				ov.set("detector", std::string(detect::to_string(o.detector)));
				ov.set("reason", o.reason);
				ov.set("duration_s", std::chrono::duration_cast<std::chrono::seconds>(o.duration).count());
				offences.push_back(std::move(ov));
			}
			h.set("offences", std::move(offences));
			body.set("history", std::move(h));
		}
		return {control::encode_ok(std::move(body))};
	}
	if (cmd == "stats" || cmd == "metrics") {
		json::Value body = json::Object{};
		body.set("metrics", registry_.scrape());
		return {control::encode_ok(std::move(body))};
	}
	if (cmd == "reload") {
		std::future<std::string> f;
		{
			std::lock_guard lock(reload_mu_);
			reload_waiters_.emplace_back();
			f = reload_waiters_.back().get_future();
		}
		uint64_t one = 1;
		[[maybe_unused]] ssize_t n = ::write(reload_fd_.get(), &one, sizeof(one));
		if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
			return {control::encode_error("the reload did not finish within 10 s; see the journal")};
		std::string result = f.get();
		if (!result.empty())
			return {control::encode_error(result)};
		json::Value body = json::Object{};
		body.set("config", config_->source());
		return {control::encode_ok(std::move(body))};
	}
	return {control::encode_error(fmt::format("unknown command \"{}\"", cmd))};
}

void Daemon::collect(Exposition& e)
{
	static constexpr const char* kDir[2] = {"in", "out"};
	e.family("sipguard_up", Type::Gauge, "1 while the daemon runs.");
	e.sample("sipguard_up", 1);
	e.family("sipguard_packets_total", Type::Counter, "Packets inspected, by direction (in: to the PBX).");
	e.family("sipguard_verdicts_total", Type::Counter, "Verdicts given, by direction and verdict.");
	e.family("sipguard_sip_requests_total", Type::Counter, "SIP requests seen, by method.");
	e.family("sipguard_sip_responses_total", Type::Counter, "SIP responses seen, by status class.");
	uint64_t pk[2] = {0, 0}, acc[2] = {0, 0}, drp[2] = {0, 0};
	uint64_t meth[kPeekMethodCount] = {};
	uint64_t st[7] = {};
	engine::EngineCounters sum;
	calls::Counters csum;
	uint64_t pinholes = 0, dialogs = 0, pin_fail = 0;
	for (const auto& s : shards_) {
		for (int i = 0; i < 2; ++i) {
			pk[i] += s->packets[i].get();
			acc[i] += s->accepted[i].get();
			drp[i] += s->dropped[i].get();
		}
		for (size_t m = 0; m < kPeekMethodCount; ++m)
			meth[m] += s->methods[m].get();
		for (int c = 1; c <= 6; ++c)
			st[c] += s->status_class[c].get();
		// A torn read of a counter another thread writes is acceptable for
		// metrics (Engine::counters() documents it).
		const auto& c = s->engine_counters();
		sum.malformed += c.malformed;
		sum.not_sip += c.not_sip;
		sum.keepalives += c.keepalives;
		sum.fragments += c.fragments;
		sum.dropped_banned += c.dropped_banned;
		sum.shed += c.shed;
		sum.findings += c.findings;
		for (size_t d = 0; d < detect::kDetectorCount; ++d)
			sum.findings_by_detector[d] += c.findings_by_detector[d];
		sum.source_evictions += c.source_evictions;
		sum.prefix_evictions += c.prefix_evictions;
		sum.transaction_evictions += c.transaction_evictions;
		sum.flow_evictions += c.flow_evictions;
		sum.forged_dropped += c.forged_dropped;
		sum.call_hook_drops += c.call_hook_drops;
		const auto& tc = s->tracker().counters();
		csum.dialogs_created += tc.dialogs_created;
		csum.dialogs_evicted += tc.dialogs_evicted;
		csum.pinholes_opened += tc.pinholes_opened;
		csum.pinhole_table_full += tc.pinhole_table_full;
		csum.call_limit_dropped += tc.call_limit_dropped;
		pinholes += s->tracker().open_pinholes();
		dialogs += s->tracker().active_dialogs();
		pin_fail += s->pinhole_submit_failed.get();
	}
	for (int i = 0; i < 2; ++i) {
		e.sample("sipguard_packets_total", {{"direction", kDir[i]}}, static_cast<double>(pk[i]));
		e.sample("sipguard_verdicts_total", {{"direction", kDir[i]}, {"verdict", "accept"}}, static_cast<double>(acc[i]));
		e.sample("sipguard_verdicts_total", {{"direction", kDir[i]}, {"verdict", "drop"}}, static_cast<double>(drp[i]));
	}
	for (size_t m = 0; m < kPeekMethodCount; ++m)
		e.sample("sipguard_sip_requests_total", {{"method", std::string(kPeekMethodNames[m])}},
		         static_cast<double>(meth[m]));
	for (int c = 1; c <= 6; ++c)
		e.sample("sipguard_sip_responses_total", {{"class", fmt::format("{}xx", c)}}, static_cast<double>(st[c]));
	e.family("sipguard_malformed_total", Type::Counter, "Messages on SIP ports that failed to parse, by kind.");
	e.sample("sipguard_malformed_total", {{"kind", "malformed"}}, static_cast<double>(sum.malformed));
	e.sample("sipguard_malformed_total", {{"kind", "not_sip"}}, static_cast<double>(sum.not_sip));
	e.family("sipguard_keepalives_total", Type::Counter, "CRLF and STUN keep-alives.");
	e.sample("sipguard_keepalives_total", static_cast<double>(sum.keepalives));
	e.family("sipguard_findings_total", Type::Counter, "Detector findings, by detector.");
	for (size_t d = 0; d < detect::kDetectorCount; ++d)
		e.sample("sipguard_findings_total", {{"detector", std::string(detect::to_string(static_cast<detect::Detector>(d)))}},
		         static_cast<double>(sum.findings_by_detector[d]));
	e.family("sipguard_dropped_total", Type::Counter, "Packets the agent dropped, by cause.");
	e.sample("sipguard_dropped_total", {{"cause", "banned"}}, static_cast<double>(sum.dropped_banned));
	e.sample("sipguard_dropped_total", {{"cause", "global_guard"}}, static_cast<double>(sum.shed));
	e.sample("sipguard_dropped_total", {{"cause", "forged"}}, static_cast<double>(sum.forged_dropped));
	e.sample("sipguard_dropped_total", {{"cause", "call_policy"}}, static_cast<double>(sum.call_hook_drops));
	e.family("sipguard_evictions_total", Type::Counter, "Entries evicted from full bounded tables, by table.");
	e.sample("sipguard_evictions_total", {{"table", "sources"}}, static_cast<double>(sum.source_evictions));
	e.sample("sipguard_evictions_total", {{"table", "prefixes"}}, static_cast<double>(sum.prefix_evictions));
	e.sample("sipguard_evictions_total", {{"table", "transactions"}}, static_cast<double>(sum.transaction_evictions));
	e.sample("sipguard_evictions_total", {{"table", "tcp_flows"}}, static_cast<double>(sum.flow_evictions));
	e.sample("sipguard_evictions_total", {{"table", "dialogs"}}, static_cast<double>(csum.dialogs_evicted));

	e.family("sipguard_bans_active", Type::Gauge, "Bans in force (hosts and prefixes).");
	e.sample("sipguard_bans_active", static_cast<double>(bans_->active_count()));
	e.family("sipguard_bans_total", Type::Counter, "Bans applied since start (restored bans excluded).");
	e.sample("sipguard_bans_total", static_cast<double>(bans_total_.load()));
	e.family("sipguard_unbans_total", Type::Counter, "Bans lifted since start (manual and expired).");
	e.sample("sipguard_unbans_total", static_cast<double>(unbans_total_.load()));
	e.family("sipguard_pinholes_active", Type::Gauge, "Media pinholes open.");
	e.sample("sipguard_pinholes_active", static_cast<double>(pinholes));
	e.family("sipguard_calls_active", Type::Gauge, "Dialogs tracked (early and confirmed).");
	e.sample("sipguard_calls_active", static_cast<double>(dialogs));
	e.family("sipguard_calls_total", Type::Counter, "Dialogs created.");
	e.sample("sipguard_calls_total", static_cast<double>(csum.dialogs_created));
	e.family("sipguard_pinhole_table_full_total", Type::Counter, "Calls that got no media pinhole (table full).");
	e.sample("sipguard_pinhole_table_full_total", static_cast<double>(csum.pinhole_table_full));

	// Queue health: our receive side and the kernel's own counters.
	e.family("sipguard_queue_received_total", Type::Counter, "Packets received from each NFQUEUE.");
	e.family("sipguard_queue_enobufs_total", Type::Counter, "Receive calls that reported ENOBUFS (messages lost).");
	for (size_t i = 0; i < queues_.size(); ++i) {
		nfq::QueueStats qs = queues_.queue(i).stats();
		metrics::Labels l{{"queue", std::to_string(queues_.queue(i).config().queue_num)}};
		e.sample("sipguard_queue_received_total", l, static_cast<double>(qs.received));
		e.sample("sipguard_queue_enobufs_total", l, static_cast<double>(qs.enobufs));
	}
	std::vector<nfq::KernelQueueStats> ks;
	std::string err;
	e.family("sipguard_kernel_queue_dropped_total", Type::Counter,
	         "Packets the kernel dropped for a queue (from /proc/net/netfilter/nfnetlink_queue), by reason.");
	e.family("sipguard_kernel_queue_waiting", Type::Gauge, "Packets waiting for a verdict in the kernel.");
	if (nfq::read_proc_queue_stats(ks, err)) {
		for (const auto& k : ks) {
			if (k.queue_num < config_->daemon().queue_base || k.queue_num >= config_->daemon().queue_base + shards_.size())
				continue;
			metrics::Labels l{{"queue", std::to_string(k.queue_num)}};
			metrics::Labels lq = l, lu = l;
			lq.emplace_back("reason", "queue_full");
			lu.emplace_back("reason", "socket_full");
			e.sample("sipguard_kernel_queue_dropped_total", lq, k.queue_dropped);
			e.sample("sipguard_kernel_queue_dropped_total", lu, k.user_dropped);
			e.sample("sipguard_kernel_queue_waiting", l, k.queue_total);
		}
	}

	if (writer_) {
		rules::WriterStats ws = writer_->stats();
		e.family("sipguard_rules_batch_seconds", Type::Summary, "Latency of rules-writer netlink batches.");
		e.sample("sipguard_rules_batch_seconds_sum", static_cast<double>(ws.batch_latency_ns_sum) / 1e9);
		e.sample("sipguard_rules_batch_seconds_count", static_cast<double>(ws.batches));
		e.family("sipguard_rules_batch_seconds_max", Type::Gauge, "Slowest rules-writer batch since start.");
		e.sample("sipguard_rules_batch_seconds_max", static_cast<double>(ws.batch_latency_ns_max) / 1e9);
		e.family("sipguard_rules_elements_total", Type::Counter, "Set element changes by outcome.");
		e.sample("sipguard_rules_elements_total", {{"outcome", "applied"}}, static_cast<double>(ws.elements));
		e.sample("sipguard_rules_elements_total", {{"outcome", "failed"}}, static_cast<double>(ws.failed_elements));
		e.sample("sipguard_rules_elements_total", {{"outcome", "queue_full"}},
		         static_cast<double>(ws.rejected_full + pin_fail));
	}
	// The kernel's own drop counters of our ban and media rules. This
	// socket belongs to the control thread (collectors run only there).
	if (!metrics_nl_.is_open())
		(void)metrics_nl_.open();
	rules::Counters rc;
	if (metrics_nl_.is_open() && rules::read_counters(metrics_nl_, rc).ok()) {
		e.family("sipguard_kernel_dropped_packets_total", Type::Counter,
		         "Packets dropped by table inet sipguard itself, by rule.");
		e.sample("sipguard_kernel_dropped_packets_total", {{"rule", "ban"}}, static_cast<double>(rc.ban_drop_packets));
		e.sample("sipguard_kernel_dropped_packets_total", {{"rule", "media"}},
		         static_cast<double>(rc.media_drop_packets));
	}
	restore_seconds_.collect(e, "sipguard_restore_seconds", "Time to re-apply saved bans at start.");
	e.family("sipguard_reloads_total", Type::Counter, "Config reloads, by result.");
	e.sample("sipguard_reloads_total", {{"result", "applied"}}, static_cast<double>(reloads_ok_.load()));
	e.sample("sipguard_reloads_total", {{"result", "rejected"}}, static_cast<double>(reloads_failed_.load()));
	e.family("sipguard_state_saves_total", Type::Counter, "State file saves, by result.");
	e.sample("sipguard_state_saves_total", {{"result", "ok"}}, static_cast<double>(saves_.load()));
	e.sample("sipguard_state_saves_total", {{"result", "error"}}, static_cast<double>(save_errors_.load()));
	e.family("sipguard_control_clients", Type::Gauge, "Connected control/metrics clients.");
	e.sample("sipguard_control_clients", static_cast<double>(control_ ? control_->clients() : 0));
}

} // namespace

int run_daemon(const RunOptions& options)
{
	Daemon d(options);
	return d.run();
}

} // namespace sipguard::daemon
