// SPDX-License-Identifier: GPL-2.0-or-later
// One daemon per state directory and per network namespace: the second is
// refused with the first one's pid and the lock's name, and the lock goes
// with its holder. Abstract socket names of the test's own (with its pid),
// so that tests running in parallel in one namespace do not meet.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include <filesystem>
#include <string>

#include "agent/daemon/instance_lock.h"
#include "tests/temp_dir.h"

using namespace sipguard;
using test::TempDir;

namespace {

std::string test_name(const char* what) { return "sipguard-test/" + std::to_string(::getpid()) + "/" + what; }

} // namespace

TEST_CASE("one daemon per state directory: the second is refused with the first one's pid")
{
	TempDir dir{"sipguard-lock"};
	const std::string state = (dir.path / "state" / "sub").string();
	const std::string name = test_name("dir");
	daemon::InstanceLock first;
	util::Status st = first.acquire(state, name);
	REQUIRE_MESSAGE(st.ok(), st.message);
	CHECK(first.held());
	CHECK(first.path() == state + "/sipguard.lock");

	// flock(2) conflicts between open file descriptions, in one process too.
	daemon::InstanceLock second;
	st = second.acquire(state, test_name("dir2"));
	CHECK_FALSE(st.ok());
	CHECK_FALSE(second.held());
	CHECK(st.message == "another sipguard is running (pid " + std::to_string(::getpid()) + "); lock " + state +
	                        "/sipguard.lock");

	// Released with the holder (as when the process ends, kill -9 too).
	first = daemon::InstanceLock();
	daemon::InstanceLock third;
	st = third.acquire(state, name);
	CHECK_MESSAGE(st.ok(), st.message);
}

TEST_CASE("one daemon per network namespace: another state directory is refused too, with the holder's pid")
{
	TempDir dir{"sipguard-lock"};
	const std::string name = test_name("netns");
	daemon::InstanceLock first;
	util::Status st = first.acquire((dir.path / "a").string(), name);
	REQUIRE_MESSAGE(st.ok(), st.message);
	REQUIRE(first.netns_fd() >= 0);

	daemon::InstanceLock second;
	st = second.acquire((dir.path / "b").string(), name);
	CHECK_FALSE(st.ok());
	CHECK(st.error == EADDRINUSE);
	CHECK_FALSE(second.held());
	CHECK(st.message == "another sipguard is running in this network namespace (pid " + std::to_string(::getpid()) +
	                        "); it owns table inet sipguard here (lock @" + name + ")");
	// The refused daemon let go of its state directory's lock.
	daemon::InstanceLock b;
	CHECK(b.acquire((dir.path / "b").string(), "").ok());

	// The holder answers who it is as often as asked (drained, never full).
	for (int i = 0; i < 40; ++i) {
		daemon::InstanceLock again;
		CHECK(again.acquire((dir.path / "c").string(), name).message.find("(pid ") != std::string::npos);
		first.drain();
	}

	// Gone with its holder: the name is free again at once.
	first = daemon::InstanceLock();
	daemon::InstanceLock third;
	st = third.acquire((dir.path / "c").string(), name);
	CHECK_MESSAGE(st.ok(), st.message);
}

TEST_CASE("a name bound by a process that never listens is not a sipguard: the start goes on")
{
	TempDir dir{"sipguard-lock"};
	const std::string name = test_name("squat");
	sockaddr_un sa{};
	sa.sun_family = AF_UNIX;
	std::memcpy(sa.sun_path + 1, name.data(), name.size());
	util::UniqueFd squatter(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	REQUIRE(::bind(squatter.get(), reinterpret_cast<sockaddr*>(&sa),
	               static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())) == 0);
	daemon::InstanceLock lock;
	util::Status st = lock.acquire(dir.path.string(), name);
	CHECK_MESSAGE(st.ok(), st.message);
	CHECK(lock.held());
	CHECK(lock.netns_fd() < 0);
}
