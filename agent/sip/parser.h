// SPDX-License-Identifier: GPL-2.0-or-later
// Zero-copy SIP message parser (RFC 3261 §7, §20, §25): classifies a buffer as
// a request, a response, or not SIP, and fills a Message with views into it.
#pragma once

#include <span>
#include <string_view>

#include "agent/sip/message.h"
#include "agent/sip/sdp.h"

namespace sipguard::sip {

enum class Transport : uint8_t {
	Datagram, // UDP: the buffer is exactly one message; Content-Length may be absent
	Stream,   // TCP: Content-Length is mandatory; trailing bytes belong to the next message
};

// Parses one message from the start of `data`. Never allocates, never reads
// outside `data`. On return `out.kind`, `out.error` and `out.not_sip` say what
// it was; `out.length` says how many bytes it used (Stream: up to the end of
// the body; Datagram: all of `data`).
void parse(std::string_view data, Transport transport, Message& out);

// As above, and when the message is valid and carries application/sdp, also
// parses the body into `sdp`; an SDP error makes the message malformed
// (Malformation::BadSdp, error_detail names the SDP error). Plain parse()
// leaves the body alone: only consumers that need SDP pay for it.
void parse(std::string_view data, Transport transport, Message& out, sdp::Session& sdp);

inline void parse(std::span<const uint8_t> data, Transport transport, Message& out)
{
	parse(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()), transport, out);
}

// Internal checks, for the tests and the fuzzer only.
namespace detail {
// The URI parser's shortcut for the usual form ("sip:user@host:port;params")
// and its general path give the same Uri and verdict for `raw` at every
// place a URI is written (name-addr, Request-Line, addr-spec).
// `readable_after` bytes after `raw` may be read, never judged, as the rest
// of a message buffer is (the class runs read whole blocks up to it).
bool uri_shortcut_agrees(std::string_view raw, size_t readable_after = 0);
// The shortcut reads `raw` itself (as a name-addr URI) instead of leaving it
// to the general path: lets the tests show they cover it.
bool uri_shortcut_accepts(std::string_view raw, size_t readable_after = 0);
// The same for the name-addr shortcut ("display" <sip:...>): where it reads
// `value` (a From/To/Contact value without its parameters), the general
// path reads the same display name and Uri and stops at the same byte.
bool name_addr_shortcut_agrees(std::string_view value, size_t readable_after = 0);
bool name_addr_shortcut_accepts(std::string_view value);
// The same for the Via shortcut: `value` (a Via header value) read with it
// and by the general path alone gives the same error, via_count, via_total
// and Via fields (also those of the slot an error left partly written).
// _accepts: the shortcut reads every Via value in it.
bool via_shortcut_agrees(std::string_view value);
bool via_shortcut_accepts(std::string_view value);
// The same for the auth shortcuts ("Digest " and the usual auth-params):
// `value` read as Authorization and as WWW-Authenticate, with them and by
// the general loop alone, gives the same error and the same Credentials
// and Challenge. _accepts: the shortcuts read all of it.
bool auth_shortcut_agrees(std::string_view value);
bool auth_shortcut_accepts(std::string_view value);
// parse() resets a Message by zeroing it and setting the fields whose
// default is not zero: the result equals a default Message (all but the
// Via array, which is never read past via_count).
bool reset_gives_default();
} // namespace detail

} // namespace sipguard::sip
