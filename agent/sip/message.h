// SPDX-License-Identifier: GPL-2.0-or-later
// The parsed form of one SIP message: views into the caller's buffer plus
// decoded numbers. Nothing here owns memory; a Message is valid only while the
// buffer it was parsed from is.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sipguard::sip {

// Documented bounds (README "Parser limits"): anything larger is malformed
// with Malformation::OversizedField / TooManyHeaders, never a crash.
//
//   kMaxMessageBytes     whole message (UDP datagram; TCP head + body)
//   kMaxHeaderCount      header lines (a folded header counts once)
//   kMaxHeaderLineBytes  one header, name to end of its last folded line
//   kMaxUriBytes         Request-URI, and URIs in From/To/Contact
//   kMaxCallIdBytes      Call-ID value
//   kMaxTokenBytes       method, tag, branch, URI user, auth username/realm, Event
//   kMaxVia              Via values stored in Message::via (the rest are only counted)
//   kMaxViaTotal         Via values in one message; more is malformed. Max-Forwards
//                        starts at 70 (RFC 3261 §8.1.1.6), so a legitimate request
//                        cannot have passed more proxies than that.
inline constexpr size_t kMaxMessageBytes = 65535;  // one UDP datagram / TCP message head+body
inline constexpr size_t kMaxHeaderCount = 128;
inline constexpr size_t kMaxHeaderLineBytes = 8192; // after unfolding
inline constexpr size_t kMaxUriBytes = 1024;
inline constexpr size_t kMaxCallIdBytes = 256;
inline constexpr size_t kMaxTokenBytes = 256;       // method, tag, branch, user, ...
inline constexpr size_t kMaxVia = 16;               // Via values kept; the rest only counted (via_total)
inline constexpr size_t kMaxViaTotal = 70;          // more Via values than this is malformed

enum class Kind : uint8_t { Request, Response, NotSip };
std::string_view to_string(Kind k); // "request", "response", "not_sip"

// Why a message was rejected. Stable names (see to_string) appear in
// `sipguard parse --json` and in metrics.
enum class Malformation : uint8_t {
	None,
	Empty,
	BadStartLine,
	BadVersion,
	BadMethod,
	BadRequestUri,
	BadStatusCode,
	BadHeaderSyntax,
	MissingHeader,        // one of Via, From, To, Call-ID, CSeq (RFC 3261 §8.1.1)
	DuplicateHeader,      // a single-valued header (From, To, Call-ID, CSeq, Content-Length) twice
	BadVia,
	BadFromTo,
	BadCSeq,
	CSeqMethodMismatch,   // request method != CSeq method (ACK and CANCEL carry their own method too, §17.1.1.3, §9.1)
	BadContentLength,     // not a number, or too large
	ContentLengthMismatch,// body shorter/longer than declared on a datagram
	UnbalancedQuote,
	OversizedField,
	TooManyHeaders,
	NulByte,
	NoHeaderEnd,          // datagram with no blank line after the headers
	BadSdp,
	// Appended after the first draft; keep existing values stable.
	BadContact,           // Contact syntax (e.g. an addr-spec with '?' outside <>, RFC 3261 §20)
	BadAuthorization,     // Authorization / WWW-Authenticate and proxy variants
	BadNumber,            // Max-Forwards > 255, Expires > 2^32-1, non-numeric (error_detail names it)
};
std::string_view to_string(Malformation m);

// Text: printable ASCII that is not a SIP start line (e.g. a stray banner).
enum class NotSipKind : uint8_t { None, Keepalive, Stun, Http, Binary, Text };
std::string_view to_string(NotSipKind k);

// The methods of RFC 3261 §7.1 and the extensions a PBX sees; anything else
// is an extension method, Unknown, with its token in Message::method_token.
enum class Method : uint8_t {
	Unknown,
	Invite,
	Ack,
	Bye,
	Cancel,
	Register,
	Options,
	Prack,
	Subscribe,
	Notify,
	Publish,
	Info,
	Refer,
	Message,
	Update,
};
// Every Method value, Unknown included: the size of an array indexed by
// static_cast<size_t>(method), e.g. a counter per method.
inline constexpr size_t kMethodCount = static_cast<size_t>(Method::Update) + 1;

// The method table: each Method's token, indexed by Method. The one place
// methods are spelled; method_from_token() and to_string() are generated
// from it. Unknown is named "unknown" (no token is lowercase).
inline constexpr std::array<std::string_view, kMethodCount> kMethodNames = {
	"unknown",
	"INVITE",    // RFC 3261
	"ACK",       // RFC 3261
	"BYE",       // RFC 3261
	"CANCEL",    // RFC 3261
	"REGISTER",  // RFC 3261
	"OPTIONS",   // RFC 3261
	"PRACK",     // RFC 3262
	"SUBSCRIBE", // RFC 6665
	"NOTIFY",    // RFC 6665
	"PUBLISH",   // RFC 3903
	"INFO",      // RFC 6086
	"REFER",     // RFC 3515
	"MESSAGE",   // RFC 3428
	"UPDATE",    // RFC 3311
};

