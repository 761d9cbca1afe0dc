// SPDX-License-Identifier: GPL-2.0-or-later
// Creating, atomically replacing and removing `table inet sipguard` (and nothing else).
#include "rules/table.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <libnftnl/common.h>
#include <linux/netlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "agent/util/enum_names.h"
#include "agent/util/log.h"
#include "rules/ban_diff.h"
#include "rules/elements.h"
#include "rules/elements_internal.h"
#include "rules/encode.h"
#include "rules/nft_dump.h"
#include "rules/nftnl_handles.h"

namespace sipguard::rules {

namespace {

// Kept elements that ride in the replacing transaction itself; beyond this
// they follow in further transactions (each atomic) right after it.
constexpr size_t kKeptInFirstTransaction = 65536;

} // namespace

std::string validate(const TableSpec& spec)
{
	if (spec.sip_ports.empty())
		return "no SIP ports configured";
	for (uint16_t p : spec.sip_ports)
		if (p == 0)
			return "SIP port 0 is not a valid port";
	if (spec.queue_count == 0)
		return "queue count must be at least 1";
	if (uint32_t(spec.queue_base) + total_queues(spec) - 1 > 65535)
		return "queues " + std::to_string(spec.queue_base) + ".." +
		       std::to_string(uint32_t(spec.queue_base) + total_queues(spec) - 1) + " exceed queue number 65535";
	if (spec.pin_media) {
		if (spec.rtp_min == 0 || spec.rtp_min > spec.rtp_max)
			return "RTP port range " + std::to_string(spec.rtp_min) + "-" + std::to_string(spec.rtp_max) +
			       " is empty or starts at 0";
		for (uint16_t p : spec.sip_ports)
			if (p >= spec.rtp_min && p <= spec.rtp_max)
				return "SIP port " + std::to_string(p) + " lies inside the RTP range";
	}
	if (spec.ban_set_size == 0 || spec.media_set_size == 0)
		return "set sizes must be at least 1";
	for (const auto& c : spec.allow)
		if (!c.base.valid())
			return "allowlist entry without an address";
	if (const PrefilterSpec& pf = spec.prefilter; pf.enabled) {
		if (pf.known_size == 0 || pf.proven_size == 0 || pf.meter_size == 0)
			return "pre-filter set sizes must be at least 1";
		if (pf.source_rate == 0 || pf.unknown_rate == 0)
			return "pre-filter rates must be at least 1 packet/s";
		if (pf.meter_timeout.count() <= 0)
			return "pre-filter meter timeout must be positive";
	}
	return "";
}

uint16_t known_queue_base(const TableSpec& spec)
{
	return spec.prefilter.enabled ? static_cast<uint16_t>(spec.queue_base + spec.queue_count) : spec.queue_base;
}

uint32_t total_queues(const TableSpec& spec)
{
	return spec.prefilter.enabled ? 2u * spec.queue_count : spec.queue_count;
}

namespace {

constexpr auto kQueueBackendNames = util::enum_names<QueueBackend::CompatNfqueueV3>({
	"native nft queue", "xt NFQUEUE v3 (nft_compat)"
}, "?");
constexpr auto kDefragBackendNames = util::enum_names<DefragBackend::Conntrack>({
	"none", "tproxy", "conntrack"
}, "?");

} // namespace

std::string_view to_string(QueueBackend backend) { return kQueueBackendNames(backend); }
std::string_view to_string(DefragBackend backend) { return kDefragBackendNames(backend); }

namespace {

void append_probe_table(Batch& batch, uint16_t flags, const char* what)
{
	auto t = make_table();
	nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kProbeTable);
	nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_INET);
	char* buf = batch.reserve(4096);
	nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWTABLE, NFPROTO_INET, flags, 0);
	nftnl_table_nlmsg_build_payload(nlh, t.get());
	batch.commit_message(what);
}

// A probe's answer: code 1 = expression accepted, 0 = not available
// (ENOENT/EOPNOTSUPP), <0 = -errno; detail = the kernel's message.
struct Probe {
	int code = 0;
	std::string detail;
};

