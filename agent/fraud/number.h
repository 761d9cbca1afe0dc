// SPDX-License-Identifier: GPL-2.0-or-later
// Dialled numbers: the number tables (data/fraud/*.txt), the site's
// numbering plan, and normalise(): as-dialled text to E.164 and a class.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/fraud/config.h"
#include "agent/fraud/prefix_map.h"
#include "agent/util/status.h"

namespace sipguard::fraud {

// One E.164 country code (or international network, +881) of the tables.
struct CountryEntry {
	std::string code;  // "44", "1876"
	std::string label; // "GB", "JM", "GMSS": at most 7 bytes, what events and metrics show
	uint16_t id = 0;   // index in NumberTables::countries()
};

// A range of numbers with a class: "447 mobile", "1900 premium".
struct RangeEntry {
	NumberClass number_class = NumberClass::National;
	std::string label;
};

// Every table file merged: lines "prefix class [label]", '#' starts a
// comment. `prefix` is E.164 digits ('+' optional), or "CC/DIGITS" for a
// national short code dialled without prefix ("44/118"). Classes: country
// (label = the country's name in events, required), national, mobile,
// tollfree, special, premium, satellite. Fixed after load.
class NumberTables {
public:
	static constexpr size_t kMaxCountries = 1024;
	static constexpr size_t kMaxLabel = 7;

	// Reads each file; errors are "path:line: what".
	static util::Result<std::shared_ptr<const NumberTables>> load(std::span<const std::string> paths);
	// Parses one file's text; `source` names it in errors. Then freeze().
	util::Status add_text(std::string_view text, std::string_view source);
	void freeze();

	// The country whose code is the longest prefix of `e164`, or null.
	const CountryEntry* country_of(std::string_view e164) const { return country_of(PrefixMap::encode(e164)); }
	const CountryEntry* country_of(const PrefixMap::Key& e164) const;
	const RangeEntry* range_of(std::string_view e164) const { return range_of(PrefixMap::encode(e164)); }
	const RangeEntry* range_of(const PrefixMap::Key& e164) const;
	// A home short code: `cc` + the dialled digits.
	const RangeEntry* short_code_of(std::string_view cc_and_digits) const;
	std::span<const CountryEntry> countries() const { return countries_; }
	// A country by code ("1876") or label ("JM"): all entries that have it.
	std::vector<uint16_t> find_countries(std::string_view code_or_label) const;
	size_t range_count() const { return ranges_.size(); }

private:
	std::vector<CountryEntry> countries_;
	PrefixMap country_map_;
	std::vector<RangeEntry> ranges_;
	PrefixMap range_map_;
	PrefixMap short_map_;
};

// A normalised, classified number. Fixed size: filled per INVITE.
struct Number {
	NumberClass number_class = NumberClass::Unparsable;
	char digits[kMaxDigits + 1] = {}; // E.164 digits without '+', NUL-terminated; "" unless national..satellite
	uint8_t length = 0;
	bool home = false;                 // the site's own country
	const CountryEntry* country = nullptr;
	const RangeEntry* range = nullptr; // the range or short code that gave the class, if any
	std::string_view why;              // Unparsable: a static reason
	PrefixMap::Key key;                // `digits` encoded for the prefix maps (bad lists); set with them

	std::string_view e164() const { return {digits, length}; }
};

// The site's numbering plan over the tables.
class NumberingPlan {
public:
	// Checks the plan's keys (digits only, the country code in the tables).
	static util::Result<NumberingPlan> create(const Config& config, std::shared_ptr<const NumberTables> tables);

	// As-dialled text (a Request-URI user, "tel:+44-20-...;phone-context=...",
	// "sip:0044...@host") to a Number. No allocation.
	void normalise(std::string_view dialled, Number& out) const;

	const NumberTables& tables() const { return *tables_; }
	const std::shared_ptr<const NumberTables>& shared_tables() const { return tables_; }

private:
	bool is_emergency(std::string_view digits) const;
	void classify_e164(Number& out) const;

	std::shared_ptr<const NumberTables> tables_;
	const CountryEntry* home_ = nullptr; // the entry of country_code_ in *tables_
	std::string country_code_;
	std::string national_prefix_;
	std::vector<std::string> international_prefixes_; // longest first
	std::string dial_out_;
	std::vector<std::string> emergency_;
	uint32_t internal_max_digits_ = 5;
};

// The longest dialled text normalise() reads; longer is Unparsable.
inline constexpr size_t kMaxDialled = 128;

} // namespace sipguard::fraud
