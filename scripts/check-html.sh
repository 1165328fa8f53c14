#!/bin/sh
# Renders the HTML reports in headless Chromium with no network, takes screenshots and checks
# that the charts rendered: the DOM (after loading) holds SVG charts, and each screenshot has many
# colours (a blank page has one). Installs Debian's chromium when missing (as root).
# Usage: scripts/check-html.sh [report.html ...]   (default: every reports/*.html)
set -eu
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh chromium
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
[ "$#" -gt 0 ] || set -- reports/*.html
status=0
for page in "$@"; do
    name=$(basename "$page" .html)
    url="file://$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"
    # --no-sandbox: CI runs as root. Proxy to nowhere: the page must not need the network.
    flags="--headless --no-sandbox --disable-gpu --log-level=3 --hide-scrollbars --proxy-server=127.0.0.1:9 --window-size=960,1600"
    # shellcheck disable=SC2086
    chromium $flags --screenshot="$out/$name.png" "$url" >/dev/null 2>&1
    # shellcheck disable=SC2086
    chromium $flags --dump-dom "$url" > "$out/$name.dom" 2>/dev/null
    python3 - "$out/$name.png" "$out/$name.dom" "$page" <<'PY' || status=1
import struct, sys, zlib
png, dom, page = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(png, "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width, height, ctype = 8, b"", 0, 0, 0
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    chunk = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height, depth, ctype = struct.unpack(">IIBB", chunk[:10])
    elif kind == b"IDAT":
        idat += chunk
    pos += 12 + length
channels = {2: 3, 6: 4}[ctype]
raw = zlib.decompress(idat)
stride = width * channels
rows, previous, colours = [], bytearray(stride), set()
i = 0
for y in range(height):
    f = raw[i]; line = bytearray(raw[i + 1:i + 1 + stride]); i += 1 + stride
    for x in range(stride):
        a = line[x - channels] if x >= channels else 0
        b = previous[x]; c = previous[x - channels] if x >= channels else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else (b if pb <= pc else c))) & 255
    if y % 4 == 0:
        for x in range(0, stride, channels * 2):
            colours.add(bytes(line[x:x + 3]))
    previous = line
html = open(dom, encoding="utf-8", errors="replace").read()
charts = html.count('<svg class="chart"')
shapes = sum(html.count(tag) for tag in ("<rect", "<polyline", "<circle", "<line"))
ok = len(colours) >= 20 and charts >= 1 and shapes >= 5
print(("ok    " if ok else "FAIL  ") + f"{page}: {width}×{height} screenshot, {len(colours)} colours, {charts} SVG charts, {shapes} shapes")
sys.exit(0 if ok else 1)
PY
done
exit $status
