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

// Sets out's error and returns; keeps the call sites short.
inline void fail(Message& m, Malformation err, std::string_view detail)
{
	m.error = err;
	m.error_detail = detail;
}

// Message is trivially copyable and 2 KB, most of it the Via array of which
// only via[0..via_count) is ever read: everything but that array, which is
// its last member, is reset by zeroing it in one run of stores (no copy
// from a template; 32-byte stores where the CPU has AVX2, see
// scan::zero_fixed_wide) and setting the few fields whose default is not
// zero. detail::reset_gives_default() checks the result equals a default
// Message both ways, so a new field with a non-zero default cannot be
// missed. Out of line: inlined, it pushes the header loop past GCC's
// inlining limits (+300 instructions a message).
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
