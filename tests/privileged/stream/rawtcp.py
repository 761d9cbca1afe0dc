#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Raw-socket TCP sender for stream-inspection tests (IPv4 and IPv6, standard library only).

Each session does its own 3-way handshake from SRC:SPORT to DST:DPORT, sends
segments of a byte stream following a script, then behaves like a real
sender: it reads the peer's ACKs and SACK blocks and retransmits, in order and
at most MSS bytes a segment, whatever is not acknowledged, until all of it is
or the session's time and round limits pass. Sessions run concurrently, one
raw socket each (bound to its source address, so it sees only its replies).

Run it inside a network namespace: the kernel there has no socket for SPORT
and answers the peer's SYN-ACK with a RST unless an output rule drops RSTs
not marked MARK (our own segments carry it, SO_MARK):
  nft add rule inet T out meta mark != 0x5347 tcp dport 5060 'tcp flags & rst == rst' drop
(an inet table: the rule covers IPv6 too). A session is IPv6 when its src is;
DST must then be IPv6 as well.

Usage: rawtcp.py --dst ADDR [--dport 5060] SESSIONS.json  ->  JSON report on stdout.
SESSIONS.json is a list of sessions:
  {"name": str, "src": addr, "sport": int, "stream": hex,
   "steps": [step, ...], "gap_ms": 8, "finish_ms": 2500, "finish_rounds": 16,
   "isn": optional initial sequence number (default random),
   "close": true (end with a RST at the peer's last ACK; false leaves the connection open)}
A step is one of
  {"off": o, "len": n}                  bytes [o, o+n) of the stream, flags PSH|ACK
  {"off": o, "len": n, "data": hex}     same sequence range, other bytes (overlap tests)
  ..., "badsum": true                   with a wrong TCP checksum (the peer's TCP discards it)
  {"rst": "frontier"|"inside"|"far"}     RST at the peer's last ACK, 200 bytes past it, 2^30 past it
  {"syn": "far"}                        a SYN 2^30 past the peer's last ACK
  {"wait": ms}                          read ACKs for ms
The peer's bytes are acknowledged and kept in order (Session.peer_data), so
a request/response client can drive a Session itself (tools/lab/rawsip.py).
Every loop is bounded in count and time; a session never runs longer than
handshake (1.5 s) + steps (their waits + gaps, at most 20 s) + finish_ms.
"""
import argparse
import json
import random
import select
import socket
import struct
import sys
import threading
import time

MARK = 0x5347
FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
SEQ_MOD = 1 << 32
FAR = 1 << 30
MAX_STEPS = 10000
MAX_STEP_WAIT = 5.0
MAX_SCRIPT_TIME = 20.0


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Session:
    def __init__(self, spec, dst, dport):
        self.name = spec["name"]
        self.src = spec["src"]
        self.sport = int(spec["sport"])
        self.dst = dst
        self.dport = dport
        self.stream = bytes.fromhex(spec["stream"])
        self.steps = spec.get("steps", [])[:MAX_STEPS]
        self.gap = spec.get("gap_ms", 8) / 1000.0
        self.finish_s = min(spec.get("finish_ms", 2500), 10000) / 1000.0
        self.finish_rounds = min(spec.get("finish_rounds", 16), 64)
        self.reset_at_end = spec.get("close", True)
        self.isn = int(spec["isn"]) % SEQ_MOD if "isn" in spec else random.getrandbits(32)
        self.base = (self.isn + 1) % SEQ_MOD  # sequence number of stream offset 0
        self.peer_isn = None
        self.rcv_nxt = None   # the peer's next sequence number: what our segments acknowledge
        self.peer_data = bytearray()  # the peer's bytes, in order
        self.peer_fin = False
        self.mss = 536
        self.una = 0          # stream bytes the peer acknowledged (relative)
        self.sacked = []      # the peer's latest SACK blocks, relative [a, b)
        self.peer_rst = False
        self.acks = 0
        self.sent = []        # what the script and the finisher sent, for the report
        self.retransmissions = 0
        self.rounds = 0
        self.error = None
        self.acked_script = 0
        self.v6 = ":" in self.src
        if self.v6 != (":" in dst):
            raise ValueError("%s: source %s and destination %s are not of one family" % (self.name, self.src, dst))
        # IPv6 raw sockets leave the TCP checksum to us (IPV6_CHECKSUM is off
        # for IPPROTO_TCP) and receive the segment without the IPv6 header.
        family = socket.AF_INET6 if self.v6 else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, MARK)
        self.sock.bind((self.src, 0))
        self.dst_addr = (self.dst, 0, 0, 0) if self.v6 else (self.dst, 0)

    # --- wire ---------------------------------------------------------------
    def send(self, seq, flags, payload=b"", options=b"", badsum=False, urg=0):
        ack = self.rcv_nxt if self.rcv_nxt is not None else 0
        if self.peer_isn is None:
            flags &= ~ACK
        hlen = 20 + len(options)
        if urg:
            flags |= URG
        hdr = struct.pack("!HHIIHHHH", self.sport, self.dport, seq % SEQ_MOD, ack,
                          (hlen // 4) << 12 | flags, 65535, 0, urg) + options
        c = checksum(self.pseudo_header(hlen + len(payload)) + hdr + payload) ^ (0x5A5A if badsum else 0)
        seg = hdr[:16] + struct.pack("!H", c) + hdr[18:] + payload
        self.sock.sendto(seg, self.dst_addr)

    def pseudo_header(self, tcp_len):
        if self.v6:  # RFC 8200 8.1: src, dst, upper-layer length (32), 3 zero bytes, next header
            return (socket.inet_pton(socket.AF_INET6, self.src) + socket.inet_pton(socket.AF_INET6, self.dst) +
                    struct.pack("!I3xB", tcp_len, socket.IPPROTO_TCP))
        return socket.inet_aton(self.src) + socket.inet_aton(self.dst) + struct.pack(
            "!BBH", 0, socket.IPPROTO_TCP, tcp_len)

    def segment_from_peer(self):
        """The TCP segment of one received packet, or None if it is not from DST."""
        if self.v6:
            pkt, addr = self.sock.recvfrom(65535)
            same = socket.inet_pton(socket.AF_INET6, addr[0].split("%")[0]) == socket.inet_pton(
                socket.AF_INET6, self.dst)
            return pkt if same and len(pkt) >= 20 else None
        pkt = self.sock.recv(65535)
        ihl = (pkt[0] & 0x0F) * 4
        if len(pkt) < ihl + 20 or pkt[9] != socket.IPPROTO_TCP:
            return None
        if socket.inet_ntoa(pkt[12:16]) != self.dst:
            return None
        return pkt[ihl:]

    def rel(self, seq):
        return (seq - self.base) % SEQ_MOD

    def receive(self, timeout):
        """Reads the peer's segments for at most `timeout` seconds; returns True if una moved."""
        moved = False
        end = time.monotonic() + max(timeout, 0)
        for _ in range(10000):
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                break
            tcp = self.segment_from_peer()
            if tcp is None:
                continue
            sport, dport, seq, ack, offflags, _win = struct.unpack("!HHIIHH", tcp[:16])
            if sport != self.dport or dport != self.sport:
                continue
            flags = offflags & 0x3F
            opts = self.options(tcp[20:(offflags >> 12) * 4])
            if flags & RST:
                self.peer_rst = True
                continue
            if flags & SYN and flags & ACK:
                if self.peer_isn is None and ack == self.base:
                    self.peer_isn = seq
                    self.rcv_nxt = (seq + 1) % SEQ_MOD
                    if 2 in opts:
                        self.mss = opts[2]
                continue
            if not flags & ACK or self.peer_isn is None:
                continue
            self.take_data(seq, flags, tcp[(offflags >> 12) * 4:])
            self.acks += 1
            a = self.rel(ack)
            if a <= len(self.stream) and a > self.una:
                self.una = a
                moved = True
            self.sacked = [(self.rel(l), self.rel(r)) for l, r in opts.get(5, [])
                           if self.rel(l) < self.rel(r) <= len(self.stream)]
        return moved

    def take_data(self, seq, flags, payload):
        """Keeps the peer's in-order bytes (a request/response client reads
        them from peer_data) and acknowledges every segment with data or FIN."""
        if not payload and not flags & FIN:
            return
        behind = (self.rcv_nxt - seq) % SEQ_MOD
        if behind < len(payload):
            self.peer_data += payload[behind:]
            self.rcv_nxt = (self.rcv_nxt + len(payload) - behind) % SEQ_MOD
        if flags & FIN and (seq + len(payload)) % SEQ_MOD == self.rcv_nxt:
            self.rcv_nxt = (self.rcv_nxt + 1) % SEQ_MOD
            self.peer_fin = True
        self.send(self.base + self.una, ACK)

    @staticmethod
    def options(raw):
        out = {}
        i = 0
        while i < len(raw):
            kind = raw[i]
            if kind == 0:
                break
            if kind == 1:
                i += 1
                continue
            if i + 1 >= len(raw) or raw[i + 1] < 2:
                break
            length = raw[i + 1]
            body = raw[i + 2:i + length]
            if kind == 2 and len(body) == 2:
                out[2] = struct.unpack("!H", body)[0]
            elif kind == 5:
                out[5] = [struct.unpack("!II", body[j:j + 8]) for j in range(0, len(body) - 7, 8)]
            i += length
        return out

    # --- phases ---------------------------------------------------------------
    def handshake(self):
        syn_opts = struct.pack("!BBH", 2, 4, 1460) + bytes([1, 1, 4, 2])  # MSS, NOP NOP SACK-permitted
        for _ in range(3):
            self.send(self.isn, SYN, options=syn_opts)
            end = time.monotonic() + 0.5
            while self.peer_isn is None and time.monotonic() < end:
                self.receive(end - time.monotonic())
            if self.peer_isn is not None:
                self.send(self.base, ACK)
                return True
        self.error = "no SYN-ACK"
        return False

    def data(self, off, payload, note, badsum=False, urg=0):
        if len(payload) > self.mss:
            raise OSError("segment of %d bytes is larger than the peer's MSS %d" % (len(payload), self.mss))
        self.send(self.base + off, PSH | ACK, payload, badsum=badsum, urg=urg)
        self.sent.append(note)

    def script(self):
        t_end = time.monotonic() + MAX_SCRIPT_TIME
        for st in self.steps:
            if time.monotonic() > t_end or self.peer_rst:
                break
            if "wait" in st:
                self.receive(min(st["wait"] / 1000.0, MAX_STEP_WAIT))
                continue
            if "rst" in st or "syn" in st:
                where = st.get("rst", st.get("syn"))
                shift = {"frontier": 0, "inside": 200, "far": FAR}[where]
                flags = RST | ACK if "rst" in st else SYN
                self.send(self.base + self.una + shift, flags)
                self.sent.append(("rst@" if "rst" in st else "syn@") + where + "(%d)" % (self.una + shift))
            else:
                off, n = int(st["off"]), int(st["len"])
                bad = bool(st.get("badsum"))
                mark = "!" if bad else ""
                if "data" in st:
                    payload = bytes.fromhex(st["data"])
                    self.data(off, payload, "%d+%d*%s" % (off, len(payload), mark), bad)
                else:
                    self.data(off, self.stream[off:off + n], "%d+%d%s" % (off, n, mark), bad)
            self.receive(self.gap)
        self.receive(0.05)
        self.acked_script = self.una

    def holes(self):
        """Unacknowledged, un-SACKed ranges of the stream, in order."""
        out = []
        pos = self.una
        for a, b in sorted(self.sacked):
            if b <= pos:
                continue
            if a > pos:
                out.append((pos, a))
            pos = max(pos, b)
        if pos < len(self.stream):
            out.append((pos, len(self.stream)))
        return out

    def finish(self):
        t_end = time.monotonic() + self.finish_s
        rto = 0.2
        for _ in range(self.finish_rounds):
            if self.una >= len(self.stream) or self.peer_rst or time.monotonic() >= t_end:
                break
            self.rounds += 1
            for a, b in self.holes():
                for off in range(a, b, self.mss):
                    n = min(self.mss, b - off)
                    self.data(off, self.stream[off:off + n], "R%d+%d" % (off, n))
                    self.retransmissions += 1
            if self.receive(min(rto, t_end - time.monotonic())):
                self.receive(0.02)  # the rest of this round's ACKs
            else:
                rto = min(rto * 2, 0.8)

    def close(self):
        if self.peer_isn is not None and not self.peer_rst and self.reset_at_end:
            self.receive(0.1)
            self.send(self.base + self.una, RST | ACK)
        self.sock.close()

    def run(self):
        t0 = time.monotonic()
        try:
            if self.handshake():
                self.script()
                self.finish()
        except OSError as e:
            self.error = str(e)
        finally:
            self.close()
        return {
            "name": self.name, "src": self.src, "sport": self.sport,
            "connected": self.peer_isn is not None, "error": self.error,
            "length": len(self.stream), "acked_script": self.acked_script, "acked": self.una,
            "peer_rst": self.peer_rst, "acks": self.acks, "mss": self.mss,
            "rounds": self.rounds, "retransmissions": self.retransmissions,
            "sent": self.sent, "ms": int((time.monotonic() - t0) * 1000),
        }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dst", required=True)
    p.add_argument("--dport", type=int, default=5060)
    p.add_argument("--stagger-ms", type=float, default=5, help="between session starts")
    p.add_argument("sessions")
    a = p.parse_args()
    with open(a.sessions) as f:
        specs = json.load(f)
    sessions = [Session(s, a.dst, a.dport) for s in specs]
    reports = [None] * len(sessions)

    def worker(i):
        reports[i] = sessions[i].run()

    threads = []
    for i in range(len(sessions)):
        t = threading.Thread(target=worker, args=(i,), daemon=True)
        t.start()
        threads.append(t)
        time.sleep(a.stagger_ms / 1000.0)
    limit = time.monotonic() + 60
    for t in threads:
        t.join(max(0, limit - time.monotonic()))
    for i, r in enumerate(reports):
        if r is None:
            reports[i] = {"name": sessions[i].name, "error": "did not finish within 60 s"}
    json.dump(reports, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
