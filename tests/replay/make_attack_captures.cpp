// SPDX-License-Identifier: GPL-2.0-or-later
// Writes the scripted attack captures of the replay tests into a directory,
// for operators to try `sipguard replay` on (tests/fixtures/pcaps/attacks/):
//   make_attack_captures DIR
#include <cstdio>
#include <exception>

#include "tests/replay/attack_captures.h"

int main(int argc, char** argv)
{
	using sipguard::test::Scenario;
	if (argc != 2) {
		std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	try {
		for (Scenario s : {Scenario::SvmapFriendlyScanner, Scenario::SvmapPhoneUa, Scenario::SvwarRegister,
		                   Scenario::SvwarInvite, Scenario::Svcrack, Scenario::FloodInvite, Scenario::FloodRegister,
		                   Scenario::FloodPrefix, Scenario::BenignOffice}) {
			auto c = sipguard::test::write_capture(s, argv[1]);
			std::printf("%s (local %s)\n", c.path.c_str(), c.pbx.to_string().c_str());
		}
	} catch (const std::exception& e) {
		std::fprintf(stderr, "make_attack_captures: %s\n", e.what());
		return 2;
	}
	return 0;
}
