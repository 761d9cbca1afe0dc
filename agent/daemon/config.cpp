// SPDX-License-Identifier: GPL-2.0-or-later
// Strict TOML config loading: every key must be in the parameter table, every
// value of the right type and in range, and every problem is reported with
// file:line:column and the dotted key.
#include "agent/daemon/config.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <type_traits>

#include <fmt/core.h>
#include <toml++/toml.h>

namespace sipguard::daemon {

namespace {

using T = ParamType;

const Param* find_param(std::string_view name)
{
	for (const Param& p : all_params())
		if (p.name == name)
			return &p;
	return nullptr;
}

bool is_section_prefix(std::string_view prefix)
{
	for (const Param& p : all_params())
		if (p.name.size() > prefix.size() && p.name.substr(0, prefix.size()) == prefix &&
		    p.name[prefix.size()] == '.')
			return true;
	return false;
}

size_t edit_distance(std::string_view a, std::string_view b)
{
	std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
	for (size_t j = 0; j <= b.size(); ++j)
		prev[j] = j;
	for (size_t i = 1; i <= a.size(); ++i) {
		cur[0] = i;
		for (size_t j = 1; j <= b.size(); ++j)
			cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
		std::swap(prev, cur);
	}
	return prev[b.size()];
}

std::string suggestion(std::string_view name)
{
	const Param* best = nullptr;
	size_t best_d = 4; // beyond three edits a suggestion is noise
	for (const Param& p : all_params()) {
		size_t d = edit_distance(name, p.name);
		if (d < best_d) {
			best_d = d;
			best = &p;
		}
	}
	return best ? fmt::format(" (did you mean {}?)", best->name) : std::string();
}

std::string quote(std::string_view s)
{
	std::string out = "\"";
	for (char c : s) {
		if (c == '"' || c == '\\')
			out += '\\';
		if (static_cast<unsigned char>(c) < 0x20)
			out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
		else
			out += c;
	}
	return out + "\"";
}

// What the file actually holds, for "got ..." in messages.
std::string describe_node(const toml::node& n)
{
	switch (n.type()) {
	case toml::node_type::string: return quote(*n.value<std::string>());
	case toml::node_type::integer: return fmt::format("{}", *n.value<int64_t>());
	case toml::node_type::floating_point: return fmt::format("{}", *n.value<double>());
	case toml::node_type::boolean: return *n.value<bool>() ? "true" : "false";
	case toml::node_type::array: return "an array";
	case toml::node_type::table: return "a table";
	case toml::node_type::date: return "a date";
	case toml::node_type::time: return "a time";
	case toml::node_type::date_time: return "a date-time";
	default: return "nothing";
	}
}

std::optional<PortRange> parse_port_range(std::string_view s)
{
	size_t dash = s.find('-');
	if (dash == std::string_view::npos)
		return std::nullopt;
	auto num = [](std::string_view t) -> std::optional<uint32_t> {
		if (t.empty() || t.size() > 5)
			return std::nullopt;
		uint32_t v = 0;
		for (char c : t) {
			if (c < '0' || c > '9')
				return std::nullopt;
			v = v * 10 + static_cast<uint32_t>(c - '0');
		}
		return v;
	};
	auto lo = num(s.substr(0, dash));
	auto hi = num(s.substr(dash + 1));
	if (!lo || !hi || *lo < 1 || *hi > 65535 || *lo > *hi)
		return std::nullopt;
	return PortRange{static_cast<uint16_t>(*lo), static_cast<uint16_t>(*hi)};
}

std::optional<Endpoint> parse_endpoint(std::string_view s)
{
	if (s.empty())
		return Endpoint{};
	size_t colon = s.rfind(':');
	if (colon == std::string_view::npos || colon == 0)
		return std::nullopt;
	std::string_view host = s.substr(0, colon);
	std::string_view port = s.substr(colon + 1);
	// A bare IPv6 address has colons of its own; require brackets.
	if (host.find(':') != std::string_view::npos && host.front() != '[')
		return std::nullopt;
	auto addr = net::IpAddress::parse(host);
	if (!addr || port.empty() || port.size() > 5)
		return std::nullopt;
	uint32_t p = 0;
	for (char c : port) {
		if (c < '0' || c > '9')
			return std::nullopt;
		p = p * 10 + static_cast<uint32_t>(c - '0');
	}
	if (p < 1 || p > 65535)
		return std::nullopt;
	return Endpoint{*addr, static_cast<uint16_t>(p)};
}

} // namespace

std::string Endpoint::to_string() const
{
	if (!enabled())
		return "";
	return addr.is_v6() ? fmt::format("[{}]:{}", addr.to_string(), port) : fmt::format("{}:{}", addr.to_string(), port);
}

std::string ConfigError::to_string() const
{
	std::string out = file;
	if (line)
		out += fmt::format(":{}:{}", line, column);
	out += ": ";
	if (!key.empty())
		out += key + ": ";
	return out + message;
}

class ConfigLoader {
public:
	explicit ConfigLoader(std::string source) : source_(std::move(source)) {}

