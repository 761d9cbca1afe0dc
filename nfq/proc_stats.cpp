// SPDX-License-Identifier: GPL-2.0-or-later
// Parser for /proc/net/netfilter/nfnetlink_queue.
#include "nfq/proc_stats.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/core.h>

namespace sipguard::nfq {

namespace {

bool next_field(std::string_view& line, uint64_t& value)
{
	size_t i = 0;
	while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
		++i;
	line.remove_prefix(i);
	if (line.empty())
		return false;
	auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), value);
	if (ec != std::errc() || ptr == line.data())
		return false;
	line.remove_prefix(static_cast<size_t>(ptr - line.data()));
	return line.empty() || line[0] == ' ' || line[0] == '\t';
}

} // namespace

util::Result<std::vector<KernelQueueStats>> parse_proc_queue_stats(std::string_view text)
{
	std::vector<KernelQueueStats> out;
	size_t line_no = 0;
	while (!text.empty()) {
		size_t eol = text.find('\n');
		std::string_view line = text.substr(0, eol);
		text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
		++line_no;
		if (line.find_first_not_of(" \t") == std::string_view::npos)
			continue;
		// seq_show(): queue_num peer_portid queue_total copy_mode copy_range
		// queue_dropped queue_user_dropped id_sequence 1
		uint64_t f[9];
		std::string_view rest = line;
		for (size_t k = 0; k < 9; ++k) {
			if (!next_field(rest, f[k])) {
				return util::Status::invalid(fmt::format(
					"line {}: expected 9 unsigned fields, field {} is not a number: '{}'", line_no, k + 1, line));
			}
		}
		if (rest.find_first_not_of(" \t") != std::string_view::npos) {
			return util::Status::invalid(fmt::format("line {}: more than 9 fields: '{}'", line_no, line));
		}
		constexpr uint64_t u32max = std::numeric_limits<uint32_t>::max();
		if (f[0] > 65535 || f[3] > 255 || f[1] > u32max || f[2] > u32max || f[4] > u32max ||
		    f[5] > u32max || f[6] > u32max || f[7] > u32max) {
			return util::Status::invalid(fmt::format("line {}: field out of range: '{}'", line_no, line));
		}
		KernelQueueStats s;
		s.queue_num = static_cast<uint16_t>(f[0]);
		s.peer_portid = static_cast<uint32_t>(f[1]);
		s.queue_total = static_cast<uint32_t>(f[2]);
		s.copy_mode = static_cast<uint8_t>(f[3]);
		s.copy_range = static_cast<uint32_t>(f[4]);
		s.queue_dropped = static_cast<uint32_t>(f[5]);
		s.user_dropped = static_cast<uint32_t>(f[6]);
		s.id_sequence = static_cast<uint32_t>(f[7]);
		out.push_back(s);
	}
	return out;
}

util::Result<std::vector<KernelQueueStats>> read_proc_queue_stats()
{
	// thread-self: /proc/net follows the thread group leader's namespace, but a
	// queue thread may have entered another one with setns().
	static constexpr const char* path = "/proc/thread-self/net/netfilter/nfnetlink_queue";
	std::ifstream in(path);
	if (!in) {
		int err = errno;
		if (err == ENOENT)
			return std::vector<KernelQueueStats>{};
		return util::Status::failure(err, util::describe_errno(path, err));
	}
	std::ostringstream text;
	text << in.rdbuf();
	auto parsed = parse_proc_queue_stats(text.str());
	if (!parsed)
		return util::Status::failure(parsed.status().error, fmt::format("{}: {}", path, parsed.error()));
	return parsed;
}

} // namespace sipguard::nfq
