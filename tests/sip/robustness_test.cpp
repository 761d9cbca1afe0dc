// SPDX-License-Identifier: GPL-2.0-or-later
// Robustness suite: every PROTOS c07-sip case and every pjproject fuzz seed
// through the SIP parser, the SDP parser and the stream framer, each in an
// exactly-sized heap buffer so AddressSanitizer catches any overread.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include "agent/sip/framer.h"
#include "agent/sip/parser.h"
#include "agent/sip/sdp.h"
#include "tests/corpus.h"

namespace fs = std::filesystem;
using namespace sipguard::sip;

namespace {

// A scratch directory removed at scope exit.
class TempDir {
public:
	TempDir()
	{
		char tmpl[] = "/tmp/sipguard-robustness-XXXXXX";
		if (const char* p = mkdtemp(tmpl))
			path_ = p;
	}
	~TempDir()
	{
		if (!path_.empty()) {
			std::error_code ec;
			fs::remove_all(path_, ec);
		}
	}
	TempDir(const TempDir&) = delete;
	TempDir& operator=(const TempDir&) = delete;
	const fs::path& path() const { return path_; }
	bool ok() const { return !path_.empty(); }

private:
	fs::path path_;
};

std::string read_file(const fs::path& p)
{
	std::ifstream in(p, std::ios::binary);
	std::ostringstream ss;
	ss << in.rdbuf();
	return ss.str();
}

bool have_tool(const char* name)
{
	const std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
	return std::system(cmd.c_str()) == 0;
}

struct Tally {
	size_t total = 0, valid = 0, malformed = 0, not_sip = 0;
};

// Runs one input through everything, from an exactly-sized heap copy.
void exercise(std::string_view input, Tally& t, Message* keep = nullptr)
{
	const size_t n = input.size();
	std::unique_ptr<char[]> buf(new char[n == 0 ? 1 : n]);
	if (n)
		std::memcpy(buf.get(), input.data(), n);
	const std::string_view exact(buf.get(), n);

	Message m;
	sdp::Session s;
	parse(exact, Transport::Datagram, m, s);
	++t.total;
	if (m.valid())
		++t.valid;
	else if (m.kind == Kind::NotSip && m.error == Malformation::None)
		++t.not_sip;
	else
		++t.malformed;
	CHECK(m.length <= n);
	CHECK(m.body.size() <= n);
	if (keep)
		*keep = m;

	Message st;
	parse(exact, Transport::Stream, st);
	CHECK((st.incomplete || st.length <= n));

	// The SDP parser on whatever follows the first blank line, valid or not,
	// and on the whole input (the pjproject SDP seeds are bare bodies).
	sdp::Session s2;
	const size_t blank = exact.find("\r\n\r\n");
	if (blank != std::string_view::npos)
		(void)sdp::parse(exact.substr(blank + 4), s2);
	(void)sdp::parse(exact, s2);

	// The framer, fed in two pieces.
	StreamFramer f(kMaxMessageBytes);
	const size_t half = n / 2;
	f.feed(exact.substr(0, half));
	Message fm;
	for (int i = 0; i < 1000 && f.next(fm) != StreamFramer::Status::NeedMore; ++i) {
	}
	f.feed(exact.substr(half));
	for (int i = 0; i < 1000 && f.next(fm) != StreamFramer::Status::NeedMore; ++i) {
	}
}

// Replaces every occurrence of from, left to right, never inside a
// replacement. The text is rebuilt rather than replaced in place: GCC 12 at
// -O2 and above reports a false -Wrestrict in the inlined std::string::replace
// (GCC PR 105329).
void replace_all(std::string& s, std::string_view from, std::string_view to)
{
	std::string out;
	size_t pos = 0;
	for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
		out.append(s, pos, hit - pos);
		out.append(to);
	}
	out.append(s, pos);
	s = std::move(out);
}

