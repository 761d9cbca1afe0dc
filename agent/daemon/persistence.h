// SPDX-License-Identifier: GPL-2.0-or-later
// The state file: active bans with their absolute expiry and the offence
// history of the ban ladder, so a restart (or reboot) re-applies bans with
// their remaining time and repeat offenders keep escalating.
//
// Format (state.json, JSON lines so a reader can stream it):
//   {"sipguard_state":1,"saved_at_ms":1764450000000,"bans":2,"offences":1}
//   {"t":"ban","net":"192.0.2.7/32","expires_ms":...,"since_ms":...,"detector":"scanner",
//    "reason":"...","offences":2,"manual":false,"prefix":false,"evidence":{...},"evidence_text":"..."}
//   {"t":"offence","net":"192.0.2.7/32","count":2,"last_ms":...,"items":[{"at_ms":...,
//    "detector":"scanner","reason":"...","duration_ms":600000}]}
// Every ban ends: `expires_ms` is a unix time in milliseconds, at most 100
// years (config::kMaxDuration) ahead. There are no permanent bans (a kernel
// element without a timeout would outlive the agent's records), so a ban
// line whose expires_ms is 0, negative, missing, not a number or further
// ahead is unreadable: warned with its line and counted in bad_bans.
// Written to a temp file, fsync'd, renamed over the old one, and the
// directory fsync'd: a crash leaves either the old or the new file.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/engine/ban_manager.h"
#include "agent/net/ip_address.h"
#include "agent/util/status.h"

namespace sipguard::daemon {

inline constexpr const char* kStateFileName = "state.json";

struct SavedBan {
	net::Cidr net;
	int64_t expires_ms = 0; // unix epoch milliseconds, > 0
	int64_t since_ms = 0;
	std::string detector;
	std::string reason;
	uint32_t offences = 0;
	bool manual = false;
	bool prefix = false;            // an aggregated prefix ban
	std::string evidence_json = "{}"; // what `sipguard explain` shows
	std::string evidence_text;
	friend bool operator==(const SavedBan&, const SavedBan&) = default;
};

struct SavedOffenceItem {
	int64_t at_ms = 0;
	std::string detector;
	std::string reason;
	int64_t duration_ms = 0;
	friend bool operator==(const SavedOffenceItem&, const SavedOffenceItem&) = default;
};

struct SavedOffence {
	net::Cidr target;
	uint32_t count = 0;
	int64_t last_ms = 0;
	std::vector<SavedOffenceItem> items; // newest last
	friend bool operator==(const SavedOffence&, const SavedOffence&) = default;
};

struct SavedState {
	int64_t saved_at_ms = 0;
	std::vector<SavedBan> bans;
	std::vector<SavedOffence> offences;
};

int64_t unix_now_ms();
int64_t to_unix_ms(util::TimePoint t);
util::TimePoint from_unix_ms(int64_t ms);

struct LoadedState {
	SavedState state;
	bool found = false;          // false: no file (first start)
	size_t expired_dropped = 0;  // bans whose expiry passed while we were down
	std::vector<std::string> warnings; // skipped bad lines, "path:line: why"
	size_t bad_bans = 0;         // ban lines among them (a bad network or expiry, or torn JSON with "t":"ban")
};

// Writes `text` to a temp file, fsyncs it, renames it over `path` and
// fsyncs the directory: a crash leaves the old file or the new one.
[[nodiscard]] util::Status write_file_atomic(const std::string& path, std::string_view text);

// Fails with a message naming the path and the errno text.
[[nodiscard]] util::Status write_state(const std::string& path, const SavedState& state);
// Bans that expired before `now_ms` are dropped. A corrupt line is skipped
// with a warning; an unreadable file is a failure.
[[nodiscard]] util::Result<LoadedState> read_state(const std::string& path, int64_t now_ms);

// The same two throwing std::runtime_error with the same message.
void save_state(const std::string& path, const SavedState& state);
LoadedState load_state(const std::string& path, int64_t now_ms);

// The ban manager's snapshot as saved (absolute times), and back: the bans
// and offence histories to restore at `now_ms`.
SavedState to_saved_state(const engine::BanSnapshot& snap, util::TimePoint now);
engine::BanSnapshot to_ban_snapshot(const SavedState& state, int64_t now_ms);

} // namespace sipguard::daemon
