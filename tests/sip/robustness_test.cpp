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

void replace_all(std::string& s, std::string_view from, std::string_view to)
{
	for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
		s.replace(pos, from.size(), to);
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
