// SPDX-License-Identifier: GPL-2.0-or-later
// The daemon lab: two namespaces, many sources, probes and SIP (lab.h).
#include "tests/privileged/daemon/lab.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <optional>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

namespace sipguard::test {

namespace {

constexpr const char* kClient4 = "198.18.0.1";
constexpr const char* kClient6 = "fd00:5b::1";

} // namespace

bool is_v6(const std::string& a) { return a.find(':') != std::string::npos; }

sockaddr_storage make_addr(const std::string& addr, uint16_t port, socklen_t& len)
{
	sockaddr_storage ss{};
	if (is_v6(addr)) {
		auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (inet_pton(AF_INET6, addr.c_str(), &s6->sin6_addr) != 1)
			throw std::runtime_error("bad address " + addr);
		len = sizeof(sockaddr_in6);
	} else {
		auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		if (inet_pton(AF_INET, addr.c_str(), &s4->sin_addr) != 1)
			throw std::runtime_error("bad address " + addr);
		len = sizeof(sockaddr_in);
	}
	return ss;
}

Fd::~Fd()
{
	if (fd >= 0)
		::close(fd);
}

int bound_udp(const std::string& addr, uint16_t port)
{
	socklen_t len = 0;
	sockaddr_storage ss = make_addr(addr, port, len);
	int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
	int one = 1;
	::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
		int err = errno;
		::close(fd);
		throw std::runtime_error("bind " + addr + ": " + std::strerror(err));
	}
	return fd;
}

std::string source_of(const sockaddr_storage& ss)
{
	char buf[INET6_ADDRSTRLEN] = {};
	if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
	else
		inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
	return buf;
}

DaemonLab::DaemonLab(std::vector<std::string> sources) : sources_(std::move(sources))
{
	link_veth(client_, "veth0", {std::string(kClient4) + "/24", std::string(kClient6) + "/64"}, pbx_, "veth0",
	          {std::string(kPbx4) + "/24", std::string(kPbx6) + "/64"});
	for (const auto& p : sources_)
		client_.must(std::string("ip ") + (is_v6(p) ? "-6 " : "") + "addr add " + p + (is_v6(p) ? "/128" : "/32") +
		             " dev veth0" + (is_v6(p) ? " nodad" : ""));
	std::string mac = pbx_.exec_capture("cat /sys/class/net/veth0/address");
	while (!mac.empty() && (mac.back() == '\n' || mac.back() == ' '))
		mac.pop_back();
	if (mac.size() != 17)
		throw std::runtime_error("no MAC address for the pbx's veth0: '" + mac + "'");
	client_.must(std::string("ip neigh replace ") + kPbx4 + " lladdr " + mac + " dev veth0 nud permanent");
	client_.must(std::string("ip -6 neigh replace ") + kPbx6 + " lladdr " + mac + " dev veth0 nud permanent");
	pbx_.must("sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 "
	          "net.ipv4.conf.veth0.rp_filter=0");
	{
		EnterNetns in(pbx_);
		if (rules::Status st = nl_.open(); !st.ok())
			throw std::runtime_error(st.message);
	}
	// An always-aborted transaction: nothing is committed, nothing notified.
	if (rules::Status st = rules::probe_queue_backend(nl_, backend_); !st.ok())
		throw std::runtime_error(st.message);
	if (rules::Status st = rules::probe_defrag_backend(nl_, defrag_); !st.ok())
		throw std::runtime_error(st.message);
}

