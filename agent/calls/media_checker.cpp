// SPDX-License-Identifier: GPL-2.0-or-later
// Kernel-set model and media packet check for `sipguard replay --check-media`.
#include "agent/calls/media_checker.h"

#include <charconv>

#include <fmt/core.h>

namespace sipguard::calls {

util::Result<MediaSelector> MediaSelector::parse(std::string_view text)
{
	if (text == "auto")
		return MediaSelector{};
	auto dash = text.find('-');
	auto number = [](std::string_view s, uint16_t& out) {
		unsigned v = 0;
		auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
		if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535)
			return false;
		out = static_cast<uint16_t>(v);
		return true;
	};
	MediaSelector sel;
	sel.automatic = false;
	if (dash == std::string_view::npos || !number(text.substr(0, dash), sel.low) ||
	    !number(text.substr(dash + 1), sel.high) || sel.low > sel.high)
		return util::Status::invalid(
			fmt::format("--check-media: expected \"auto\" or a port range LOW-HIGH (e.g. 10000-20000), got \"{}\"", text));
	return sel;
}

void MediaChecker::on_pinhole(const PinholeUpdate& u)
{
	Key k{u.remote, u.local_port};
	if (u.op == PinholeOp::Close) {
		expires_.erase(k);
		closed_[k] = u.at;
	} else {
		expires_[k] = u.at + u.timeout;
		closed_.erase(k);
	}
}

MediaChecker::Result MediaChecker::check(const nfq::PacketView& pkt, bool to_local, bool is_sip, util::TimePoint now)
{
	if (!to_local || is_sip || pkt.l4 != nfq::L4::Udp || pkt.fragment)
		return Result::NotMedia;
	if (selector_.automatic) {
		// RTP and RTCP both start with version 2 in the top two bits and
		// carry at least an 8-byte header (RFC 3550 §5.1, §6.4).
		if (pkt.payload.size() < 8 || (pkt.payload[0] & 0xc0) != 0x80)
			return Result::NotMedia;
	} else if (pkt.dport < selector_.low || pkt.dport > selector_.high) {
		return Result::NotMedia;
	}
	auto it = expires_.find(Key{pkt.src, pkt.dport});
	if (it != expires_.end() && now < it->second) {
		++inside_;
		return Result::Inside;
	}
	++outside_;
	auto c = closed_.find(Key{pkt.src, pkt.dport});
	if (c != closed_.end() && now >= c->second && now - c->second <= kLateWindow)
		++after_close_;
	return Result::Outside;
}

size_t MediaChecker::elements(util::TimePoint now) const
{
	size_t n = 0;
	for (const auto& [k, t] : expires_)
		n += now < t;
	return n;
}

std::string MediaChecker::summary() const
{
	if (after_close_)
		return fmt::format("media: {} in pinholes, {} outside ({} of them less than {} s after a BYE/CANCEL closed their pinhole)",
		                   inside_, outside_, after_close_, kLateWindow.count());
	return fmt::format("media: {} in pinholes, {} outside", inside_, outside_);
}

} // namespace sipguard::calls
