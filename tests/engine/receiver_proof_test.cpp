// SPDX-License-Identifier: GPL-2.0-or-later
// Proven receivers (agent/engine/receiver_proof.h) through the engine, with
// the SIP bytes a phone and Kamailio exchange: a challenge out, its nonce
// echoed in.
#include <doctest/doctest.h>

#include <string>

#include <fmt/format.h>

#include "agent/engine/receiver_proof.h"
#include "tests/engine/harness.h"

using namespace sipguard;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view kNonce = "Z5ghq2coeRr0fA3ejvPRzvkq5ArwnWqV";

std::string register_from(std::string_view host, int cseq, std::string_view nonce)
{
	const std::string auth =
		nonce.empty() ? std::string()
		              : fmt::format("Authorization: Digest username=\"105\", realm=\"lab.example\", nonce=\"{}\", "
		                            "uri=\"sip:lab.example\", response=\"0a4f113b8c6f2d1e9b7a5c3d2e1f0a9b\", "
		                            "algorithm=MD5\r\n",
		                            nonce);
	return fmt::format("REGISTER sip:lab.example SIP/2.0\r\n"
	                   "Via: SIP/2.0/UDP {0}:5060;rport;branch=z9hG4bK-reg-{1}\r\n"
	                   "Max-Forwards: 70\r\n"
	                   "From: <sip:105@lab.example>;tag=a73kszlfl\r\n"
	                   "To: <sip:105@lab.example>\r\n"
	                   "Call-ID: 1j9FpLxk3uxtm8tn@{0}\r\n"
	                   "CSeq: {1} REGISTER\r\n"
	                   "Contact: <sip:105@{0}:5060>\r\n"
	                   "{2}"
	                   "User-Agent: Yealink SIP-T46S 66.86.0.15\r\n"
	                   "Expires: 3600\r\n"
	                   "Content-Length: 0\r\n\r\n",
	                   host, cseq, auth);
}

// Kamailio's 401 to that REGISTER (www_challenge), carrying `nonce`.
std::string challenge_to(std::string_view host, int cseq, std::string_view nonce)
{
	return fmt::format("SIP/2.0 401 Unauthorized\r\n"
	                   "Via: SIP/2.0/UDP {0}:5060;rport=5060;branch=z9hG4bK-reg-{1}\r\n"
	                   "From: <sip:105@lab.example>;tag=a73kszlfl\r\n"
	                   "To: <sip:105@lab.example>;tag=b27e1a1d33761e85846fc98f5f3a7e58.0a0b\r\n"
	                   "Call-ID: 1j9FpLxk3uxtm8tn@{0}\r\n"
	                   "CSeq: {1} REGISTER\r\n"
	                   "WWW-Authenticate: Digest realm=\"lab.example\", nonce=\"{2}\", qop=\"auth\"\r\n"
	                   "Server: kamailio (5.7.4 (x86_64/linux))\r\n"
	                   "Content-Length: 0\r\n\r\n",
	                   host, cseq, nonce);
}

} // namespace

TEST_CASE("proven receiver: a REGISTER echoing the nonce of a 401 the PBX sent to its address proves it; its later "
          "requests stay proven until the proof ages out")
{
	test::Harness h;
	const auto phone = test::ip("198.51.100.10");
	h.in(phone, register_from("198.51.100.10", 1, ""));
	CHECK_FALSE(h.engine.last_source_proven());
	h.out(phone, challenge_to("198.51.100.10", 1, kNonce));
	CHECK_FALSE(h.engine.last_source_proven()); // a response out proves nothing
	h.advance(40ms);
	h.in(phone, register_from("198.51.100.10", 2, kNonce));
	CHECK(h.engine.last_source_proven());
	CHECK_FALSE(h.engine.last_source_known()); // not answered yet: proven, not known
	h.advance(2s);
	h.in(phone, register_from("198.51.100.10", 3, "")); // no credentials, proven before
	CHECK(h.engine.last_source_proven());
	h.advance(engine::ReceiverProof::kProvenFor + 1s);
	h.in(phone, register_from("198.51.100.10", 4, ""));
	CHECK_FALSE(h.engine.last_source_proven());
}

