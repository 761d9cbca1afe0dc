#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# `sipguard parse` as a user runs it: fields in --json, several messages per
# file, LF-only files, stdin, and the documented exit statuses 0/1/2.
import json
import os
import subprocess
import sys
import tempfile

sipguard = sys.argv[1]
fixtures = os.path.join(os.environ.get("SIPGUARD_SOURCE_ROOT", "."), "tests", "fixtures", "sip")
failures = []


def run(args, stdin=None):
    p = subprocess.run([sipguard, "parse"] + args, input=stdin, capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


def check(cond, what):
    if not cond:
        failures.append(what)


def objects(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# The bundled sample: one valid INVITE with two media streams.
rc, out, _ = run(["--json", os.path.join(fixtures, "invite_sdp.sip")])
check(rc == 0, f"invite_sdp.sip: exit {rc}, expected 0")
msgs = objects(out)
check(len(msgs) == 1, f"invite_sdp.sip: {len(msgs)} objects")
m = msgs[0]
expect = {"valid": True, "kind": "request", "method": "INVITE", "ruri_user": "2001", "from_user": "1001",
          "from_tag": "9fxced76sl", "to_user": "2001", "to_tag": "", "cseq": 2, "cseq_method": "INVITE",
          "via_branch": "z9hG4bK74bf9", "call_id": "3848276298220188511@192.0.2.101", "auth_user": "1001",
          "user_agent": "Linphone/5.2.0 (belle-sip/5.2.0)", "status": None}
for k, v in expect.items():
    check(m.get(k) == v, f"invite_sdp.sip: {k} = {m.get(k)!r}, expected {v!r}")
sdp = m.get("sdp") or []
check(len(sdp) == 2, f"invite_sdp.sip: sdp has {len(sdp)} media")
if len(sdp) == 2:
    check(sdp[0]["address"] == "192.0.2.101" and sdp[0]["port"] == 49172 and sdp[0]["proto"] == "RTP/AVP"
          and sdp[0]["direction"] == "sendrecv" and sdp[0]["rtcp_port"] == 49173, f"media 0: {sdp[0]}")
    check(sdp[1]["address"] == "2001:db8::101" and sdp[1]["rtcp_mux"], f"media 1: {sdp[1]}")

# Several framed messages (with a CRLF keep-alive between) in one file.
rc, out, _ = run(["--json", os.path.join(fixtures, "register_flow.sip")])
msgs = objects(out)
check(rc == 0, f"register_flow.sip: exit {rc}")
check([x.get("cseq") for x in msgs] == [1, 1, 2], f"register_flow.sip: cseqs {[x.get('cseq') for x in msgs]}")
check(len(msgs) == 3 and msgs[1].get("status") == 401 and msgs[1].get("challenge") is True, "register_flow.sip: 401")
check(len(msgs) == 3 and msgs[2].get("auth_user") == "1001", "register_flow.sip: auth_user")

# Malformed: exit 1 with the reason.
rc, out, _ = run(["--json", os.path.join(fixtures, "bad_version.sip")])
msgs = objects(out)
check(rc == 1, f"bad_version.sip: exit {rc}, expected 1")
check(msgs and msgs[0]["valid"] is False and msgs[0]["error"] == "bad_version", f"bad_version.sip: {msgs}")

# An LF-only copy (edited by hand) parses the same, Content-Length included.
with open(os.path.join(fixtures, "invite_sdp.sip"), "rb") as f:
    lf = f.read().replace(b"\r\n", b"\n")
with tempfile.NamedTemporaryFile(suffix=".sip") as tmp:
    tmp.write(lf)
    tmp.flush()
    rc, out, _ = run(["--json", tmp.name])
    check(rc == 0 and objects(out)[0]["valid"], f"LF-only file: exit {rc} {out[:200]}")

# stdin, not SIP, JSON escaping of control and non-UTF-8 bytes.
rc, out, _ = run(["--json", "-"], stdin=b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n")
check(rc == 1 and objects(out)[0]["kind"] == "not_sip" and objects(out)[0]["not_sip"] == "http", f"ssdp: {rc} {out}")
weird = (b"SIP/2.0 200 O\xffK \"q\"\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
         b"To: <sip:b@c>\r\nCall-ID: q\x7f\r\nCSeq: 1 OPTIONS\r\n\r\n")
rc, out, _ = run(["--json", "-"], stdin=weird)
try:
    o = objects(out)[0]
    check(o["reason"] == "O\u00ffK \"q\"", f"escaping: reason {o['reason']!r}")
except (ValueError, IndexError, KeyError) as e:
    failures.append(f"escaping: output is not JSON ({e}): {out!r}")

# Usage and I/O errors: exit 2, the file named.
rc, _, err = run(["/nonexistent/dir/x.sip"])
check(rc == 2 and "/nonexistent/dir/x.sip" in err, f"missing file: exit {rc}, stderr {err!r}")
rc, _, _ = run([])
check(rc == 2, f"no file argument: exit {rc}")

# Human-readable output names the reason.
rc, out, _ = run([os.path.join(fixtures, "bad_version.sip")])
check(rc == 1 and "bad_version" in out, f"text output: {out!r}")

for f in failures:
    print("FAIL:", f)
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
