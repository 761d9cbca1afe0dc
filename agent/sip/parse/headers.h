// SPDX-License-Identifier: GPL-2.0-or-later
// One header field's value read into the Message, by header name (internal
// to parser.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

#include "agent/sip/header_names.h"
#include "agent/sip/message.h"
#include "agent/sip/parse/auth.h"
#include "agent/sip/parse/chars.h"
#include "agent/sip/parse/cursor.h"
#include "agent/sip/parse/name_addr.h"
#include "agent/sip/parse/numbers.h"
#include "agent/sip/parse/result.h"
#include "agent/sip/parse/via.h"
#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace {

// Bits of the header loop's `seen` word: the single-valued headers (RFC 3261
// §20) read so far, so a second one is DuplicateHeader.
enum Seen : uint32_t {
	kSeenFrom = 1u << 0,
	kSeenTo = 1u << 1,
	kSeenCallId = 1u << 2,
	kSeenCSeq = 1u << 3,
	kSeenContentLength = 1u << 4,
	kSeenEvent = 1u << 5, // RFC 6665 §8.2.1: one event-type, no list
	// Those every message carries (§8.1.1, §8.2.6.2; Via is in via_total).
	kSeenMandatory = kSeenFrom | kSeenTo | kSeenCallId | kSeenCSeq,
};

// The first mandatory header that `seen` lacks, in the order of §8.1.1.
inline std::string_view missing_header(uint32_t seen)
{
	constexpr std::pair<Seen, HeaderId> kMandatory[] = {
		{kSeenFrom, HeaderId::From},
		{kSeenTo, HeaderId::To},
		{kSeenCallId, HeaderId::CallId},
		{kSeenCSeq, HeaderId::CSeq},
	};
	for (const auto& [bit, id] : kMandatory)
		if (!(seen & bit))
			return header_name(id);
	return {};
}

// The n bytes at a equal those at b (b before a in the buffer that `lim`
// ends): up to 8 bytes by one masked word compare, longer ones by memcmp.
[[gnu::always_inline]] inline bool same_bytes(const char* a, const char* b, size_t n, const char* lim)
{
	if (n <= 8 && lim - a >= 8) {
		const uint64_t mask = n == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * n)) - 1;
		return ((scan::load8(a) ^ scan::load8(b)) & mask) == 0;
	}
	return std::memcmp(a, b, n) == 0;
}

