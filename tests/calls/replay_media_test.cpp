// SPDX-License-Identifier: GPL-2.0-or-later
// The benign call captures of the shared corpus through `sipguard replay`'s
// code path (pcap -> engine -> call tracker) with --check-media: every RTP
// and RTCP packet of a call must arrive inside a pinhole open at that moment,
// and RTP without signalling (pcaps/sipp) must all be outside.
#include <doctest/doctest.h>

#include <vector>

#include "tests/corpus.h"
#include "tools/replay/replay.h"

using namespace sipguard;

namespace {

struct Case {
	const char* file;
	std::vector<const char*> local;
	std::vector<uint16_t> sip_ports;
	uint64_t inside;      // RTP/RTCP packets to --local (counted with tshark, see pcaps/SOURCES.md)
	uint64_t outside;
	uint64_t after_close; // of outside: in flight after the BYE closed the pinhole
};

replay::Result run(const std::filesystem::path& corpus, const Case& c)
{
	replay::Options o;
	for (const char* a : c.local)
		o.local.push_back(*net::IpAddress::parse(a));
	o.sip_ports = c.sip_ports;
	o.check_media = calls::MediaSelector{}; // auto: RTP/RTCP-looking UDP to a local address
	replay::Result r = replay::run((corpus / "pcaps" / c.file).string(), o);
	REQUIRE_MESSAGE(r.ok, r.error);
	return r;
}

} // namespace

TEST_CASE("benign calls: all their media is inside pinholes")
{
	SIPGUARD_REQUIRE_CORPUS(corpus);
	const std::vector<Case> cases = {
		// Inbound call through a proxy; the phone's SIP port is 5061. RTP
		// and RTCP come from the media relay 200.57.7.196 named in the SDP.
		{"snort3_demo/SIP_CALL_RTP_G711.pcap", {"200.57.7.204"}, {5060, 5061}, 891 + 6, 0, 0},
		// Audio + video (two m-lines); the BYE goes to another address of the call.
		{"snort3_demo/SIP_Eyebeam2Eyebeam_Video_Audio.pcap", {"192.168.1.36"}, {5060, 5061}, 1562 + 235, 0, 0},
		// Outbound calls from sipp (recvonly offer, sendonly answer), one codec each.
		{"wireshark-samples_via_rtp-pcap/sip-rtp-g722.pcap", {"10.0.2.20"}, {5060}, 425, 0, 0},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-g726.pcap", {"10.0.2.20"}, {5060}, 8 * 425, 0, 0},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-g729a.pcap", {"10.0.2.20"}, {5060}, 425, 0, 0},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-gsm.pcap", {"10.0.2.20"}, {5060}, 425, 0, 0},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-ilbc.pcap", {"10.0.2.20"}, {5060}, 284, 0, 0},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-l16.pcap", {"10.0.2.20"}, {5060}, 3 * 425 + 366, 0, 0},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-lpc.pcap", {"10.0.2.20"}, {5060}, 95, 0, 0},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-opus.pcap", {"10.0.2.20"}, {5060}, 425, 0, 0},
		{"wireshark-samples_via_rtp-pcap/sip-rtp-speex.pcap", {"10.0.2.20"}, {5060}, 3 * 425, 0, 0},
		// Outbound call, early media in the 183 from an address that is not
		// the signalling peer. Two RTP packets arrive 20-30 ms after the
		// PBX's BYE closed the pinhole: the kernel drops them, harmlessly.
		{"wireshark-samples_via_rtp-pcap/nb6-telephone.pcap", {"10.251.23.139"}, {5060}, 259, 2, 2},
		// Seen from the Brekeke PBX: a 603-declined call and a hairpinned
		// call whose media never touches the PBX (no media to check).
		{"wireshark-samples_via_rtp-pcap/SIP_DTMF2.pcap", {"192.168.105.105"}, {5060}, 0, 0, 0},
		// Both SIP ends on 127.0.0.1 and media from 192.168.6.199 to itself:
		// a loopback capture of one host, nothing crosses a host boundary.
		{"wireshark-samples_via_rtp-pcap/h263-over-rtp.pcap", {"127.0.0.1"}, {5060}, 0, 0, 0},
	};
	for (const auto& c : cases) {
		CAPTURE(c.file);
		replay::Result r = run(corpus, c);
		CHECK(r.summary.media_checked);
		CHECK(r.summary.media_inside == c.inside);
		CHECK(r.summary.media_outside == c.outside);
		CHECK(r.summary.media_after_close == c.after_close);
		CHECK(r.summary.drops == 0); // benign: the engine drops nothing
	}
}

TEST_CASE("limitation: media from an address that no SDP names is outside (SIP_DTMF2 seen from the DECT gateway)")
{
	// Both SDPs of the answered call say c=192.168.105.110, but the RTP
	// comes from 192.168.105.172 (the DECT base station behind the gateway),
	// which appears in no SIP message: no nat_policy can open it. Pinning
	// must stay off for such a host (README "Media pinning").
	SIPGUARD_REQUIRE_CORPUS(corpus);
	replay::Result r = run(corpus, {"wireshark-samples_via_rtp-pcap/SIP_DTMF2.pcap", {"192.168.105.110"}, {5060}, 0, 0, 0});
	CHECK(r.summary.media_inside == 0);
	CHECK(r.summary.media_outside == 666);
	CHECK(r.summary.pinholes > 0); // the call itself was tracked
}

TEST_CASE("RTP without signalling (pcaps/sipp) is all outside")
{
	SIPGUARD_REQUIRE_CORPUS(corpus);
	for (const char* f : {"dtmf_2833_0.pcap", "dtmf_2833_1.pcap", "dtmf_2833_2.pcap", "dtmf_2833_3.pcap", "dtmf_2833_4.pcap",
	                      "dtmf_2833_5.pcap", "dtmf_2833_6.pcap", "dtmf_2833_7.pcap", "dtmf_2833_8.pcap", "dtmf_2833_9.pcap",
	                      "dtmf_2833_pound.pcap", "dtmf_2833_star.pcap"}) {
		CAPTURE(f);
		const std::string path = std::string("sipp/") + f;
		replay::Result s = run(corpus, {path.c_str(), {"192.168.0.1"}, {5060}, 0, 0, 0});
		CHECK(s.summary.media_inside == 0);
		CHECK(s.summary.media_outside == 10);
		CHECK(s.summary.pinholes == 0);
	}
	replay::Result g = run(corpus, {"sipp/g711a.pcap", {"10.1.6.18"}, {5060}, 0, 0, 0});
	CHECK(g.summary.media_inside == 0);
	CHECK(g.summary.media_outside == 236);
}
