// SPDX-License-Identifier: GPL-2.0-or-later
// One daemon per state directory: the second is refused with the first one's
// pid and the lock file's path, and the lock goes with its holder.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "agent/daemon/instance_lock.h"

using namespace sipguard;

namespace {

struct TempDir {
	std::filesystem::path path;
	TempDir()
	{
		char tmpl[] = "/tmp/sipguard-lock-XXXXXX";
		path = ::mkdtemp(tmpl);
	}
	~TempDir() { std::filesystem::remove_all(path); }
};

} // namespace

TEST_CASE("one daemon per state directory: the second is refused with the first one's pid")
{
	TempDir dir;
	const std::string state = (dir.path / "state" / "sub").string();
	daemon::InstanceLock first;
	util::Status st = first.acquire(state);
	REQUIRE_MESSAGE(st.ok(), st.message);
	CHECK(first.held());
	CHECK(first.path() == state + "/sipguard.lock");

	// flock(2) conflicts between open file descriptions, in one process too.
	daemon::InstanceLock second;
	st = second.acquire(state);
	CHECK_FALSE(st.ok());
	CHECK_FALSE(second.held());
	CHECK(st.message == "another sipguard is running (pid " + std::to_string(::getpid()) + "); lock " + state +
	                        "/sipguard.lock");

	// Released with the holder (as when the process ends, kill -9 too).
	first = daemon::InstanceLock();
	daemon::InstanceLock third;
	st = third.acquire(state);
	CHECK_MESSAGE(st.ok(), st.message);
}