// Fills the PROTOS placeholders (SOURCES.md in the tarball): addresses from
// the documentation ranges, CANCEL as teardown, the real body length.
std::string fill_protos(std::string pdu)
{
	replace_all(pdu, "<To>", "bob@192.0.2.1");
	replace_all(pdu, "<From>", "alice@192.0.2.2");
	replace_all(pdu, "<From-Address>", "192.0.2.2");
	replace_all(pdu, "<From-IP>", "192.0.2.2");
	replace_all(pdu, "<Local-Port>", "5060");
	replace_all(pdu, "<Branch-ID>", "1");
	replace_all(pdu, "<Call-ID>", "1");
	replace_all(pdu, "<CSeq>", "1");
	replace_all(pdu, "<Teardown-Method>", "CANCEL");
	const size_t blank = pdu.find("\r\n\r\n");
	const size_t body = blank == std::string::npos ? 0 : pdu.size() - blank - 4;
	replace_all(pdu, "<Content-Length>", std::to_string(body));
	return pdu;
}

// "<decimal length> SP <PDU of that many bytes>", twice.
std::vector<std::string> protos_pdus(const std::string& file)
{
	std::vector<std::string> out;
	size_t pos = 0;
	while (pos < file.size() && out.size() < 2) {
		size_t sp = file.find(' ', pos);
		if (sp == std::string::npos || sp == pos || sp - pos > 9)
			break;
		size_t len = 0;
		for (size_t i = pos; i < sp; ++i) {
			if (file[i] < '0' || file[i] > '9')
				return out;
			len = len * 10 + static_cast<size_t>(file[i] - '0');
		}
		if (sp + 1 + len > file.size())
			len = file.size() - sp - 1;
		out.push_back(file.substr(sp + 1, len));
		pos = sp + 1 + len;
	}
	return out;
}

} // namespace

TEST_CASE("every PROTOS c07-sip case is classified without a crash; case 0 is valid")
{
	SIPGUARD_REQUIRE_CORPUS(corpus);
	const fs::path tarball = corpus / "protos-c07-sip.tar.xz";
	if (!fs::exists(tarball) || !have_tool("tar") || !have_tool("xz")) {
		MESSAGE("skipped: no protos-c07-sip.tar.xz, tar or xz");
		return;
	}
	TempDir dir;
	REQUIRE(dir.ok());
	const std::string cmd = "tar -xJf '" + tarball.string() + "' -C '" + dir.path().string() + "'";
	REQUIRE(std::system(cmd.c_str()) == 0);
	fs::path cases = dir.path() / "protos-c07-sip" / "cases";
	REQUIRE(fs::is_directory(cases));

	std::vector<fs::path> files;
	for (const auto& e : fs::directory_iterator(cases))
		files.push_back(e.path());
	std::sort(files.begin(), files.end());
	CHECK(files.size() == 4527);

	// Groups (GROUPS.tsv: name, first case, count) to report the INVITE
	// verdicts per mutated field.
	struct Group {
		std::string name;
		size_t first = 0, count = 0;
		Tally invite;
	};
	std::vector<Group> groups;
	{
		std::istringstream in(read_file(dir.path() / "protos-c07-sip" / "GROUPS.tsv"));
		std::string line;
		std::getline(in, line); // header
		while (std::getline(in, line)) {
			std::istringstream fields(line);
			Group g;
			if (fields >> g.name >> g.first >> g.count)
				groups.push_back(g);
		}
	}
	auto group_of = [&groups](size_t index) -> Group* {
		for (auto& g : groups)
			if (index >= g.first && index < g.first + g.count)
				return &g;
		return nullptr;
	};

	Tally t;
	for (const auto& p : files) {
		const auto pdus = protos_pdus(read_file(p));
		CHECK(pdus.size() == 2);
		const size_t index = static_cast<size_t>(std::strtoul(p.filename().c_str(), nullptr, 10));
		for (size_t i = 0; i < pdus.size(); ++i) {
			Message m;
			Group* g = group_of(index);
			exercise(fill_protos(pdus[i]), i == 0 && g ? g->invite : t, &m);
			if (p.filename() == "0000000") {
				INFO("reference case, PDU ", i, ": ", to_string(m.error), " ", m.error_detail);
				CHECK(m.valid());
				CHECK(m.method == (i == 0 ? Method::Invite : Method::Cancel));
			}
		}
	}
	std::ostringstream report;
	size_t invites = 0;
	for (const auto& g : groups) {
		report << "\n  " << g.name << ": " << g.invite.valid << " valid, " << g.invite.malformed << " malformed, "
		       << g.invite.not_sip << " not SIP";
		invites += g.invite.total;
	}
	MESSAGE("PROTOS INVITEs per group (" << invites << "):" << report.str());
	MESSAGE("PROTOS CANCELs (and INVITEs outside the groups): " << t.total << " total, " << t.valid << " valid, "
	                                                               << t.malformed << " malformed, " << t.not_sip << " not SIP");
	CHECK(invites + t.total == 2 * files.size());
	// A mutated SIP version is never valid.
	for (const auto& g : groups)
		if (g.name == "sip-version") {
			CHECK(g.invite.total == g.count);
			CHECK(g.invite.valid == 0);
		}
}

