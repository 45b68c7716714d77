"""Photographed pages: resolution from the text size, show-through, two-page spreads.

Phone photos and dataset page images rarely record a usable resolution
(no dpi at all, or the camera's meaningless 72), they show the next sheet
through thin paper as faint mirrored text, and one photo may hold a whole
open spread.  Three helpers, all working on plain grey arrays:

* ``text_height_px`` / ``dpi_from_text``: the ink height of the body lines
  (width-weighted median of line blobs) gives the resolution that makes the
  body a plausible printed size;
* ``suppress_faint_ink``: ink whose darkest pixel is far lighter than the
  page's main text, and that lies away from any dark stroke, is show-through
  (or a pencil mark): it is whitened before detection so it never becomes
  text;
* ``find_gutter``: the x of the empty central gutter between two text blocks.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

# ---- resolution from the text size

# Ink-band height of body lines in points.  Measured with ``text_height_px``
# on dev pages of known dpi whose body is set in 16 pt: 15.8-17.9 pt (ink plus
# blur); historical bulletins use 10.5-16 pt bodies, so 15 maps a page of
# unknown resolution to a body of about 14 pt.
BODY_INK_PT = 15.0
# A recorded dpi is believed when it puts the body ink band in this range (pt).
PLAUSIBLE_BODY_PT = (8.0, 22.0)
TRUSTED_DPI = 100               # a recorded dpi this high is a scanner's: believed without measuring
DPI_RANGE = (72, 1200)          # estimates are clamped to this range
TEXT_WORK_SIDE = 1600           # px: long side of the copy the text height is measured on


def text_height_px(gray: np.ndarray) -> Optional[float]:
    """Ink height in px of the page's body lines, or None when there are none.

    Ink is what is clearly darker than a blurred copy (robust to uneven
    light); a horizontal close joins the characters of a line into one blob;
    blobs much wider than high are lines, and the width-weighted median of
    their heights is the body's (titles are few and short).
    """
    h, w = gray.shape[:2]
    f = TEXT_WORK_SIDE / float(max(h, w))
    g = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    ink = _ink(g)
    k = max(3, int(g.shape[1] / 100))
    lines = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((1, k), np.uint8))
    n, _, st, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    if n <= 1:
        return None
    ws, hs = st[1:, cv2.CC_STAT_WIDTH], st[1:, cv2.CC_STAT_HEIGHT]
    sel = (ws > 4 * hs) & (hs >= 4)
    if sel.sum() < 3:
        return None
    ws, hs = ws[sel], hs[sel]
    order = np.argsort(hs)
    cum = np.cumsum(ws[order])
    return float(hs[order][np.searchsorted(cum, cum[-1] / 2.0)]) / f


def _ink(g: np.ndarray) -> np.ndarray:
    """Pixels clearly darker than the paper around them (0/1): the paper is a
    max filter wider than any stroke, so uneven light does not matter."""
    bg = cv2.dilate(g, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31)))
    bg = cv2.blur(bg, (15, 15))
    return ((bg.astype(np.int16) - g) > 40).astype(np.uint8)


def dpi_from_text(gray: np.ndarray, dpi: int, known: bool) -> tuple[int, Optional[float]]:
    """``(dpi to use, body ink height in pt at that dpi)``.

    A recorded dpi that gives a plausible body size is kept; a missing one
    (``known`` False) or an implausible one (a camera's 72) is replaced by the
    dpi that makes the body ink band ``BODY_INK_PT`` high.
    """
    if known and dpi >= TRUSTED_DPI:
        return int(dpi), None
    hpx = text_height_px(gray)
    if not hpx:
        return int(dpi), None
    body = hpx * 72.0 / dpi
    if known and PLAUSIBLE_BODY_PT[0] <= body <= PLAUSIBLE_BODY_PT[1]:
        return int(dpi), round(body, 1)
    est = int(round(hpx * 72.0 / BODY_INK_PT))
    est = max(DPI_RANGE[0], min(DPI_RANGE[1], est))
    return est, round(hpx * 72.0 / est, 1)


# ---- show-through

FAINT_INK = 225       # grey level (normalised page) below which a pixel may be ink
CORE_OFFSET = 80      # a real stroke's darkest pixel is at most this much lighter than the page's main ink
CORE_LIMITS = (120, 170)   # clamp for that core threshold (grey levels)
FAINT_REACH = 0.05    # inches: faint ink this close to a dark stroke belongs to it (edges, thin strokes)
PUNCT_AREA = 0.004    # square inches: a faint piece this small may be punctuation (。、，: ~0.002)
PUNCT_REACH = 0.15    # inches: such a piece this close to a dark stroke is kept (。 sits ~0.5 em after its character)
MIN_CORE_SHARE = 0.2  # keep everything when less than this share of the ink has a dark core


def suppress_faint_ink(gray: np.ndarray, dpi: int) -> tuple[np.ndarray, float]:
    """Whiten faint ink that is not part of the page's printed text.

    ``gray`` is a background-normalised page (paper ~255).  Connected pieces
    of ink are measured by their darkest pixel; the page's main ink level is
    the area-weighted median of those minima.  A piece whose darkest pixel is
    more than ``CORE_OFFSET`` lighter than that, and that has no dark stroke
    within ``FAINT_REACH``, is show-through from the next sheet: it becomes
    paper.  The ink level is measured on a min-pooled copy at ~100 dpi
    (pooling keeps every stroke's darkest pixel); returns (image, share of
    ink whitened).
    """
    f = max(1, int(dpi // 100))
    small = cv2.erode(gray, np.ones((f, f), np.uint8))[f // 2::f, f // 2::f] if f > 1 else gray
    faint = (small < FAINT_INK).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(faint, connectivity=8)
    if n <= 2:
        return gray, 0.0
    mins = np.full(n, 255, np.int32)
    ink = faint > 0
    np.minimum.at(mins, labels[ink], small[ink])
    areas = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    lab = np.arange(1, n)
    order = lab[np.argsort(mins[1:], kind="stable")]
    cum = np.cumsum(areas[order])
    main = int(mins[order][np.searchsorted(cum, cum[-1] / 2.0)])
    core_t = int(np.clip(main + CORE_OFFSET, *CORE_LIMITS))
    total = float(cum[-1])
    if float(areas[lab][mins[1:] < core_t].sum()) < MIN_CORE_SHARE * total:
        return gray, 0.0
    if not (mins[1:] >= core_t).any():
        return gray, 0.0     # every piece of ink has a dark core: no show-through
    # keep or whiten at full resolution: pooling would join faint ink to
    # strokes it does not touch.  The distance to the nearest dark core is
    # one distance transform on the pooled copy (cores grow by under f px
    # there), answering both reaches: two large elliptic dilations at full
    # resolution cost 10x as much.
    faint = (gray < FAINT_INK).astype(np.uint8)
    # labels only (a third of the time of labels with stats): the areas
    # needed are counted from the faint pixels' labels below
    n, labels = cv2.connectedComponents(faint, connectivity=8)
    dist = cv2.distanceTransform((small >= core_t).astype(np.uint8), cv2.DIST_L2, 5) * f
    dist = cv2.resize(np.minimum(dist, 255).astype(np.uint8), (gray.shape[1], gray.shape[0]),
                      interpolation=cv2.INTER_NEAREST)
    on = np.flatnonzero(faint)          # the faint pixels, as flat indices
    lab_on, dist_on = labels.ravel()[on], dist.ravel()[on]
    reach = max(3, int(round(dpi * FAINT_REACH)) | 1) // 2
    keep = np.bincount(lab_on[dist_on <= reach], minlength=n) > 0
    # blurred punctuation is faint and stands apart from its character
    reach_p = max(3, int(round(dpi * PUNCT_REACH)) | 1) // 2
    tiny = np.bincount(lab_on, minlength=n) <= PUNCT_AREA * dpi * dpi
    touched = np.bincount(lab_on[dist_on <= reach_p], minlength=n) > 0
    keep |= tiny & touched
    # only faint pixels can be whitened: look labels up there, not page-wide
    kill = ~keep[lab_on]
    removed = float(np.count_nonzero(kill))
    if not removed:
        return gray, 0.0
    out = gray.copy()
    out.ravel()[on[kill]] = 255
    return out, round(removed / max(1.0, float(len(lab_on))), 4)


# ---- two-page spreads

GUTTER_ZONE = (0.38, 0.62)   # the fold lies in this share of the width
GUTTER_MIN = 0.03            # an empty gutter at least this share of the width
SPREAD_MIN_ASPECT = 1.15     # a spread is landscape: width/height at least this
SIDE_MIN_INK = 0.25          # each half carries at least this share of the ink of the other


def _horizontal_text(ink: np.ndarray) -> bool:
    """True when the ink forms more horizontal lines than vertical ones."""
    k = max(3, int(max(ink.shape) / 100))
    def lines(kernel, long_axis):
        m = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, kernel)
        n, _, st, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
        w, h = st[1:, cv2.CC_STAT_WIDTH], st[1:, cv2.CC_STAT_HEIGHT]
        return int(((w > 4 * h) & (h >= 3)).sum()) if long_axis == "x" else int(((h > 4 * w) & (w >= 3)).sum())
    return lines(np.ones((1, k), np.uint8), "x") > lines(np.ones((k, 1), np.uint8), "y")


def find_gutter(gray: np.ndarray) -> Optional[float]:
    """x (share of the width) of the gutter of a two-page spread, else None.

    A spread is a landscape image whose ink columns (text of the page on
    each side) leave a clear vertical band near the middle; both sides must
    carry text.  The fold's shadow is not ink: ink is measured against a
    blurred background.
    """
    h, w = gray.shape[:2]
    if w < SPREAD_MIN_ASPECT * h:
        return None
    f = min(1.0, 1000.0 / max(h, w))
    g = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else gray
    ink = _ink(g)
    if not _horizontal_text(ink):
        return None                      # a page lying on its side is not a spread
    sh, sw = ink.shape
    ink[: int(0.05 * sh)] = 0            # edges of a photo: the table, other sheets
    ink[int(0.95 * sh):] = 0
    cols = ink.sum(axis=0).astype(np.float64)
    if cols.sum() < 50:
        return None
    empty = cols <= max(1.0, 0.02 * float(np.percentile(cols, 90)))
    a, b = int(GUTTER_ZONE[0] * sw), int(GUTTER_ZONE[1] * sw)
    best, run_start = None, None
    for x in range(a, b + 1):
        if x < b and empty[x]:
            if run_start is None:
                run_start = x
        elif run_start is not None:
            if best is None or x - run_start > best[1] - best[0]:
                best = (run_start, x)
            run_start = None
    if best is None or best[1] - best[0] < GUTTER_MIN * sw:
        return None
    mid = (best[0] + best[1]) / 2.0
    left, right = float(cols[: best[0]].sum()), float(cols[best[1]:].sum())
    if min(left, right) < SIDE_MIN_INK * max(left, right):
        return None
    return mid / sw
