// SPDX-License-Identifier: GPL-2.0-or-later
// Number tables, numbering plan and normalisation of dialled numbers.
#include "agent/fraud/number.h"

#include <algorithm>

#include <fmt/format.h>

#include "agent/fraud/text_file.h"
#include "agent/util/hex.h"

namespace sipguard::fraud {

namespace {

bool all_digits(std::string_view s)
{
	return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool starts_with(std::string_view s, std::string_view prefix)
{
	return !prefix.empty() && s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

// Splits "a b  c" on blanks.
std::string_view next_word(std::string_view& line)
{
	while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
		line.remove_prefix(1);
	size_t end = 0;
	while (end < line.size() && line[end] != ' ' && line[end] != '\t')
		++end;
	std::string_view word = line.substr(0, end);
	line.remove_prefix(end);
	while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
		line.remove_prefix(1);
	return word;
}

} // namespace

util::Result<std::shared_ptr<const NumberTables>> NumberTables::load(std::span<const std::string> paths)
{
	auto tables = std::make_shared<NumberTables>();
	const auto add = [&tables](const std::string& text, const std::string& path) { return tables->add_text(text, path); };
	if (util::Status st = for_each_file(paths, add); !st)
		return st;
	tables->freeze();
	return std::shared_ptr<const NumberTables>(std::move(tables));
}

util::Status NumberTables::add_text(std::string_view text, std::string_view source)
{
	return for_each_line(text, [&](size_t line, std::string_view l) -> util::Status {
		std::string_view prefix = next_word(l);
		std::string_view cls = next_word(l);
		std::string_view label = l; // the rest, blanks inside allowed
		if (cls.empty())
			return line_error(source, line, fmt::format("expected \"prefix class [label]\", got \"{}\"", prefix));
		bool is_short = false;
		std::string digits;
		if (const size_t slash = prefix.find('/'); slash != std::string_view::npos) {
			is_short = true;
			digits = std::string(prefix.substr(0, slash)) + std::string(prefix.substr(slash + 1));
			if (!all_digits(prefix.substr(0, slash)) || !all_digits(prefix.substr(slash + 1)))
				return line_error(source, line,
				                  fmt::format("expected a short code \"CC/DIGITS\" like \"44/118\", got \"{}\"",
				                              prefix));
		} else {
			if (!prefix.empty() && prefix.front() == '+')
				prefix.remove_prefix(1);
			if (!all_digits(prefix))
				return line_error(source, line,
				                  fmt::format("expected an E.164 prefix of digits, got \"{}\"", prefix));
			digits = std::string(prefix);
		}
		if (digits.size() > kMaxDigits)
			return line_error(source, line, fmt::format("prefix \"{}\" is longer than 15 digits", prefix));
		if (cls == "country") {
			if (is_short)
				return line_error(source, line, "a country code cannot be a short code");
			if (label.empty() || label.size() > kMaxLabel || label.find(' ') != std::string_view::npos)
				return line_error(source, line,
				                  fmt::format("a country needs a label of 1..{} bytes without blanks (\"GB\")",
				                              kMaxLabel));
			if (countries_.size() >= kMaxCountries)
				return line_error(source, line, fmt::format("more than {} countries", kMaxCountries));
			for (const CountryEntry& c : countries_)
				if (c.code == digits)
					return line_error(source, line, fmt::format("country code {} is defined twice", digits));
			const auto id = static_cast<uint16_t>(countries_.size());
			countries_.push_back({digits, std::string(label), id});
			country_map_.add(digits, id);
			return util::Status::success();
		}
		std::optional<NumberClass> c = number_class_from_string(cls);
		if (!c || *c == NumberClass::Unparsable || *c == NumberClass::Internal || *c == NumberClass::Emergency ||
		    *c == NumberClass::International)
			return line_error(source, line,
			                  fmt::format("unknown class \"{}\": expected country, national, mobile, tollfree, "
			                              "special, premium or satellite",
			                              cls));
		const auto idx = static_cast<uint32_t>(ranges_.size());
		ranges_.push_back({*c, std::string(label)});
		(is_short ? short_map_ : range_map_).add(digits, idx);
		return util::Status::success();
	});
}

void NumberTables::freeze()
{
	country_map_.freeze();
	range_map_.freeze();
	short_map_.freeze();
}

const CountryEntry* NumberTables::country_of(const PrefixMap::Key& e164) const
{
	const PrefixMap::Match m = country_map_.longest(e164);
	return m.value == PrefixMap::kNone ? nullptr : &countries_[m.value];
}

const RangeEntry* NumberTables::range_of(const PrefixMap::Key& e164) const
{
	const PrefixMap::Match m = range_map_.longest(e164);
	return m.value == PrefixMap::kNone ? nullptr : &ranges_[m.value];
}

const RangeEntry* NumberTables::short_code_of(std::string_view cc_and_digits) const
{
	const PrefixMap::Match m = short_map_.longest(cc_and_digits);
	return m.value == PrefixMap::kNone ? nullptr : &ranges_[m.value];
}

std::vector<uint16_t> NumberTables::find_countries(std::string_view code_or_label) const
{
	std::string_view key = code_or_label;
	if (!key.empty() && key.front() == '+')
		key.remove_prefix(1);
	std::vector<uint16_t> out;
	for (const CountryEntry& c : countries_)
		if (all_digits(key) ? c.code == key : c.label == key)
			out.push_back(c.id);
	return out;
}

util::Result<NumberingPlan> NumberingPlan::create(const Config& config, std::shared_ptr<const NumberTables> tables)
{
	NumberingPlan p;
	p.tables_ = std::move(tables);
	auto digits_or_empty = [](std::string_view key, const std::string& v) -> util::Status {
		if (v.empty() || all_digits(v))
			return util::Status::success();
		return util::Status::invalid(fmt::format("fraud.{}: expected digits, got \"{}\"", key, v));
	};
	for (auto [key, value] : {std::pair<std::string_view, const std::string*>{"country_code", &config.country_code},
	                          {"national_prefix", &config.national_prefix},
	                          {"dial_out_prefix", &config.dial_out_prefix}})
		if (util::Status st = digits_or_empty(key, *value); !st)
			return st;
	if (!config.country_code.empty()) {
		const CountryEntry* home = p.tables_->country_of(config.country_code);
		if (!home || home->code != config.country_code)
			return util::Status::invalid(
				fmt::format("fraud.country_code: \"{}\" is not a country code of the number tables",
				            config.country_code));
		p.home_ = home;
	}
	for (const std::string& ip : config.international_prefixes) {
		if (ip == "+")
			continue;
		if (!all_digits(ip))
			return util::Status::invalid(
				fmt::format("fraud.international_prefixes: expected digits or \"+\", got \"{}\"", ip));
		p.international_prefixes_.push_back(ip);
	}
	std::sort(p.international_prefixes_.begin(), p.international_prefixes_.end(),
	          [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
	p.emergency_ = {"999", "112", "911"};
	for (const std::string& e : config.emergency) {
		if (!all_digits(e) || e.size() > kMaxDigits)
			return util::Status::invalid(fmt::format("fraud.emergency: expected digits, got \"{}\"", e));
		p.emergency_.push_back(e);
	}
	p.country_code_ = config.country_code;
	p.national_prefix_ = config.national_prefix;
	p.dial_out_ = config.dial_out_prefix;
	p.internal_max_digits_ = config.internal_max_digits;
	return p;
}

bool NumberingPlan::is_emergency(std::string_view digits) const
{
	for (const std::string& e : emergency_) {
		if (digits == e)
			return true;
		if (!dial_out_.empty() && digits.size() == dial_out_.size() + e.size() && starts_with(digits, dial_out_) &&
		    digits.substr(dial_out_.size()) == e)
			return true;
	}
	return false;
}

namespace {

using util::hex_value;

// RFC 3966 §5.1.1 visual separators, plus blanks and '/' that people type.
bool is_separator(char c) { return c == '-' || c == '.' || c == '(' || c == ')' || c == ' ' || c == '/'; }

bool starts_with_nocase(std::string_view s, std::string_view prefix)
{
	if (s.size() < prefix.size())
		return false;
	for (size_t i = 0; i < prefix.size(); ++i)
		if ((s[i] | 0x20) != prefix[i])
			return false;
	return true;
}

void unparsable(Number& out, std::string_view why)
{
	out = Number{};
	out.why = why;
}

} // namespace

void NumberingPlan::normalise(std::string_view text, Number& out) const
{
	out = Number{};
	if (text.size() > kMaxDialled)
		return unparsable(out, "longer than 128 bytes");
	// URI scheme, host and parameters: only the user part / telephone number counts.
	if (!text.empty() && ((text[0] | 0x20) == 's' || (text[0] | 0x20) == 't'))
		for (std::string_view scheme : {"tel:", "sip:", "sips:"})
			if (starts_with_nocase(text, scheme)) {
				text.remove_prefix(scheme.size());
				break;
			}
	// Digits (and '*'/'#' of feature codes) with separators removed; the
	// first '@', ';' or '?' (as written, not %-escaped) ends the number:
	// host, parameters, headers.
	char raw[kMaxDialled];
	size_t n = 0;
	bool plus = false, feature = false;
	for (size_t i = 0; i < text.size(); ++i) {
		char c = text[i];
		if (c >= '0' && c <= '9') {
			raw[n++] = c;
			continue;
		}
		if (c == '@' || c == ';' || c == '?')
			break;
		if (c == '%') {
			const int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
			const int lo = hi >= 0 ? hex_value(text[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return unparsable(out, "bad %-escape");
			c = static_cast<char>(hi * 16 + lo);
			i += 2;
		}
		if (plus && c == '(' && text.substr(i, 3) == "(0)") {
			// "+44 (0)20 ...": the national prefix people write in brackets after the country code.
			i += 2;
			continue;
		}
		if (is_separator(c))
			continue;
		if (c == '+' && !plus &&
		    (n == 0 || (!dial_out_.empty() && std::string_view(raw, n) == dial_out_))) {
			n = 0; // "9+44...": the dial-out prefix before a '+' number
			plus = true;
			continue;
		}
		if (c == '*' || c == '#') {
			feature = true;
		} else if (c < '0' || c > '9') {
			return unparsable(out, "not a telephone number");
		}
		raw[n++] = c;
	}
	std::string_view digits(raw, n);
	if (n == 0)
		return unparsable(out, "no digits");
	if (feature) {
		// A feature code (*72, #31#) is the PBX's business; with '+' it is nonsense.
		if (plus || n > 16)
			return unparsable(out, "'*' or '#' in a number");
		out.number_class = NumberClass::Internal;
		return;
	}
	if (!plus) {
		if (is_emergency(digits)) {
			out.number_class = NumberClass::Emergency;
			return;
		}
		const bool international = std::any_of(international_prefixes_.begin(), international_prefixes_.end(),
		                                       [&](const std::string& ip) { return starts_with(digits, ip); });
		if (n <= internal_max_digits_ && !international) {
			out.number_class = NumberClass::Internal;
			return;
		}
		if (starts_with(digits, dial_out_) && n > dial_out_.size())
			digits.remove_prefix(dial_out_.size());
	}

	// To E.164 digits.
	char e164[kMaxDigits * 2 + 8];
	size_t len = 0;
	auto put = [&](std::string_view part) {
		if (len + part.size() > sizeof e164)
			return false;
		std::copy(part.begin(), part.end(), e164 + len);
		len += part.size();
		return true;
	};
	bool ok = true;
	if (plus) {
		ok = put(digits);
	} else {
		bool international = false;
		for (const std::string& ip : international_prefixes_)
			if (starts_with(digits, ip) && digits.size() > ip.size()) {
				ok = put(digits.substr(ip.size()));
				international = true;
				break;
			}
		if (!international) {
			if (country_code_.empty())
				return unparsable(out, "a national number, but fraud.country_code is not set");
			if (starts_with(digits, national_prefix_) && digits.size() > national_prefix_.size()) {
				digits.remove_prefix(national_prefix_.size());
			} else if (digits.size() + country_code_.size() <= kMaxDigits) {
				// Dialled without any prefix: a home short code (118 118) or a subscriber number.
				char key[kMaxDigits + 1];
				std::copy(country_code_.begin(), country_code_.end(), key);
				std::copy(digits.begin(), digits.end(), key + country_code_.size());
				if (const RangeEntry* sc =
				        tables_->short_code_of(std::string_view(key, country_code_.size() + digits.size()))) {
					out.number_class = sc->number_class;
					out.range = sc;
					out.home = true;
					out.country = home_;
					std::copy(key, key + country_code_.size() + digits.size(), out.digits);
					out.length = static_cast<uint8_t>(country_code_.size() + digits.size());
					out.key = PrefixMap::encode(out.e164());
					return;
				}
			}
			ok = put(country_code_) && put(digits);
		}
	}
	if (!ok || len > kMaxDigits)
		return unparsable(out, "longer than 15 digits (E.164)");
	if (len < 3)
		return unparsable(out, "too short for an E.164 number");
	std::copy(e164, e164 + len, out.digits);
	out.digits[len] = '\0';
	out.length = static_cast<uint8_t>(len);
	classify_e164(out);
}

void NumberingPlan::classify_e164(Number& out) const
{
	out.key = PrefixMap::encode(out.e164());
	out.country = tables_->country_of(out.key);
	out.range = tables_->range_of(out.key);
	if (out.country && out.country->code.size() >= out.length)
		return unparsable(out, "a country code without a number");
	out.home = out.country && out.country == home_;
	const NumberClass range_class = out.range ? out.range->number_class : NumberClass::National;
	if (out.range && (range_class == NumberClass::Satellite || range_class == NumberClass::Premium))
		out.number_class = range_class; // at home or abroad
	else if (out.home)
		out.number_class = range_class;
	else
		out.number_class = NumberClass::International;
}

} // namespace sipguard::fraud
