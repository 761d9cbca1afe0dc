// SPDX-License-Identifier: GPL-2.0-or-later
// A daemon Runtime without the kernel: the default config, a ban manager, and
// shards fed packets directly, for the command handler and exporter tests.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>

#include "agent/daemon/exporter.h"
#include "agent/daemon/runtime.h"
#include "tests/temp_dir.h"

namespace sipguard::test {

inline std::unique_ptr<daemon::Runtime> make_runtime(size_t shards = 1)
{
	auto rt = std::make_unique<daemon::Runtime>();
	rt->set_config(daemon::default_config());
	rt->bans = std::make_unique<engine::BanManager>(*rt->config()->engine(), nullptr);
	for (size_t i = 0; i < shards; ++i)
		rt->shards.push_back(std::make_unique<daemon::Shard>(*rt, rt->config()->calls()));
	return rt;
}

// One UDP datagram between `remote` and the PBX (192.0.2.1:5060) through a
// shard, as its queue thread would hand it over.
inline nfq::Verdict send_udp(daemon::Shard& s, nfq::Direction dir, const std::string& remote, const std::string& text)
{
	nfq::PacketView p;
	const net::IpAddress pbx = *net::IpAddress::parse("192.0.2.1");
	const net::IpAddress peer = *net::IpAddress::parse(remote);
	p.src = dir == nfq::Direction::In ? peer : pbx;
	p.dst = dir == nfq::Direction::In ? pbx : peer;
	p.sport = dir == nfq::Direction::In ? 5062 : 5060;
	p.dport = dir == nfq::Direction::In ? 5060 : 5062;
	p.l4 = nfq::L4::Udp;
	p.payload = {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
	return s.on_packet(p, dir);
}

// The daemon's scrape, as the metrics socket serves it.
inline std::string scrape(const daemon::Runtime& rt)
{
	daemon::Exporter x(rt);
	daemon::metrics::Exposition e;
	x.collect(e);
	return e.text();
}

// Each of `lines` is a whole line of the daemon's scrape.
inline void check_scrape_has(const daemon::Runtime& rt, std::initializer_list<const char*> lines)
{
	const std::string t = scrape(rt);
	for (const char* line : lines) {
		// Appended, not "\n" + std::string(line): GCC 12 -O3 flags that as a
		// -Wrestrict false positive (PR 105651).
		std::string whole = "\n";
		whole += line;
		whole += '\n';
		CHECK_MESSAGE(t.find(whole) != std::string::npos, line);
	}
}

} // namespace sipguard::test
