// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the config loader: any bytes as a sipguard.toml.
// Asserts a config comes back exactly when there is no error, the error list
// is capped, every message is bounded (values are echoed cut), and a config
// that loads reproduces itself through the loader.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/config/loader.h"
#include "agent/daemon/config.h"

using namespace sipguard;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const std::string_view text(reinterpret_cast<const char*>(data), size);
	const daemon::LoadResult r = daemon::load_config_text(text, "fuzz.toml");
	if (r.errors.empty() != static_cast<bool>(r.config))
		__builtin_trap();
	if (r.errors.size() > config::kMaxErrors + 1 || r.error_count < r.errors.size() - (r.errors.size() > config::kMaxErrors))
		__builtin_trap();
	for (const daemon::ConfigError& e : r.errors)
		if (e.to_string().size() > 4096)
			__builtin_trap();
	if (r.config) {
		// Loading the same text twice gives the same config.
		const daemon::LoadResult again = daemon::load_config_text(text, "fuzz.toml");
		if (!again.config || !again.config->diff(*r.config).empty())
			__builtin_trap();
	}
	return 0;
}
