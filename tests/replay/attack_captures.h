// SPDX-License-Identifier: GPL-2.0-or-later
// Scripted attack captures modelled on THREATS.md (SIPVicious svmap, svwar,
// svcrack and floods), written as pcap files with the PBX's responses, for
// `sipguard replay` tests.
#pragma once

#include <string>
#include <vector>

#include "agent/net/ip_address.h"

namespace sipguard::test {

struct Capture {
	std::string path;
	net::IpAddress pbx;
	// Frame number (1-based) and target user of every request sent to the PBX.
	struct Probe {
		uint64_t frame;
		std::string user;
		net::IpAddress source;
	};
	std::vector<Probe> requests;
	double first_request_s = 0; // capture time of the first attack packet, from the first frame
};

enum class Scenario {
	SvmapFriendlyScanner, // svmap OPTIONS, UA friendly-scanner, From "sipvicious"
	SvmapPhoneUa,         // OPTIONS sweep over users with a phone UA and plain From
	SvwarRegister,        // svwar REGISTER 100..999, PBX: 404, 401 for existing
	SvwarInvite,          // svwar INVITE mode: 100 Trying, 404 / 407, CANCEL after 180
	Svcrack,              // svcrack REGISTER with credentials, PBX: 401/403
	FloodInvite,          // 500 INVITE/s from one source for 1 s
	FloodRegister,        // 500 REGISTER/s from one source for 1 s, PBX answers 401
	FloodPrefix,          // 500 INVITE/s from 20 addresses of one /24
	BenignOffice,         // 30 phones behind one NAT re-registering after an outage, then calls
};
const char* to_string(Scenario s);

// Writes the capture into `dir`; `ipv6` uses IPv6 addresses throughout.
Capture write_capture(Scenario s, const std::string& dir, bool ipv6 = false);

} // namespace sipguard::test
