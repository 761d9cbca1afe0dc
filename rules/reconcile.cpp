// SPDX-License-Identifier: GPL-2.0-or-later
// Checking the kernel's table against the spec and the ban records, and repairing any difference.
#include "rules/reconcile.h"

#include <algorithm>
#include <cerrno>
#include <tuple>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "rules/elements.h"
#include "rules/encode.h"

namespace sipguard::rules {

namespace {

using Kind = Discrepancy::Kind;

// Flags that decide a set's behaviour; the kernel lists them as given.
constexpr uint32_t kSetFlagMask =
	NFT_SET_ANONYMOUS | NFT_SET_CONSTANT | NFT_SET_INTERVAL | NFT_SET_MAP | NFT_SET_TIMEOUT | NFT_SET_EVAL |
	NFT_SET_OBJECT | NFT_SET_CONCAT;

bool is_queue_rule(const std::string& fingerprint)
{
	return fingerprint.find("queue ") != std::string::npos || fingerprint.find("target NFQUEUE") != std::string::npos ||
	       fingerprint.find(std::string(" ") + kChainSip + " ") != std::string::npos; // input's jump to the pre-filter
}

void compare_chains(const TableState& state, ReconcileReport& r)
{
	for (const ChainDef& def : chain_definitions()) {
		auto it = std::find_if(state.chains.begin(), state.chains.end(),
		                       [&](const ChainState& c) { return c.name == def.name; });
		if (it == state.chains.end()) {
			r.structure.push_back({What::Chain, Kind::Missing, def.name, "chain " + std::string(def.name) + " is missing"});
			continue;
		}
		ChainState want;
		want.name = def.name;
		if (def.hook >= 0) {
			want.base = true;
			want.hook = static_cast<uint32_t>(def.hook);
			want.priority = def.priority;
			want.type = "filter";
			want.policy = NF_ACCEPT;
		}
		if (!(*it == want))
			r.structure.push_back({What::Chain, Kind::Different, def.name,
			                       "chain " + std::string(def.name) + " has another hook, priority, type or policy"});
	}
	for (const ChainState& c : state.chains) {
		auto defs = chain_definitions();
		if (std::none_of(defs.begin(), defs.end(), [&](const ChainDef& d) { return c.name == d.name; }))
			r.structure.push_back({What::Chain, Kind::Extra, c.name, "foreign chain " + c.name + " in our table"});
	}
}

void compare_sets(const TableState& state, const TableSpec& spec, ReconcileReport& r)
{
	auto defs = set_definitions(spec);
	for (const SetDef& def : defs) {
		auto it = std::find_if(state.sets.begin(), state.sets.end(), [&](const SetState& s) { return s.name == def.name; });
		if (it == state.sets.end()) {
			r.structure.push_back({What::Set, Kind::Missing, def.name, "set " + def.name + " is missing"});
			continue;
		}
		if (it->key_type != def.key_type || it->key_len != def.key_len ||
		    (it->flags & kSetFlagMask) != (def.flags & kSetFlagMask))
			r.structure.push_back({What::Set, Kind::Different, def.name,
			                       "set " + def.name + " has another key type, key length or flags"});
	}
	for (const SetState& s : state.sets)
		if (std::none_of(defs.begin(), defs.end(), [&](const SetDef& d) { return d.name == s.name; }))
			r.structure.push_back({What::Set, Kind::Extra, s.name, "foreign set " + s.name + " in our table"});
}

void compare_rules(const TableState& state, const TableSpec& spec, QueueBackend backend, ReconcileReport& r)
{
	for (const ChainDef& def : chain_definitions()) {
		if (std::none_of(state.chains.begin(), state.chains.end(),
		                 [&](const ChainState& c) { return c.name == def.name; }))
			continue; // reported as a missing chain
		std::vector<std::string> want;
		for (const RulePtr& rule : make_chain_rules(def.name, spec, backend))
			want.push_back(rule_fingerprint(rule.get()));
		std::vector<std::string> have;
		for (const RuleState& rs : state.rules)
			if (rs.chain == def.name)
				have.push_back(rs.fingerprint);
		// Multiset difference, then order.
		std::vector<std::string> missing = want, extra = have;
		std::sort(missing.begin(), missing.end());
		std::sort(extra.begin(), extra.end());
		std::vector<std::string> only_want, only_have;
		std::set_difference(missing.begin(), missing.end(), extra.begin(), extra.end(), std::back_inserter(only_want));
		std::set_difference(extra.begin(), extra.end(), missing.begin(), missing.end(), std::back_inserter(only_have));
		for (const std::string& f : only_want) {
			r.structure.push_back({What::Rule, Kind::Missing, def.name, "rule missing in chain " + std::string(def.name) + ": " + f});
			if (is_queue_rule(f))
				r.queue_rule_missing = true;
		}
		for (const std::string& f : only_have)
			r.structure.push_back({What::Rule, Kind::Extra, def.name, "foreign rule in chain " + std::string(def.name) + ": " + f});
		if (only_want.empty() && only_have.empty() && want != have)
			r.structure.push_back({What::Rule, Kind::Different, def.name, "rules of chain " + std::string(def.name) + " are out of order"});
	}
}

std::string ports_text(const std::vector<uint16_t>& ports)
{
	std::string s;
	for (uint16_t p : ports)
		s += (s.empty() ? "" : ",") + std::to_string(p);
	return s.empty() ? "none" : s;
}

void compare_fixed_contents(const TableState& state, const TableSpec& spec, ReconcileReport& r)
{
	auto has_set = [&](const char* name) {
		return std::any_of(state.sets.begin(), state.sets.end(), [&](const SetState& s) { return s.name == name; });
	};
	if (has_set(kSetSipPorts)) {
		std::vector<uint16_t> want = spec.sip_ports, have = state.sip_ports;
		std::sort(want.begin(), want.end());
		want.erase(std::unique(want.begin(), want.end()), want.end());
		std::sort(have.begin(), have.end());
		if (want != have)
			r.structure.push_back({What::Element, Kind::Different, kSetSipPorts,
			                       "set sipports holds " + ports_text(have) + ", the spec says " + ports_text(want)});
	}
	using Range = std::tuple<BanSet, net::IpAddress, net::IpAddress>;
	std::vector<Range> want, have;
	for (const net::Cidr& c : normalize_prefixes(spec.allow)) {
		net::IpAddress first = c.base.masked(c.prefix_len), last = first;
		for (size_t bit = c.prefix_len; bit < first.size() * 8; ++bit)
			last.bytes[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
		want.emplace_back(c.base.is_v4() ? BanSet::Net4 : BanSet::Net6, first, last);
	}
	for (const ListedPiece& p : state.allow)
		have.emplace_back(p.set, p.first, p.last);
	std::sort(want.begin(), want.end());
	std::sort(have.begin(), have.end());
	for (BanSet fam : {BanSet::Net4, BanSet::Net6}) {
		const char* name = fam == BanSet::Net4 ? kSetAllow4 : kSetAllow6;
		if (!has_set(name))
			continue;
		auto of = [&](const std::vector<Range>& v) {
			std::vector<Range> out;
			std::copy_if(v.begin(), v.end(), std::back_inserter(out), [&](const Range& x) { return std::get<0>(x) == fam; });
			return out;
		};
		if (of(want) != of(have))
			r.structure.push_back({What::Element, Kind::Different, name,
			                       "set " + std::string(name) + " holds " + std::to_string(of(have).size()) +
			                           " ranges, the allowlist " + std::to_string(of(want).size())});
	}
}

} // namespace

std::string describe(const Discrepancy& d)
{
	std::string kind = d.kind == Kind::Missing ? "missing" : d.kind == Kind::Extra ? "extra" : "different";
	return std::string(to_string(d.what)) + " " + kind + ": " + d.detail;
}

size_t ReconcileReport::count(What what) const
{
	size_t n = 0;
	for (const Discrepancy& d : structure)
		n += d.what == what;
	if (what == What::Element)
		n += elements.missing() + elements.extra() + elements.retimed;
	return n;
}

std::string ReconcileReport::summary() const
{
	if (clean())
		return "kernel matches";
	std::string s;
	for (What w : {What::Table, What::Chain, What::Rule, What::Set, What::Element}) {
		size_t n = count(w);
		if (n)
			s += (s.empty() ? "" : ", ") + std::string(to_string(w)) + " " + std::to_string(n);
	}
	if (!elements.empty())
		s += " (ban elements: " + std::to_string(elements.missing()) + " missing, " +
		     std::to_string(elements.extra()) + " extra, " + std::to_string(elements.retimed) + " retimed)";
	if (queue_rule_missing)
		s += "; a SIP queue rule is missing";
	return s;
}

ReconcileReport compare_state(const TableState& state, const TableSpec& spec, QueueBackend backend,
                              std::span<const BanPiece> desired, DiffOptions options)
{
	ReconcileReport r;
	if (!state.exists) {
		r.table_missing = true;
		r.queue_rule_missing = true;
		r.structure.push_back({What::Table, Kind::Missing, kTable, std::string("table inet ") + kTable + " is missing"});
		r.elements = diff_pieces(desired, {}, options);
		return r;
	}
	if (state.flags & NFT_TABLE_F_DORMANT)
		r.structure.push_back({What::Table, Kind::Different, kTable,
		                       std::string("table inet ") + kTable + " is dormant (switched off)"});
	compare_chains(state, r);
	compare_sets(state, spec, r);
	compare_rules(state, spec, backend, r);
	compare_fixed_contents(state, spec, r);
	r.elements = diff_pieces(desired, state.bans, options);
	return r;
}

util::Result<ReconcileReport> reconcile(Netlink& nl, const TableSpec& spec, QueueBackend backend,
                                        std::span<const BanRecord> records, TimePoint now, DiffOptions options)
{
	TableState state;
	if (Status st = read_table_state(nl, state); !st.ok())
		return st;
	Projection p = project(records, now);
	return compare_state(state, spec, backend, p.pieces, options);
}

TimePoint system_now() { return std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now()); }

util::Result<ApplyResult> sync_bans(Netlink& nl, std::span<const BanRecord> records, const Clock& now, BanScope scope,
                                    DiffOptions options)
{
	std::vector<ListedPiece> listed;
	if (Status st = list_ban_pieces(nl, listed, scope == BanScope::Prefixes); !st.ok())
		return st;
	Projection p = project(records, now());
	if (scope == BanScope::Prefixes)
		std::erase_if(p.pieces, [](const BanPiece& piece) { return !is_interval(piece.set); });
	ElementDiff diff = diff_pieces(p.pieces, listed, options);
	return apply_robust(nl, diff_ops(diff));
}

util::Result<RepairResult> repair(Netlink& nl, const TableSpec& spec, QueueBackend backend,
                                  std::span<const BanRecord> records, const Clock& now, DiffOptions options)
{
	RepairResult result;
	TableState state;
	if (Status st = read_table_state(nl, state); !st.ok())
		return st;
	Projection p = project(records, now());
	result.invalid_records = p.invalid.size();
	result.found = compare_state(state, spec, backend, p.pieces, options);
	ElementDiff todo = result.found.elements;
	if (result.found.needs_reinstall()) {
		TableSpec keep = spec;
		keep.keep_elements = true; // what survives is kept; the diff below fixes the rest
		if (Status st = install(nl, keep, backend); !st.ok())
			return st;
		result.reinstalled = true;
		if (Status st = read_table_state(nl, state); !st.ok())
			return st;
		p = project(records, now());
		ReconcileReport after = compare_state(state, spec, backend, p.pieces, options);
		if (after.needs_reinstall()) {
			std::string detail;
			for (size_t i = 0; i < after.structure.size() && i < 4; ++i)
				detail += "; " + describe(after.structure[i]);
			return Status::failure(EAGAIN, "table inet " + std::string(kTable) +
			                                   " still differs right after reinstalling it: " + after.summary() +
			                                   detail);
		}
		todo = std::move(after.elements);
	}
	std::vector<ElementOp> ops = diff_ops(todo);
	result.elements = apply_robust(nl, ops);
	return result;
}

} // namespace sipguard::rules