// `fill` adds the expressions of the rule under test to a rule of a regular
// chain in the probe table.
// With `meter_set`, the probe table also gets a set like meter4 (before
// the chain), for a rule that updates it.
template <class Fill>
Probe probe_rule(Netlink& nl, const std::string& what, Fill fill, bool meter_set = false)
{
	Batch batch;
	append_probe_table(batch, NLM_F_CREATE | NLM_F_EXCL, "probe: add table inet sipguard_probe");
	if (meter_set) {
		SetDef def{kSetMeter4, kTypeIpAddr, 4, NFT_SET_TIMEOUT | NFT_SET_EVAL, 16, 10000, {}};
		auto s = make_set_object(def, set_id_of(kSetMeter4));
		nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kProbeTable);
		char* buf = batch.reserve(4096);
		nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWSET, NFPROTO_INET, NLM_F_CREATE, 0);
		nftnl_set_nlmsg_build_payload(nlh, s.get());
		batch.commit_message("probe: add meter set");
	}
	const size_t rule_index = meter_set ? 3 : 2;
	{
		auto c = make_chain();
		nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, kProbeTable);
		nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, "probe");
		nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_INET);
		char* buf = batch.reserve(4096);
		nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN, NFPROTO_INET, NLM_F_CREATE, 0);
		nftnl_chain_nlmsg_build_payload(nlh, c.get());
		batch.commit_message("probe: add chain");
	}
	{
		auto r = make_rule();
		nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
		nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, kProbeTable);
		nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, "probe");
		fill(r.get());
		char* buf = batch.reserve(4096);
		nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, NFPROTO_INET, NLM_F_APPEND | NLM_F_CREATE, 0);
		nftnl_rule_nlmsg_build_payload(nlh, r.get());
		batch.commit_message("probe: add rule with " + what);
	}
	// Sentinel: the same table again with NLM_F_EXCL fails with EEXIST, so
	// the kernel always aborts this transaction and nothing is committed.
	append_probe_table(batch, NLM_F_CREATE | NLM_F_EXCL, "probe: sentinel (expected to fail)");

	std::vector<std::pair<size_t, int>> errors;
	Status st = nl.commit(batch, &errors);
	if (st.ok()) {
		// The sentinel cannot succeed; if it did, clean up and complain.
		Batch undo;
		append_probe_table(undo, NLM_F_CREATE, "probe cleanup");
		auto t = make_table();
		nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kProbeTable);
		char* buf = undo.reserve(4096);
		nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_DELTABLE, NFPROTO_INET, 0, 0);
		nftnl_table_nlmsg_build_payload(nlh, t.get());
		undo.commit_message("probe cleanup: delete table inet sipguard_probe");
		(void)nl.commit(undo);
		return {-EPROTO, "probe transaction unexpectedly committed"};
	}
	int rule_err = 0, sentinel_err = 0;
	for (auto [index, err] : errors) {
		if (index == rule_index || (meter_set && index == 1 && rule_err == 0))
			rule_err = err; // the set's refusal means the same: no meters
		else if (index == rule_index + 1)
			sentinel_err = err;
		else
			return {-err, st.message};
	}
	if (sentinel_err != EEXIST && sentinel_err != 0 && rule_err == 0)
		return {-sentinel_err, st.message};
	if (rule_err == 0)
		return {1, {}};
	if (rule_err == ENOENT || rule_err == EOPNOTSUPP)
		return {0, st.message};
	return {-rule_err, st.message};
}

Probe probe_one(Netlink& nl, QueueBackend backend)
{
	return probe_rule(nl, std::string(to_string(backend)),
	                  [&](nftnl_rule* r) { nftnl_rule_add_expr(r, make_queue_expr(backend, 0, 1).release()); });
}

} // namespace

