// SPDX-License-Identifier: GPL-2.0-or-later
// Replay driver: capture -> decode -> engine (+ call tracker) -> events.
#include "tools/replay/replay.h"

#include <algorithm>

#include <fmt/core.h>

#include "agent/calls/engine_hook.h"
#include "agent/engine/ban_log.h"
#include "agent/engine/ban_manager.h"
#include "agent/engine/fraud_gate.h"
#include "agent/util/json_string.h"
#include "nfq/decode.h"
#include "tools/replay/pcap_source.h"

namespace sipguard::replay {

namespace {



class Collector final : public engine::Sink, public engine::BanListener, public engine::FraudEvents {
public:
	Collector(Result& result, const Options& opt) : result_(result), opt_(opt) {}

	void set_packet(uint64_t no, util::TimePoint ts)
	{
		packet_ = no;
		ts_ = ts;
		if (!started_) {
			started_ = true;
			first_ = ts;
		}
	}

	void on_finding(const detect::Finding& f, const engine::BanResult& r) override
	{
		Event e = base(Event::Kind::Finding);
		e.target = net::Cidr{f.source.masked(f.prefix_len), f.prefix_len};
		e.detector = f.detector;
		e.reason = std::string(f.reason);
		e.outcome = std::string(engine::to_string(r.outcome));
		e.evidence_json.clear();
		f.evidence.append_json(e.evidence_json);
		f.evidence.append_text(e.evidence_text);
		emit(std::move(e));
		flush_pending();
	}

	void on_fraud(const fraud::Event& f) override
	{
		Event e = base(Event::Kind::Fraud);
		e.target = net::Cidr{f.source, static_cast<uint8_t>(f.source.max_prefix())};
		e.detector = detect::Detector::Fraud;
		e.reason = engine::fraud_reason(f);
		e.outcome = std::string(fraud::to_string(f.verdict));
		e.evidence_json = f.to_json();
		e.evidence_text = f.to_text();
		emit(std::move(e));
		flush_pending();
	}

	void on_verdict_change(const engine::VerdictChange& c) override
	{
		flush_pending();
		Event e = base(Event::Kind::Verdict);
		e.target = net::Cidr{c.source.masked(c.prefix_len), c.prefix_len};
		e.outcome = c.verdict == engine::Verdict::Drop ? "drop" : "accept";
		e.reason = std::string(c.why);
		emit(std::move(e));
	}

	void on_pinhole(const calls::PinholeUpdate& p) override
	{
		Event e = base(Event::Kind::Pinhole);
		e.target = net::Cidr::host(p.remote);
		e.local_port = p.local_port;
		e.outcome = std::string(calls::to_string(p.op));
		e.reason = std::string(p.reason);
		e.duration_s = p.timeout.count();
		if (p.op == calls::PinholeOp::Open)
			++result_.summary.pinholes;
		emit(std::move(e));
	}

	void on_ban(const engine::BanRecord& b) override
	{
		Event e = base(b.prefix ? Event::Kind::PrefixBan : Event::Kind::Ban);
		fill(e, b);
		if (b.prefix)
			++result_.summary.prefix_bans;
		else
			++result_.summary.bans;
		pending_.push_back(std::move(e));
	}

	void on_unban(const engine::BanRecord& b, engine::UnbanCause cause) override
	{
		Event e = base(cause == engine::UnbanCause::Expired ? Event::Kind::Expire : Event::Kind::Unban);
		fill(e, b);
		pending_.push_back(std::move(e));
	}

	void flush_pending()
	{
		for (auto& e : pending_)
			emit(std::move(e));
		pending_.clear();
	}

private:
	Event base(Event::Kind k) const
	{
		Event e;
		e.kind = k;
		e.packet = packet_;
		e.ts = ts_;
		e.offset_s = started_ ? std::chrono::duration<double>(ts_ - first_).count() : 0;
		return e;
	}
	static void fill(Event& e, const engine::BanRecord& b)
	{
		e.target = b.target;
		e.detector = b.detector;
		e.reason = b.reason;
		e.evidence_json = b.evidence_json;
		e.evidence_text = b.evidence_text;
		e.duration_s = b.duration().count() / 1000;
		e.offence_count = b.offence_count;
	}
	void emit(Event e)
	{
		if (opt_.out)
			fmt::print(opt_.out, "{}\n", format_event(e, opt_.json));
		result_.events.push_back(std::move(e));
	}

