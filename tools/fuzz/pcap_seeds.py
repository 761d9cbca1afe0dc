#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Writes the IP packets of pcap files (Ethernet, raw IP or Linux cooked
# link types) as one seed file each, for the decoder fuzz target.
#   pcap_seeds.py OUT_DIR MAX_PER_FILE FILE.pcap...
import os
import struct
import sys

LINK_HEADER = {1: 14, 101: 0, 12: 0, 113: 16, 228: 0, 229: 0}


def packets(path):
    with open(path, 'rb') as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        endian = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        endian = '>'
    else:
        return  # pcapng and others: not needed for seeds
    link = struct.unpack(endian + 'I', data[20:24])[0]
    skip = LINK_HEADER.get(link)
    if skip is None:
        return
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + 'I', data[off + 8:off + 12])[0]
        body = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(body) > skip:
            yield body[skip:]


def main():
    out, most = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    n = 0
    for path in sys.argv[3:]:
        for i, pkt in enumerate(packets(path)):
            if i >= most:
                break
            with open(os.path.join(out, f'pcap-{n:05d}'), 'wb') as f:
                f.write(pkt)
            n += 1


if __name__ == '__main__':
    main()
