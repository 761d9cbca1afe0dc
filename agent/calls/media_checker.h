// SPDX-License-Identifier: GPL-2.0-or-later
// Models the kernel's @media4/@media6 sets from the tracker's pinhole updates
// (elements with timeouts) and checks replayed media packets against them:
// what `sipguard replay --check-media` reports.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agent/calls/events.h"
#include "agent/util/status.h"
#include "nfq/packet_view.h"

namespace sipguard::calls {

// Which packets count as media to check.
struct MediaSelector {
	// "auto": UDP to a local address, not SIP, whose payload looks like RTP or
	// RTCP (version 2, RFC 3550 §5.1). Otherwise only UDP to a local address
	// with destination port in [low, high], not SIP: what the kernel's media
	// chain would match for `rtp_ports = low-high`.
	bool automatic = true;
	uint16_t low = 0;
	uint16_t high = 0;

	// "auto" or "LOW-HIGH"; the failure says what was expected.
	static util::Result<MediaSelector> parse(std::string_view text);
};

// Not a test-only shim: it applies updates exactly as nftables does (an
// element lives until deleted or until its timeout passes; an add of an
// existing element resets the timeout), so a replay proves that the updates
// the daemon would send keep every packet of a call inside a pinhole.
class MediaChecker : public Sink {
public:
	explicit MediaChecker(MediaSelector selector) : selector_(selector) {}

	void on_pinhole(const PinholeUpdate& u) override;
	void on_finding(const Finding&) override {}

	enum class Result : uint8_t { NotMedia, Inside, Outside };
	// `to_local`: the destination is one of the protected host's addresses;
	// `is_sip`: the engine recognised the payload as SIP.
	Result check(const nfq::PacketView& pkt, bool to_local, bool is_sip, util::TimePoint now);

	uint64_t inside() const { return inside_; }
	uint64_t outside() const { return outside_; }
	// Of outside(): packets arriving within kLateWindow after their element
	// was deleted (RTP still in flight when the BYE closed the pinhole; the
	// kernel drops them, nobody listens any more).
	uint64_t after_close() const { return after_close_; }
	static constexpr std::chrono::seconds kLateWindow{1};
	size_t elements(util::TimePoint now) const;
	// "media: N in pinholes, M outside" (+ how many of M came just after a close)
	std::string summary() const;

private:
	struct Key {
		net::IpAddress addr;
		uint16_t port;
		friend bool operator==(const Key&, const Key&) = default;
	};
	struct KeyHash {
		size_t operator()(const Key& k) const noexcept
		{
			return net::IpAddressHash{}(k.addr) * 31 + k.port;
		}
	};
	MediaSelector selector_;
	std::unordered_map<Key, util::TimePoint, KeyHash> expires_;
	std::unordered_map<Key, util::TimePoint, KeyHash> closed_; // deletion time
	uint64_t inside_ = 0;
	uint64_t outside_ = 0;
	uint64_t after_close_ = 0;
};

} // namespace sipguard::calls
