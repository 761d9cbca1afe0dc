// SPDX-License-Identifier: GPL-2.0-or-later
// Stream framing helpers: where a header block ends, and a malformed
// message's Content-Length (internal to parser.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "agent/sip/header_names.h"
#include "agent/sip/message.h"
#include "agent/sip/parse/cursor.h"
#include "agent/sip/parse/numbers.h"
#include "agent/sip/scan.h"

namespace sipguard::sip {

namespace {

// Finds the end of the header block in a stream: the offset just past the
// empty line, or npos when it is not buffered yet.
size_t find_head_end(std::string_view d)
{
	size_t pos = 0;
	for (;;) {
		const void* nl = std::memchr(d.data() + pos, '\n', d.size() - pos);
		if (!nl)
			return std::string_view::npos;
		pos = static_cast<size_t>(static_cast<const char*>(nl) - d.data()) + 1;
		if (pos < d.size() && d[pos] == '\n')
			return pos + 1;
		if (pos + 1 < d.size() && d[pos] == '\r' && d[pos + 1] == '\n')
			return pos + 2;
	}
}

// Stream only: after a malformed message whose header block is complete,
// finds its Content-Length so the framer can skip exactly that message and
// stay in sync. Returns 0 when the length cannot be known.
size_t resync_length(std::string_view data)
{
	size_t start = 0;
	while (start < data.size() && (data[start] == '\r' || data[start] == '\n'))
		++start;
	const size_t head = find_head_end(scan::sub(data, start));
	if (head == std::string_view::npos)
		return 0;
	const std::string_view block = scan::sub(data, start, head);
	int64_t cl = -1;
	size_t pos = 0;
	while (pos < block.size()) {
		size_t e = block.find('\n', pos);
		if (e == std::string_view::npos)
			e = block.size();
		std::string_view line = scan::sub(block, pos, e - pos);
		pos = e + 1;
		Cur c{line.data(), line.data() + line.size(), data.data() + data.size()};
		const std::string_view name = c.run<kToken>();
		if (name.empty() || lookup_header(name) != HeaderId::ContentLength || !c.eat_sep(':'))
			continue;
		uint64_t n = 0;
		if (cl >= 0 || !parse_uint(trim(c.rest()), kMaxMessageBytes, n))
			return 0; // duplicate or bad Content-Length: framing is unknowable
		cl = static_cast<int64_t>(n);
	}
	if (cl < 0)
		return 0;
	return start + head + static_cast<size_t>(cl);
}

} // namespace

} // namespace sipguard::sip
