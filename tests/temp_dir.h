// SPDX-License-Identifier: GPL-2.0-or-later
// A scratch directory under /tmp for one test, removed with its contents.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace sipguard::test {

struct TempDir {
	std::filesystem::path path;
	// `prefix` names the test in /tmp (mkdtemp adds six random characters).
	explicit TempDir(const std::string& prefix = "sg-test")
	{
		std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
		if (const char* made = ::mkdtemp(tmpl.data()))
			path = made;
	}
	~TempDir()
	{
		if (!path.empty())
			std::filesystem::remove_all(path);
	}
	TempDir(const TempDir&) = delete;
	TempDir& operator=(const TempDir&) = delete;
};

} // namespace sipguard::test
