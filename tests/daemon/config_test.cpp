// SPDX-License-Identifier: GPL-2.0-or-later
// The config loader: every error class names file:line:column and the key,
// defaults come from the parameter table, and the shipped sipguard.toml is
// exactly the table's generated default config.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include "agent/daemon/config.h"

using namespace sipguard::daemon;
using sipguard::util::Millis;

namespace {

std::vector<std::string> errors_of(std::string_view text)
{
	LoadResult r = load_config_text(text, "sipguard.toml");
	std::vector<std::string> out;
	for (const auto& e : r.errors)
		out.push_back(e.to_string());
	if (!r.errors.empty())
		CHECK_FALSE(r.config);
	return out;
}

// Concatenation without `"literal" + std::string&&`, which GCC 12 -O3 flags
// with a false -Wrestrict.
std::string cat(std::initializer_list<std::string_view> parts)
{
	std::string out;
	for (std::string_view p : parts)
		out += p;
	return out;
}

std::string one_error(std::string_view text)
{
	auto e = errors_of(text);
	REQUIRE(e.size() == 1);
	return e[0];
}

} // namespace

TEST_CASE("the defaults load and decode")
{
	ConfigPtr d = default_config();
	REQUIRE(d);
	CHECK(d->source() == "<embedded defaults>");
	CHECK(d->daemon().sip_ports == std::vector<uint16_t>{5060});
	CHECK(d->daemon().queues == online_cpus());
	CHECK(d->daemon().control_socket == "/run/sipguard/control.sock");
	CHECK(d->daemon().rtp_range == PortRange{10000, 20000});
	CHECK_FALSE(d->daemon().metrics_listen.enabled());
	CHECK(d->daemon().save_interval == Millis(1000));
	CHECK_FALSE(d->daemon().remove_table_on_exit);
}

TEST_CASE("a valid file overrides defaults, in sections, dotted keys or inline tables")
{
	LoadResult r = load_config_text("[daemon]\n"
	                                "queues = 3\n"
	                                "save_interval = \"2s\"\n"
	                                "[media]\n"
	                                "rtp_range = \"30000-30100\"\n"
	                                "[sip]\n"
	                                "ports = [5060, 5080]\n"
	                                "[metrics]\n"
	                                "listen = \"127.0.0.1:9260\"\n"
	                                "[policy]\n"
	                                "allowlist = [\"192.0.2.0/24\", \"2001:db8::1\"]\n",
	                                "x.toml");
	for (auto& e : r.errors)
		FAIL(e.to_string());
	REQUIRE(r.config);
	const DaemonSettings& d = r.config->daemon();
	CHECK(d.queues == 3);
	CHECK(d.save_interval == Millis(2000));
	CHECK(d.sip_ports == std::vector<uint16_t>{5060, 5080});
	CHECK(d.rtp_range == PortRange{30000, 30100});
	REQUIRE(d.allowlist.size() == 2);
	CHECK(d.allowlist[1].to_string() == "2001:db8::1");
	CHECK(d.metrics_listen.to_string() == "127.0.0.1:9260");
	CHECK(r.config->is_set("daemon.queues"));
	CHECK_FALSE(r.config->is_set("daemon.fail_open"));
	auto changed = r.config->diff(*default_config());
	CHECK(std::find(changed.begin(), changed.end(), "sip.ports") != changed.end());
	CHECK(std::find(changed.begin(), changed.end(), "daemon.fail_open") == changed.end());
}

TEST_CASE("unknown key: position of the key and a suggestion")
{
	CHECK(one_error("[daemon]\nqueues = 2\nqeues = 2\n") ==
	      "sipguard.toml:3:1: daemon.qeues: unknown key (did you mean daemon.queues?)");
	CHECK(one_error("\n\n[nonsense]\nx = 1\n") == "sipguard.toml:3:2: nonsense: unknown section");
	CHECK(one_error("[daemon]\nsub.key = 1\n") == "sipguard.toml:2:1: daemon.sub: unknown section");
	CHECK(one_error("policy.allowlist = []\nmetrics = { listen = \"\", sockett = \"\" }\n") ==
	      "sipguard.toml:2:26: metrics.sockett: unknown key (did you mean metrics.socket?)");
	CHECK(one_error("sip = 5\n") == "sipguard.toml:1:1: sip: expected a table (section [sip]), got 5");
}

