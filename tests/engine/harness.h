// SPDX-License-Identifier: GPL-2.0-or-later
// An engine with a recording sink, a controlled clock and helpers that send
// SIP text as UDP/TCP packets in either direction.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/engine/ban_manager.h"
#include "agent/engine/engine.h"
#include "nfq/packet_view.h"
#include "tests/engine/sip_builder.h"

namespace sipguard::test {

using namespace std::chrono_literals;

struct RecordingSink final : engine::Sink {
	struct Entry {
		detect::Finding finding;
		engine::BanOutcome outcome;
	};
	std::vector<Entry> findings;
	std::vector<engine::VerdictChange> changes;
	std::vector<calls::PinholeUpdate> pinholes;

	void on_finding(const detect::Finding& f, const engine::BanResult& r) override
	{
		findings.push_back({f, r.outcome});
	}
	void on_verdict_change(const engine::VerdictChange& c) override { changes.push_back(c); }
	void on_pinhole(const calls::PinholeUpdate& e) override { pinholes.push_back(e); }

	size_t count(detect::Detector d) const
	{
		size_t n = 0;
		for (const auto& e : findings)
			n += e.finding.detector == d ? 1 : 0;
		return n;
	}
};

inline net::IpAddress ip(std::string_view text) { return *net::IpAddress::parse(text); }

struct Harness {
	explicit Harness(std::shared_ptr<engine::Config> c = std::make_shared<engine::Config>())
		: cfg(std::move(c)), bans(*cfg, nullptr), engine(cfg, bans, sink)
	{
	}

	std::shared_ptr<engine::Config> cfg;
	engine::BanManager bans;
	RecordingSink sink;
	engine::Engine engine;
	util::TimePoint now{std::chrono::seconds(1'800'000'000)};
	net::IpAddress pbx = ip("192.0.2.1");
	uint16_t pbx_port = 5060;

	engine::Verdict send(const net::IpAddress& remote, uint16_t remote_port, nfq::Direction dir,
	                     std::string_view text, nfq::L4 l4 = nfq::L4::Udp, uint32_t seq = 0, uint8_t flags = 0)
	{
		nfq::PacketView p;
		bool in = dir == nfq::Direction::In;
		p.src = in ? remote : pbx;
		p.dst = in ? pbx : remote;
		p.sport = in ? remote_port : pbx_port;
		p.dport = in ? pbx_port : remote_port;
		p.l4 = l4;
		p.tcp_seq = seq;
		p.tcp_flags = flags;
		p.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size());
		return engine.on_packet(p, dir, now);
	}
	engine::Verdict in(const net::IpAddress& remote, std::string_view text, uint16_t port = 5060)
	{
		return send(remote, port, nfq::Direction::In, text);
	}
	engine::Verdict out(const net::IpAddress& remote, std::string_view text, uint16_t port = 5060)
	{
		return send(remote, port, nfq::Direction::Out, text);
	}
	void advance(util::Duration d) { now += d; }

	bool banned(const net::IpAddress& a) { return bans.is_banned(a, now); }
	const detect::Finding* first_finding(detect::Detector d) const
	{
		for (const auto& e : sink.findings)
			if (e.finding.detector == d)
				return &e.finding;
		return nullptr;
	}
};

} // namespace sipguard::test
