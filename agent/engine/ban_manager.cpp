// SPDX-License-Identifier: GPL-2.0-or-later
// Ban manager: the safety check, policy, escalation ladder, prefix
// aggregation, expiry and persistence snapshot. Every change is logged and
// announced to the listener.
#include "agent/engine/ban_manager.h"

#include <algorithm>

#include <fmt/core.h>

#include "agent/detect/text.h"
#include "agent/util/log.h"

namespace sipguard::engine {

namespace {

int64_t seconds(util::Millis m) { return m.count() / 1000; }

// Refusals for policy (allowlist, trusted) keep their own outcome: the
// engine and `sipguard replay` have always reported them as "allowlisted".
bool is_policy(BanRefusal r) { return r == BanRefusal::Allowlisted || r == BanRefusal::Trusted; }

std::vector<net::Cidr> unmapped(const std::vector<net::Cidr>& blocks)
{
	std::vector<net::Cidr> out;
	out.reserve(blocks.size());
	for (const auto& c : blocks)
		out.push_back(unmap_v4(c));
	return out;
}

// Saved bans refused at restore are logged one by one up to this many, then
// counted in one line: a state file of 20,000 bans must not flood the journal.
constexpr size_t kRestoreRefusalsLogged = 8;

} // namespace

std::string finding_note(const BanResult& r)
{
	switch (r.outcome) {
	case BanOutcome::Banned: return {};
	case BanOutcome::AlreadyBanned: return "already banned";
	case BanOutcome::Allowlisted: return r.refusal == BanRefusal::Trusted ? "trusted: not banned" : "allowlisted: not banned";
	case BanOutcome::DryRun: return "dry run: not banned";
	case BanOutcome::TableFull: return "ban table full: not banned";
	case BanOutcome::Reported: return "reported, not banned";
	case BanOutcome::Invalid: return "invalid address: not banned";
	case BanOutcome::Refused: return fmt::format("not banned: {}", r.message);
	}
	return {};
}

BanLogEvent ban_event(std::string_view event, const BanRecord& r, util::TimePoint ts)
{
	BanLogEvent e;
	e.ts = ts;
	e.event = event;
	e.target = r.target;
	e.detector = detect::to_string(r.detector);
	e.reason = r.reason;
	e.evidence_json = r.evidence_json;
	e.evidence_text = r.evidence_text;
	e.duration_s = seconds(r.duration());
	e.offence_count = r.offence_count;
	if (event == "ban" || event == "prefix_ban")
		e.until = r.until;
	return e;
}

BanLogEvent listed_ban(const BanRecord& r, util::TimePoint now)
{
	BanLogEvent e = ban_event(r.prefix ? "prefix_ban" : "ban", r, r.start);
	e.remaining_s = seconds(r.remaining(now));
	return e;
}

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
	case BanOutcome::Refused: return "refused";
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
	safety_.allowlist = unmapped(config.allowlist);
	safety_.trusted = unmapped(config.trusted);
	safety_.min_prefix_v4 = ban_cfg_.min_prefix_v4;
	safety_.min_prefix_v6 = ban_cfg_.min_prefix_v6;
	dry_run_ = config.dry_run;
	bump();
}

size_t BanManager::set_own_addresses(std::vector<net::IpAddress> addrs, util::TimePoint now)
{
	for (auto& a : addrs)
		a = unmap_v4(a);
	std::erase_if(addrs, [](const net::IpAddress& a) { return !a.valid(); });
	std::sort(addrs.begin(), addrs.end());
	addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
	std::lock_guard lock(mu_);
	safety_.own_addresses = std::move(addrs);
	std::vector<net::Cidr> lift;
	for (const auto& [k, b] : active_)
		for (const auto& own : safety_.own_addresses)
			if (k.contains(own)) {
				lift.push_back(k);
				break;
			}
	std::sort(lift.begin(), lift.end(), [](const net::Cidr& a, const net::Cidr& b) {
		return std::tie(a.base, a.prefix_len) < std::tie(b.base, b.prefix_len);
	});
	for (const auto& k : lift) {
		LOG(Engine, Warning, "lifting the ban of {}: {}", k.to_string(), safety_.explain(k, true));
		remove_locked(k, "unban", UnbanCause::Manual, now);
	}
	return lift.size();
}

BanSafety BanManager::safety() const
{
	std::lock_guard lock(mu_);
	return safety_;
}

RefusalCounts BanManager::refusals() const
{
	std::lock_guard lock(mu_);
	return refusals_;
}

void BanManager::set_listener(BanListener* listener)
{
	std::lock_guard lock(mu_);
	listener_ = listener;
}

void BanManager::bump() { generation_.fetch_add(1, std::memory_order_acq_rel); }

bool BanManager::policy_exempt_locked(const net::IpAddress& a) const
{
	return net::Cidr::any_contains(safety_.allowlist, a) || net::Cidr::any_contains(safety_.trusted, a);
}

