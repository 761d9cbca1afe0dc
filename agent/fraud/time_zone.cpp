// SPDX-License-Identifier: GPL-2.0-or-later
// TZif reading (RFC 8536), POSIX TZ rules of the footer, business hours.
#include "agent/fraud/time_zone.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "agent/config/duration.h"
#include "agent/fraud/text_file.h"

namespace sipguard::fraud {

namespace {

int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	// Howard Hinnant's days_from_civil: days since 1970-01-01.
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const auto yoe = static_cast<unsigned>(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int64_t year_of(int64_t days)
{
	days += 719468;
	const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	const auto doe = static_cast<unsigned>(days - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	const unsigned m = mp < 10 ? mp + 3 : mp - 9;
	return static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

uint32_t be32(const unsigned char* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

int64_t be64(const unsigned char* p)
{
	return static_cast<int64_t>(uint64_t(be32(p)) << 32 | be32(p + 4));
}

// "[+-]hh[:mm[:ss]]" -> seconds; advances `s`.
bool parse_hms(std::string_view& s, int32_t& out, bool allow_sign)
{
	int sign = 1;
	if (allow_sign && !s.empty() && (s.front() == '+' || s.front() == '-')) {
		sign = s.front() == '-' ? -1 : 1;
		s.remove_prefix(1);
	}
	int32_t total = 0;
	for (int part = 0; part < 3; ++part) {
		if (part > 0) {
			if (s.empty() || s.front() != ':')
				break;
			s.remove_prefix(1);
		}
		int v = 0, digits = 0;
		while (!s.empty() && s.front() >= '0' && s.front() <= '9' && digits < 3) {
			v = v * 10 + (s.front() - '0');
			s.remove_prefix(1);
			++digits;
		}
		if (digits == 0 || (part > 0 && v > 59))
			return false;
		total += v * (part == 0 ? 3600 : part == 1 ? 60 : 1);
	}
	out = sign * total;
	return true;
}

bool parse_tz_name(std::string_view& s)
{
	if (!s.empty() && s.front() == '<') {
		const size_t end = s.find('>');
		if (end == std::string_view::npos)
			return false;
		s.remove_prefix(end + 1);
		return true;
	}
	size_t n = 0;
	while (n < s.size() && ((s[n] | 0x20) >= 'a' && (s[n] | 0x20) <= 'z'))
		++n;
	if (n < 3)
		return false;
	s.remove_prefix(n);
	return true;
}

} // namespace

util::Result<TimeZone> TimeZone::fixed(std::string_view offset)
{
	std::string_view s = offset;
	int32_t secs = 0;
	if (s.empty() || (s.front() != '+' && s.front() != '-') || !parse_hms(s, secs, true) || !s.empty() ||
	    secs < -16 * 3600 || secs > 16 * 3600)
		return util::Status::invalid(
			fmt::format("fraud.time_zone: expected \"+HH:MM\", \"-HH:MM\" or a zone name, got \"{}\"", offset));
	TimeZone z;
	z.name_ = std::string(offset);
	z.initial_ = secs;
	return z;
}

util::Result<TimeZone> TimeZone::load(std::string_view spec, const std::string& zoneinfo_dir)
{
	if (spec.empty() || spec == "UTC")
		return TimeZone();
	if (spec.front() == '+' || spec.front() == '-')
		return fixed(spec);
	if (spec.find("..") != std::string_view::npos)
		return util::Status::invalid(fmt::format("fraud.time_zone: \"{}\" contains \"..\"", spec));
	const std::string path = spec.front() == '/' ? std::string(spec) : zoneinfo_dir + "/" + std::string(spec);
	util::Result<std::string> bytes = read_file(path, 1 << 20);
	if (!bytes)
		return util::Status::invalid(fmt::format("fraud.time_zone: {}", bytes.error()));
	util::Result<TimeZone> z = from_tzif(*bytes, path);
	if (z)
		z->name_ = std::string(spec);
	return z;
}

util::Result<TimeZone> TimeZone::from_tzif(std::string_view bytes, std::string_view source)
{
	auto bad = [&](std::string_view what) {
		return util::Status::invalid(fmt::format("{}: not a TZif file: {}", source, what));
	};
	const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
	size_t size = bytes.size();
	if (size < 44 || bytes.substr(0, 4) != "TZif")
		return bad("no TZif header");
	const char version = bytes[4];
	// The counts of one header: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt.
	auto counts = [&](const unsigned char* h, uint32_t c[6]) {
		for (int i = 0; i < 6; ++i)
			c[i] = be32(h + 20 + 4 * i);
	};
	uint32_t c[6];
	counts(p, c);
	auto block_size = [](const uint32_t k[6], size_t time_size) {
		return k[3] * time_size + k[3] + k[4] * 6 + k[5] + k[2] * (time_size + 4) + k[1] + k[0];
	};
	size_t off = 44;
	size_t time_size = 4;
	if (version >= '2') {
		off += block_size(c, 4);
		if (off + 44 > size || bytes.substr(off, 4) != "TZif")
			return bad("no version 2 header");
		counts(p + off, c);
		off += 44;
		time_size = 8;
	}
	const uint32_t timecnt = c[3], typecnt = c[4];
	if (typecnt == 0 || typecnt > 256 || timecnt > 100000 || off + block_size(c, time_size) > size)
		return bad("truncated or inconsistent counts");
	TimeZone z;
	const unsigned char* times = p + off;
	const unsigned char* idx = times + timecnt * time_size;
	const unsigned char* types = idx + timecnt;
	auto type_offset = [&](uint32_t t) { return static_cast<int32_t>(be32(types + 6 * t)); };
	for (uint32_t i = 0; i < timecnt; ++i) {
		const int64_t t = time_size == 8 ? be64(times + 8 * i) : static_cast<int32_t>(be32(times + 4 * i));
		if (idx[i] >= typecnt || (!z.transitions_.empty() && t <= z.transitions_.back()))
			return bad("bad transition");
		z.transitions_.push_back(t);
		z.offsets_.push_back(type_offset(idx[i]));
	}
	z.initial_ = type_offset(0);
	off += block_size(c, time_size);
	if (time_size == 8 && off < size && bytes[off] == '\n') {
		const size_t end = bytes.find('\n', off + 1);
		if (end != std::string_view::npos)
			z.has_footer_ = z.parse_footer(bytes.substr(off + 1, end - off - 1));
	}
	return z;
}

bool TimeZone::parse_footer(std::string_view tz)
{
	// std offset [dst [offset] [,start[/time],end[/time]]]
	int32_t posix = 0;
	if (!parse_tz_name(tz) || !parse_hms(tz, posix, true))
		return false;
	std_offset_ = -posix; // POSIX offsets are west of UTC
	if (tz.empty()) {
		footer_dst_ = false;
		return true;
	}
	if (!parse_tz_name(tz))
		return false;
	dst_offset_ = std_offset_ + 3600;
	if (!tz.empty() && tz.front() != ',') {
		if (!parse_hms(tz, posix, true))
			return false;
		dst_offset_ = -posix;
	}
	auto rule = [&](Rule& r) {
		if (tz.size() < 2 || tz.front() != ',' || tz[1] != 'M')
			return false; // only the Mm.w.d form (every current zone uses it)
		tz.remove_prefix(2);
		int v[3] = {0, 0, 0};
		for (int i = 0; i < 3; ++i) {
			if (i > 0) {
				if (tz.empty() || tz.front() != '.')
					return false;
				tz.remove_prefix(1);
			}
			int digits = 0;
			while (!tz.empty() && tz.front() >= '0' && tz.front() <= '9' && digits < 2) {
				v[i] = v[i] * 10 + (tz.front() - '0');
				tz.remove_prefix(1);
				++digits;
			}
			if (!digits)
				return false;
		}
		if (v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 5 || v[2] > 6)
			return false;
		r = Rule{static_cast<uint8_t>(v[0]), static_cast<uint8_t>(v[1]), static_cast<uint8_t>(v[2]), 7200};
		if (!tz.empty() && tz.front() == '/') {
			tz.remove_prefix(1);
			if (!parse_hms(tz, r.time, true)) // RFC 8536 §3.3.1 allows -167..167 hours
				return false;
		}
		return true;
	};
	if (!rule(start_) || !rule(end_) || !tz.empty())
		return false;
	footer_dst_ = true;
	return true;
}

namespace {

// Local midnight (as if UTC) of the rule's day in `year`, in seconds.
int64_t rule_day(int64_t year, uint8_t month, uint8_t week, uint8_t weekday)
{
	static constexpr uint8_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const int64_t first = days_from_civil(year, month, 1);
	const auto first_wd = static_cast<int>(((first % 7) + 11) % 7); // 1970-01-01 was a Thursday (4)
	int day = 1 + (weekday - first_wd + 7) % 7 + 7 * (week - 1);
	int len = kDays[month - 1];
	if (month == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
		len = 29;
	while (day > len)
		day -= 7;
	return (first + day - 1) * 86400;
}

} // namespace

TimeZone::Span TimeZone::footer_span(int64_t utc) const
{
	if (!footer_dst_)
		return {std_offset_, INT64_MIN, INT64_MAX};
	// The rule's year is that of standard local time: within it the DST
	// start and end are fixed, so the offset changes only at those two.
	const int64_t year = year_of(floor_div(utc + std_offset_, 86400));
	const int64_t start = rule_day(year, start_.month, start_.week, start_.weekday) + start_.time - std_offset_;
	const int64_t end = rule_day(year, end_.month, end_.week, end_.weekday) + end_.time - dst_offset_;
	const bool dst = start < end ? (utc >= start && utc < end) : (utc < end || utc >= start);
	Span s{dst ? dst_offset_ : std_offset_, days_from_civil(year, 1, 1) * 86400 - std_offset_,
	       days_from_civil(year + 1, 1, 1) * 86400 - std_offset_};
	for (const int64_t change : {start, end}) {
		if (change <= utc)
			s.from = std::max(s.from, change);
		else
			s.until = std::min(s.until, change);
	}
	return s;
}

TimeZone::Span TimeZone::span_at(int64_t utc) const
{
	if (transitions_.empty())
		return has_footer_ ? footer_span(utc) : Span{initial_, INT64_MIN, INT64_MAX};
	if (utc < transitions_.front())
		return {initial_, INT64_MIN, transitions_.front()};
	if (utc >= transitions_.back() && has_footer_) {
		Span s = footer_span(utc);
		s.from = std::max(s.from, transitions_.back());
		return s;
	}
	const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc);
	const auto i = static_cast<size_t>(it - transitions_.begin()) - 1;
	return {offsets_[i], transitions_[i], it == transitions_.end() ? INT64_MAX : *it};
}

util::Result<BusinessHours> BusinessHours::parse(std::string_view hours, std::string_view days, TimeZone zone)
{
	BusinessHours b;
	b.zone_ = std::move(zone);
	if (hours.empty())
		return b;
	auto hhmm = [](std::string_view s, uint32_t& out) {
		if (s.size() != 5 || s[2] != ':')
			return false;
		for (size_t i : {0u, 1u, 3u, 4u})
			if (s[i] < '0' || s[i] > '9')
				return false;
		const uint32_t h = static_cast<uint32_t>((s[0] - '0') * 10 + (s[1] - '0'));
		const uint32_t m = static_cast<uint32_t>((s[3] - '0') * 10 + (s[4] - '0'));
		if (h > 24 || m > 59 || (h == 24 && m != 0))
			return false;
		out = h * 60 + m;
		return true;
	};
	const size_t dash = hours.find('-');
	if (dash == std::string_view::npos || !hhmm(hours.substr(0, dash), b.start_) ||
	    !hhmm(hours.substr(dash + 1), b.end_) || b.start_ == b.end_)
		return util::Status::invalid(
			fmt::format("fraud.business_hours: expected \"HH:MM-HH:MM\" like \"08:00-18:00\", got \"{}\"", hours));
	static constexpr std::string_view kNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
	auto day = [&](std::string_view s) -> int {
		for (int i = 0; i < 7; ++i)
			if (s == kNames[i])
				return i;
		return -1;
	};
	std::string_view rest = days;
	while (!rest.empty()) {
		const size_t comma = rest.find(',');
		std::string_view item = rest.substr(0, comma);
		rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
		const size_t d = item.find('-');
		const int a = day(item.substr(0, d));
		const int z = d == std::string_view::npos ? a : day(item.substr(d + 1));
		if (a < 0 || z < 0)
			return util::Status::invalid(fmt::format(
				"fraud.business_days: expected days like \"mon-fri\" or \"mon,tue,sat\", got \"{}\"", days));
		for (int i = a;; i = (i + 1) % 7) {
			b.days_ |= static_cast<uint8_t>(1u << i);
			if (i == z)
				break;
		}
	}
	if (!b.days_)
		return util::Status::invalid("fraud.business_days: no day given");
	b.enabled_ = true;
	return b;
}

bool BusinessHours::inside(util::TimePoint now, TimeZone::Span& cache) const
{
	if (!enabled_)
		return true;
	const int64_t utc = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
	if (!cache.contains(utc))
		cache = zone_.span_at(utc);
	const int64_t local = utc + cache.offset;
	const int64_t days = floor_div(local, 86400);
	const auto minute = static_cast<uint32_t>((local - days * 86400) / 60);
	const auto weekday = static_cast<int>(((days % 7) + 11) % 7);
	if (start_ < end_)
		return (days_ >> weekday & 1) && minute >= start_ && minute < end_;
	// Spans midnight: the early part belongs to the previous day's shift.
	if (minute >= start_)
		return days_ >> weekday & 1;
	return minute < end_ && (days_ >> ((weekday + 6) % 7) & 1);
}

util::Result<util::Duration> parse_clock_offset(std::string_view text)
{
	std::string_view s = text;
	bool negative = false;
	if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
		negative = s.front() == '-';
		s.remove_prefix(1);
	}
	util::Result<config::Millis> d = config::parse_duration(s);
	if (!d)
		return util::Status::invalid(fmt::format("fraud.clock_offset: \"{}\": {}", text, d.error()));
	const util::Duration out = std::chrono::duration_cast<util::Duration>(*d);
	return negative ? -out : out;
}

} // namespace sipguard::fraud
