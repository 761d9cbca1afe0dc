// SPDX-License-Identifier: GPL-2.0-or-later
// A ban log into an anonymous temporary file, read back whole, for the tests
// that check what the ban log wrote.
#pragma once

#include <cstdio>
#include <string>

#include "agent/engine/ban_log.h"

namespace sipguard::test {

// The whole of `f` from its start.
inline std::string read_all(FILE* f)
{
	std::fflush(f);
	std::rewind(f);
	std::string s;
	char buf[4096];
	size_t n;
	while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
		s.append(buf, n);
	return s;
}

// JSON lines only (no human line on stderr).
struct LogFile {
	FILE* f = std::tmpfile();
	engine::BanLog log;
	LogFile()
	{
		log.attach(f);
		log.set_human_stream(nullptr);
	}
	~LogFile() { std::fclose(f); }
	LogFile(const LogFile&) = delete;
	LogFile& operator=(const LogFile&) = delete;
	std::string text() { return read_all(f); }
};

} // namespace sipguard::test
