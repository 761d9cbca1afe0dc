// SPDX-License-Identifier: GPL-2.0-or-later
// A small JSON value with a strict parser and a compact writer, for the
// control protocol (one JSON object per line) and the persisted state file.
// Not on the packet path: allocation is fine here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "agent/util/status.h"

namespace sipguard::util::json {

class Value;
using Array = std::vector<Value>;
// Insertion-ordered, so output is stable and readable.
using Object = std::vector<std::pair<std::string, Value>>;

class Value {
public:
	Value() = default;
	Value(std::nullptr_t) {}
	Value(bool b) : v_(b) {}
	Value(int v) : v_(static_cast<int64_t>(v)) {}
	Value(unsigned v) : v_(static_cast<int64_t>(v)) {}
	Value(long v) : v_(static_cast<int64_t>(v)) {}
	Value(long long v) : v_(static_cast<int64_t>(v)) {}
	Value(unsigned long v) : v_(static_cast<int64_t>(v)) {}
	Value(unsigned long long v) : v_(static_cast<int64_t>(v)) {}
	Value(double d) : v_(d) {}
	Value(const char* s) : v_(std::string(s)) {}
	Value(std::string s) : v_(std::move(s)) {}
	Value(std::string_view s) : v_(std::string(s)) {}
	Value(Array a) : v_(std::move(a)) {}
	Value(Object o) : v_(std::move(o)) {}

	bool is_null() const { return std::holds_alternative<std::monostate>(v_); }
	bool is_bool() const { return std::holds_alternative<bool>(v_); }
	bool is_int() const { return std::holds_alternative<int64_t>(v_); }
	bool is_number() const { return is_int() || std::holds_alternative<double>(v_); }
	bool is_string() const { return std::holds_alternative<std::string>(v_); }
	bool is_array() const { return std::holds_alternative<Array>(v_); }
	bool is_object() const { return std::holds_alternative<Object>(v_); }

	bool as_bool(bool dflt = false) const { return is_bool() ? std::get<bool>(v_) : dflt; }
	int64_t as_int(int64_t dflt = 0) const;
	double as_double(double dflt = 0) const;
	const std::string& as_string() const; // empty string when not a string
	const Array& as_array() const;        // empty when not an array
	const Object& as_object() const;      // empty when not an object
	Array& array();                       // converts null to an empty array
	Object& object();                     // converts null to an empty object

	// Object member lookup; nullptr when absent or not an object.
	const Value* find(std::string_view key) const;
	// A member or a shared null value.
	const Value& operator[](std::string_view key) const;
	// Appends (or replaces) a member; converts null to an object.
	Value& set(std::string key, Value v);

	std::string dump() const;
	void dump_to(std::string& out) const;

	friend bool operator==(const Value&, const Value&) = default;

private:
	std::variant<std::monostate, bool, int64_t, double, std::string, Array, Object> v_;
};

// Strict RFC 8259 parse of one value (surrounding whitespace allowed). A
// failure (EINVAL) says "offset N: expected WHAT".
Result<Value> parse(std::string_view text);

// Appends `s` as a JSON string literal, escaping as RFC 8259 §7 requires.
void escape_to(std::string& out, std::string_view s);

} // namespace sipguard::util::json
