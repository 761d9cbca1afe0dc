// SPDX-License-Identifier: GPL-2.0-or-later
// TOML to Values: the walk over the file's tables, one converter per row type
// (the only place the rules of a type are written), and the error report.
#include "agent/config/loader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include <fmt/core.h>
#include <toml++/toml.h>

#include "agent/config/duration.h"

namespace sipguard::config {

namespace {

struct Problem {
	uint32_t line = 0;
	uint32_t column = 0;
	std::string key;
	std::string what;     // "expected an integer in 0..64", "unknown key", "port 5060 is listed twice"
	std::string got;      // the value as written, when the message echoes it
	std::string why;      // a reason in parentheses, or ""
	bool suggest = false; // an unknown name: " (did you mean ...?)" is added if the problem is reported
};

// At most kMaxEcho bytes of `s`, cut at a UTF-8 character boundary; the
// caller appends "…(N bytes)" when this is shorter than `s`.
std::string_view head(std::string_view s)
{
	if (s.size() <= kMaxEcho)
		return s;
	size_t cut = kMaxEcho;
	while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80)
		--cut;
	return s.substr(0, cut);
}

std::string abbreviate(std::string_view s)
{
	std::string_view h = head(s);
	return h.size() == s.size() ? std::string(s) : fmt::format("{}…({} bytes)", h, s.size());
}

std::string quote(std::string_view s)
{
	std::string_view h = head(s);
	std::string out = "\"";
	for (char c : h) {
		if (c == '"' || c == '\\')
			out += '\\';
		if (static_cast<unsigned char>(c) < 0x20)
			out += fmt::format("\\x{:02x}", static_cast<unsigned>(c));
		else
			out += c;
	}
	out += '"';
	if (h.size() < s.size())
		out += fmt::format("…({} bytes)", s.size());
	return out;
}

// What the file actually holds, for "got ..." in messages.
std::string describe_node(const toml::node& n)
{
	switch (n.type()) {
	case toml::node_type::string: return quote(*n.value<std::string_view>());
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

std::string message_of(const Problem& p)
{
	std::string out = p.what;
	if (!p.got.empty())
		out += fmt::format(", got {}", p.got);
	if (!p.why.empty())
		out += fmt::format(" ({})", p.why);
	return out;
}

bool is_choice(std::string_view choices, std::string_view s)
{
	while (!choices.empty()) {
		size_t bar = choices.find('|');
		if (choices.substr(0, bar) == s)
			return true;
		choices = bar == std::string_view::npos ? std::string_view{} : choices.substr(bar + 1);
	}
	return false;
}

std::string item_key(const std::string& key, size_t i) { return fmt::format("{}[{}]", key, i); }

// Converts the nodes of one key (and, inside a table list, of its tables)
// into Values; every rule of every Type is here.
class Converter {
public:
	std::vector<Problem>& problems() { return problems_; }

	// `at` is where the key is written: type and range errors of the whole
	// value are reported there, where an operator looks first.
	std::optional<Value> convert(const Spec& s, const std::string& key, const toml::node& n,
	                             const toml::source_region& at)
	{
		switch (s.type) {
		case Type::Bool:
			if (auto b = n.as_boolean())
				return Value(b->get());
			break;
		case Type::Int:
			if (auto i = n.as_integer(); i && i->get() >= s.min && i->get() <= s.max)
				return Value(i->get());
			break;
		case Type::Float: {
			std::optional<double> d;
			if (auto i = n.as_integer())
				d = static_cast<double>(i->get());
			else if (auto f = n.as_floating_point())
				d = f->get();
			if (d && *d >= s.fmin && *d <= s.fmax)
				return Value(*d);
			break;
		}
		case Type::Duration: return duration(s, key, n, at);
		case Type::String: {
			auto str = n.as_string();
			if (str && str->get().size() >= static_cast<size_t>(s.min) &&
			    (!s.max || str->get().size() <= static_cast<size_t>(s.max)))
				return Value(str->get());
			break;
		}
		case Type::Path:
		case Type::SocketPath: return path(s, key, n, at);
		case Type::Enum:
			if (auto str = n.as_string(); str && is_choice(s.choices, str->get()))
				return Value(str->get());
			break;
		case Type::PortRange:
			if (auto str = n.as_string())
				if (auto r = parse_port_range(str->get()))
					return Value(*r);
			break;
		case Type::Endpoint:
			if (auto str = n.as_string())
				if (auto e = parse_endpoint(str->get()))
					return Value(*e);
			break;
		case Type::DurationList: return durations(s, key, n, at);
		case Type::CidrList: return cidrs(s, key, n, at);
		case Type::PortList: return ports(s, key, n, at);
		case Type::StringList: return strings(s, key, n, at);
		case Type::TableList: return tables(s, key, n, at);
		}
		return bad(s, key, n, at);
	}

	void report(const toml::source_region& where, std::string key, std::string what, std::string got = {},
	            std::string why = {}, bool suggest = false)
	{
		problems_.push_back({static_cast<uint32_t>(where.begin.line), static_cast<uint32_t>(where.begin.column),
		                     std::move(key), std::move(what), std::move(got), std::move(why), suggest});
	}

private:
	std::nullopt_t bad(const Spec& s, const std::string& key, const toml::node& n, const toml::source_region& at,
	                   std::string why = {})
	{
		report(at, key, describe_expected(s), describe_node(n), std::move(why));
		return std::nullopt;
	}

	std::optional<Value> duration(const Spec& s, const std::string& key, const toml::node& n,
	                              const toml::source_region& at)
	{
		auto str = n.as_string();
		if (!str)
			return bad(s, key, n, at);
		auto d = parse_duration(str->get());
		if (!d)
			return bad(s, key, n, at);
		if (d->count() < s.min || d->count() > s.max)
			return bad(s, key, n, at, "out of range");
		return Value(*d);
	}

	std::optional<Value> path(const Spec& s, const std::string& key, const toml::node& n,
	                          const toml::source_region& at)
	{
		auto str = n.as_string();
		if (!str)
			return bad(s, key, n, at);
		const std::string& v = str->get();
		if ((v.empty() && s.min) || (!v.empty() && v.front() != '/') || v.size() > 4000)
			return bad(s, key, n, at);
		// sockaddr_un.sun_path holds 108 bytes with the NUL.
		if (s.type == Type::SocketPath && v.size() > 107)
			return bad(s, key, n, at, "longer than a unix socket path may be (107 bytes)");
		return Value(v);
	}

	// An array of min_items..max_items items, each converted by `item`,
	// which reports its own problems at the item.
	template <class T, class Item>
	std::optional<std::vector<T>> items(const Spec& s, const std::string& key, const toml::node& n,
	                                    const toml::source_region& at, Item&& item)
	{
		auto a = n.as_array();
		if (!a || a->size() < s.min_items || a->size() > s.max_items) {
			bad(s, key, n, at);
			return std::nullopt;
		}
		std::vector<T> out;
		bool ok = true;
		for (size_t i = 0; i < a->size(); ++i) {
			std::optional<T> v = item(*a->get(i), item_key(key, i), out);
			if (v)
				out.push_back(std::move(*v));
			else
				ok = false;
		}
		if (!ok)
			return std::nullopt;
		return out;
	}

	template <class T>
	static std::optional<Value> as_value(std::optional<std::vector<T>> v)
	{
		if (!v)
			return std::nullopt;
		return Value(std::move(*v));
	}

	std::optional<Value> durations(const Spec& s, const std::string& key, const toml::node& n,
	                               const toml::source_region& at)
	{
		auto v = items<Millis>(s, key, n, at, [&](const toml::node& e, std::string ekey, const auto&) {
			std::optional<Millis> d;
			if (auto str = e.as_string())
				if (auto r = parse_duration(str->get()))
					d = *r;
			if (d && d->count() >= s.min && d->count() <= s.max)
				return d;
			report(e.source(), std::move(ekey),
			       fmt::format("expected a duration in {}..{} like \"10m\"", format_duration(Millis(s.min)),
			                   format_duration(Millis(s.max))),
			       describe_node(e));
			return std::optional<Millis>();
		});
		if (!v)
			return std::nullopt;
		if (s.ascending && !std::is_sorted(v->begin(), v->end())) {
			report(at, key, "durations must not decrease");
			return std::nullopt;
		}
		return Value(std::move(*v));
	}

	std::optional<Value> cidrs(const Spec& s, const std::string& key, const toml::node& n,
	                           const toml::source_region& at)
	{
		return as_value(items<net::Cidr>(s, key, n, at, [&](const toml::node& e, std::string ekey, const auto&) {
			auto str = e.as_string();
			// Not a string: the expectation alone says what is wrong.
			auto c = str ? net::Cidr::parse(str->get()) : util::Result<net::Cidr>(util::Status::invalid(""));
			if (!c) {
				report(e.source(), std::move(ekey), "expected an address or CIDR block like \"192.0.2.0/24\"",
				       describe_node(e), c.error());
				return std::optional<net::Cidr>();
			}
			return std::optional<net::Cidr>(*c);
		}));
	}

	std::optional<Value> ports(const Spec& s, const std::string& key, const toml::node& n,
	                           const toml::source_region& at)
	{
		auto port_of = [&](const toml::node& e, std::string ekey, const std::vector<uint16_t>& seen) {
			auto i = e.as_integer();
			if (!i || i->get() < 1 || i->get() > 65535) {
				report(e.source(), std::move(ekey), "expected a port in 1..65535", describe_node(e));
				return std::optional<uint16_t>();
			}
			auto port = static_cast<uint16_t>(i->get());
			if (std::find(seen.begin(), seen.end(), port) != seen.end()) {
				report(e.source(), std::move(ekey), fmt::format("port {} is listed twice", port));
				return std::optional<uint16_t>();
			}
			return std::optional<uint16_t>(port);
		};
		return as_value(items<uint16_t>(s, key, n, at, port_of));
	}

	std::optional<Value> strings(const Spec& s, const std::string& key, const toml::node& n,
	                             const toml::source_region& at)
	{
		return as_value(items<std::string>(s, key, n, at, [&](const toml::node& e, std::string ekey, const auto&) {
			auto str = e.as_string();
			if (str && !str->get().empty() && str->get().size() <= 128)
				return std::optional<std::string>(str->get());
			report(e.source(), std::move(ekey), "expected a non-empty string of at most 128 bytes",
			       describe_node(e));
			return std::optional<std::string>();
		}));
	}

	// [[calls.trunk]]: each table's keys converted by the sub-row of that
	// name, absent keys defaulted, required keys and unique values checked.
	std::optional<Value> tables(const Spec& s, const std::string& key, const toml::node& n,
	                            const toml::source_region& at)
	{
		std::string_view noun = s.name.substr(s.name.rfind('.') + 1);
		return as_value(items<Record>(s, key, n, at, [&](const toml::node& e, std::string ekey, const auto& before) {
			auto t = e.as_table();
			if (!t) {
				report(e.source(), std::move(ekey), describe_expected(s), describe_node(e));
				return std::optional<Record>();
			}
			std::optional<Record> rec = table(s, noun, ekey, *t);
			return rec ? unique(s, noun, ekey, e, before, std::move(*rec)) : rec;
		}));
	}

	std::optional<Record> table(const Spec& s, std::string_view noun, const std::string& ekey, const toml::table& t)
	{
		Record rec;
		rec.fields.resize(s.sub.count);
		std::vector<bool> present(s.sub.count);
		bool ok = true;
		for (auto&& [k, v] : t) {
			size_t j = 0;
			while (j < s.sub.count && s.sub.at(j).name != k.str())
				++j;
			std::string kname = fmt::format("{}.{}", ekey, k.str());
			if (j == s.sub.count) {
				std::string names;
				for (size_t m = 0; m < s.sub.count; ++m)
					names += fmt::format("{}{}", m ? ", " : "", s.sub.at(m).name);
				report(k.source(), std::move(kname), fmt::format("unknown key ({} keys: {})", noun, names));
				ok = false;
				continue;
			}
			std::optional<Value> field = convert(s.sub.at(j), kname, v, k.source());
			if (!field) {
				ok = false;
				continue;
			}
			rec.fields[j] = std::move(*field);
			present[j] = true;
		}
		if (!ok)
			return std::nullopt;
		for (size_t j = 0; j < s.sub.count; ++j) {
			if (present[j])
				continue;
			if (s.sub.at(j).required) {
				report(t.source(), ekey, std::string(s.incomplete));
				return std::nullopt;
			}
			rec.fields[j] = parse_default(s.sub.at(j));
		}
		return rec;
	}

	std::optional<Record> unique(const Spec& s, std::string_view noun, const std::string& ekey, const toml::node& e,
	                             const std::vector<Record>& before, Record rec)
	{
		for (size_t j = 0; j < s.sub.count; ++j) {
			if (!s.sub.at(j).unique)
				continue;
			for (const Record& other : before) {
				if (other.fields[j] == rec.fields[j]) {
					const auto* name = std::get_if<std::string>(&rec.fields[j]);
					report(e.source(), ekey,
					       fmt::format("{} {} is defined twice", noun, quote(name ? *name : std::string("?"))));
					return std::nullopt;
				}
			}
		}
		return rec;
	}

	std::vector<Problem> problems_;
};

// A value as a file would hold it, appended to `out` (the converter's input
// for checking values built in code).
void push_node(toml::array& out, const Spec& s, const Value& v)
{
	std::visit(
		[&](const auto& x) {
			using X = std::decay_t<decltype(x)>;
			if constexpr (std::is_same_v<X, bool> || std::is_same_v<X, int64_t> || std::is_same_v<X, double> ||
			              std::is_same_v<X, std::string>) {
				out.push_back(x);
			} else if constexpr (std::is_same_v<X, Millis>) {
				out.push_back(format_duration(x));
			} else if constexpr (std::is_same_v<X, PortRange>) {
				out.push_back(fmt::format("{}-{}", x.lo, x.hi));
			} else if constexpr (std::is_same_v<X, Endpoint>) {
				out.push_back(x.to_string());
			} else if constexpr (std::is_same_v<X, std::vector<Record>>) {
				toml::array tables;
				for (const Record& rec : x) {
					toml::table t;
					for (size_t j = 0; j < rec.fields.size() && j < s.sub.count; ++j) {
						toml::array one;
						push_node(one, s.sub.at(j), rec.fields[j]);
						t.insert(s.sub.at(j).name, std::move(*one.get(0)));
					}
					tables.push_back(std::move(t));
				}
				out.push_back(std::move(tables));
			} else {
				toml::array items;
				for (const auto& item : x) {
					using I = std::decay_t<decltype(item)>;
					if constexpr (std::is_same_v<I, Millis>)
						items.push_back(format_duration(item));
					else if constexpr (std::is_same_v<I, net::Cidr>)
						items.push_back(item.to_string());
					else if constexpr (std::is_same_v<I, uint16_t>)
						items.push_back(static_cast<int64_t>(item));
					else
						items.push_back(item);
				}
				out.push_back(std::move(items));
			}
		},
		v);
}

} // namespace

std::string Error::to_string() const
{
	std::string out = file;
	if (line)
		out += fmt::format(":{}:{}", line, column);
	if (!out.empty())
		out += ": ";
	if (!key.empty()) {
		out += key;
		out += ": ";
	}
	out += message;
	return out;
}

const Value& Values::at(std::string_view key) const
{
	auto it = values_.find(key);
	if (it == values_.end())
		throw std::logic_error(fmt::format("config key {} is not in the parameter table", key));
	return it->second;
}

bool Values::is_set(std::string_view key) const
{
	return set_in_file_.find(key) != set_in_file_.end();
}

std::vector<std::string> Values::diff(const Values& other) const
{
	std::vector<std::string> out;
	for (const auto& [k, v] : values_) {
		auto it = other.values_.find(k);
		if (it == other.values_.end() || !(it->second == v))
			out.push_back(k);
	}
	return out;
}

Error Values::error_at(const std::string& file, std::string_view key, std::string message) const
{
	at(key); // a misspelt key is a bug, not a message without a position
	auto it = set_in_file_.find(key);
	if (it == set_in_file_.end())
		return {file, 0, 0, std::string(key), std::move(message)};
	return {file, it->second.first, it->second.second, std::string(key), std::move(message)};
}

// Walks the file's tables: dotted names, sections, unknown keys; each known
// key's node goes to the converter.
class Parser {
public:
	Parser(const Schema& schema, std::string source) : schema_(schema), source_(std::move(source)) {}

	Parsed run(std::string_view text)
	{
		Parsed out;
		toml::table root;
		try {
			root = toml::parse(text, source_);
		} catch (const toml::parse_error& e) {
			out.errors.push_back({source_, static_cast<uint32_t>(e.source().begin.line),
			                      static_cast<uint32_t>(e.source().begin.column), "",
			                      fmt::format("TOML syntax error: {}", e.description())});
			out.error_count = 1;
			return out;
		}
		walk(root, "");
		std::vector<Problem>& problems = conv_.problems();
		if (problems.empty()) {
			for (size_t i = 0; i < schema_.size(); ++i)
				values_.values_.try_emplace(std::string(schema_[i].name), schema_.default_at(i));
			out.values = std::move(values_);
			return out;
		}
		// toml++ iterates keys in sorted order; report in file order.
		std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
			return std::tie(a.line, a.column) < std::tie(b.line, b.column);
		});
		// Only the reported problems get a suggestion: a file of a million
		// unknown keys costs one pass, not a million edit distances each.
		out.error_count = problems.size();
		for (size_t i = 0; i < problems.size() && i < kMaxErrors; ++i) {
			Problem& p = problems[i];
			if (p.suggest)
				p.what += schema_.suggestion(p.key);
			out.errors.push_back({source_, p.line, p.column, abbreviate(p.key), message_of(p)});
		}
		if (problems.size() > kMaxErrors)
			out.errors.push_back({"", 0, 0, "", fmt::format("... and {} more errors", problems.size() - kMaxErrors)});
		return out;
	}

private:
	void walk(const toml::table& t, const std::string& prefix)
	{
		for (auto&& [k, node] : t) {
			std::string name = prefix;
			if (!name.empty())
				name += '.';
			name += k.str();
			if (const Spec* s = schema_.find(name)) {
				values_.set_in_file_[name] = {static_cast<uint32_t>(k.source().begin.line),
				                              static_cast<uint32_t>(k.source().begin.column)};
				if (auto v = conv_.convert(*s, name, node, k.source()))
					values_.values_[name] = std::move(*v);
			} else if (schema_.is_section(name)) {
				if (auto sub = node.as_table())
					walk(*sub, name);
				else
					conv_.report(k.source(), name, fmt::format("expected a table (section [{}])", name),
					             describe_node(node));
			} else {
				conv_.report(k.source(), std::move(name), node.is_table() ? "unknown section" : "unknown key", {}, {},
				             true);
			}
		}
	}

