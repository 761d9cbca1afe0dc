// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the control protocol and the pure parsers behind it:
// request and response decoding with their encoders' round trips, the JSON
// parser's error offsets, the daemon's reading of a request's members,
// address/prefix parsing, durations, and the CLI's rendering of `stats`.
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "agent/control/protocol.h"
#include "agent/control/stats_text.h"
#include "agent/config/duration.h"
#include "agent/net/ip_address.h"
#include "agent/util/json.h"

using namespace sipguard;
namespace json = util::json;

namespace {

void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

// RFC 3629 §4: no overlongs, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s)
{
	const auto* p = reinterpret_cast<const unsigned char*>(s.data());
	const size_t n = s.size();
	for (size_t i = 0; i < n;) {
		const unsigned char c = p[i];
		size_t len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		if (len == 0 || i + len > n)
			return false;
		for (size_t k = 1; k < len; ++k)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		if (len == 3 && ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f)))
			return false;
		if (len == 4 && ((c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f)))
			return false;
		i += len;
	}
	return true;
}

// Whether writing and re-reading `v` can be exact: its strings are
// well-formed UTF-8 (the writer turns other bytes into \u00XX, which read
// back as U+00XX) and its numbers are finite (the writer has no Infinity).
bool exact_on_the_wire(const json::Value& v)
{
	if (v.is_string())
		return valid_utf8(v.as_string());
	if (v.is_number() && !v.is_int())
		return std::isfinite(v.as_double());
	for (const json::Value& e : v.as_array())
		if (!exact_on_the_wire(e))
			return false;
	for (const auto& [k, e] : v.as_object())
		if (!valid_utf8(k) || !exact_on_the_wire(e))
			return false;
	return true;
}

// Equal as a reader of the protocol sees them: 3.0 written is read back as
// the integer 3, so numbers compare by value.
bool same(const json::Value& a, const json::Value& b)
{
	if (a.is_number() && b.is_number()) {
		if (a.is_int() && b.is_int())
			return a.as_int() == b.as_int();
		return a.as_double() == b.as_double();
	}
	if (a.is_object() && b.is_object()) {
		const json::Object& x = a.as_object();
		const json::Object& y = b.as_object();
		if (x.size() != y.size())
			return false;
		for (size_t i = 0; i < x.size(); ++i)
			if (x[i].first != y[i].first || !same(x[i].second, y[i].second))
				return false;
		return true;
	}
	if (a.is_array() && b.is_array()) {
		const json::Array& x = a.as_array();
		const json::Array& y = b.as_array();
		if (x.size() != y.size())
			return false;
		for (size_t i = 0; i < x.size(); ++i)
			if (!same(x[i], y[i]))
				return false;
		return true;
	}
	return a == b;
}

// A parse error names an offset inside the text: "offset N: expected ...".
void check_error_offset(std::string_view text, std::string_view why)
{
	constexpr std::string_view kPrefix = "offset ";
	check(why.starts_with(kPrefix));
	size_t off = 0;
	auto [end, ec] = std::from_chars(why.data() + kPrefix.size(), why.data() + why.size(), off);
	check(ec == std::errc() && end < why.data() + why.size() && *end == ':');
	check(off <= text.size());
}

// Writing is one step from a fixed point: what it writes reads back as a
// value that writes and reads back exactly.
void check_json(std::string_view text)
{
	auto v = json::parse(text);
	if (!v) {
		check_error_offset(text, v.error());
		return;
	}
	const std::string once = v->dump();
	auto w = json::parse(once);
	check(w.ok());
	if (exact_on_the_wire(*v))
		check(same(*v, *w));
	auto w2 = json::parse(w->dump());
	check(w2.ok() && *w2 == *w);
}

void check_cidr(std::string_view text)
{
	auto c = net::Cidr::parse(text);
	if (!c) {
		check(!c.error().empty());
		return;
	}
	check(c->base.valid() && c->prefix_len <= c->base.max_prefix());
	check(c->base.masked(c->prefix_len) == c->base && c->contains(c->base));
	auto again = net::Cidr::parse(c->to_string());
	check(again.ok() && *again == *c);
}

