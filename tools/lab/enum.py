#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Extension enumeration that svwar cannot do: a new source port (socket) per
request or every --rotate requests, a phone User-Agent, REGISTER or INVITE
without credentials at --rate requests per second. An extension "exists" when
the PBX challenges it (401/407) or accepts it (200); 404 means it does not.
Bounded by --count and --max-time. Prints one line per answer and a summary:
  found N: EXT EXT ...
"""
import argparse
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import siplab  # noqa: E402

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--src", required=True, help="source address (the port is ephemeral, rotated)")
p.add_argument("--dst", required=True)
p.add_argument("--dport", type=int, default=5060)
p.add_argument("--method", choices=("REGISTER", "INVITE"), default="REGISTER")
p.add_argument("--first", type=int, default=100, help="first extension")
p.add_argument("--count", type=int, default=100, help="extensions to try (at most 10000)")
p.add_argument("--rate", type=float, default=20.0, help="requests per second")
p.add_argument("--rotate", type=int, default=1, help="new source port every N requests")
p.add_argument("--wait", type=float, default=2.0, help="how long a socket waits for answers after its last request")
p.add_argument("--max-time", type=float, default=900.0)
p.add_argument("--ua", default=siplab.PHONE_UA)
a = p.parse_args()
if not (0 < a.count <= 10000 and 0 < a.rate <= 1000 and a.rotate >= 1 and 0 < a.max_time <= 3600):
    sys.exit("enum.py: --count 1..10000, --rate 0..1000, --rotate >= 1, --max-time 0..3600")

r = siplab.Reactor()
dst_host = siplab.host_of(a.dst)
pending = {}  # Call-ID -> (extension, sock, port, branch, tag, cseq)
found, answered = [], 0
t0 = time.monotonic()
state = {"sock": None, "port": 0}


def on_datagram(sock, data):
    global answered
    code, h = siplab.parse_response(data)
    if code is None or code < 200:
        return
    cid = h.get("call-id", "")
    if cid not in pending:
        return
    ext, s, port, branch, tag, cseq = pending.pop(cid)
    answered += 1
    print(f"{ext} {code}", flush=True)
    if code in (200, 401, 407):
        found.append(ext)
    if a.method == "INVITE":
        # A phone acknowledges a final answer to its INVITE (RFC 3261 §17.1.1.3).
        to_tag = h.get("to", "").partition(";tag=")[2].split(";")[0]
        ack = siplab.request("ACK", f"sip:{ext}@{dst_host}", ext, a.dst, a.src, port, cid, cseq=cseq,
                             tag=tag, to_tag=to_tag, branch=branch, ua=a.ua)
        try:
            s.sendto(ack, (a.dst, a.dport))
        except OSError:
            pass


def send(i):
    ext = a.first + i
    if i % a.rotate == 0:
        s = r.open(a.src, on_datagram)
        state["sock"], state["port"] = s, s.getsockname()[1]
        last = min(i + a.rotate, a.count) - 1
        r.at(t0 + last / a.rate + a.wait, lambda s=s: r.close(s))
    s, port = state["sock"], state["port"]
    cid = f"{siplab.rand_hex(16)}@{siplab.host_of(a.src)}"
    branch, tag = "z9hG4bK" + siplab.rand_hex(12), siplab.rand_hex()
    if a.method == "REGISTER":
        msg = siplab.request("REGISTER", f"sip:{dst_host}", ext, a.dst, a.src, port, cid, tag=tag, branch=branch, ua=a.ua)
    else:
        sdp = (f"v=0\r\no=- 1 1 IN IP{6 if ':' in a.src else 4} {a.src}\r\ns=call\r\n"
               f"c=IN IP{6 if ':' in a.src else 4} {a.src}\r\nt=0 0\r\nm=audio 40000 RTP/AVP 8\r\n")
        msg = siplab.request("INVITE", f"sip:{ext}@{dst_host}", ext, a.dst, a.src, port, cid, tag=tag,
                             branch=branch, ua=a.ua, body=sdp)
    pending[cid] = (ext, s, port, branch, tag, 1)
    try:
        s.sendto(msg, (a.dst, a.dport))
    except OSError as e:
        print(f"{ext} send-error {e}", flush=True)


for i in range(a.count):
    r.at(t0 + i / a.rate, lambda i=i: send(i))
r.run(t0 + a.max_time)
print(f"sent {a.count}, answered {answered}")
print(f"found {len(found)}: {' '.join(map(str, sorted(found)))}")