Status probe_prefilter(Netlink& nl, bool& available, std::string& detail)
{
	// The meter (dynset with a limit, on a set of the probe table) and the
	// global budget (a plain limit) in one rule.
	const Probe p = probe_rule(
		nl, "a meter (dynset + limit) and a limit",
		[](nftnl_rule* r) {
			append_meter_exprs(r, true, 100, 100);
			nftnl_rule_add_expr(r, make_limit_over_expr(1000, 100).release());
		},
		true);
	available = p.code == 1;
	detail = available ? std::string() : "the kernel refused a dynamic set with limit (nft_dynset, nft_limit: "
	                                     "CONFIG_NFT_LIMIT): " + p.detail;
	if (p.code < 0)
		return Status::failure(-p.code, "probing the pre-filter's expressions failed: " + p.detail);
	return Status::success();
}

Status probe_queue_backend(Netlink& nl, QueueBackend& out)
{
	const Probe native = probe_one(nl, QueueBackend::Native);
	if (native.code == 1) {
		out = QueueBackend::Native;
		return Status::success();
	}
	if (native.code < 0)
		return Status::failure(-native.code, "probing the nft queue expression failed: " + native.detail);
	LOG(Rules, Info, "kernel has no native nft queue expression ({}); trying xt NFQUEUE through nft_compat",
	    native.detail);
	const Probe compat = probe_one(nl, QueueBackend::CompatNfqueueV3);
	if (compat.code == 1) {
		out = QueueBackend::CompatNfqueueV3;
		return Status::success();
	}
	return Status::failure(compat.code < 0 ? -compat.code : ENOENT,
	                       "the kernel supports neither the nft queue expression (CONFIG_NFT_QUEUE) nor the xt "
	                       "NFQUEUE target through nft_compat: " +
	                           compat.detail);
}

Status probe_defrag_backend(Netlink& nl, DefragBackend& out)
{
	out = DefragBackend::None;
	for (DefragBackend b : {DefragBackend::Tproxy, DefragBackend::Conntrack}) {
		// The rule's init enables defrag for the moment until the abort
		// destroys it again: harmless.
		const Probe r =
			probe_rule(nl, std::string(to_string(b)), [&](nftnl_rule* rule) { append_defrag_exprs(rule, b, 5060); });
		if (r.code == 1) {
			out = b;
			return Status::success();
		}
		if (r.code < 0)
			return Status::failure(-r.code,
			                       "probing the nft " + std::string(to_string(b)) + " expression failed: " + r.detail);
		LOG(Rules, Info, "kernel has no nft {} expression ({})", to_string(b), r.detail);
	}
	return Status::success();
}

namespace {

Status collect_kept(Netlink& nl, std::vector<ElementOp>& kept)
{
	for (const char* name :
	     {kSetBan4, kSetBan6, kSetBanNet4, kSetBanNet6, kSetMedia4, kSetMedia6, kSetKnown4, kSetKnown6, kSetProven4,
	      kSetProven6}) {
		std::vector<RawElement> raw;
		Status st = list_set_raw(nl, name, raw);
		if (!st.ok()) {
			if (st.error == ENOENT)
				continue; // set absent in an older layout
			return st;
		}
		bool media = std::strncmp(name, "media", 5) == 0;
		bool proven = std::strncmp(name, "proven", 6) == 0;
		bool known = proven || std::strncmp(name, "known", 5) == 0;
		bool v4 = name[std::strlen(name) - 1] == '4';
		size_t alen = v4 ? 4 : 16;
		if (known) {
			for (const RawElement& r : raw) {
				if (r.key_len != alen || (r.timeout.count() > 0 && r.expires_in.count() <= 0))
					continue;
				ElementOp op;
				op.kind = ElementOp::Kind::Add;
				op.is_known = !proven;
				op.is_proven = proven;
				op.timeout = r.timeout;
				op.expires_in = r.expires_in;
				op.target = net::Cidr::host(v4 ? net::IpAddress::v4(r.key.data()) : net::IpAddress::v6(r.key.data()));
				kept.push_back(op);
			}
			continue;
		}
		if (!media) {
			// Ban sets: interval pieces are ranges (rules/projection.h),
			// kept as ranges, never narrowed to a prefix.
			BanSet set = std::strncmp(name, "bannet", 6) == 0 ? (v4 ? BanSet::Net4 : BanSet::Net6)
			                                                  : (v4 ? BanSet::Host4 : BanSet::Host6);
			for (const ListedPiece& p : pieces_from_raw(set, std::move(raw))) {
				if (p.timeout.count() > 0 && p.expires_in.count() <= 0)
					continue; // expired, awaiting garbage collection
				ElementOp op;
				op.kind = ElementOp::Kind::Add;
				op.target = net::Cidr::host(p.first);
				if (is_interval(set))
					op.last = p.last;
				op.timeout = p.timeout;
				op.expires_in = p.expires_in;
				kept.push_back(op);
			}
			continue;
		}
		for (const RawElement& r : raw) {
			if (r.key_len != alen + 4)
				continue;
			if (r.timeout.count() > 0 && r.expires_in.count() <= 0)
				continue;
			ElementOp op;
			op.kind = ElementOp::Kind::Add;
			op.timeout = r.timeout;
			op.expires_in = r.expires_in;
			net::IpAddress a = v4 ? net::IpAddress::v4(r.key.data()) : net::IpAddress::v6(r.key.data());
			op.is_media = true;
			op.target = net::Cidr::host(a);
			op.port = static_cast<uint16_t>((r.key[alen] << 8) | r.key[alen + 1]);
			kept.push_back(op);
		}
	}
	return Status::success();
}

} // namespace

