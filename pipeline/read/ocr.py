"""OCR page reader: page image -> clean-up -> orientation -> engine -> ``Page`` of ``Line``s in points."""
from __future__ import annotations

import statistics
from dataclasses import replace
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from pipeline.models import Line, Page, PageSource, Region
from pipeline.read import imaging, orient, photo, regions
from pipeline.read.limits import printable
from pipeline.read.engines import (INK_TO_EM, SIZE_FACTOR, OcrLine, get_engine)


# --------------------------------------------------------------------------
# Bullets and missed lines

BULLETS = "●◆■▲★"


def _bullet_blobs(gray: np.ndarray, lines: list[OcrLine], line_h: float) -> list[tuple]:
    """Solid blobs of bullet size and shape, ``(x0, top, x1, bottom, symbol)``,
    found where a bullet can be: in the strip just left of each line.

    Each strip is labelled on its own and a blob touching its edge is left
    out (it is part of something larger), so the blobs are those a labelling
    of the whole page finds there, at a tenth of the pixels (the whole page
    cost 0.06 CPU-s)."""
    H, W = gray.shape[:2]
    found: dict[tuple, str] = {}
    for ln in lines:
        x0, top, _x1, bottom = ln.box
        # a bullet's centre is on the line and it ends before x0 + 0.8 h,
        # at most 2.5 h before x0; it is under 0.9 h wide and high
        cx0, cx1 = max(0, int(x0 - 3.5 * line_h)), min(W, int(x0 + 0.9 * line_h) + 1)
        cy0, cy1 = max(0, int(top - 0.6 * line_h)), min(H, int(bottom + 0.6 * line_h) + 1)
        if cx1 - cx0 < 3 or cy1 - cy0 < 3:
            continue
        ink = (gray[cy0:cy1, cx0:cx1] < 128).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
        if n <= 1:
            continue
        # size, shape and fill tested on all components at once
        xs, ys, ws, hs_, areas = (stats[:, i].astype(np.float64) for i in (
            cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT, cv2.CC_STAT_AREA))
        ok = ((0.3 * line_h <= hs_) & (hs_ <= 0.9 * line_h) & (0.3 * line_h <= ws) & (ws <= 0.9 * line_h)
              & (0.75 <= ws / np.maximum(hs_, 1)) & (ws / np.maximum(hs_, 1) <= 1.33)
              & (areas / np.maximum(ws * hs_, 1) >= 0.42))
        # cut by the strip's edge (not the page's): part of a larger shape
        ok &= ~(((xs == 0) & (cx0 > 0)) | ((xs + ws == cx1 - cx0) & (cx1 < W))
                | ((ys == 0) & (cy0 > 0)) | ((ys + hs_ == cy1 - cy0) & (cy1 < H)))
        ok[0] = False
        for lab in np.flatnonzero(ok):
            x, y, w, h, area = (int(v) for v in stats[lab])
            key = (x + cx0, y + cy0, x + cx0 + w, y + cy0 + h)
            if key in found:
                continue
            comp = (labels[y:y + h, x:x + w] == lab).astype(np.uint8)
            cnts, _ = cv2.findContours(comp, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            hull = cv2.convexHull(max(cnts, key=cv2.contourArea))
            if area / max(1.0, cv2.contourArea(hull)) < 0.9:     # solidity
                continue
            fill = area / float(w * h)
            found[key] = "■" if fill > 0.9 else ("●" if fill > 0.66 else "◆")
    return [k + (sym,) for k, sym in sorted(found.items(), key=lambda kv: (kv[0][1], kv[0][0]))]


def add_bullets(gray: np.ndarray, lines: list[OcrLine]) -> list[OcrLine]:
    """Put back list bullets (● ◆ ■) that detectors skip.

    A bullet is a solid blob about half a line high, vertically centred on a
    line and just left of it, outside every recognised box.  Its shape (fill
    of its bounding box) tells ● (~0.79) from ■ (~1) and ◆ (~0.5).
    """
    if not lines:
        return lines
    hs = sorted(l.box[3] - l.box[1] for l in lines)
    line_h = hs[len(hs) // 2]
    if line_h < 6:
        return lines
    cand = _bullet_blobs(gray, lines, line_h)
    if not cand:
        return lines
    out = []
    for ln in lines:
        x0, top, x1, bottom = ln.box
        if ln.text[:1] in BULLETS:
            ln.text = ln.text[0] + " " + ln.text[1:].lstrip()
            out.append(ln)
            continue
        hit = None
        for c in cand:
            cx0, cy0, cx1, cy1, sym = c
            cy = (cy0 + cy1) / 2
            if top <= cy <= bottom and (cx0 + cx1) / 2 <= x0 + 0.25 * line_h \
                    and cx1 < x0 + 0.8 * line_h and x0 - cx1 < 2.5 * line_h:
                if hit is None or c[2] > hit[2]:
                    hit = c
        if hit is not None:
            cand.remove(hit)
            text = ln.text
            if text[:1] in "·•.。○O0" and len(text) > 1:   # the part of the bullet that was read
                text = text[1:].lstrip()
            ln = OcrLine(f"{hit[4]} {text}", (float(hit[0]), min(top, float(hit[1])), x1,
                                                 max(bottom, float(hit[3]))), ln.confidence)
        out.append(ln)
    return out


# --------------------------------------------------------------------------
# The page reader


def read_page(source: PageSource, engine="auto", dpi: int = 300,
              image_dir: Optional[Path] = None) -> Page:
    """OCR one page: load -> prepare -> recognize -> ``models.Page`` in points."""
    eng = engine if not isinstance(engine, str) else get_engine(engine)
    image, dpi_used, known = imaging.load_page(source, dpi=dpi)
    if source.kind != "pdf":
        # photos and dataset page images: no dpi, or a camera's 72
        dpi_used, _ = photo.dpi_from_text(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dpi_used, known)
    denoise = bool(getattr(eng, "denoise", False))
    # a scan in a PDF was rendered at its own dpi (imaging.load_page)
    read_dpi = dpi if source.kind == "pdf" else 0

    def cleaned(rotation: int = 0):
        page, inf = imaging.prepare(image, dpi_used, rotation=rotation, denoise=denoise)
        return _read_resolution(eng, page, inf, dpi_used, read_dpi)

    # Most pages are upright: read first, and only look for the page's
    # orientation when the result looks wrong (few/low-confidence lines or
    # tall detector boxes).  A turned page is then prepared and read again.
    gray, info, read_at = cleaned()
    ocr_lines = _recognize(eng, gray, read_at)
    if _suspect_orientation(ocr_lines) or orient.orientation_projection(gray, read_at)[0] == 90:
        rot, method = orient.detect_orientation(gray, read_at)
        if rot:
            gray, info, read_at = cleaned(rot)
            info["orientation_method"] = method
            ocr_lines = _recognize(eng, gray, read_at)
    image = None        # free the page as loaded
    dpi_used = read_at
    red = info.get("red_mask")
    ocr_lines = drop_faint_lines(gray, ocr_lines)
    ocr_lines = add_bullets(gray, ocr_lines)
    ocr_lines, found = regions.order_lines(ocr_lines)
    k = 72.0 / dpi_used
    factor = SIZE_FACTOR.get(getattr(eng, "name", ""), 1.0)
    lines: list[Line] = []
    for ol in ocr_lines:
        x0, top, x1, bottom = ol.box
        color = "black"
        if red is not None:
            color = _line_colour(gray, red, ol.box)
        lines.append(Line(
            text=ol.text,
            box=(round(x0 * k, 2), round(top * k, 2), round(x1 * k, 2), round(bottom * k, 2)),
            page_no=source.page_no,
            size=round(ink_height(gray, ol.box) * k * INK_TO_EM, 1) or round((bottom - top) * k * factor, 1),
            color=color,
            confidence=round(float(ol.confidence), 4),
        ))
    lines = pitch_sizes(lines)
    h, w = gray.shape[:2]
    page = Page(
        page_no=source.page_no,
        width=round(w * k, 2),
        height=round(h * k, 2),
        lines=lines,
        method=getattr(eng, "name", "ocr"),
        confidence=round(sum(l.confidence for l in lines) / len(lines), 4) if lines else 0.0,
        engine_version=getattr(eng, "version", ""),
        dpi=int(round(dpi_used)),
        rotation=int(info.get("rotation", 0)),
        skew=float(info.get("skew", 0.0)),
        source=printable(page_source_label(source)),
        regions=[Region(r.kind, tuple(round(v * k, 2) for v in r.box), r.order, r.confidence)
                 for r in found],
    )
    if image_dir is not None:
        page.image_path = str(save_page_image(gray, ocr_lines, dpi_used, Path(image_dir),
                                              f"page-{source.page_no:03d}.jpg", red))
    return page


FAINT_LINE_GAP = 90    # grey levels: a line whose ink is this much lighter than the page's text is show-through


PITCH_MIN_CHARS = 8     # characters a line needs for its pitch to tell its size
# A long line's pitch is its size unless it is this much above what both its
# box height and its ink height say (each x the page's ratio of pitch to it):
# then a gap inside the line (单位 ... date) inflates it, and the box tells the
# size. A bold headline's box is only 0.86 of its pitch (a 20 pt 省机关事务管理局
# / 启动… pair measured 20.0 and 17.1 by min(pitch, box) and was cut in two);
# a 22 pt 筑牢山区防汛安全防线 had a box 1.22x short of its pitch, its ink 1.15x.
PITCH_SLACK = 1.2


def _advance(text: str) -> float:
    """Width of text in ems: Han and full-width forms 1, ASCII 0.5."""
    return sum(0.5 if ord(c) < 0x2E80 and not c.isspace() else (0.3 if c.isspace() else 1.0)
               for c in text)


def pitch_sizes(lines: list[Line]) -> list[Line]:
    """The font size of each OCR line, from character pitch (the one estimate
    the later stages use).

    An OCR box's height varies ±15% with padding and ink (a body line can look
    as tall as a title); the advance of full-width characters along the line is
    the font size itself. Short lines, where pitch is unreliable, scale their
    ink height by the page's typical pitch/ink-height ratio (their box height
    by pitch/box height where no ink height is known). A page without a line
    long enough keeps the ink-height sizes.
    """
    rows = []               # (line, long enough for its pitch, pitch, box height)
    for l in lines:
        n = _advance(l.text)
        rows.append((l, n >= PITCH_MIN_CHARS, (l.box[2] - l.box[0]) / n if n else 0.0, l.box[3] - l.box[1]))
    long_ = [(l, pitch, h) for l, is_long, pitch, h in rows if is_long and h > 0]
    if not long_:
        return lines
    r = statistics.median(pitch / h for _, pitch, h in long_)
    ink = [pitch / l.size for l, pitch, _ in long_ if l.size > 0]
    r_ink = statistics.median(ink) if ink else 0.0
    out = []
    for l, is_long, pitch, h in rows:
        if is_long:
            # a pitch well above both the box's and the ink's estimate: a gap
            # inside the line (a big headline's box is tight, its ink is not)
            fits = pitch <= h * r * PITCH_SLACK or (r_ink and l.size > 0 and pitch <= l.size * r_ink * PITCH_SLACK)
            size = pitch if fits else h * r
        elif r_ink and l.size > 0:
            # a short line: its ink height (measured in pixels, whatever the
            # detector's box) scaled as the page's long lines scale: a box
            # 2 px taller made a 云溪县教育局 under the masthead a title
            size = l.size * r_ink
        else:
            size = h * r
        out.append(replace(l, size=round(size, 2)))
    return out


def line_ink(gray: np.ndarray, box) -> float:
    """Darkness of a line's ink: the 2nd percentile grey level inside its box."""
    x0, top, x1, bottom = (int(round(v)) for v in box)
    sub = gray[max(0, top):bottom, max(0, x0):x1]
    return float(np.percentile(sub, 2)) if sub.size else 255.0


def drop_faint_lines(gray: np.ndarray, lines: list[OcrLine]) -> list[OcrLine]:
    """Drop lines whose ink is far lighter than the page's main text: faint
    show-through from the next sheet that survived the clean-up."""
    if len(lines) < 3:
        return lines
    inks = [line_ink(gray, l.box) for l in lines]
    weights = [len(l.text) for l in lines]
    order = sorted(range(len(lines)), key=lambda i: inks[i])
    half, acc, main = sum(weights) / 2.0, 0.0, inks[order[-1]]
    for i in order:
        acc += weights[i]
        if acc >= half:
            main = inks[i]
            break
    return [l for l, ink in zip(lines, inks) if ink - main < FAINT_LINE_GAP]


def _upscale(clean: np.ndarray, dpi: float, target: float, at_most: float = float("inf")) -> float:
    """The factor that brings a page from ``dpi`` to ``target`` dpi, never
    past ``at_most`` nor RASTER_MAX_PIXELS (a huge page read reduced stays
    reduced); 1.0 when there is nothing to gain."""
    if not target or dpi >= target:
        return 1.0
    return max(1.0, min(target / float(dpi or 1), at_most,
                        (imaging.RASTER_MAX_PIXELS / max(1, clean.shape[0] * clean.shape[1])) ** 0.5))


def _recognize(eng, clean: np.ndarray, dpi: int) -> list[OcrLine]:
    """Run the engine, upscaling first for engines that want a minimum dpi."""
    min_dpi = int(getattr(eng, "min_dpi", 0) or 0)
    f = _upscale(clean, dpi, min_dpi)
    if min_dpi and dpi < min_dpi * 0.9 and f > 1.1:
        up = cv2.resize(clean, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
        # low-dpi scans are the noisy ones: a median on the upscaled page takes
        # the edge off JPEG noise and specks (tesseract on dev hard scans,
        # 7 pages: none 14%, 3x3 10.8%, 5x5 9.3% CER; 400 dpi was worse)
        up = cv2.medianBlur(up, 5)
        lines = eng.recognize(up)
        for ln in lines:
            ln.box = tuple(v / f for v in ln.box)
        return lines
    return eng.recognize(clean)


UPSCALE_MAX = 3.0     # a scan of under 100 dpi gains nothing from more made-up pixels


def _read_resolution(eng, clean: np.ndarray, info: dict, dpi: int, read_dpi: int) -> tuple:
    """A page cleaned at its scan's own resolution, scaled up to ``read_dpi``
    for recognition (the red-ink mask with it): the clean-up works on the
    scan's pixels, not on made-up ones, and the recogniser still gets 300 dpi
    lines. On the 22 dev hard pages (200 dpi scans in PDFs), against
    rendering at 300 first: 1.98 -> 1.69 CPU-s a page (one thread), page CER
    1.35 -> 1.39% (scaled up by linear 1.51%, Lanczos 1.46%).

    Only scans from PDFs (``read_dpi`` 0 leaves a page as it is): image
    files keep being read at their own resolution. Scaled up too, the 200
    dpi dev files read a little better (95 -> 91 errors), but real04, a
    photo at 278 dpi, lost its articles: its line sizes, measured on the
    scaled ink, moved. Engines with their own ``min_dpi`` (tesseract) scale
    up themselves (``_recognize``)."""
    f = 1.0 if getattr(eng, "min_dpi", 0) else _upscale(clean, dpi, read_dpi, UPSCALE_MAX)
    if f <= 1.05:
        return clean, info, dpi
    h, w = clean.shape[:2]
    size = (int(round(w * f)), int(round(h * f)))
    clean = cv2.resize(clean, size, interpolation=cv2.INTER_CUBIC)
    if info.get("red_mask") is not None:
        info = dict(info, red_mask=cv2.resize(info["red_mask"], size, interpolation=cv2.INTER_NEAREST))
    return clean, info, dpi * f


def _suspect_orientation(lines: list[OcrLine]) -> bool:
    chars = sum(len(l.text) for l in lines)
    if chars < 10:
        return True
    conf = sum(l.confidence * len(l.text) for l in lines) / chars
    tall = sum(1 for l in lines if (l.box[3] - l.box[1]) > 1.5 * (l.box[2] - l.box[0]))
    return conf < 0.85 or tall > max(2, len(lines) // 3)


def page_source_label(source: PageSource) -> str:
    """``file#page=N`` for PDF pages, ``file#frame=N`` for frames after the first
    of a multi-frame image, else the file (N is 1-based)."""
    if source.kind == "pdf" or str(source.path).lower().endswith(".pdf"):
        return f"{source.path}#page={source.index + 1}"
    if getattr(source, "crop", None):
        half = "left" if source.crop[0] < 0.25 else "right"
        return f"{source.path}#{half}" if not source.index else f"{source.path}#frame={source.index + 1}&{half}"
    if source.index:
        return f"{source.path}#frame={source.index + 1}"
    if str(source.path).lower().endswith((".tif", ".tiff")):
        return f"{source.path}#frame=1"
    return str(source.path)


def ink_height(gray: np.ndarray, box) -> float:
    """Height in px of the ink band of a line: rows of the box holding a fair
    share of its ink (ignores a neighbour's descenders and specks)."""
    x0, top, x1, bottom = (int(round(v)) for v in box)
    x0, top = max(0, x0), max(0, top)
    sub = gray[top:bottom, x0:x1] < 140
    if sub.size == 0:
        return 0.0
    rows = sub.sum(axis=1).astype(np.float32)
    if rows.max() <= 0:
        return 0.0
    on = rows >= max(2.0, 0.06 * float(rows.max()))
    # runs of inked rows, bridging small gaps; keep the run with most ink
    # (a neighbour line's descenders or specks form separate small runs)
    gap = max(1, int(0.08 * len(rows)))
    runs: list[list[int]] = []
    for i in np.where(on)[0]:
        if runs and i - runs[-1][1] <= gap:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    if not runs:
        return 0.0
    a, b = max(runs, key=lambda r: float(rows[r[0]:r[1] + 1].sum()))
    return float(b - a + 1)


def _line_colour(gray: np.ndarray, red: np.ndarray, box) -> str:
    x0, top, x1, bottom = (int(round(v)) for v in box)
    x0, top = max(0, x0), max(0, top)
    sub_ink = gray[top:bottom, x0:x1] < 150
    sub_red = red[top:bottom, x0:x1] > 0
    ink = int(np.count_nonzero(sub_ink | sub_red))
    if ink == 0:
        return "black"
    return "red" if np.count_nonzero(sub_red) > 0.5 * ink else "black"


def save_page_image(clean: np.ndarray, lines: list[OcrLine], dpi: int, image_dir: Path,
                    name: str, red: Optional[np.ndarray] = None, target_dpi: int = 100) -> Path:
    """Store a small JPEG of the cleaned page (~100 dpi) with line boxes drawn."""
    image_dir.mkdir(parents=True, exist_ok=True)
    f = min(1.0, target_dpi / float(dpi))
    small = cv2.resize(clean, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else clean.copy()
    if small.ndim == 2:
        small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
    for ln in lines:
        x0, top, x1, bottom = (int(round(v * f)) for v in ln.box)
        colour = (0, 160, 0) if ln.confidence >= 0.8 else (0, 140, 255)
        cv2.rectangle(small, (x0, top), (x1, bottom), colour, 1)
    path = image_dir / name
    cv2.imwrite(str(path), small, [cv2.IMWRITE_JPEG_QUALITY, 70])
    return path
