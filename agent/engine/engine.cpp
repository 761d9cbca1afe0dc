// SPDX-License-Identifier: GPL-2.0-or-later
// Engine shard: per-packet pipeline from PacketView to verdict over fixed
// tables (sources, prefixes, pending transactions, TCP flows).
#include "agent/engine/engine.h"

#include <algorithm>
#include <cstring>
#include <span>
#include <string_view>

#include "agent/detect/account_table.h"
#include "agent/detect/address_table.h"
#include "agent/detect/detectors.h"
#include "agent/detect/pair_table.h"
#include "agent/engine/fraud_gate.h"
#include "agent/engine/receiver_proof.h"
#include "agent/engine/tcp_stream.h"
#include "agent/sip/parser.h"
#include "agent/util/hash.h"
#include "agent/util/lru_table.h"

namespace sipguard::engine {

using detect::Finding;
using detect::PairState;
using detect::PrefixState;
using detect::RequestFacts;
using detect::ResponseFacts;
using detect::SampleText;
using detect::SourceState;

namespace {

// Transaction key: the remote address, Call-ID, CSeq number and method
// (RFC 3261 §17.2.3 matches on branch; Call-ID + CSeq is what both sides
// of a response carry unchanged and is enough to pair request and answer).
// Inlined into every request and response (the compiler outlines it once
// it has a third, cold caller).
[[gnu::always_inline]] inline uint64_t txn_key(uint64_t remote_hash, const sip::Message& m)
{
	const uint64_t h = util::hash_text(m.call_id, remote_hash);
	return util::hash_combine(h, static_cast<uint64_t>(m.cseq) << 8 | static_cast<uint64_t>(m.cseq_method));
}

// Keep-alives that are not RFC 5626 CRLF: some phones and NAT helpers send
// short runs of spaces or NUL bytes (seen in sngrep/aaa.pcap: "     " every
// few seconds). They are not SIP, not malformed, and never an offence.
bool is_blank_keepalive(std::span<const uint8_t> p)
{
	if (p.empty() || p.size() > 32)
		return false;
	for (uint8_t b : p)
		if (b != ' ' && b != '\t' && b != '\r' && b != '\n' && b != 0)
			return false;
	return true;
}

bool has_credentials(const sip::Message& m)
{
	return (m.authorization.present && m.authorization.has_response) ||
	       (m.proxy_authorization.present && m.proxy_authorization.has_response);
}

struct Txn {
	uint64_t key = 0;
	util::TimePoint created{};
	uint64_t account = 0;
	uint32_t target_hash = 0;
	sip::Method method = sip::Method::Unknown;
	bool creds = false;
	bool probe = false;
	SampleText target; // the credentials' username when there are some (the account), else the target user
};

// Pending requests by txn_key; a full table evicts the oldest request (all
// share one timeout, so insertion order is expiry order).
class TxnTable {
public:
	explicit TxnTable(size_t capacity) : table_(capacity) {}

	// Returns the entry of `key`: the existing one for a retransmission,
	// else a fresh one. Making room for it counts as an eviction only when
	// the oldest request had not timed out yet.
	Txn& insert(uint64_t key, util::TimePoint now, util::Millis timeout)
	{
		uint32_t s = table_.find(key, [&](const Txn& t) { return t.key == key; });
		if (s != util::kNoSlot)
			return table_[s];
		if (table_.full() && now - table_[table_.oldest()].created > timeout)
			table_.erase(table_.oldest());
		s = table_.insert(key);
		Txn& t = table_[s];
		t = Txn{};
		t.key = key;
		t.created = now;
		return t;
	}
	Txn* find(uint64_t key)
	{
		const uint32_t s = table_.find(key, [&](const Txn& t) { return t.key == key; });
		return s == util::kNoSlot ? nullptr : &table_[s];
	}
	// The entry's contents stay readable until the next insert.
	void erase(const Txn& t) { table_.erase(table_.slot_of(t)); }
	uint64_t evictions() const { return table_.evictions(); }
	size_t bytes() const { return table_.bytes(); }

private:
	util::LruTable<Txn> table_;
};

// One direction of a TCP connection.
struct Flow {
	uint64_t key = 0;
	uint64_t source = 0; // the remote address's hash: its entry in the per-source flow counts
	bool counted = false; // held in its remote's count: until it leaves the table or is closed
	nfq::Direction dir = nfq::Direction::In;
	TcpStream stream; // its buffer is allocated on first use, then reused by the slot's later flows
};

// Flow slots held per remote address, so that one address cannot push other
// flows (or its own) out of the table. Only addresses holding a flow have an
// entry, so the table never needs more entries than flow slots.
struct SourceFlows {
	uint64_t source = 0;
	uint32_t flows = 0;
};

// Where a remote's evicted flow left off: its connection may resume only
// there, and only at a message boundary with nothing beyond it at the PBX.
// Without it, a sender that gets its own flow evicted (by opening more
// connections) could resend delivered bytes as a new message head whose
// body the PBX reads past its own framing point as an unjudged message.
struct Evicted {
	uint64_t key = 0;
	uint32_t delivered = 0;
	bool resumable = false;
};
// Many more than flows: 16 bytes of state each (Kamailio's default
// tcp_max_connections is 2048), so a sender must churn far more
// connections than a PBX keeps to make one forgotten.
constexpr size_t kEvictedFlows = 8192;

// The sequence number of a SYN whose stream has no flow yet. Kept apart
// from the flows so that a flood of (spoofed) SYNs evicts only these.
struct SynSeen {
	uint64_t key = 0;
	uint32_t isn = 0;
	util::TimePoint at{};
};

// UDP requests dropped as forged or by the call policy, by remote address,
// port and whole payload, for one transaction timeout (RFC 3261 Timer B,
// 64*T1): a retransmission gets the same verdict even if the state that
// decided it has changed. Only the sender's own retransmission matches: the
// key holds its address and port and every byte it sent. A counting filter
// on address and port lets every other datagram skip the payload hash.
class RedropTable {
public:
	static constexpr size_t kCapacity = 1024;

	RedropTable() : table_(kCapacity) {}

	// `who`: the remote address and port hashed together.
	bool may_hold(uint64_t who) const { return filter_[who & kFilterMask] != 0; }
	bool contains(uint64_t key, util::TimePoint now, util::Duration window)
	{
		const uint32_t s = table_.find(key, [&](const Entry& e) { return e.key == key; });
		if (s == util::kNoSlot)
			return false;
		if (now - table_[s].at <= window)
			return true;
		erase(s);
		return false;
	}
	void insert(uint64_t who, uint64_t key, util::TimePoint now)
	{
		uint32_t s = table_.find(key, [&](const Entry& e) { return e.key == key; });
		if (s == util::kNoSlot) {
			if (table_.full())
				erase(table_.oldest());
			s = table_.insert(key);
			table_[s].key = key;
			table_[s].bucket = static_cast<uint16_t>(who & kFilterMask);
			++filter_[table_[s].bucket];
		}
		table_[s].at = now;
	}
	size_t bytes() const { return table_.bytes() + sizeof(filter_); }

private:
	static constexpr size_t kFilterMask = 4095;
	struct Entry {
		uint64_t key = 0;
		util::TimePoint at{};
		uint16_t bucket = 0;
	};
	void erase(uint32_t s)
	{
		--filter_[table_[s].bucket];
		table_.erase(s);
	}
	util::LruTable<Entry> table_; // oldest first: all share one window
	std::array<uint16_t, kFilterMask + 1> filter_{};
};

// An initial INVITE the toll-fraud guard decided, by (remote, Call-ID): its
// retransmissions and the retry after a challenge are the same call, and
// the final response to it says whether the call was answered or failed.
struct FraudCall {
	uint64_t key = 0;
	uint32_t cseq = 0;     // of the INVITE whose final response ends or answers the call
	bool denied = false;   // dropped: its retransmissions are dropped too
	bool answered = false;
	fraud::CallRef ref;    // the guard's entry, for on_answered/on_ended
};
// Calls being set up or up per shard (the least recently used is forgotten;
// its end then reaches the guard through the guard's timeout, or a trunk's BYE).
constexpr size_t kFraudCalls = 4096;

} // namespace

struct Engine::Impl {
	Impl(std::shared_ptr<const Config> c, BanManager& b, Sink& s, uint64_t hash_seed, detect::AccountTable* shared)
		: cfg(std::move(c)), bans(b), sink(s), seed(hash_seed), sources(cfg->tables.sources, seed),
		  prefixes(cfg->tables.prefixes, seed), histories(std::max<size_t>(cfg->tables.sources / 4, 256), seed),
		  prefix_histories(std::max<size_t>(cfg->tables.prefixes / 4, 256), seed), txns(cfg->tables.transactions),
		  flows(cfg->tables.tcp_flows), syns(2 * static_cast<size_t>(cfg->tables.tcp_flows)), evicted(kEvictedFlows),
		  source_flows(cfg->tables.tcp_flows),
		  own_accounts(shared ? nullptr : std::make_unique<detect::AccountTable>(cfg->tables.accounts, seed)),
		  accounts(shared ? *shared : *own_accounts), pairs(cfg->tables.account_pairs), fraud_calls(kFraudCalls),
		  proof(seed)
	{
	}