Status install(Netlink& nl, const TableSpec& spec, QueueBackend backend)
{
	if (std::string err = validate(spec); !err.empty())
		return Status::failure(EINVAL, "invalid table spec: " + err);

	std::vector<ElementOp> kept;
	if (spec.keep_elements) {
		bool exists = false;
		if (Status st = table_exists(nl, exists); !st.ok())
			return st;
		if (exists)
			if (Status st = collect_kept(nl, kept); !st.ok())
				return st;
		// Without the pre-filter the new table has no known or proven sets.
		if (!spec.prefilter.enabled)
			std::erase_if(kept, [](const ElementOp& op) { return op.is_known || op.is_proven; });
	}

	auto build = [&](size_t keep_n) {
		Batch batch;
		// add (idempotent) + delete + add anew: replaces an existing table
		// and creates a missing one, in one transaction.
		append_table_add(batch);
		append_table_delete(batch);
		append_table_contents(batch, spec, backend);
		append_element_ops(batch, std::span<const ElementOp>(kept.data(), keep_n));
		return batch;
	};
	size_t first_n = std::min(kept.size(), kKeptInFirstTransaction);
	Status st = nl.commit(build(first_n));
	if (!st.ok() && first_n > 0) {
		// A kept element may no longer fit (smaller set size): install the
		// table anyway; the daemon re-applies its bans from its own state.
		LOG(Rules, Warning, "replacing the table with its {} elements failed ({}); replacing without them",
		    kept.size(), st.message);
		kept.clear();
		first_n = 0;
		st = nl.commit(build(0));
	}
	if (!st.ok())
		return st;
	if (kept.size() > first_n) {
		Status rest = commit_element_ops(nl, std::span<const ElementOp>(kept).subspan(first_n));
		if (!rest.ok())
			LOG(Rules, Warning, "restoring {} elements after replacing the table: {}", kept.size() - first_n,
			    rest.message);
	}
	return Status::success();
}

Status install_auto(Netlink& nl, TableSpec& spec, QueueBackend& chosen)
{
	QueueBackend backend;
	if (Status st = probe_queue_backend(nl, backend); !st.ok())
		return st;
	if (Status st = probe_defrag_backend(nl, spec.defrag); !st.ok())
		return st;
	// Probed even with the pre-filter off, so a reload that turns it on
	// knows what the kernel offers.
	std::string why;
	if (Status st = probe_prefilter(nl, spec.prefilter.limits, why); !st.ok())
		return st;
	if (!spec.prefilter.limits && spec.prefilter.enabled)
		LOG(Rules, Warning, "pre-filter without rate limits: {}; known and unknown sources are still told apart", why);
	Status st = install(nl, spec, backend);
	if (st.ok())
		chosen = backend;
	return st;
}

