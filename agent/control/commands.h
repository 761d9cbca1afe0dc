// SPDX-License-Identifier: GPL-2.0-or-later
// The command table: each protocol command's name, arguments and help
// (kCommands) bound to the handler that answers it. The daemon adds one
// small handler per command; the control server hands every decoded request
// to dispatch().
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/control/protocol.h"

namespace sipguard::control {

// The connecting process, from SO_PEERCRED.
struct PeerCred {
	pid_t pid = 0;
	uid_t uid = 0;
	gid_t gid = 0;
};

// An answer that is not known yet (a reload waits for the main loop): the
// server calls it on later loop turns, serving other clients meanwhile,
// until it returns the response line. It must not block, and must end with
// an answer of its own (e.g. a time-out error).
using Pending = std::function<std::optional<std::string>()>;

struct HandlerResult {
	std::string line;    // the response, without the newline
	bool follow = false; // keep the connection open and stream published events
	Pending pending;     // set: `line` is unused, the answer comes from here
};

// Runs on the control thread: take only short locks; to wait for another
// thread, return a Pending.
using Handler = std::function<HandlerResult(const Request&, const PeerCred&)>;

class CommandTable {
public:
	struct Entry {
		const CommandSpec* spec; // name, args, help
		Handler handler;
	};

	// Binds `name`, which must be one of kCommands and not bound yet;
	// anything else is a bug and throws std::logic_error at start-up.
	void add(std::string_view name, Handler handler);
	// The handler's answer. A command without a handler gets the same
	// "unknown command" error that decode_request() gives a name the
	// protocol does not know.
	HandlerResult dispatch(const Request& request, const PeerCred& cred) const;

	std::span<const Entry> entries() const { return entries_; }

private:
	std::vector<Entry> entries_;
};

} // namespace sipguard::control
