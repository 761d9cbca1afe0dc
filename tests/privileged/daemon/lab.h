// SPDX-License-Identifier: GPL-2.0-or-later
// A pbx namespace for the daemon and a client namespace sending from many
// source addresses: probes that only the kernel's ban drop can stop, SIP
// that the daemon inspects, and the kernel read back against the agent.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "agent/util/json.h"
#include "rules/projection.h"
#include "rules/reconcile.h"
#include "tests/privileged/source_lab.h"

namespace sipguard::test {

// The daemon tests' lab (tests/privileged/source_lab.h): the daemon runs in
// pbx(), probes and SIP come from the client's many sources.
class DaemonLab : public SourceLab {
public:
	static constexpr const char* kPbx4 = "198.18.0.2";
	static constexpr const char* kPbx6 = "fd00:5b::2";
	// Not a SIP port: nothing queues it, only prerouting's ban drop decides.
	static constexpr uint16_t kProbePort = 4000;

	explicit DaemonLab(std::vector<std::string> sources);

	// `per_source` datagrams from each of `from` (default: every source) to
	// kProbePort; how many arrived from each.
	std::map<std::string, int> send_probes(const std::vector<std::string>& from = {}, int per_source = 2)
	{
		return send_from_each(from.empty() ? sources() : from, kProbePort, "probe", per_source);
	}
	// One SIP datagram from `from`:5070 to the pbx's port 5060.
	void send_sip(const std::string& from, const std::string& text) { send_one(from, 5070, 5060, text); }

	// What install_auto picks in this kernel (the daemon's table has it).
	rules::DefragBackend defrag() const { return defrag_; }

private:
	rules::DefragBackend defrag_{};
};

// An OPTIONS as sipvicious sends it (User-Agent friendly-scanner): the
// scanner detector bans its source on the first one.
std::string scanner_options(const std::string& from, int seq);

// The agent's bans (a `bans --json` array) as projection records, expiring
// at their `until` (to the ms, as the agent's projection sees them).
std::vector<rules::BanRecord> records_of(const util::json::Value& bans);
// Which of `addrs` some ban in `bans` covers.
std::set<std::string> covered(const util::json::Value& bans, const std::vector<std::string>& addrs);

// Compares the pbx's table with `spec` and `records` (tolerating the
// seconds host elements are rounded up to, and a margin). The queue backend
// and the defrag mechanism are the lab's probes (the daemon's choice), not
// the spec's.
util::Result<rules::ReconcileReport> check_kernel(DaemonLab& lab, const rules::TableSpec& spec,
                                                   const std::vector<rules::BanRecord>& records);

} // namespace sipguard::test
