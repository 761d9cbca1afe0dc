// SPDX-License-Identifier: GPL-2.0-or-later
// The facts the engine extracts once per message and hands to every
// detector: who is targeted, whether credentials were sent, and (for a
// response) what the matched request was.
#pragma once

#include <cstdint>
#include <string_view>

#include "agent/sip/message.h"

namespace sipguard::detect {

// An In request (remote -> PBX).
struct RequestFacts {
	const sip::Message& msg;
	sip::Method method = sip::Method::Unknown;
	std::string_view target_user; // To user for REGISTER (the AOR), else R-URI user (To if empty)
	uint32_t target_hash = 0;
	bool has_credentials = false;  // Authorization or Proxy-Authorization with a response
	std::string_view auth_user;    // credentials' username, else From user
	uint64_t account = 0;          // AccountTable::hash of the credentials' username, 0 without credentials
	// OPTIONS, or REGISTER/INVITE/SUBSCRIBE without credentials: what a
	// scanner sends to learn whether something answers.
	bool probe = false;
	uint16_t remote_port = 0; // the packet's source port (one UA instance = one port)
	uint64_t source_hash = 0; // hash of the packet's source address (prefix accounting)
};

// An Out response (PBX -> remote) matched to the request it answers.
struct ResponseFacts {
	uint16_t status = 0;
	sip::Method method = sip::Method::Unknown;
	uint32_t target_hash = 0;
	uint64_t account = 0; // as RequestFacts::account
	bool had_credentials = false;
	bool probe = false;
	std::string_view target_user;  // sample kept with the transaction (may be truncated); with
	                               // credentials, their username
	std::string_view account_name; // the credentials' username, sample (may be truncated)
	uint64_t source_hash = 0;      // hash of the remote address (never 0)
	uint16_t remote_port = 0;     // the port the response goes to
};

// A final response that says the request was accepted (RFC 3261 §21.2) for
// a method where that means the sender is a legitimate user. OPTIONS is
// answered 200 to anyone, and so is a CANCEL that matches a pending INVITE
// (RFC 3261 §9.2: the 200 only says the CANCEL was received; svwar cancels
// ringing extensions).
inline bool is_success(const ResponseFacts& r)
{
	return r.status >= 200 && r.status < 300 && r.method != sip::Method::Options &&
	       r.method != sip::Method::Cancel;
}
inline bool is_challenge(uint16_t status) { return status == 401 || status == 407; }
// A final response saying the credentials the request carried were wrong:
// challenged again, or refused (RFC 3261 §22.2-22.3).
inline bool is_auth_failure(const ResponseFacts& r)
{
	return r.had_credentials && (is_challenge(r.status) || r.status == 403);
}

} // namespace sipguard::detect