	LoadResult load(std::string_view text, bool is_defaults)
	{
		LoadResult r;
		toml::table root;
		try {
			root = toml::parse(text, source_);
		} catch (const toml::parse_error& e) {
			r.errors.push_back({source_, static_cast<uint32_t>(e.source().begin.line),
			                    static_cast<uint32_t>(e.source().begin.column), "",
			                    fmt::format("TOML syntax error: {}", e.description())});
			return r;
		}
		auto cfg = std::make_shared<Config>();
		cfg->source_ = source_;
		walk(root, "", *cfg);
		// toml++ iterates keys in sorted order; report in file order.
		std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
			return std::tie(a.line, a.column) < std::tie(b.line, b.column);
		});
		if (!errors_.empty()) {
			r.errors = std::move(errors_);
			return r;
		}
		if (!is_defaults) {
			ConfigPtr d = default_config();
			for (const auto& [k, v] : d->values_)
				if (!cfg->values_.count(k))
					cfg->values_.emplace(k, v);
		}
		for (const Param& p : all_params())
			if (!cfg->values_.count(p.name))
				throw std::logic_error(fmt::format("config key {} has no default", p.name));
		decode(*cfg);
		if (!errors_.empty()) {
			r.errors = std::move(errors_);
			return r;
		}
		r.config = std::move(cfg);
		return r;
	}

