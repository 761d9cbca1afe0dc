// SPDX-License-Identifier: GPL-2.0-or-later
// The one row type of every config key (Snort 3's Parameter table): name,
// type, range, default, help, when a change applies, and a typed binder to
// the member it sets. Each area declares a table of rows next to its own
// Config struct; nothing here knows those structs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "agent/config/value.h"

namespace sipguard::config {

// What the file may hold for a key, and so which Value alternative the
// loader hands the binder (value.h).
enum class Type : uint8_t {
	Bool,
	Int,          // min..max
	Float,        // fmin..fmax; an integer is accepted too
	Duration,     // TOML string "10m"; min..max in milliseconds
	DurationList, // min_items..max_items durations, each in min..max ms; `ascending`: none shorter than the one before
	String,       // length min..max bytes (max 0 = unlimited)
	Path,         // absolute path of at most 4000 bytes; "" allowed when min == 0
	SocketPath,   // a Path that also fits sockaddr_un.sun_path (107 bytes and the NUL)
	Enum,         // one of `choices` ("a|b|c")
	CidrList,     // min_items..max_items addresses or CIDR blocks
	PortList,     // min_items..max_items distinct ports 1..65535
	PortRange,    // "LO-HI", 1 <= LO <= HI <= 65535
	Endpoint,     // "" (off) or "ADDR:PORT" / "[V6]:PORT"
	StringList,   // min_items..max_items non-empty strings of at most 128 bytes
	TableList,    // at most max_items tables, each checked against the `sub` rows ([[calls.trunk]])
};

// How a changed value takes effect on SIGHUP: an engine snapshot swap
// (Live), one atomic replace of our nftables table (Rules), or only at the
// next start (Restart: sockets, threads, paths, table sizes), which reload
// refuses with a message naming the key.
enum class Apply : uint8_t { Live, Rules, Restart };

struct Spec;

// The sub-rows of a TableList row as the loader sees them: without their
// binders, which bind the list's element type rather than the area's Config.
struct SubRows {
	size_t count = 0;
	const Spec& (*at)(size_t i) = nullptr;
};

// Everything about a key but the member it sets. Designated initializers
// must follow this order.
struct Spec {
	using Apply = config::Apply;

	std::string_view name;          // dotted key "detect.flood.invite_burst"; a sub-row: its key in the table
	Type type = Type::Bool;
	std::string_view default_value; // TOML literal; a `required` sub-row: the placeholder the docs show
	std::string_view help;          // sentences; '\n' splits comment lines in the generated file
	int64_t min = 0;                // Int, Duration(List) (ms), String/Path length
	int64_t max = 0;
	double fmin = 0;                // Float
	double fmax = 0;
	std::string_view choices = {};  // Enum: "a|b|c"
	uint32_t min_items = 0;         // lists
	uint32_t max_items = 0;
	Apply apply = Apply::Live;
	bool ascending = false;         // DurationList: durations must not decrease (the ban ladder)
	bool required = false;          // sub-row: every table must set it
	bool unique = false;            // sub-row: no two tables of the list may share its value (a name)
	SubRows sub = {};               // TableList: the keys of each table
	std::string_view incomplete = {}; // TableList: the error for a table that lacks a required key
};

// A typed binder: stores a Value into the member a row sets and reads it
// back. Made by bind<>(), bind_enum<>() or bind_tables<>() below.
template <class Target>
struct Binder {
	void (*set)(Target&, const Value&) = nullptr;
	Value (*get)(const Target&) = nullptr;
};

template <class Target>
struct Row : Spec {
	using target_type = Target;

	// Stores a value that passed check(*this, v) (loader.h); a value of
	// another alternative is a bug and throws std::bad_variant_access.
	void (*set)(Target&, const Value&) = nullptr;
	Value (*get)(const Target&) = nullptr;