TEST_CASE("proven receiver: a 407 with Proxy-Authenticate answered by an INVITE with Proxy-Authorization")
{
	test::Harness h;
	const auto phone = test::ip("2001:db8::55");
	const std::string invite_head = "INVITE sip:200@lab.example SIP/2.0\r\n"
	                                "Via: SIP/2.0/UDP [2001:db8::55]:5060;branch=z9hG4bK-inv-1\r\n"
	                                "From: <sip:105@lab.example>;tag=9fxced76sl\r\n"
	                                "To: <sip:200@lab.example>\r\n"
	                                "Call-ID: 3848276298220188511@2001:db8::55\r\n";
	h.in(phone, invite_head + "CSeq: 1 INVITE\r\nContact: <sip:105@[2001:db8::55]>\r\nContent-Length: 0\r\n\r\n");
	h.out(phone, "SIP/2.0 407 Proxy Authentication Required\r\n"
	             "Via: SIP/2.0/UDP [2001:db8::55]:5060;branch=z9hG4bK-inv-1\r\n"
	             "From: <sip:105@lab.example>;tag=9fxced76sl\r\n"
	             "To: <sip:200@lab.example>;tag=1928301774\r\n"
	             "Call-ID: 3848276298220188511@2001:db8::55\r\n"
	             "CSeq: 1 INVITE\r\n"
	             "Proxy-Authenticate: Digest realm=\"lab.example\", nonce=\"X2a9b1fq0NwAAAAAbLm3x\", algorithm=MD5\r\n"
	             "Content-Length: 0\r\n\r\n");
	h.in(phone, invite_head +
	                "CSeq: 2 INVITE\r\nContact: <sip:105@[2001:db8::55]>\r\n"
	                "Proxy-Authorization: Digest username=\"105\", realm=\"lab.example\", nonce=\"X2a9b1fq0NwAAAAAbLm3x\", "
	                "uri=\"sip:200@lab.example\", response=\"6629fae49393a05397450978507c4ef1\"\r\n"
	                "Content-Length: 0\r\n\r\n");
	CHECK(h.engine.last_source_proven());
}

TEST_CASE("not proven: a wrong nonce, a nonce sent to another address, no challenge seen, a stale challenge")
{
	test::Harness h;
	const auto phone = test::ip("198.51.100.10");
	const auto spoofer = test::ip("198.51.100.99");

	SUBCASE("wrong nonce")
	{
		h.out(phone, challenge_to("198.51.100.10", 1, kNonce));
		h.in(phone, register_from("198.51.100.10", 2, "Z5ghq2coeRr0fA3ejvPRzvkq5ArwnWqW"));
		CHECK_FALSE(h.engine.last_source_proven());
	}
	SUBCASE("the nonce went to another address")
	{
		h.out(phone, challenge_to("198.51.100.10", 1, kNonce));
		h.in(spoofer, register_from("198.51.100.10", 2, kNonce));
		CHECK_FALSE(h.engine.last_source_proven());
		h.in(phone, register_from("198.51.100.10", 3, "")); // nor did the phone prove anything yet
		CHECK_FALSE(h.engine.last_source_proven());
	}
	SUBCASE("no challenge seen")
	{
		h.in(phone, register_from("198.51.100.10", 2, kNonce));
		CHECK_FALSE(h.engine.last_source_proven());
	}
	SUBCASE("the challenge is older than its life")
	{
		h.out(phone, challenge_to("198.51.100.10", 1, kNonce));
		h.advance(engine::ReceiverProof::kNonceLife + 1s);
		h.in(phone, register_from("198.51.100.10", 2, kNonce));
		CHECK_FALSE(h.engine.last_source_proven());
	}
	SUBCASE("a challenge the PBX received (direction in) is not one it sent")
	{
		h.in(phone, challenge_to("198.51.100.10", 1, kNonce));
		h.in(phone, register_from("198.51.100.10", 2, kNonce));
		CHECK_FALSE(h.engine.last_source_proven());
	}
}

TEST_CASE("proven receiver: the older of two outstanding nonces still proves; a third challenge forgets it")
{
	test::Harness h;
	const auto phone = test::ip("198.51.100.10");
	h.out(phone, challenge_to("198.51.100.10", 1, "nonce-one"));
	h.out(phone, challenge_to("198.51.100.10", 2, "nonce-two"));
	h.in(phone, register_from("198.51.100.10", 3, "nonce-one"));
	CHECK(h.engine.last_source_proven());

	test::Harness g;
	g.out(phone, challenge_to("198.51.100.10", 1, "nonce-one"));
	g.out(phone, challenge_to("198.51.100.10", 2, "nonce-two"));
	g.out(phone, challenge_to("198.51.100.10", 3, "nonce-three"));
	g.in(phone, register_from("198.51.100.10", 4, "nonce-one"));
	CHECK_FALSE(g.engine.last_source_proven());
}

TEST_CASE("proven receiver: skips the engine's global guard for unknown sources, which sheds a spoofed flood")
{
	auto cfg = std::make_shared<engine::Config>();
	cfg->flood.global_unknown = {10, 10};
	test::Harness h(cfg);
	const auto guesser = test::ip("198.51.100.66");
	h.out(guesser, challenge_to("198.51.100.66", 1, kNonce));
	h.in(guesser, register_from("198.51.100.66", 2, kNonce));
	REQUIRE(h.engine.last_source_proven());
	// The flood empties the global bucket.
	for (int i = 0; i < 50; ++i) {
		const std::string host = "10.128.0." + std::to_string(i + 1);
		h.in(test::ip(host), register_from(host, 1, ""));
	}
	const uint64_t shed = h.engine.counters().shed;
	CHECK(shed >= 30);
	for (int i = 0; i < 5; ++i)
		CHECK(h.in(guesser, register_from("198.51.100.66", 10 + i, "")) == engine::Verdict::Accept);
	CHECK(h.engine.counters().shed == shed);
	// An unproven newcomer is shed.
	h.in(test::ip("198.51.100.77"), register_from("198.51.100.77", 1, ""));
	CHECK(h.engine.counters().shed == shed + 1);
}