	std::shared_ptr<const Config> cfg;
	BanManager& bans;
	Sink& sink;
	uint64_t seed;
	detect::AddressTable<SourceState> sources;
	detect::AddressTable<PrefixState> prefixes;
	// Long enumeration histories of the few sources and prefixes with
	// failed users (a quarter of their tables).
	detect::AddressTable<detect::SourceHistory> histories;
	detect::AddressTable<detect::PrefixHistory> prefix_histories;
	TxnTable txns;
	util::LruTable<Flow> flows; // least recently active evicted first
	util::LruTable<SynSeen> syns;
	util::LruTable<Evicted> evicted;
	util::BoundedTable<SourceFlows> source_flows;
	uint64_t flow_evictions = 0;
	RedropTable redrop;
	std::unique_ptr<detect::AccountTable> own_accounts; // when no shared table was given
	detect::AccountTable& accounts;
	detect::PairTable pairs;
	util::LruTable<FraudCall> fraud_calls;
	detect::TokenBucket global_unknown;
	ReceiverProof proof; // proven receivers (receiver_proof.h)
	sip::Message msg; // reused: parse() resets it
	Finding finding;  // reused scratch
	fraud::Decision fraud_decision; // reused: decide() rewrites its event only when there is one
	TcpScratch tcp;   // shared by the flows' streams
};

Engine::Engine(std::shared_ptr<const Config> config, BanManager& bans, Sink& sink, uint64_t hash_seed,
               detect::AccountTable* accounts)
	: impl_(std::make_unique<Impl>(std::move(config), bans, sink, hash_seed, accounts))
{
}

Engine::~Engine() = default;

void Engine::set_config(std::shared_ptr<const Config> config) { impl_->cfg = std::move(config); }

size_t Engine::table_bytes() const
{
	const Impl& m = *impl_;
	size_t streams = m.tcp.bytes ? TcpStream::kCapacity : 0;
	for (uint32_t s = 0; s < m.flows.capacity(); ++s)
		streams += m.flows[s].stream.buffer_bytes();
	return m.sources.bytes() + m.prefixes.bytes() + m.txns.bytes() + m.flows.bytes() + m.syns.bytes() +
	       m.evicted.bytes() + m.source_flows.bytes() + m.redrop.bytes() + streams +
	       m.histories.bytes() + m.prefix_histories.bytes() + m.pairs.bytes() + m.fraud_calls.bytes() +
	       m.proof.bytes() + (m.own_accounts ? m.own_accounts->bytes() : 0);
}

void Engine::on_tick(util::TimePoint now)
{
	if (hook_)
		hook_->on_tick(now, impl_->sink);
	if (fraud_)
		fraud_->on_tick(now);
}

namespace {

uint8_t prefix_len_for(const Config& c, const net::IpAddress& a)
{
	return a.is_v4() ? c.ban.prefix_len_v4 : c.ban.prefix_len_v6;
}

} // namespace

// The per-packet pipeline lives in a helper so that Impl stays a plain bag
// of tables. It judges the messages a TCP stream frames.
class EnginePass final : private TcpJudge {
public:
	EnginePass(Engine::Impl& impl, EngineCounters& counters, calls::CallHook* hook, FraudGate* fraud,
	           const nfq::PacketView& pkt, nfq::Direction dir, util::TimePoint now)
		: m_(impl), c_(counters), hook_(hook), fraud_(fraud), cfg_(*impl.cfg), pkt_(pkt), dir_(dir), now_(now),
		  remote_(pkt.remote(dir)), remote_hash_(impl.sources.hash(remote_))
	{
	}

	Verdict run();
	// After run(): the remote is known good and not allowlisted or trusted.
	bool source_known() const { return st_ && !st_->allowlisted && st_->known(); }
	// After run(): the remote sent a request and is a proven receiver
	// (receiver_proof.h), not known, allowlisted or trusted.
	bool source_proven() const { return proven_ && st_ && !st_->allowlisted && !st_->trusted && !st_->known(); }

private:
	Verdict udp();
	Verdict tcp();
	uint64_t flow_key(nfq::Direction d) const;
	// How a flow without state starts, if it may, and at which sequence
	// number: after its SYN; where its evicted flow left off; at the
	// segment when it opens a SIP message (mid-stream pickup).
	enum class Start : uint8_t { Syn, Resume, Pickup, Refused, Unknown };
	Start stream_start(uint64_t key, uint32_t& first);
	// Whether the remote holds engine.tcp_flows_per_source flow slots.
	bool at_cap() const;
	// A new flow refused: the remote holds its share of the flow table.
	Verdict over_cap();
	uint32_t new_flow(uint64_t key);
	// A flow no longer held against its remote's count.
	void uncount(Flow& f);
	// A flow leaves the table.
	void release_flow(uint32_t slot);
	void end_connection();
	void count(TcpOutcome o);
	Verdict judge(const sip::Message& m, Framing how) override;
	void conflict() override;
	Verdict message(const sip::Message& msg);
	Verdict request(const sip::Message& msg);
	// Sets proven_: the request answers a challenge sent to its source, or
	// the source proved itself before (receiver_proof.h).
	void prove(const sip::Message& msg);
	Verdict response(const sip::Message& msg);
	Verdict malformed(std::string_view what);
	bool forged_notify(const sip::Message& msg, std::string_view what, Verdict& v);
	// The account paths below are rare (a blocked pair, a guarded account,
	// a configured per-account rate): out of line and cold, so the code
	// every request runs stays small in the instruction cache.
	//
	// A blocked (source, account) pair: that account's requests from here
	// are dropped (the account acting: the credentials' username, else the
	// AOR a REGISTER binds, else the From user). True: drop.
	[[gnu::cold]] bool blocked_pair(const sip::Message& msg, const RequestFacts& r);
	// Credentials for a guarded account (under attack from several sources)
	// from a source where it never authenticated: dropped, the source banned
	// when it tries again. True: drop.
	[[gnu::cold]] bool guarded_account(const sip::Message& msg, const RequestFacts& r);
	// The per-account rate (detect.account.rate) for a request with the
	// credentials of an account that authenticated from this source: false
	// when it is over and must be dropped (reported once a minute).
	[[gnu::cold]] bool account_rate(const RequestFacts& r);
	// Whether an authenticated request over a rate is dropped (counted):
	// over UDP, where the sender retransmits it later. Over TCP a dropped
	// message would end the rest of the connection (see "TCP streams"), so
	// the excess passes there, reported all the same.
	bool throttle()
	{
		if (cfg_.dry_run || pkt_.l4 != nfq::L4::Udp)
			return false;
		++c_.throttled;
		return true;
	}
	// The finding of an account that became guarded with this failure.
	[[gnu::cold]] void report_guarded(const ResponseFacts& r, const detect::AccountTable::Failure& acct);
	// Logs a call tracker's limit report as a call-limit finding; true when
	// that banned the source (detect.call_limit.ban).
	bool call_limit(const calls::CallLimitReport& rep);
	// The toll-fraud guard: an initial INVITE to decide (phone to PBX with
	// credentials, PBX to a trunk), and the answers and ends of the calls
	// it decided. Cold: a few messages per call.
	[[gnu::cold]] Verdict fraud_invite(const sip::Message& msg);
	[[gnu::cold]] void fraud_response(const sip::Message& msg);
	[[gnu::cold]] void fraud_bye(const sip::Message& msg);
	// A lock from a phone's INVITE: the source is banned (the ban manager
	// refuses allowlisted and trusted ones). True when it is now banned.
	bool fraud_lock(const fraud::Event& e);
	// Reports a finding for the current source (or its prefix), at most one
	// per detector and window; returns true when the source is now banned
	// (drop).
	bool emit(Finding& f, bool prefix);
	// Reports an account finding (never a ban; its own state says when).
	void report(Finding& f) { submit(f, false); }
	BanResult submit(Finding& f, bool prefix);
	void refresh_ban_state();
	bool banned() const { return st_->banned_until > now_; }

