// SPDX-License-Identifier: GPL-2.0-or-later
// The CLI side of the control socket: connect, send one request, read lines.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "agent/daemon/control_protocol.h"
#include "agent/util/unique_fd.h"

namespace sipguard::daemon {

using util::UniqueFd;

inline constexpr std::string_view kDefaultControlSocket = "/run/sipguard/control.sock";

class ControlClient {
public:
	// Throws std::runtime_error with the operator-facing message
	// ("cannot reach the daemon at PATH: ERR (is `sipguard run` running?)").
	explicit ControlClient(const std::string& path);

	// Sends one request line and reads one response line (timeout: the
	// daemon answers from its control thread, so a long wait means trouble).
	control::Response call(const std::string& request_line,
	                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
	// For follow mode: the next line, blocking; nullopt when the daemon
	// closed the connection.
	std::optional<std::string> read_line(int timeout_ms = -1);

private:
	std::string path_;
	UniqueFd fd_;
	std::string buf_;
};

} // namespace sipguard::daemon
