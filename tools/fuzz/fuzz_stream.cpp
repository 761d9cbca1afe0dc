// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target for the engine's TCP path: a stream of valid and attack
// SIP messages sent as segments in any order, duplicated, overlapping,
// altered, interleaved with RSTs and spoofed SYNs, then retransmitted the
// way the sender's TCP would. A model of the PBX's receiver takes the
// accepted segments. Traps when
//   - an accepted byte belongs to a message not judged yet, or differs from
//     the copy that was judged (or two accepted copies of a byte differ);
//   - the PBX holds a byte of the first message an in-order UDP sender of
//     the judged messages gets dropped, or of any after it;
//   - a schedule of genuine bytes alone, none of them dropped, does not
//     end with the whole stream delivered.
//
// Input: [flags][count][count pool choices][ops...]
// flags: bit 0 SYN seen (else mid-stream pickup), bits 1-3 the sender's
// segment size for retransmissions (5 to 9000 bytes), bit 4
// detect.malformed.drop. Pool: 0 REGISTER with credentials,
// 1 OPTIONS, 2 INVITE with SDP, 3 NOTIFY check-sync (forged), 4 BYE the
// call policy drops, 5 a scanner's OPTIONS (banned), 6 CRLF keep-alive,
// 7 INVITE with a 3 KB body. Ops (first byte % 6): 0 a segment [from, len
// 2 bytes each], 1 the same with its X-Pad letters changed, 2 a
// retransmission round, 3 an RST [1 byte: 0 at the PBX's RCV.NXT, 1 at its
// highest out-of-order edge, else RCV.NXT + the signed byte], 4 a SYN
// [2 bytes offset], 5 the last segment again.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "agent/calls/call_hook.h"
#include "agent/engine/ban_manager.h"
#include "agent/engine/engine.h"
#include "nfq/packet_view.h"
#include "tests/engine/pbx_receiver.h"
#include "tests/engine/sip_builder.h"

using namespace sipguard;

namespace {

constexpr uint8_t kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
constexpr uint32_t kIsn = 0xffffff00u; // streams cross the sequence wrap
constexpr uint16_t kPort = 40200;
constexpr size_t kMessages = 6;
constexpr size_t kPoolSize = 8;
constexpr size_t kPad = 24;

struct NullSink final : engine::Sink {
	void on_finding(const detect::Finding&, const engine::BanResult&) override {}
};

// Records the bytes of each message the engine judged (valid ones: the
// engine calls the hook for every valid message it did not drop by a ban)
// and drops the BYEs marked for it, as a call policy would.
struct RecordingHook final : calls::CallHook {
	std::vector<std::string>* judged = nullptr; // by message index (Call-ID "fz-<index>-...")
	calls::CallDecision on_sip(const calls::SipContext& ctx, calls::PinholeSink&) override
	{
		const sip::Message& m = ctx.message;
		calls::CallDecision d;
		if (!m.is_request() || !m.call_id.starts_with("fz-"))
			return d;
		const size_t i = static_cast<size_t>(m.call_id[3] - '0');
		if (judged && i < judged->size())
			(*judged)[i].assign(m.method_token.data(), m.length);
		d.drop = m.call_id.find("-hookdrop") != std::string_view::npos;
		return d;
	}
	void on_tick(util::TimePoint, calls::PinholeSink&) override {}
};

std::shared_ptr<engine::Config> small_config(bool drop_malformed)
{
	auto c = std::make_shared<engine::Config>();
	c->malformed.drop = drop_malformed;
	c->tables.sources = 8;
	c->tables.prefixes = 8;
	c->tables.transactions = 32;
	c->tables.tcp_flows = 4;
	c->tables.accounts = 8;
	c->tables.account_pairs = 16;
	c->ban.max_active = 32;
	return c;
}

std::string message(size_t pool, size_t index)
{
	test::Req r;
	r.transport = "TCP";
	r.via_host = "203.0.113.50";
	r.via_port = kPort;
	r.call_id = "fz-" + std::to_string(index);
	r.branch = "z9hG4bK-fz" + std::to_string(index);
	r.cseq = static_cast<uint32_t>(index + 1);
	r.extra_headers = "X-Pad: " + std::string(kPad, 'a') + "\r\n";
	switch (pool) {
	case 0: r.credentials = true; break;
	case 1: r.method = "OPTIONS"; break;
	case 2:
	case 7:
		r.method = "INVITE";
		r.ruri_user = r.to_user = "201";
		r.body = "v=0\r\no=- 1 1 IN IP4 203.0.113.50\r\ns=-\r\nc=IN IP4 203.0.113.50\r\nt=0 0\r\n"
		         "m=audio 40000 RTP/AVP 0\r\n";
		if (pool == 7)
			for (int i = 0; i < 60; ++i)
				r.body += "a=x-fill:" + std::string(40, static_cast<char>('a' + i % 26)) + "\r\n";
		break;
	case 3:
		r.method = "NOTIFY";
		r.extra_headers += "Event: check-sync\r\n";
		break;
	case 4:
		r.method = "BYE";
		r.call_id += "-hookdrop";
		break;
	case 5:
		r.method = "OPTIONS";
		r.user_agent = "friendly-scanner";
		break;
	default: return "\r\n\r\n";
	}
	return test::request(r);
}

uint32_t le(const uint8_t* p, size_t n)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; ++i)
		v |= static_cast<uint32_t>(p[i]) << (8 * i);
	return v;
}