// One header field. `value` is trimmed, may span folded lines.
void parse_header(HeaderId id, std::string_view value, Message& m, uint32_t& seen, const char* lim)
{
	Cur c{value.data(), value.data() + value.size(), lim};
	auto once = [&](uint32_t bit) {
		if (seen & bit) {
			fail(m, Malformation::DuplicateHeader, header_name(id));
			return false;
		}
		seen |= bit;
		return true;
	};
	switch (id) {
	case HeaderId::Via: {
		const Malformation e = parse_via(c, m);
		if (e != Malformation::None)
			fail(m, e, "Via");
		break;
	}
	case HeaderId::From:
	case HeaderId::To: {
		if (!once(id == HeaderId::From ? kSeenFrom : kSeenTo))
			return;
		NameAddr& na = id == HeaderId::From ? m.from : m.to;
		Malformation err = Malformation::BadFromTo;
		if (!parse_name_addr(c, na, err) || !c.end())
			fail(m, err, header_name(id));
		else if (na.tag.size() > kMaxTokenBytes)
			fail(m, Malformation::OversizedField, header_name(id));
		break;
	}
	case HeaderId::CallId: {
		if (!once(kSeenCallId))
			return;
		// callid = word [ "@" word ] (§25.1), read as one run of word
		// characters and '@'.
		if (value.size() > kMaxCallIdBytes) {
			fail(m, Malformation::OversizedField, "Call-ID");
			return;
		}
		if (c.run<kCallId>().size() != value.size() || value.empty()) {
			fail(m, Malformation::BadHeaderSyntax, "Call-ID");
			return;
		}
		m.call_id = value;
		break;
	}
	case HeaderId::CSeq: {
		if (!once(kSeenCSeq))
			return;
		// CSeq = 1*DIGIT LWS Method, the number below 2^31 (§8.1.1.5, RFC 4475
		// "scalar02"): digit by digit, as it is a few digits at most.
		uint64_t n = 0;
		const char* const digits = c.p;
		for (; c.p < c.e && c.p - digits <= 10; ++c.p) {
			const unsigned d = static_cast<unsigned>(static_cast<unsigned char>(*c.p)) - '0';
			if (d > 9)
				break;
			n = n * 10 + d;
		}
		if (c.p == digits || c.p - digits > 10 || n > 0x7fffffffu) {
			fail(m, Malformation::BadCSeq, "CSeq");
			return;
		}
		// The usual request CSeq, one SP and the request's own method (whose
		// token the start line checked): a byte compare, no run or lookup.
		const std::string_view rm = m.method_token;
		if (m.kind == Kind::Request && c.p < c.e && *c.p == ' ' && static_cast<size_t>(c.e - c.p - 1) == rm.size()
		    && same_bytes(c.p + 1, rm.data(), rm.size(), c.lim)) {
			m.cseq = static_cast<uint32_t>(n);
			m.cseq_method_token = {c.p + 1, rm.size()};
			m.cseq_method = m.method;
			break;
		}
		const char* before = c.p;
		c.skip_lws();
		std::string_view method = c.run<kToken>();
		if (c.p == before || method.empty() || !c.end() || method.size() > kMaxTokenBytes) {
			fail(m, Malformation::BadCSeq, "CSeq");
			return;
		}
		m.cseq = static_cast<uint32_t>(n);
		m.cseq_method_token = method;
		m.cseq_method = method_from_token(method);
		break;
	}
	case HeaderId::Contact: {
		if (!m.contact.uri.raw.empty() || m.contact_star)
			return; // the first Contact value is what consumers use
		if (value == "*") {
			m.contact_star = true;
			return;
		}
		Malformation err = Malformation::BadContact;
		if (!parse_name_addr(c, m.contact, err))
			fail(m, err, "Contact");
		break;
	}
	case HeaderId::ContentLength: {
		if (!once(kSeenContentLength))
			return;
		uint64_t n = 0;
		// Not a number (RFC 4475 "ncl": -999) or more than a message can hold.
		if (!parse_uint(value, kMaxMessageBytes, n)) {
			fail(m, Malformation::BadContentLength, "Content-Length");
			return;
		}
		m.content_length = static_cast<int64_t>(n);
		break;
	}
	case HeaderId::ContentType: {
		// "application/sdp" not followed by a token character by one word
		// compare; it gives the general reading's view.
		if (value.size() >= 15 && scan::ieq<"application/sdp">(value.data())
		    && (value.size() == 15 || !is(value[15], kToken))) {
			m.content_type = scan::sub(value, 0, 15);
			break;
		}
		// media-type = m-type SLASH m-subtype *(SEMI m-parameter) (§20.15).
		const std::string_view type = c.run<kToken>();
		if (type.empty() || !c.eat_sep('/')) {
			fail(m, Malformation::BadHeaderSyntax, "Content-Type");
			return;
		}
		const std::string_view subtype = c.run<kToken>();
		if (subtype.empty()) {
			fail(m, Malformation::BadHeaderSyntax, "Content-Type");
			return;
		}
		// Kept only when written without LWS around the '/', as has_sdp()
		// compares it whole.
		const size_t span = static_cast<size_t>(c.p - type.data());
		if (span == type.size() + 1 + subtype.size())
			m.content_type = {type.data(), span};
		break;
	}
	case HeaderId::UserAgent:
		if (m.kind == Kind::Request && m.user_agent.empty())
			m.user_agent = value;
		break;
	case HeaderId::Server:
		if (m.kind == Kind::Response && m.user_agent.empty())
			m.user_agent = value;
		break;
	case HeaderId::Authorization:
	case HeaderId::ProxyAuthorization: {
		Credentials& cr = id == HeaderId::Authorization ? m.authorization : m.proxy_authorization;
		if (cr.present)
			return; // first credentials only (one per realm is legal)
		const Malformation e = parse_auth(c, &cr, nullptr);
		if (e != Malformation::None)
			fail(m, e, header_name(id));
		break;
	}
	case HeaderId::WwwAuthenticate:
	case HeaderId::ProxyAuthenticate: {
		Challenge& ch = id == HeaderId::WwwAuthenticate ? m.www_authenticate : m.proxy_authenticate;
		if (ch.present)
			return;
		const Malformation e = parse_auth(c, nullptr, &ch);
		if (e != Malformation::None)
			fail(m, e, header_name(id));
		break;
	}
	case HeaderId::Event: {
		// Event = event-type *( SEMI event-param ) (RFC 6665 §8.4). A second
		// one is DuplicateHeader: which one a phone obeys is its choice.
		if (!once(kSeenEvent))
			return;
		std::string_view type = c.run<kToken>();
		if (type.empty() || type.size() > kMaxTokenBytes) {
			fail(m, type.empty() ? Malformation::BadHeaderSyntax : Malformation::OversizedField, "Event");
			return;
		}
		m.event = type;
		if (c.eat_sep(';'))
			m.event_params = trim(c.rest());
		else if (!trim(c.rest()).empty())
			fail(m, Malformation::BadHeaderSyntax, "Event");
		break;
	}
	case HeaderId::MaxForwards: {
		uint64_t n = 0;
		// 0..255 (§20.22; RFC 4475 "scalar02" style overflow).
		if (!parse_uint(value, 255, n)) {
			fail(m, Malformation::BadNumber, "Max-Forwards");
			return;
		}
		m.max_forwards = static_cast<int32_t>(n);
		break;
	}
	case HeaderId::Expires: {
		uint64_t n = 0;
		// delta-seconds up to 2^32-1 (§20.19, §25.1; RFC 4475 "scalar02").
		if (!parse_uint(value, 0xffffffffu, n)) {
			fail(m, Malformation::BadNumber, "Expires");
			return;
		}
		m.expires = static_cast<int64_t>(n);
		break;
	}
	default:
		break;
	}
}

} // namespace

} // namespace sipguard::sip
