// SPDX-License-Identifier: GPL-2.0-or-later
// Applying element operations so that one refused element costs only itself: failed transactions are halved down to single elements.
#include "rules/apply.h"

#include <algorithm>
#include <cerrno>

#include "rules/elements.h"

namespace sipguard::rules {

namespace {

class Applier {
public:
	Applier(Netlink& nl, std::span<const ElementOp> ops, ApplyResult& out) : nl_(nl), ops_(ops), out_(out) {}

	void run()
	{
		for (size_t i = 0; i < ops_.size() && out_.transport.ok(); i += kMaxElementsPerTransaction)
			apply(i, std::min(ops_.size(), i + kMaxElementsPerTransaction));
		if (!out_.transport.ok())
			fail_rest();
	}

private:
	// Applies ops_[lo, hi), splitting on refusal.
	void apply(size_t lo, size_t hi)
	{
		if (lo >= hi || !out_.transport.ok())
			return;
		Batch batch;
		append_element_ops_in_order(batch, ops_.subspan(lo, hi - lo));
		std::vector<std::pair<size_t, int>> errors;
		++out_.transactions;
		Status st = nl_.commit(batch, &errors);
		if (st.ok()) {
			mark_applied(lo, hi);
			return;
		}
		if (errors.empty()) {
			// No message was refused: the socket failed (or the ACKs were
			// lost), not an element. Splitting cannot help.
			out_.transport = st;
			return;
		}
		if (hi - lo == 1) {
			int err = errors.front().second;
			if (ops_[lo].kind == ElementOp::Kind::Remove && err == ENOENT && all_are(errors, ENOENT)) {
				mark_applied(lo, hi);
				return;
			}
			out_.failures.push_back({lo, err, st.message});
			done_[lo] = 1;
			return;
		}
		size_t mid = lo + (hi - lo) / 2;
		apply(lo, mid);
		apply(mid, hi);
	}

	static bool all_are(const std::vector<std::pair<size_t, int>>& errors, int err)
	{
		return std::all_of(errors.begin(), errors.end(), [&](const auto& e) { return e.second == err; });
	}

	void mark_applied(size_t lo, size_t hi)
	{
		out_.applied += hi - lo;
		std::fill(done_.begin() + static_cast<long>(lo), done_.begin() + static_cast<long>(hi), 1);
	}

	void fail_rest()
	{
		for (size_t i = 0; i < ops_.size(); ++i)
			if (!done_[i])
				out_.failures.push_back({i, out_.transport.error, out_.transport.message});
		std::sort(out_.failures.begin(), out_.failures.end(),
		          [](const FailedOp& a, const FailedOp& b) { return a.index < b.index; });
	}

	Netlink& nl_;
	std::span<const ElementOp> ops_;
	ApplyResult& out_;
	std::vector<uint8_t> done_ = std::vector<uint8_t>(ops_.size(), 0);
};

} // namespace

ApplyResult apply_robust(Netlink& nl, std::span<const ElementOp> ops)
{
	ApplyResult out;
	Applier(nl, ops, out).run();
	return out;
}

} // namespace sipguard::rules
