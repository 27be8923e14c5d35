#!/usr/bin/env python3
"""pngcheck.py FILE WIDTH HEIGHT - decodes a PNG with zlib alone (no imaging library) and checks
that it has the size asked for and is not blank: at least 0.5% of its pixels differ from the
most common colour (the background), and it uses more than two colours. Exit 0 ok, 1 with why."""
import struct
import sys
import zlib
from collections import Counter


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG signature")
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError("bad CRC in chunk %r" % kind)
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError("unsupported PNG layout depth=%d type=%d interlace=%d" % (depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    path, want_w, want_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    try:
        w, h, bpp, rows = decode(path)
    except Exception as e:  # any decoding failure is the finding
        print("%s: does not decode: %s" % (path, e))
        return 1
    if (w, h) != (want_w, want_h):
        print("%s: %dx%d, wanted %dx%d" % (path, w, h, want_w, want_h))
        return 1
    colours = Counter()
    for r in rows:
        for x in range(0, len(r), bpp):
            colours[r[x:x + 3]] += 1
    background, count = colours.most_common(1)[0]
    other = 1 - count / (w * h)
    if other < 0.005 or len(colours) <= 2:
        print("%s: blank (%.2f%% non-background pixels, %d colours)" % (path, 100 * other, len(colours)))
        return 1
    print("%s: %dx%d, %.1f%% non-background pixels, %d colours" % (path, w, h, 100 * other, len(colours)))
    return 0


sys.exit(main())
