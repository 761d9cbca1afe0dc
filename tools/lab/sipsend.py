#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Send one SIP request over UDP from a chosen address (the lab's forged BYE and
check-sync NOTIFY). Reads the message from stdin, line ends become CRLF;
prints the first response line if one arrives within --wait seconds."""
import argparse
import socket
import sys

p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--src", required=True)
p.add_argument("--sport", type=int, default=5060)
p.add_argument("--dst", required=True)
p.add_argument("--dport", type=int, default=5060)
p.add_argument("--wait", type=float, default=1.0)
a = p.parse_args()
lines = sys.stdin.read().strip("\n").split("\n")
msg = ("\r\n".join(l.rstrip("\r") for l in lines) + "\r\n\r\n").encode()
fam = socket.AF_INET6 if ":" in a.dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((a.src, a.sport))
s.settimeout(a.wait)
s.sendto(msg, (a.dst, a.dport))
try:
    data, _ = s.recvfrom(65535)
    print(data.split(b"\r\n", 1)[0].decode(errors="replace"))
except socket.timeout:
    print("(no response)")
