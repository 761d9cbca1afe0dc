// SPDX-License-Identifier: GPL-2.0-or-later
// A config with more problems than the report lists (config::kMaxErrors):
// `sipguard check-config` and a reload name the total, not the listed lines.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "agent/config/loader.h"
#include "agent/daemon/apply_config.h"
#include "tests/daemon/harness.h"

using namespace sipguard;

namespace {

constexpr size_t kProblems = config::kMaxErrors * 3 + 7; // 157 unknown keys

struct BadConfig {
	std::filesystem::path dir;
	std::filesystem::path file;
	BadConfig()
	{
		char tmpl[] = "/tmp/sg-error-count-XXXXXX";
		dir = ::mkdtemp(tmpl);
		file = dir / "bad.toml";
		std::ofstream out(file);
		for (size_t i = 0; i < kProblems; ++i)
			out << "bogus_" << i << " = 1\n";
	}
	~BadConfig() { std::filesystem::remove_all(dir); }
};

} // namespace

TEST_CASE("check-config with 157 errors lists 50, says how many more, and counts all 157")
{
	const char* bin = std::getenv("SIPGUARD_BIN");
	REQUIRE_MESSAGE(bin, "SIPGUARD_BIN is set by meson");
	BadConfig cfg;
	const auto err = cfg.dir / "err";
	const std::string cmd = std::string(bin) + " check-config " + cfg.file.string() + " 2>" + err.string();
	const int ws = std::system(cmd.c_str());
	REQUIRE(WIFEXITED(ws));
	CHECK(WEXITSTATUS(ws) == 1);
	std::ifstream in(err);
	const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	CHECK(text.find(cfg.file.string() + ":50:1: bogus_49: unknown key\n") != std::string::npos);
	CHECK(text.find("bogus_50: unknown key") == std::string::npos);
	CHECK(text.find("... and 107 more errors\n") != std::string::npos);
	CHECK(text.find("sipguard: " + cfg.file.string() + ": 157 errors; the file is not valid\n") != std::string::npos);
}

TEST_CASE("a reload refused for 157 errors says 157, and the running config stays")
{
	BadConfig cfg;
	auto rt = test::make_runtime();
	const daemon::ConfigPtr before = rt->config();
	rules::Netlink nl; // never opened: a config that does not load never reaches the kernel
	rules::TableSpec spec = daemon::table_spec(*before);
	util::Status st = daemon::apply_config_file(*rt, nl, spec, cfg.file.string(), true);
	REQUIRE_FALSE(st.ok());
	CHECK(st.message == cfg.file.string() + " is invalid (157 errors: " + cfg.file.string() +
	                        ":1:1: bogus_0: unknown key)");
	CHECK(rt->config() == before);
}