bool BanManager::refused_locked(const net::Cidr& target, bool force, BanResult& res) const
{
	const BanRefusal why = safety_.check(target, force);
	if (why == BanRefusal::None)
		return false;
	res.outcome = is_policy(why) ? BanOutcome::Allowlisted : BanOutcome::Refused;
	res.refusal = why;
	res.message = safety_.explain(target, force);
	return true;
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
	if (log_)
		log_->write(ban_event(event, r, now));
}

void BanManager::log_finding_locked(const detect::Finding& f, const net::Cidr& target, std::string_view note)
{
	if (!log_)
		return;
	std::string json, text;
	f.evidence.append_json(json);
	f.evidence.append_text(text);
	BanLogEvent e;
	e.ts = f.at;
	e.event = "finding";
	e.target = target;
	e.detector = detect::to_string(f.detector);
	e.reason = f.reason;
	e.note = note;
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

std::optional<BanRecord> BanManager::maybe_prefix_ban_locked(const net::IpAddress& a, util::TimePoint now,
                                                             BanRefusal& refused)
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
	if (auto it = active_.find(prefix); it != active_.end() && it->second.until > now)
		return std::nullopt;
	if (known_prefix_locked(prefix, now)) {
		// Host bans only: the prefix holds a source that authenticated.
		recent.clear();
		return std::nullopt;
	}
	const BanRecord* trigger = covering_locked(a, now);
	Detector d = trigger ? trigger->detector : Detector::Manual;
	std::string reason = fmt::format("{} addresses of {} banned within {}s", recent.size(), prefix.to_string(),
	                                 seconds(ban_cfg_.prefix_window));
	if (BanResult r; refused_locked(prefix, false, r)) {
		// The host bans stand; the prefix would cut off what must never be.
		// Start counting again, so one busy prefix is reported once per
		// threshold, not once per ban.
		refused = r.refusal;
		++refusals_.aggregations;
		LOG(Engine, Warning, "not aggregating: {}", r.message);
		if (log_) {
			BanLogEvent e;
			e.ts = now;
			e.event = "finding";
			e.target = prefix;
			e.detector = detect::to_string(d);
			e.reason = reason;
			const std::string note = finding_note(r);
			e.note = note;
			log_->write(e);
		}
		recent.clear();
		return std::nullopt;
	}
	OffenceHistory& h = record_offence_locked(prefix, d, "prefix aggregation", now);
	BanRecord rec;
	rec.target = prefix;
	rec.detector = d;
	rec.reason = std::move(reason);
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
	// A mapped IPv6 source (::ffff:a.b.c.d) is the IPv4 host it names: it is
	// banned, and judged, in the IPv4 set; a prefix finding becomes the
	// IPv4 aggregation prefix.
	const net::IpAddress src = unmap_v4(f.source);
	uint8_t len = f.prefix_len ? f.prefix_len : static_cast<uint8_t>(f.source.max_prefix());
	if (src.family != f.source.family)
		len = len >= 96 ? static_cast<uint8_t>(len - 96) : ban_cfg_.prefix_len_v4;
	if (len > src.max_prefix())
		return res;
	net::Cidr target{src.masked(len), len};
	bool is_prefix = len < src.max_prefix();

	std::lock_guard lock(mu_);
	if (is_prefix && known_prefix_locked(target, now)) {
		// A source authenticated from this prefix: the sender is banned, not
		// its neighbours (spoofed sources around an office must not cut it off).
		target = net::Cidr::host(src);
		is_prefix = false;
	}
	if (refused_locked(target, false, res)) {
		++refusals_.findings;
		log_finding_locked(f, target, finding_note(res));
		return res;
	}
	if (!f.wants_ban) {
		res.outcome = BanOutcome::Reported;
		log_finding_locked(f, target, finding_note(res));
		return res;
	}
	if (dry_run_) {
		res.outcome = BanOutcome::DryRun;
		log_finding_locked(f, target, finding_note(res));
		return res;
	}
	if (const BanRecord* b = is_prefix ? nullptr : covering_locked(src, now)) {
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
		log_finding_locked(f, target, finding_note(res));
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
		res.prefix_ban = maybe_prefix_ban_locked(src, now, res.prefix_refusal);
	return res;
}

namespace {
constexpr size_t kMaxKnownPrefixes = 65536;
// When the table is full, entries noted longer ago than this make room.
constexpr auto kKnownPrefixPrune = std::chrono::hours(24);
} // namespace

void BanManager::note_authenticated(const net::IpAddress& addr, util::TimePoint now)
{
	const net::IpAddress a = unmap_v4(addr);
	std::lock_guard lock(mu_);
	const uint8_t len = a.is_v4() ? ban_cfg_.prefix_len_v4 : ban_cfg_.prefix_len_v6;
	const net::Cidr prefix{a.masked(len), len};
	if (known_prefixes_.size() >= kMaxKnownPrefixes && !known_prefixes_.contains(prefix)) {
		std::erase_if(known_prefixes_, [&](const auto& e) { return now - e.second > kKnownPrefixPrune; });
		if (known_prefixes_.size() >= kMaxKnownPrefixes)
			return; // full of recent entries: this prefix stays unprotected
	}
	known_prefixes_[prefix] = now;
}

bool BanManager::known_prefix_locked(const net::Cidr& prefix, util::TimePoint) const
{
	return known_prefixes_.contains(prefix);
}

BanResult BanManager::manual_locked(const net::Cidr& target, util::Millis duration, std::string reason, bool force,
                                    bool record_history, uint64_t& refused_counter, util::TimePoint now)
{
	BanResult res;
	if (refused_locked(target, force, res)) {
		++refused_counter;
		return res;
	}
	BanRecord rec;
	rec.target = target;
	rec.detector = Detector::Manual;
	rec.reason = std::move(reason);
	rec.start = now;
	if (record_history) {
		OffenceHistory& h = record_offence_locked(target, Detector::Manual, rec.reason, now);
		if (duration.count() > 0 && !h.offences.empty())
			h.offences.back().duration = duration; // the operator's --for, not the ladder step
		rec.until = now + (duration.count() > 0 ? duration : ladder_locked(h.count));
		rec.offence_count = h.count;
	} else {
		rec.until = now + duration;
		rec.offence_count = 1;
	}
	rec.prefix = !target.is_host();
	std::string_view event = rec.prefix ? "prefix_ban" : "ban";
	res.ban = install_locked(std::move(rec), event, now);
	res.outcome = BanOutcome::Banned;
	return res;
}

BanResult BanManager::ban(const net::Cidr& raw, util::Millis duration, std::string_view reason, util::TimePoint now,
                          bool force)
{
	const net::Cidr target = unmap_v4(raw);
	if (!target.base.valid())
		return {};
	std::string text = detect::printable_text(reason, kMaxReasonBytes);
	if (text.empty())
		text = "manual ban";
	std::lock_guard lock(mu_);
	return manual_locked(target, duration, std::move(text), force, true, refusals_.manual, now);
}

BanResult BanManager::import_ban(const net::Cidr& raw, util::Millis duration, std::string_view origin,
                                 std::string_view reason, util::TimePoint now)
{
	const net::Cidr target = unmap_v4(raw);
	if (!target.base.valid() || duration.count() <= 0)
		return {};
	std::string text = detect::printable_text(origin, 64);
	if (!reason.empty())
		text += ": " + detect::printable_text(reason, kMaxReasonBytes);
	std::lock_guard lock(mu_);
	return manual_locked(target, duration, std::move(text), false, false, refusals_.imports, now);
}

bool BanManager::unban(const net::Cidr& raw, util::TimePoint now)
{
	const net::Cidr target = unmap_v4(raw);
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

Explanation BanManager::explain(const net::IpAddress& raw, util::TimePoint now) const
{
	const net::IpAddress addr = unmap_v4(raw);
	std::lock_guard lock(mu_);
	Explanation e;
	e.allowlisted = policy_exempt_locked(addr);
	e.trusted = net::Cidr::any_contains(safety_.trusted, addr);
	if (addr.valid())
		e.never_banned = safety_.explain(net::Cidr::host(addr), true);
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
	const net::IpAddress a = unmap_v4(addr);
	std::lock_guard lock(mu_);
	return covering_locked(a, now) != nullptr;
}

bool BanManager::is_allowlisted(const net::IpAddress& addr) const
{
	const net::IpAddress a = unmap_v4(addr);
	std::lock_guard lock(mu_);
	return policy_exempt_locked(a);
}

bool BanManager::is_trusted(const net::IpAddress& addr) const
{
	const net::IpAddress a = unmap_v4(addr);
	std::lock_guard lock(mu_);
	return net::Cidr::any_contains(safety_.trusted, a);
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

RestoreResult BanManager::restore(const BanSnapshot& s, util::TimePoint now)
{
	RestoreResult out;
	std::lock_guard lock(mu_);
	for (const auto& saved : s.history)
		if (now - saved.last <= ban_cfg_.history_ttl) {
			OffenceHistory h = saved;
			h.target = unmap_v4(h.target);
			history_[h.target] = std::move(h);
		}
	for (const auto& a : s.bans) {
		if (a.remaining.count() <= 0) {
			++out.expired;
			continue;
		}
		BanRecord rec = a.ban;
		rec.target = unmap_v4(rec.target);
		rec.reason = detect::printable_text(rec.reason, kMaxReasonBytes);
		// The allowlist, the host's addresses or the file changed while we
		// were down: the rails win. A saved ban keeps the prefix length it
		// was made with (an operator may have forced it).
		if (BanResult r; refused_locked(rec.target, true, r)) {
			++out.refused;
			++refusals_.restored;
			if (out.refused <= kRestoreRefusalsLogged)
				LOG(Engine, Warning, "saved ban not restored: {}", r.message);
			continue;
		}
		rec.until = now + a.remaining;
		auto [it, inserted] = active_.insert_or_assign(rec.target, std::move(rec));
		if (inserted)
			++len_count_[it->second.target.prefix_len];
		++out.restored;
		if (listener_)
			listener_->on_ban(it->second);
	}
	if (out.refused > kRestoreRefusalsLogged)
		LOG(Engine, Warning, "{} more saved bans not restored (refused by the safety rails)",
		    out.refused - kRestoreRefusalsLogged);
	bump();
	return out;
}

} // namespace sipguard::engine
