// SPDX-License-Identifier: GPL-2.0-or-later
// Bad-number lists: loading and longest-prefix lookup.
#include "agent/fraud/bad_numbers.h"

#include <fmt/format.h>

#include "agent/fraud/text_file.h"

namespace sipguard::fraud {

util::Result<std::shared_ptr<const BadNumbers>> BadNumbers::load(std::span<const std::string> paths)
{
	auto lists = std::make_shared<BadNumbers>();
	// A list is named after its file.
	const auto add = [&lists](const std::string& text, const std::string& path) {
		const size_t slash = path.rfind('/');
		return lists->add_text(text, slash == std::string::npos ? path : path.substr(slash + 1), path);
	};
	if (util::Status st = for_each_file(paths, add); !st)
		return st;
	lists->freeze();
	return std::shared_ptr<const BadNumbers>(std::move(lists));
}

util::Status BadNumbers::add_text(std::string_view text, std::string name, std::string path)
{
	const auto index = static_cast<uint32_t>(lists_.size());
	const std::string source = path.empty() ? name : path;
	size_t entries = 0;
	util::Status st = for_each_line(text, [&](size_t line, std::string_view l) -> util::Status {
		char digits[kMaxDigits];
		size_t n = 0;
		for (size_t i = 0; i < l.size(); ++i) {
			const char c = l[i];
			if (c == '+' && n == 0 && l.find_first_of("0123456789") > i)
				continue;
			if (c == '-' || c == '.' || c == '(' || c == ')' || c == ' ' || c == '\t' || c == '/')
				continue;
			if (c < '0' || c > '9')
				return line_error(source, line,
				                  fmt::format("expected an E.164 number or prefix (digits, '+', separators), "
				                              "got \"{}\"",
				                              l));
			if (n == kMaxDigits)
				return line_error(source, line, fmt::format("\"{}\" is longer than 15 digits", l));
			digits[n++] = c;
		}
		if (n < 2)
			return line_error(source, line,
			                  fmt::format("\"{}\" is shorter than 2 digits (a whole zone belongs in a rule)", l));
		map_.add(std::string_view(digits, n), index);
		++entries;
		return util::Status::success();
	});
	if (!st)
		return st;
	lists_.push_back({std::move(name), std::move(path), entries});
	return util::Status::success();
}

void BadNumbers::freeze() { map_.freeze(); }

BadNumbers::Hit BadNumbers::find(const PrefixMap::Key& e164) const
{
	const PrefixMap::Match m = map_.longest(e164);
	if (m.value == PrefixMap::kNone)
		return {};
	return {static_cast<int>(m.value), m.length};
}

} // namespace sipguard::fraud
