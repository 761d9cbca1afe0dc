// SPDX-License-Identifier: GPL-2.0-or-later
// The Via and auth shortcuts read what they accept exactly as the general
// paths do (same fields, same views, same verdicts), and leave every other
// form, valid or not, to them.
#include <doctest/doctest.h>

#include <deque>
#include <string>

#include "agent/sip/parser.h"
#include "tests/sip/test_util.h"

using namespace sipguard::sip;
using sipguard::sip::test::wire;

namespace {

// Parses a copy kept alive for the rest of the test run: a Message's views
// point into the buffer it was parsed from.
const Message& parsed(std::string_view text)
{
	static std::deque<std::string> keep;
	static std::deque<Message> messages;
	keep.emplace_back(text);
	messages.emplace_back();
	parse(keep.back(), Transport::Datagram, messages.back());
	return messages.back();
}

std::string with_via(std::string_view via)
{
	return wire("OPTIONS sip:100@192.0.2.4 SIP/2.0\nVia: " + std::string(via)
	            + "\nFrom: <sip:a@b>;tag=1\nTo: <sip:100@192.0.2.4>\nCall-ID: v1\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n");
}

} // namespace

TEST_CASE("the Via shortcut agrees with the general path on every field and verdict")
{
	// The shortcut reads every Via value of these itself.
	const char* const usual[] = {
	    "SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bK-1337766095;rport",
	    "SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK-524287-1---c7d2e9;received=192.0.2.101;rport=5060",
	    "SIP/2.0/TCP pc33.atlanta.example.com;branch=z9hG4bK776asdhds",
	    "sip/2.0/udp h;rport;branch=z9hG4bK1",
	    "SIP/2.0/TLS h:5061;branch=z9hG4bK1",
	    "SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKasudf;alias",
	    "SIP/2.0/UDPX h",
	    "SIP/2.0/SCTP h_1.example.com:65535;branch=z9hG4bK_a.b-c",
	    "SIP/2.0/UDP h;BRANCH=x;RPORT=0;Received=h2",
	    "SIP/2.0/UDP h;i=5;x-y=a.b;branch=z9",
	    "SIP/2.0/UDP h;branch=1,SIP/2.0/TCP h2:5061;branch=2",
	    "SIP/2.0/UDP h;branch=1, SIP/2.0/TCP h2",
	    "SIP/2.0/UDP h",
	    "SIP/2.0/UDP h:0",
	    "SIP/2.0/UDP h:00001",
	    "SIP/2.0/UDP h;rport;rport=9",
	    "SIP/2.0/UDP h;rport=9;rport",
	    "SIP/2.0/UDP h;branch=a;branch=b",
	    "SIP/2.0/UDP h;rportx;rport",
	    "SIP/2.0/UDP h;rport,SIP/2.0/UDP h2;rport=1",
	    "SIP/2.0/UDP h;branchx=1;receivedx;rpor=2",
	};
	for (std::string_view v : usual) {
		CAPTURE(v);
		CHECK(detail::via_shortcut_accepts(v));
		CHECK(detail::via_shortcut_agrees(v));
	}
	// These it leaves to the general path (wholly or from one value on),
	// whether that accepts them or not.
	const std::string long_transport = "SIP/2.0/" + std::string(300, 'T') + " h";
	const std::string long_host = "SIP/2.0/UDP " + std::string(300, 'h');
	const std::string long_branch = "SIP/2.0/UDP h;branch=" + std::string(300, 'b');
	const std::string other[] = {
	    "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1",
	    "SIP / 2.0 / UDP h;branch=1",
	    "SIP/2.1/UDP h;branch=1",
	    "SIP/2.0/UDP  h;branch=1",
	    "SIP/2.0/UDP\th",
	    "SIP/2.0/U!DP h",
	    "SIP/2.0/X h",
	    "SIP/2.0/UDP h ;branch=1",
	    "SIP/2.0/UDP h:5060 ;branch=1",
	    "SIP/2.0/UDP h : 5060",
	    "SIP/2.0/UDP h: 5060",
	    "SIP/2.0/UDP h:",
	    "SIP/2.0/UDP h:65536",
	    "SIP/2.0/UDP h:050600",
	    "SIP/2.0/UDP h:12a",
	    "SIP/2.0/UDP h!x",
	    "SIP/2.0/UDP h;branch=",
	    "SIP/2.0/UDP h;branch=;rport",
	    "SIP/2.0/UDP h;branch=\"x\"",
	    "SIP/2.0/UDP h;branch= x",
	    "SIP/2.0/UDP h;branch=z9:1",
	    "SIP/2.0/UDP h;branch=a!b",
	    "SIP/2.0/UDP h;branch",
	    "SIP/2.0/UDP h;BRANCH;rport",
	    "SIP/2.0/UDP h;received",
	    "SIP/2.0/UDP h;received=",
	    "SIP/2.0/UDP h;received=;rport",
	    "SIP/2.0/UDP h;received=[2001:db8::1]",
	    "SIP/2.0/UDP h;received=a@b",
	    "SIP/2.0/UDP h;rport=",
	    "SIP/2.0/UDP h;rport=;x",
	    "SIP/2.0/UDP h;rport=65536",
	    "SIP/2.0/UDP h;rport=123456",
	    "SIP/2.0/UDP h;rport=12a",
	    "SIP/2.0/UDP h;rport=\"1\"",
	    "SIP/2.0/UDP h;;rport",
	    "SIP/2.0/UDP h;rport;",
	    "SIP/2.0/UDP h;x=\"q\"",
	    "SIP/2.0/UDP h;x=",
	    "SIP/2.0/UDP h;x=a=b",
	    "SIP/2.0/UDP h;=x",
	    "SIP/2.0/UDP h;branch=1,",
	    "SIP/2.0/UDP h ,SIP/2.0/TCP h2",
	    "SIP/2.0/UDP h,,SIP/2.0/TCP h2",
	    "SIP/2.0/UDP h;branch=1\r\n ;rport",
	    "SIP/2.0/UDP",
	    "SIP/2.0/UDP ",
	    "",
	    " ",
	    long_transport,
	    long_host,
	    long_branch,
	};
	for (const std::string& v : other) {
		CAPTURE(v);
		CHECK_FALSE(detail::via_shortcut_accepts(v));
		CHECK(detail::via_shortcut_agrees(v));
	}
	// A value the shortcut reads is really read, in a whole message.
	const Message& m = parsed(with_via(
	    "SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK-c7d2e9;received=192.0.2.9;rport=5060, SIP/2.0/TCP h2;rport"));
	REQUIRE(m.valid());
	REQUIRE(m.via_count == 2);
	CHECK(m.via_total == 2);
	CHECK(m.via[0].transport == "UDP");
	CHECK(m.via[0].host == "192.0.2.101");
	CHECK(m.via[0].port == 5060);
	CHECK(m.via[0].branch == "z9hG4bK-c7d2e9");
	CHECK(m.via[0].received == "192.0.2.9");
	CHECK(m.via[0].has_rport);
	CHECK(m.via[0].rport == 5060);
	CHECK(m.via[1].transport == "TCP");
	CHECK(m.via[1].host == "h2");
	CHECK(m.via[1].port == 0);
	CHECK(m.via[1].branch.empty());
	CHECK(m.via[1].has_rport);
	CHECK(m.via[1].rport == 0);
	// What the general path rejects stays rejected, with its reason.
	CHECK(parsed(with_via("SIP/2.0/UDP h;branch=" + std::string(300, 'b'))).error == Malformation::OversizedField);
	CHECK(parsed(with_via("SIP/2.0/UDP h;rport=65536")).error == Malformation::BadVia);
	CHECK(parsed(with_via("SIP/2.0/UDP h;received")).error == Malformation::BadVia);
	CHECK(parsed(with_via("SIP/2.0/UDP h;branch=1,")).error == Malformation::BadVia);
}

