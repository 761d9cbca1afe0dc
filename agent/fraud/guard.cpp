// SPDX-License-Identifier: GPL-2.0-or-later
// The toll-fraud guard: numbers, bad lists, policy, patterns and locks
// behind one mutex, plus the live calls that feed concurrency and summaries.
#include "agent/fraud/guard.h"

#include <algorithm>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "agent/config/loader.h"
#include "agent/fraud/bad_numbers.h"
#include "agent/fraud/locks.h"
#include "agent/fraud/number.h"
#include "agent/fraud/patterns.h"
#include "agent/fraud/policy.h"
#include "agent/fraud/time_zone.h"
#include "agent/util/bounded_table.h"
#include "agent/util/hash.h"

namespace sipguard::fraud {

namespace {

template <size_t N>
void copy_text(std::array<char, N>& out, std::string_view s)
{
	const size_t n = std::min(s.size(), N - 1);
	std::memcpy(out.data(), s.data(), n);
	out[n] = '\0';
}

inline constexpr size_t kMaxCallId = 128;
// Denied INVITEs are remembered this long so that their retransmissions
// (RFC 3261 Timer B: 64*T1 = 32 s) get the same verdict without counting again.
inline constexpr std::chrono::seconds kDeniedLinger{32};

struct LiveCall {
	char call_id[kMaxCallId] = {};
	uint16_t call_id_len = 0;   // cut length; longer Call-IDs compare by prefix and full hash
	uint64_t hash = 0;
	char account[kMaxAccountName] = {};
	uint8_t account_len = 0;
	uint64_t account_hash = 0;  // Patterns' hash of the (cut) account name
	util::TimePoint start{}, answered{};
	int32_t country = -1;
	NumberClass number_class = NumberClass::Unparsable;
	Verdict verdict = Verdict::Allow;
	bool counted = false;       // Patterns::call_started was called
	bool is_answered = false;
};

// Everything built from a Config; swapped whole by reconfigure().
struct Built {
	std::shared_ptr<const NumberTables> tables;
	NumberingPlan plan;
	Policy policy;
	std::shared_ptr<const BadNumbers> bad;
	BusinessHours hours;
	util::Duration clock_offset{};
};

util::Result<Built> build(const Config& c)
{
	if (std::optional<std::string> err = c.validate())
		return util::Status::invalid(*err);
	std::vector<std::string> paths;
	for (const std::string& t : c.number_tables)
		paths.push_back(!t.empty() && t.front() == '/' ? t : c.data_dir + "/" + t);
	util::Result<std::shared_ptr<const NumberTables>> tables = NumberTables::load(paths);
	if (!tables)
		return util::Status::invalid(fmt::format("fraud.number_tables: {}", tables.error()));
	util::Result<NumberingPlan> plan = NumberingPlan::create(c, *tables);
	if (!plan)
		return plan.status();
	util::Result<Policy> policy = Policy::compile(c, **tables);
	if (!policy)
		return policy.status();
	for (const std::string& f : c.bad_number_files)
		if (f.empty() || f.front() != '/')
			return util::Status::invalid(
				fmt::format("fraud.bad_number_files: \"{}\" is not an absolute path", f));
	util::Result<std::shared_ptr<const BadNumbers>> bad = BadNumbers::load(c.bad_number_files);
	if (!bad)
		return util::Status::invalid(fmt::format("fraud.bad_number_files: {}", bad.error()));
	util::Result<TimeZone> zone = TimeZone::load(c.time_zone, c.zoneinfo_dir);
	if (!zone)
		return zone.status();
	util::Result<BusinessHours> hours = BusinessHours::parse(c.business_hours, c.business_days, std::move(*zone));
	if (!hours)
		return hours.status();
	util::Result<util::Duration> offset = parse_clock_offset(c.clock_offset);
	if (!offset)
		return offset.status();
	return Built{std::move(*tables), std::move(*plan), std::move(*policy), std::move(*bad), std::move(*hours),
	             *offset};
}

std::vector<util::Duration> ladder_of(const Config& c)
{
	std::vector<util::Duration> out;
	for (auto d : c.lock_ladder)
		out.push_back(std::chrono::duration_cast<util::Duration>(d));
	return out;
}

} // namespace

struct Guard::Impl {
	explicit Impl(const Config& c, Built b)
		: seed(c.hash_seed), config(c), built(std::move(b)), patterns(c.pattern, c.max_accounts, c.hash_seed),
		  locks(c.max_locks, ladder_of(c), c.lock_forget, c.hash_seed), live(c.max_live_calls),
		  recent(c.recent_findings)
	{
		bad_hits.assign(built.bad->lists().size(), 0);
		summary.assign((built.tables->countries().size() + 1) * kNumberClassCount, Cell{});
	}

