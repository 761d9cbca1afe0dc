// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the SIP parser (datagram and stream) and the framer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/sip/framer.h"
#include "agent/sip/parser.h"
#include "tools/fuzz/fuzz_check.h"

using namespace sipguard::sip;
using sipguard::fuzz::check_view;

namespace {

void check_message(std::string_view in, const Message& m)
{
	if (m.length > in.size() && !m.incomplete)
		__builtin_trap();
	check_view(in, m.method_token);
	check_view(in, m.ruri.raw);
	check_view(in, m.ruri.user);
	check_view(in, m.ruri.host);
	check_view(in, m.reason);
	check_view(in, m.call_id);
	check_view(in, m.from.display);
	check_view(in, m.from.tag);
	check_view(in, m.to.uri.user);
	check_view(in, m.to.tag);
	check_view(in, m.contact.uri.raw);
	check_view(in, m.cseq_method_token);
	check_view(in, m.user_agent);
	check_view(in, m.authorization.username);
	check_view(in, m.www_authenticate.realm);
	check_view(in, m.event);
	check_view(in, m.event_params);
	check_view(in, m.content_type);
	check_view(in, m.body);
	if (m.via_count > kMaxVia || m.via_total > kMaxViaTotal || m.via_count > m.via_total)
		__builtin_trap();
	for (uint8_t i = 0; i < m.via_count; ++i) {
		check_view(in, m.via[i].transport);
		check_view(in, m.via[i].host);
		check_view(in, m.via[i].branch);
		check_view(in, m.via[i].received);
	}
	if (m.valid() && (m.from.uri.raw.empty() || m.to.uri.raw.empty() || m.call_id.empty() || m.via_count == 0))
		__builtin_trap();
}

// s.find_first_of(set, from) with one memchr per character of the set: the
// standard one calls memchr on the set for every byte of s, which the
// sanitizers intercept call by call.
size_t first_of(std::string_view s, std::string_view set, size_t from = 0)
{
	size_t at = std::string_view::npos;
	for (char c : set)
		at = std::min(at, s.substr(0, at).find(c, from));
	return at;
}

// Calls check(rest) on the input from each of its first 16 places where
// next(in, from) finds something; check returning false is a finding.
template <typename Next, typename Check>
void at_each(std::string_view in, Next next, Check check)
{
	size_t at = 0;
	for (int n = 0; n < 16; ++n) {
		at = next(in, at);
		if (at == std::string_view::npos)
			return;
		if (!check(in.substr(at)))
			__builtin_trap();
		++at;
	}
}

// The shortcuts read whole blocks up to the end of the buffer, past the
// value they judge: each cut below is checked both with the rest of the
// input readable after it, as in a message, and with nothing after it.
bool uri_agrees(std::string_view rest, std::string_view cut)
{
	return detail::uri_shortcut_agrees(cut, rest.size() - cut.size()) && detail::uri_shortcut_agrees(cut);
}
bool name_addr_agrees(std::string_view rest, std::string_view cut)
{
	return detail::name_addr_shortcut_agrees(cut, rest.size() - cut.size()) && detail::name_addr_shortcut_agrees(cut);
}

// Every "sip:" URI in the input, cut where a URI ends in a message (SP,
// '>', ',', CR, LF) and also left uncut: the URI parser's shortcut for the
// usual form must agree with its general path on each; read up to the end
// of its line as an addr-spec, so must the name-addr shortcut.
void check_uri_paths(std::string_view in)
{
	at_each(
	    in, [](std::string_view s, size_t from) { return s.find("sip:", from); },
	    [](std::string_view rest) {
		    return uri_agrees(rest, rest.substr(0, first_of(rest, " >,\r\n"))) && uri_agrees(rest, rest.substr(0, 1100))
		           && name_addr_agrees(rest, rest.substr(0, first_of(rest, "\r\n")));
	    });
}

// Every '"' and '<' in the input read as the start of a name-addr, up to
// the end of its line and also up to its first ';': the name-addr shortcut
// must agree with the general path on each.
void check_name_addr_paths(std::string_view in)
{
	at_each(
	    in, [](std::string_view s, size_t from) { return first_of(s, "\"<", from); },
	    [](std::string_view rest) {
		    const std::string_view line = rest.substr(0, first_of(rest, "\r\n"));
		    return name_addr_agrees(rest, line) && name_addr_agrees(rest, line.substr(0, line.find(';')));
	    });
}

// Every line of the input read as a header value (from after its first
// ':', or whole), up to its end and also with the lines after it: the Via
// and auth shortcuts must agree with their general paths on each.
void check_via_auth_paths(std::string_view in)
{
	at_each(
	    in, [](std::string_view s, size_t from) { return s.find('\n', from); },
	    [](std::string_view rest) {
		    rest.remove_prefix(1); // the '\n'
		    const std::string_view value = rest.substr(rest.substr(0, first_of(rest, "\r\n")).find(':') + 1);
		    const std::string_view line = value.substr(0, first_of(value, "\r\n"));
		    const std::string_view more = value.substr(0, 1100);
		    return detail::via_shortcut_agrees(line) && detail::auth_shortcut_agrees(line)
		           && detail::via_shortcut_agrees(more) && detail::auth_shortcut_agrees(more);
	    });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const std::string_view in(reinterpret_cast<const char*>(data), size);
	Message m;
	sdp::Session s;
	parse(in, Transport::Datagram, m, s);
	check_message(in, m);
	parse(in, Transport::Stream, m);
	check_message(in, m);
	check_uri_paths(in);
	check_name_addr_paths(in);
	check_via_auth_paths(in);

	// The framer, fed in three uneven pieces with a small buffer so the
	// overflow and compaction paths run too.
	StreamFramer f(2048);
	const size_t a = size / 3, b = size / 2;
	const std::string_view parts[] = {in.substr(0, a), in.substr(a, b - a), in.substr(b)};
	for (std::string_view part : parts) {
		while (!part.empty()) {
			const size_t n = f.feed(part);
			part.remove_prefix(n);
			for (int i = 0; i < 256; ++i) {
				const auto st = f.next(m);
				if (st == StreamFramer::Status::NeedMore)
					break;
				if (st == StreamFramer::Status::Message && !m.valid())
					__builtin_trap();
			}
			if (n == 0 && f.buffered() == f.capacity())
				f.reset();
		}
	}
	return 0;
}
