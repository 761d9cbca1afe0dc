// SPDX-License-Identifier: GPL-2.0-or-later
// JSON parsing (recursive descent with a depth limit) and compact writing.
#include "agent/util/json.h"

#include <cmath>
#include <cstdlib>

#include <fmt/core.h>

#include "agent/util/hex.h"
#include "agent/util/json_string.h"

namespace sipguard::util::json {

namespace {
const Value kNull;
const std::string kEmptyString;
const Array kEmptyArray;
const Object kEmptyObject;

// Control requests and state files are shallow; the limit keeps a hostile
// local client from exhausting the control thread's stack.
constexpr int kMaxDepth = 64;

class Parser {
public:
	explicit Parser(std::string_view t) : t_(t) {}

	Result<Value> run()
	{
		ws();
		Value v;
		bool ok = value(v, 0);
		if (ok) {
			ws();
			ok = pos_ == t_.size() || fail("end of input");
		}
		if (!ok)
			return Status::invalid(fmt::format("offset {}: expected {}", pos_, what_));
		return v;
	}

private:
	bool fail(const char* what)
	{
		what_ = what;
		return false;
	}
	void ws()
	{
		while (pos_ < t_.size() && (t_[pos_] == ' ' || t_[pos_] == '\t' || t_[pos_] == '\n' || t_[pos_] == '\r'))
			++pos_;
	}
	bool lit(std::string_view word)
	{
		if (t_.substr(pos_, word.size()) != word)
			return fail("a value");
		pos_ += word.size();
		return true;
	}
	bool value(Value& out, int depth)
	{
		if (depth > kMaxDepth)
			return fail("less nesting");
		if (pos_ >= t_.size())
			return fail("a value");
		char c = t_[pos_];
		if (c == 'n')
			return lit("null") && (out = Value(), true);
		if (c == 't')
			return lit("true") && (out = Value(true), true);
		if (c == 'f')
			return lit("false") && (out = Value(false), true);
		if (c == '"') {
			std::string s;
			if (!string(s))
				return false;
			out = Value(std::move(s));
			return true;
		}
		if (c == '[') {
			++pos_;
			Array a;
			ws();
			if (pos_ < t_.size() && t_[pos_] == ']') {
				++pos_;
				out = Value(std::move(a));
				return true;
			}
			for (;;) {
				ws();
				Value v;
				if (!value(v, depth + 1))
					return false;
				a.push_back(std::move(v));
				ws();
				if (pos_ < t_.size() && t_[pos_] == ',') {
					++pos_;
					continue;
				}
				if (pos_ < t_.size() && t_[pos_] == ']') {
					++pos_;
					break;
				}
				return fail("',' or ']'");
			}
			out = Value(std::move(a));
			return true;
		}
		if (c == '{') {
			++pos_;
			Object o;
			ws();
			if (pos_ < t_.size() && t_[pos_] == '}') {
				++pos_;
				out = Value(std::move(o));
				return true;
			}
			for (;;) {
				ws();
				std::string k;
				if (pos_ >= t_.size() || t_[pos_] != '"')
					return fail("a member name");
				if (!string(k))
					return false;
				ws();
				if (pos_ >= t_.size() || t_[pos_] != ':')
					return fail("':'");
				++pos_;
				ws();
				Value v;
				if (!value(v, depth + 1))
					return false;
				o.emplace_back(std::move(k), std::move(v));
				ws();
				if (pos_ < t_.size() && t_[pos_] == ',') {
					++pos_;
					continue;
				}
				if (pos_ < t_.size() && t_[pos_] == '}') {
					++pos_;
					break;
				}
				return fail("',' or '}'");
			}
			out = Value(std::move(o));
			return true;
		}
		if (c == '-' || (c >= '0' && c <= '9'))
			return number(out);
		return fail("a value");
	}
	bool number(Value& out)
	{
		size_t start = pos_;
		bool is_float = false;
		if (t_[pos_] == '-')
			++pos_;
		if (pos_ >= t_.size() || !(t_[pos_] >= '0' && t_[pos_] <= '9'))
			return fail("a digit");
		if (t_[pos_] == '0')
			++pos_;
		else
			while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9')
				++pos_;
		if (pos_ < t_.size() && t_[pos_] == '.') {
			is_float = true;
			++pos_;
			if (pos_ >= t_.size() || !(t_[pos_] >= '0' && t_[pos_] <= '9'))
				return fail("a digit");
			while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9')
				++pos_;
		}
		if (pos_ < t_.size() && (t_[pos_] == 'e' || t_[pos_] == 'E')) {
			is_float = true;
			++pos_;
			if (pos_ < t_.size() && (t_[pos_] == '+' || t_[pos_] == '-'))
				++pos_;
			if (pos_ >= t_.size() || !(t_[pos_] >= '0' && t_[pos_] <= '9'))
				return fail("a digit");
			while (pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9')
				++pos_;
		}
		std::string num(t_.substr(start, pos_ - start));
		if (!is_float) {
			errno = 0;
			long long v = std::strtoll(num.c_str(), nullptr, 10);
			if (errno == 0) {
				out = Value(v);
				return true;
			}
		}
		out = Value(std::strtod(num.c_str(), nullptr));
		return true;
	}
	bool u4(unsigned& cp)
	{
		if (pos_ + 4 > t_.size())
			return fail("four hex digits");
		cp = 0;
		for (int i = 0; i < 4; ++i) {
			int h = hex_value(t_[pos_ + i]);
			if (h < 0)
				return fail("four hex digits");
			cp = cp * 16 + static_cast<unsigned>(h);
		}
		pos_ += 4;
		return true;
	}
	static void utf8(std::string& s, unsigned cp)
	{
		if (cp < 0x80) {
			s += static_cast<char>(cp);
		} else if (cp < 0x800) {
			s += static_cast<char>(0xC0 | (cp >> 6));
			s += static_cast<char>(0x80 | (cp & 0x3F));
		} else if (cp < 0x10000) {
			s += static_cast<char>(0xE0 | (cp >> 12));
			s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
			s += static_cast<char>(0x80 | (cp & 0x3F));
		} else {
			s += static_cast<char>(0xF0 | (cp >> 18));
			s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
			s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
			s += static_cast<char>(0x80 | (cp & 0x3F));
		}
	}
	bool string(std::string& s)
	{
		++pos_; // opening quote
		for (;;) {
			if (pos_ >= t_.size())
				return fail("a closing '\"'");
			char c = t_[pos_++];
			if (c == '"')
				return true;
			if (static_cast<unsigned char>(c) < 0x20)
				return fail("no control characters in a string");
			if (c != '\\') {
				s += c;
				continue;
			}
			if (pos_ >= t_.size())
				return fail("an escape");
			char e = t_[pos_++];
			switch (e) {
			case '"': s += '"'; break;
			case '\\': s += '\\'; break;
			case '/': s += '/'; break;
			case 'b': s += '\b'; break;
			case 'f': s += '\f'; break;
			case 'n': s += '\n'; break;
			case 'r': s += '\r'; break;
			case 't': s += '\t'; break;
			case 'u': {
				unsigned cp;
				if (!u4(cp))
					return false;
				if (cp >= 0xD800 && cp < 0xDC00 && t_.substr(pos_, 2) == "\\u") {
					pos_ += 2;
					unsigned lo;
					if (!u4(lo))
						return false;
					if (lo < 0xDC00 || lo > 0xDFFF)
						return fail("a low surrogate");
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				}
				utf8(s, cp);
				break;
			}
			default: return fail("a valid escape");
			}
		}
	}

	std::string_view t_;
	size_t pos_ = 0;
	const char* what_ = "a value";
};
} // namespace

int64_t Value::as_int(int64_t dflt) const
{
	if (auto* i = std::get_if<int64_t>(&v_))
		return *i;
	// A double outside int64's range (or NaN) has no integer value: casting it is undefined.
	if (auto* d = std::get_if<double>(&v_))
		return *d >= -9.2233720368547758e18 && *d < 9.2233720368547758e18 ? static_cast<int64_t>(*d) : dflt;
	return dflt;
}

double Value::as_double(double dflt) const
{
	if (auto* i = std::get_if<int64_t>(&v_))
		return static_cast<double>(*i);
	if (auto* d = std::get_if<double>(&v_))
		return *d;
	return dflt;
}

const std::string& Value::as_string() const
{
	auto* s = std::get_if<std::string>(&v_);
	return s ? *s : kEmptyString;
}

const Array& Value::as_array() const
{
	auto* a = std::get_if<Array>(&v_);
	return a ? *a : kEmptyArray;
}

const Object& Value::as_object() const
{
	auto* o = std::get_if<Object>(&v_);
	return o ? *o : kEmptyObject;
}

Array& Value::array()
{
	if (!is_array())
		v_ = Array{};
	return std::get<Array>(v_);
}

Object& Value::object()
{
	if (!is_object())
		v_ = Object{};
	return std::get<Object>(v_);
}

const Value* Value::find(std::string_view key) const
{
	auto* o = std::get_if<Object>(&v_);
	if (!o)
		return nullptr;
	for (const auto& [k, v] : *o)
		if (k == key)
			return &v;
	return nullptr;
}

const Value& Value::operator[](std::string_view key) const
{
	const Value* v = find(key);
	return v ? *v : kNull;
}

Value& Value::set(std::string key, Value v)
{
	Object& o = object();
	for (auto& [k, existing] : o) {
		if (k == key) {
			existing = std::move(v);
			return *this;
		}
	}
	o.emplace_back(std::move(key), std::move(v));
	return *this;
}

void escape_to(std::string& out, std::string_view s) { util::append_json_string(out, s); }

void Value::dump_to(std::string& out) const
{
	struct Visitor {
		std::string& out;
		void operator()(std::monostate) { out += "null"; }
		void operator()(bool b) { out += b ? "true" : "false"; }
		void operator()(int64_t i) { out += fmt::format("{}", i); }
		void operator()(double d)
		{
			// JSON has no NaN/Infinity.
			if (!std::isfinite(d))
				out += "null";
			else
				out += fmt::format("{}", d);
		}
		void operator()(const std::string& s) { escape_to(out, s); }
		void operator()(const Array& a)
		{
			out += '[';
			for (size_t i = 0; i < a.size(); ++i) {
				if (i)
					out += ',';
				a[i].dump_to(out);
			}
			out += ']';
		}
		void operator()(const Object& o)
		{
			out += '{';
			for (size_t i = 0; i < o.size(); ++i) {
				if (i)
					out += ',';
				escape_to(out, o[i].first);
				out += ':';
				o[i].second.dump_to(out);
			}
			out += '}';
		}
	};
	std::visit(Visitor{out}, v_);
}

std::string Value::dump() const
{
	std::string out;
	dump_to(out);
	return out;
}

Result<Value> parse(std::string_view text)
{
	return Parser(text).run();
}

} // namespace sipguard::util::json
