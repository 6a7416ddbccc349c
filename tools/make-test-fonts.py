"""Builds the WOFF2 fonts the theme tests upload, with fontTools and Google's brotli (PyPI:
tools/requirements.txt), into crates/pinframe/tests/fixtures/fonts/:

- digits.woff2: a real TrueType font (glyf outlines, cmap, hmtx, name, OS/2, post) with a
  seven-segment glyph for each of 0-9 and a space, the kind of font the service accepts;
- digit-3.woff2: the same but with the digit 3 only, as the per-digit font drill uses: refused,
  since a font that lacks a digit lets a font-family fallback list pick another font for it;
- bad-cmap.woff2: a valid WOFF2 container whose cmap table is not a cmap table: refused.

Run it again with `make test-fonts` (the output is deterministic: fixed timestamps).
"""

import sys
from pathlib import Path

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib.tables.DefaultTable import DefaultTable

OUT = Path(__file__).resolve().parent.parent / "crates/pinframe/tests/fixtures/fonts"
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# Seven segments (a top, b upper right, c lower right, d bottom, e lower left, f upper left,
# g middle) as rectangles (x0, y0, x1, y1) in a 600 x 700 box.
SEGMENTS = {
    "a": (100, 620, 500, 700), "b": (420, 350, 500, 700), "c": (420, 0, 500, 350),
    "d": (100, 0, 500, 80), "e": (100, 0, 180, 350), "f": (100, 350, 180, 700),
    "g": (100, 310, 500, 390),
}
DIGITS = ["abcdef", "bc", "abged", "abgcd", "fgbc", "afgcd", "afgedc", "abc", "abcdefg", "abcdfg"]
# 2026-01-01T00:00:00Z in the head table's epoch (1904), so every run writes the same bytes.
TIMESTAMP = 3849984000


def glyph(segments):
    pen = TTGlyphPen(None)
    for seg in segments:
        x0, y0, x1, y1 = SEGMENTS[seg]
        # Clockwise, as TrueType wants outer contours.
        pen.moveTo((x0, y0))
        pen.lineTo((x0, y1))
        pen.lineTo((x1, y1))
        pen.lineTo((x1, y0))
        pen.closePath()
    return pen.glyph()


def build(path, digits, family, bad_cmap=False):
    names = [NAMES[d] for d in digits]
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder([".notdef", "space", *names])
    fb.setupCharacterMap({0x20: "space", **{0x30 + d: NAMES[d] for d in digits}})
    glyphs = {".notdef": glyph("adef"), "space": TTGlyphPen(None).glyph()}
    glyphs.update({NAMES[d]: glyph(DIGITS[d]) for d in digits})
    fb.setupGlyf(glyphs)
    metrics = {name: (600, 100) for name in fb.font.getGlyphOrder()}
    metrics["space"] = (600, 0)
    fb.setupHorizontalMetrics(metrics)
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": family, "styleName": "Regular"})
    fb.setupOS2(sTypoAscender=800, sTypoDescender=-200, usWinAscent=800, usWinDescent=200)
    fb.setupPost()
    fb.updateHead(created=TIMESTAMP, modified=TIMESTAMP)
    if bad_cmap:
        junk = DefaultTable("cmap")
        junk.data = b"\x00\x00\x00\x01\xff\xff\xff\xff" + b"\x00" * 8
        fb.font["cmap"] = junk
    fb.font.flavor = "woff2"
    # Keep the fixed timestamps: fontTools would otherwise stamp the save time.
    fb.font.recalcTimestamp = False
    fb.save(str(path))
    print(f"{path.relative_to(OUT.parents[4])}: {path.stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    build(OUT / "digits.woff2", range(10), "Pinframe Test Digits")
    build(OUT / "digit-3.woff2", [3], "Pinframe Test Three")
    build(OUT / "bad-cmap.woff2", range(10), "Pinframe Test Bad", bad_cmap=True)
