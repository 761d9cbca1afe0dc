// SPDX-License-Identifier: GPL-2.0-or-later
// Pinhole churn benchmark: calls per second (INVITE/200/ACK/BYE through the
// real parser and the call tracker, pinholes opened and closed in the kernel)
// that sipguard sustains with batched netlink updates (rules::Writer), against
// the same updates done one `nft` process per change (the rtpengine
// iptables-helper style), measured in the same run inside a throw-away
// network namespace. Not a test: prints figures and the ratio.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "agent/calls/tracker.h"
#include "agent/sip/parser.h"
#include "rules/elements.h"
#include "rules/netlink.h"
#include "rules/table.h"
#include "rules/writer.h"
#include "tests/privileged/netns.h"
#include "tools/bench/bench_io.h"

extern char** environ;

using namespace sipguard;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct Options {
	int calls = 20000;          // calls through the tracker + writer
	int live = 1000;            // concurrent calls kept up during the churn
	int reference_calls = 250;  // calls through one-nft-process-per-change
	int reps = 3;               // (a) and (b) are repeated; the best run is reported
};

void usage()
{
	std::fprintf(stderr,
	             "usage: sipguard-bench-pinholes [--calls N] [--live N] [--reference-calls N] [--reps N]\n"
	             "  Runs as root; creates and removes its own network namespace.\n");
}

