// SPDX-License-Identifier: GPL-2.0-or-later
// The CLI side of the control socket: connect, send one request, read lines.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "agent/control/protocol.h"
#include "agent/util/status.h"
#include "agent/util/unique_fd.h"

namespace sipguard::control {

using util::UniqueFd;

inline constexpr std::string_view kDefaultControlSocket = "/run/sipguard/control.sock";

class ControlClient {
public:
	// Fails with the operator-facing message ("cannot reach the daemon at
	// PATH: ERR (is `sipguard run` running?)").
	static util::Result<ControlClient> connect(const std::string& path);

	// Sends one request line and reads one response line (timeout: the
	// daemon answers from its control thread, so a long wait means trouble).
	util::Result<Response> request(const std::string& request_line,
	                               std::chrono::milliseconds timeout = std::chrono::seconds(10));
	// For follow mode: the next line, blocking; nullopt when the daemon
	// closed the connection.
	util::Result<std::optional<std::string>> next_line(int timeout_ms = -1);

	// The same three throwing std::runtime_error with the same message, for
	// callers to whom an unreachable daemon is fatal (tests, scripts).
	explicit ControlClient(const std::string& path);
	Response call(const std::string& request_line, std::chrono::milliseconds timeout = std::chrono::seconds(10));
	std::optional<std::string> read_line(int timeout_ms = -1);

private:
	ControlClient(std::string path, UniqueFd fd) : path_(std::move(path)), fd_(std::move(fd)) {}

	std::string path_;
	UniqueFd fd_;
	std::string buf_;
};

} // namespace sipguard::control
