// SPDX-License-Identifier: GPL-2.0-or-later
// What the kernel holds of `table inet sipguard`: its chains, sets, rules (as comparable fingerprints) and set elements.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rules/ban_diff.h"
#include "rules/netlink.h"
#include "rules/nftnl_handles.h"
#include "rules/status.h"

namespace sipguard::rules {

struct ChainState {
	std::string name;
	bool base = false; // has a hook
	uint32_t hook = 0;
	int32_t priority = 0;
	std::string type;
	uint32_t policy = 0; // NF_ACCEPT / NF_DROP, base chains only

	friend bool operator==(const ChainState&, const ChainState&) = default;
};

struct SetState {
	std::string name;
	uint32_t key_type = 0;
	uint32_t key_len = 0;
	uint32_t flags = 0; // NFT_SET_*

	friend bool operator==(const SetState&, const SetState&) = default;
};

struct RuleState {
	std::string chain;
	uint64_t handle = 0;
	std::string fingerprint; // rule_fingerprint()
};

struct TableState {
	bool exists = false;
	uint32_t flags = 0; // NFT_TABLE_F_*
	std::vector<ChainState> chains;
	std::vector<SetState> sets;
	std::vector<RuleState> rules; // in kernel order within each chain
	// Contents of the sets the spec fixes (absent set: empty).
	std::vector<uint16_t> sip_ports;
	std::vector<ListedPiece> allow; // allow4 and allow6 as ranges (set Net4 / Net6)
	std::vector<ListedPiece> bans;  // ban4, ban6, bannet4, bannet6
};

// Reads everything above with GET dumps (chains, sets and rules filtered to
// our table and family). A missing table is `exists = false`, not an error;
// a missing set reads as empty. Costs one dump per object kind and one per
// set: with a million bans, mostly the ban4 listing.
Status read_table_state(Netlink& nl, TableState& out);

// What a rule does, as text that is equal for the rule we build and the rule
// the kernel lists back: each expression's name and the attributes that
// decide its effect (registers, offsets, compared bytes, set name, verdict,
// queue numbers, xt target info), counter values and handles left out. A
// foreign rule never fingerprints like one of ours unless it does the same.
std::string rule_fingerprint(const nftnl_rule* rule);

} // namespace sipguard::rules
