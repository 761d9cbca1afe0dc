// SPDX-License-Identifier: GPL-2.0-or-later
// Binding handlers to protocol commands and dispatching requests to them.
#include "agent/control/commands.h"

#include <stdexcept>

#include <fmt/core.h>

namespace sipguard::control {

void CommandTable::add(std::string_view name, Handler handler)
{
	const CommandSpec* spec = find_command(name);
	if (!spec)
		throw std::logic_error(fmt::format("control command \"{}\" is not in the protocol (kCommands)", name));
	for (const Entry& e : entries_)
		if (e.spec == spec)
			throw std::logic_error(fmt::format("control command \"{}\" is bound twice", name));
	entries_.push_back({spec, std::move(handler)});
}

HandlerResult CommandTable::dispatch(const Request& request, const PeerCred& cred) const
{
	for (const Entry& e : entries_)
		if (e.spec->name == request.cmd)
			return e.handler(request, cred);
	return {encode_error(unknown_command(request.cmd))};
}

} // namespace sipguard::control
