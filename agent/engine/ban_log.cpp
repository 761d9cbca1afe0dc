// SPDX-License-Identifier: GPL-2.0-or-later
// Ban log writer: JSON lines to a file or stream, human line to stderr.
#include "agent/engine/ban_log.h"

#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/core.h>

#include "agent/util/json_string.h"

namespace sipguard::engine {

namespace {

std::string full_reason(const BanLogEvent& e)
{
	if (e.note.empty())
		return std::string(e.reason);
	return fmt::format("{} ({})", e.reason, e.note);
}

} // namespace

std::string human_duration(int64_t s)
{
	if (s <= 0)
		return "0s";
	if (s % 86400 == 0)
		return fmt::format("{}d", s / 86400);
	if (s % 3600 == 0)
		return fmt::format("{}h", s / 3600);
	if (s % 60 == 0)
		return fmt::format("{}m", s / 60);
	return fmt::format("{}s", s);
}

std::string format_rfc3339(util::TimePoint t)
{
	auto ns = t.time_since_epoch().count();
	int64_t secs = ns / 1000000000;
	int64_t ms = (ns % 1000000000) / 1000000;
	if (ns < 0 && ns % 1000000000 != 0) {
		secs -= 1;
		ms = (ns - secs * 1000000000) / 1000000;
	}
	time_t tt = static_cast<time_t>(secs);
	struct tm tm {};
	gmtime_r(&tt, &tm);
	return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	                   tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

std::string format_json(const BanLogEvent& e)
{
	std::string out;
	out.reserve(256 + e.evidence_json.size());
	out += "{\"ts\":";
	util::append_json_string(out, format_rfc3339(e.ts));
	out += ",\"event\":";
	util::append_json_string(out, e.event);
	out += ",\"addr\":";
	util::append_json_string(out, e.target.base.to_string());
	out += fmt::format(",\"prefix_len\":{},\"detector\":", e.target.prefix_len);
	util::append_json_string(out, e.detector);
	out += ",\"reason\":";
	util::append_json_string(out, full_reason(e));
	out += ",\"evidence\":";
	out += e.evidence_json.empty() ? std::string_view("{}") : e.evidence_json;
	out += fmt::format(",\"duration_s\":{},\"offence_count\":{}", e.duration_s, e.offence_count);
	if (e.until) {
		out += ",\"until\":";
		util::append_json_string(out, format_rfc3339(*e.until));
	}
	if (e.remaining_s)
		out += fmt::format(",\"remaining_s\":{}", *e.remaining_s);
	out += '}';
	return out;
}

std::string format_human(const BanLogEvent& e)
{
	std::string out = fmt::format("{} {}", e.event, e.target.to_string());
	if (e.event == "ban" || e.event == "prefix_ban")
		out += fmt::format(" for {} (offence {})", human_duration(e.duration_s), e.offence_count);
	if (!e.detector.empty())
		out += fmt::format(": {}", e.detector);
	if (const std::string reason = full_reason(e); !reason.empty())
		out += fmt::format(": {}", reason);
	if (!e.evidence_text.empty())
		out += fmt::format(" [{}]", e.evidence_text);
	return out;
}

BanLog::~BanLog() { close_owned(); }

void BanLog::close_owned()
{
	if (owned_ && file_)
		std::fclose(file_);
	file_ = nullptr;
	owned_ = false;
}

util::Status BanLog::open(const std::string& path)
{
	std::lock_guard lock(mu_);
	int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		const int err = errno;
		return util::Status::failure(err, util::describe_errno(path, err));
	}
	FILE* f = ::fdopen(fd, "a");
	if (!f) {
		const int err = errno;
		::close(fd);
		return util::Status::failure(err, util::describe_errno(path, err));
	}
	std::setvbuf(f, nullptr, _IOLBF, 0);
	close_owned();
	path_ = path;
	file_ = f;
	owned_ = true;
	return util::Status::success();
}

void BanLog::attach(FILE* stream)
{
	std::lock_guard lock(mu_);
	close_owned();
	path_.clear();
	file_ = stream;
}

util::Status BanLog::reopen()
{
	std::string path;
	{
		std::lock_guard lock(mu_);
		if (path_.empty())
			return util::Status::success();
		path = path_;
	}
	return open(path);
}

void BanLog::set_human_stream(FILE* stream)
{
	std::lock_guard lock(mu_);
	human_ = stream;
}

void BanLog::write(const BanLogEvent& e)
{
	std::string json = format_json(e);
	json += '\n';
	std::string human = human_ ? format_human(e) : std::string();
	std::lock_guard lock(mu_);
	if (file_) {
		std::fwrite(json.data(), 1, json.size(), file_);
		std::fflush(file_);
	}
	if (human_)
		fmt::print(human_, "sipguard: {}\n", human);
	++lines_;
}

uint64_t BanLog::lines_written() const
{
	std::lock_guard lock(mu_);
	return lines_;
}

} // namespace sipguard::engine
