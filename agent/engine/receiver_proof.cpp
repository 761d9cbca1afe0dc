// SPDX-License-Identifier: GPL-2.0-or-later
// Proven receivers: challenges out, answers in, proofs kept per address.
#include "agent/engine/receiver_proof.h"

#include "agent/util/hash.h"

namespace sipguard::engine {

namespace {

// 0 marks an empty nonce entry.
uint64_t nonce_hash(std::string_view nonce, uint64_t seed) { return util::hash_text(nonce, seed) | 1; }

} // namespace

void ReceiverProof::challenged(const net::IpAddress& to, uint64_t slot_hash, std::string_view nonce,
                               util::TimePoint now)
{
	if (nonce.empty())
		return;
	Challenged& c = challenges_[slot_hash % kChallengeSlots];
	const uint64_t h = nonce_hash(nonce, seed_);
	if (c.addr != to) {
		c = Challenged{};
		c.addr = to;
	} else if (c.nonce[0] == h) {
		c.at[0] = now; // a retransmitted challenge
		return;
	}
	for (size_t i = kNonces - 1; i > 0; --i) {
		c.nonce[i] = c.nonce[i - 1];
		c.at[i] = c.at[i - 1];
	}
	c.nonce[0] = h;
	c.at[0] = now;
}

bool ReceiverProof::answered(const net::IpAddress& from, uint64_t slot_hash, std::string_view nonce,
                             util::TimePoint now)
{
	if (nonce.empty())
		return false;
	const Challenged& c = challenges_[slot_hash % kChallengeSlots];
	if (c.addr != from)
		return false;
	const uint64_t h = nonce_hash(nonce, seed_);
	for (size_t i = 0; i < kNonces; ++i) {
		if (c.nonce[i] == h && now >= c.at[i] && now - c.at[i] <= kNonceLife) {
			Proven& p = proven_[slot_hash % kProvenSlots];
			p.addr = from;
			p.at = now;
			p.set = true;
			return true;
		}
	}
	return false;
}

bool ReceiverProof::proven(const net::IpAddress& a, uint64_t slot_hash, util::TimePoint now) const
{
	const Proven& p = proven_[slot_hash % kProvenSlots];
	return p.set && p.addr == a && now >= p.at && now - p.at <= kProvenFor;
}

} // namespace sipguard::engine
