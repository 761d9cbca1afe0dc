// SPDX-License-Identifier: GPL-2.0-or-later
// Atomic save and tolerant load of the state file.
#include "agent/daemon/persistence.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

#include "agent/config/duration.h"
#include "agent/util/json.h"
#include "agent/util/unique_fd.h"

namespace sipguard::daemon {

namespace json = util::json;
using util::Status;
using util::UniqueFd;

int64_t unix_now_ms()
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
		.count();
}

int64_t to_unix_ms(util::TimePoint t)
{
	return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

util::TimePoint from_unix_ms(int64_t ms) { return util::TimePoint(std::chrono::milliseconds(ms)); }

namespace {

// "cannot <what>: <strerror(errno)>" with errno kept.
Status sys_failure(const std::string& what)
{
	const int e = errno;
	return Status::failure(e, fmt::format("cannot {}: {}", what, std::strerror(e)));
}

Status write_all(int fd, std::string_view data, const std::string& path)
{
	size_t off = 0;
	while (off < data.size()) {
		ssize_t n = ::write(fd, data.data() + off, data.size() - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sys_failure("write " + path);
		}
		off += static_cast<size_t>(n);
	}
	return Status::success();
}

} // namespace

util::Status write_file_atomic(const std::string& path, std::string_view out)
{
	std::filesystem::path p(path);
	std::filesystem::path dir = p.parent_path().empty() ? "." : p.parent_path();
	std::error_code ec;
	std::filesystem::create_directories(dir, ec);
	const std::string tmp = path + ".tmp";
	{
		UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
		if (!fd)
			return sys_failure("create " + tmp);
		if (Status st = write_all(fd.get(), out, tmp); !st)
			return st;
		// Data must be on disk before the rename makes it the state file,
		// or a power cut can leave a renamed but empty file (ext4 delalloc).
		if (::fsync(fd.get()) < 0)
			return sys_failure("fsync " + tmp);
	}
	if (::rename(tmp.c_str(), path.c_str()) < 0)
		return sys_failure(fmt::format("rename {} to {}", tmp, path));
	UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (dfd)
		::fsync(dfd.get());
	return Status::success();
}

Status write_state(const std::string& path, const SavedState& state)
{
	std::string out;
	out.reserve(64 + state.bans.size() * 160 + state.offences.size() * 80);
	json::Value head = json::Object{};
	head.set("sipguard_state", 1);
	head.set("saved_at_ms", state.saved_at_ms);
	head.set("bans", state.bans.size());
	head.set("offences", state.offences.size());
	head.dump_to(out);
	out += '\n';
	for (const SavedBan& b : state.bans) {
		json::Value v = json::Object{};
		v.set("t", "ban");
		v.set("net", b.net.to_string());
		v.set("expires_ms", b.expires_ms);
		v.set("since_ms", b.since_ms);
		v.set("detector", b.detector);
		v.set("reason", b.reason);
		v.set("offences", b.offences);
		v.set("manual", b.manual);
		v.set("prefix", b.prefix);
		auto ev = json::parse(b.evidence_json);
		v.set("evidence", ev ? std::move(*ev) : json::Value(json::Object{}));
		v.set("evidence_text", b.evidence_text);
		v.dump_to(out);
		out += '\n';
	}
	for (const SavedOffence& o : state.offences) {
		json::Value v = json::Object{};
		v.set("t", "offence");
		v.set("net", o.target.to_string());
		v.set("count", o.count);
		v.set("last_ms", o.last_ms);
		json::Array items;
		for (const SavedOffenceItem& it : o.items) {
			json::Value i = json::Object{};
			i.set("at_ms", it.at_ms);
			i.set("detector", it.detector);
			i.set("reason", it.reason);
			i.set("duration_ms", it.duration_ms);
			items.push_back(std::move(i));
		}
		v.set("items", std::move(items));
		v.dump_to(out);
		out += '\n';
	}

	return write_file_atomic(path, out);
}

util::Result<LoadedState> read_state(const std::string& path, int64_t now_ms)
{
	LoadedState r;
	std::ifstream in(path, std::ios::binary);
	if (!in) {
		if (errno == ENOENT)
			return r;
		return sys_failure("read " + path);
	}
	r.found = true;
	std::string line;
	size_t lineno = 0;
	bool header = false;
	while (std::getline(in, line)) {
		++lineno;
		if (line.empty())
			continue;
		auto v = json::parse(line);
		auto warn = [&](std::string_view why) { r.warnings.push_back(fmt::format("{}:{}: {}", path, lineno, why)); };
		if (!v || !v->is_object()) {
			warn("not a JSON object: " + (v ? std::string() : v.error()));
			// A torn ban line is still a ban that is lost.
			if (header && line.find("\"t\":\"ban\"") != std::string::npos)
				++r.bad_bans;
			continue;
		}
		if (!header) {
			if ((*v)["sipguard_state"].as_int() != 1) {
				warn("not a sipguard state file (version 1 header missing)");
				r.found = false;
				return r;
			}
			header = true;
			r.state.saved_at_ms = (*v)["saved_at_ms"].as_int();
			continue;
		}
		const std::string& t = (*v)["t"].as_string();
		if (t == "ban") {
			auto net = net::Cidr::parse((*v)["net"].as_string());
			if (!net) {
				warn("bad ban network: " + net.error());
				++r.bad_bans;
				continue;
			}
			const json::Value& expires = (*v)["expires_ms"];
			if (!expires.is_int() || expires.as_int() <= 0) {
				warn("ban without an expiry: expires_ms must be a unix time in milliseconds (there are no "
				     "permanent bans; a long ban is at most 100 years)");
				++r.bad_bans;
				continue;
			}
			// A day of grace for a clock set back since the save.
			if (expires.as_int() - now_ms > config::kMaxDuration.count() + 86400000) {
				warn("ban expires more than 100 years from now");
				++r.bad_bans;
				continue;
			}
			SavedBan b;
			b.net = *net;
			b.expires_ms = expires.as_int();
			b.since_ms = (*v)["since_ms"].as_int();
			b.detector = (*v)["detector"].as_string();
			b.reason = (*v)["reason"].as_string();
			b.offences = static_cast<uint32_t>((*v)["offences"].as_int());
			b.manual = (*v)["manual"].as_bool();
			b.prefix = (*v)["prefix"].as_bool();
			b.evidence_json = (*v)["evidence"].is_object() ? (*v)["evidence"].dump() : "{}";
			b.evidence_text = (*v)["evidence_text"].as_string();
			if (b.expires_ms <= now_ms) {
				++r.expired_dropped;
				continue;
			}
			r.state.bans.push_back(std::move(b));
		} else if (t == "offence") {
			auto net = net::Cidr::parse((*v)["net"].as_string());
			if (!net) {
				warn("bad offence network: " + net.error());
				continue;
			}
			SavedOffence o{*net, static_cast<uint32_t>((*v)["count"].as_int()), (*v)["last_ms"].as_int(), {}};
			for (const json::Value& i : (*v)["items"].as_array())
				o.items.push_back({i["at_ms"].as_int(), i["detector"].as_string(), i["reason"].as_string(),
				                   i["duration_ms"].as_int()});
			r.state.offences.push_back(std::move(o));
		} else {
			warn(fmt::format("unknown record type \"{}\"", t));
		}
	}
	if (!header && lineno > 0) {
		r.warnings.push_back(fmt::format("{}: empty or truncated state file", path));
		r.found = false;
	}
	return r;
}

void save_state(const std::string& path, const SavedState& state)
{
	if (Status st = write_state(path, state); !st)
		throw std::runtime_error(st.message);
}

LoadedState load_state(const std::string& path, int64_t now_ms)
{
	auto r = read_state(path, now_ms);
	if (!r)
		throw std::runtime_error(r.error());
	return std::move(r).value();
}

SavedState to_saved_state(const engine::BanSnapshot& snap, util::TimePoint now)
{
	SavedState s;
	s.saved_at_ms = to_unix_ms(now);
	s.bans.reserve(snap.bans.size());
	for (const auto& a : snap.bans) {
		const engine::BanRecord& b = a.ban;
		s.bans.push_back({b.target, s.saved_at_ms + a.remaining.count(), to_unix_ms(b.start),
		                  std::string(detect::to_string(b.detector)), b.reason, b.offence_count,
		                  b.detector == detect::Detector::Manual, b.prefix, b.evidence_json, b.evidence_text});
	}
	for (const auto& h : snap.history) {
		SavedOffence o{h.target, h.count, to_unix_ms(h.last), {}};
		for (const auto& it : h.offences)
			o.items.push_back({to_unix_ms(it.at), std::string(detect::to_string(it.detector)), it.reason,
			                   it.duration.count()});
		s.offences.push_back(std::move(o));
	}
	return s;
}

engine::BanSnapshot to_ban_snapshot(const SavedState& state, int64_t now_ms)
{
	auto detector = [](const std::string& name) {
		detect::Detector d = detect::Detector::Manual;
		detect::detector_from_string(name, d);
		return d;
	};
	engine::BanSnapshot snap;
	snap.bans.reserve(state.bans.size());
	for (const SavedBan& s : state.bans) {
		engine::BanRecord b;
		b.target = s.net;
		b.detector = detector(s.detector);
		b.reason = s.reason;
		b.evidence_json = s.evidence_json;
		b.evidence_text = s.evidence_text;
		b.start = from_unix_ms(s.since_ms);
		b.until = from_unix_ms(s.expires_ms);
		b.offence_count = s.offences;
		b.prefix = s.prefix;
		snap.bans.push_back({std::move(b), std::chrono::milliseconds(s.expires_ms - now_ms)});
	}
	for (const SavedOffence& o : state.offences) {
		engine::OffenceHistory h;
		h.target = o.target;
		h.count = o.count;
		h.last = from_unix_ms(o.last_ms);
		for (const SavedOffenceItem& it : o.items)
			h.offences.push_back(
				{from_unix_ms(it.at_ms), detector(it.detector), it.reason, std::chrono::milliseconds(it.duration_ms)});
		snap.history.push_back(std::move(h));
	}
	return snap;
}

} // namespace sipguard::daemon
