// SPDX-License-Identifier: GPL-2.0-or-later
// Writing the parse result: a reused Message reset to its defaults, a
// malformation recorded (internal to parser.cpp).
#pragma once

#include <cstddef>
#include <string_view>
#include <type_traits>

#include "agent/sip/message.h"
#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace {

// Records why the message is malformed.
inline void fail(Message& m, Malformation err, std::string_view detail)
{
	m.error = err;
	m.error_detail = detail;
}

// Resets a reused Message: everything before the Via array (its last member,
// read only up to via_count) zeroed, then the non-zero defaults set;
// detail::reset_gives_default() checks it. Out of line: inlined, it pushes
// the header loop past GCC's inlining limits.
static_assert(std::is_trivially_copyable_v<Message> && std::is_standard_layout_v<Message>);
constexpr size_t kViaBegin = offsetof(Message, via);
static_assert(kViaBegin + sizeof(Message::via) == sizeof(Message), "via is Message's last member");
[[gnu::noinline]] void reset(Message& out, bool wide_stores)
{
	auto* const d = reinterpret_cast<unsigned char*>(&out);
	if (wide_stores)
		scan::zero_fixed_wide<kViaBegin>(d);
	else
		scan::zero_fixed<kViaBegin>(d);
	out.kind = Kind::NotSip;
	out.max_forwards = -1;
	out.content_length = -1;
	out.expires = -1;
}

} // namespace

} // namespace sipguard::sip
