// SPDX-License-Identifier: GPL-2.0-or-later
// Known bad numbers (ITSPA's shared list, the operator's own): one or more
// files of E.164 numbers and prefixes, looked up by longest prefix. Built
// whole at load and swapped whole on reload.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "agent/fraud/prefix_map.h"
#include "agent/util/status.h"

namespace sipguard::fraud {

class BadNumbers {
public:
	struct List {
		std::string name; // the file's name without directory ("itspa.txt")
		std::string path;
		size_t entries = 0;
	};

	// Reads every file: lines of one number or prefix each, E.164 with or
	// without '+', visual separators allowed, '#' comments. Every entry is a
	// prefix: "44909" lists every number starting with it. Errors are
	// "path:line: what"; on any error no list is returned.
	static util::Result<std::shared_ptr<const BadNumbers>> load(std::span<const std::string> paths);
	// One list from text (tests, tools); then freeze().
	util::Status add_text(std::string_view text, std::string name, std::string path = {});
	void freeze();

	struct Hit {
		int list = -1;      // index in lists(); -1: not listed
		uint32_t length = 0; // digits of the matching entry
		explicit operator bool() const { return list >= 0; }
	};
	// The longest entry of any list that prefixes `e164`; on a tie the list
	// loaded first. No allocation.
	Hit find(std::string_view e164) const { return find(PrefixMap::encode(e164)); }
	Hit find(const PrefixMap::Key& e164) const;

	const std::vector<List>& lists() const { return lists_; }
	size_t size() const { return map_.size(); }

private:
	std::vector<List> lists_;
	PrefixMap map_; // value: list index
};

} // namespace sipguard::fraud
