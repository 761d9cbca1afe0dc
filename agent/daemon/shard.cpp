// SPDX-License-Identifier: GPL-2.0-or-later
// The packet path of one queue thread and what it hands to the rest of the
// daemon: pinhole updates to the rules writer, findings to followers.
#include "agent/daemon/shard.h"

#include <chrono>
#include <string>

#include "agent/daemon/runtime.h"

namespace sipguard::daemon {

Shard::Shard(Runtime& rt, const calls::Config& calls_config, uint64_t hash_seed)
	: known([&rt](const net::IpAddress& a, std::chrono::seconds t) { return rt.writer && rt.writer->known(a, t); },
	        hash_seed),
	  proven([&rt](const net::IpAddress& a, std::chrono::seconds t) { return rt.writer && rt.writer->proven(a, t); },
	         hash_seed),
	  rt_(rt), hook_(calls_config, rt.call_limits.get()),
	  engine_(rt.engine_config(), *rt.bans, *this, hash_seed, rt.accounts.get()),
	  version_(rt.config_version.load(std::memory_order_acquire))
{
	engine_.set_call_hook(&hook_);
	known.configure(KnownSources::settings_of(*rt.config()));
	proven.configure(KnownSources::proven_settings_of(*rt.config()));
	engine_.set_fraud(rt.fraud ? rt.fraud->gate() : nullptr);
}

// Time-driven engine work (dialog and pinhole timeouts, table ageing) at most
// once a second, from whichever comes first: a packet or an idle queue.
void Shard::tick(util::TimePoint now)
{
	if (now - last_tick_ >= std::chrono::seconds(1)) {
		last_tick_ = now;
		engine_.on_tick(now);
	}
}

void Shard::on_idle() { tick(wall_now()); }

nfq::Verdict Shard::on_packet(const nfq::PacketView& p, nfq::Direction dir)
{
	const util::TimePoint now = wall_now();
	// A reload publishes a new immutable engine snapshot and bumps the
	// version; the shard picks it up between packets, never mid-packet.
	uint64_t v = rt_.config_version.load(std::memory_order_acquire);
	if (v != version_) {
		version_ = v;
		engine_.set_config(rt_.engine_config());
		known.configure(KnownSources::settings_of(*rt_.config()));
		proven.configure(KnownSources::proven_settings_of(*rt_.config()));
		engine_.set_fraud(rt_.fraud ? rt_.fraud->gate() : nullptr);
	}
	tick(now);
	const int di = dir == nfq::Direction::In ? 0 : 1;
	packets[di].add();
	nfq::Verdict verdict = engine_.on_packet(p, dir, now);
	(verdict == nfq::Verdict::Accept ? accepted[di] : dropped[di]).add();
	if (verdict == nfq::Verdict::Accept && engine_.last_source_known())
		known.touch(p.remote(dir), now);
	else if (verdict == nfq::Verdict::Accept && engine_.last_source_proven())
		proven.touch(p.remote(dir), now);
	return verdict;
}

void Shard::on_finding(const detect::Finding& f, const engine::BanResult& result)
{
	// Bans are announced through the listener; followers also see findings
	// that did not become a ban (dry run, allowlisted, already banned).
	if (result.outcome == engine::BanOutcome::Banned || !rt_.has_followers())
		return;
	std::string ev;
	f.evidence.append_json(ev);
	std::string text;
	f.evidence.append_text(text);
	const std::string note = engine::finding_note(result); // as the ban log's line: why not banned
	rt_.publish({.ts = f.at,
	             .event = "finding",
	             .target = net::Cidr{f.source.masked(f.prefix_len), f.prefix_len},
	             .detector = detect::to_string(f.detector),
	             .reason = f.reason,
	             .note = note,
	             .evidence_json = ev,
	             .evidence_text = text});
}

void Shard::on_pinhole(const calls::PinholeUpdate& e)
{
	// Through KernelSync, which keeps what it takes to repair the media sets.
	if (!rt_.kernel.on_pinhole(e))
		pinhole_submit_failed.add();
}

} // namespace sipguard::daemon