std::map<std::string, int> DaemonLab::send_probes(const std::vector<std::string>& from, int per_source)
{
	const std::vector<std::string>& srcs = from.empty() ? sources_ : from;
	std::map<std::string, int> got;
	for (const auto& p : srcs)
		got[p] = 0;
	Fd rx4, rx6;
	{
		EnterNetns in(pbx_);
		rx4.fd = bound_udp(kPbx4, kProbePort);
		rx6.fd = bound_udp(kPbx6, kProbePort);
	}
	{
		EnterNetns in(client_);
		const char msg[] = "probe";
		for (const auto& p : srcs) {
			Fd tx;
			tx.fd = bound_udp(p, 40000);
			socklen_t len = 0;
			sockaddr_storage to = make_addr(is_v6(p) ? kPbx6 : kPbx4, kProbePort, len);
			for (int i = 0; i < per_source; ++i)
				::sendto(tx.fd, msg, sizeof msg - 1, 0, reinterpret_cast<sockaddr*>(&to), len);
		}
	}
	pollfd pfd[2] = {{rx4.fd, POLLIN, 0}, {rx6.fd, POLLIN, 0}};
	const int max = static_cast<int>(srcs.size()) * per_source * 2 + 10;
	for (int total = 0; total < max;) {
		if (::poll(pfd, 2, 250) <= 0)
			break;
		for (auto& f : pfd) {
			if (!(f.revents & POLLIN))
				continue;
			char buf[256];
			sockaddr_storage src{};
			socklen_t fl = sizeof src;
			if (::recvfrom(f.fd, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&src), &fl) > 0) {
				++got[source_of(src)];
				++total;
			}
		}
	}
	return got;
}

void DaemonLab::send_sip(const std::string& from, const std::string& text)
{
	EnterNetns in(client_);
	Fd tx;
	tx.fd = bound_udp(from, 5070);
	socklen_t len = 0;
	sockaddr_storage to = make_addr(is_v6(from) ? kPbx6 : kPbx4, 5060, len);
	if (::sendto(tx.fd, text.data(), text.size(), 0, reinterpret_cast<sockaddr*>(&to), len) < 0)
		throw std::runtime_error(std::string("sendto: ") + std::strerror(errno));
}

std::string scanner_options(const std::string& from, int seq)
{
	const std::string pbx = is_v6(from) ? std::string("[") + DaemonLab::kPbx6 + "]" : DaemonLab::kPbx4;
	const std::string via = is_v6(from) ? "[" + from + "]" : from;
	return fmt::format("OPTIONS sip:100@{0} SIP/2.0\r\nVia: SIP/2.0/UDP {1}:5070;branch=z9hG4bK{2}\r\n"
	                   "From: \"sipvicious\"<sip:100@1.1.1.1>;tag={2}\r\nTo: <sip:100@{0}>\r\nCall-ID: {2}@x\r\n"
	                   "CSeq: 1 OPTIONS\r\nUser-Agent: friendly-scanner\r\nMax-Forwards: 70\r\n"
	                   "Content-Length: 0\r\n\r\n",
	                   pbx, via, seq);
}

namespace {

// "2026-11-29T22:41:07.123Z" (engine::format_rfc3339) to the agent's clock.
std::optional<rules::TimePoint> parse_rfc3339(const std::string& text)
{
	struct tm tm {};
	int ms = 0;
	if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
	                &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return std::nullopt;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return rules::TimePoint(std::chrono::seconds(::timegm(&tm)) + std::chrono::milliseconds(ms));
}

} // namespace

std::vector<rules::BanRecord> records_of(const util::json::Value& bans)
{
	std::vector<rules::BanRecord> out;
	for (const auto& b : bans.as_array()) {
		auto a = net::IpAddress::parse(b["addr"].as_string());
		auto until = parse_rfc3339(b["until"].as_string());
		if (!a || !until)
			continue;
		const auto len = static_cast<uint8_t>(b["prefix_len"].as_int());
		out.push_back({net::Cidr{a->masked(len), len}, *until});
	}
	return out;
}

std::set<std::string> covered(const util::json::Value& bans, const std::vector<std::string>& addrs)
{
	std::set<std::string> out;
	for (const auto& r : records_of(bans))
		for (const auto& a : addrs)
			if (rules::unmap_v4(r.target).contains(*net::IpAddress::parse(a)))
				out.insert(a);
	return out;
}

util::Result<rules::ReconcileReport> check_kernel(DaemonLab& lab, const rules::TableSpec& spec,
                                                   const std::vector<rules::BanRecord>& records)
{
	rules::TableSpec with_defrag = spec;
	with_defrag.defrag = lab.defrag();
	return rules::reconcile(lab.nl(), with_defrag, lab.backend(), records, rules::system_now(),
	                        rules::DiffOptions{std::chrono::milliseconds(2500)});
}

} // namespace sipguard::test
