#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Writes the SIP messages of pcap files (UDP and TCP payloads) or the SDP
# bodies in them and in .sip files as seed files, one per distinct content,
# for the SIP and SDP fuzz targets: the seeds built into the tree.
#   sip_seeds.py sip|sdp OUT_DIR MAX_PER_FILE FILE.pcap|FILE.sip...
import hashlib
import os
import struct
import sys

from pcap_seeds import packets


def l4_payload(pkt):
    """The UDP or TCP payload of an IPv4/IPv6 packet without extension headers."""
    if len(pkt) < 1:
        return b''
    version = pkt[0] >> 4
    if version == 4 and len(pkt) >= 20:
        proto, off = pkt[9], (pkt[0] & 0x0f) * 4
    elif version == 6 and len(pkt) >= 40:
        proto, off = pkt[6], 40
    else:
        return b''
    if proto == 17 and len(pkt) >= off + 8:
        return pkt[off + 8:]
    if proto == 6 and len(pkt) >= off + 20:
        return pkt[off + (pkt[off + 12] >> 4) * 4:]
    return b''


def is_sip(payload):
    first = payload.split(b'\n', 1)[0]
    return b'SIP/2.0' in first


def sdp_body(message):
    for sep in (b'\r\n\r\n', b'\n\n'):
        head, found, body = message.partition(sep)
        if found:
            return body if body.startswith(b'v=') else b''
    return b''


def messages(path):
    if path.endswith('.sip'):
        with open(path, 'rb') as f:
            yield f.read()
        return
    for pkt in packets(path):
        payload = l4_payload(pkt)
        if is_sip(payload):
            yield payload


def main():
    kind, out, most = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind not in ('sip', 'sdp'):
        sys.exit(f'sip_seeds.py: kind must be sip or sdp, got {kind!r}')
    os.makedirs(out, exist_ok=True)
    for path in sys.argv[4:]:
        written = 0
        for message in messages(path):
            seed = message if kind == 'sip' else sdp_body(message)
            if not seed:
                continue
            name = os.path.join(out, f'{kind}-{hashlib.sha1(seed).hexdigest()[:16]}')
            if os.path.exists(name):
                continue
            with open(name, 'wb') as f:
                f.write(seed)
            written += 1
            if written >= most:
                break


if __name__ == '__main__':
    main()