TEST_CASE("the auth shortcuts agree with the general loop on credentials, challenges and verdicts")
{
	// The bench's Authorization and WWW-Authenticate, and other usual forms:
	// the shortcuts read all of each.
	const char* const usual[] = {
	    "Digest username=\"1001\",realm=\"asterisk\",nonce=\"1732917385/8d4f4c1c2b7b0e3a6f1c9e2d5a7b8c90\","
	    "uri=\"sip:pbx.example.com\",response=\"2f0c8e6c7b1a9d3e4f5a6b7c8d9e0f1a\",cnonce=\"b8c9d0e1f2a3b4c5\","
	    "nc=00000001,qop=auth,algorithm=MD5,opaque=\"4c0e5a8b2d1f3e6a\"",
	    "Digest algorithm=MD5, realm=\"asterisk\", nonce=\"1732917385/8d4f4c1c2b7b0e3a6f1c9e2d5a7b8c90\", "
	    "qop=\"auth\", opaque=\"4c0e5a8b2d1f3e6a\"",
	    "Digest username=\"alice\", realm=\"example.com\", nonce=\"abc\", uri=\"sip:[2001:db8::10]\", "
	    "response=\"0123456789abcdef\"",
	    "Digest realm=\"asterisk\",nonce=\"x\",stale=FALSE,algorithm=MD5,domain=\"sip:a\"",
	    "digest USERNAME=\"u\",REALM=\"r\",URI=\"sip:h\",NONCE=\"n\",RESPONSE=\"x\",QOP=auth",
	    "DIGEST realm=\"r\"",
	    "Digest  realm=\"r\"",
	    "Digest realm=\\\"sip.example.dk\\\",nonce=\\\"1701af566be182070084c6f740706bb\\\",stale=false",
	    "Digest x-custom=a.b_c,qop=auth,Username=\"u\"",
	    "Digest realm=\"\",username=\"\"",
	    "Digest qop=\"auth,auth-int\",realm=\"r\"",
	    "Digest uri=sip:u@h;transport=udp,response=abc",
	    "Digest realm=a\"b,nonce=c\\d",
	    "Digest username=\"u\",username=\"v\",realm=\"a\",realm=\"b\"",
	    "Digest ",
	};
	for (std::string_view v : usual) {
		CAPTURE(v);
		CHECK(detail::auth_shortcut_accepts(v));
		CHECK(detail::auth_shortcut_agrees(v));
	}
	// Every other form is the general loop's (from the first param written
	// otherwise on), valid or not.
	const std::string long_username = "Digest realm=\"r\",username=\"" + std::string(300, 'u') + "\"";
	const std::string long_value = "Digest nonce=\"" + std::string(1100, 'n') + "\"";
	const std::string long_header = "Digest username=\"u\",nonce=" + std::string(1020, 'n');
	const std::string other[] = {
	    "Digest",
	    "Digest\trealm=\"r\"",
	    "Basic dXNlcjpwYXNz",
	    "Basic dXNlcjpwYXNzMQ==",
	    "NTLM realm=\"r\"",
	    "Digest username=\"a\\\"b\",realm=\"r\"",
	    "Digest username=\"a\\",
	    "Digest username = \"a\"",
	    "Digest username= \"a\"",
	    "Digest username =\"a\"",
	    "Digest username=\"a\" ,realm=\"r\"",
	    "Digest username=\"a\",  realm=\"r\"",
	    "Digest username=\"a\",\trealm=\"r\"",
	    "Digest username=\"a",
	    "Digest username=\"a\"x,realm=\"r\"",
	    "Digest username=,realm=\"r\"",
	    "Digest username=\"a\",",
	    "Digest username=\"a\", ",
	    "Digest ,username=\"a\"",
	    "Digest realm=a b",
	    "Digest realm=a\x01" "b",
	    "Digest realm=\"r\"\r\n ,nonce=\"n\"",
	    "Digest realm",
	    "Digest realm=",
	    "Digest =x",
	    "Digest re!alm=\"r\",nonce=\"n\"",
	    "Digest realm=\"r\";nonce=\"n\"",
	    "",
	    "   ",
	    long_username,
	    long_value,
	    long_header,
	};
	for (const std::string& v : other) {
		CAPTURE(v);
		CHECK_FALSE(detail::auth_shortcut_accepts(v));
		CHECK(detail::auth_shortcut_agrees(v));
	}
}