TEST_CASE("every pjproject fuzz seed goes through the SIP and SDP parsers")
{
	SIPGUARD_REQUIRE_CORPUS(corpus);
	const fs::path pj = corpus / "fuzz" / "pjproject";
	if (!fs::is_directory(pj)) {
		MESSAGE("skipped: no fuzz/pjproject in the corpus");
		return;
	}
	TempDir dir;
	REQUIRE(dir.ok());
	std::vector<fs::path> roots{pj};
	if (have_tool("unzip")) {
		for (const auto& e : fs::directory_iterator(pj)) {
			if (e.path().extension() != ".zip")
				continue;
			const fs::path dest = dir.path() / e.path().stem();
			const std::string cmd = "unzip -q -o '" + e.path().string() + "' -d '" + dest.string() + "'";
			CHECK(std::system(cmd.c_str()) == 0);
			roots.push_back(dest);
		}
	} else {
		MESSAGE("unzip missing: only the unpacked seed directories are used");
	}
	Tally t;
	for (const auto& root : roots)
		for (const auto& e : fs::recursive_directory_iterator(root))
			if (e.is_regular_file() && e.path().extension() != ".zip")
				exercise(read_file(e.path()), t);
	MESSAGE("pjproject seeds: " << t.total << " inputs, " << t.valid << " valid SIP, " << t.malformed << " malformed, "
	                            << t.not_sip << " not SIP");
	CHECK(t.total >= 27);
	CHECK(t.valid > 0);
}