private:
	void error(const toml::source_region& where, std::string_view key, std::string msg)
	{
		errors_.push_back({source_, static_cast<uint32_t>(where.begin.line), static_cast<uint32_t>(where.begin.column),
		                   std::string(key), std::move(msg)});
	}

	void walk(const toml::table& t, const std::string& prefix, Config& cfg)
	{
		for (auto&& [k, node] : t) {
			std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
			const Param* p = find_param(name);
			if (p) {
				cfg.set_in_file_[name] = true;
				positions_[name] = k.source();
				key_pos_ = k.source();
				value(*p, name, node, cfg);
			} else if (node.is_table() && is_section_prefix(name)) {
				walk(*node.as_table(), name, cfg);
			} else if (is_section_prefix(name)) {
				error(k.source(), name, fmt::format("expected a table (section [{}]), got {}", name, describe_node(node)));
			} else if (node.is_table()) {
				error(k.source(), name, "unknown section" + suggestion(name));
			} else {
				error(k.source(), name, "unknown key" + suggestion(name));
			}
		}
	}

	void bad(const Param& p, const std::string& name, const toml::node& n, std::string_view why = {})
	{
		std::string msg = fmt::format("{}, got {}", describe_expected(p), describe_node(n));
		if (!why.empty())
			msg += fmt::format(" ({})", why);
		// Reported at the key, where an operator looks first.
		error(key_pos_, name, std::move(msg));
	}

	void value(const Param& p, const std::string& name, const toml::node& n, Config& cfg)
	{
		switch (p.type) {
		case T::Bool:
			if (auto b = n.as_boolean())
				cfg.values_[name] = b->get();
			else
				bad(p, name, n);
			return;
		case T::Int: {
			auto i = n.as_integer();
			if (!i || i->get() < p.min || i->get() > p.max)
				return bad(p, name, n);
			cfg.values_[name] = i->get();
			return;
		}
		case T::Float: {
			double d;
			if (auto i = n.as_integer())
				d = static_cast<double>(i->get());
			else if (auto f = n.as_floating_point())
				d = f->get();
			else
				return bad(p, name, n);
			if (!(d >= p.fmin && d <= p.fmax))
				return bad(p, name, n);
			cfg.values_[name] = d;
			return;
		}
		case T::Duration: {
			auto s = n.as_string();
			if (!s)
				return bad(p, name, n);
			std::string why;
			auto d = parse_duration(s->get(), &why);
			if (!d)
				return bad(p, name, n);
			if (d->count() < p.min || d->count() > p.max)
				return bad(p, name, n, "out of range");
			cfg.values_[name] = *d;
			return;
		}
		case T::DurationList: {
			auto a = n.as_array();
			if (!a || a->empty() || a->size() > p.max_items)
				return bad(p, name, n);
			std::vector<Millis> out;
			for (size_t i = 0; i < a->size(); ++i) {
				const toml::node& e = *a->get(i);
				auto s = e.as_string();
				auto d = s ? parse_duration(s->get()) : std::nullopt;
				if (!d || d->count() < p.min || d->count() > p.max) {
					error(e.source(), fmt::format("{}[{}]", name, i),
					      fmt::format("expected a duration in {}..{} like \"10m\", got {}",
					                  format_duration(Millis(p.min)), format_duration(Millis(p.max)),
					                  describe_node(e)));
					continue;
				}
				out.push_back(*d);
			}
			cfg.values_[name] = std::move(out);
			return;
		}
		case T::String: {
			auto s = n.as_string();
			if (!s || (p.max_items && s->get().size() > p.max_items))
				return bad(p, name, n);
			cfg.values_[name] = s->get();
			return;
		}
		case T::Path: {
			auto s = n.as_string();
			if (!s)
				return bad(p, name, n);
			const std::string& v = s->get();
			if ((v.empty() && p.min) || (!v.empty() && v.front() != '/') || v.size() > 4000)
				return bad(p, name, n);
			// A unix socket path must fit sockaddr_un.sun_path (108 bytes with NUL).
			if (name.ends_with("socket") && v.size() > 107)
				return bad(p, name, n, "longer than a unix socket path may be (107 bytes)");
			cfg.values_[name] = v;
			return;
		}
		case T::TrunkList: {
			auto a = n.as_array();
			if (!a || a->size() > p.max_items)
				return bad(p, name, n);
			std::vector<TrunkSpec> out;
			for (size_t i = 0; i < a->size(); ++i) {
				const toml::node& e = *a->get(i);
				std::string ename = fmt::format("{}[{}]", name, i);
				auto t = e.as_table();
				if (!t) {
					error(e.source(), ename, fmt::format("{}, got {}", describe_expected(p), describe_node(e)));
					continue;
				}
				TrunkSpec spec;
				bool ok = true, have_name = false;
				for (auto&& [k, v] : *t) {
					std::string key(k.str());
					std::string kname = ename + "." + key;
					// A reference to the key's source, not the binding `k`
					// itself: capturing a structured binding needs a newer
					// clang than Debian 12's (clang 14).
					const toml::source_region& where = k.source();
					auto fail = [&](std::string msg) {
						error(where, kname, std::move(msg));
						ok = false;
					};
					if (key == "name") {
						auto s = v.as_string();
						if (!s || s->get().empty() || s->get().size() > 64)
							fail(fmt::format("expected a name of 1..64 characters, got {}", describe_node(v)));
						else
							spec.name = s->get(), have_name = true;
					} else if (key == "networks") {
						auto arr = v.as_array();
						if (!arr || arr->empty() || arr->size() > 256) {
							fail(fmt::format("expected an array of 1..256 CIDR blocks, got {}", describe_node(v)));
							continue;
						}
						for (size_t j = 0; j < arr->size(); ++j) {
							auto s = arr->get(j)->as_string();
							std::string why;
							auto c = s ? net::Cidr::parse(s->get(), &why) : std::nullopt;
							if (!c) {
								error(arr->get(j)->source(), fmt::format("{}[{}]", kname, j),
								      fmt::format("expected an address or CIDR block like \"192.0.2.0/24\", got {}{}",
								                  describe_node(*arr->get(j)), why.empty() ? "" : " (" + why + ")"));
								ok = false;
								continue;
							}
							spec.networks.push_back(*c);
						}
					} else if (key == "trusted") {
						if (auto b = v.as_boolean())
							spec.trusted = b->get();
						else
							fail(fmt::format("expected true or false, got {}", describe_node(v)));
					} else if (key == "max_calls" || key == "max_call_attempts") {
						auto iv = v.as_integer();
						if (!iv || iv->get() < 0 || iv->get() > 1000000)
							fail(fmt::format("expected an integer in 0..1000000, got {}", describe_node(v)));
						else
							(key == "max_calls" ? spec.max_calls : spec.max_call_attempts) =
								static_cast<uint32_t>(iv->get());
					} else {
						fail("unknown key (trunk keys: name, networks, trusted, max_calls, max_call_attempts)");
					}
				}
				if (ok && (!have_name || spec.networks.empty())) {
					error(e.source(), ename, "a trunk needs a name and at least one network");
					continue;
				}
				for (const auto& other : out)
					if (ok && other.name == spec.name) {
						error(e.source(), ename, fmt::format("trunk \"{}\" is defined twice", spec.name));
						ok = false;
					}
				if (ok)
					out.push_back(std::move(spec));
			}
			cfg.values_[name] = std::move(out);
			return;
		}
		case T::StringList: {
			auto a = n.as_array();
			if (!a || a->size() > p.max_items)
				return bad(p, name, n);
			std::vector<std::string> out;
			for (size_t i = 0; i < a->size(); ++i) {
				const toml::node& e = *a->get(i);
				auto s = e.as_string();
				if (!s || s->get().empty() || s->get().size() > 128) {
					error(e.source(), fmt::format("{}[{}]", name, i),
					      fmt::format("expected a non-empty string of at most 128 bytes, got {}", describe_node(e)));
					continue;
				}
				out.push_back(s->get());
			}
			cfg.values_[name] = std::move(out);
			return;
		}
		case T::Enum: {
			auto s = n.as_string();
			if (!s)
				return bad(p, name, n);
			if (p.origin == Param::Origin::Calls) {
				auto* row = static_cast<const calls::Parameter*>(p.ext);
				calls::Config scratch;
				std::string why;
				if (!row->set_text || !row->set_text(scratch, s->get(), why))
					return bad(p, name, n);
				cfg.values_[name] = s->get();
				return;
			}
			std::string_view c = p.choices;
			while (!c.empty()) {
				size_t bar = c.find('|');
				if (c.substr(0, bar) == s->get()) {
					cfg.values_[name] = s->get();
					return;
				}
				c = bar == std::string_view::npos ? std::string_view{} : c.substr(bar + 1);
			}
			return bad(p, name, n);
		}
		case T::CidrList: {
			auto a = n.as_array();
			if (!a || a->size() > p.max_items)
				return bad(p, name, n);
			std::vector<net::Cidr> out;
			for (size_t i = 0; i < a->size(); ++i) {
				const toml::node& e = *a->get(i);
				auto s = e.as_string();
				std::string why;
				auto c = s ? net::Cidr::parse(s->get(), &why) : std::nullopt;
				if (!c) {
					error(e.source(), fmt::format("{}[{}]", name, i),
					      fmt::format("expected an address or CIDR block like \"192.0.2.0/24\", got {}{}",
					                  describe_node(e), why.empty() ? "" : " (" + why + ")"));
					continue;
				}
				out.push_back(*c);
			}
			cfg.values_[name] = std::move(out);
			return;
		}
		case T::PortList: {
			auto a = n.as_array();
			if (!a || a->empty() || a->size() > p.max_items)
				return bad(p, name, n);
			std::vector<uint16_t> out;
			for (size_t i = 0; i < a->size(); ++i) {
				const toml::node& e = *a->get(i);
				auto v = e.as_integer();
				if (!v || v->get() < 1 || v->get() > 65535) {
					error(e.source(), fmt::format("{}[{}]", name, i),
					      fmt::format("expected a port in 1..65535, got {}", describe_node(e)));
					continue;
				}
				auto port = static_cast<uint16_t>(v->get());
				if (std::find(out.begin(), out.end(), port) != out.end()) {
					error(e.source(), fmt::format("{}[{}]", name, i), fmt::format("port {} is listed twice", port));
					continue;
				}
				out.push_back(port);
			}
			cfg.values_[name] = std::move(out);
			return;
		}
		case T::PortRange: {
			auto s = n.as_string();
			auto r = s ? parse_port_range(s->get()) : std::nullopt;
			if (!r)
				return bad(p, name, n);
			cfg.values_[name] = *r;
			return;
		}
		case T::Endpoint: {
			auto s = n.as_string();
			auto e = s ? parse_endpoint(s->get()) : std::nullopt;
			if (!e)
				return bad(p, name, n);
			cfg.values_[name] = *e;
			return;
		}
		}
	}

	// Cross-key checks, reported at the position of the key that was set.
	void cross_error(const Config& cfg, std::string_view key, std::string msg)
	{
		auto it = positions_.find(std::string(key));
		if (it != positions_.end() && cfg.is_set(key))
			error(it->second, key, std::move(msg));
		else
			errors_.push_back({source_, 0, 0, std::string(key), std::move(msg)});
	}

	void decode(Config& cfg)
	{
		DaemonSettings& d = cfg.daemon_;
		auto q = cfg.get_int("daemon.queues");
		d.queues = q == 0 ? online_cpus() : static_cast<unsigned>(q);
		d.queue_base = static_cast<uint16_t>(cfg.get_int("daemon.queue_base"));
		if (d.queue_base + d.queues - 1 > 65535)
			cross_error(cfg, "daemon.queue_base", "queue_base + queues exceeds queue number 65535");
		d.queue_maxlen = static_cast<uint32_t>(cfg.get_int("daemon.queue_maxlen"));
		d.fail_open = cfg.get_bool("daemon.fail_open");
		d.dry_run = cfg.get_bool("daemon.dry_run");
		d.remove_table_on_exit = cfg.get_bool("daemon.remove_table_on_exit");
		d.state_dir = cfg.get_string("daemon.state_dir");
		d.save_interval = cfg.get_duration("daemon.save_interval");
		d.ban_log = cfg.get_string("daemon.ban_log");
		d.control_socket = cfg.get_string("daemon.control_socket");
		d.control_group = cfg.get_string("daemon.control_group");
		d.log_level = cfg.get_string("daemon.log_level");
		d.sip_ports = cfg.get_ports("sip.ports");
		d.media_pinning = cfg.get_bool("media.pinning");
		d.rtp_range = cfg.get_port_range("media.rtp_range");
		for (uint16_t port : d.sip_ports)
			if (port >= d.rtp_range.lo && port <= d.rtp_range.hi)
				cross_error(cfg, "media.rtp_range",
				            fmt::format("the RTP range {}-{} contains SIP port {}", d.rtp_range.lo, d.rtp_range.hi, port));
		d.allowlist = cfg.get_cidrs("policy.allowlist");
		d.trusted = cfg.get_cidrs("policy.trusted");
		d.metrics_socket = cfg.get_string("metrics.socket");
		d.metrics_listen = cfg.get_endpoint("metrics.listen");
		if (!d.metrics_socket.empty() && d.metrics_socket == d.control_socket)
			cross_error(cfg, "metrics.socket", "must differ from daemon.control_socket");
		decode_engine(cfg);
		decode_calls(cfg);
	}

	void decode_engine(Config& cfg)
	{
		auto e = std::make_shared<engine::Config>();
		for (const Param& p : all_params()) {
			if (p.origin != Param::Origin::Engine)
				continue;
			auto* row = static_cast<const engine::Param*>(p.ext);
			engine::ParamValue v = std::visit(
				[](const auto& x) -> engine::ParamValue {
					using X = std::decay_t<decltype(x)>;
					if constexpr (std::is_constructible_v<engine::ParamValue, X>)
						return x;
					else
						return false;
				},
				cfg.get(p.name));
			std::string err = engine::apply(*e, *row, v);
			if (!err.empty())
				cross_error(cfg, p.name, err);
		}
		e->allowlist = cfg.daemon_.allowlist;
		e->trusted = cfg.daemon_.trusted;
		e->dry_run = cfg.daemon_.dry_run;
		std::string err = engine::check(*e);
		if (!err.empty()) {
			// "ban.ladder: durations must not decrease": point at the key.
			size_t colon = err.find(':');
			std::string key = colon == std::string::npos ? "" : err.substr(0, colon);
			if (find_param(key))
				cross_error(cfg, key, err.substr(colon + 2));
			else
				errors_.push_back({source_, 0, 0, "", err});
		}
		cfg.engine_ = std::move(e);
	}

	void decode_calls(Config& cfg)
	{
		calls::Config c;
		for (const Param& p : all_params()) {
			if (p.origin != Param::Origin::Calls)
				continue;
			auto* row = static_cast<const calls::Parameter*>(p.ext);
			std::string err;
			bool ok = true;
			if (row->set_integer)
				ok = row->set_integer(c, cfg.get_int(p.name), err);
			else if (row->set_text)
				ok = row->set_text(c, cfg.get_string(p.name), err);
			if (!ok)
				cross_error(cfg, p.name, err);
		}
		for (const TrunkSpec& t : cfg.get_trunks("calls.trunk"))
			c.trunks.push_back({t.name, t.networks, calls::Limits{t.max_calls, t.max_call_attempts}, t.trusted});
		if (auto err = c.validate())
			errors_.push_back({source_, 0, 0, "", *err});
		cfg.calls_ = std::move(c);
	}

	std::string source_;
	std::vector<ConfigError> errors_;
	std::map<std::string, toml::source_region> positions_;
	toml::source_region key_pos_;
};

