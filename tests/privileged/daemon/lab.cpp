// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon lab's defrag probe, SIP, ban records and kernel check (lab.h).
#include "tests/privileged/daemon/lab.h"

#include <cstdio>
#include <ctime>
#include <optional>
#include <stdexcept>

#include <fmt/core.h>

namespace sipguard::test {

namespace {

// "2026-11-29T22:41:07.123Z" (engine::format_rfc3339) to the agent's clock.
std::optional<rules::TimePoint> parse_rfc3339(const std::string& text)
{
	struct tm tm {};
	int ms = 0;
	if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	                &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return std::nullopt;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return rules::TimePoint(std::chrono::seconds(::timegm(&tm)) + std::chrono::milliseconds(ms));
}

} // namespace

DaemonLab::DaemonLab(std::vector<std::string> sources)
	: SourceLab("dlab", {"198.18.0.1", "fd00:5b::1", kPbx4, kPbx6}, std::move(sources))
{
	if (rules::Status st = rules::probe_defrag_backend(nl(), defrag_); !st.ok())
		throw std::runtime_error(st.message);
}

std::string scanner_options(const std::string& from, int seq)
{
	const std::string pbx = is_v6(from) ? std::string("[") + DaemonLab::kPbx6 + "]" : DaemonLab::kPbx4;
	const std::string via = is_v6(from) ? "[" + from + "]" : from;
	return fmt::format("OPTIONS sip:100@{0} SIP/2.0\r\nVia: SIP/2.0/UDP {1}:5070;branch=z9hG4bK{2}\r\n"
	                   "From: \"sipvicious\"<sip:100@1.1.1.1>;tag={2}\r\nTo: <sip:100@{0}>\r\nCall-ID: {2}@x\r\n"
	                   "CSeq: 1 OPTIONS\r\nUser-Agent: friendly-scanner\r\nMax-Forwards: 70\r\n"
	                   "Content-Length: 0\r\n\r\n",
	                   pbx, via, seq);
}

std::vector<rules::BanRecord> records_of(const util::json::Value& bans)
{
	std::vector<rules::BanRecord> out;
	for (const auto& b : bans.as_array()) {
		auto a = net::IpAddress::parse(b["addr"].as_string());
		auto until = parse_rfc3339(b["until"].as_string());
		if (!a || !until)
			continue;
		const auto len = static_cast<uint8_t>(b["prefix_len"].as_int());
		out.push_back({net::Cidr{a->masked(len), len}, *until});
	}
	return out;
}

std::set<std::string> covered(const util::json::Value& bans, const std::vector<std::string>& addrs)
{
	std::set<std::string> out;
	for (const auto& r : records_of(bans))
		for (const auto& a : addrs)
			if (rules::unmap_v4(r.target).contains(*net::IpAddress::parse(a)))
				out.insert(a);
	return out;
}

util::Result<rules::ReconcileReport> check_kernel(DaemonLab& lab, const rules::TableSpec& spec,
                                                   const std::vector<rules::BanRecord>& records)
{
	rules::TableSpec with_defrag = spec;
	with_defrag.defrag = lab.defrag();
	return rules::reconcile(lab.nl(), with_defrag, lab.backend(), records, rules::system_now(),
	                        rules::DiffOptions{std::chrono::milliseconds(2500)});
}

} // namespace sipguard::test