	// The source's /24 (/64) state and the long histories, found or
	// created on a detector's first need.
	class Lazy final : public detect::LazyState {
	public:
		explicit Lazy(EnginePass& pass) : p_(pass) {}
		PrefixState* prefix() override
		{
			if (!ps_) {
				bool inserted = false;
				ps_ = &p_.m_.prefixes.find_or_insert(p_.masked(), inserted);
				p_.c_.prefix_evictions = p_.m_.prefixes.evictions();
			}
			return ps_;
		}
		detect::SourceHistory* history(bool create, bool* created) override
		{
			if (!h_ && (create || p_.st_->has_history)) {
				h_ = create ? insert(p_.m_.histories, p_.remote_, p_.remote_hash_, created)
				            : p_.m_.histories.find(p_.remote_, p_.remote_hash_);
				p_.st_->has_history = h_ != nullptr; // an evicted one is gone
			}
			return h_;
		}
		detect::PrefixHistory* prefix_history(bool create) override
		{
			if (!ph_) {
				const net::IpAddress key = p_.masked();
				ph_ = create ? insert(p_.m_.prefix_histories, key, p_.m_.prefix_histories.hash(key), nullptr)
				             : p_.m_.prefix_histories.find(key);
			}
			return ph_;
		}

	private:
		template <class H>
		H* insert(detect::AddressTable<H>& t, const net::IpAddress& key, uint64_t hash, bool* created)
		{
			bool inserted = false;
			H* h = &t.find_or_insert(key, hash, inserted);
			if (created)
				*created = inserted;
			p_.c_.history_evictions = p_.m_.histories.evictions() + p_.m_.prefix_histories.evictions();
			return h;
		}

		EnginePass& p_;
		PrefixState* ps_ = nullptr;
		detect::SourceHistory* h_ = nullptr;
		detect::PrefixHistory* ph_ = nullptr;
	};
	net::IpAddress masked() const { return remote_.masked(prefix_len_for(cfg_, remote_)); }

