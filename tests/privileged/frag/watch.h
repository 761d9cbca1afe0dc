// SPDX-License-Identifier: GPL-2.0-or-later
// Counting IP fragments in a test namespace on both sides of nf_defrag, with
// a table of the test's own (`inet fragwatch`, deleted with the namespace).
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "tests/privileged/netns.h"

namespace sipguard::test {

// Fragments seen per family: `raw` at prerouting -450 (before nf_defrag's
// -400: what the wire carried), `late` at -350 (after it, before our
// prerouting chain at -300), `in` at the input hook.
struct Fragments {
	uint64_t raw4 = 0, raw6 = 0, late4 = 0, late6 = 0, in4 = 0, in6 = 0;

	Fragments operator-(const Fragments& o) const
	{
		return {raw4 - o.raw4, raw6 - o.raw6, late4 - o.late4, late6 - o.late6, in4 - o.in4, in6 - o.in6};
	}
};

inline void install_fragment_watch(const Netns& ns)
{
	ns.must(R"(nft -f - <<'EOF'
table inet fragwatch {
	counter raw4 {}
	counter raw6 {}
	counter late4 {}
	counter late6 {}
	counter in4 {}
	counter in6 {}
	chain raw {
		type filter hook prerouting priority -450; policy accept;
		ip frag-off & 0x3fff != 0 counter name raw4
		exthdr frag exists counter name raw6
	}
	chain late {
		type filter hook prerouting priority -350; policy accept;
		ip frag-off & 0x3fff != 0 counter name late4
		exthdr frag exists counter name late6
	}
	chain in {
		type filter hook input priority 0; policy accept;
		ip frag-off & 0x3fff != 0 counter name in4
		exthdr frag exists counter name in6
	}
}
EOF)");
}

inline Fragments read_fragment_watch(const Netns& ns)
{
	auto packets = [&](const char* counter) -> uint64_t {
		std::string out = ns.exec_capture(std::string("nft list counter inet fragwatch ") + counter);
		auto at = out.find("packets ");
		REQUIRE_MESSAGE(at != std::string::npos, out);
		return std::stoull(out.substr(at + 8));
	};
	return {packets("raw4"), packets("raw6"), packets("late4"), packets("late6"), packets("in4"), packets("in6")};
}

} // namespace sipguard::test
