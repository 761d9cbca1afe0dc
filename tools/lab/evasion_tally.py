#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The evasion scenario's table (tools/lab/evasion.sh): one row per attack and
pass, from the attacker's own output (requests it sent, what it learnt),
Kamailio's log (what reached the PBX, through tally.py), sipguard's ban log
and the wire capture's first packet per source (ban after = first ban - first
packet on the PBX's wire).

  evasion_tally.py --kam LOG --banlog FILE --wire TSV --runs RUNS [--user 105] [--json OUT]
RUNS: lines "PASS NAME SRC OUTPUT" (tab-separated); TSV: epoch, ip.src, ipv6.src.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--kam", required=True)
p.add_argument("--banlog", default="")
p.add_argument("--wire", default="")
p.add_argument("--runs", required=True)
p.add_argument("--user", default="105")
p.add_argument("--json", default="")
a = p.parse_args()

first_packet = {}
try:
    for line in open(a.wire) if a.wire else []:
        f = line.rstrip("\n").split("\t")
        if len(f) >= 3 and (f[1] or f[2]):
            first_packet.setdefault((f[1] or f[2]).split(",")[0], float(f[0]))
except (OSError, ValueError):
    pass

kam = open(a.kam, errors="replace").read().splitlines()


def at_pbx(src, method, creds_user=None):
    """Requests of METHOD from SRC in Kamailio's log (with credentials of CREDS_USER if given)."""
    n = 0
    for line in kam:
        if f" src={src} " not in line or " m=" + method + " " not in line or "SGLAB req " not in line:
            continue
        if creds_user is None or line.endswith(f" au={creds_user}"):
            n += 1
    return n


def check_syncs(src):
    """NOTIFYs from SRC that Kamailio read as Event: check-sync (its "SGLAB notify" line)."""
    return sum(1 for line in kam if "SGLAB notify " in line and f" src={src} " in line and " event=[check-sync" in line)


def attacker(out):
    """What the attacker sent and learnt, from rawsip.py's JSON line or guess.py's summary."""
    try:
        lines = open(out, errors="replace").read().splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        if line.startswith("{"):
            s = json.loads(line)
            if s["mode"] == "enum":
                got = f"{len(s['found'])} ext found"
            elif s["mode"] == "guess":
                got = "PIN cracked" if s["password"] else "not cracked"
            else:
                got = f"NOTIFY answered {s['notify_answer']}" if s.get("notify_answer") else "NOTIFY unanswered"
            return {"sent": s["requests"], "creds_sent": s["creds"], "got": got, "found": len(s["found"]),
                    "cracked": bool(s["password"]), "stopped": s["stopped"]}
        m = re.match(r"guesses (\d+), with credentials (\d+), found (\S+)", line)
        if m:
            n, c, f = int(m.group(1)), int(m.group(2)), m.group(3)
            return {"sent": n + c, "creds_sent": c, "got": "PIN cracked" if f != "none" else "not cracked",
                    "found": 0, "cracked": f != "none", "stopped": ""}
        if line.startswith("SIP/2.0 ") or line == "(no response)":  # sipsend.py: one request
            got = "NOTIFY answered " + line.split()[1] if line.startswith("SIP/") else "NOTIFY unanswered"
            return {"sent": 1, "creds_sent": 0, "got": got, "found": 0, "cracked": False, "stopped": ""}
    return {"sent": 0, "creds_sent": 0, "got": "no output", "found": 0, "cracked": False, "stopped": ""}


rows = []
for line in open(a.runs):
    f = line.rstrip("\n").split("\t")
    if len(f) < 4:
        continue
    pass_, name, src, out = f[:4]
    t = json.loads(subprocess.run([sys.executable, os.path.join(HERE, "tally.py"), "--kam", a.kam, "--banlog",
                                   a.banlog if pass_ == "1" else "", "--src", src],
                                  capture_output=True, text=True, check=True).stdout)
    r = {"pass": int(pass_), "name": name, "src": src, **attacker(out), "pbx": t["pbx"],
         "ext_pbx": t["users"] if "enum" in name else None,
         "guesses_pbx": at_pbx(src, "REGISTER", a.user) if "guess" in name else None,
         "notify_pbx": check_syncs(src) if "notify" in name or "smuggle" in name else None,
         "fails": t["fails"], "detectors": t["detectors"], "ban_after_s": None}
    if t["ban_ts"] is not None and src in first_packet:
        r["ban_after_s"] = round(max(0.0, t["ban_ts"] - first_packet[src]), 3)
    rows.append(r)

hdr = ("| attack               | sipguard | source          | sent | with creds | at PBX | ext at PBX | guesses at PBX "
       "| check-sync at PBX | ban after  | detector         | attacker got        |")
print(hdr)
print(re.sub(r"[^|]", "-", hdr))
for r in sorted(rows, key=lambda r: (r["pass"], list(x["name"] for x in rows).index(r["name"]))):
    opt = lambda v: "-" if v is None else str(v)
    if r["ban_after_s"] is not None:
        ban = f"{r['ban_after_s'] * 1000:.0f} ms" if r["ban_after_s"] < 10 else f"{r['ban_after_s']:.1f} s"
    else:
        ban = "not banned" if r["pass"] else "-"
    print(f"| {r['name']:<20} | {'yes' if r['pass'] else 'no':<8} | {r['src']:<15} | {r['sent']:>4} | "
          f"{r['creds_sent']:>10} | {r['pbx']:>6} | {opt(r['ext_pbx']):>10} | {opt(r['guesses_pbx']):>14} | "
          f"{opt(r['notify_pbx']):>17} | {ban:<10} | {','.join(r['detectors']) or '-':<16} | {r['got']:<19} |")
print("(sent: requests the attacker sent; with creds: of them with credentials; at PBX: requests Kamailio logged"
      " from that source; check-sync at PBX: NOTIFYs Kamailio read as Event: check-sync; ban after: from its"
      " first packet on the PBX's wire)")
if a.json:
    with open(a.json, "w") as fh:
        json.dump(rows, fh)