	constexpr Row(const Spec& spec, Binder<Target> binder) : Spec(spec), set(binder.set), get(binder.get) {}
};

// "expected an integer in 1..100000", "expected a duration in 1s..7d like
// \"90s\", ...": the first half of an error message, and with "expected "
// cut off, the "Accepts ..." line of the generated file.
std::string describe_expected(const Spec& spec);

namespace detail {

template <class M>
struct member;
template <class C, class F>
struct member<F C::*> {
	using object = C;
	using field = F;
};

template <auto First, auto...>
struct root {
	using type = typename member<decltype(First)>::object;
};
template <auto... Path>
using root_t = typename root<Path...>::type;

template <auto Member>
using field_t = typename member<decltype(Member)>::field;

// Field types and the Value alternative they travel as. Integers of any
// width travel as int64_t (the row's range keeps them in bounds); whole
// seconds (the call tracker's timeouts) are plain integers in the file.
template <class F>
Value encode(const F& field)
{
	if constexpr (std::is_same_v<F, bool>)
		return field;
	else if constexpr (std::is_integral_v<F>)
		return static_cast<int64_t>(field);
	else if constexpr (std::is_floating_point_v<F>)
		return static_cast<double>(field);
	else if constexpr (std::is_same_v<F, std::chrono::seconds>)
		return static_cast<int64_t>(field.count());
	else
		return field;
}

template <class F>
F decode(const Value& v)
{
	if constexpr (std::is_same_v<F, bool>)
		return std::get<bool>(v);
	else if constexpr (std::is_integral_v<F>)
		return static_cast<F>(std::get<int64_t>(v));
	else if constexpr (std::is_floating_point_v<F>)
		return static_cast<F>(std::get<double>(v));
	else if constexpr (std::is_same_v<F, std::chrono::seconds>)
		return F(std::get<int64_t>(v));
	else
		return std::get<F>(v);
}

} // namespace detail

// Binds the member reached by a path of pointers to members:
//   config::bind<&engine::Config::flood, &detect::FloodConfig::invite, &detect::Rate::burst>()
// The path is checked by the compiler: a wrong member or a field whose type
// has no Value alternative does not build.
template <auto... Path>
constexpr Binder<detail::root_t<Path...>> bind()
{
	using Root = detail::root_t<Path...>;
	return {
		[](Root& r, const Value& v) {
			auto& field = (r .* ... .* Path);
			field = detail::decode<std::remove_cvref_t<decltype(field)>>(v);
		},
		[](const Root& r) -> Value { return detail::encode((r .* ... .* Path)); },
	};
}

// An enum member stored as its name: Parse and Format convert (the row's
// `choices` lists the names; a test checks that they agree).
template <auto Member, std::optional<detail::field_t<Member>> (*Parse)(std::string_view),
          std::string_view (*Format)(detail::field_t<Member>)>
constexpr Binder<typename detail::member<decltype(Member)>::object> bind_enum()
{
	using Root = typename detail::member<decltype(Member)>::object;
	return {
		[](Root& r, const Value& v) { r.*Member = Parse(std::get<std::string>(v)).value(); },
		[](const Root& r) -> Value { return std::string(Format(r.*Member)); },
	};
}

// An enum's names as one table serving both directions (and bind_enum's
// Parse and Format): {{Policy::Drop, "drop"}, {Policy::Accept, "accept"}}.
template <class E>
struct EnumName {
	E value;
	std::string_view name;
};

template <class E, size_t N>
constexpr std::string_view name_of(const EnumName<E> (&names)[N], E value)
{
	for (const EnumName<E>& n : names)
		if (n.value == value)
			return n.name;
	return "?";
}

template <class E, size_t N>
constexpr std::optional<E> value_of(const EnumName<E> (&names)[N], std::string_view name)
{
	for (const EnumName<E>& n : names)
		if (n.name == name)
			return n.value;
	return std::nullopt;
}

// The SubRows view of an array of rows (a TableList's sub-rows).
template <const auto& Rows>
inline constexpr SubRows sub_rows{std::extent_v<std::remove_reference_t<decltype(Rows)>>,
                                  [](size_t i) -> const Spec& { return Rows[i]; }};

// A std::vector<Element> member filled from a list of tables, one element
// per table, each field set by the sub-row (a Row<Element>) of its key.
template <auto Member, const auto& Rows>
constexpr Binder<typename detail::member<decltype(Member)>::object> bind_tables()
{
	using Root = typename detail::member<decltype(Member)>::object;
	using Element = typename detail::field_t<Member>::value_type;
	return {
		[](Root& r, const Value& v) {
			auto& out = r.*Member;
			out.clear();
			for (const Record& rec : std::get<std::vector<Record>>(v)) {
				Element e{};
				for (size_t i = 0; i < std::size(Rows); ++i)
					Rows[i].set(e, rec.fields.at(i));
				out.push_back(std::move(e));
			}
		},
		[](const Root& r) -> Value {
			std::vector<Record> out;
			for (const Element& e : r.*Member) {
				Record rec;
				for (const auto& row : Rows)
					rec.fields.push_back(row.get(e));
				out.push_back(std::move(rec));
			}
			return out;
		},
	};
}

} // namespace sipguard::config
