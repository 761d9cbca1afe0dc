// SPDX-License-Identifier: GPL-2.0-or-later
// The strict TOML loader: every key must be in the schema, every value of the
// right type and in range, and every problem is reported with
// file:line:column and the dotted key. Also checks values built in code
// against their rows, with the same rules and messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/config/row.h"
#include "agent/config/schema.h"
#include "agent/util/status.h"

namespace sipguard::config {

// One problem, formatted "file:line:column: key: message".
struct Error {
	std::string file;    // empty only on the closing "... and N more errors" line
	uint32_t line = 0;   // 0 when the problem has no position (unreadable file, a default)
	uint32_t column = 0;
	std::string key;     // empty for syntax errors
	std::string message;
	std::string to_string() const;
};

// A report lists at most this many problems, then "... and N more errors".
inline constexpr size_t kMaxErrors = 50;
// Values and unknown keys are echoed up to this many bytes, then "…(N bytes)".
inline constexpr size_t kMaxEcho = 64;

// Every key's value after a load: the file's, else the row's default.
class Values {
public:
	// `key` must be in the schema (a typo is a bug: std::logic_error).
	const Value& at(std::string_view key) const;
	// True when the file set `key` rather than leaving it to its default.
	bool is_set(std::string_view key) const;
	// Keys whose values differ between two loads, sorted.
	std::vector<std::string> diff(const Values& other) const;
	// A problem found after parsing (a cross-key check), reported at the
	// key's position when the file set it. `key` must be in the schema.
	Error error_at(const std::string& file, std::string_view key, std::string message) const;

private:
	friend class Parser;
	std::map<std::string, Value, std::less<>> values_;
	std::map<std::string, std::pair<uint32_t, uint32_t>, std::less<>> set_in_file_; // line, column
};

struct Parsed {
	Values values;             // complete only when `errors` is empty
	std::vector<Error> errors; // in file order, capped at kMaxErrors + 1 lines
	size_t error_count = 0;    // problems found, before the cap
};

// Parses and validates; every problem is reported, not only the first.
Parsed parse(std::string_view text, const std::string& source, const Schema& schema);

// The file's contents, or why not: "cannot read the config file: No such
// file or directory", "... it is a directory, expected a TOML file".
[[nodiscard]] util::Result<std::string> read_file(const std::string& path);

// A row's default_value as a Value; std::logic_error when the row rejects
// its own default.
Value parse_default(const Spec& row);

// A value built in code, checked against its row with the loader's own
// rules and converted as the loader would have (an integer for a Float row
// becomes a double). The failure is the loader's message without the echoed
// value ("expected an integer in 1..10000"; "[0].networks: ..." inside a
// table).
[[nodiscard]] util::Result<Value> conform(const Spec& row, const Value& value);
[[nodiscard]] util::Status check(const Spec& row, const Value& value);

// conform() then store.
template <class Target>
[[nodiscard]] util::Status assign(const Row<Target>& row, Target& target, const Value& value)
{
	util::Result<Value> v = conform(row, value);
	if (!v)
		return v.status();
	row.set(target, *v);
	return util::Status::success();
}

// Every row's current value in `target` checked: the first failure as
// "key: message" ("calls.trunk[0].networks: ..." inside a table list).
template <class Target>
[[nodiscard]] util::Status check_all(std::span<const Row<Target>> rows, const Target& target)
{
	for (const Row<Target>& row : rows) {
		util::Status st = check(row, row.get(target));
		if (!st) {
			std::string msg(row.name);
			if (!st.message.starts_with('[')) // "[0].networks: ..." inside a table list
				msg += ": ";
			msg += st.message;
			return util::Status::invalid(std::move(msg));
		}
	}
	return util::Status::success();
}

// Stores a load's values into `target`, one binder per row.
template <class Target>
void assign_all(std::span<const Row<Target>> rows, Target& target, const Values& values)
{
	for (const Row<Target>& row : rows)
		row.set(target, values.at(row.name));
}

} // namespace sipguard::config
