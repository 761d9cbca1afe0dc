// SPDX-License-Identifier: GPL-2.0-or-later
// The difference between the projected ban elements and the ones the kernel lists: what to delete, what to add.
#include "rules/ban_diff.h"

#include <algorithm>
#include <cstring>
#include <tuple>

namespace sipguard::rules {

namespace {

bool v4_set(BanSet s) { return s == BanSet::Host4 || s == BanSet::Net4; }

net::IpAddress address(const uint8_t* key, bool v4) { return v4 ? net::IpAddress::v4(key) : net::IpAddress::v6(key); }

// key - 1 (the key is never zero: an element exists below it).
net::IpAddress before(const RawElement& e, bool v4)
{
	std::array<uint8_t, 20> k = e.key;
	size_t len = v4 ? 4 : 16;
	for (size_t i = len; i-- > 0;) {
		if (k[i]-- != 0)
			break;
	}
	return address(k.data(), v4);
}

net::IpAddress top(bool v4)
{
	uint8_t ones[16];
	std::memset(ones, 0xff, sizeof ones);
	return address(ones, v4);
}

bool expired(const ListedPiece& p) { return p.timeout.count() > 0 && p.expires_in.count() <= 0; }

// Order of elements by set, then range.
template <typename A, typename B>
bool before_in_set(const A& a, const B& b)
{
	return std::tie(a.set, a.first.bytes, a.last.bytes) < std::tie(b.set, b.first.bytes, b.last.bytes);
}

} // namespace

std::vector<ListedPiece> pieces_from_raw(BanSet set, std::vector<RawElement> raw)
{
	const bool v4 = v4_set(set);
	const size_t len = v4 ? 4 : 16;
	std::vector<ListedPiece> out;
	std::erase_if(raw, [&](const RawElement& e) { return e.key_len != len; });
	if (!is_interval(set)) {
		out.reserve(raw.size());
		for (const auto& e : raw) {
			net::IpAddress a = address(e.key.data(), v4);
			out.push_back({set, a, a, true, e.timeout, e.expires_in});
		}
		return out;
	}
	// An end at X sorts before a start at X: [a, X) and [X, b) are neighbours.
	std::sort(raw.begin(), raw.end(), [&](const RawElement& a, const RawElement& b) {
		int c = std::memcmp(a.key.data(), b.key.data(), len);
		return c != 0 ? c < 0 : a.interval_end > b.interval_end;
	});
	for (size_t i = 0; i < raw.size(); ++i) {
		if (raw[i].interval_end)
			continue;
		ListedPiece p;
		p.set = set;
		p.first = address(raw[i].key.data(), v4);
		p.timeout = raw[i].timeout;
		p.expires_in = raw[i].expires_in;
		if (i + 1 < raw.size()) {
			p.last = before(raw[i + 1], v4);
			p.end_element = raw[i + 1].interval_end;
		} else {
			p.last = top(v4);
			p.end_element = false;
		}
		out.push_back(p);
	}
	return out;
}

ElementDiff diff_pieces(std::span<const BanPiece> desired, std::span<const ListedPiece> listed, DiffOptions options)
{
	std::vector<const BanPiece*> want;
	want.reserve(desired.size());
	for (const auto& d : desired)
		want.push_back(&d);
	std::vector<const ListedPiece*> have;
	have.reserve(listed.size());
	for (const auto& l : listed)
		if (!expired(l))
			have.push_back(&l);
	std::sort(want.begin(), want.end(), [](const BanPiece* a, const BanPiece* b) { return before_in_set(*a, *b); });
	std::sort(have.begin(), have.end(), [](const ListedPiece* a, const ListedPiece* b) { return before_in_set(*a, *b); });

	ElementDiff diff;
	size_t i = 0, j = 0;
	while (i < want.size() || j < have.size()) {
		if (j == have.size() || (i < want.size() && before_in_set(*want[i], *have[j]))) {
			diff.add.push_back(*want[i++]);
			continue;
		}
		if (i == want.size() || before_in_set(*have[j], *want[i])) {
			diff.remove.push_back(*have[j++]);
			continue;
		}
		// Same range: keep it if the remaining times agree.
		const BanPiece& w = *want[i++];
		const ListedPiece& h = *have[j++];
		bool same = false;
		if (w.timeout.count() == 0 || h.timeout.count() == 0)
			same = w.timeout.count() == 0 && h.timeout.count() == 0;
		else
			same = std::chrono::abs(w.timeout - h.expires_in) <= options.tolerance;
		// A listing that ends without an end element although the range
		// does not reach the top was cut (orphan start): rewrite it whole.
		if (same && is_interval(h.set) && !h.end_element && h.last != top(v4_set(h.set)))
			same = false;
		if (same) {
			++diff.unchanged;
		} else {
			diff.remove.push_back(h);
			diff.add.push_back(w);
			++diff.retimed;
		}
	}
	return diff;
}

ElementOp add_op(const BanPiece& piece)
{
	ElementOp op;
	op.kind = ElementOp::Kind::Add;
	op.target = net::Cidr::host(piece.first);
	if (is_interval(piece.set))
		op.last = piece.last;
	op.timeout = piece.timeout;
	return op;
}

ElementOp remove_op(const ListedPiece& piece)
{
	ElementOp op;
	op.kind = ElementOp::Kind::Remove;
	op.target = net::Cidr::host(piece.first);
	if (is_interval(piece.set)) {
		op.last = piece.last;
		op.end_element = piece.end_element;
	}
	return op;
}

std::vector<ElementOp> diff_ops(const ElementDiff& diff)
{
	std::vector<ElementOp> ops;
	ops.reserve(diff.remove.size() + diff.add.size());
	for (const auto& r : diff.remove)
		ops.push_back(remove_op(r));
	for (const auto& a : diff.add)
		ops.push_back(add_op(a));
	return ops;
}

} // namespace sipguard::rules