namespace {
template <typename V>
const V& typed(const Config& c, std::string_view key)
{
	const ParamValue& v = c.get(key);
	if (auto* p = std::get_if<V>(&v))
		return *p;
	throw std::logic_error(fmt::format("config key {} read with the wrong type", key));
}
} // namespace

const ParamValue& Config::get(std::string_view key) const
{
	auto it = values_.find(key);
	if (it == values_.end())
		throw std::logic_error(fmt::format("config key {} is not in the parameter table", key));
	return it->second;
}

bool Config::get_bool(std::string_view key) const { return typed<bool>(*this, key); }
int64_t Config::get_int(std::string_view key) const { return typed<int64_t>(*this, key); }
double Config::get_float(std::string_view key) const { return typed<double>(*this, key); }
const std::string& Config::get_string(std::string_view key) const { return typed<std::string>(*this, key); }
Millis Config::get_duration(std::string_view key) const { return typed<Millis>(*this, key); }
const std::vector<Millis>& Config::get_durations(std::string_view key) const
{
	return typed<std::vector<Millis>>(*this, key);
}
const std::vector<net::Cidr>& Config::get_cidrs(std::string_view key) const
{
	return typed<std::vector<net::Cidr>>(*this, key);
}
const std::vector<uint16_t>& Config::get_ports(std::string_view key) const
{
	return typed<std::vector<uint16_t>>(*this, key);
}
PortRange Config::get_port_range(std::string_view key) const { return typed<PortRange>(*this, key); }
Endpoint Config::get_endpoint(std::string_view key) const { return typed<Endpoint>(*this, key); }
const std::vector<TrunkSpec>& Config::get_trunks(std::string_view key) const
{
	return typed<std::vector<TrunkSpec>>(*this, key);
}
const std::vector<std::string>& Config::get_strings(std::string_view key) const
{
	return typed<std::vector<std::string>>(*this, key);
}

