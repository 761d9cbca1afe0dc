// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the SDP parser on its own.
#include <cstddef>
#include <cstdint>

#include "agent/sip/sdp.h"
#include "tools/fuzz/fuzz_check.h"

using namespace sipguard::sip;
using sipguard::fuzz::check_view;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const std::string_view in(reinterpret_cast<const char*>(data), size);
	sdp::Session s;
	const sdp::Error e = sdp::parse(in, s);
	if (s.media_count > sdp::kMaxMedia)
		__builtin_trap();
	if (e == sdp::Error::None) {
		for (uint8_t i = 0; i < s.media_count; ++i) {
			check_view(in, s.media[i].type);
			check_view(in, s.media[i].proto);
			if (s.media[i].port_count == 0)
				__builtin_trap();
		}
	}
	return 0;
}