namespace {

// Levenshtein distance, the whole table: the reference for the banded one.
size_t full_edit_distance(std::string_view a, std::string_view b)
{
	std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
	for (size_t i = 0; i <= a.size(); ++i)
		d[i][0] = i;
	for (size_t j = 0; j <= b.size(); ++j)
		d[0][j] = j;
	for (size_t i = 1; i <= a.size(); ++i)
		for (size_t j = 1; j <= b.size(); ++j)
			d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
	return d[a.size()][b.size()];
}

} // namespace

TEST_CASE("suggestion: the first key at the smallest distance below four edits, as the whole table computes it")
{
	const sipguard::config::Schema& schema = all_params();
	// Every key with one to five edits of each kind at its start, middle and
	// end, and names unrelated to any key.
	std::vector<std::string> names = {"", "x", "zzzzzzzzzzzzzzzzzzzzzzzzzzzz", std::string(300, 'q')};
	for (const auto& spec : schema) {
		const std::string key(spec.name);
		for (size_t edits = 1; edits <= 5; ++edits) {
			for (size_t at : {size_t{0}, key.size() / 2, key.size() - std::min(key.size(), edits)}) {
				std::string sub = key, del = key, ins = key;
				for (size_t k = 0; k < edits && at + k < key.size(); ++k)
					sub[at + k] = sub[at + k] == 'x' ? 'y' : 'x';
				del.erase(at, edits);
				ins.insert(at, edits, '#');
				names.insert(names.end(), {sub, del, ins});
			}
		}
	}
	size_t with_suggestion = 0;
	for (const std::string& name : names) {
		std::string_view best;
		size_t best_d = 4;
		for (const auto& spec : schema) {
			const size_t d = full_edit_distance(name, spec.name);
			if (d < best_d) {
				best_d = d;
				best = spec.name;
			}
		}
		const std::string expected = best.empty() ? "" : cat({" (did you mean ", best, "?)"});
		CAPTURE(name);
		CHECK(schema.suggestion(name) == expected);
		with_suggestion += !best.empty();
	}
	CHECK(with_suggestion > names.size() / 2);
}

TEST_CASE("key and section lookup: every key, every dotted prefix of one, and nothing else")
{
	const sipguard::config::Schema& schema = all_params();
	std::vector<std::string> others = {"", ".", "daemon.", ".daemon", "daemon..queues", std::string(1 << 20, 'd')};
	for (const auto& spec : schema) {
		CHECK(schema.find(spec.name) == &spec);
		CHECK_FALSE(schema.is_section(spec.name));
		for (size_t dot = spec.name.find('.'); dot != std::string_view::npos; dot = spec.name.find('.', dot + 1)) {
			CHECK(schema.is_section(spec.name.substr(0, dot)));
			CHECK(schema.find(spec.name.substr(0, dot)) == nullptr);
		}
		others.push_back(cat({spec.name, "x"}));
		others.push_back(cat({spec.name, "."}));
		others.push_back(std::string(spec.name.substr(1)));
	}
	for (const std::string& name : others) {
		CAPTURE(name);
		CHECK(schema.find(name) == nullptr);
		bool below = false;
		for (const auto& spec : schema)
			below = below || (spec.name.size() > name.size() && spec.name.starts_with(name) && spec.name[name.size()] == '.');
		CHECK(schema.is_section(name) == below);
	}
}

TEST_CASE("wrong type")
{
	CHECK(one_error("[daemon]\n\nqueues = \"abc\"\n") ==
	      "sipguard.toml:3:1: daemon.queues: expected an integer in 0..64, got \"abc\"");
	CHECK(one_error("[daemon]\nfail_open = 1\n") ==
	      "sipguard.toml:2:1: daemon.fail_open: expected true or false, got 1");
	CHECK(one_error("[sip]\nports = 5060\n") ==
	      "sipguard.toml:2:1: sip.ports: expected an array of 1..32 distinct ports in 1..65535, got 5060");
	CHECK(one_error("[daemon]\nstate_dir = \"relative/dir\"\n") ==
	      "sipguard.toml:2:1: daemon.state_dir: expected an absolute path, got \"relative/dir\"");
	CHECK(one_error("[daemon]\nlog_level = \"loud\"\n") ==
	      "sipguard.toml:2:1: daemon.log_level: expected one of \"debug\", \"info\", \"warning\", \"error\", got \"loud\"");
}

