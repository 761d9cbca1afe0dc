// SPDX-License-Identifier: GPL-2.0-or-later
// The control thread against a real unix socket in a temp dir (no kernel
// state): request/response, several requests on one connection, followers
// receiving published events, malformed requests, HTTP /metrics, peer
// credential policy, and refusing to hijack a live socket.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>

#include "agent/control/client.h"
#include "agent/control/server.h"
#include "tests/temp_dir.h"

using namespace sipguard;
using test::TempDir;
using namespace sipguard::control;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<ControlServer> make_server(const TempDir& d, std::atomic<int>& calls)
{
	ControlServer::Options o;
	o.control_path = (d.path / "control.sock").string();
	o.metrics_path = (d.path / "metrics.sock").string();
	auto s = ControlServer::create(
		o,
		[&calls](const control::Request& r, const PeerCred& c) -> HandlerResult {
			++calls;
			json::Value body = json::Object{};
			body.set("cmd", r.cmd);
			body.set("uid", static_cast<int64_t>(c.uid));
			if (r.cmd == "unban")
				return {control::encode_error("no active ban for " + r.args["addr"].as_string())};
			return {control::encode_ok(body), r.cmd == "follow"};
		},
		[] { return std::string("# TYPE sipguard_up gauge\nsipguard_up 1\n"); });
	s->start();
	return s;
}

std::string raw_exchange(const std::string& path, const std::string& data)
{
	int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
	sockaddr_un sa{};
	sa.sun_family = AF_UNIX;
	std::strcpy(sa.sun_path, path.c_str());
	REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
	REQUIRE(::send(fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size()));
	::shutdown(fd, SHUT_WR);
	std::string out;
	char buf[4096];
	ssize_t n;
	while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0)
		out.append(buf, static_cast<size_t>(n));
	::close(fd);
	return out;
}

} // namespace

TEST_CASE("requests get responses, errors stay errors, sockets are 0660")
{
	TempDir d{"sg-ctl"};
	std::atomic<int> calls{0};
	auto s = make_server(d, calls);
	struct stat st{};
	REQUIRE(::stat((d.path / "control.sock").c_str(), &st) == 0);
	CHECK((st.st_mode & 0777) == 0660);

	ControlClient c((d.path / "control.sock").string());
	auto r = c.call(control::encode_request("status"));
	CHECK(r.ok);
	CHECK(r.body["cmd"].as_string() == "status");
	CHECK(r.body["uid"].as_int() == static_cast<int64_t>(::geteuid()));
	json::Value args = json::Object{};
	args.set("addr", "192.0.2.1");
	r = c.call(control::encode_request("unban", args));
	CHECK_FALSE(r.ok);
	CHECK(r.error == "no active ban for 192.0.2.1");
	r = c.call("{\"cmd\":\"rm -rf\"}");
	CHECK_FALSE(r.ok);
	CHECK(r.error == "unknown command \"rm -rf\"");
	r = c.call("not json");
	CHECK_FALSE(r.ok);
	CHECK(calls == 2);

	// Two requests in one write are answered in order.
	std::string both = raw_exchange((d.path / "control.sock").string(),
	                                control::encode_request("status") + "\n" + control::encode_request("bans") + "\n");
	CHECK(both.find("\"cmd\":\"status\"") < both.find("\"cmd\":\"bans\""));
	s->stop();
	CHECK_FALSE(std::filesystem::exists(d.path / "control.sock"));
}

TEST_CASE("followers receive published events; HTTP GET /metrics is served")
{
	TempDir d{"sg-ctl"};
	std::atomic<int> calls{0};
	auto s = make_server(d, calls);
	ControlClient f((d.path / "control.sock").string());
	REQUIRE(f.call(control::encode_request("follow")).ok);
	ControlClient other((d.path / "control.sock").string());
	REQUIRE(other.call(control::encode_request("status")).ok);
	s->publish("{\"event\":\"ban\",\"addr\":\"192.0.2.7\"}");
	s->publish("{\"event\":\"unban\",\"addr\":\"192.0.2.7\"}");
	CHECK(f.read_line(2000) == std::string("{\"event\":\"ban\",\"addr\":\"192.0.2.7\"}"));
	CHECK(f.read_line(2000) == std::string("{\"event\":\"unban\",\"addr\":\"192.0.2.7\"}"));

	std::string http = raw_exchange((d.path / "metrics.sock").string(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	CHECK(http.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
	CHECK(http.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
	CHECK(http.find("\r\n\r\n# TYPE sipguard_up gauge\nsipguard_up 1\n") != std::string::npos);
	std::string nf = raw_exchange((d.path / "metrics.sock").string(), "GET /admin HTTP/1.1\r\n\r\n");
	CHECK(nf.rfind("HTTP/1.0 404", 0) == 0);
}

TEST_CASE("a second server refuses a live socket; a stale one is replaced")
{
	TempDir d{"sg-ctl"};
	std::atomic<int> calls{0};
	auto s = make_server(d, calls);
	ControlServer::Options o;
	o.control_path = (d.path / "control.sock").string();
	CHECK_THROWS_WITH_AS(ControlServer::create(o, {}, {}),
	                     doctest::Contains("another sipguard daemon is listening"), std::runtime_error);
	s.reset();
	// Leave a stale socket file behind, as a crashed daemon would.
	int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
	sockaddr_un sa{};
	sa.sun_family = AF_UNIX;
	std::strcpy(sa.sun_path, o.control_path.c_str());
	REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
	::close(fd);
	auto s2 = ControlServer::create(o, [](const control::Request&, const PeerCred&) -> HandlerResult {
		return {control::encode_ok()};
	}, {});
	s2->start();
	CHECK(ControlClient(o.control_path).call(control::encode_request("status")).ok);
}

TEST_CASE("peer credentials: root, our uid, or the group")
{
	const gid_t grp = 4242;
	CHECK(ControlServer::peer_allowed({::getpid(), 0, 0}, false, 0));
	CHECK(ControlServer::peer_allowed({::getpid(), ::geteuid(), 0}, false, 0));
	const uid_t other = ::geteuid() == 0 ? 65534 : 0;
	if (other != 0) {
		CHECK_FALSE(ControlServer::peer_allowed({::getpid(), other, 65534}, false, 0));
		CHECK_FALSE(ControlServer::peer_allowed({::getpid(), other, 65534}, true, grp));
		CHECK(ControlServer::peer_allowed({::getpid(), other, grp}, true, grp));
	}
}

TEST_CASE("no daemon: the client names the socket and suggests sipguard run")
{
	try {
		ControlClient c("/nonexistent/sipguard.sock");
		FAIL("connected to nothing");
	} catch (const std::runtime_error& e) {
		CHECK(std::string(e.what()) == "cannot reach the daemon at /nonexistent/sipguard.sock: No such file or "
		                               "directory (is `sipguard run` running?)");
	}
}
