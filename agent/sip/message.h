// SPDX-License-Identifier: GPL-2.0-or-later
// The parsed form of one SIP message: views into the caller's buffer plus
// decoded numbers. Nothing here owns memory; a Message is valid only while the
// buffer it was parsed from is.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sipguard::sip {

// Documented bounds (README "Parser limits"): anything larger is malformed
// with Malformation::OversizedField / TooManyHeaders, never a crash.
inline constexpr size_t kMaxMessageBytes = 65535;  // one UDP datagram / TCP message head+body
inline constexpr size_t kMaxHeaderCount = 128;
inline constexpr size_t kMaxHeaderLineBytes = 8192; // after unfolding
inline constexpr size_t kMaxUriBytes = 1024;
inline constexpr size_t kMaxCallIdBytes = 256;
inline constexpr size_t kMaxTokenBytes = 256;       // method, tag, branch, user, ...
inline constexpr size_t kMaxVia = 16;               // Via values kept; more is malformed

enum class Kind : uint8_t { Request, Response, NotSip };

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
	CSeqMethodMismatch,   // request method != CSeq method (ACK/CANCEL excepted per §17.1.1.3 and §9.1)
	BadContentLength,     // not a number, or too large
	ContentLengthMismatch,// body shorter/longer than declared on a datagram
	UnbalancedQuote,
	OversizedField,
	TooManyHeaders,
	NulByte,
	NoHeaderEnd,          // datagram with no blank line after the headers
	BadSdp,
};
std::string_view to_string(Malformation m);

enum class NotSipKind : uint8_t { None, Keepalive, Stun, Http, Binary };
std::string_view to_string(NotSipKind k);

enum class Method : uint8_t {
	Unknown, // a legal token that is not one of the methods below
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
std::string_view to_string(Method m);
Method method_from_token(std::string_view token); // case-sensitive per RFC 3261 §7.1

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
	bool has_nonce = false;
	bool has_response = false;
};

// WWW-Authenticate / Proxy-Authenticate challenge.
struct Challenge {
	bool present = false;
	std::string_view scheme;
	std::string_view realm;
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

	std::array<Via, kMaxVia> via{};
	uint8_t via_count = 0;
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
	std::string_view content_type;
	int64_t content_length = -1; // -1 when absent
	int64_t expires = -1;        // Expires header; -1 when absent
	std::string_view body;
	uint16_t header_count = 0;

	size_t length = 0;           // bytes of the buffer this message used (head + body)

	bool valid() const { return kind != Kind::NotSip && error == Malformation::None; }
	bool is_request() const { return kind == Kind::Request; }
	bool is_response() const { return kind == Kind::Response; }
	bool has_sdp() const;       // content type application/sdp and a non-empty body
};

} // namespace sipguard::sip