TEST_CASE("credentials and challenges read by the auth shortcuts, in whole messages")
{
	const std::string head = "REGISTER sip:pbx.example.com SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK1\n"
	                         "From: <sip:1001@pbx.example.com>;tag=1\nTo: <sip:1001@pbx.example.com>\nCall-ID: a1\n"
	                         "CSeq: 2 REGISTER\n";
	const Message& m = parsed(wire(
	    head
	    + "Authorization: Digest username=\"1001\",realm=\"asterisk\",nonce=\"17329/8d4f\",uri=\"sip:pbx.example.com\","
	      "response=\"2f0c8e6c\",cnonce=\"b8c9\",nc=00000001,qop=auth,algorithm=MD5,opaque=\"4c0e\"\n"
	      "Proxy-Authorization: Digest username=\"p\", realm=\"proxy\"\nContent-Length: 0\n\n"));
	REQUIRE(m.valid());
	CHECK(m.authorization.present);
	CHECK(m.authorization.scheme == "Digest");
	CHECK(m.authorization.username == "1001");
	CHECK(m.authorization.realm == "asterisk");
	CHECK(m.authorization.uri == "sip:pbx.example.com");
	CHECK(m.authorization.has_nonce);
	CHECK(m.authorization.has_response);
	CHECK(m.proxy_authorization.username == "p");
	CHECK(m.proxy_authorization.realm == "proxy");
	CHECK_FALSE(m.proxy_authorization.has_nonce);

	const Message& r = parsed(wire("SIP/2.0 401 Unauthorized\nVia: SIP/2.0/UDP 192.0.2.101:5060;branch=z9hG4bK1\n"
	                               "From: <sip:1001@pbx.example.com>;tag=1\nTo: <sip:1001@pbx.example.com>;tag=2\n"
	                               "Call-ID: a1\nCSeq: 1 REGISTER\n"
	                               "WWW-Authenticate: Digest algorithm=MD5, realm=\"asterisk\", nonce=\"17329/8d4f\", "
	                               "qop=\"auth\", opaque=\"4c0e\"\nContent-Length: 0\n\n"));
	REQUIRE(r.valid());
	CHECK(r.www_authenticate.present);
	CHECK(r.www_authenticate.scheme == "Digest");
	CHECK(r.www_authenticate.realm == "asterisk");
	CHECK(r.www_authenticate.has_nonce);
	CHECK(r.www_authenticate.qop == "auth");

	// The general loop's verdicts, reached through the shortcut.
	auto auth_error = [&](const std::string& value) {
		const Message& x = parsed(wire(head + "Authorization: " + value + "\nContent-Length: 0\n\n"));
		return x.error;
	};
	CHECK(auth_error("Digest realm=\"r\",username=\"" + std::string(300, 'u') + "\"") == Malformation::OversizedField);
	CHECK(auth_error("Digest realm=\"r\",nonce=\"" + std::string(1100, 'n') + "\"") == Malformation::OversizedField);
	CHECK(auth_error("Digest realm=\"r\",nonce=\"n") == Malformation::UnbalancedQuote);
	CHECK(auth_error("Digest realm=\"r\",") == Malformation::BadAuthorization);
	CHECK(auth_error("Digest realm=\"r\" nonce=\"n\"") == Malformation::BadAuthorization);
}
