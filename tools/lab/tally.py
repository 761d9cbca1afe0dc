#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The lab's figures for a set of sources (addresses or prefixes), from the
three records of a run: Kamailio's log (one "SGLAB req" line per request that
reached it, "SGLAB auth-failed" per failed authentication), the wire capture as
a TSV (epoch, ip.src, ipv6.src, udp.srcport, method; see lab_wire_tsv in lib.sh)
and sipguard's ban log (JSON lines).

  tally.py [--kam LOG] [--wire TSV] [--banlog FILE] --src A[,B,PREFIX/LEN] [--port P]
           [--row NAME LABEL GOT | --first-ban]
  tally.py --figures JSON --row NAME LABEL GOT     (the row from figures printed before)

Prints the figures as JSON, with --first-ban "EPOCH DETECTOR" of the first ban
covering the sources (or "- -"), or with --row the lab's table row:
  | name | source | sent | at PBX | users | fails | ban after | detector | attacker got |
--port keeps only the requests from one source port. "creds" = requests at the PBX that carried credentials; "tries" = REGISTER and
INVITE requests on the wire, "tries_before_ban" those sent before the first ban.
"""
import argparse
import datetime
import ipaddress
import json
import re
import sys

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--kam", default="")
p.add_argument("--wire", default="")
p.add_argument("--banlog", default="")
p.add_argument("--src", default="")
p.add_argument("--figures", default="", help="figures printed by an earlier run, instead of the records")
p.add_argument("--port", type=int, default=0)
p.add_argument("--row", nargs=3, metavar=("NAME", "LABEL", "GOT"))
p.add_argument("--first-ban", action="store_true")
a = p.parse_args()


def row(out, name, label, got, protected):
    if out["ban_after_s"] is not None:
        s = max(0.0, out["ban_after_s"])
        ban = f"{s * 1000:.0f} ms" if s < 10 else f"{s:.1f} s"
    else:
        ban = "not banned" if protected else "-"
    det = ",".join(out["detectors"]) or "-"
    if out["sources_sent"] > 1 and protected:
        det = f"{det} {out['sources_banned']}/{out['sources_sent']}"
    return (f"| {name:<18} | {label:<14} | {out['sent']:>5} | {out['pbx']:>7} | {out['users']:>5} | {out['fails']:>5} | "
            f"{ban:<11} | {det:<16} | {got:<16} |")


if a.figures:
    fig = json.load(open(a.figures))
    print(row(fig, *a.row, fig["protected"]))
    sys.exit(0)

nets = [ipaddress.ip_network(s if "/" in s else f"{s}/{128 if ':' in s else 32}", strict=False)
        for s in a.src.split(",") if s]


def ours(addr):
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in nets)


REQ = re.compile(r"SGLAB req t=(\S+) src=(\S+) sport=(\d+) m=(\S+) ru=(\S*) fu=(\S*) tu=(\S*) ua=\[(.*?)\] cid=(\S*)(?: au=(\S*))?")
FAIL = re.compile(r"SGLAB auth-failed t=(\S+) src=(\S+) sport=(\d+) user=(\S*) ")
pbx, users, fails, creds, srcs_pbx = [], set(), 0, 0, set()
for line in open(a.kam, errors="replace") if a.kam else []:
    m = REQ.search(line)
    if m:
        t, src, sport, meth, ru, fu, tu, _ua, _cid, au = m.groups()
        if not ours(src) or (a.port and int(sport) != a.port):
            continue
        pbx.append(float(t))
        srcs_pbx.add(src)
        if meth == "REGISTER":
            users.add(tu)
        elif meth == "INVITE":
            users.add(ru)
        if au and au != "<null>":
            creds += 1
        continue
    m = FAIL.search(line)
    if m and ours(m.group(2)) and (not a.port or int(m.group(3)) == a.port):
        fails += 1

wire, srcs_wire, tries = [], set(), []
try:
    for line in open(a.wire) if a.wire else []:
        f = line.rstrip("\n").split("\t")
        if len(f) < 5 or not f[4]:
            continue
        src = f[1] or f[2]
        if ours(src) and (not a.port or (f[3] and int(f[3].split(",")[0]) == a.port)):
            wire.append(float(f[0]))
            srcs_wire.add(src)
            if f[4] in ("REGISTER", "INVITE"):
                tries.append(float(f[0]))
except OSError:
    pass

bans, findings, banned = [], 0, set()
covered = srcs_wire | srcs_pbx | {str(n.network_address) for n in nets if n.num_addresses == 1}
if a.banlog:
    try:
        lines = open(a.banlog).read().splitlines()
    except OSError:
        lines = []
    for l in lines:
        try:
            e = json.loads(l)
        except ValueError:
            continue
        ev = e.get("event")
        try:
            net = ipaddress.ip_network(f"{e['addr']}/{e.get('prefix_len') or (128 if ':' in e['addr'] else 32)}", strict=False)
        except (KeyError, ValueError):
            continue
        hit = {s for s in covered if ipaddress.ip_address(s).version == net.version and ipaddress.ip_address(s) in net}
        if not hit:
            continue
        ts = datetime.datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()
        if ev in ("ban", "prefix_ban"):
            bans.append((ts, e.get("detector") or "-"))
            banned |= hit
        elif ev == "finding":
            findings += 1

first = min(wire) if wire else (min(pbx) if pbx else None)
out = {
    "sent": len(wire), "pbx": len(pbx), "users": len(users), "fails": fails, "creds": creds,
    "sources_sent": len(srcs_wire), "sources_pbx": len(srcs_pbx), "sources_banned": len(banned),
    "first_wire": min(wire) if wire else None, "last_wire": max(wire) if wire else None,
    "first_pbx": min(pbx) if pbx else None, "last_pbx": max(pbx) if pbx else None,
    "ban_ts": min(bans)[0] if bans else None, "detectors": sorted({d for _, d in bans}),
    "ban_after_s": (min(bans)[0] - first) if bans and first else None, "findings": findings,
    "protected": bool(a.banlog), "tries": len(tries), "tries_before_ban": sum(1 for t in tries if t <= min(bans)[0]) if bans else None,
}
if a.first_ban:
    print(f"{min(bans)[0]:.3f} {min(bans)[1]}" if bans else "- -")
    sys.exit(0)
if not a.row:
    print(json.dumps(out))
    sys.exit(0)
print(row(out, *a.row, bool(a.banlog)))