	Result& result_;
	const Options& opt_;
	uint64_t packet_ = 0;
	util::TimePoint ts_{};
	util::TimePoint first_{};
	bool started_ = false;
	std::vector<Event> pending_;
};

bool is_local(const std::vector<net::IpAddress>& local, const net::IpAddress& a)
{
	return std::find(local.begin(), local.end(), a) != local.end();
}

} // namespace

std::string_view to_string(Event::Kind k)
{
	switch (k) {
	case Event::Kind::Finding: return "finding";
	case Event::Kind::Ban: return "ban";
	case Event::Kind::PrefixBan: return "prefix_ban";
	case Event::Kind::Unban: return "unban";
	case Event::Kind::Expire: return "expire";
	case Event::Kind::Verdict: return "verdict";
	case Event::Kind::Pinhole: return "pinhole";
	case Event::Kind::Fraud: return "fraud";
	}
	return "?";
}

std::string format_event(const Event& e, bool json)
{
	if (json) {
		std::string out = fmt::format("{{\"event\":\"{}\",\"packet\":{},\"t\":{:.6f},\"addr\":\"{}\",\"prefix_len\":{}",
		                              to_string(e.kind), e.packet, e.offset_s, e.target.base.to_string(),
		                              e.target.prefix_len);
		switch (e.kind) {
		case Event::Kind::Finding:
		case Event::Kind::Fraud:
		case Event::Kind::Ban:
		case Event::Kind::PrefixBan:
		case Event::Kind::Unban:
		case Event::Kind::Expire:
			out += fmt::format(",\"detector\":\"{}\",\"reason\":", detect::to_string(e.detector));
			util::append_json_string(out, e.reason);
			if (e.kind == Event::Kind::Finding || e.kind == Event::Kind::Fraud) {
				out += ",\"outcome\":";
				util::append_json_string(out, e.outcome);
			} else {
				out += fmt::format(",\"duration_s\":{},\"offence_count\":{}", e.duration_s, e.offence_count);
			}
			out += ",\"evidence\":";
			out += e.evidence_json.empty() ? "{}" : e.evidence_json;
			break;
		case Event::Kind::Verdict:
			out += ",\"verdict\":";
			util::append_json_string(out, e.outcome);
			out += ",\"why\":";
			util::append_json_string(out, e.reason);
			break;
		case Event::Kind::Pinhole:
			out += fmt::format(",\"op\":\"{}\",\"local_port\":{},\"timeout_s\":{},\"why\":", e.outcome, e.local_port,
			                   e.duration_s);
			util::append_json_string(out, e.reason);
			break;
		}
		out += '}';
		return out;
	}
	std::string head = fmt::format("#{:<6} {:>10.6f}s {:<10} {}", e.packet, e.offset_s, to_string(e.kind),
	                               e.target.to_string());
	switch (e.kind) {
	case Event::Kind::Finding:
		return fmt::format("{} {}: {} -> {} [{}]", head, detect::to_string(e.detector), e.reason, e.outcome,
		                   e.evidence_text);
	case Event::Kind::Fraud:
		return fmt::format("{} {} [{}]", head, e.reason, e.evidence_text);
	case Event::Kind::Ban:
	case Event::Kind::PrefixBan:
		return fmt::format("{} for {} (offence {}): {}: {}", head, engine::human_duration(e.duration_s), e.offence_count,
		                   detect::to_string(e.detector), e.reason);
	case Event::Kind::Unban:
	case Event::Kind::Expire:
		return fmt::format("{} after {}", head, engine::human_duration(e.duration_s));
	case Event::Kind::Verdict:
		return fmt::format("{} {} ({})", head, e.outcome, e.reason);
	case Event::Kind::Pinhole:
		return fmt::format("{} {} local port {} timeout {}s ({})", head, e.outcome, e.local_port, e.duration_s,
		                   e.reason);
	}
	return head;
}

std::string format_summary(const Summary& s, bool json)
{
	const auto& c = s.engine;
	std::string by_detector;
	std::string by_detector_json;
	for (size_t i = 0; i < detect::kDetectorCount; ++i) {
		auto name = detect::to_string(static_cast<detect::Detector>(i));
		by_detector_json += fmt::format("{}\"{}\":{}", i ? "," : "", name, c.findings_by_detector[i]);
		if (c.findings_by_detector[i])
			by_detector += fmt::format(" {}={}", name, c.findings_by_detector[i]);
	}
	if (json)
		return fmt::format(
			"{{\"event\":\"summary\",\"frames\":{},\"ip_packets\":{},\"inbound\":{},\"outbound\":{},"
			"\"skipped_not_local\":{},\"skipped_local_both\":{},\"skipped_not_sip_port\":{},\"decode_errors\":{},\"non_ip\":{},"
			"\"reassembled\":{},\"tunnels\":{},\"sip_messages\":{},\"requests\":{},\"responses\":{},"
			"\"malformed\":{},\"not_sip\":{},\"keepalives\":{},\"dropped\":{},\"findings\":{},"
			"\"findings_by_detector\":{{{}}},\"bans\":{},\"prefix_bans\":{},\"pinholes\":{},"
			"\"matched_responses\":{},\"unmatched_responses\":{}}}",
			s.frames, s.ip_packets, s.inbound, s.outbound, s.skipped_not_local, s.skipped_local_both,
			s.skipped_not_sip_port, s.decode_errors, s.non_ip, s.reassembled, s.tunnels, c.sip_messages, c.requests, c.responses,
			c.malformed, c.not_sip, c.keepalives, c.dropped, c.findings, by_detector_json, s.bans, s.prefix_bans,
			s.pinholes, c.matched_responses, c.unmatched_responses);
	return fmt::format(
		"summary: {} frames, {} IP packets ({} in, {} out, {} not to/from --local, {} local-to-local, {} not on a SIP port, "
		"{} undecodable, "
		"{} non-IP, {} reassembled, {} tunnelled)\n"
		"         {} SIP messages ({} requests, {} responses; {} matched to a request), {} malformed, {} not SIP, "
		"{} keep-alives\n"
		"         {} packets dropped, {} findings{}{}, {} bans, {} prefix bans, {} pinholes",
		s.frames, s.ip_packets, s.inbound, s.outbound, s.skipped_not_local, s.skipped_local_both,
		s.skipped_not_sip_port, s.decode_errors, s.non_ip, s.reassembled, s.tunnels, c.sip_messages, c.requests, c.responses, c.matched_responses,
		c.malformed, c.not_sip, c.keepalives, c.dropped, c.findings, by_detector.empty() ? "" : ":", by_detector,
		s.bans, s.prefix_bans, s.pinholes);
}

Result run(const std::string& path, const Options& options)
{
	Result result;
	PcapSource src;
	if (util::Status st = src.open(path); !st) {
		result.error = st.message;
		return result;
	}

	auto config = options.config ? options.config : std::make_shared<const engine::Config>();
	engine::BanManager bans(*config, nullptr);
	Collector collector(result, options);
	bans.set_listener(&collector);
	engine::Engine eng(config, bans, collector);
	std::unique_ptr<calls::EngineHook> hook;
	if (options.track_calls) {
		hook = std::make_unique<calls::EngineHook>(options.calls_config ? *options.calls_config : calls::Config{});
		eng.set_call_hook(hook.get());
	}
	std::unique_ptr<fraud::Guard> guard;
	std::unique_ptr<engine::FraudGate> gate;
	if (options.fraud_config && options.fraud_config->enabled) {
		auto g = fraud::Guard::create(*options.fraud_config);
		if (!g) {
			result.error = fmt::format("[fraud]: {}", g.error());
			return result;
		}
		guard = std::move(*g);
		gate = std::make_unique<engine::FraudGate>(*guard, &collector);
		eng.set_fraud(gate.get());
	}
	std::optional<calls::MediaChecker> media;
	if (hook && options.check_media) {
		media.emplace(*options.check_media);
		hook->set_observer(&*media);
	}

	std::span<const uint8_t> ip;
	util::TimePoint ts{};
	uint64_t frame_no = 0;
	util::TimePoint next_tick{};
	nfq::PacketView pv;
	while (src.next(ip, ts, frame_no)) {
		++result.summary.ip_packets;
		collector.set_packet(frame_no, ts);
		if (ts >= next_tick) {
			// Housekeeping once per second of capture time, like the daemon.
			bans.expire(ts);
			eng.on_tick(ts);
			collector.flush_pending();
			next_tick = ts + std::chrono::seconds(1);
		}
		if (nfq::decode_ip(ip, pv) != nfq::DecodeStatus::Ok) {
			if (!pv.fragment)
				++result.summary.decode_errors;
			continue;
		}
		bool dst_local = is_local(options.local, pv.dst);
		bool src_local = is_local(options.local, pv.src);
		if (dst_local && src_local) {
			++result.summary.skipped_local_both;
			continue;
		}
		if (!dst_local && !src_local) {
			++result.summary.skipped_not_local;
			continue;
		}
		nfq::Direction dir = dst_local ? nfq::Direction::In : nfq::Direction::Out;
		const bool sip_port = std::find(options.sip_ports.begin(), options.sip_ports.end(), pv.local_port(dir)) !=
		                      options.sip_ports.end();
		if (media)
			media->check(pv, dst_local, sip_port, ts);
		if (!sip_port) {
			++result.summary.skipped_not_sip_port;
			continue;
		}
		(dir == nfq::Direction::In ? result.summary.inbound : result.summary.outbound)++;
		eng.on_packet(pv, dir, ts);
		collector.flush_pending();
	}
	const auto& sc = src.counters();
	result.summary.frames = sc.frames;
	result.summary.non_ip = sc.non_ip;
	result.summary.reassembled = sc.reassembled;
	result.summary.tunnels = sc.tunnels;
	result.summary.engine = eng.counters();
	result.summary.drops = eng.counters().dropped;
	if (media) {
		result.summary.media_checked = true;
		result.summary.media_inside = media->inside();
		result.summary.media_outside = media->outside();
		result.summary.media_after_close = media->after_close();
	}
	if (options.out)
		fmt::print(options.out, "{}\n", format_summary(result.summary, options.json));
	if (options.out && media) {
		if (options.json)
			fmt::print(options.out, "{{\"event\":\"media\",\"in_pinholes\":{},\"outside\":{},\"after_close\":{}}}\n",
			           media->inside(), media->outside(), media->after_close());
		else
			fmt::print(options.out, "{}\n", media->summary());
	}
	result.ok = true;
	return result;
}

} // namespace sipguard::replay
