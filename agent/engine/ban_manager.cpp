// SPDX-License-Identifier: GPL-2.0-or-later
// Ban manager: policy, escalation ladder, prefix aggregation, expiry and
// persistence snapshot. Every change is logged and announced to the listener.
#include "agent/engine/ban_manager.h"

#include <algorithm>

#include <fmt/core.h>

#include "agent/util/log.h"

namespace sipguard::engine {

namespace {

// True when the two blocks overlap (one contains the other's base).
bool overlaps(const net::Cidr& a, const net::Cidr& b)
{
	if (a.base.family != b.base.family)
		return false;
	return a.prefix_len <= b.prefix_len ? a.contains(b.base) : b.contains(a.base);
}

int64_t seconds(util::Millis m) { return m.count() / 1000; }

} // namespace

std::string_view to_string(BanOutcome o)
{
	switch (o) {
	case BanOutcome::Banned: return "banned";
	case BanOutcome::AlreadyBanned: return "already_banned";
	case BanOutcome::Allowlisted: return "allowlisted";
	case BanOutcome::DryRun: return "dry_run";
	case BanOutcome::TableFull: return "table_full";
	case BanOutcome::Reported: return "reported";
	case BanOutcome::Invalid: return "invalid";
	}
	return "?";
}

size_t BanManager::CidrHash::operator()(const net::Cidr& c) const noexcept
{
	return static_cast<size_t>(util::hash_combine(net::hash_address(c.base, seed), c.prefix_len));
}

BanManager::BanManager(const Config& config, BanLog* log, uint64_t hash_seed)
	: log_(log), active_(0, CidrHash{hash_seed}), history_(0, CidrHash{hash_seed}),
	  recent_by_prefix_(0, CidrHash{hash_seed})
{
	reconfigure(config);
}

void BanManager::reconfigure(const Config& config)
{
	std::lock_guard lock(mu_);
	ban_cfg_ = config.ban;
	if (ban_cfg_.ladder.empty())
		ban_cfg_.ladder.push_back(util::Millis(600000));
	allowlist_ = config.allowlist;
	trusted_ = config.trusted;
	dry_run_ = config.dry_run;
	bump();
}

void BanManager::set_listener(BanListener* listener)
{
	std::lock_guard lock(mu_);
	listener_ = listener;
}

void BanManager::bump() { generation_.fetch_add(1, std::memory_order_acq_rel); }

bool BanManager::policy_exempt_locked(const net::IpAddress& a) const
{
	return net::Cidr::any_contains(allowlist_, a) || net::Cidr::any_contains(trusted_, a);
}

bool BanManager::prefix_covers_exempt_locked(const net::Cidr& c) const
{
	for (const auto& a : allowlist_)
		if (overlaps(a, c))
			return true;
	for (const auto& t : trusted_)
		if (overlaps(t, c))
			return true;
	return false;
}

const BanRecord* BanManager::covering_locked(const net::IpAddress& a, util::TimePoint now) const
{
	if (!a.valid())
		return nullptr;
	for (unsigned len = a.max_prefix() + 1; len-- > 0;) {
		if (len_count_[len] == 0)
			continue;
		auto it = active_.find(net::Cidr{a.masked(len), static_cast<uint8_t>(len)});
		if (it != active_.end() && it->second.until > now)
			return &it->second;
	}
	return nullptr;
}

util::Millis BanManager::ladder_locked(uint32_t offence_count) const
{
	size_t i = std::min<size_t>(offence_count == 0 ? 0 : offence_count - 1, ban_cfg_.ladder.size() - 1);
	return ban_cfg_.ladder[i];
}

void BanManager::prune_history_locked(util::TimePoint now)
{
	if (history_.size() < ban_cfg_.max_history)
		return;
	// Forget expired histories first, then the oldest tenth: amortised, rare.
	for (auto it = history_.begin(); it != history_.end();)
		it = (now - it->second.last > ban_cfg_.history_ttl) ? history_.erase(it) : std::next(it);
	if (history_.size() < ban_cfg_.max_history)
		return;
	std::vector<std::pair<util::TimePoint, net::Cidr>> ages;
	ages.reserve(history_.size());
	for (const auto& [k, h] : history_)
		ages.emplace_back(h.last, k);
	size_t n = std::max<size_t>(1, ages.size() / 10);
	std::nth_element(ages.begin(), ages.begin() + static_cast<ptrdiff_t>(n), ages.end(),
	                 [](const auto& x, const auto& y) { return x.first < y.first; });
	for (size_t i = 0; i < n; ++i)
		if (!active_.count(ages[i].second))
			history_.erase(ages[i].second);
}

OffenceHistory& BanManager::record_offence_locked(const net::Cidr& target, Detector d, std::string_view reason,
                                                  util::TimePoint now)
{
	prune_history_locked(now);
	OffenceHistory& h = history_[target];
	if (h.count > 0 && now - h.last > ban_cfg_.history_ttl) {
		h.count = 0;
		h.offences.clear();
	}
	h.target = target;
	++h.count;
	h.last = now;
	if (h.offences.size() >= OffenceHistory::kMaxOffences)
		h.offences.erase(h.offences.begin());
	h.offences.push_back(Offence{now, d, std::string(reason), ladder_locked(h.count)});
	return h;
}

void BanManager::log_locked(std::string_view event, const BanRecord& r, util::TimePoint now)
{
	if (!log_)
		return;
	BanLogEvent e;
	e.ts = now;
	e.event = event;
	e.target = r.target;
	e.detector = detect::to_string(r.detector);
	e.reason = r.reason;
	e.evidence_json = r.evidence_json;
	e.evidence_text = r.evidence_text;
	e.duration_s = seconds(r.duration());
	e.offence_count = r.offence_count;
	log_->write(e);
}

void BanManager::log_finding_locked(const detect::Finding& f, std::string_view note)
{
	if (!log_)
		return;
	std::string json, text;
	f.evidence.append_json(json);
	f.evidence.append_text(text);
	std::string reason = fmt::format("{} ({})", f.reason, note);
	BanLogEvent e;
	e.ts = f.at;
	e.event = "finding";
	e.target = net::Cidr{f.source.masked(f.prefix_len), f.prefix_len};
	e.detector = detect::to_string(f.detector);
	e.reason = reason;
	e.evidence_json = json;
	e.evidence_text = text;
	log_->write(e);
}

BanRecord& BanManager::install_locked(BanRecord rec, std::string_view event, util::TimePoint now)
{
	auto [it, inserted] = active_.insert_or_assign(rec.target, std::move(rec));
	if (inserted)
		++len_count_[it->second.target.prefix_len];
	log_locked(event, it->second, now);
	if (listener_)
		listener_->on_ban(it->second);
	bump();
	return it->second;
}

void BanManager::remove_locked(const net::Cidr& target, std::string_view event, UnbanCause cause, util::TimePoint now)
{
	auto it = active_.find(target);
	if (it == active_.end())
		return;
	BanRecord rec = std::move(it->second);
	active_.erase(it);
	--len_count_[rec.target.prefix_len];
	log_locked(event, rec, now);
	if (listener_)
		listener_->on_unban(rec, cause);
	bump();
}

std::optional<BanRecord> BanManager::maybe_prefix_ban_locked(const net::IpAddress& a, util::TimePoint now)
{
	if (!ban_cfg_.prefix_enabled)
		return std::nullopt;
	uint8_t len = a.is_v4() ? ban_cfg_.prefix_len_v4 : ban_cfg_.prefix_len_v6;
	if (len >= a.max_prefix())
		return std::nullopt;
	net::Cidr prefix{a.masked(len), len};
	auto& recent = recent_by_prefix_[prefix];
	std::erase_if(recent, [&](const auto& e) { return now - e.second > ban_cfg_.prefix_window; });
	bool present = false;
	for (auto& e : recent)
		if (e.first == a) {
			e.second = now;
			present = true;
		}
	if (!present)
		recent.emplace_back(a, now);
	if (recent.size() < ban_cfg_.prefix_threshold)
		return std::nullopt;
	if (prefix_covers_exempt_locked(prefix)) {
		LOG(Engine, Warning, "not banning {}: it contains allowlisted or trusted addresses", prefix.to_string());
		return std::nullopt;
	}
	if (auto it = active_.find(prefix); it != active_.end() && it->second.until > now)
		return std::nullopt;
	const BanRecord* trigger = covering_locked(a, now);
	Detector d = trigger ? trigger->detector : Detector::Manual;
	OffenceHistory& h = record_offence_locked(prefix, d, "prefix aggregation", now);
	BanRecord rec;
	rec.target = prefix;
	rec.detector = d;
	rec.reason = fmt::format("{} addresses of {} banned within {}s", recent.size(), prefix.to_string(),
	                         seconds(ban_cfg_.prefix_window));
	rec.evidence_json = fmt::format("{{\"window_s\":{},\"banned_addresses\":{},\"samples\":{{\"addresses\":[",
	                                seconds(ban_cfg_.prefix_window), recent.size());
	rec.evidence_text = fmt::format("banned_addresses={}", recent.size());
	for (size_t i = 0; i < recent.size() && i < 8; ++i) {
		rec.evidence_json += fmt::format("{}\"{}\"", i ? "," : "", recent[i].first.to_string());
		rec.evidence_text += fmt::format(" addr={}", recent[i].first.to_string());
	}
	rec.evidence_json += "]}}";
	rec.start = now;
	rec.until = now + ladder_locked(h.count);
	rec.offence_count = h.count;
	rec.prefix = true;
	recent.clear();
	return install_locked(std::move(rec), "prefix_ban", now);
}

BanResult BanManager::on_finding(const detect::Finding& f, util::TimePoint now)
{
	BanResult res;
	if (!f.source.valid())
		return res;
	uint8_t len = f.prefix_len ? f.prefix_len : static_cast<uint8_t>(f.source.max_prefix());
	if (len > f.source.max_prefix())
		return res;
	net::Cidr target{f.source.masked(len), len};
	bool is_prefix = len < f.source.max_prefix();

	std::lock_guard lock(mu_);
	if (is_prefix ? prefix_covers_exempt_locked(target) : policy_exempt_locked(f.source)) {
		res.outcome = BanOutcome::Allowlisted;
		log_finding_locked(f, "allowlisted: not banned");
		return res;
	}
	if (!f.wants_ban) {
		res.outcome = BanOutcome::Reported;
		log_finding_locked(f, "reported, not banned");
		return res;
	}
	if (dry_run_) {
		res.outcome = BanOutcome::DryRun;
		log_finding_locked(f, "dry run: not banned");
		return res;
	}
	if (const BanRecord* b = is_prefix ? nullptr : covering_locked(f.source, now)) {
		res.outcome = BanOutcome::AlreadyBanned;
		res.ban = *b;
		return res;
	}
	if (is_prefix) {
		if (auto it = active_.find(target); it != active_.end() && it->second.until > now) {
			res.outcome = BanOutcome::AlreadyBanned;
			res.ban = it->second;
			return res;
		}
	}
	if (active_.size() >= ban_cfg_.max_active) {
		res.outcome = BanOutcome::TableFull;
		log_finding_locked(f, "ban table full: not banned");
		return res;
	}
	OffenceHistory& h = record_offence_locked(target, f.detector, f.reason, now);
	BanRecord rec;
	rec.target = target;
	rec.detector = f.detector;
	rec.reason = std::string(f.reason);
	rec.evidence_json.clear();
	f.evidence.append_json(rec.evidence_json);
	f.evidence.append_text(rec.evidence_text);
	rec.start = now;
	rec.until = now + ladder_locked(h.count);
	rec.offence_count = h.count;
	rec.prefix = is_prefix;
	res.ban = install_locked(std::move(rec), is_prefix ? "prefix_ban" : "ban", now);
	res.outcome = BanOutcome::Banned;
	if (!is_prefix)
		res.prefix_ban = maybe_prefix_ban_locked(f.source, now);
	return res;
}

BanResult BanManager::ban(const net::Cidr& target, util::Millis duration, std::string_view reason, util::TimePoint now)
{
	BanResult res;
	if (!target.base.valid())
		return res;
	std::lock_guard lock(mu_);
	if (prefix_covers_exempt_locked(target)) {
		res.outcome = BanOutcome::Allowlisted;
		return res;
	}
	OffenceHistory& h = record_offence_locked(target, Detector::Manual, reason, now);
	BanRecord rec;
	rec.target = target;
	rec.detector = Detector::Manual;
	rec.reason = reason.empty() ? std::string("manual ban") : std::string(reason);
	rec.start = now;
	if (duration.count() > 0 && !h.offences.empty())
		h.offences.back().duration = duration; // the operator's --for, not the ladder step
	rec.until = now + (duration.count() > 0 ? duration : ladder_locked(h.count));
	rec.offence_count = h.count;
	rec.prefix = !target.is_host();
	std::string_view event = rec.prefix ? "prefix_ban" : "ban";
	res.ban = install_locked(std::move(rec), event, now);
	res.outcome = BanOutcome::Banned;
	return res;
}

bool BanManager::unban(const net::Cidr& target, util::TimePoint now)
{
	std::lock_guard lock(mu_);
	if (!active_.count(target))
		return false;
	remove_locked(target, "unban", UnbanCause::Manual, now);
	return true;
}

size_t BanManager::expire(util::TimePoint now)
{
	std::lock_guard lock(mu_);
	std::vector<net::Cidr> due;
	for (const auto& [k, b] : active_)
		if (b.until <= now)
			due.push_back(k);
	// Deterministic order for logs and replay output.
	std::sort(due.begin(), due.end(), [](const net::Cidr& a, const net::Cidr& b) {
		return std::tie(a.base, a.prefix_len) < std::tie(b.base, b.prefix_len);
	});
	for (const auto& k : due)
		remove_locked(k, "expire", UnbanCause::Expired, now);
	for (auto it = recent_by_prefix_.begin(); it != recent_by_prefix_.end();) {
		std::erase_if(it->second, [&](const auto& e) { return now - e.second > ban_cfg_.prefix_window; });
		it = it->second.empty() ? recent_by_prefix_.erase(it) : std::next(it);
	}
	return due.size();
}

std::vector<BanRecord> BanManager::active(util::TimePoint now) const
{
	std::lock_guard lock(mu_);
	std::vector<BanRecord> out;
	out.reserve(active_.size());
	for (const auto& [k, b] : active_)
		if (b.until > now)
			out.push_back(b);
	std::sort(out.begin(), out.end(), [](const BanRecord& a, const BanRecord& b) {
		return std::tie(a.start, a.target.base, a.target.prefix_len) < std::tie(b.start, b.target.base, b.target.prefix_len);
	});
	return out;
}

Explanation BanManager::explain(const net::IpAddress& addr, util::TimePoint now) const
{
	std::lock_guard lock(mu_);
	Explanation e;
	e.allowlisted = net::Cidr::any_contains(allowlist_, addr) || net::Cidr::any_contains(trusted_, addr);
	e.trusted = net::Cidr::any_contains(trusted_, addr);
	for (unsigned len = 0; len <= addr.max_prefix(); ++len) {
		if (len_count_[len] == 0)
			continue;
		auto it = active_.find(net::Cidr{addr.masked(len), static_cast<uint8_t>(len)});
		if (it != active_.end() && it->second.until > now)
			e.bans.push_back(it->second);
	}
	if (auto it = history_.find(net::Cidr::host(addr)); it != history_.end())
		e.history = it->second;
	return e;
}

bool BanManager::is_banned(const net::IpAddress& addr, util::TimePoint now) const
{
	std::lock_guard lock(mu_);
	return covering_locked(addr, now) != nullptr;
}

bool BanManager::is_allowlisted(const net::IpAddress& addr) const
{
	std::lock_guard lock(mu_);
	return policy_exempt_locked(addr);
}

bool BanManager::is_trusted(const net::IpAddress& addr) const
{
	std::lock_guard lock(mu_);
	return net::Cidr::any_contains(trusted_, addr);
}

size_t BanManager::active_count() const
{
	std::lock_guard lock(mu_);
	return active_.size();
}

BanSnapshot BanManager::snapshot(util::TimePoint now) const
{
	std::lock_guard lock(mu_);
	BanSnapshot s;
	for (const auto& [k, b] : active_)
		if (b.until > now)
			s.bans.push_back(BanSnapshot::Active{b, b.remaining(now)});
	std::sort(s.bans.begin(), s.bans.end(), [](const auto& a, const auto& b) {
		return std::tie(a.ban.start, a.ban.target.base, a.ban.target.prefix_len) <
		       std::tie(b.ban.start, b.ban.target.base, b.ban.target.prefix_len);
	});
	for (const auto& [k, h] : history_)
		if (now - h.last <= ban_cfg_.history_ttl)
			s.history.push_back(h);
	return s;
}

void BanManager::restore(const BanSnapshot& s, util::TimePoint now)
{
	std::lock_guard lock(mu_);
	for (const auto& h : s.history)
		if (now - h.last <= ban_cfg_.history_ttl)
			history_[h.target] = h;
	for (const auto& a : s.bans) {
		if (a.remaining.count() <= 0)
			continue;
		if (a.ban.target.is_host() ? policy_exempt_locked(a.ban.target.base) : prefix_covers_exempt_locked(a.ban.target))
			continue; // the allowlist changed while we were down: it wins
		BanRecord rec = a.ban;
		rec.until = now + a.remaining;
		auto [it, inserted] = active_.insert_or_assign(rec.target, std::move(rec));
		if (inserted)
			++len_count_[it->second.target.prefix_len];
		if (listener_)
			listener_->on_ban(it->second);
	}
	bump();
}

} // namespace sipguard::engine
