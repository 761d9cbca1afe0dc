// SPDX-License-Identifier: GPL-2.0-or-later
// Config-time file reading for the fraud data files: a whole file, and its
// lines with '#' comments and surrounding blanks removed.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "agent/util/status.h"

namespace sipguard::fraud {

// The file's bytes, at most `max_bytes`; errors name the path.
util::Result<std::string> read_file(const std::string& path, size_t max_bytes = 64u << 20);

// Reads each of `paths` in turn and calls add(text, path); stops at the
// first read or add that fails and returns its Status.
template <class F>
util::Status for_each_file(std::span<const std::string> paths, F&& add)
{
	for (const std::string& path : paths) {
		util::Result<std::string> text = read_file(path);
		if (!text)
			return text.status();
		if (util::Status st = add(*text, path); !st)
			return st;
	}
	return util::Status::success();
}

// Calls f(line_number, text) for every line that is not blank after its
// comment ('#' to the end) is cut and blanks trimmed; stops at the first
// f that returns a failed Status and returns it.
template <class F>
util::Status for_each_line(std::string_view text, F&& f)
{
	size_t line = 0;
	while (!text.empty()) {
		++line;
		const size_t nl = text.find('\n');
		std::string_view l = text.substr(0, nl);
		text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
		if (const size_t hash = l.find('#'); hash != std::string_view::npos)
			l = l.substr(0, hash);
		while (!l.empty() && (l.front() == ' ' || l.front() == '\t' || l.front() == '\r'))
			l.remove_prefix(1);
		while (!l.empty() && (l.back() == ' ' || l.back() == '\t' || l.back() == '\r'))
			l.remove_suffix(1);
		if (l.empty())
			continue;
		if (util::Status st = f(line, l); !st)
			return st;
	}
	return util::Status::success();
}

// "source:line: what".
util::Status line_error(std::string_view source, size_t line, std::string_view what);

} // namespace sipguard::fraud
