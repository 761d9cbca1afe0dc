// SPDX-License-Identifier: GPL-2.0-or-later
// `sipguard replay --local ADDR[,ADDR] [--sip-ports P[,P]] [--config FILE] [--json] FILE.pcap`:
// runs the engine over a capture and prints findings, bans, verdict changes
// and pinholes as they would have happened, then a summary.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "agent/cli/commands.h"
#include "agent/daemon/config.h"
#include "tools/replay/replay.h"

namespace sipguard::cli {

namespace {

struct ReplayOptions {
	std::vector<std::string> local;
	std::string config;
	std::vector<uint16_t> sip_ports;
	std::string file;
	bool json = false;
	std::string check_media; // "", "auto" or "LOW-HIGH"
};

int run_replay(const ReplayOptions& o)
{
	replay::Options opt;
	for (const auto& text : o.local) {
		auto a = net::IpAddress::parse(text);
		if (!a) {
			fmt::print(stderr, "sipguard replay: --local: '{}' is not an IPv4 or IPv6 address\n", text);
			return 2;
		}
		opt.local.push_back(*a);
	}
	if (!o.config.empty()) {
		daemon::LoadResult lr = daemon::load_config_file(o.config);
		if (!lr.config) {
			for (const auto& e : lr.errors)
				fmt::print(stderr, "sipguard replay: {}\n", e.to_string());
			if (lr.errors.empty())
				fmt::print(stderr, "sipguard replay: {}: cannot load\n", o.config);
			return 2;
		}
		opt.config = lr.config->engine();
		if (!lr.config->daemon().sip_ports.empty())
			opt.sip_ports = lr.config->daemon().sip_ports;
		opt.calls_config = std::make_shared<const calls::Config>(lr.config->calls());
		opt.fraud_config = std::make_shared<const fraud::Config>(lr.config->fraud());
	}
	if (!o.sip_ports.empty())
		opt.sip_ports = o.sip_ports;
	opt.json = o.json;
	if (!o.check_media.empty()) {
		auto selector = calls::MediaSelector::parse(o.check_media);
		if (!selector) {
			fmt::print(stderr, "sipguard replay: {}\n", selector.error());
			return 2;
		}
		opt.check_media = *selector;
	}
	opt.out = stdout;
	replay::Result r = replay::run(o.file, opt);
	if (!r.ok) {
		fmt::print(stderr, "sipguard replay: {}\n", r.error);
		return 2;
	}
	std::fflush(stdout);
	return 0;
}

} // namespace

void add_replay_command(CLI::App& app, int& exit_code)
{
	auto opts = std::make_shared<ReplayOptions>();
	CLI::App* cmd = app.add_subcommand(
		"replay", "Run the engine over a pcap: print findings, bans, verdict changes and pinholes, then a summary");
	cmd->add_option("--local", opts->local,
	                "Address(es) of the protected host, comma-separated: packets to them are inbound, from them outbound")
		->required()
		->delimiter(',');
	cmd->add_option("--config", opts->config, "sipguard.toml to take thresholds and policy from (default: built-in)");
	cmd->add_option("--sip-ports", opts->sip_ports,
	                "Local SIP ports, comma-separated (default: sip.ports of --config, else 5060); packets on other "
	                "local ports are skipped like the daemon's queue rule skips them")
		->delimiter(',')
		->check(CLI::Range(1, 65535));
	cmd->add_flag("--json", opts->json, "One JSON object per event and for the summary");
	cmd->add_option("--check-media", opts->check_media,
	                "Check UDP media to --local against the pinholes open at that moment and print "
	                "\"media: N in pinholes, M outside\": \"auto\" (RTP/RTCP-looking packets) or a port range LOW-HIGH");
	cmd->add_option("FILE", opts->file, "Capture file (pcap or pcapng)")->required();
	cmd->callback([opts, &exit_code] { exit_code = run_replay(*opts); });
}

} // namespace sipguard::cli