// A packet from the phone to the PBX's SIP port.
nfq::PacketView to_pbx(nfq::L4 l4, uint32_t seq, uint8_t flags, const std::string& data)
{
	nfq::PacketView p;
	p.src = *net::IpAddress::parse("203.0.113.50");
	p.dst = *net::IpAddress::parse("192.0.2.1");
	p.sport = kPort;
	p.dport = 5060;
	p.l4 = l4;
	p.tcp_seq = seq;
	p.tcp_flags = flags;
	p.payload = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size());
	return p;
}

void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

class Run {
public:
	Run(const std::vector<size_t>& pool, bool syn, bool drop_malformed)
		: cfg_(small_config(drop_malformed)), bans_(*cfg_, nullptr), engine_(cfg_, bans_, sink_)
	{
		for (size_t i = 0; i < pool.size(); ++i) {
			starts_.push_back(stream_.size());
			stream_ += message(pool[i], i);
			real_.push_back(pool[i] != 6);
		}
		starts_.push_back(stream_.size());
		judged_.resize(pool.size());
		hook_.judged = &judged_;
		engine_.set_call_hook(&hook_);
		pbx_ = std::make_unique<test::PbxReceiver>(kIsn + 1, stream_.size());
		if (syn)
			(void)packet(kIsn, "", kSyn);
	}

	size_t size() const { return stream_.size(); }
	uint32_t una() const { return pbx_->rcv_nxt(); }
	uint32_t edge() const { return pbx_->highest_edge(); }

	void segment(size_t from, size_t to, bool alter)
	{
		std::string data = stream_.substr(from, to - from);
		if (alter) {
			// Letters of the X-Pad values only: the message stays valid and
			// framed the same, its bytes differ.
			for (size_t m = 0; m + 1 < starts_.size(); ++m) {
				const size_t pad = stream_.find("X-Pad: ", starts_[m]);
				if (pad == std::string::npos || pad >= starts_[m + 1])
					continue;
				for (size_t k = pad + 7; k < pad + 7 + kPad; ++k)
					if (k >= from && k < to)
						data[k - from] = static_cast<char>('a' + (data[k - from] - 'a' + 1) % 26);
			}
			altered_ = true;
		}
		send(kIsn + 1 + static_cast<uint32_t>(from), data);
	}
	void send(uint32_t seq, const std::string& data)
	{
		last_ = {seq, data};
		if (packet(seq, data, kAck | kPsh) == engine::Verdict::Accept)
			accepted(seq, data);
	}
	void again() { send(last_.first, last_.second); }
	void rst(uint32_t seq)
	{
		rst_ = true;
		// The PBX's TCP takes a RST at RCV.NXT or at the right edge of its
		// highest SACK block (RFC 5961 §3.2, Linux tcp_validate_incoming).
		const bool pbx_takes = seq == pbx_->rcv_nxt() || seq == pbx_->highest_edge();
		(void)packet(seq, "", kRst | kAck);
		if (pbx_takes)
			closed_ = true;
	}
	void syn(uint32_t seq) { (void)packet(seq, "", kSyn); }

	// The sender's TCP: everything the PBX has not acknowledged, in order,
	// in segments of `mss` from SND.UNA.
	void round(size_t mss)
	{
		const size_t from = una() - (kIsn + 1);
		for (size_t at = from; at < stream_.size(); at += mss)
			send(kIsn + 1 + static_cast<uint32_t>(at), stream_.substr(at, mss));
	}

	void finish(size_t mss, bool syn)
	{
		size_t stuck = 0;
		for (int i = 0; i < 12 && stuck < 2 && !closed_ && pbx_->delivered().size() < stream_.size(); ++i) {
			const size_t before = pbx_->delivered().size();
			round(mss);
			stuck = pbx_->delivered().size() == before ? stuck + 1 : 0;
		}
		check(!pbx_->disagreed());
		// Oracle: the judged messages, in order, over UDP from the same
		// address and port; the first one dropped there and all after it
		// must be nowhere at the PBX (CR and LF, which pass as keep-alives
		// outside a stream, excepted). Picked up without a SYN, the stream
		// starts later than the PBX's model: what it holds beyond that gap
		// never reaches its application, and what came before the pickup
		// was never judged by this engine.
		const size_t first_drop = udp_first_drop();
		check(pbx_->delivered().size() <= starts_[first_drop]);
		for (size_t off = starts_[first_drop]; syn && off < stream_.size(); ++off)
			check(!pbx_->holds(off) || stream_[off] == '\r' || stream_[off] == '\n');
		if (syn && !altered_ && !rst_ && first_drop == real_.size())
			check(pbx_->delivered().size() == stream_.size());
	}

private:
	engine::Verdict packet(uint32_t seq, const std::string& data, uint8_t flags)
	{
		return engine_.on_packet(to_pbx(nfq::L4::Tcp, seq, flags, data), nfq::Direction::In, now_);
	}

