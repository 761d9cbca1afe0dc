// SPDX-License-Identifier: GPL-2.0-or-later
// Config-time file reading for the fraud data files.
#include "agent/fraud/text_file.h"

#include <cerrno>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

namespace sipguard::fraud {

util::Result<std::string> read_file(const std::string& path, size_t max_bytes)
{
	std::ifstream in(path, std::ios::binary);
	if (!in)
		return util::Status::failure(errno ? errno : ENOENT, util::describe_errno(path, errno ? errno : ENOENT));
	std::string text;
	char buf[65536];
	while (in.read(buf, sizeof buf) || in.gcount() > 0) {
		text.append(buf, static_cast<size_t>(in.gcount()));
		if (text.size() > max_bytes)
			return util::Status::invalid(fmt::format("{}: larger than {} bytes", path, max_bytes));
	}
	if (in.bad())
		return util::Status::failure(EIO, util::describe_errno(path, EIO));
	return text;
}

util::Status line_error(std::string_view source, size_t line, std::string_view what)
{
	return util::Status::invalid(fmt::format("{}:{}: {}", source, line, what));
}

} // namespace sipguard::fraud
