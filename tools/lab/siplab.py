# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers of the lab's own SIP attack scripts (enum.py, guess.py): build
a phone-like request, parse a response, answer a digest challenge (RFC 2617
qop=auth, as Kamailio's www_challenge/proxy_challenge ask), and a small
select() loop of UDP sockets with per-request deadlines. Python stdlib only."""
import hashlib
import random
import re
import selectors
import socket
import time

PHONE_UA = "Yealink SIP-T46S 66.86.0.15"


def host_of(addr):
    return f"[{addr}]" if ":" in addr else addr


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def rand_hex(n=8):
    return "%0*x" % (n, random.getrandbits(4 * n))


def request(method, ruri, user, dst, src, sport, call_id, cseq=1, tag=None, auth=None, ua=PHONE_UA,
            to_tag=None, branch=None, body=""):
    """A request as a phone sends it: From and To name USER, the Via and Contact
    name the socket it is sent from."""
    tag = tag or rand_hex()
    branch = branch or "z9hG4bK" + rand_hex(12)
    d, s = host_of(dst), host_of(src)
    lines = [
        f"{method} {ruri} SIP/2.0",
        f"Via: SIP/2.0/UDP {s}:{sport};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:{user}@{d}>;tag={tag}",
        f"To: <sip:{user}@{d}>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        f"Contact: <sip:{user}@{s}:{sport}>",
        f"User-Agent: {ua}",
    ]
    if method == "REGISTER":
        lines.append("Expires: 3600")
    if auth:
        lines.append(auth)
    if body:
        lines.append("Content-Type: application/sdp")
    lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def parse_response(data):
    """(status code, {lower-case header name: first value}) or (None, {})."""
    try:
        text = data.decode("utf-8", "replace")
    except Exception:
        return None, {}
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    m = re.match(r"SIP/2\.0 (\d{3})", head[0])
    if not m:
        return None, {}
    hdrs = {}
    for line in head[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs.setdefault(k.strip().lower(), v.strip())
    return int(m.group(1)), hdrs


def digest_header(challenge_hdr, proxy, method, uri, user, password):
    """The Authorization (401) or Proxy-Authorization (407) header answering a
    Digest challenge with qop=auth (RFC 2617 §3.2.2)."""
    params = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge_hdr))
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
    ha1 = md5(f"{user}:{realm}:{password}")
    ha2 = md5(f"{method}:{uri}")
    name = "Proxy-Authorization" if proxy else "Authorization"
    if "auth" in params.get("qop", "").split(","):
        nc, cnonce = "00000001", rand_hex(16)
        resp = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        return (f'{name}: Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
                f'response="{resp}", algorithm=MD5, cnonce="{cnonce}", qop=auth, nc={nc}')
    resp = md5(f"{ha1}:{nonce}:{ha2}")
    return f'{name}: Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{resp}", algorithm=MD5'


class Reactor:
    """UDP sockets registered with a callback; run() until a time limit or no
    work is left. Every socket is closed by close() or at the end."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.timers = []  # (deadline, callback)

    def open(self, src, on_datagram, port=0):
        s = socket.socket(family_of(src), socket.SOCK_DGRAM)
        s.bind((src, port))
        s.setblocking(False)
        self.sel.register(s, selectors.EVENT_READ, on_datagram)
        return s

    def close(self, s):
        try:
            self.sel.unregister(s)
        except (KeyError, ValueError):
            pass
        s.close()

    def at(self, deadline, callback):
        self.timers.append((deadline, callback))

    def run(self, until, busy=lambda: False):
        """Until the absolute time UNTIL, or until no timer is pending and busy() is false."""
        while time.monotonic() < until:
            now = time.monotonic()
            due = [t for t in self.timers if t[0] <= now]
            if due:
                self.timers = [t for t in self.timers if t[0] > now]
                for _, cb in sorted(due, key=lambda t: t[0]):
                    cb()
                continue
            if not self.timers and not busy():
                break
            nxt = min([t[0] for t in self.timers] + [until])
            for key, _ in self.sel.select(max(0.0, min(nxt - now, 0.5))):
                try:
                    data, _addr = key.fileobj.recvfrom(65535)
                except OSError:
                    continue
                key.data(key.fileobj, data)
        for key in list(self.sel.get_map().values()):
            self.close(key.fileobj)