bool Config::is_set(std::string_view key) const
{
	return set_in_file_.find(key) != set_in_file_.end();
}

std::vector<std::string> Config::diff(const Config& other) const
{
	std::vector<std::string> out;
	for (const auto& [k, v] : values_) {
		auto it = other.values_.find(k);
		if (it == other.values_.end() || !(it->second == v))
			out.push_back(k);
	}
	return out;
}

LoadResult load_config_text(std::string_view text, const std::string& source_name)
{
	return ConfigLoader(source_name).load(text, false);
}

LoadResult load_config_file(const std::string& path)
{
	std::ifstream in(path, std::ios::binary);
	if (!in) {
		LoadResult r;
		r.unreadable = true;
		r.errors.push_back({path, 0, 0, "", fmt::format("cannot read the config file: {}", std::strerror(errno))});
		return r;
	}
	std::ostringstream ss;
	ss << in.rdbuf();
	if (in.bad()) {
		LoadResult r;
		r.unreadable = true;
		r.errors.push_back({path, 0, 0, "", "cannot read the config file: read error"});
		return r;
	}
	return load_config_text(ss.str(), path);
}

ConfigPtr default_config()
{
	static const ConfigPtr cfg = [] {
		LoadResult r = ConfigLoader("<embedded defaults>").load(default_config_text(), true);
		if (!r.config) {
			std::string all;
			for (const auto& e : r.errors)
				all += "\n" + e.to_string();
			throw std::logic_error("the parameter table's defaults are invalid:" + all);
		}
		return r.config;
	}();
	return cfg;
}