	Engine::Impl& m_;
	EngineCounters& c_;
	calls::CallHook* hook_;
	FraudGate* fraud_;
	const Config& cfg_;
	const nfq::PacketView& pkt_;
	nfq::Direction dir_;
	util::TimePoint now_;
	const net::IpAddress& remote_;
	const uint64_t remote_hash_; // net::hash_address(remote_) under the engine's seed
	SourceState* st_ = nullptr;
	TcpStream::Mode mode_ = TcpStream::Mode::Enforce;
	bool remember_drop_ = false; // a request dropped as forged or by the call policy
	bool proven_ = false;        // the remote is a proven receiver (requests in only)
	Lazy lazy_{*this};
};

void EnginePass::refresh_ban_state()
{
	uint64_t gen = m_.bans.generation();
	if (st_->ban_gen == gen)
		return;
	bool was = banned();
	st_->ban_gen = gen;
	st_->trusted = net::Cidr::any_contains(cfg_.trusted, remote_);
	st_->allowlisted = st_->trusted || net::Cidr::any_contains(cfg_.allowlist, remote_);
	bool now_banned = m_.bans.is_banned(remote_, now_);
	// Until the next generation change (expiry, unban and every new ban bump
	// it), the answer stands.
	st_->banned_until = now_banned ? util::TimePoint::max() : util::TimePoint{};
	if (was != now_banned)
		m_.sink.on_verdict_change(VerdictChange{remote_, static_cast<uint8_t>(remote_.max_prefix()),
		                                        now_banned ? Verdict::Drop : Verdict::Accept,
		                                        now_banned ? "banned" : "unbanned", now_});
}

bool EnginePass::emit(Finding& f, bool prefix)
{
	auto d = static_cast<size_t>(f.detector);
	if (!prefix && st_->suppress_until[d] > now_)
		return false;
	PrefixState* ps = nullptr;
	if (prefix) {
		ps = m_.prefixes.find(remote_.masked(prefix_len_for(cfg_, remote_)));
		if (ps && ps->suppress_until > now_)
			return false;
	}
	// One finding per detector and window while the source is not banned
	// (dry run, allowlisted): the log says it once, not per packet.
	util::TimePoint until = now_ + std::max<util::Duration>(f.evidence.window, std::chrono::seconds(10));
	if (prefix) {
		if (ps)
			ps->suppress_until = until;
	} else {
		st_->suppress_until[d] = until;
	}
	const BanResult res = submit(f, prefix);
	if (res.drop()) {
		bool was = banned();
		st_->banned_until = util::TimePoint::max();
		st_->ban_gen = m_.bans.generation();
		if (!was)
			m_.sink.on_verdict_change(VerdictChange{remote_, f.prefix_len, Verdict::Drop,
			                                        prefix ? "prefix banned" : "banned", now_});
		return true;
	}
	return false;
}

BanResult EnginePass::submit(Finding& f, bool prefix)
{
	f.source = remote_;
	f.prefix_len = prefix ? prefix_len_for(cfg_, remote_) : static_cast<uint8_t>(remote_.max_prefix());
	BanResult res = m_.bans.on_finding(f, now_);
	++c_.findings;
	++c_.findings_by_detector[static_cast<size_t>(f.detector)];
	if (res.outcome == BanOutcome::Banned)
		++c_.bans;
	m_.sink.on_finding(f, res);
	return res;
}

namespace {

// Requests by method, responses by status class; a message the parser
// rejected is counted as malformed instead (by message()).
void count_by_method(EngineCounters& c, const sip::Message& m)
{
	if (m.error != sip::Malformation::None)
		return;
	if (m.is_request())
		++c.requests_by_method[static_cast<size_t>(m.method)];
	else if (m.is_response())
		++c.responses_by_class[m.status / 100 - 1];
}

// A banned source's datagram is dropped without a parse; its first line
// still counts it by method (the parser's method table) or status class.
void count_first_line(EngineCounters& c, std::span<const uint8_t> payload)
{
	const std::string_view s(reinterpret_cast<const char*>(payload.data()), std::min<size_t>(payload.size(), 40));
	if (s.size() >= 12 && s.starts_with("SIP/2.0 ") && s[8] >= '1' && s[8] <= '6') {
		++c.responses_by_class[static_cast<size_t>(s[8] - '1')];
		return;
	}
	const size_t sp = s.find(' ');
	if (sp == std::string_view::npos || sp == 0)
		return;
	const sip::Method m = sip::method_from_token(s.substr(0, sp));
	const std::string_view uri = s.substr(sp + 1);
	// An unknown token counts only before a SIP URI: keep-alives and garbage are not requests.
	if (m == sip::Method::Unknown && !uri.starts_with("sip:") && !uri.starts_with("sips:") && !uri.starts_with("tel:"))
		return;
	++c.requests_by_method[static_cast<size_t>(m)];
}

} // namespace

Verdict EnginePass::run()
{
	++c_.packets;
	// A later fragment has no ports to judge by; without its first
	// fragment (judged below) it never reassembles into anything.
	if (pkt_.fragment) {
		++c_.fragments;
		return Verdict::Accept;
	}
	if (pkt_.l4 != nfq::L4::Udp && pkt_.l4 != nfq::L4::Tcp)
		return Verdict::Accept;
	if (!remote_.valid())
		return Verdict::Accept;

	bool inserted = false;
	st_ = &m_.sources.find_or_insert(remote_, remote_hash_, inserted);
	c_.source_evictions = m_.sources.evictions();
	if (inserted)
		st_->first_seen = now_;
	st_->last_seen = now_;
	refresh_ban_state();
	if (banned()) {
		++c_.dropped_banned;
		// A banned source's datagrams reach the queue only until the kernel
		// holds its element (or while the rules writer is behind): they are
		// counted by their first line, not parsed. A TCP flow is not framed
		// once its source is banned.
		if (pkt_.l4 == nfq::L4::Udp && !pkt_.first_fragment)
			count_first_line(c_, pkt_.payload);
		return Verdict::Drop;
	}
	// A first fragment holds only the start of its datagram (the table's
	// defrag rule makes the kernel reassemble before our hooks, so this
	// happens only on a kernel without tproxy or ct, or for a datagram
	// longer than the queue's copy range): it cannot be judged, and
	// parsing it would call a valid large INVITE malformed. A banned
	// source's was dropped above. From a known-good source it passes
	// uninspected; from anyone else it is dropped, so the datagram never
	// reassembles at the PBX (the later fragments alone are useless).
	if (pkt_.first_fragment) {
		if (dir_ == nfq::Direction::In && !st_->allowlisted && !st_->known()) {
			++c_.first_fragments_dropped;
			return Verdict::Drop;
		}
		++c_.first_fragments;
		return Verdict::Accept;
	}

	return pkt_.l4 == nfq::L4::Udp ? udp() : tcp();
}

Verdict EnginePass::udp()
{
	const uint64_t who = util::hash_combine(remote_hash_, pkt_.remote_port(dir_));
	const bool check = dir_ == nfq::Direction::In && !st_->allowlisted && m_.redrop.may_hold(who);
	if (check && m_.redrop.contains(util::hash_bytes(pkt_.payload.data(), pkt_.payload.size(), who), now_,
	                                cfg_.tables.transaction_timeout)) {
		++c_.udp_redropped;
		return Verdict::Drop;
	}
	sip::parse(pkt_.payload, sip::Transport::Datagram, m_.msg);
	const Verdict v = message(m_.msg);
	if (v == Verdict::Drop && remember_drop_ && dir_ == nfq::Direction::In && !banned())
		m_.redrop.insert(who, util::hash_bytes(pkt_.payload.data(), pkt_.payload.size(), who), now_);
	return v;
}

namespace {

// TCP header flags (RFC 793 §3.1).
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kUrg = 0x20;
// A flow's first data segment lies within this distance of its SYN, which
// is remembered this long (Linux gives up a handshake after about 63 s).
constexpr int32_t kSynWindow = 1 << 20;
constexpr util::Duration kSynLife = std::chrono::seconds(120);

} // namespace

uint64_t EnginePass::flow_key(nfq::Direction d) const
{
	const uint64_t ports = static_cast<uint64_t>(pkt_.remote_port(dir_)) << 32 |
	                       static_cast<uint64_t>(pkt_.local_port(dir_)) << 8 | static_cast<uint64_t>(d);
	return util::hash_combine(remote_hash_, ports);
}

// The PBX's connection on this address and port pair is gone (or replaced):
// both directions start afresh.
void EnginePass::end_connection()
{
	for (nfq::Direction d : {nfq::Direction::In, nfq::Direction::Out}) {
		const uint64_t key = flow_key(d);
		const uint32_t slot = m_.flows.find(key, [&](const Flow& f) { return f.key == key; });
		if (slot != util::kNoSlot)
			release_flow(slot);
		const uint32_t e = m_.evicted.find(key, [&](const Evicted& f) { return f.key == key; });
		if (e != util::kNoSlot)
			m_.evicted.erase(e);
	}
}

EnginePass::Start EnginePass::stream_start(uint64_t key, uint32_t& first)
{
	// An evicted flow's connection goes on where it left off, whatever
	// SYN the remote sends meanwhile: only the PBX's SYN-ACK says the
	// connection is new (end_connection forgets the eviction).
	const uint32_t e = m_.evicted.find(key, [&](const Evicted& f) { return f.key == key; });
	if (e != util::kNoSlot && mode_ == TcpStream::Mode::Enforce) {
		if (!m_.evicted[e].resumable || pkt_.tcp_seq != m_.evicted[e].delivered)
			return Start::Refused;
		first = pkt_.tcp_seq;
		m_.evicted.erase(e);
		++c_.tcp_midstream;
		return Start::Resume;
	}
	const uint32_t s = m_.syns.find(key, [&](const SynSeen& r) { return r.key == key; });
	if (s != util::kNoSlot) {
		const SynSeen syn = m_.syns[s];
		m_.syns.erase(s);
		const int32_t off = seq_diff(pkt_.tcp_seq, syn.isn + 1);
		if (now_ - syn.at <= kSynLife && off >= 0 && off < kSynWindow) {
			first = syn.isn + 1;
			return Start::Syn;
		}
	}
	if (!starts_sip_stream(pkt_.payload))
		return Start::Unknown;
	first = pkt_.tcp_seq;
	++c_.tcp_midstream;
	return Start::Pickup;
}

bool EnginePass::at_cap() const
{
	// Allowlisted and trusted remotes (trunks, proxies) are never refused.
	if (st_->allowlisted)
		return false;
	const uint32_t c =
		m_.source_flows.find(remote_hash_, [&](const SourceFlows& e) { return e.source == remote_hash_; });
	return c != util::kNoSlot && m_.source_flows[c].flows >= cfg_.tables.tcp_flows_per_source;
}

Verdict EnginePass::over_cap()
{
	++c_.tcp_flows_over_cap;
	return mode_ == TcpStream::Mode::Observe ? Verdict::Accept : Verdict::Drop;
}

void EnginePass::uncount(Flow& f)
{
	if (!f.counted)
		return;
	f.counted = false;
	const uint32_t c = m_.source_flows.find(f.source, [&](const SourceFlows& e) { return e.source == f.source; });
	if (c != util::kNoSlot && --m_.source_flows[c].flows == 0)
		m_.source_flows.erase(c);
}

void EnginePass::release_flow(uint32_t slot)
{
	uncount(m_.flows[slot]);
	m_.flows.erase(slot);
}

// A slot for a new flow. A full table forgets its least recently active
// (or closed) flow, remembering where a remote's stream stood.
uint32_t EnginePass::new_flow(uint64_t key)
{
	if (m_.flows.full()) {
		const uint32_t victim = m_.flows.oldest();
		const Flow& f = m_.flows[victim];
		if (f.dir == nfq::Direction::In) {
			uint32_t e = m_.evicted.find(f.key, [&](const Evicted& v) { return v.key == f.key; });
			if (e == util::kNoSlot) {
				e = m_.evicted.insert(f.key);
				m_.evicted[e].key = f.key;
			}
			m_.evicted[e].delivered = f.stream.delivered();
			m_.evicted[e].resumable = f.stream.resumable();
		}
		release_flow(victim); // before the remote's count is made: may free an entry
		c_.flow_evictions = ++m_.flow_evictions;
	}
	// Never full: no more counted addresses than flow slots, and one is free.
	uint32_t c = m_.source_flows.find(remote_hash_, [&](const SourceFlows& e) { return e.source == remote_hash_; });
	if (c == util::kNoSlot) {
		c = m_.source_flows.insert(remote_hash_);
		m_.source_flows[c] = SourceFlows{remote_hash_, 0};
	}
	++m_.source_flows[c].flows;
	const uint32_t slot = m_.flows.insert(key);
	m_.flows[slot].key = key;
	m_.flows[slot].source = remote_hash_;
	m_.flows[slot].counted = true;
	m_.flows[slot].dir = dir_;
	return slot;
}

Verdict EnginePass::tcp()
{
	const uint8_t flags = pkt_.tcp_flags;
	const uint64_t key = flow_key(dir_);
	uint32_t slot = m_.flows.find(key, [&](const Flow& f) { return f.key == key; });
	if (dir_ == nfq::Direction::Out)
		mode_ = cfg_.dry_run ? TcpStream::Mode::Observe : TcpStream::Mode::Trusted;
	else
		mode_ = cfg_.dry_run || st_->allowlisted ? TcpStream::Mode::Observe : TcpStream::Mode::Enforce;

	// Urgent data: the PBX's socket (without SO_OOBINLINE, Linux's default)
	// takes the byte the urgent pointer marks out of the stream, also when
	// it marks a later segment's byte, so the PBX would read other bytes than
	// the ones judged here. SIP never sends urgent data.
	if ((flags & kUrg) && !(flags & kRst) && mode_ == TcpStream::Mode::Enforce) {
		++c_.tcp_urgent;
		return Verdict::Drop;
	}
	if (flags & kRst) {
		// The PBX's own RST ends its connection. A remote's RST ends it only
		// where the PBX's TCP takes it (RFC 5961 §3.2); any other is passed
		// for the PBX to answer with a challenge ACK, and our view stays.
		if (dir_ == nfq::Direction::Out ||
		    (slot != util::kNoSlot && m_.flows[slot].stream.rst_matches(pkt_.tcp_seq)))
			end_connection();
		else if (slot != util::kNoSlot)
			++c_.tcp_ignored_controls;
		return Verdict::Accept;
	}
	if (flags & kSyn) {
		// Data on a SYN (TCP Fast Open) has no judged place in a stream; the
		// client sends it again after the handshake.
		if (!pkt_.payload.empty() && mode_ == TcpStream::Mode::Enforce) {
			++c_.tcp_midstream_dropped;
			return Verdict::Drop;
		}
		uint32_t s = m_.syns.find(key, [&](const SynSeen& e) { return e.key == key; });
		// The same ISN again is a resend (the PBX resends its SYN-ACK while
		// the handshake is unfinished).
		const bool again = (s != util::kNoSlot && m_.syns[s].isn == pkt_.tcp_seq) ||
		                   (slot != util::kNoSlot && m_.flows[slot].stream.first() == pkt_.tcp_seq + 1);
		// A remote's first SYN stands until its stream starts: another one
		// meanwhile may be spoofed and would misplace the stream's start.
		const bool fresh = s != util::kNoSlot && now_ - m_.syns[s].at <= kSynLife;
		if (dir_ == nfq::Direction::In && fresh && !again) {
			++c_.tcp_ignored_controls;
			return Verdict::Accept;
		}
		if (s == util::kNoSlot) {
			s = m_.syns.insert(key);
			m_.syns[s].key = key;
		}
		m_.syns[s].isn = pkt_.tcp_seq;
		m_.syns[s].at = now_;
		// A remote's SYN never resets a live flow (it may be spoofed; the
		// PBX answers it with a challenge ACK, RFC 5961 §4). The PBX's SYN
		// or SYN-ACK does: its connection on this port pair is new.
		if (dir_ == nfq::Direction::Out && !again)
			end_connection();
		else if (dir_ == nfq::Direction::In && slot != util::kNoSlot)
			++c_.tcp_ignored_controls;
		return Verdict::Accept;
	}
	if (pkt_.payload.empty() && !(flags & kFin))
		return Verdict::Accept;
	if (slot == util::kNoSlot) {
		uint32_t first = 0;
		if (pkt_.payload.empty())
			return Verdict::Accept;
		// Before stream_start, which uses up the flow's SYN or eviction record.
		if (at_cap())
			return over_cap();
		const Start how = stream_start(key, first);
		if (how == Start::Unknown && only_crlf(pkt_.payload)) {
			// Keep-alives carry nothing to judge: they pass without
			// starting a stream (often a phone's first segment after an
			// agent restart; the next one opens a message).
			++c_.keepalives;
			return Verdict::Accept;
		}
		if (how == Start::Unknown || how == Start::Refused) {
			if (mode_ != TcpStream::Mode::Enforce)
				return Verdict::Accept;
			++c_.tcp_midstream_dropped;
			return Verdict::Drop;
		}
		slot = new_flow(key);
		m_.flows[slot].stream.start(first, how == Start::Pickup);
	} else {
		m_.flows.touch(slot);
	}
	const TcpStream::Result r =
		m_.flows[slot].stream.on_segment(pkt_.tcp_seq, flags & kFin, pkt_.payload, mode_, *this, m_.tcp);
	count(r.outcome);
	// A direction closed by its FIN gives its remote's share back and is
	// evicted first. It stays while it can, so resends are still compared:
	// one address cannot fill the table with closed flows past its share.
	if (m_.flows[slot].stream.closed()) {
		uncount(m_.flows[slot]);
		m_.flows.retire(slot);
	}
	return banned() ? Verdict::Drop : r.verdict;
}

void EnginePass::count(TcpOutcome o)
{
	switch (o) {
	case TcpOutcome::Held: ++c_.tcp_held; break;
	case TcpOutcome::AheadOfGap: ++c_.tcp_out_of_order; break;
	case TcpOutcome::AfterDrop: ++c_.tcp_after_drop; break;
	case TcpOutcome::Conflict: ++c_.tcp_conflicts; break;
	case TcpOutcome::Stale: ++c_.tcp_stale; break;
	case TcpOutcome::Full: ++c_.tcp_window_full; break;
	case TcpOutcome::BeforeStart: ++c_.tcp_midstream_dropped; break;
	case TcpOutcome::Duplicate: ++c_.tcp_duplicates; break;
	case TcpOutcome::Control:
	case TcpOutcome::InOrder:
	case TcpOutcome::OutOfOrder:
	case TcpOutcome::Judged: break;
	}
}

Verdict EnginePass::judge(const sip::Message& m, Framing how)
{
	Verdict v = Verdict::Accept;
	if (how == Framing::Overflow) {
		++c_.tcp_overflows;
		v = malformed("tcp message too large");
	} else {
		v = message(m);
	}
	if (banned())
		return Verdict::Drop;
	// Past a message without a usable length nothing can be framed, so
	// nothing after it could be judged: the stream ends there.
	if (how != Framing::Message && mode_ == TcpStream::Mode::Enforce)
		return Verdict::Drop;
	return v;
}

void EnginePass::conflict() { (void)malformed("tcp overlap with different bytes"); }

Verdict EnginePass::malformed(std::string_view what)
{
	++c_.malformed;
	if (dir_ != nfq::Direction::In || st_->allowlisted)
		return Verdict::Accept;
	Finding& f = m_.finding;
	if (detect::malformed::on_message(cfg_.malformed, *st_, what, now_, f) && emit(f, false))
		return Verdict::Drop;
	return (cfg_.malformed.drop && !cfg_.dry_run) ? Verdict::Drop : Verdict::Accept;
}

// A forged NOTIFY (check-sync, or one our parser refused) from an untrusted
// source: dropped unless allowlisted or in dry run, and an offence towards a
// ban; true when that ban was emitted.
bool EnginePass::forged_notify(const sip::Message& msg, std::string_view what, Verdict& v)
{
	++c_.forged_dropped;
	if (!cfg_.dry_run && !st_->allowlisted) {
		v = Verdict::Drop;
		remember_drop_ = true;
	}
	std::string_view sample = msg.event_params.empty() ? msg.event : msg.event_params;
	return !st_->allowlisted && detect::forged::on_offence(cfg_.forged, *st_, what, sample, now_, m_.finding) &&
	       emit(m_.finding, false);
}

Verdict EnginePass::message(const sip::Message& msg)
{
	if (msg.kind == sip::Kind::NotSip) {
		if (msg.not_sip == sip::NotSipKind::Keepalive || msg.not_sip == sip::NotSipKind::Stun ||
		    (pkt_.l4 == nfq::L4::Udp && is_blank_keepalive(pkt_.payload))) {
			++c_.keepalives;
			return Verdict::Accept;
		}
		++c_.not_sip;
		return malformed(sip::to_string(msg.not_sip));
	}
	if (msg.error != sip::Malformation::None) {
		Verdict v = malformed(sip::to_string(msg.error));
		// Our parser stops at the error, so the Event it has (if any) may not
		// be the one the PBX, or the phone it relays to, reads: a malformed
		// NOTIFY from an untrusted source is handled as a forged one.
		if (msg.kind == sip::Kind::Request && msg.method == sip::Method::Notify && dir_ == nfq::Direction::In &&
		    cfg_.forged.enabled && !st_->trusted &&
		    forged_notify(msg, "malformed NOTIFY from an untrusted source", v))
			return Verdict::Drop;
		return v;
	}
	++c_.sip_messages;
	count_by_method(c_, msg);

	Verdict v = Verdict::Accept;
	if (msg.is_request()) {
		++c_.requests;
		if (dir_ == nfq::Direction::In) {
			prove(msg);
			v = request(msg);
		} else if (msg.method == sip::Method::Options || msg.method == sip::Method::Invite ||
		           msg.method == sip::Method::Register || msg.method == sip::Method::Subscribe) {
			// The PBX itself talks to this address: a trunk or a registered
			// phone it qualifies, not a stranger.
			st_->pbx_peer = true;
		}
	} else {
		++c_.responses;
		if (dir_ == nfq::Direction::Out) {
			if (msg.status == 401 || msg.status == 407) {
				const sip::Challenge& ch = msg.status == 401 ? msg.www_authenticate : msg.proxy_authenticate;
				m_.proof.challenged(remote_, remote_hash_, ch.nonce, now_);
			}
			v = response(msg);
		}
	}
	if (v == Verdict::Drop && banned())
		return v;

	if (hook_) {
		calls::SipContext ctx{pkt_, dir_, msg, now_, remote_, st_->trusted, st_->allowlisted};
		calls::CallDecision d = hook_->on_sip(ctx, m_.sink);
		if (d.drop && !st_->allowlisted) {
			++c_.call_hook_drops;
			if (!cfg_.dry_run) {
				v = Verdict::Drop;
				remember_drop_ = true;
			}
		}
		if (d.offence && dir_ == nfq::Direction::In && !st_->trusted && !st_->allowlisted) {
			Finding& f = m_.finding;
			if (detect::forged::on_offence(cfg_.forged, *st_, d.reason.empty() ? "in-dialog request from a non-party" : d.reason,
			                               msg.method_token, now_, f) &&
			    emit(f, false))
				v = Verdict::Drop;
		}
		if (d.limit && dir_ == nfq::Direction::In && call_limit(*d.limit))
			v = Verdict::Drop;
	}
	if (fraud_) {
		if (msg.is_request()) {
			if (msg.method == sip::Method::Invite && msg.to.tag.empty() && v == Verdict::Accept)
				v = fraud_invite(msg);
			else if (msg.method == sip::Method::Bye)
				fraud_bye(msg);
		} else if (msg.cseq_method == sip::Method::Invite && msg.status >= 200) {
			fraud_response(msg);
		}
	}
	return v;
}

namespace {

// The number as dialled: the Request-URI's user, or a tel: URI whole
// (RFC 3966), which the guard's normalisation reads.
std::string_view dialled_of(const sip::Message& m)
{
	if (m.ruri.scheme == "tel" || (m.ruri.user.empty() && m.ruri.raw.starts_with("tel:")))
		return m.ruri.raw;
	return m.ruri.user;
}

std::string_view credentials_user(const sip::Message& m)
{
	if (m.authorization.present && m.authorization.has_response)
		return m.authorization.username;
	if (m.proxy_authorization.present && m.proxy_authorization.has_response)
		return m.proxy_authorization.username;
	return {};
}

} // namespace

Verdict EnginePass::fraud_invite(const sip::Message& msg)
{
	// Only a phone's INVITE with credentials or the PBX's INVITE to a trunk
	// is a call to decide; anything else costs no hashing or lookup (a
	// retransmitted or retried INVITE carries the same credentials).
	const bool trunk = net::Cidr::any_contains(cfg_.trunks, remote_);
	// Calls from the provider are not the site's to pay for; an INVITE
	// without credentials is challenged by the PBX, and its retry with
	// credentials is the call.
	const std::string_view user = dir_ == nfq::Direction::In ? credentials_user(msg) : std::string_view{};
	if (dir_ == nfq::Direction::In ? trunk || user.empty() : !trunk)
		return Verdict::Accept;

	const uint64_t key = util::hash_text(msg.call_id, remote_hash_) | 1;
	uint32_t s = m_.fraud_calls.find(key, [&](const FraudCall& c) { return c.key == key; });
	if (s != util::kNoSlot) {
		// A retransmission, or the retry after a 401/407: decided already.
		FraudCall& c = m_.fraud_calls[s];
		m_.fraud_calls.touch(s);
		if (c.denied) {
			++c_.fraud_dropped;
			if (cfg_.dry_run)
				return Verdict::Accept;
			remember_drop_ = true;
			return Verdict::Drop;
		}
		c.cseq = msg.cseq;
		return Verdict::Accept;
	}

	fraud::CallAttempt a;
	a.dialled = dialled_of(msg);
	a.call_id = msg.call_id;
	a.source = remote_;
	a.source_class = fraud::SourceClass::Extension;
	if (dir_ == nfq::Direction::In) {
		// Anyone can write a username: only an account that authenticated
		// from this source before is counted and locked. Otherwise the
		// call meets the destination policy and the lists alone, so
		// nobody can lock someone else's account with made-up calls.
		const detect::PairState* p = m_.pairs.find(remote_, remote_hash_, m_.accounts.hash(user));
		a.account = p && p->succeeded ? user : std::string_view{};
		a.direction = fraud::CallDirection::ToPbx;
	} else {
		a.account = msg.from.uri.user;
		a.direction = fraud::CallDirection::ToTrunk;
	}

	fraud::Decision& d = m_.fraud_decision;
	if (!fraud_->decide(a, now_, d)) {
		++c_.fraud_linked;
		return Verdict::Accept;
	}
	++c_.fraud_decided;
	s = m_.fraud_calls.insert(key);
	m_.fraud_calls[s] = FraudCall{key, msg.cseq, d.drop(), false, d.call};
	if (!d.drop())
		return Verdict::Accept;
	++c_.fraud_dropped;
	bool banned_now = false;
	if (d.verdict == fraud::Verdict::DenyAndLock && d.event.reason != fraud::Reason::Locked) {
		++c_.fraud_locks;
		// Only a phone's source: the far end of a PBX-to-trunk INVITE is the provider.
		if (dir_ == nfq::Direction::In)
			banned_now = fraud_lock(d.event);
	}
	if (cfg_.dry_run)
		return Verdict::Accept;
	if (!banned_now)
		remember_drop_ = true;
	return Verdict::Drop;
}

bool EnginePass::fraud_lock(const fraud::Event& e)
{
	Finding& f = m_.finding;
	detect::begin_finding(f, detect::Detector::Fraud, "toll fraud: account locked", now_, std::chrono::minutes(1));
	f.wants_ban = true;
	if (e.count || e.threshold) {
		f.evidence.add_count("count", e.count);
		f.evidence.add_count("threshold", e.threshold);
	}
	f.evidence.add_count("lock_step", e.lock_step);
	f.evidence.add_sample("account", e.account.data());
	f.evidence.add_sample("dialled", e.dialled.data());
	f.evidence.add_sample("rule", e.rule.data());
	f.evidence.add_sample("class", fraud::to_string(e.number_class));
	if (st_->user_agent.len)
		f.evidence.add_sample("user_agent", st_->user_agent.view());
	return emit(f, false);
}

void EnginePass::fraud_bye(const sip::Message& msg)
{
	// Only a call this shard decided, or any BYE from a trunk (a provider
	// sends BYE from another node of its trunk; the guard ends the call by
	// Call-ID alone). Other BYEs cost one lookup at most.
	uint32_t s = util::kNoSlot;
	uint64_t key = 0;
	if (m_.fraud_calls.size() != 0) {
		key = util::hash_text(msg.call_id, remote_hash_) | 1;
		s = m_.fraud_calls.find(key, [&](const FraudCall& c) { return c.key == key; });
	}
	if (s == util::kNoSlot && !net::Cidr::any_contains(cfg_.trunks, remote_))
		return;
	fraud_->on_ended(msg.call_id, now_, s != util::kNoSlot ? m_.fraud_calls[s].ref : fraud::CallRef{});
	if (s != util::kNoSlot && !m_.fraud_calls[s].denied)
		m_.fraud_calls.erase(s);
}

void EnginePass::fraud_response(const sip::Message& msg)
{
	if (m_.fraud_calls.size() == 0)
		return;
	const uint64_t key = util::hash_text(msg.call_id, remote_hash_) | 1;
	const uint32_t s = m_.fraud_calls.find(key, [&](const FraudCall& c) { return c.key == key; });
	if (s == util::kNoSlot)
		return;
	FraudCall& c = m_.fraud_calls[s];
	if (c.denied || c.cseq != msg.cseq)
		return;
	if (msg.status == 401 || msg.status == 407)
		return; // the retry with credentials goes on with the same call
	if (c.answered)
		return; // a 2xx retransmitted, or another fork's answer or failure: the call stands
	if (msg.status < 300) {
		fraud_->on_answered(msg.call_id, now_, c.ref);
		c.answered = true;
		return;
	}
	fraud_->on_ended(msg.call_id, now_, c.ref);
	m_.fraud_calls.erase(s);
}

bool EnginePass::call_limit(const calls::CallLimitReport& rep)
{
	Finding& f = m_.finding;
	// The tracker already reports a limited key at most once a minute; the
	// finding's window says so (and suppresses repeats from this source).
	detect::begin_finding(f, detect::Detector::CallLimit, rep.reason.empty() ? "call limit reached" : rep.reason, now_,
	                      std::chrono::minutes(1));
	f.wants_ban = cfg_.call_limit.ban;
	f.evidence.add_count("calls", rep.count);
	f.evidence.add_count("limit", rep.limit);
	f.evidence.add_sample("scope", rep.scope);
	f.evidence.add_sample("subject", rep.subject);
	if (st_->user_agent.len)
		f.evidence.add_sample("user_agent", st_->user_agent.view());
	return emit(f, false);
}

bool EnginePass::blocked_pair(const sip::Message& msg, const RequestFacts& r)
{
	const uint64_t acting =
		r.has_credentials
			? r.account
			: m_.accounts.hash(msg.method == sip::Method::Register ? msg.to.uri.user : msg.from.uri.user);
	PairState* p = m_.pairs.find(remote_, remote_hash_, acting);
	if (!p || p->blocked_until <= now_)
		return false;
	++p->dropped;
	++c_.account_blocked;
	return !cfg_.dry_run;
}

bool EnginePass::guarded_account(const sip::Message& msg, const RequestFacts& r)
{
	PairState& p = m_.pairs.find_or_insert(remote_, remote_hash_, r.account);
	c_.pair_evictions = m_.pairs.evictions();
	if (p.succeeded)
		return false;
	++c_.account_guarded;
	const detect::AccountTable::Failure acct =
		m_.accounts.on_failure(r.account, r.source_hash, now_, cfg_.brute_force.window, cfg_.account);
	const detect::brute_force::Context ctx{cfg_.account, cfg_.ban.ladder, &p, &acct,
	                                       remote_.is_v6() ? lazy_.prefix() : nullptr, r.source_hash};
	Finding& f = m_.finding;
	const auto o = detect::brute_force::on_guarded(cfg_.brute_force, ctx, *st_, p, txn_key(remote_hash_, msg),
	                                               r.auth_user, now_, f);
	if (o != detect::brute_force::Outcome::None && emit(f, o == detect::brute_force::Outcome::BanPrefix))
		return true;
	return !cfg_.dry_run;
}

bool EnginePass::account_rate(const RequestFacts& r)
{
	// Only an account's own sources spend its budget: credentials anyone can
	// write must not throttle a trunk's real calls (others face brute force).
	const PairState* p = m_.pairs.find(remote_, remote_hash_, r.account);
	if (!p || !p->succeeded)
		return true;
	bool first = false;
	uint64_t dropped = 0;
	if (m_.accounts.take(r.account, cfg_.account.rate, now_, first, dropped))
		return true;
	const bool drop = throttle();
	if (first) {
		Finding& f = m_.finding;
		detect::begin_finding(f, detect::Detector::Account,
		                      "requests with one account's credentials over its rate: excess dropped", now_,
		                      std::chrono::minutes(1));
		f.wants_ban = false;
		f.evidence.add_count("dropped", static_cast<int64_t>(dropped));
		f.evidence.add_count("rate_per_s", static_cast<int64_t>(cfg_.account.rate.rate));
		f.evidence.add_count("burst", static_cast<int64_t>(cfg_.account.rate.burst));
		f.evidence.add_sample("account", r.auth_user);
		f.evidence.add_sample("identity", "account");
		f.evidence.add_sample("why", "not banned: the account authenticated from this source");
		report(f);
	}
	return !drop;
}

void EnginePass::report_guarded(const ResponseFacts& r, const detect::AccountTable::Failure& acct)
{
	Finding& f = m_.finding;
	detect::begin_finding(f, detect::Detector::Account,
	                      "account under attack from several sources: its credentials from sources where it never "
	                      "authenticated are dropped",
	                      now_, cfg_.account.guard_time);
	f.wants_ban = false;
	f.evidence.add_count("failures_all_sources", acct.failures);
	f.evidence.add_count("failing_sources", acct.sources);
	f.evidence.add_sample("account", r.account_name);
	f.evidence.add_sample("identity", "account");
	f.evidence.add_sample("why", "guarded: the sources where it authenticated keep working");
	report(f);
}

void EnginePass::prove(const sip::Message& msg)
{
	proven_ = false;
	if (st_->known() || st_->allowlisted || st_->trusted)
		return; // a better tier already
	const sip::Credentials& cr = msg.authorization.present ? msg.authorization : msg.proxy_authorization;
	proven_ = (cr.present && m_.proof.answered(remote_, remote_hash_, cr.nonce, now_)) ||
	          m_.proof.proven(remote_, remote_hash_, now_);
}

Verdict EnginePass::request(const sip::Message& msg)
{
	SourceState& st = *st_;
	++st.requests;
	if (st.user_agent.len == 0 && !msg.user_agent.empty())
		st.user_agent.set(msg.user_agent);

	bool creds = has_credentials(msg);
	std::string_view target = msg.method == sip::Method::Register ? msg.to.uri.user
	                          : !msg.ruri.user.empty()              ? msg.ruri.user
	                                                                : msg.to.uri.user;
	std::string_view auth_user = msg.authorization.present         ? msg.authorization.username
	                             : msg.proxy_authorization.present ? msg.proxy_authorization.username
	                                                               : msg.from.uri.user;
	RequestFacts r{msg};
	r.method = msg.method;
	r.target_user = target;
	r.target_hash = detect::hash_user(target);
	r.has_credentials = creds;
	r.auth_user = auth_user;
	if (creds)
		r.account = m_.accounts.hash(auth_user);
	r.probe = msg.method == sip::Method::Options ||
	          (!creds && (msg.method == sip::Method::Register || msg.method == sip::Method::Invite ||
	                      msg.method == sip::Method::Subscribe));
	r.remote_port = pkt_.remote_port(dir_);
	r.source_hash = remote_hash_ | 1;
	if (creds)
		st.ever_credentials = true;
	st.expire_users(now_, cfg_.enumeration.window);

	Verdict v = Verdict::Accept;
	Finding& f = m_.finding;
	if (!st.trusted && detect::forged::is_forged_control(cfg_.forged, msg) &&
	    forged_notify(msg, "NOTIFY check-sync from an untrusted source", v))
		return Verdict::Drop;

	if (!st.allowlisted) {
		if (st.pairs_blocked_until > now_ && blocked_pair(msg, r))
			return Verdict::Drop;
		if (creds && cfg_.account.enabled && m_.accounts.guarded(r.account, now_) && guarded_account(msg, r))
			return Verdict::Drop;
		if (!st.known() && !proven_ && !m_.global_unknown.take(cfg_.flood.global_unknown, 1.0, now_)) {
			// Shed, not banned: under a spoofed flood the global guard keeps
			// the PBX alive without trusting any single source address.
			++c_.shed;
			if (!cfg_.dry_run)
				v = Verdict::Drop;
		}
		if (detect::scanner::on_request(cfg_.scanner, st, r, now_, f) && emit(f, false))
			return Verdict::Drop;
		const auto e = detect::enumeration::on_request(cfg_.enumeration, st, lazy_, r, now_, f);
		if ((e == detect::enumeration::Outcome::Ban || e == detect::enumeration::Outcome::BanPrefix) &&
		    emit(f, e == detect::enumeration::Outcome::BanPrefix))
			return Verdict::Drop;
		if (e == detect::enumeration::Outcome::Hold) {
			++c_.enumeration_held;
			if (!cfg_.dry_run)
				return Verdict::Drop;
		}
		// After the detectors that keep the source's answers to challenges.
		if (creds && cfg_.account.enabled && cfg_.account.rate.rate > 0 && !account_rate(r))
			return Verdict::Drop;
		PrefixState* ps = cfg_.flood.enabled && !st.known() ? lazy_.prefix() : nullptr;
		auto hit = detect::flood::on_request(cfg_.flood, st, ps, r, now_, f);
		if (hit == detect::flood::Hit::Throttle) {
			emit(f, false); // once a minute (suppression), never a ban
			if (throttle())
				return Verdict::Drop;
		} else if (hit != detect::flood::Hit::None && emit(f, hit == detect::flood::Hit::Prefix)) {
			return Verdict::Drop;
		} else if (hit == detect::flood::Hit::Prefix) {
			// Over the prefix's rate, not banned (a source authenticated in
			// it, so the ban manager bans hosts only; or the finding was
			// suppressed): an unknown source's excess is shed.
			++c_.shed;
			if (!cfg_.dry_run)
				return Verdict::Drop;
		}
	}

	if (msg.method != sip::Method::Ack) {
		Txn& t = m_.txns.insert(txn_key(remote_hash_, msg), now_, cfg_.tables.transaction_timeout);
		c_.transaction_evictions = m_.txns.evictions();
		t.target_hash = r.target_hash;
		t.account = r.account;
		t.method = msg.method;
		t.creds = creds;
		t.probe = r.probe;
		t.target.set(creds ? auth_user : target);
	}
	return v;
}

Verdict EnginePass::response(const sip::Message& msg)
{
	Txn* t = m_.txns.find(txn_key(remote_hash_, msg));
	if (!t) {
		++c_.unmatched_responses;
		return Verdict::Accept;
	}
	++c_.matched_responses;
	ResponseFacts r;
	r.status = msg.status;
	r.method = t->method;
	r.target_hash = t->target_hash;
	r.account = t->account;
	r.had_credentials = t->creds;
	r.probe = t->probe;
	r.target_user = t->target.view();
	r.account_name = t->creds ? t->target.view() : std::string_view{};
	r.source_hash = remote_hash_ | 1;
	r.remote_port = pkt_.remote_port(dir_);
	if (msg.status < 200)
		return Verdict::Accept;
	m_.txns.erase(*t); // final: the transaction is done (retransmissions are unmatched)

	SourceState& st = *st_;
	st.expire_users(now_, cfg_.enumeration.window);
	if (detect::is_success(r))
		st.ever_success = true;
	// The (source, account) pair of a response to credentials: a success
	// makes the source known good for accounts, a failure is judged on it.
	// The account that succeeded last from here is on record already (a
	// phone re-registering, a trunk's calls): no lookup for it.
	PairState* pair = nullptr;
	const auto last = static_cast<uint32_t>(r.account) | 1;
	if (r.account && detect::is_auth_failure(r)) {
		pair = &m_.pairs.find_or_insert(remote_, remote_hash_, r.account);
		c_.pair_evictions = m_.pairs.evictions();
		st.last_auth_account = 0;
	} else if (r.account && detect::is_success(r) && st.last_auth_account != last) {
		pair = &m_.pairs.find_or_insert(remote_, remote_hash_, r.account);
		c_.pair_evictions = m_.pairs.evictions();
		// Nor is the /24 or /64 (the ban manager's, for all shards).
		if (!st.auth_success)
			m_.bans.note_authenticated(remote_, now_);
		// A /64 an account authenticated from is never aggregated.
		if (!st.auth_success && remote_.is_v6())
			if (PrefixState* p6 = lazy_.prefix())
				p6->auth_success = true;
		detect::brute_force::on_auth_success(st, *pair, r.account);
		st.last_auth_account = last;
	}
	PrefixState* ps = detect::is_success(r) ? m_.prefixes.find(remote_.masked(prefix_len_for(cfg_, remote_))) : nullptr;
	detect::flood::on_response(cfg_.flood, st, ps, r, now_);
	if (st.allowlisted)
		return Verdict::Accept;
	Finding& f = m_.finding;
	if (detect::scanner::on_response(cfg_.scanner, st, r, now_, f) && emit(f, false))
		return Verdict::Drop;
	const auto e = detect::enumeration::on_response(cfg_.enumeration, st, lazy_, r, now_, f);
	if ((e == detect::enumeration::Outcome::Ban || e == detect::enumeration::Outcome::BanPrefix) &&
	    emit(f, e == detect::enumeration::Outcome::BanPrefix))
		return Verdict::Drop;
	// Failures per account are shared by all shards (mutex, slow path: each
	// one is a digest the PBX checked and refused).
	detect::AccountTable::Failure acct;
	const bool failed = cfg_.brute_force.enabled && detect::is_auth_failure(r);
	if (failed) {
		acct = m_.accounts.on_failure(r.account ? r.account : r.target_hash, r.source_hash, now_,
		                              cfg_.brute_force.window, cfg_.account);
		c_.account_evictions += acct.evicted ? 1 : 0;
		if (acct.newly_guarded)
			report_guarded(r, acct);
	}
	const detect::brute_force::Context ctx{cfg_.account, cfg_.ban.ladder, pair, failed ? &acct : nullptr,
	                                       failed && remote_.is_v6() ? lazy_.prefix() : nullptr, r.source_hash};
	const auto b = detect::brute_force::on_response(cfg_.brute_force, ctx, st, r, now_, f);
	if (b == detect::brute_force::Outcome::Block)
		report(f);
	else if ((b == detect::brute_force::Outcome::Ban || b == detect::brute_force::Outcome::BanPrefix) &&
	         emit(f, b == detect::brute_force::Outcome::BanPrefix))
		return Verdict::Drop;
	return Verdict::Accept;
}

Verdict Engine::on_packet(const nfq::PacketView& packet, nfq::Direction direction, util::TimePoint now)
{
	EnginePass pass(*impl_, counters_, hook_, fraud_, packet, direction, now);
	Verdict v = pass.run();
	last_known_ = pass.source_known();
	last_proven_ = pass.source_proven();
	if (v == Verdict::Drop)
		++counters_.dropped;
	else
		++counters_.accepted;
	return v;
}

} // namespace sipguard::engine
