// SPDX-License-Identifier: GPL-2.0-or-later
// The pinhole mirror a kernel check re-adds lost media elements from: opens
// and refreshes set the expiry, closes forget, expired pinholes are dropped,
// and the table never grows past its capacity.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "agent/daemon/pinhole_index.h"

using namespace sipguard;
using namespace std::chrono_literals;

namespace {

const util::TimePoint t0{std::chrono::seconds(1764450000)};

calls::PinholeUpdate update(calls::PinholeOp op, const char* addr, uint16_t port, util::TimePoint at,
                            std::chrono::seconds timeout = 120s)
{
	calls::PinholeUpdate u;
	u.op = op;
	u.remote = *net::IpAddress::parse(addr);
	u.local_port = port;
	u.timeout = op == calls::PinholeOp::Close ? 0s : timeout;
	u.at = at;
	return u;
}

bool has(const std::vector<rules::MediaElement>& v, const char* addr, uint16_t port, std::chrono::seconds timeout)
{
	return std::any_of(v.begin(), v.end(), [&](const rules::MediaElement& m) {
		return m.addr == *net::IpAddress::parse(addr) && m.port == port && m.timeout == timeout;
	});
}

} // namespace

TEST_CASE("pinhole index: open, refresh and close as the kernel applies them; remaining time as the timeout")
{
	daemon::PinholeIndex idx(16, 7);
	using calls::PinholeOp;
	idx.update(update(PinholeOp::Open, "10.88.1.2", 20000, t0), t0);
	idx.update(update(PinholeOp::Open, "10.88.1.2", 20001, t0), t0);
	idx.update(update(PinholeOp::Open, "fd00:88:1::2", 20100, t0), t0);
	CHECK(idx.size() == 3);

	auto live = idx.live(t0 + 30s);
	CHECK(live.size() == 3);
	CHECK(has(live, "10.88.1.2", 20000, 90s));
	CHECK(has(live, "fd00:88:1::2", 20100, 90s));

	// A refresh at 60 s restarts the clock; a close forgets.
	idx.update(update(PinholeOp::Refresh, "10.88.1.2", 20000, t0 + 60s), t0 + 60s);
	idx.update(update(PinholeOp::Close, "10.88.1.2", 20001, t0 + 61s), t0 + 61s);
	idx.update(update(PinholeOp::Close, "192.0.2.1", 9, t0 + 61s), t0 + 61s); // never opened: nothing
	live = idx.live(t0 + 100500ms);
	CHECK(live.size() == 2);
	CHECK(has(live, "10.88.1.2", 20000, 80s)); // 79.5 s left, rounded up
	CHECK(has(live, "fd00:88:1::2", 20100, 20s));

	// Past its expiry a pinhole is gone from the index too.
	live = idx.live(t0 + 121s);
	CHECK(live.size() == 1);
	CHECK(idx.size() == 1);
	CHECK(idx.evictions() == 0);
}

TEST_CASE("pinhole index: bounded by its capacity, a full table evicts instead of growing")
{
	daemon::PinholeIndex idx(64, 7);
	for (uint16_t p = 0; p < 1000; ++p)
		idx.update(update(calls::PinholeOp::Open, "10.88.1.2", static_cast<uint16_t>(20000 + p), t0), t0);
	CHECK(idx.size() == 64);
	CHECK(idx.evictions() == 1000 - 64);
	CHECK(idx.live(t0 + 1s).size() == 64);
}