bool parse_options(int argc, char** argv, Options& o)
{
	for (int i = 1; i < argc; ++i) {
		std::string a = argv[i];
		auto value = [&](int& out, int lo, int hi) {
			if (i + 1 >= argc)
				return false;
			char* end = nullptr;
			long v = std::strtol(argv[++i], &end, 10);
			if (*end || v < lo || v > hi)
				return false;
			out = static_cast<int>(v);
			return true;
		};
		bool ok = a == "--calls"             ? value(o.calls, 1, 10'000'000)
		          : a == "--live"            ? value(o.live, 1, 100'000)
		          : a == "--reference-calls" ? value(o.reference_calls, 1, 100'000)
		          : a == "--reps"            ? value(o.reps, 1, 100)
		                                     : false;
		if (!ok) {
			usage();
			return false;
		}
	}
	return true;
}

// The four messages of one inbound call, as wire text.
struct CallText {
	std::string remote;
	uint16_t local_port;
	std::string invite, ok, ack, bye;
};

std::string sip(const std::string& start, const std::string& call_id, const std::string& to_tag, int cseq,
                const char* method, const std::string& body)
{
	std::string s = start + "\r\n";
	s += "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-" + call_id.substr(0, call_id.find('@')) + method + "\r\n";
	s += "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=a1\r\n";
	s += "To: <sip:100@pbx.example>" + (to_tag.empty() ? "" : ";tag=" + to_tag) + "\r\n";
	s += "Call-ID: " + call_id + "\r\nCSeq: " + std::to_string(cseq) + " " + method + "\r\n";
	s += "Contact: <sip:alice@10.0.0.1>\r\n";
	if (!body.empty())
		s += "Content-Type: application/sdp\r\n";
	s += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
	return s;
}

std::string audio(const std::string& addr, int port)
{
	return "v=0\r\no=- 1 1 IN IP4 " + addr + "\r\ns=-\r\nc=IN IP4 " + addr + "\r\nt=0 0\r\nm=audio " +
	       std::to_string(port) + " RTP/AVP 0 8 101\r\n";
}

std::vector<CallText> make_calls(int n)
{
	std::vector<CallText> calls;
	calls.reserve(n);
	for (int i = 0; i < n; ++i) {
		CallText c;
		// Remote phones spread over 10.64.0.0/10, local ports over 10000-19998.
		c.remote = fmt::format("10.{}.{}.{}", 64 + (i >> 16) % 64, (i >> 8) & 255, (i & 255) | 1);
		c.local_port = static_cast<uint16_t>(10000 + 2 * (i % 5000));
		const std::string cid = fmt::format("bench-{}@10.0.0.1", i);
		c.invite = sip("INVITE sip:100@pbx.example SIP/2.0", cid, "", 1, "INVITE", audio(c.remote, 40000));
		c.ok = sip("SIP/2.0 200 OK", cid, "b1", 1, "INVITE", audio("10.0.0.2", c.local_port));
		c.ack = sip("ACK sip:100@10.0.0.2 SIP/2.0", cid, "b1", 1, "ACK", "");
		c.bye = sip("BYE sip:100@10.0.0.2 SIP/2.0", cid, "b1", 2, "BYE", "");
		calls.push_back(std::move(c));
	}
	return calls;
}

// Forwards pinhole updates to the rules writer (what the daemon's sink does),
// waiting for the writer when its queue is full so that nothing is lost.
struct WriterSink : calls::Sink {
	rules::Writer* writer = nullptr;
	uint64_t updates = 0, waits = 0;
	void on_pinhole(const calls::PinholeUpdate& u) override
	{
		++updates;
		if (!writer)
			return;
		for (;;) {
			bool ok = u.op == calls::PinholeOp::Close ? writer->close_pinhole(u.remote, u.local_port)
			                                          : writer->open_pinhole(u.remote, u.local_port, u.timeout);
			if (ok)
				return;
			++waits;
			writer->flush();
		}
	}
	void on_finding(const calls::Finding&) override {}
};

struct Driver {
	calls::Tracker& tracker;
	util::TimePoint now{std::chrono::seconds(1'000'000)};
	uint64_t rejected = 0;

	void feed(const std::string& text, const std::string& remote_text, nfq::Direction dir)
	{
		sip::Message msg;
		sip::parse(text, sip::Transport::Datagram, msg);
		calls::MessageContext ctx;
		ctx.remote = *net::IpAddress::parse(remote_text);
		ctx.direction = dir;
		ctx.now = now;
		if (!msg.valid() || tracker.on_message(msg, ctx) != calls::Decision::Accept)
			++rejected;
	}
	void setup(const CallText& c)
	{
		feed(c.invite, c.remote, nfq::Direction::In);
		feed(c.ok, c.remote, nfq::Direction::Out);
		feed(c.ack, c.remote, nfq::Direction::In);
	}
	void teardown(const CallText& c) { feed(c.bye, c.remote, nfq::Direction::In); }

	// Every call set up, kept while `live` newer calls start, then torn down.
	void churn(const std::vector<CallText>& calls, int live)
	{
		for (size_t i = 0; i < calls.size(); ++i) {
			setup(calls[i]);
			if (i >= static_cast<size_t>(live))
				teardown(calls[i - live]);
			if ((i & 255) == 0)
				now += 1ms;
		}
		for (size_t i = calls.size() > static_cast<size_t>(live) ? calls.size() - live : 0; i < calls.size(); ++i)
			teardown(calls[i]);
	}
};

calls::Config tracker_config(int live)
{
	calls::Config c;
	c.max_dialogs = static_cast<uint32_t>(live) * 2 + 64;
	c.max_pinholes = static_cast<uint32_t>(live) * 4 + 64;
	c.per_source = {};
	c.per_user = {};
	return c;
}

int spawn_nft(const std::vector<std::string>& args)
{
	std::vector<char*> argv;
	argv.push_back(const_cast<char*>("nft"));
	for (const auto& a : args)
		argv.push_back(const_cast<char*>(a.c_str()));
	argv.push_back(nullptr);
	pid_t pid = 0;
	if (posix_spawnp(&pid, "nft", nullptr, nullptr, argv.data(), environ) != 0)
		return -1;
	int status = 0;
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

size_t count_media(rules::Netlink& nl)
{
	std::vector<rules::ListedMedia> listed;
	if (auto st = rules::list_media(nl, listed); !st) {
		std::fprintf(stderr, "list_media: %s\n", st.message.c_str());
		return SIZE_MAX;
	}
	return listed.size();
}

} // namespace

int main(int argc, char** argv)
{
	Options opt;
	if (!parse_options(argc, argv, opt))
		return 2;
	if (!bench::running_as_root("sipguard-bench-pinholes", "it creates a network namespace"))
		return 77;

	try {
		test::Netns ns("pinbench");
		test::EnterNetns inside(ns);

		rules::Netlink nl;
		if (auto st = nl.open(); !st) {
			std::fprintf(stderr, "netlink: %s\n", st.message.c_str());
			return 1;
		}
		rules::TableSpec spec;
		spec.pin_media = true;
		spec.rtp_min = 10000;
		spec.rtp_max = 20000;
		rules::QueueBackend backend;
		if (auto st = rules::install_auto(nl, spec, backend); !st) {
			std::fprintf(stderr, "install table: %s\n", st.message.c_str());
			return 1;
		}

		const auto calls = make_calls(opt.calls);
		std::printf("pinhole churn: %d calls (INVITE/200/ACK/BYE, RTP+RTCP pinholes), %d live at a time\n",
		            opt.calls, opt.live);

		// (a) Tracker alone: parser + dialog + pinhole decisions, no kernel.
		double tracker_rate = 0;
		for (int rep = 0; rep < opt.reps; ++rep) {
			WriterSink sink;
			calls::Tracker tracker(tracker_config(opt.live), sink);
			Driver d{tracker};
			auto t0 = Clock::now();
			d.churn(calls, opt.live);
			double s = std::chrono::duration<double>(Clock::now() - t0).count();
			tracker_rate = std::max(tracker_rate, opt.calls / s);
			if (rep + 1 < opt.reps)
				continue;
			const auto& k = tracker.counters();
			std::printf("      dialogs: %llu created, %llu confirmed, %llu ended; %llu SDP errors\n",
			            static_cast<unsigned long long>(k.dialogs_created), static_cast<unsigned long long>(k.dialogs_confirmed),
			            static_cast<unsigned long long>(k.dialogs_ended), static_cast<unsigned long long>(k.sdp_errors));
			std::printf("  (a) tracker only, best of %d:          %10.0f calls/s  (%llu pinhole updates, %llu rejected)\n", opt.reps,
			            tracker_rate, static_cast<unsigned long long>(sink.updates),
			            static_cast<unsigned long long>(d.rejected));
		}

		// (b) Tracker + rules::Writer: batched netlink transactions.
		double ours = 0;
		for (int rep = 0; rep < opt.reps; ++rep) {
			rules::Netlink wnl;
			if (auto st = wnl.open(); !st) {
				std::fprintf(stderr, "netlink: %s\n", st.message.c_str());
				return 1;
			}
			std::atomic<uint64_t> failures{0};
			rules::Writer writer(std::move(wnl), {}, [&](const rules::WriterRequest&, const std::string& m) {
				if (failures++ < 3)
					std::fprintf(stderr, "writer: %s\n", m.c_str());
			});
			WriterSink sink;
			sink.writer = &writer;
			calls::Tracker tracker(tracker_config(opt.live), sink);
			Driver d{tracker};

			// Mid-run check: the live calls' pinholes really are in the kernel.
			const int warm = std::min(opt.live, opt.calls);
			for (int i = 0; i < warm; ++i)
				d.setup(calls[i]);
			writer.flush();
			const size_t mid = count_media(nl);
			for (int i = 0; i < warm; ++i)
				d.teardown(calls[i]);
			writer.flush();

			auto t0 = Clock::now();
			d.churn(calls, opt.live);
			writer.flush();
			double s = std::chrono::duration<double>(Clock::now() - t0).count();
			ours = std::max(ours, opt.calls / s);
			auto st = writer.stats();
			const size_t after = count_media(nl);
			if (mid != static_cast<size_t>(2 * warm) || after != 0 || failures.load() != 0) {
				std::fprintf(stderr, "FAILED: kernel set does not match the tracker (%zu with %d calls up, %zu at the end)\n",
				             mid, warm, after);
				return 1;
			}
			if (rep + 1 < opt.reps)
				continue;
			std::printf("  (b) tracker + rules::Writer, best of %d: %8.0f calls/s  (last run: %llu batches, %.1f elements/batch, "
			            "max batch latency %.2f ms, %llu queue-full waits, %llu kernel failures)\n",
			            opt.reps, ours, static_cast<unsigned long long>(st.batches),
			            st.batches ? double(st.elements) / double(st.batches) : 0.0, st.batch_latency_ns_max / 1e6,
			            static_cast<unsigned long long>(sink.waits), static_cast<unsigned long long>(failures.load()));
			std::printf("      kernel check (every run): %zu elements with %d calls up (expect %d), %zu after all BYEs (expect 0)\n",
			            mid, warm, 2 * warm, after);
		}

		// (c) Reference: one nft process per element change.
		double ref = 0;
		{
			const int n = std::min(opt.reference_calls, opt.calls);
			auto t0 = Clock::now();
			int failed = 0;
			for (int i = 0; i < n; ++i) {
				const auto& c = calls[i];
				for (int p = 0; p < 2; ++p)
					failed += spawn_nft({"add", "element", "inet", "sipguard", "media4",
					                     fmt::format("{{ {} . {} timeout 120s }}", c.remote, c.local_port + p)}) != 0;
				for (int p = 0; p < 2; ++p)
					failed += spawn_nft({"delete", "element", "inet", "sipguard", "media4",
					                     fmt::format("{{ {} . {} }}", c.remote, c.local_port + p)}) != 0;
			}
			double s = std::chrono::duration<double>(Clock::now() - t0).count();
			ref = n / s;
			std::printf("  (c) reference, one nft per change:    %10.0f calls/s  (%d calls, 4 nft runs each, %d failed)\n",
			            ref, n, failed);
			if (failed) {
				std::fprintf(stderr, "FAILED: nft reference runs failed\n");
				return 1;
			}
		}
		std::printf("ratio (b)/(c): %.1fx   target (b) >= 1000 calls/s: %s\n", ours / ref, ours >= 1000 ? "met" : "NOT met");
		// Figures from a loaded machine are lower; say how loaded it was.
		std::printf("load average during the run: %s\n", bench::load_average().c_str());
		(void)rules::remove(nl);
	} catch (const std::exception& e) {
		std::fprintf(stderr, "sipguard-bench-pinholes: %s\n", e.what());
		return 1;
	}
	return 0;
}
