// SPDX-License-Identifier: GPL-2.0-or-later
// The parser's internal checks for the tests and the fuzzer (parser.h,
// sip::detail; internal to parser.cpp).
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

#include "agent/sip/message.h"
#include "agent/sip/parse/auth.h"
#include "agent/sip/parse/cursor.h"
#include "agent/sip/parse/name_addr.h"
#include "agent/sip/parse/result.h"
#include "agent/sip/parse/uri.h"
#include "agent/sip/parse/via.h"
#include "agent/sip/parser.h"
#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace detail {

namespace {

// The same view: the same bytes of the same buffer, not only equal text.
bool eq(std::string_view x, std::string_view y)
{
	return x.data() == y.data() && x.size() == y.size();
}

bool same(const Uri& a, const Uri& b)
{
	return eq(a.raw, b.raw) && eq(a.scheme, b.scheme) && eq(a.user, b.user) && eq(a.host, b.host) && a.port == b.port;
}

} // namespace

bool uri_shortcut_agrees(std::string_view raw, size_t readable_after)
{
	const char* const lim = raw.data() + raw.size() + readable_after;
	for (UriSite site : {UriSite::NameAddr, UriSite::RequestLine, UriSite::AddrSpec}) {
		Uri fast, general;
		if (!parse_common_sip_uri(raw, fast, site, lim))
			continue; // not the usual form: only the general path reads it
		if (!parse_uri_general(raw, general, site, lim) || !same(fast, general))
			return false;
	}
	return true;
}

bool uri_shortcut_accepts(std::string_view raw, size_t readable_after)
{
	Uri u;
	return parse_common_sip_uri(raw, u, UriSite::NameAddr, raw.data() + raw.size() + readable_after);
}

bool name_addr_shortcut_agrees(std::string_view value, size_t readable_after)
{
	const char* const b = value.data();
	const char* const e = b + value.size();
	const char* const lim = e + readable_after;
	NameAddr fast, general;
	Cur f{b, e, lim};
	if (!parse_common_name_addr(f, fast))
		return f.p == b && fast.display.data() == nullptr && fast.uri.raw.data() == nullptr; // declined, untouched
	Cur g{b, e, lim};
	Malformation err = Malformation::None;
	if (!parse_name_addr_general(g, general, err))
		return false;
	return f.p == g.p && eq(fast.display, general.display) && same(fast.uri, general.uri);
}

bool reset_gives_default()
{
	// Static storage: zero-initialised first, so its padding bytes are zero
	// as reset() leaves them.
	static const Message kDefault{};
	// Both ways of zeroing, the wide one where the CPU has it.
	for (bool wide : {false, scan::wide_stores()}) {
		Message m;
		std::memset(static_cast<void*>(&m), 0xa5, sizeof m);
		reset(m, wide);
		if (std::memcmp(&m, &kDefault, kViaBegin) != 0)
			return false;
	}
	return true;
}

bool name_addr_shortcut_accepts(std::string_view value)
{
	NameAddr na;
	Cur c{value.data(), value.data() + value.size(), value.data() + value.size()};
	return parse_common_name_addr(c, na);
}

namespace {

// `m` as a default Message is to parse_via_values(), which writes only the
// Via count, total and slots (each slot it writes starts from Via{}): the
// counts and the slots up to the count are reset, not the whole 2 KB
// Message -- the fuzzer checks dozens of values per input.
Message& reset_via(Message& m)
{
	for (size_t i = 0; i < kMaxVia && i <= m.via_count; ++i)
		m.via[i] = Via{};
	m.via_count = 0;
	m.via_total = 0;
	return m;
}

} // namespace

bool via_shortcut_agrees(std::string_view value)
{
	const char* const b = value.data();
	const char* const e = b + value.size();
	static thread_local Message fast_message, general_message;
	Message& fast = reset_via(fast_message);
	Message& general = reset_via(general_message);
	const Malformation ef = parse_via_values<true>(Cur{b, e, e}, fast);
	const Malformation eg = parse_via_values<false>(Cur{b, e, e}, general);
	if (ef != eg || fast.via_count != general.via_count || fast.via_total != general.via_total)
		return false;
	// Every stored value, and the slot an error left partly written.
	for (size_t i = 0; i < kMaxVia && i <= fast.via_count; ++i) {
		const Via& x = fast.via[i];
		const Via& y = general.via[i];
		if (!eq(x.transport, y.transport) || !eq(x.host, y.host) || x.port != y.port || !eq(x.branch, y.branch)
		    || !eq(x.received, y.received) || x.has_rport != y.has_rport || x.rport != y.rport)
			return false;
	}
	return true;
}

bool via_shortcut_accepts(std::string_view value)
{
	const char* const e = value.data() + value.size();
	Cur c{value.data(), e, e};
	for (;;) {
		c.skip_lws();
		Via v;
		if (!parse_common_via(c, v))
			return false;
		if (c.end())
			return true;
		++c.p; // ','
	}
}

bool auth_shortcut_agrees(std::string_view value)
{
	const char* const b = value.data();
	const char* const e = b + value.size();
	Credentials cf, cg;
	if (parse_auth_params<true>(Cur{b, e, e}, &cf, nullptr) != parse_auth_params<false>(Cur{b, e, e}, &cg, nullptr))
		return false;
	if (cf.present != cg.present || !eq(cf.scheme, cg.scheme) || !eq(cf.username, cg.username)
	    || !eq(cf.realm, cg.realm) || !eq(cf.uri, cg.uri) || cf.has_nonce != cg.has_nonce || !eq(cf.nonce, cg.nonce)
	    || cf.has_response != cg.has_response)
		return false;
	Challenge hf, hg;
	if (parse_auth_params<true>(Cur{b, e, e}, nullptr, &hf) != parse_auth_params<false>(Cur{b, e, e}, nullptr, &hg))
		return false;
	return hf.present == hg.present && eq(hf.scheme, hg.scheme) && eq(hf.realm, hg.realm)
	       && hf.has_nonce == hg.has_nonce && eq(hf.nonce, hg.nonce) && eq(hf.qop, hg.qop);
}

bool auth_shortcut_accepts(std::string_view value)
{
	const char* const e = value.data() + value.size();
	Cur c{value.data(), e, e};
	c.skip_lws();
	std::string_view scheme;
	if (!common_auth_scheme(c, scheme))
		return false;
	c.skip_lws();
	bool first = true;
	Credentials cr;
	return parse_common_auth_params(c, first, &cr, nullptr) == Malformation::None && c.end();
}

} // namespace detail

} // namespace sipguard::sip