TEST_CASE("out of range")
{
	CHECK(one_error("[daemon]\n  queues = 65\n") ==
	      "sipguard.toml:2:3: daemon.queues: expected an integer in 0..64, got 65");
	CHECK(one_error("[sip]\nports = [5060, 70000]\n") ==
	      "sipguard.toml:2:16: sip.ports[1]: expected a port in 1..65535, got 70000");
	CHECK(one_error("[sip]\nports = [5060, 5060]\n") == "sipguard.toml:2:16: sip.ports[1]: port 5060 is listed twice");
	CHECK(one_error("[media]\nrtp_range = \"20000-10000\"\n") ==
	      "sipguard.toml:2:1: media.rtp_range: expected a port range \"LO-HI\" with 1 <= LO <= HI <= 65535, got "
	      "\"20000-10000\"");
	CHECK(one_error("[media]\nrtp_range = \"5000-6000\"\n") ==
	      "sipguard.toml:2:1: media.rtp_range: the RTP range 5000-6000 contains SIP port 5060");
}

TEST_CASE("bad CIDR")
{
	CHECK(one_error("[policy]\nallowlist = [\"192.0.2.0/24\", \"10.0.0.1/33\"]\n").find(
		      "sipguard.toml:2:30: policy.allowlist[1]: expected an address or CIDR block like \"192.0.2.0/24\", got "
		      "\"10.0.0.1/33\"") == 0);
	CHECK(one_error("[policy]\ntrusted = [\"192.0.2.1/24\"]\n").find("sipguard.toml:2:12: policy.trusted[0]: ") == 0);
	CHECK(one_error("[policy]\ntrusted = [\"not-an-address\"]\n").find("policy.trusted[0]") != std::string::npos);
}

TEST_CASE("bad duration")
{
	CHECK(one_error("[daemon]\nsave_interval = \"10x\"\n") ==
	      "sipguard.toml:2:1: daemon.save_interval: expected a duration in 100ms..1h like \"90s\", \"10m\", "
	      "\"1h30m\", got \"10x\"");
	CHECK(one_error("[daemon]\nsave_interval = 5\n").find("got 5") != std::string::npos);
	CHECK(one_error("[daemon]\nsave_interval = \"2h\"\n").find("got \"2h\" (out of range)") != std::string::npos);
}

TEST_CASE("TOML syntax error")
{
	CHECK(one_error("[daemon]\nqueues = = 2\n").find("sipguard.toml:2:10: TOML syntax error: ") == 0);
	CHECK(one_error("[daemon\n").find("sipguard.toml:1:") == 0);
	CHECK(one_error("[daemon]\nqueues = 1\nqueues = 2\n").find("sipguard.toml:3:") == 0);
}

TEST_CASE("every problem is reported, not only the first")
{
	auto e = errors_of("[daemon]\nqueues = -1\nbogus = 1\n[sip]\nports = []\n");
	REQUIRE(e.size() == 3);
	CHECK(e[0].find(":2:1: daemon.queues:") != std::string::npos);
	CHECK(e[1].find(":3:1: daemon.bogus: unknown key") != std::string::npos);
	CHECK(e[2].find(":5:1: sip.ports:") != std::string::npos);
}

TEST_CASE("an unreadable file is reported as such")
{
	LoadResult r = load_config_file("/nonexistent/sipguard.toml");
	CHECK(r.unreadable);
	REQUIRE(r.errors.size() == 1);
	CHECK(r.errors[0].to_string() ==
	      "/nonexistent/sipguard.toml: cannot read the config file: No such file or directory");
}

TEST_CASE("every key of the table has a default, a help text, and appears in the default config")
{
	std::string text = default_config_text();
	for (const Param& p : all_params()) {
		CAPTURE(p.name);
		CHECK_FALSE(p.help.empty());
		CHECK_FALSE(p.default_value.empty());
		std::string key(p.name.substr(p.name.rfind('.') + 1));
		CHECK(text.find("\n" + key + " = " + std::string(p.default_value) + "\n") != std::string::npos);
	}
	LoadResult r = load_config_text(text, "generated");
	CHECK(r.errors.empty());
	REQUIRE(r.config);
	CHECK(r.config->diff(*default_config()).empty());
}