	struct Cell {
		uint64_t calls = 0;
		uint64_t seconds = 0;
	};

	const uint64_t seed; // config.hash_seed at construction; reconfigure keeps it
	Config config;
	Built built;
	Patterns patterns;
	Locks locks;
	util::BoundedTable<LiveCall> live;
	std::vector<Event> recent;
	size_t recent_next = 0, recent_count = 0;

	std::array<uint64_t, kNumberClassCount> by_class{};
	std::array<uint64_t, kVerdictCount> by_verdict{};
	std::array<uint64_t, kPatternCount> pattern_warn{}, pattern_critical{};
	std::vector<uint64_t> bad_hits;
	uint64_t policy_denied = 0, locked_stopped = 0, locks_imposed = 0, bad_reloads = 0;
	std::vector<Cell> summary; // (country id + 1, class)
	uint64_t seq = 0;
	util::TimePoint last_now{};
	TimeZone::Span zone_span; // the business-hours zone's offset around the last call
	mutable std::mutex mu;

	bool hours_inside(util::TimePoint t) { return built.hours.inside(t, zone_span); }

	uint32_t find_live(std::string_view call_id, uint64_t h, std::string_view account, bool any_account) const
	{
		const size_t cut = std::min(call_id.size(), kMaxCallId);
		return live.find(h, [&](const LiveCall& c) {
			return c.hash == h && c.call_id_len == cut && std::memcmp(c.call_id, call_id.data(), cut) == 0 &&
			       (any_account || std::string_view(c.account, c.account_len) ==
			                           account.substr(0, std::min(account.size(), kMaxAccountName)));
		});
	}

	Cell& cell(int32_t country, NumberClass c)
	{
		return summary[static_cast<size_t>(country + 1) * kNumberClassCount + static_cast<size_t>(c)];
	}

	void end_call(uint32_t slot, util::TimePoint now, bool evicted)
	{
		LiveCall& c = live[slot];
		if (c.is_answered && now > c.answered) {
			const auto secs =
				static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(now - c.answered).count());
			cell(c.country, c.number_class).seconds += secs;
			patterns.record_use(std::string_view(c.account, c.account_len), c.account_hash, c.country, 0, secs);
		}
		if (c.counted)
			patterns.call_ended(std::string_view(c.account, c.account_len), c.account_hash);
		if (evicted)
			live.evict(slot);
		else
			live.erase(slot);
	}

	// A full table ends the call that started first.
	[[gnu::noinline]] void end_oldest(util::TimePoint now)
	{
		uint32_t oldest = util::kNoSlot;
		for (uint32_t s = 0; s < live.capacity(); ++s)
			if (live.live(s) && (oldest == util::kNoSlot || live[s].start < live[oldest].start))
				oldest = s;
		end_call(oldest, now, true);
	}

	uint32_t record_live(const CallAttempt& a, uint64_t h, uint64_t account_hash, const Number& n, Verdict v,
	                     bool counted, util::TimePoint now)
	{
		if (live.full())
			end_oldest(now);
		const uint32_t slot = live.insert(h);
		LiveCall& c = live[slot];
		c.hash = h;
		c.call_id_len = static_cast<uint16_t>(std::min(a.call_id.size(), kMaxCallId));
		std::memcpy(c.call_id, a.call_id.data(), c.call_id_len);
		c.account_len = static_cast<uint8_t>(std::min(a.account.size(), kMaxAccountName));
		std::memcpy(c.account, a.account.data(), c.account_len);
		// The account is looked up again by its stored (cut) name.
		c.account_hash = c.account_len == a.account.size() ? account_hash
		                                                    : patterns.hash_of(std::string_view(c.account, c.account_len));
		c.start = now;
		c.answered = {};
		c.country = n.country ? n.country->id : -1;
		c.number_class = n.number_class;
		c.verdict = v;
		c.counted = counted;
		c.is_answered = false;
		return slot;
	}

