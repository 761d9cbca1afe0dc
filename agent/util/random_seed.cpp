// SPDX-License-Identifier: GPL-2.0-or-later
// Table seeds from the kernel's random source.
#include <sys/random.h>

#include <cerrno>
#include <chrono>

#include "agent/util/hash.h"

namespace sipguard::util {

uint64_t random_seed()
{
	uint64_t seed = 0;
	ssize_t got = 0;
	do {
		got = ::getrandom(&seed, sizeof seed, 0);
	} while (got < 0 && errno == EINTR);
	if (got != static_cast<ssize_t>(sizeof seed)) // only before the pool is ready at early boot
		seed = mix64(static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
	return seed;
}

} // namespace sipguard::util
