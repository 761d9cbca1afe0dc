// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the stateful engine with the call tracker: a sequence
// of packets in both directions, from a small pool of sources, over UDP and
// TCP, with a clock that the input moves. Asserts the tables stay within
// their bounds and that no allowlisted or trusted address is ever banned.
//
// Input: records of
//   [flags][advance ms: 2 bytes LE][length: 2 bytes LE][TCP only: seq, 4 bytes LE][payload]
// flags: bit 0 out (PBX -> remote), bit 1 TCP, bits 2-5 source index, bit 6
// FIN, bit 7 IPv6. Source 15 is allowlisted, source 14 trusted.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "agent/calls/engine_hook.h"
#include "agent/engine/ban_manager.h"
#include "agent/engine/engine.h"
#include "nfq/packet_view.h"

using namespace sipguard;

namespace {

constexpr unsigned kAllowlisted = 15;
constexpr unsigned kTrusted = 14;

struct NullSink final : engine::Sink {
	void on_finding(const detect::Finding&, const engine::BanResult&) override {}
};

net::IpAddress source(unsigned index, bool v6)
{
	if (index == kAllowlisted)
		return *net::IpAddress::parse(v6 ? "2001:db8:a11::7" : "198.51.100.7");
	if (index == kTrusted)
		return *net::IpAddress::parse(v6 ? "2001:db8:7e5::9" : "203.0.113.9");
	uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(1 + index)};
	return v6 ? net::IpAddress::v6(b) : net::IpAddress::v4(uint32_t{0x0a000001u + index});
}

std::shared_ptr<engine::Config> small_config()
{
	auto c = std::make_shared<engine::Config>();
	// Small tables so a short input reaches eviction.
	c->tables.sources = 8;
	c->tables.prefixes = 8;
	c->tables.transactions = 16;
	c->tables.tcp_flows = 4;
	c->tables.accounts = 8;
	c->tables.account_pairs = 16;
	c->ban.max_active = 32;
	for (const char* a : {"198.51.100.7", "2001:db8:a11::7"})
		c->allowlist.push_back(*net::Cidr::parse(a));
	for (const char* a : {"203.0.113.9", "2001:db8:7e5::9"})
		c->trusted.push_back(*net::Cidr::parse(a));
	return c;
}

calls::Config small_calls()
{
	calls::Config c;
	c.max_dialogs = 8;
	c.max_pinholes = 16;
	c.max_tracked_sources = 8;
	c.max_tracked_users = 8;
	return c;
}

uint32_t le(const uint8_t* p, size_t n)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; ++i)
		v |= static_cast<uint32_t>(p[i]) << (8 * i);
	return v;
}

void check_never_banned(engine::BanManager& bans, util::TimePoint now)
{
	for (unsigned i : {kAllowlisted, kTrusted})
		for (bool v6 : {false, true})
			if (bans.is_banned(source(i, v6), now))
				__builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	static const std::shared_ptr<engine::Config> cfg = small_config();
	static const calls::Config calls_cfg = small_calls();
	engine::BanManager bans(*cfg, nullptr);
	NullSink sink;
	engine::Engine eng(cfg, bans, sink);
	calls::EngineHook hook(calls_cfg);
	eng.set_call_hook(&hook);

	const net::IpAddress pbx4 = *net::IpAddress::parse("192.0.2.1");
	const net::IpAddress pbx6 = *net::IpAddress::parse("2001:db8:1::1");
	util::TimePoint now{std::chrono::seconds(1'800'000'000)};

	size_t off = 0;
	while (off + 5 <= size) {
		const uint8_t flags = data[off];
		const bool out = flags & 1;
		const bool tcp = flags & 2;
		const unsigned index = (flags >> 2) & 15;
		const bool fin = flags & 0x40;
		const bool v6 = flags & 0x80;
		now += std::chrono::milliseconds(le(data + off + 1, 2));
		size_t len = le(data + off + 3, 2);
		off += 5;
		uint32_t seq = 0;
		if (tcp) {
			if (off + 4 > size)
				break;
			seq = le(data + off, 4);
			off += 4;
		}
		len = std::min(len, size - off);

		nfq::PacketView p;
		const net::IpAddress remote = source(index, v6);
		const net::IpAddress& local = v6 ? pbx6 : pbx4;
		p.src = out ? local : remote;
		p.dst = out ? remote : local;
		p.sport = out ? 5060 : static_cast<uint16_t>(5060 + index);
		p.dport = out ? static_cast<uint16_t>(5060 + index) : 5060;
		p.l4 = tcp ? nfq::L4::Tcp : nfq::L4::Udp;
		p.tcp_seq = seq;
		p.tcp_flags = fin ? 0x01 : 0;
		p.payload = std::span<const uint8_t>(data + off, len);
		off += len;

		(void)eng.on_packet(p, out ? nfq::Direction::Out : nfq::Direction::In, now);
		if ((flags & 0x3c) == 0x3c)
			eng.on_tick(now);

		// Nothing is banned while no ban is active: the per-address walk
		// over every prefix length is only needed after a ban.
		const size_t active = bans.active_count();
		if (active > 0)
			check_never_banned(bans, now);
		if (active > cfg->ban.max_active)
			__builtin_trap();
		if (hook.tracker().active_dialogs() > calls_cfg.max_dialogs ||
		    hook.tracker().open_pinholes() > calls_cfg.max_pinholes)
			__builtin_trap();
	}
	eng.on_tick(now + std::chrono::hours(1));
	check_never_banned(bans, now);
	return 0;
}
