#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The toll-fraud scenarios' phone (issue 19): one account with its real
password registers from --src, then calls each number in turn: INVITE, the
PBX's 407, INVITE with credentials; an answered call is ACKed, held --hold
seconds and hung up. Prints one JSON line per call: the number and its final
status (0: no final answer within --timeout, i.e. dropped on the way).
Bounded: at most --max-calls calls, each within --timeout seconds."""
import argparse
import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import siplab  # noqa: E402

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--src", required=True)
p.add_argument("--dst", required=True)
p.add_argument("--user", required=True)
p.add_argument("--password", required=True)
p.add_argument("--numbers", required=True, help="comma-separated, as dialled")
p.add_argument("--interval", type=float, default=1.0, help="seconds between call starts")
p.add_argument("--hold", type=float, default=0.3)
p.add_argument("--timeout", type=float, default=3.0)
p.add_argument("--no-register", action="store_true")
p.add_argument("--max-calls", type=int, default=200)
a = p.parse_args()

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((a.src, 0))
sport = sock.getsockname()[1]
dst = (a.dst, 5060)
BASE = f"{siplab.rand_hex(6)}-{a.user}"


def send(data):
    sock.sendto(data, dst)


def wait_final(call_id, cseq, deadline):
    """The final response (status, headers, raw text) to CSeq `cseq`, or (0, {}, "")."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return 0, {}, ""
        sock.settimeout(left)
        try:
            data = sock.recv(65535)
        except socket.timeout:
            return 0, {}, ""
        status, hdrs = siplab.parse_response(data)
        if status is None or hdrs.get("call-id") != call_id or not hdrs.get("cseq", "").startswith(f"{cseq} "):
            continue
        if status >= 200:
            return status, hdrs, data.decode("utf-8", "replace")


def msg(method, ruri, number, call_id, cseq, tag, to_tag=None, branch=None, extra=()):
    branch = branch or "z9hG4bK" + siplab.rand_hex(12)
    lines = [f"{method} {ruri} SIP/2.0",
             f"Via: SIP/2.0/UDP {a.src}:{sport};branch={branch};rport",
             "Max-Forwards: 70",
             f"From: <sip:{a.user}@{a.dst}>;tag={tag}",
             f"To: <sip:{number}@{a.dst}>" + (f";tag={to_tag}" if to_tag else ""),
             f"Call-ID: {call_id}",
             f"CSeq: {cseq} {method.split()[0]}",
             f"Contact: <sip:{a.user}@{a.src}:{sport}>",
             f"User-Agent: {siplab.PHONE_UA}",
             *extra,
             "Content-Length: 0"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), branch


def register():
    call_id = f"reg-{BASE}@{a.src}"
    ruri = f"sip:{a.dst}"
    tag = siplab.rand_hex()
    send(siplab.request("REGISTER", ruri, a.user, a.dst, a.src, sport, call_id, 1, tag))
    status, hdrs, _ = wait_final(call_id, 1, time.monotonic() + a.timeout)
    if status == 401:
        auth = siplab.digest_header(hdrs.get("www-authenticate", ""), False, "REGISTER", ruri, a.user, a.password)
        send(siplab.request("REGISTER", ruri, a.user, a.dst, a.src, sport, call_id, 2, tag, auth=auth))
        status, _, _ = wait_final(call_id, 2, time.monotonic() + a.timeout)
    return status


def call(n, number):
    call_id = f"call-{BASE}-{n}@{a.src}"
    ruri = f"sip:{number}@{a.dst}"
    tag = siplab.rand_hex()
    data, branch = msg("INVITE", ruri, number, call_id, 1, tag)
    send(data)
    status, hdrs, _ = wait_final(call_id, 1, time.monotonic() + a.timeout)
    if status in (401, 407):
        ack, _ = msg("ACK", ruri, number, call_id, 1, tag, to_tag=re.search(r"tag=([^;>\s]+)", hdrs.get("to", "")).group(1),
                     branch=branch)
        send(ack)
        auth = siplab.digest_header(hdrs.get("proxy-authenticate" if status == 407 else "www-authenticate", ""),
                                    status == 407, "INVITE", ruri, a.user, a.password)
        data, branch = msg("INVITE", ruri, number, call_id, 2, tag, extra=(auth,))
        send(data)
        status, hdrs, raw = wait_final(call_id, 2, time.monotonic() + a.timeout)
        if 200 <= status < 300:
            to_tag = re.search(r"tag=([^;>\s]+)", hdrs.get("to", "")).group(1)
            contact = re.search(r"<([^>]+)>", hdrs.get("contact", f"<{ruri}>")).group(1)
            routes = re.findall(r"^Record-Route:\s*(.+)$", raw, re.M | re.I)
            route = tuple(f"Route: {r.strip()}" for r in routes)
            ack, _ = msg("ACK", contact, number, call_id, 2, tag, to_tag=to_tag, extra=route)
            send(ack)
            time.sleep(a.hold)
            bye, _ = msg("BYE", contact, number, call_id, 3, tag, to_tag=to_tag, extra=route)
            send(bye)
            wait_final(call_id, 3, time.monotonic() + 1.0)
    return status


if not a.no_register:
    print(json.dumps({"register": register(), "user": a.user, "src": a.src}), flush=True)
start = time.monotonic()
for n, number in enumerate([x for x in a.numbers.split(",") if x][: a.max_calls]):
    due = start + n * a.interval
    if due > time.monotonic():
        time.sleep(due - time.monotonic())
    status = call(n, number)
    print(json.dumps({"n": n + 1, "number": number, "status": status, "user": a.user, "src": a.src}), flush=True)
sock.close()