	const Schema& schema_;
	std::string source_;
	Converter conv_;
	Values values_;
};

Parsed parse(std::string_view text, const std::string& source, const Schema& schema)
{
	return Parser(schema, source).run(text);
}

util::Result<std::string> read_file(const std::string& path)
{
	// An ifstream opens a directory and reads nothing: an empty, valid
	// config. Say what it is instead.
	std::error_code ec;
	if (std::filesystem::is_directory(path, ec))
		return util::Status::failure(EISDIR, "cannot read the config file: it is a directory, expected a TOML file");
	std::ifstream in(path, std::ios::binary);
	if (!in) {
		int err = errno;
		return util::Status::failure(err, fmt::format("cannot read the config file: {}", std::strerror(err)));
	}
	std::ostringstream ss;
	ss << in.rdbuf();
	if (in.bad())
		return util::Status::failure(EIO, "cannot read the config file: read error");
	return std::move(ss).str();
}

Value parse_default(const Spec& row)
{
	if (row.required)
		return Value(); // never used: a table that lacks the key is an error
	toml::table t;
	try {
		t = toml::parse(fmt::format("v = {}", row.default_value));
	} catch (const toml::parse_error& e) {
		throw std::logic_error(fmt::format("config key {}: default {} is not TOML: {}", row.name, row.default_value,
		                                   e.description()));
	}
	Converter conv;
	std::optional<Value> v = conv.convert(row, std::string(row.name), *t.get("v"), {});
	if (!v)
		throw std::logic_error(fmt::format("config key {}: default {}: {}", row.name, row.default_value,
		                                   message_of(conv.problems().front())));
	return std::move(*v);
}

util::Result<Value> conform(const Spec& row, const Value& value)
{
	toml::array holder;
	push_node(holder, row, value);
	Converter conv;
	std::string key(row.name);
	if (std::optional<Value> v = conv.convert(row, key, *holder.get(0), {}))
		return std::move(*v);
	const Problem& p = conv.problems().front();
	std::string msg;
	if (p.key.size() > key.size()) {
		msg = p.key.substr(key.size());
		msg += ": ";
	}
	msg += p.what;
	if (!p.why.empty())
		msg += fmt::format(" ({})", p.why);
	return util::Status::invalid(std::move(msg));
}

util::Status check(const Spec& row, const Value& value)
{
	util::Result<Value> v = conform(row, value);
	return v ? util::Status::success() : v.status();
}

} // namespace sipguard::config
