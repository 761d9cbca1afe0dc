// SPDX-License-Identifier: GPL-2.0-or-later
// One queue thread's feed of one pair of the pre-filter's sets: sources the
// engine knows to be good go to known4/known6, proven receivers to
// proven4/proven6, through the rules writer, each at most once per refresh
// interval (a fixed, direct-mapped table of when it was last sent; no
// allocation, no lock). One instance per pair.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>

#include "agent/daemon/metrics.h"
#include "agent/net/ip_address.h"
#include "agent/util/clock.h"

namespace sipguard::daemon {

class Config;

class KnownSources {
public:
	// Sends one element (address, kernel timeout); false when the writer's
	// queue was full.
	using Send = std::function<bool(const net::IpAddress&, std::chrono::seconds)>;

	struct Settings {
		bool enabled = false;
		std::chrono::seconds timeout{3600};
		util::Millis refresh{60 * 1000};
	};

	explicit KnownSources(Send send, uint64_t hash_seed = 0) : send_(std::move(send)), seed_(hash_seed) {}
	void configure(const Settings& s) { settings_ = s; }
	const Settings& settings() const { return settings_; }

	// The packet path: `addr` is known good at `now`.
	void touch(const net::IpAddress& addr, util::TimePoint now);

	// The settings a config implies (prefilter.*; off without the pre-filter).
	static Settings settings_of(const Config& cfg);
	// The same for the proven sets (prefilter.proven_timeout).
	static Settings proven_settings_of(const Config& cfg);

	metrics::ShardCounter sent;     // elements handed to the writer
	metrics::ShardCounter rejected; // the writer's queue was full (tried again on a later packet)

	// Slots of the table; two sources sharing a slot only cost extra refreshes.
	static constexpr size_t kSlots = 4096;

private:
	struct Slot {
		net::IpAddress addr;
		util::TimePoint at{};
	};
	Send send_;
	uint64_t seed_;
	Settings settings_;
	std::array<Slot, kSlots> slots_{};
};

} // namespace sipguard::daemon
