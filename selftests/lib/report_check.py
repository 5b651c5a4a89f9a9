#!/usr/bin/env python3
# Check a picture of `lazyboot report`:
#   report_check.py svg FILE.svg [--tasks N] MILESTONE...
#     FILE.svg is well-formed XML (an <svg>), has each MILESTONE in this
#     order (among the milestones it draws, in the order it draws them,
#     which must be time order), at least N task lanes (default 1), and
#     every series panel.
#   report_check.py png FILE.png [MIN_FRACTION]
#     FILE.png is a PNG whose pixels are not all one colour: at least
#     MIN_FRACTION (default 0.01) of them differ from the most common one.
# Exit status 0 when it holds, 1 with the reason on stderr.  Standard
# library only (xml.etree, zlib): no PIL needed.
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

SVG = "{http://www.w3.org/2000/svg}"


def fail(msg):
    print("report_check: " + msg, file=sys.stderr)
    sys.exit(1)


def check_svg(path, args):
    want_tasks = 1
    if args[:1] == ["--tasks"]:
        want_tasks = int(args[1])
        args = args[2:]
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        fail("%s: not well-formed XML: %s" % (path, e))
    if root.tag != SVG + "svg":
        fail("%s: the root element is %s, not svg" % (path, root.tag))
    marks = [(g.get("data-name"), int(g.get("data-ms")))
             for g in root.iter(SVG + "g") if g.get("class") == "milestone"]
    times = [ms for _, ms in marks]
    if times != sorted(times):
        fail("%s: milestones not in time order: %s" % (path, marks))
    names = [n for n, _ in marks]
    pos = -1
    for want in args:
        if want not in names:
            fail("%s: no milestone '%s' (has %s)" % (path, want, marks))
        at = names.index(want)
        if at < pos:
            fail("%s: milestone '%s' comes before '%s': %s" %
                 (path, want, args[args.index(want) - 1], marks))
        pos = at
    ids = {g.get("id") for g in root.iter(SVG + "g")}
    for panel in ("received", "faults", "stall", "residency", "tasks",
                  "time-axis"):
        if panel not in ids:
            fail("%s: no '%s' panel" % (path, panel))
    tasks = [g for g in root.iter(SVG + "g") if g.get("class") == "task"]
    if len(tasks) < want_tasks:
        fail("%s: %d task lanes, want at least %d" %
             (path, len(tasks), want_tasks))
    print("report_check: %s: %d milestones in order (%s), %d task lanes" %
          (path, len(marks), " ".join("%s@%d" % m for m in marks),
           len(tasks)))


def png_pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("%s: not a PNG" % path)
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    width, height, depth, ctype, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or not channels or interlace:
        fail("%s: PNG kind not read here (depth %d, colour type %d, "
             "interlace %d)" % (path, depth, ctype, interlace))
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xff
            elif f == 2:
                line[i] = (line[i] + b) & 0xff
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xff
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xff
        rows.append(bytes(line))
        prev = line
    return width, height, channels, rows


def check_png(path, args):
    min_frac = float(args[0]) if args else 0.01
    width, height, channels, rows = png_pixels(path)
    counts = {}
    for row in rows:
        for x in range(0, len(row), channels):
            px = row[x:x + channels]
            counts[px] = counts.get(px, 0) + 1
    total = width * height
    background, most = max(counts.items(), key=lambda kv: kv[1])
    frac = 1 - most / total
    print("report_check: %s: %dx%d, %.1f%% of pixels not the background "
          "%s, %d colours" % (path, width, height, 100 * frac,
                              background.hex(), len(counts)))
    if frac < min_frac:
        fail("%s: blank: only %.2f%% of pixels differ from the background"
             % (path, 100 * frac))


if len(sys.argv) < 3 or sys.argv[1] not in ("svg", "png"):
    fail("usage: report_check.py svg FILE [--tasks N] MILESTONE... | "
         "png FILE [MIN_FRACTION]")
(check_svg if sys.argv[1] == "svg" else check_png)(sys.argv[2], sys.argv[3:])