TEST_CASE("the shipped agent/daemon/sipguard.toml is the generated default config")
{
	const char* root = std::getenv("SIPGUARD_SOURCE_ROOT");
	REQUIRE_MESSAGE(root, "SIPGUARD_SOURCE_ROOT is set by meson");
	std::filesystem::path p = std::filesystem::path(root) / "agent" / "daemon" / "sipguard.toml";
	std::ifstream in(p);
	REQUIRE_MESSAGE(in, "missing ", p.string());
	std::stringstream ss;
	ss << in.rdbuf();
	INFO("regenerate with: sipguard check-config --print-defaults > agent/daemon/sipguard.toml");
	CHECK(ss.str() == default_config_text());
	LoadResult r = load_config_file(p.string());
	CHECK(r.errors.empty());
}

TEST_CASE("SIP trunks as [[calls.trunk]] tables reach the call tracker's config")
{
	LoadResult r = load_config_text("[[calls.trunk]]\n"
	                                "name = \"itsp\"\n"
	                                "networks = [\"203.0.113.0/28\", \"2001:db8:77::/48\"]\n"
	                                "max_calls = 30\n"
	                                "[[calls.trunk]]\n"
	                                "name = \"sbc\"\n"
	                                "networks = [\"198.51.100.9\"]\n"
	                                "trusted = false\n",
	                                "t.toml");
	for (auto& e : r.errors)
		FAIL(e.to_string());
	REQUIRE(r.config);
	const auto& trunks = r.config->calls().trunks;
	REQUIRE(trunks.size() == 2);
	CHECK(trunks[0].name == "itsp");
	CHECK(trunks[0].networks.size() == 2);
	CHECK(trunks[0].limits.max_concurrent_calls == 30);
	CHECK(trunks[0].trusted);
	CHECK_FALSE(trunks[1].trusted);

	CHECK(one_error("[[calls.trunk]]\nname = \"x\"\nnetworks = [\"10.0.0.0/33\"]\n").find(
		      "sipguard.toml:3:13: calls.trunk[0].networks[0]: expected an address or CIDR block") == 0);
	CHECK(one_error("[[calls.trunk]]\nname = \"x\"\nnetworks = [\"10.0.0.1\"]\nmaxcalls = 3\n") ==
	      "sipguard.toml:4:1: calls.trunk[0].maxcalls: unknown key (trunk keys: name, networks, trusted, max_calls, "
	      "max_call_attempts)");
	CHECK(one_error("[[calls.trunk]]\nname = \"x\"\n").find("calls.trunk[0]: a trunk needs a name and at least one "
	                                                        "network") != std::string::npos);
	CHECK(one_error("calls.trunk = [{name = \"a\", networks = [\"10.0.0.1\"]}, {name = \"a\", networks = "
	                "[\"10.0.0.2\"]}]\n")
	          .find("trunk \"a\" is defined twice") != std::string::npos);
}

TEST_CASE("a directory is an error, not an empty config")
{
	std::string dir = std::filesystem::temp_directory_path().string();
	LoadResult r = load_config_file(dir);
	CHECK(r.unreadable);
	CHECK_FALSE(r.config);
	REQUIRE(r.errors.size() == 1);
	CHECK(r.errors[0].to_string() == cat({dir, ": cannot read the config file: it is a directory, expected a TOML file"}));
}

TEST_CASE("a report lists the first 50 problems and counts the rest")
{
	std::string text;
	for (int i = 0; i < 200; ++i)
		text += cat({"bogus_", std::to_string(i), " = 1\n"});
	LoadResult r = load_config_text(text, "x.toml");
	CHECK_FALSE(r.config);
	CHECK(r.error_count == 200);
	REQUIRE(r.errors.size() == 51);
	CHECK(r.errors[0].to_string() == "x.toml:1:1: bogus_0: unknown key");
	CHECK(r.errors[49].to_string() == "x.toml:50:1: bogus_49: unknown key");
	CHECK(r.errors[50].to_string() == "... and 150 more errors");
}

