// SPDX-License-Identifier: GPL-2.0-or-later
// The rules tests' lab (tests/privileged/source_lab.h): probes from many source addresses to the pbx's SIP port.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/privileged/source_lab.h"

namespace sipguard::test {

class ProbeLab : public SourceLab {
public:
	static constexpr const char* kPbx4 = "198.51.100.2";
	static constexpr const char* kPbx6 = "fd00:5a::2";
	static constexpr uint16_t kPort = 5060;

	explicit ProbeLab(const std::vector<std::string>& probes)
		: SourceLab("probe", {"198.51.100.1", "fd00:5a::1", kPbx4, kPbx6}, probes)
	{
	}

	// Sends `per_probe` OPTIONS from every probe address to the pbx and
	// returns how many arrived from each.
	std::map<std::string, int> send_all(int per_probe = 2)
	{
		return send_from_each(sources(), kPort, "OPTIONS sip:pbx SIP/2.0\r\nContent-Length: 0\r\n\r\n", per_probe);
	}
};

} // namespace sipguard::test
