// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard parse [--json] FILE|-`: runs the agent's parser over a file of
// one or more SIP messages and prints the fields it extracted or why a
// message is malformed / not SIP.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "agent/cli/commands.h"
#include "agent/sip/parser.h"
#include "agent/sip/sdp.h"
#include "agent/util/json_string.h"
#include "agent/util/status.h"

namespace sipguard::cli {

namespace {

struct ParseOptions {
	std::string file;
	bool json = false;
};

// Reads all of `path` ("-" = stdin), at most 64 MiB.
util::Result<std::string> read_input(const std::string& path)
{
	FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
	if (!f) {
		const int err = errno;
		return util::Status::failure(err, fmt::format("cannot open '{}': {}", path, std::strerror(err)));
	}
	std::string data;
	char buf[65536];
	size_t n;
	while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
		data.append(buf, n);
		if (data.size() > 64 * 1024 * 1024) {
			if (f != stdin)
				std::fclose(f);
			return util::Status::failure(EFBIG, fmt::format("'{}' is larger than 64 MiB", path));
		}
	}
	const bool failed = std::ferror(f) != 0;
	const int err = errno;
	if (f != stdin)
		std::fclose(f);
	if (failed)
		return util::Status::failure(err, fmt::format("cannot read '{}': {}", path, std::strerror(err)));
	return data;
}

// A file without a single CR was edited (or saved) with LF line ends: SIP
// needs CRLF (RFC 3261 §7), so every LF becomes CRLF before parsing. Files
// with any CR are parsed byte for byte, as they would be on the wire.
std::string normalise_line_ends(std::string data)
{
	if (data.find('\r') != std::string::npos || data.find('\n') == std::string::npos)
		return data;
	std::string out;
	out.reserve(data.size() + data.size() / 16);
	for (char c : data) {
		if (c == '\n')
			out += '\r';
		out += c;
	}
	return out;
}

void key(std::string& o, std::string_view k)
{
	if (o.back() != '{')
		o += ',';
	util::append_json_string(o, k);
	o += ':';
}

void kv(std::string& o, std::string_view k, std::string_view v)
{
	key(o, k);
	util::append_json_string(o, v);
}

void kv_num(std::string& o, std::string_view k, int64_t v)
{
	key(o, k);
	o += std::to_string(v);
}

void kv_null(std::string& o, std::string_view k)
{
	key(o, k);
	o += "null";
}

std::string ip_text(const net::IpAddress& a)
{
	char buf[64];
	const size_t n = a.format(buf, sizeof(buf));
	return std::string(buf, n);
}

std::string_view auth_user(const sip::Message& m)
{
	return m.authorization.present ? m.authorization.username : m.proxy_authorization.username;
}

std::string to_json(const sip::Message& m, const sip::sdp::Session& s, size_t index, size_t offset)
{
	std::string o = "{";
	kv_num(o, "index", static_cast<int64_t>(index));
	kv_num(o, "offset", static_cast<int64_t>(offset));
	key(o, "valid");
	o += m.valid() ? "true" : "false";
	if (m.kind == sip::Kind::NotSip && m.error == sip::Malformation::None) {
		kv(o, "error", "not_sip");
		kv(o, "error_detail", sip::to_string(m.not_sip));
	} else if (m.error != sip::Malformation::None) {
		kv(o, "error", sip::to_string(m.error));
		kv(o, "error_detail", m.error_detail);
	}
	kv(o, "kind", sip::to_string(m.kind));
	if (m.kind == sip::Kind::NotSip) {
		kv(o, "not_sip", sip::to_string(m.not_sip));
		kv_num(o, "length", static_cast<int64_t>(m.length));
		o += '}';
		return o;
	}
	if (m.is_request()) {
		kv(o, "method", m.method_token);
		kv_null(o, "status");
	} else {
		kv_null(o, "method");
		kv_num(o, "status", m.status);
		kv(o, "reason", m.reason);
	}
	kv(o, "ruri", m.ruri.raw);
	kv(o, "ruri_user", m.ruri.user);
	kv(o, "ruri_host", m.ruri.host);
	kv_num(o, "ruri_port", m.ruri.port);
	kv(o, "call_id", m.call_id);
	kv(o, "from_display", m.from.display);
	kv(o, "from_user", m.from.uri.user);
	kv(o, "from_host", m.from.uri.host);
	kv(o, "from_tag", m.from.tag);
	kv(o, "to_display", m.to.display);
	kv(o, "to_user", m.to.uri.user);
	kv(o, "to_host", m.to.uri.host);
	kv(o, "to_tag", m.to.tag);
	kv_num(o, "cseq", m.cseq);
	kv(o, "cseq_method", m.cseq_method_token);
	kv(o, "via_branch", m.via_count ? m.via[0].branch : std::string_view{});
	key(o, "via");
	o += '[';
	for (uint8_t i = 0; i < m.via_count; ++i) {
		if (i)
			o += ',';
		const sip::Via& v = m.via[i];
		o += '{';
		kv(o, "transport", v.transport);
		kv(o, "host", v.host);
		kv_num(o, "port", v.port);
		kv(o, "branch", v.branch);
		kv(o, "received", v.received);
		key(o, "rport");
		if (v.has_rport)
			o += std::to_string(v.rport);
		else
			o += "null";
		o += '}';
	}
	o += ']';
	kv_num(o, "via_total", m.via_total);
	kv(o, "contact", m.contact_star ? std::string_view("*") : m.contact.uri.raw);
	kv(o, "user_agent", m.user_agent);
	kv(o, "auth_user", auth_user(m));
	kv(o, "auth_realm", m.authorization.present ? m.authorization.realm : m.proxy_authorization.realm);
	key(o, "challenge");
	o += (m.www_authenticate.present || m.proxy_authenticate.present) ? "true" : "false";
	kv(o, "event", m.event);
	kv_num(o, "max_forwards", m.max_forwards);
	kv_num(o, "expires", m.expires);
	kv(o, "content_type", m.content_type);
	kv_num(o, "content_length", m.content_length);
	kv_num(o, "body_length", static_cast<int64_t>(m.body.size()));
	kv_num(o, "trailing_bytes", static_cast<int64_t>(m.trailing_bytes));
	key(o, "sdp");
	if (m.valid() && m.has_sdp()) {
		o += '[';
		for (uint8_t i = 0; i < s.media_count; ++i) {
			if (i)
				o += ',';
			const sip::sdp::Media& md = s.media[i];
			o += '{';
			kv(o, "media", md.type);
			kv(o, "address", ip_text(md.address));
			kv_num(o, "port", md.port);
			kv_num(o, "port_count", md.port_count);
			kv(o, "proto", md.proto);
			kv_num(o, "rtcp_port", md.rtcp_port);
			kv(o, "rtcp_address", ip_text(md.rtcp_address));
			key(o, "rtcp_mux");
			o += md.rtcp_mux ? "true" : "false";
			kv(o, "direction", sip::sdp::to_string(md.direction));
			key(o, "on_hold");
			o += md.on_hold() ? "true" : "false";
			o += '}';
		}
		o += ']';
	} else {
		o += "null";
	}
	o += '}';
	return o;
}

// Human-readable form: one "key: value" per line, empty fields left out.
// Values are printed through the JSON escaper (without quotes) so control
// bytes never reach the terminal raw.
std::string printable(std::string_view v)
{
	std::string o;
	util::append_json_string(o, v);
	return o.substr(1, o.size() - 2);
}

void print_text(const sip::Message& m, const sip::sdp::Session& s, size_t index, size_t offset)
{
	auto line = [](std::string_view k, std::string_view v) {
		if (!v.empty())
			fmt::print("  {}: {}\n", k, printable(v));
	};
	auto num = [](std::string_view k, int64_t v) {
		if (v >= 0)
			fmt::print("  {}: {}\n", k, v);
	};
	if (m.kind == sip::Kind::NotSip) {
		if (m.error != sip::Malformation::None)
			fmt::print("message {} at offset {}: malformed ({}: {})\n", index, offset, sip::to_string(m.error),
			           m.error_detail);
		else
			fmt::print("message {} at offset {}: not SIP ({}), {} bytes\n", index, offset, sip::to_string(m.not_sip), m.length);
		return;
	}
	if (m.valid())
		fmt::print("message {} at offset {}: valid {}\n", index, offset, sip::to_string(m.kind));
	else
		fmt::print("message {} at offset {}: malformed {} ({}: {})\n", index, offset, sip::to_string(m.kind),
		           sip::to_string(m.error), m.error_detail);
	if (m.is_request()) {
		line("method", m.method_token);
		line("ruri", m.ruri.raw);
		line("ruri_user", m.ruri.user);
		line("ruri_host", m.ruri.host);
	} else {
		num("status", m.status);
		line("reason", m.reason);
	}
	line("call_id", m.call_id);
	line("from", m.from.uri.raw);
	line("from_display", m.from.display);
	line("from_user", m.from.uri.user);
	line("from_tag", m.from.tag);
	line("to", m.to.uri.raw);
	line("to_user", m.to.uri.user);
	line("to_tag", m.to.tag);
	if (!m.cseq_method_token.empty())
		fmt::print("  cseq: {} {}\n", m.cseq, printable(m.cseq_method_token));
	for (uint8_t i = 0; i < m.via_count; ++i) {
		const sip::Via& v = m.via[i];
		fmt::print("  via[{}]: {} {}:{} branch={}{}{}\n", i, printable(v.transport), printable(v.host), v.port,
		           printable(v.branch), v.received.empty() ? "" : " received=" + printable(v.received),
		           !v.has_rport ? std::string() : v.rport ? " rport=" + std::to_string(v.rport) : std::string(" rport"));
	}
	if (m.via_total > m.via_count)
		fmt::print("  via_total: {}\n", m.via_total);
	line("contact", m.contact_star ? std::string_view("*") : m.contact.uri.raw);
	line("user_agent", m.user_agent);
	line("auth_user", auth_user(m));
	if (m.www_authenticate.present)
		line("www_authenticate_realm", m.www_authenticate.realm);
	if (m.proxy_authenticate.present)
		line("proxy_authenticate_realm", m.proxy_authenticate.realm);
	line("event", m.event);
	num("max_forwards", m.max_forwards);
	num("expires", m.expires);
	line("content_type", m.content_type);
	num("content_length", m.content_length);
	if (m.trailing_bytes)
		fmt::print("  trailing_bytes: {} (ignored, RFC 3261 §18.3)\n", m.trailing_bytes);
	if (m.valid() && m.has_sdp()) {
		for (uint8_t i = 0; i < s.media_count; ++i) {
			const sip::sdp::Media& md = s.media[i];
			const std::string addr = md.address.is_v6() ? "[" + ip_text(md.address) + "]" : ip_text(md.address);
			fmt::print("  sdp media[{}]: {} {}:{}{} {} {}{}{}\n", i, printable(md.type), addr, md.port,
			           md.port_count > 1 ? "/" + std::to_string(md.port_count) : "", printable(md.proto),
			           sip::sdp::to_string(md.direction),
			           md.rtcp_port ? " rtcp=" + std::to_string(md.rtcp_port) : "", md.rtcp_mux ? " rtcp-mux" : "");
		}
	}
}

int run_parse(const ParseOptions& opt)
{
	auto raw = read_input(opt.file);
	if (!raw) {
		fmt::print(stderr, "sipguard parse: {}\n", raw.error());
		return 2;
	}
	const std::string data = normalise_line_ends(std::move(raw).value());
	const std::string_view all(data);

	// The file is a stream of messages framed by Content-Length (RFC 3261
	// §18.3). The last message may lack Content-Length (or have a short
	// body): it is then parsed as one datagram holding the rest of the file.
	int status = 0;
	size_t offset = 0;
	size_t index = 0;
	sip::Message m;
	sip::sdp::Session s;
	do {
		while (offset < all.size() && index > 0 && (all[offset] == '\r' || all[offset] == '\n'))
			++offset;
		if (index > 0 && offset >= all.size())
			break;
		const std::string_view rest = all.substr(offset);
		sip::parse(rest, sip::Transport::Stream, m, s);
		size_t used = m.length;
		const bool no_cl = m.error == sip::Malformation::MissingHeader && m.error_detail == "Content-Length";
		if (m.incomplete || no_cl || used == 0 || used > rest.size()) {
			sip::parse(rest, sip::Transport::Datagram, m, s);
			used = rest.size();
		}
		++index;
		if (!m.valid())
			status = 1;
		if (opt.json)
			fmt::print("{}\n", to_json(m, s, index, offset));
		else
			print_text(m, s, index, offset);
		offset += used;
	} while (offset < all.size());
	std::fflush(stdout);
	return status;
}

} // namespace

void add_parse_command(CLI::App& app, int& exit_code)
{
	auto opt = std::make_shared<ParseOptions>();
	CLI::App* cmd = app.add_subcommand("parse",
	                                   "Parse SIP message(s) from FILE ('-' = stdin) and print the fields or why it is "
	                                   "invalid. Exit 0: all valid, 1: any malformed or not SIP, 2: usage or I/O error.");
	cmd->add_flag("--json", opt->json, "one JSON object per message");
	cmd->add_option("file", opt->file, "file holding one or more SIP messages, or '-' for stdin")->required();
	cmd->callback([opt, &exit_code]() { exit_code = run_parse(*opt); });
}

} // namespace sipguard::cli
