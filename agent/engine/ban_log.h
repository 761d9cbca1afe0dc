// SPDX-License-Identifier: GPL-2.0-or-later
// The ban log: one JSON line per ban, unban, expiry, prefix ban and dry-run
// finding (for tools and SIEMs), plus one human-readable line on stderr (for
// the journal). Thread-safe; reopen() for logrotate on SIGHUP.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "agent/detect/finding.h"
#include "agent/net/ip_address.h"
#include "agent/util/status.h"

namespace sipguard::engine {


// One event in the one schema of the ban log file, `bans --follow --json`
// and `bans --json` (the top README's "The ban log" has the table): every
// event has ts, event, addr, prefix_len, detector, reason, evidence,
// duration_s and offence_count; ban and prefix_ban add until; a listed active
// ban adds remaining_s.
struct BanLogEvent {
	util::TimePoint ts{};
	std::string_view event;      // "ban", "unban", "expire", "prefix_ban", "finding"
	net::Cidr target;            // addr + prefix_len
	std::string_view detector;   // "scanner", ..., "manual"
	std::string_view reason;
	std::string_view note;       // why a finding was not banned; written as "reason (note)"
	std::string_view evidence_json = "{}"; // a JSON object
	std::string_view evidence_text;        // for the human line
	int64_t duration_s = 0;      // the ban's whole length (also on its unban/expire); 0 for a finding
	uint32_t offence_count = 0;  // 0 for a finding
	std::optional<util::TimePoint> until;  // ban, prefix_ban
	std::optional<int64_t> remaining_s;    // a listed active ban
};

// {"ts":"2026-11-29T22:41:07.123Z","event":"ban","addr":"203.0.113.7","prefix_len":32,...}
std::string format_json(const BanLogEvent& e);
// "ban 203.0.113.7/32 for 10m (offence 1): scanner: scanner user-agent [ua=friendly-scanner]"
std::string format_human(const BanLogEvent& e);
// RFC 3339 UTC with milliseconds: "2026-11-29T22:41:07.123Z".
std::string format_rfc3339(util::TimePoint t);
// Whole seconds in the largest unit that divides them exactly: "10m", "24h", "90s".
std::string human_duration(int64_t seconds);

class BanLog {
public:
	// Logs to nothing (stderr line only if set_human_stream()).
	BanLog() = default;
	~BanLog();
	BanLog(const BanLog&) = delete;
	BanLog& operator=(const BanLog&) = delete;

	// Appends to `path` (created 0640, O_APPEND|O_CLOEXEC, line-buffered).
	// A failure's message is "PATH: strerror".
	util::Status open(const std::string& path);
	// Writes JSON lines to a stream the caller owns (replay, tests).
	void attach(FILE* stream);
	// Reopens the path given to open() (logrotate moved the file away);
	// success when no path was opened.
	util::Status reopen();
	// Where the human-readable line goes (default stderr; nullptr = nowhere).
	void set_human_stream(FILE* stream);

	void write(const BanLogEvent& e);
	uint64_t lines_written() const;

private:
	void close_owned();

	mutable std::mutex mu_;
	std::string path_;
	FILE* file_ = nullptr; // owned when !path_.empty()
	bool owned_ = false;
	FILE* human_ = stderr;
	uint64_t lines_ = 0;
};

} // namespace sipguard::engine