	// Every accepted byte: its message judged, equal to the judged copy.
	// Nothing reaches a PBX that took a RST. CR and LF as sent carry nothing
	// to judge: keep-alives pass without a stream, and a stream picked up
	// without a SYN may start with the end of an earlier message.
	void accepted(uint32_t seq, const std::string& data)
	{
		if (closed_)
			return;
		for (size_t i = 0; i < data.size(); ++i) {
			const auto off = static_cast<int32_t>(seq + static_cast<uint32_t>(i) - (kIsn + 1));
			if (off < 0 || static_cast<size_t>(off) >= stream_.size())
				continue;
			const auto o = static_cast<size_t>(off);
			if ((data[i] == '\r' || data[i] == '\n') && stream_[o] == data[i])
				continue;
			size_t m = 0;
			while (starts_[m + 1] <= o)
				++m;
			if (real_[m] && judged_[m].empty() && !cfg_->malformed.drop && engine_.counters().malformed > 0) {
				// Judged as malformed and passed (detect.malformed.drop
				// off): the hook sees valid messages only. Only a stream
				// started off a message boundary frames one here.
				check(stream_[o] == data[i] || altered_);
			} else if (real_[m]) {
				const std::string& j = judged_[m];
				check(!j.empty() && o - starts_[m] < j.size() && j[o - starts_[m]] == data[i]);
			} else {
				for (size_t k = 0; k < m; ++k)
					check(!real_[k] || !judged_[k].empty());
				check(stream_[o] == data[i]);
			}
		}
		pbx_->accept(seq, data);
	}

	size_t udp_first_drop()
	{
		engine::BanManager bans(*cfg_, nullptr);
		NullSink sink;
		engine::Engine udp(cfg_, bans, sink);
		RecordingHook hook;
		udp.set_call_hook(&hook);
		for (size_t m = 0; m < real_.size(); ++m) {
			if (!real_[m])
				continue;
			const std::string text =
				judged_[m].empty() ? stream_.substr(starts_[m], starts_[m + 1] - starts_[m]) : judged_[m];
			if (udp.on_packet(to_pbx(nfq::L4::Udp, 0, 0, text), nfq::Direction::In, now_) == engine::Verdict::Drop)
				return m;
		}
		return real_.size();
	}

	std::shared_ptr<engine::Config> cfg_;
	engine::BanManager bans_;
	NullSink sink_;
	engine::Engine engine_;
	RecordingHook hook_;
	util::TimePoint now_{std::chrono::seconds(1'800'000'000)};
	std::string stream_;
	std::vector<size_t> starts_; // message starts, then the stream's end
	std::vector<bool> real_;     // a SIP message (not CRLF keep-alives)
	std::vector<std::string> judged_;
	std::unique_ptr<test::PbxReceiver> pbx_;
	std::pair<uint32_t, std::string> last_;
	bool altered_ = false;
	bool rst_ = false;
	bool closed_ = false;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	if (size < 2)
		return 0;
	static constexpr size_t kMss[] = {5, 64, 200, 536, 1000, 1400, 4000, 9000};
	const bool syn = data[0] & 1;
	const size_t mss = kMss[(data[0] >> 1) & 7];
	const size_t n = 1 + data[1] % kMessages;
	if (size < 2 + n)
		return 0;
	std::vector<size_t> pool;
	for (size_t i = 0; i < n; ++i)
		pool.push_back(data[2 + i] % kPoolSize);
	Run run(pool, syn, data[0] & 0x10);
	const size_t len = run.size();

	size_t off = 2 + n;
	while (off < size) {
		const uint8_t op = data[off++] % 6;
		if ((op == 0 || op == 1) && off + 4 <= size) {
			const size_t from = le(data + off, 2) % len;
			const size_t to = std::min(len, from + 1 + le(data + off + 2, 2) % 1600);
			off += 4;
			run.segment(from, to, op == 1);
		} else if (op == 2) {
			run.round(mss);
		} else if (op == 3 && off < size) {
			const uint8_t p = data[off++];
			run.rst(p == 0 ? run.una() : p == 1 ? run.edge() : run.una() + static_cast<uint32_t>(static_cast<int8_t>(p)));
		} else if (op == 4 && off + 2 <= size) {
			run.syn(run.una() + le(data + off, 2));
			off += 2;
		} else if (op == 5) {
			run.again();
		} else {
			break;
		}
	}
	run.finish(mss, syn);
	return 0;
}