Status remove(Netlink& nl)
{
	// add (idempotent) + delete: removes it if present, never ENOENT.
	Batch batch;
	append_table_add(batch);
	append_table_delete(batch);
	return nl.commit(batch);
}

namespace {

bool rule_comment_is(const nftnl_rule* r, const char* comment)
{
	if (!nftnl_rule_is_set(r, NFTNL_RULE_USERDATA))
		return false;
	uint32_t len = 0;
	const void* data = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	struct Ctx {
		const char* want;
		bool match = false;
	} ctx{comment};
	nftnl_udata_parse(
		data, len,
		[](const nftnl_udata* attr, void* p) -> int {
			auto* c = static_cast<Ctx*>(p);
			if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT) {
				const char* v = static_cast<const char*>(nftnl_udata_get(attr));
				uint32_t l = nftnl_udata_len(attr);
				size_t want = std::strlen(c->want);
				if (l >= want && std::strncmp(v, c->want, want) == 0 && (l == want || v[want] == '\0'))
					c->match = true;
			}
			return 0;
		},
		&ctx);
	return ctx.match;
}

struct CounterSum {
	uint64_t packets = 0, bytes = 0;
};

int sum_counter(nftnl_expr* e, void* data)
{
	auto* sum = static_cast<CounterSum*>(data);
	const char* name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);
	if (name && std::strcmp(name, "counter") == 0) {
		sum->packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		sum->bytes += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

} // namespace

Status read_counters(Netlink& nl, Counters& out)
{
	out = {};
	for (const char* chain : {kChainPrerouting, kChainMedia, kChainInput, kChainSip, kChainOutput}) {
		auto filter = make_rule();
		nftnl_rule_set_u32(filter.get(), NFTNL_RULE_FAMILY, NFPROTO_INET);
		nftnl_rule_set_str(filter.get(), NFTNL_RULE_TABLE, kTable);
		nftnl_rule_set_str(filter.get(), NFTNL_RULE_CHAIN, chain);
		Status st = detail::dump_objects(
			nl, filter.get(), NLM_F_DUMP,
			[&](nftnl_rule* r) {
				const char* rchain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
				if (!rchain || std::strcmp(rchain, chain) != 0)
					return true;
				CounterSum sum;
				if (rule_comment_is(r, kCommentBanDrop)) {
					nftnl_expr_foreach(r, sum_counter, &sum);
					out.ban_drop_packets += sum.packets;
					out.ban_drop_bytes += sum.bytes;
				} else if (rule_comment_is(r, kCommentMediaDrop)) {
					nftnl_expr_foreach(r, sum_counter, &sum);
					out.media_drop_packets += sum.packets;
					out.media_drop_bytes += sum.bytes;
				} else {
					// The pre-filter's drops and the queue rules.
					std::pair<const char*, uint64_t*> kinds[] = {
						{kCommentSourceDrop, &out.source_drop_packets},
						{kCommentBudgetDrop, &out.budget_drop_packets},
						{kCommentQueueKnown, &out.queued_known},
						{kCommentQueueUnknown, &out.queued_unknown},
						{kCommentQueueProven, &out.queued_proven},
						{kCommentQueue, &out.queued_other},
						{kCommentQueuePbx, &out.queued_other},
					};
					for (auto [comment, field] : kinds)
						if (rule_comment_is(r, comment)) {
							nftnl_expr_foreach(r, sum_counter, &sum);
							*field += sum.packets;
							break;
						}
				}
				return true;
			},
			std::string("list rules of chain inet ") + kTable + " " + chain);
		// Chain sip exists only with the pre-filter on.
		if (!st.ok() && !(st.error == ENOENT && std::strcmp(chain, kChainSip) == 0))
			return st;
	}
	return Status::success();
}

} // namespace sipguard::rules