TEST_CASE("echoed values and keys are cut after 64 bytes")
{
	std::string big(10 * 1024 * 1024, 'x');
	CHECK(one_error(cat({"[daemon]\nstate_dir = \"", big, "\"\n"})) ==
	      cat({"sipguard.toml:2:1: daemon.state_dir: expected an absolute path, got \"", std::string(64, 'x'),
	           "\"…(10485760 bytes)"}));
	CHECK(one_error(cat({"\"", std::string(5000, 'k'), "\" = 1\n"})) ==
	      cat({"sipguard.toml:1:1: ", std::string(64, 'k'), "…(5000 bytes): unknown key"}));
	// The cut never splits a UTF-8 character (é is two bytes, at 63..64).
	std::string e =
		one_error(cat({"[daemon]\nstate_dir = \"", std::string(63, 'x'), "\xc3\xa9", std::string(100, 'y'), "\"\n"}));
	CHECK(e.find(cat({"got \"", std::string(63, 'x'), "\"…(165 bytes)"})) != std::string::npos);
}

TEST_CASE("cross-key checks point at the key the file set")
{
	CHECK(one_error("[metrics]\nsocket = \"/run/sipguard/control.sock\"\n") ==
	      "sipguard.toml:2:1: metrics.socket: must differ from daemon.control_socket");
	CHECK(one_error("[sip]\nports = [10001]\n") ==
	      "sipguard.toml: media.rtp_range: the RTP range 10000-20000 contains SIP port 10001");
	CHECK(one_error("[ban]\nladder = [\"1h\", \"10m\"]\n") ==
	      "sipguard.toml:2:1: ban.ladder: durations must not decrease");
	CHECK(one_error(cat({"[daemon]\ncontrol_socket = \"/", std::string(110, 's'), "\"\n"}))
	          .find("(longer than a unix socket path may be (107 bytes))") != std::string::npos);
}

TEST_CASE("each row's binder reaches its field: the defaults read back from the structs")
{
	namespace config = sipguard::config;
	const config::Schema& schema = all_params();
	auto default_of = [&](std::string_view name) -> const config::Value& {
		for (size_t i = 0; i < schema.size(); ++i)
			if (schema[i].name == name)
				return schema.default_at(i);
		throw std::logic_error("no such row");
	};
	ConfigPtr d = default_config();
	for (const auto& row : daemon_rows()) {
		CAPTURE(row.name);
		if (row.name != "daemon.queues") // resolved to the CPU count
			CHECK(row.get(d->daemon()) == default_of(row.name));
	}
	// The engine's and the tracker's rows bind structs whose own defaults
	// are documented in their headers: the table and the struct agree.
	sipguard::engine::Config plain_engine;
	for (const auto& row : sipguard::engine::params()) {
		CAPTURE(row.name);
		CHECK(row.get(*d->engine()) == default_of(row.name));
		CHECK(row.get(plain_engine) == default_of(row.name));
	}
	sipguard::calls::Config plain_calls;
	for (const auto& row : sipguard::calls::rows()) {
		CAPTURE(row.name);
		CHECK(row.get(d->calls()) == default_of(row.name));
		CHECK(row.get(plain_calls) == default_of(row.name));
	}
}

TEST_CASE("every choice of an enum row is taken by its binder and read back")
{
	namespace config = sipguard::config;
	for (const auto& row : sipguard::calls::rows()) {
		if (row.type != config::Type::Enum)
			continue;
		std::string_view choices = row.choices;
		while (!choices.empty()) {
			std::string choice(choices.substr(0, choices.find('|')));
			CAPTURE(choice);
			sipguard::calls::Config c;
			CHECK(config::assign(row, c, choice).ok());
			CHECK(row.get(c) == config::Value(choice));
			choices.remove_prefix(std::min(choices.size(), choice.size() + 1));
		}
	}
}

TEST_CASE("values set in code are checked by the loader's rules")
{
	sipguard::calls::Config c;
	c.trunks.push_back({"a", {}, {}, true});
	REQUIRE(c.validate());
	CHECK(*c.validate() == "calls.trunk[0].networks: expected an array of 1..256 addresses or CIDR blocks like "
	                       "\"192.0.2.0/24\"");
	c.trunks[0].networks.push_back(*sipguard::net::Cidr::parse("192.0.2.0/24"));
	CHECK_FALSE(c.validate());
	c.trunks.push_back(c.trunks[0]);
	REQUIRE(c.validate());
	CHECK(*c.validate() == "calls.trunk[1]: trunk \"a\" is defined twice");

	const auto* ladder = sipguard::engine::find_param("ban.ladder");
	REQUIRE(ladder);
	CHECK(sipguard::config::check(*ladder, std::vector<Millis>{Millis(2000), Millis(1000)}).message ==
	      "durations must not decrease");
}