std::string default_config_text()
{
	std::string out =
		"# sipguard configuration (TOML), installed as /etc/sipguard/sipguard.toml.\n"
		"#\n"
		"# Every key is listed with its default value and what it accepts. Unknown keys,\n"
		"# wrong types and out-of-range values are errors (file:line:column: key: ...);\n"
		"# `sipguard check-config FILE` validates a file without touching the kernel.\n"
		"# SIGHUP (systemctl reload sipguard) applies a changed file atomically or keeps\n"
		"# the running config and logs why; keys marked \"restart\" take effect at the\n"
		"# next start. This file is generated from the parameter table:\n"
		"#   sipguard check-config --print-defaults\n";
	std::string section = "\x01";
	for (const Param& p : all_params()) {
		size_t dot = p.name.rfind('.');
		std::string sec(p.name.substr(0, dot));
		std::string key(p.name.substr(dot + 1));
		if (sec != section) {
			section = sec;
			out += fmt::format("\n[{}]\n", sec);
		} else {
			out += "\n";
		}
		std::string_view help = p.help;
		while (!help.empty()) {
			size_t nl = help.find('\n');
			out += fmt::format("# {}\n", help.substr(0, nl));
			help = nl == std::string_view::npos ? std::string_view{} : help.substr(nl + 1);
		}
		std::string expected = describe_expected(p);
		if (expected.starts_with("expected "))
			expected = expected.substr(9);
		const char* apply = p.apply == Param::Apply::Live    ? "reload"
		                    : p.apply == Param::Apply::Rules ? "reload (ruleset replace)"
		                                                     : "restart";
		out += fmt::format("# Accepts {}. Applied on {}.\n", expected, apply);
		out += fmt::format("{} = {}\n", key, p.default_value);
	}
	return out;
}

unsigned online_cpus()
{
	long n = ::sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? static_cast<unsigned>(std::min<long>(n, 64)) : 1;
}

} // namespace sipguard::daemon
