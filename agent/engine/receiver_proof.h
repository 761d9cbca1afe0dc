// SPDX-License-Identifier: GPL-2.0-or-later
// Proven receivers (issue 20): a source that answered a digest challenge the
// PBX sent to its address receives there, so it is not a spoofed address.
// Fixed, direct-mapped tables; no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "agent/net/ip_address.h"
#include "agent/util/clock.h"

namespace sipguard::engine {

// The proof: a request from S whose Authorization/Proxy-Authorization nonce
// equals a nonce of a 401/407 the PBX sent to S (seen in the output
// direction, addressed to S). The nonce is the PBX's unpredictable secret
// for that exchange and travels only to S, so a sender that cannot receive
// at S cannot echo it; a nonce it got at its own address is recorded for that
// address, not for S. Cheaper than any other proof: the PBX already sends the
// challenge and the phone already answers it, and checking costs two hashes.
// Sound for off-path senders only: one that sees S's traffic can echo
// anything (and can receive at S anyway).
class ReceiverProof {
public:
	// `seed` keys the nonce hashes, so nobody can aim for a collision.
	explicit ReceiverProof(uint64_t seed) : seed_(seed) {}

	// The PBX sent a challenge with `nonce` to `to`. `slot_hash` is the
	// caller's seeded hash of the address (it picks the slot).
	void challenged(const net::IpAddress& to, uint64_t slot_hash, std::string_view nonce, util::TimePoint now);
	// `from` sent credentials with `nonce`: true, and `from` proven from
	// now, when a challenge to `from` within kNonceLife carried it.
	bool answered(const net::IpAddress& from, uint64_t slot_hash, std::string_view nonce, util::TimePoint now);
	// Whether `a` gave a proof within kProvenFor.
	bool proven(const net::IpAddress& a, uint64_t slot_hash, util::TimePoint now) const;

	// A challenge is answerable this long (Kamailio's auth nonce_expire
	// default; phones reuse a nonce for re-registrations within it).
	static constexpr util::Millis kNonceLife{300 * 1000};
	// A proof counts this long after the last one (a phone re-proves at
	// every authenticated re-registration; a guesser at every guess).
	static constexpr util::Millis kProvenFor{600 * 1000};
	// Challenge slots: overwritten by challenges to other addresses (a
	// flood's spoofed sources are challenged too), which only matters when
	// it happens between a challenge and its answer (milliseconds).
	static constexpr size_t kChallengeSlots = 8192;
	// Proven slots: written only by proofs, which spoofed sources cannot
	// give; a collision between two real receivers costs one re-proof.
	static constexpr size_t kProvenSlots = 4096;
	// Nonces kept per challenged address (a REGISTER and an INVITE
	// challenged at about the same time).
	static constexpr size_t kNonces = 2;

	size_t bytes() const { return sizeof challenges_ + sizeof proven_; }

private:
	struct Challenged {
		net::IpAddress addr;
		std::array<uint64_t, kNonces> nonce{};
		std::array<util::TimePoint, kNonces> at{};
	};
	struct Proven {
		net::IpAddress addr;
		util::TimePoint at{};
		bool set = false;
	};
	uint64_t seed_;
	std::array<Challenged, kChallengeSlots> challenges_{};
	std::array<Proven, kProvenSlots> proven_{};
};

} // namespace sipguard::engine