	// The live call `ref` names when it is still the entry of `call_id`
	// (a Call-ID shorter than the stored cut, so equal bytes mean an equal
	// hash), else kNoSlot.
	uint32_t resolve(std::string_view call_id, const CallRef& ref) const
	{
		if (ref.slot == util::kNoSlot || ref.slot >= live.capacity() || call_id.size() >= kMaxCallId ||
		    !live.live(ref.slot))
			return util::kNoSlot;
		const LiveCall& c = live[ref.slot];
		if (c.hash != ref.hash || c.call_id_len != call_id.size() ||
		    std::memcmp(c.call_id, call_id.data(), call_id.size()) != 0)
			return util::kNoSlot;
		return ref.slot;
	}

	// Without a CallRef: the Call-ID's entries by lookup (out of line, so
	// that the calls with one run less code).
	[[gnu::noinline]] void answer_by_call_id(std::string_view call_id, util::TimePoint now)
	{
		const uint64_t h = util::hash_text(call_id, seed);
		live.for_each_hash(h, [&](uint32_t slot) {
			const LiveCall& c = live[slot];
			if (c.is_answered || (c.verdict != Verdict::Allow && c.verdict != Verdict::Warn) ||
			    find_live(call_id, h, std::string_view(c.account, c.account_len), false) != slot)
				return;
			answer(slot, now);
		});
	}

	[[gnu::noinline]] void end_by_call_id(std::string_view call_id, util::TimePoint now)
	{
		const uint64_t h = util::hash_text(call_id, seed);
		// Every entry of the Call-ID (one per account that sent it) ends.
		for (uint32_t slot; (slot = find_live(call_id, h, {}, true)) != util::kNoSlot;)
			end_call(slot, now, false);
	}

	void answer(uint32_t slot, util::TimePoint now)
	{
		LiveCall& c = live[slot];
		c.is_answered = true;
		c.answered = now;
		++cell(c.country, c.number_class).calls;
		patterns.record_use(std::string_view(c.account, c.account_len), c.account_hash, c.country, 1, 0);
	}

	// The bad-number lists, then the rules (emergency and locks come first, in the callers).
	struct Destination {
		bool deny = false;
		Reason reason = Reason::None;
		std::string_view rule; // list or rule name
		int list = -1;         // the list hit
	};
	Destination destination(const Number& n, const CallAttempt& a) const
	{
		if (const BadNumbers::Hit hit = n.length ? built.bad->find(n.key) : BadNumbers::Hit{})
			return {true, Reason::BadNumber, built.bad->lists()[static_cast<size_t>(hit.list)].name, hit.list};
		const PolicyResult r = built.policy.decide({&n, a.source_class, a.direction, a.account});
		if (r.action == RuleAction::Deny)
			return {true, Reason::Policy, r.rule_name, -1};
		return {false, Reason::None, r.rule_name, -1};
	}

	void remember(const Event& e)
	{
		if (recent.empty())
			return;
		recent[recent_next] = e;
		recent_next = (recent_next + 1) % recent.size();
		recent_count = std::min(recent_count + 1, recent.size());
	}
};

