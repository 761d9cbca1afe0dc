// SPDX-License-Identifier: GPL-2.0-or-later
// Result of a rules/ operation: the kernel's errno plus a message naming the object that failed.
#pragma once

#include <string>
#include <utility>

namespace sipguard::rules {

struct [[nodiscard]] Status {
	int error = 0; // positive errno; 0 = success
	std::string message;

	bool ok() const { return error == 0; }
	explicit operator bool() const { return ok(); }

	static Status success() { return {}; }
	static Status failure(int err, std::string msg) { return {err, std::move(msg)}; }
};

// "<what>: <strerror(err)>", e.g. "add element 192.0.2.1 to set inet sipguard ban4: File exists".
std::string describe_error(const std::string& what, int err);

} // namespace sipguard::rules