// The method's token ("INVITE"), "unknown" for Unknown.
constexpr std::string_view to_string(Method m)
{
	const auto i = static_cast<size_t>(m);
	return i < kMethodCount ? kMethodNames[i] : kMethodNames[0];
}

// Case-sensitive per RFC 3261 §7.1: "invite" is an extension method (Unknown).
Method method_from_token(std::string_view token);

struct Uri {
	std::string_view raw;    // the whole URI as written
	std::string_view scheme; // "sip", "sips", "tel", ...
	std::string_view user;   // still %-escaped, as on the wire
	std::string_view host;   // IPv6 without brackets
	uint16_t port = 0;       // 0 when absent
};

// From, To, Contact (first value) and similar name-addr / addr-spec values.
struct NameAddr {
	std::string_view display; // without the quotes; escapes left in place
	Uri uri;
	std::string_view tag;     // ;tag= parameter, empty when absent
};

struct Via {
	std::string_view transport; // "UDP", "TCP", "TLS", "WS", ...
	std::string_view host;      // sent-by host, IPv6 without brackets
	uint16_t port = 0;
	std::string_view branch;
	std::string_view received;
	bool has_rport = false;
	uint16_t rport = 0;         // 0 when rport has no value
};

// Authorization / Proxy-Authorization credentials (RFC 3261 §22.4, RFC 2617).
struct Credentials {
	bool present = false;
	std::string_view scheme;   // "Digest"
	std::string_view username;
	std::string_view realm;
	std::string_view uri;
	std::string_view nonce; // as written, without the quotes
	bool has_nonce = false;
	bool has_response = false;
};

// WWW-Authenticate / Proxy-Authenticate challenge.
struct Challenge {
	bool present = false;
	std::string_view scheme;
	std::string_view realm;
	std::string_view nonce; // as written, without the quotes
	bool has_nonce = false;
	std::string_view qop;
};

struct Message {
	Kind kind = Kind::NotSip;
	Malformation error = Malformation::None;
	NotSipKind not_sip = NotSipKind::None;
	std::string_view error_detail; // static text naming the field, e.g. "Content-Length"

	// Request line.
	Method method = Method::Unknown;
	std::string_view method_token;
	Uri ruri;
	// Status line.
	uint16_t status = 0;
	std::string_view reason;

	uint8_t via_count = 0;       // values stored in `via` (at most kMaxVia)
	uint16_t via_total = 0;      // all Via values seen (at most kMaxViaTotal)
	NameAddr from;
	NameAddr to;
	NameAddr contact;        // first Contact value; contact_star for "Contact: *"
	bool contact_star = false;
	std::string_view call_id;
	uint32_t cseq = 0;
	Method cseq_method = Method::Unknown;
	std::string_view cseq_method_token;
	std::string_view user_agent; // User-Agent in requests, Server in responses
	Credentials authorization;
	Credentials proxy_authorization;
	Challenge www_authenticate;
	Challenge proxy_authenticate;
	std::string_view event;      // Event header value up to the first ';'
	std::string_view event_params; // after the ';' (e.g. "reboot=true"), may be empty
	int32_t max_forwards = -1;   // -1 when absent
	std::string_view content_type; // media type without parameters, e.g. "application/sdp"
	int64_t content_length = -1; // -1 when absent
	int64_t expires = -1;        // Expires header; -1 when absent
	std::string_view body;
	uint16_t header_count = 0;

	size_t length = 0;           // bytes of the buffer this message used (head + body)
	size_t body_offset = 0;      // offset of the body in the buffer
	// Datagram only: bytes after the declared Content-Length, which RFC 3261
	// §18.3 says to discard (RFC 4475 "dblreq" is valid). Non-zero is worth
	// noticing (a second request smuggled in one datagram) but not malformed.
	size_t trailing_bytes = 0;
	// Stream only: the buffer ends before the message does. Not malformed:
	// wait for more bytes (`error` says which part is missing).
	bool incomplete = false;

	// Last: only via[0..via_count) is meaningful, and a parse resets
	// everything before it.
	std::array<Via, kMaxVia> via{};

	bool valid() const { return kind != Kind::NotSip && error == Malformation::None; }
	bool is_request() const { return kind == Kind::Request; }
	bool is_response() const { return kind == Kind::Response; }
	bool has_sdp() const;       // content type application/sdp and a non-empty body
};

} // namespace sipguard::sip