Guard::Guard(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Guard::~Guard() = default;

util::Result<std::unique_ptr<Guard>> Guard::create(const Config& config)
{
	util::Result<Built> b = build(config);
	if (!b)
		return b.status();
	return std::unique_ptr<Guard>(new Guard(std::make_unique<Impl>(config, std::move(*b))));
}

const Config& Guard::config() const { return impl_->config; }

namespace {

// What decide() found, kept out of the Event until there is one to fill.
struct Outcome {
	Reason reason = Reason::None;
	std::string_view rule; // rule, list or pattern name
	bool critical = false;
	Pattern pattern = Pattern::CallsPerMinute;
	uint32_t count = 0, threshold = 0, stopped_calls = 0, lock_step = 0;
	util::Duration lock_duration{};
};

// The event of a decision other than a plain Allow (rare: out of line).
[[gnu::cold, gnu::noinline]] void describe(Event& e, const CallAttempt& a, const Number& n, util::TimePoint now,
                                           Verdict v, const Outcome& o)
{
	e = Event{};
	e.when = now;
	e.verdict = v;
	e.reason = o.reason;
	e.critical = o.critical;
	e.pattern = o.pattern;
	e.number_class = n.number_class;
	e.source_class = a.source_class;
	e.direction = a.direction;
	e.source = a.source;
	copy_text(e.account, a.account);
	copy_text(e.dialled, a.dialled);
	copy_text(e.number, n.e164());
	if (n.country) {
		copy_text(e.country_code, n.country->code);
		copy_text(e.country, n.country->label);
	}
	copy_text(e.rule, o.rule);
	e.count = o.count;
	e.threshold = o.threshold;
	e.stopped_calls = o.stopped_calls;
	e.lock_step = o.lock_step;
	e.lock_duration = o.lock_duration;
}

} // namespace

uint64_t Guard::call_hash(std::string_view call_id) const { return util::hash_text(call_id, impl_->seed); }

void Guard::decide(const CallAttempt& a, uint64_t cid_hash, util::TimePoint now, Decision& out)
{
	Impl& m = *impl_;
	std::lock_guard lock(m.mu);
	m.last_now = now;
	out.has_event = false;
	Number n;
	m.built.plan.normalise(a.dialled, n);
	++m.by_class[static_cast<size_t>(n.number_class)];

	// A retransmission (same Call-ID and account) gets the first verdict, uncounted.
	if (!a.call_id.empty()) {
		const uint32_t slot = m.find_live(a.call_id, cid_hash, a.account, false);
		if (slot != util::kNoSlot) {
			out.verdict = m.live[slot].verdict;
			out.event.number_class = NumberClass::Unparsable; // as an empty event has it
			out.call = {slot, cid_hash};
			return;
		}
	}
	// One hash of the account for the locks and the patterns (the same seed).
	const uint64_t account_hash = a.account.empty() ? 0 : m.patterns.hash_of(a.account);
	Outcome o;

	auto finish = [&](Verdict v, bool counted) {
		out.verdict = v;
		++m.by_verdict[static_cast<size_t>(v)];
		out.call = {};
		if (!a.call_id.empty()) {
			// One Call-ID is one call: an INVITE of another account (the
			// same INVITE re-sent with credentials after a 407) replaces it.
			for (uint32_t old; (old = m.find_live(a.call_id, cid_hash, {}, true)) != util::kNoSlot;)
				m.end_call(old, now, false);
			out.call = {m.record_live(a, cid_hash, account_hash, n, v, counted, now), cid_hash};
		}
		if (v != Verdict::Allow) {
			out.has_event = true;
			describe(out.event, a, n, now, v, o);
			out.event.seq = ++m.seq;
			m.remember(out.event);
		} else {
			out.event.number_class = n.number_class;
		}
	};

	if (n.number_class == NumberClass::Emergency)
		return finish(Verdict::Allow, false); // never blocked, never counted, whatever the lock or rules

	if (!a.account.empty()) {
		if (uint32_t* stopped = m.locks.locked(a.account, account_hash, now)) {
			++*stopped;
			++m.locked_stopped;
			o.reason = Reason::Locked;
			o.stopped_calls = *stopped;
			o.rule = "locked";
			return finish(Verdict::DenyAndLock, false);
		}
	}

	const Impl::Destination dest = m.destination(n, a);
	Verdict v = dest.deny ? Verdict::Deny : Verdict::Allow;
	o.reason = dest.reason;
	if (dest.deny)
		o.rule = dest.rule;
	if (dest.list >= 0)
		++m.bad_hits[static_cast<size_t>(dest.list)];
	else if (dest.deny)
		++m.policy_denied;

	const bool external = n.number_class != NumberClass::Internal && n.number_class != NumberClass::Emergency;
	bool lock_now = o.reason == Reason::BadNumber && m.config.lock_on_bad_number && !a.account.empty();
	uint32_t account_slot = util::kNoSlot;
	if (!a.account.empty() && external) {
		const bool after_hours = m.built.hours.enabled() && !m.hours_inside(now + m.built.clock_offset);
		PatternFinding f;
		account_slot = m.patterns.slot(a.account, account_hash);
		if (m.patterns.observe(account_slot, {a.account, &n, now, after_hours, v != Verdict::Allow}, f,
		                       m.pattern_warn, m.pattern_critical)) {
			// A critical pattern locks; it names the event unless a list did.
			// A warning names it only when nothing denied the call.
			if ((f.critical && o.reason != Reason::BadNumber) || (!f.critical && v == Verdict::Allow)) {
				o.reason = Reason::Pattern;
				o.pattern = f.pattern;
				o.critical = f.critical;
				o.count = f.count;
				o.threshold = f.threshold;
				o.rule = to_string(f.pattern);
			}
			if (f.critical)
				lock_now = true;
			else if (v == Verdict::Allow)
				v = Verdict::Warn;
		}
	}
	if (lock_now) {
		// The lock's reason is the event's rule as the event holds it.
		const std::string_view reason = o.rule.substr(0, std::tuple_size_v<decltype(Event::rule)> - 1);
		const Locks::Lock l = m.locks.lock(a.account, now, reason.substr(0, reason.find('\0')));
		++m.locks_imposed;
		o.lock_step = l.step;
		o.lock_duration = l.duration;
		return finish(Verdict::DenyAndLock, false);
	}
	const bool counted = (v == Verdict::Allow || v == Verdict::Warn) && external && !a.account.empty();
	if (counted)
		m.patterns.call_started_at(account_slot);
	return finish(v, counted);
}

Explanation Guard::explain(const CallAttempt& a, util::TimePoint now) const
{
	const Impl& m = *impl_;
	std::lock_guard lock(m.mu);
	Number n;
	m.built.plan.normalise(a.dialled, n);
	Explanation x;
	x.number_class = n.number_class;
	x.number = std::string(n.e164());
	if (n.country) {
		x.country_code = n.country->code;
		x.country = n.country->label;
	}
	x.why = std::string(n.why);
	// The same order as decide(): emergency, lock, lists, rules.
	if (n.number_class == NumberClass::Emergency) {
		x.rule = "emergency";
	} else if (!a.account.empty() && m.locks.is_locked(a.account, now)) {
		x.verdict = Verdict::DenyAndLock;
		x.reason = Reason::Locked;
		x.rule = "locked";
	} else {
		const Impl::Destination dest = m.destination(n, a);
		x.verdict = dest.deny ? Verdict::Deny : Verdict::Allow;
		x.reason = dest.reason;
		x.rule = std::string(dest.rule);
	}
	return x;
}

void Guard::on_answered(std::string_view call_id, util::TimePoint now, const CallRef& ref)
{
	Impl& m = *impl_;
	std::lock_guard lock(m.mu);
	m.last_now = now;
	// A Call-ID has one live entry (decide() replaces an older one).
	if (const uint32_t slot = m.resolve(call_id, ref); slot != util::kNoSlot) {
		const LiveCall& c = m.live[slot];
		if (!c.is_answered && (c.verdict == Verdict::Allow || c.verdict == Verdict::Warn))
			m.answer(slot, now);
		return;
	}
	m.answer_by_call_id(call_id, now);
}

void Guard::on_ended(std::string_view call_id, util::TimePoint now, const CallRef& ref)
{
	Impl& m = *impl_;
	std::lock_guard lock(m.mu);
	m.last_now = now;
	if (const uint32_t slot = m.resolve(call_id, ref); slot != util::kNoSlot) {
		m.end_call(slot, now, false); // the Call-ID's one entry
		return;
	}
	m.end_by_call_id(call_id, now);
}

void Guard::on_tick(util::TimePoint now)
{
	Impl& m = *impl_;
	std::lock_guard lock(m.mu);
	m.last_now = now;
	m.locks.expire(now);
	for (uint32_t s = 0; s < m.live.capacity(); ++s) {
		if (!m.live.live(s))
			continue;
		const LiveCall& c = m.live[s];
		const bool allowed = c.verdict == Verdict::Allow || c.verdict == Verdict::Warn;
		if (!allowed && now - c.start >= kDeniedLinger)
			m.end_call(s, now, false);
		else if (allowed && !c.is_answered && now - c.start >= m.config.unanswered_timeout)
			m.end_call(s, now, false);
		else if (c.is_answered && now - c.answered >= m.config.max_call_duration)
			m.end_call(s, c.answered + m.config.max_call_duration, false);
	}
}

util::Status Guard::reload_bad_numbers()
{
	Impl& m = *impl_;
	std::vector<std::string> files;
	{
		std::lock_guard lock(m.mu);
		files = m.config.bad_number_files;
	}
	// Files are read without the lock: calls go on with the old lists.
	util::Result<std::shared_ptr<const BadNumbers>> bad = BadNumbers::load(files);
	if (!bad)
		return util::Status::invalid(fmt::format("fraud.bad_number_files: {}", bad.error()));
	std::lock_guard lock(m.mu);
	std::vector<uint64_t> hits((*bad)->lists().size(), 0);
	for (size_t i = 0; i < hits.size(); ++i)
		for (size_t j = 0; j < m.built.bad->lists().size(); ++j)
			if (m.built.bad->lists()[j].path == (*bad)->lists()[i].path)
				hits[i] = m.bad_hits[j];
	m.built.bad = std::move(*bad);
	m.bad_hits = std::move(hits);
	++m.bad_reloads;
	return util::Status::success();
}

util::Status Guard::reconfigure(const Config& config)
{
	util::Result<Built> b = build(config);
	if (!b)
		return b.status();
	Impl& m = *impl_;
	std::lock_guard lock(m.mu);
	// Summaries and baselines follow their countries by code into the new tables.
	const auto& old_countries = m.built.tables->countries();
	const auto& new_countries = b->tables->countries();
	std::vector<Impl::Cell> summary((new_countries.size() + 1) * kNumberClassCount, Impl::Cell{});
	for (size_t i = 0; i < m.summary.size(); ++i) {
		const size_t country = i / kNumberClassCount, cls = i % kNumberClassCount;
		size_t to = 0;
		if (country > 0) {
			const auto it = std::find_if(new_countries.begin(), new_countries.end(), [&](const CountryEntry& c) {
				return c.code == old_countries[country - 1].code;
			});
			if (it == new_countries.end())
				continue;
			to = it->id + 1u;
		}
		summary[to * kNumberClassCount + cls].calls += m.summary[i].calls;
		summary[to * kNumberClassCount + cls].seconds += m.summary[i].seconds;
	}
	m.patterns.remap_countries(*m.built.tables, *b->tables);
	for (uint32_t s = 0; s < m.live.capacity(); ++s)
		m.live[s].country = -1; // live calls' countries would point into the old table
	m.summary = std::move(summary);
	m.bad_hits.assign(b->bad->lists().size(), 0);
	m.built = std::move(*b);
	m.zone_span = {};
	m.patterns.set_config(config.pattern);
	m.locks.set_ladder(ladder_of(config), std::chrono::duration_cast<util::Duration>(config.lock_forget));
	const uint64_t seed = m.config.hash_seed;
	const uint32_t sizes[] = {m.config.max_accounts, m.config.max_live_calls, m.config.max_locks,
	                          m.config.recent_findings};
	m.config = config;
	// Table sizes and the seed apply at the next start.
	m.config.hash_seed = seed;
	m.config.max_accounts = sizes[0];
	m.config.max_live_calls = sizes[1];
	m.config.max_locks = sizes[2];
	m.config.recent_findings = sizes[3];
	return util::Status::success();
}

std::vector<LockInfo> Guard::locks(util::TimePoint now) const
{
	std::lock_guard lock(impl_->mu);
	return impl_->locks.list(now);
}

bool Guard::unlock(std::string_view account)
{
	std::lock_guard lock(impl_->mu);
	return impl_->locks.unlock(account, impl_->last_now);
}

std::vector<Event> Guard::recent(size_t max) const
{
	const Impl& m = *impl_;
	std::lock_guard lock(m.mu);
	const size_t n = std::min(max, m.recent_count);
	std::vector<Event> out;
	out.reserve(n);
	for (size_t i = 0; i < n; ++i)
		out.push_back(m.recent[(m.recent_next + m.recent.size() - n + i) % m.recent.size()]);
	return out;
}

Counters Guard::counters() const
{
	const Impl& m = *impl_;
	std::lock_guard lock(m.mu);
	Counters c;
	c.by_class = m.by_class;
	c.by_verdict = m.by_verdict;
	c.pattern_warn = m.pattern_warn;
	c.pattern_critical = m.pattern_critical;
	for (size_t i = 0; i < m.bad_hits.size(); ++i)
		c.bad_list_hits.emplace_back(m.built.bad->lists()[i].name, m.bad_hits[i]);
	c.policy_denied = m.policy_denied;
	c.locked_stopped = m.locked_stopped;
	c.locks = m.locks_imposed;
	c.account_evictions = m.patterns.evictions();
	c.live_call_evictions = m.live.evictions();
	c.live_calls = m.live.size();
	c.bad_list_reloads = m.bad_reloads;
	const auto countries = m.built.tables->countries();
	for (size_t i = 0; i < m.summary.size(); ++i) {
		const Impl::Cell& cell = m.summary[i];
		if (!cell.calls && !cell.seconds)
			continue;
		const size_t country = i / kNumberClassCount;
		const std::string label = country ? countries[country - 1].label : std::string();
		const auto cls = static_cast<NumberClass>(i % kNumberClassCount);
		// Several codes may share a label (+1809, +1829, +1849: DO): one row per label.
		auto it = std::find_if(c.summaries.begin(), c.summaries.end(),
		                       [&](const Summary& s) { return s.country == label && s.number_class == cls; });
		if (it == c.summaries.end())
			it = c.summaries.insert(c.summaries.end(), Summary{label, cls, 0, 0});
		it->calls += cell.calls;
		it->seconds += cell.seconds;
	}
	return c;
}

std::vector<AccountSummary> Guard::account_summaries() const
{
	const Impl& m = *impl_;
	std::lock_guard lock(m.mu);
	const auto countries = m.built.tables->countries();
	std::vector<AccountSummary> out;
	m.patterns.for_each_account([&](std::string_view name, const AccountState& a) {
		for (const AccountState::Use& u : a.use) {
			if (u.country == AccountState::kNoCountry || (!u.calls && !u.seconds))
				continue;
			std::string label = u.country >= 0 ? countries[static_cast<size_t>(u.country)].label : "other";
			// Codes sharing a label (+1809, +1829: DO) are one row.
			auto it = std::find_if(out.begin(), out.end(), [&](const AccountSummary& r) {
				return r.account == name && r.country == label;
			});
			if (it == out.end())
				it = out.insert(out.end(), AccountSummary{std::string(name), std::move(label), 0, 0});
			it->calls += u.calls;
			it->seconds += u.seconds;
		}
	});
	return out;
}

std::string Guard::save_baseline() const
{
	std::lock_guard lock(impl_->mu);
	return impl_->patterns.save_baseline(*impl_->built.tables);
}

util::Status Guard::restore_baseline(std::string_view text, std::string_view source)
{
	std::lock_guard lock(impl_->mu);
	return impl_->patterns.restore_baseline(text, source, *impl_->built.tables);
}

std::string Guard::save_locks() const
{
	std::lock_guard lock(impl_->mu);
	return impl_->locks.save();
}

util::Status Guard::restore_locks(std::string_view text, std::string_view source)
{
	std::lock_guard lock(impl_->mu);
	return impl_->locks.restore(text, source);
}

std::optional<std::string> Config::validate() const
{
	if (util::Status st = config::check_all(rows(), *this); !st)
		return st.message;
	if (enabled && country_code.empty())
		return "fraud.country_code: required when fraud.enabled is true (without it every national number is "
		       "unparsable and denied)";
	if (util::Result<util::Duration> d = parse_clock_offset(clock_offset); !d)
		return d.error();
	if (util::Result<BusinessHours> b = BusinessHours::parse(business_hours, business_days, TimeZone()); !b)
		return b.error();
	const Threshold* levels[] = {&pattern.calls_per_minute, &pattern.concurrent_calls, &pattern.calls_per_day,
	                             &pattern.same_number, &pattern.international_per_hour,
	                             &pattern.after_hours_per_hour, &pattern.new_countries_per_day,
	                             &pattern.denied_per_hour};
	for (size_t i = 0; i < kPatternCount; ++i)
		if (levels[i]->warn && levels[i]->critical && levels[i]->warn >= levels[i]->critical)
			return fmt::format("fraud.pattern.{}_warn: {} must be below the critical level {}",
			                   to_string(static_cast<Pattern>(i)), levels[i]->warn, levels[i]->critical);
	return std::nullopt;
}

} // namespace sipguard::fraud
