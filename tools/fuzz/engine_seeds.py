#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Turns the SIP packets of pcap files into fuzz-engine inputs (see the record
# format in fuzz_engine.cpp): one seed per capture, its first packets in order,
# each remote address mapped to one of the target's sources.
#   engine_seeds.py OUT_DIR MAX_PACKETS FILE.pcap...
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcap_seeds import packets  # noqa: E402

SIP_PORTS = (5060, 5061)


def l4(ip):
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        proto, src, dst, rest = ip[9], ip[12:16], ip[16:20], ip[ihl:]
    elif v == 6 and len(ip) >= 40:
        proto, src, dst, rest = ip[6], ip[8:24], ip[24:40], ip[40:]
    else:
        return None
    if proto == 17 and len(rest) >= 8:
        sp, dp = struct.unpack('>HH', rest[:4])
        return v, src, dst, sp, dp, False, 0, rest[8:]
    if proto == 6 and len(rest) >= 20:
        sp, dp, seq = struct.unpack('>HHI', rest[:8])
        off = (rest[12] >> 4) * 4
        return v, src, dst, sp, dp, True, seq, rest[off:]
    return None


def main():
    out, most = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    for n, path in enumerate(sys.argv[3:]):
        sources = {}
        seed = bytearray()
        count = 0
        for ip in packets(path):
            d = l4(ip)
            if not d:
                continue
            v, src, dst, sp, dp, tcp, seq, payload = d
            if dp in SIP_PORTS:
                outgoing, remote = False, src
            elif sp in SIP_PORTS:
                outgoing, remote = True, dst
            else:
                continue
            index = sources.setdefault(bytes(remote), len(sources) % 14)
            flags = (1 if outgoing else 0) | (2 if tcp else 0) | (index << 2) | (0x80 if v == 6 else 0)
            payload = payload[:4096]
            seed += bytes([flags]) + struct.pack('<HH', 20, len(payload))
            if tcp:
                seed += struct.pack('<I', seq)
            seed += payload
            count += 1
            if count >= most:
                break
        if seed:
            with open(os.path.join(out, f'pcap-{n:03d}'), 'wb') as f:
                f.write(seed)


if __name__ == '__main__':
    main()
