// SPDX-License-Identifier: GPL-2.0-or-later
// Local time for the business-hours pattern: a time zone read once from a
// TZif file (RFC 8536; GCC 12's libstdc++ has no std::chrono tzdb) or a
// fixed offset, and the business hours and days it is compared with.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/util/clock.h"
#include "agent/util/status.h"

namespace sipguard::fraud {

class TimeZone {
public:
	TimeZone() = default; // UTC

	// "" or "UTC": UTC; "+01:00" / "-05:30": a fixed offset; an absolute
	// path: that TZif file; otherwise a zone name under `zoneinfo_dir`.
	static util::Result<TimeZone> load(std::string_view spec, const std::string& zoneinfo_dir);
	// A TZif file's bytes (version 1, 2 or 3); `source` names it in errors.
	static util::Result<TimeZone> from_tzif(std::string_view bytes, std::string_view source);
	static util::Result<TimeZone> fixed(std::string_view offset);

	// Seconds east of UTC at `utc` (seconds since the epoch).
	int32_t offset_at(int64_t utc) const { return span_at(utc).offset; }

	// An offset and a time range [from, until) around the asked time in
	// which it holds: callers keep one and ask again only outside it.
	struct Span {
		int32_t offset = 0;
		int64_t from = 0, until = 0; // empty: holds nowhere
		bool contains(int64_t utc) const { return utc >= from && utc < until; }
	};
	Span span_at(int64_t utc) const;
	const std::string& name() const { return name_; }

private:
	struct Rule { // POSIX TZ "Mm.w.d/time"
		uint8_t month = 0, week = 0, weekday = 0;
		int32_t time = 7200;
	};
	bool parse_footer(std::string_view tz);
	Span footer_span(int64_t utc) const;

	std::string name_ = "UTC";
	std::vector<int64_t> transitions_; // UTC seconds, ascending
	std::vector<int32_t> offsets_;     // offset from transitions_[i] on
	int32_t initial_ = 0;              // before the first transition
	bool has_footer_ = false;          // the POSIX rule for times after the last transition
	int32_t std_offset_ = 0, dst_offset_ = 0;
	bool footer_dst_ = false;
	Rule start_, end_;
};

// Business hours and days in a zone, for the after-hours pattern.
class BusinessHours {
public:
	// hours "08:00-18:00" ("" = always business time: the pattern is off),
	// days "mon-fri" or "mon,tue,sat" or "sat-sun".
	static util::Result<BusinessHours> parse(std::string_view hours, std::string_view days, TimeZone zone);

	bool enabled() const { return enabled_; }
	// Whether `now` (already shifted by clock_offset) is inside.
	bool inside(util::TimePoint now) const
	{
		TimeZone::Span scratch;
		return inside(now, scratch);
	}
	// The same, reusing `cache` (the zone's offset around the last time
	// asked; start with an empty one and reset it when the zone changes).
	bool inside(util::TimePoint now, TimeZone::Span& cache) const;
	const TimeZone& zone() const { return zone_; }

private:
	bool enabled_ = false;
	uint32_t start_ = 0, end_ = 0; // minutes of the day; end_ < start_ spans midnight
	uint8_t days_ = 0;            // bit 0 = Sunday
	TimeZone zone_;
};

// "-2h", "+9h30m", "0s": a signed duration for fraud.clock_offset.
util::Result<util::Duration> parse_clock_offset(std::string_view text);

} // namespace sipguard::fraud