void check_address(std::string_view text)
{
	auto a = net::IpAddress::parse(text);
	if (!a)
		return;
	check(a->valid());
	auto again = net::IpAddress::parse(a->to_string());
	check(again.has_value() && *again == *a);
}

void check_duration(std::string_view text)
{
	auto d = config::parse_duration(text);
	if (!d) {
		check(!d.error().empty());
		return;
	}
	check(d->count() >= 0);
	auto again = config::parse_duration(config::format_duration(*d));
	check(again.ok() && *again == *d);
}

// What the daemon's handlers (agent/daemon/control_handlers.cpp) read from a
// decoded request, with the same accessors.
void read_like_the_daemon(const control::Request& r)
{
	const std::string& addr = r.args["addr"].as_string();
	check_cidr(addr);
	check_address(addr);
	[[maybe_unused]] volatile int64_t for_s = r.args["for_s"].as_int(0);
	[[maybe_unused]] volatile bool follow = r.args["follow"].as_bool();
	[[maybe_unused]] volatile size_t reason = r.args["reason"].as_string().size();
}

void check_request(std::string_view line)
{
	auto r = control::decode_request(line);
	if (!r) {
		check(!r.error().empty());
		return;
	}
	check(line.size() <= control::kMaxLine);
	check(control::find_command(r->cmd) != nullptr);
	check(r->args.is_object() && r->args["cmd"].as_string() == r->cmd);
	read_like_the_daemon(*r);

	// decode(encode(x)) == x, member by member, as the handlers see them.
	// Bytes that are not UTF-8 are rewritten by the encoder (and two names
	// may then collide), so only exact requests must come back.
	const std::string again_line = control::encode_request(r->cmd, r->args);
	auto again = control::decode_request(again_line);
	if (again_line.size() > control::kMaxLine) {
		check(!again.ok());
		return;
	}
	if (!exact_on_the_wire(r->args))
		return;
	check(again.ok() && again->cmd == r->cmd);
	for (const auto& [k, v] : r->args.as_object()) {
		const json::Value* w = again->args.find(k);
		check(w != nullptr && same(*w, v));
	}
}

void check_response(std::string_view line)
{
	auto r = control::decode_response(line);
	if (!r) {
		check(!r.error().empty());
		return;
	}
	check(r->body.is_object() && r->body["ok"].is_bool() && r->body["ok"].as_bool() == r->ok);
	check(r->error == r->body["error"].as_string());
	if (!r->ok) {
		auto again = control::decode_response(control::encode_error(r->error));
		check(again.ok() && !again->ok);
		if (valid_utf8(r->error))
			check(again->error == r->error);
		return;
	}
	auto again = control::decode_response(control::encode_ok(r->body));
	if (exact_on_the_wire(r->body))
		check(again.ok() && again->ok && same(again->body, r->body));
}

// The encoders take any bytes (error texts and members quote user input)
// and always write a line the decoders accept.
void check_encoders(std::string_view bytes)
{
	auto e = control::decode_response(control::encode_error(bytes));
	check(e.ok() && !e->ok);
	if (valid_utf8(bytes))
		check(e->error == bytes);

	// One command per input: they share the path past find_command().
	const control::CommandSpec& spec = control::kCommands[bytes.size() % std::size(control::kCommands)];
	json::Value args = json::Object{};
	args.set("addr", bytes);
	args.set("reason", bytes);
	const std::string line = control::encode_request(spec.name, args);
	check(line.find('\n') == std::string::npos);
	auto r = control::decode_request(line);
	if (line.size() > control::kMaxLine) {
		check(!r.ok());
		return;
	}
	check(r.ok() && r->cmd == spec.name);
	if (valid_utf8(bytes))
		check(r->args["addr"].as_string() == bytes && r->args["reason"].as_string() == bytes);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const std::string_view in(reinterpret_cast<const char*>(data), size);
	check_json(in);
	check_request(in);
	check_response(in);
	check_encoders(in);
	check_cidr(in);
	check_address(in);
	check_duration(in);
	[[maybe_unused]] volatile size_t shown = control::to_human(in).size();
	return 0;
}
