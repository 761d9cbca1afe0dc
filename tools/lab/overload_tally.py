#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The overload scenario's figures (tools/lab/overload.sh).

--collect: one configuration's records (Kamailio's log, the flood's and the
guesser's output, counters the script read) -> one JSON object on stdout.
--table FILE...: the configurations' JSON files (".json" appended when
missing) -> one table.
"""
import argparse
import json
import re
import sys


def kam_counts(path, guesser, legit):
    """Requests at Kamailio: the guesser's, with credentials, and the flood's
    (any source outside the lab's 10.77.0.0/16 and fd00:77::/32)."""
    out = {"guess_req": 0, "guess_creds": 0, "flood_at_pbx": 0, "legit_at_pbx": 0}
    g = f"src={guesser} "
    lg = f"src={legit} "
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if "SGLAB req " not in line:
                    continue
                if g in line:
                    out["guess_req"] += 1
                    m = re.search(r" au=(\S*)", line)
                    if m and m.group(1) not in ("", "<null>"):
                        out["guess_creds"] += 1
                elif lg in line:
                    out["legit_at_pbx"] += 1
                elif "src=10.77." not in line and "src=fd00:77:" not in line:
                    out["flood_at_pbx"] += 1
    except OSError:
        pass
    return out


def metrics(path):
    """sipguard's Prometheus exposition -> {"name{labels}": value}."""
    out = {}
    try:
        for line in open(path, errors="replace"):
            if line.startswith("#") or not line.strip():
                continue
            k, _, v = line.strip().rpartition(" ")
            try:
                out[k] = float(v)
            except ValueError:
                pass
    except OSError:
        pass
    return out


def metric_delta(before, after, name):
    """after - before of one series (None when the after scrape lacks it)."""
    if name not in after:
        return None
    return int(after[name] - before.get(name, 0))


def collect(a):
    f = kam_counts(a.kam, a.guesser, a.legit)
    flood = {"sent": 0, "pps": 0}
    try:
        m = re.search(r"sent (\d+) in ([\d.]+) s \((\d+) pps\)", open(a.flood_log).read())
        if m:
            flood = {"sent": int(m.group(1)), "pps": int(m.group(3))}
    except OSError:
        pass
    found = "?"
    try:
        last = open(a.guess_log).read().strip().splitlines()[-1]
        m = re.search(r"found (\S+)", last)
        found = m.group(1) if m else "?"
    except (OSError, IndexError):
        pass
    ban_after = None
    if a.ban not in ("-", "") and a.guess_first not in ("-", ""):
        ban_after = max(0.0, float(a.ban) - float(a.guess_first))
    protected = a.protected == "1"
    # SIP packets seen at the hooks (ahead of the queue rules) that the kernel
    # did not number into a queue, drop at the full queue, or drop in a
    # pre-filter: accepted uninspected (fail-open).
    # sipguard's own counts (docs/operations.md): the pre-filter's drop rules,
    # the queue rules' counters, and failed-open packets (queue rules' counters
    # minus what the queues took), as deltas over the flood.
    m0, m1 = metrics(a.metrics_before), metrics(a.metrics_after)
    k = "sipguard_kernel_"
    src_drop = metric_delta(m0, m1, k + 'dropped_packets_total{rule="prefilter_source"}')
    budget_drop = metric_delta(m0, m1, k + 'dropped_packets_total{rule="prefilter_budget"}')
    failed_open = metric_delta(m0, m1, k + "failed_open_packets_total")
    queued = {s: metric_delta(m0, m1, k + f'queued_packets_total{{source="{s}"}}') for s in ("known", "proven", "unknown", "other")}
    if not protected:
        src_drop = budget_drop = failed_open = None
    if a.config in ("open", "closed"):  # prefilter.enabled = false: no pre-filter rules
        src_drop = budget_drop = None
    # The lab's own estimate, as a cross-check: SIP packets at the hooks that
    # the kernel neither numbered into a queue, nor dropped at it, nor in the pre-filter.
    hooks_unqueued = None
    if protected:
        hooks_unqueued = max(0, a.hooked - a.queued - a.queue_dropped - (src_drop or 0) - (budget_drop or 0))
    print(json.dumps({
        "config": a.config, "seconds": a.seconds, "wall_s": a.wall,
        "flood_sent": flood["sent"], "flood_pps": flood["pps"], "flood_at_pbx": f["flood_at_pbx"],
        "guess_requests_at_pbx": f["guess_req"], "guesses_at_pbx": f["guess_creds"], "password_found": found,
        "guesser_ban_after_s": ban_after, "ban_detector": a.detector if a.detector != "-" else None,
        "reg_before": a.reg_before, "reg_during": a.reg_during, "calls": a.calls,
        "legit_at_pbx": f["legit_at_pbx"],
        "prefilter_dropped": None if src_drop is None else src_drop + (budget_drop or 0),
        "prefilter_source_dropped": src_drop, "prefilter_budget_dropped": budget_drop,
        "queued_known": queued["known"], "queued_proven": queued["proven"], "queued_unknown": queued["unknown"], "queued_other": queued["other"],
        "hooks_unqueued": hooks_unqueued,
        "sip_packets_at_hooks": a.hooked if protected else None,
        "queued": a.queued if protected else None, "queue_dropped": a.queue_dropped if protected else None,
        "failed_open": failed_open,
        "sipguard_cpu_s": float(a.sg_cpu) if protected else None, "kamailio_cpu_s": float(a.kam_cpu),
    }))


def table(files):
    rows = []
    for p in files:
        if not p.endswith(".json"):
            p += ".json"
        try:
            rows.append(json.load(open(p)))
        except (OSError, ValueError) as e:
            print(f"{p}: {e}", file=sys.stderr)
    names = {"none": "no protection", "prefilter": "sipguard + pre-filter",
             "open": "no pre-filter, fail_open=true", "closed": "no pre-filter, fail_open=false",
             "quiet": "sipguard, no flood"}
    cols = [("configuration", 30), ("flood sent (pps)", 18), ("flood at PBX", 12), ("guesses at PBX", 14),
            ("guesser banned", 14), ("password", 8), ("reg before", 10), ("reg during", 10), ("calls", 5),
            ("prefilter drops (source+budget)", 31), ("failed open", 11), ("queue drops", 11), ("sipguard CPU", 12),
            ("Kamailio CPU", 12)]
    print("| " + " | ".join(n.ljust(w) for n, w in cols) + " |")
    print("|" + "|".join("-" * (w + 2) for _, w in cols) + "|")

    def v(x, fmt="{}"):
        return "-" if x is None else fmt.format(x)

    for r in rows:
        ban = r.get("guesser_ban_after_s")
        cells = [
            names.get(r["config"], r["config"]),
            f"{r['flood_sent']} ({r['flood_pps']})" if r["flood_sent"] else "-",
            str(r["flood_at_pbx"]),
            str(r["guesses_at_pbx"]),
            "not banned" if ban is None and r["sipguard_cpu_s"] is not None else v(ban, "{:.2f} s") if ban is not None else "-",
            "found" if r["password_found"] not in ("none", "?") else r["password_found"],
            r["reg_before"], r["reg_during"], r["calls"],
            "-" if r.get("prefilter_source_dropped") is None else
            f"{r['prefilter_dropped']} ({r['prefilter_source_dropped']}+{r['prefilter_budget_dropped']})",
            v(r["failed_open"]), v(r["queue_dropped"]),
            v(r["sipguard_cpu_s"], "{:.1f} s"), v(r["kamailio_cpu_s"], "{:.1f} s"),
        ]
        print("| " + " | ".join(c.ljust(w) for c, (_, w) in zip(cells, cols)) + " |")
    print("\n(flood at PBX / guesses at PBX: requests Kamailio logged, from the spoofed prefix / the guesser's"
          " requests with credentials; reg: phone registrations ok/planned before and during the flood; calls:"
          " completed/planned; pre-filter drops and failed open: sipguard's metrics"
          " sipguard_kernel_dropped_packets_total{rule=prefilter_source|prefilter_budget} and"
          " sipguard_kernel_failed_open_packets_total over the flood; queue drops: the queues' own drops"
          " (/proc/net/netfilter/nfnetlink_queue); CPU: user+system over the run)")


p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--collect", action="store_true")
p.add_argument("--table", nargs="+")
for k in ("config", "kam", "guesser", "legit", "flood-log", "guess-log", "reg-before", "reg-during", "calls",
          "guess-first", "ban", "detector", "sg-cpu", "kam-cpu", "wall", "protected", "table-file",
          "metrics-before", "metrics-after", "banlog"):
    p.add_argument("--" + k, default="-")
p.add_argument("--seconds", type=int, default=0)
p.add_argument("--queued", type=int, default=0)
p.add_argument("--queue-dropped", type=int, default=0)
p.add_argument("--hooked", type=int, default=0)
a = p.parse_args()
if a.collect:
    collect(a)
elif a.table:
    table(a.table)
else:
    p.error("--collect or --table")
