// SPDX-License-Identifier: GPL-2.0-or-later
// Every key the config file accepts, in file order: the areas' row tables
// joined into one schema, and the commented default file generated from it.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "agent/config/row.h"

namespace sipguard::config {

class Schema {
public:
	// Built once at start-up from each area's table, in file order. Throws
	// std::logic_error on a duplicate key or a default its own row rejects
	// (bugs the unit tests catch).
	template <class... Targets>
	explicit Schema(std::span<const Row<Targets>>... tables)
	{
		(add(tables), ...);
		finish();
	}

	const Spec* find(std::string_view name) const;
	// True when some key lies below "prefix." (a section, or a dotted prefix).
	bool is_section(std::string_view prefix) const;
	// " (did you mean daemon.queues?)" for a key within three edits, else "".
	std::string suggestion(std::string_view name) const;
	// The default of rows()[i], parsed from its literal once.
	const Value& default_at(size_t i) const { return defaults_[i]; }

	// Iterates the rows as `const Spec&`.
	class iterator {
	public:
		using value_type = Spec;
		using difference_type = std::ptrdiff_t;
		explicit iterator(const Spec* const* p) : p_(p) {}
		const Spec& operator*() const { return **p_; }
		const Spec* operator->() const { return *p_; }
		iterator& operator++()
		{
			++p_;
			return *this;
		}
		bool operator==(const iterator&) const = default;

	private:
		const Spec* const* p_;
	};
	iterator begin() const { return iterator(rows_.data()); }
	iterator end() const { return iterator(rows_.data() + rows_.size()); }
	size_t size() const { return rows_.size(); }
	const Spec& operator[](size_t i) const { return *rows_[i]; }

private:
	template <class Target>
	void add(std::span<const Row<Target>> rows)
	{
		for (const Row<Target>& r : rows)
			rows_.push_back(&r);
	}
	void finish();

	std::vector<const Spec*> rows_;
	std::vector<Value> defaults_; // parallel to rows_
	// Lookups by name: a file's every key is looked up on each load.
	std::unordered_map<std::string_view, const Spec*> by_name_;
	std::unordered_set<std::string_view> sections_; // every dotted prefix of a key
	size_t longest_ = 0;                             // no longer name is a key or section
};

// The commented default config: a header, then for each key its help, what
// it accepts and when a change applies, and `key = default`, one [section]
// per run of keys that share it.
std::string default_file_text(const Schema& schema);

} // namespace sipguard::config