namespace {

uint16_t be16(const unsigned char* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t le32(const unsigned char* p)
{
	return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
	       static_cast<uint32_t>(p[3]) << 24;
}

// UDP payloads to or from the SIP ports (5060-5080) of a classic
// little-endian pcap: Ethernet (+VLAN), Linux SLL, BSD null, raw IPv4/IPv6.
// Fragments and IPv6 extension headers are skipped: this is a parser test,
// not a decoder test (the replay code owns reassembly).
std::vector<std::string> sip_udp_payloads(const std::string& file)
{
	std::vector<std::string> out;
	const auto* d = reinterpret_cast<const unsigned char*>(file.data());
	if (file.size() < 24 || le32(d) != 0xa1b2c3d4)
		return out;
	const uint32_t link = le32(d + 20);
	size_t pos = 24;
	while (pos + 16 <= file.size()) {
		const uint32_t caplen = le32(d + pos + 8);
		pos += 16;
		if (caplen > file.size() - pos)
			break;
		const unsigned char* p = d + pos;
		size_t n = caplen;
		pos += caplen;
		uint16_t ethertype = 0;
		if (link == 1) { // Ethernet
			if (n < 14)
				continue;
			ethertype = be16(p + 12);
			p += 14, n -= 14;
			if (ethertype == 0x8100 && n >= 4) {
				ethertype = be16(p + 2);
				p += 4, n -= 4;
			}
		} else if (link == 113) { // Linux cooked
			if (n < 16)
				continue;
			ethertype = be16(p + 14);
			p += 16, n -= 16;
		} else if (link == 0) { // BSD loopback: host-order AF
			if (n < 4)
				continue;
			ethertype = le32(p) == 2 ? 0x0800 : 0x86dd;
			p += 4, n -= 4;
		} else if (link == 228 || link == 101 || link == 12) { // raw IP
			if (n < 1)
				continue;
			ethertype = (p[0] >> 4) == 4 ? 0x0800 : 0x86dd;
		} else {
			return out;
		}
		size_t l4 = 0;
		if (ethertype == 0x0800) {
			if (n < 20 || (p[0] >> 4) != 4 || p[9] != 17)
				continue;
			if ((be16(p + 6) & 0x3fff) != 0) // MF or an offset: a fragment
				continue;
			l4 = static_cast<size_t>(p[0] & 0x0f) * 4;
		} else if (ethertype == 0x86dd) {
			if (n < 40 || p[6] != 17)
				continue;
			l4 = 40;
		} else {
			continue;
		}
		if (n < l4 + 8)
			continue;
		const unsigned char* udp = p + l4;
		const uint16_t sport = be16(udp), dport = be16(udp + 2);
		const bool sip_port = (sport >= 5060 && sport <= 5080) || (dport >= 5060 && dport <= 5080);
		const size_t ulen = be16(udp + 4);
		if (!sip_port || ulen < 8 || ulen > n - l4)
			continue;
		// RTP/RTCP (version 2: first byte 0x80-0xbf) on a port in that range.
		if (ulen > 8 && (udp[8] & 0xc0) == 0x80)
			continue;
		out.emplace_back(reinterpret_cast<const char*>(udp + 8), ulen - 8);
	}
	return out;
}

} // namespace

// The real calls and registrations in the corpus captures (phones, PBXs,
// carriers) must all parse as valid: a false "malformed" here would make the
// malformed-traffic detector ban a working phone.
TEST_CASE("real SIP traffic in the corpus captures parses as valid")
{
	SIPGUARD_REQUIRE_CORPUS(corpus);
	const fs::path pcaps = corpus / "pcaps";
	if (!fs::is_directory(pcaps)) {
		MESSAGE("skipped: no pcaps in the corpus");
		return;
	}
	// Captures of genuine traffic. The crafted ones (zeek long paths and
	// junk, suricata duplicate To headers) are only run for crashes below.
	const char* const genuine[] = {
		"snort3_demo/SIP_CALL_RTP_G711.pcap",
		"snort3_demo/SIP_Eyebeam2Eyebeam_Video_Audio.pcap",
		"sngrep/aaa.pcap",
		"zeek/wireshark.pcap",
		"wireshark-samples_via_rtp-pcap/SIP_DTMF2.pcap",
		"wireshark-samples_via_rtp-pcap/sip-rtp-g722.pcap",
		"wireshark-samples_via_rtp-pcap/sip-rtp-opus.pcap",
		"wireshark-samples_via_rtp-pcap/nb6-telephone.pcap",
		"suricata-verify/sip-body-frames__public-cloudshark-sip-s0.pcap",
		"suricata-verify/sip-options-method__input.pcap",
		"suricata-verify/sip-sdp__sdp.pcap",
		"suricata-verify/sip-pattern-matching__sip.pcap",
	};
	size_t checked = 0;
	for (const char* name : genuine) {
		const fs::path p = pcaps / name;
		if (!fs::exists(p))
			continue;
		for (const auto& payload : sip_udp_payloads(read_file(p))) {
			Message m;
			sdp::Session s;
			parse(payload, Transport::Datagram, m, s);
			if (m.kind == Kind::NotSip && m.not_sip == NotSipKind::Keepalive)
				continue;
			INFO(std::string(name), ": ", to_string(m.error), " ", m.error_detail, " | ", payload.substr(0, payload.find('\r')));
			CHECK(m.valid());
			++checked;
		}
	}
	MESSAGE("genuine SIP datagrams checked: " << checked);
	CHECK(checked > 200);

	// Every capture, crafted ones included: no crash, no overread.
	Tally t;
	for (const auto& e : fs::recursive_directory_iterator(pcaps))
		if (e.is_regular_file() && e.path().extension() == ".pcap")
			for (const auto& payload : sip_udp_payloads(read_file(e.path())))
				exercise(payload, t);
	MESSAGE("all captures: " << t.total << " SIP-port datagrams, " << t.valid << " valid, " << t.malformed
	                         << " malformed, " << t.not_sip << " not SIP");
}
