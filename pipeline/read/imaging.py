"""Page images for OCR: loading (PDF / multi-page TIFF / JPEG / PNG) and clean-up.

``load_page_image`` turns one :class:`~pipeline.models.PageSource` into an
8-bit BGR ``numpy`` array plus the resolution it was read at.  PDF pages are
rasterised one at a time with pypdfium2; TIFF frames are decoded one at a time
with PIL ``seek`` so a 300-page TIFF never sits in memory.

``prepare`` cleans a page image before OCR and reports what it did:

* red ink: a red seal stamped over black text is dropped to background (the
  black text under it survives), while red text that stands alone (the
  masthead, red titles) is kept dark so it is still read;
* background normalisation for yellowed / unevenly lit paper (divide by a
  large-kernel morphological close of the page);
* speckle removal (tiny isolated dark specks);
* border clean-up (dark scanner borders touching the image edge are whitened);
* orientation (0/90/180/270) detection and correction (tesseract OSD, then
  the rapidocr detector/recogniser check, then projection profiles);
* skew detection (projection profiles, +-5 deg, 0.02 deg steps) and correction.

The page keeps its geometry apart from the rotation/deskew: nothing is cropped
away, so pixel boxes convert straight to page points (px * 72 / dpi).
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
from PIL import Image, ImageOps

from pipeline.models import PageSource
from pipeline.read import photo

MAX_PIXELS = 200_000_000      # refuse decompression bombs above this many pixels
MIN_SIDE = 16                 # refuse images smaller than this on a side
DEFAULT_DPI = 300
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp", ".jp2", ".gif"}

# PIL's own bomb guard would warn/raise at its own threshold; we check sizes
# ourselves (before decoding) with a clearer message.
Image.MAX_IMAGE_PIXELS = None


# --------------------------------------------------------------------------
# Loading


# Rasterising a PDF page for OCR: at most this many pixels. A page too large
# for the requested dpi is rendered at a lower dpi (``raster_dpi``) and the
# page records the dpi used.
RASTER_MAX_PIXELS = 36_000_000    # A4 at 600 dpi is 35 Mpx
MIN_RASTER_DPI = 36               # below this a reduced page is hardly legible


def raster_dpi(width_pt: float, height_pt: float, dpi: int, max_pixels: Optional[int] = None) -> int:
    """The dpi to rasterise a page of this size at: ``dpi``, or lower for a page
    so large that ``dpi`` would exceed ``max_pixels`` (default RASTER_MAX_PIXELS).
    The cap is strict; below MIN_RASTER_DPI the page is unlikely to be legible
    and the issue is flagged anyway (``reduced-dpi``)."""
    max_pixels = RASTER_MAX_PIXELS if max_pixels is None else max_pixels
    w_in, h_in = max(width_pt, 1.0) / 72.0, max(height_pt, 1.0) / 72.0
    if w_in * h_in * dpi * dpi <= max_pixels:
        return int(dpi)
    return max(1, int((max_pixels / (w_in * h_in)) ** 0.5))


def natural_sort_key(name) -> tuple:
    """Sort key that orders ``page-2`` before ``page-10`` (case-insensitive)."""
    s = os.path.basename(str(name)).lower()
    parts = re.split(r"(\d+)", s)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p != "")


def list_page_images(folder) -> list[Path]:
    """Image files of a page-image folder in natural order."""
    folder = Path(folder)
    files = [p for p in folder.iterdir()
             if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")]
    return sorted(files, key=natural_sort_key)


def _check_size(width: int, height: int, what: str) -> None:
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"{what}: image of {width}x{height} = {width * height / 1e6:.0f} Mpx exceeds the "
            f"{MAX_PIXELS / 1e6:.0f} Mpx limit (decompression bomb?)")
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ValueError(
            f"{what}: image of {width}x{height} px is too small to OCR "
            f"(minimum {MIN_SIDE} px a side)")


def page_count(path, kind: str = "pdf") -> int:
    """Number of pages in a PDF, frames in a TIFF/image, or images in a folder."""
    p = Path(path)
    if p.is_dir():
        return len(list_page_images(p))
    if kind == "pdf" or (kind not in ("image", "tiff") and p.suffix.lower() == ".pdf"):
        import pypdfium2 as pdfium
        pdf = pdfium.PdfDocument(str(p))
        try:
            return len(pdf)
        finally:
            pdf.close()
    with Image.open(p) as im:
        return int(getattr(im, "n_frames", 1) or 1)


def _sane_dpi(value) -> Optional[int]:
    try:
        if isinstance(value, (tuple, list)):
            value = value[0]
        v = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(v) or v < 50 or v > 2400:
        return None
    return int(round(v))


def _recorded_dpi(im: Image.Image) -> Optional[int]:
    """The resolution the file records, or None when it records none (or an absurd one)."""
    dpi = _sane_dpi(im.info.get("dpi"))
    if dpi is None and "resolution" in im.info:
        # TIFF in pixels per centimetre
        res = _sane_dpi(im.info["resolution"])
        unit = None
        try:
            unit = im.tag_v2.get(296)  # ResolutionUnit: 2 inch, 3 cm
        except AttributeError:
            pass
        if res is not None and unit == 3:
            dpi = _sane_dpi(res * 2.54)
        else:
            dpi = res
    if dpi is None:
        try:
            jfif = im.info.get("jfif_density")
            if jfif and im.info.get("jfif_unit") == 1:
                dpi = _sane_dpi(jfif)
        except Exception:  # pragma: no cover - odd metadata
            dpi = None
    return dpi


def pil_to_bgr(im: Image.Image) -> np.ndarray:
    """Convert any PIL frame (1, L, P, I;16, I, F, RGB, RGBA, CMYK, LA ...) to 8-bit BGR."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im)
        if a.dtype.kind == "f":
            a = np.nan_to_num(a.astype(np.float64))
            lo, hi = float(a.min()), float(a.max())
            if hi <= 1.0 and lo >= 0.0:
                a8 = a * 255.0
            elif hi > lo:
                a8 = (a - lo) * (255.0 / (hi - lo))
            else:
                a8 = np.zeros_like(a)
        else:
            a = a.astype(np.int64)
            hi = int(a.max()) if a.size else 0
            if mode.startswith("I;16") or (255 < hi <= 65535):
                a8 = a >> 8 if hi > 255 else a
            elif hi > 65535:
                lo = int(a.min())
                a8 = (a - lo) * 255 // max(1, hi - lo)
            else:
                a8 = a
        g = np.clip(a8, 0, 255).astype(np.uint8)
        return cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)
    if mode == "1":
        g = np.asarray(im.convert("L"))
        return cv2.cvtColor(g, cv2.COLOR_GRAY2BGR)
    if mode == "L":
        return cv2.cvtColor(np.asarray(im), cv2.COLOR_GRAY2BGR)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, rgba).convert("RGB")
    elif mode != "RGB":
        # CMYK, YCbCr, LAB, P, RGB;16 ... -> PIL's conversion
        im = im.convert("RGB")
    rgb = np.asarray(im)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def load_page_image(source: PageSource, dpi: int = DEFAULT_DPI) -> tuple[np.ndarray, int]:
    """Load one page as an 8-bit BGR array; return ``(image, dpi_used)``.

    PDF pages are rendered at ``dpi``; image files keep their own pixels and
    report the resolution from their metadata (300 when absent or absurd).
    Raises ValueError for decompression bombs and tiny images.
    """
    arr, dpi_used, _ = load_page(source, dpi)
    return arr, dpi_used


def load_page(source: PageSource, dpi: int = DEFAULT_DPI) -> tuple[np.ndarray, int, bool]:
    """``load_page_image`` plus whether the dpi is known (rendered, or recorded
    in the file) rather than assumed.  JPEGs are turned by their EXIF
    orientation; a page that is one half of a photographed spread
    (``source.crop``) is cut out of its image."""
    path = Path(source.path)
    what = f"{path.name}[{source.index}]"
    kind = source.kind
    is_pdf = kind == "pdf" or (kind not in ("image", "tiff") and path.suffix.lower() == ".pdf")
    if is_pdf:
        import pypdfium2 as pdfium
        pdf = pdfium.PdfDocument(str(path))
        try:
            n = len(pdf)
            if not 0 <= source.index < n:
                raise IndexError(f"{what}: page index out of range (PDF has {n} pages)")
            page = pdf[source.index]
            try:
                w_pt, h_pt = page.get_size()
                # a scanned page (ingest measured it) is rendered at the
                # scan's own resolution when that is lower: cleaned at its
                # own pixels, it is scaled up after (ocr.read_page)
                dpi = min(dpi, source.scan_dpi or dpi)
                w_px, h_px = int(round(w_pt * dpi / 72)), int(round(h_pt * dpi / 72))
                _check_size(w_px, h_px, what)
                bitmap = page.render(scale=dpi / 72, grayscale=False)
                try:
                    arr = bitmap.to_numpy()
                    fmt = getattr(bitmap, "mode", None) or ""
                    arr = _pdfium_to_bgr(arr, fmt)
                finally:
                    bitmap.close()
            finally:
                page.close()
        finally:
            pdf.close()
        return arr, int(dpi), True

    with Image.open(path) as im:
        n = int(getattr(im, "n_frames", 1) or 1)
        if not 0 <= source.index < n:
            raise IndexError(f"{what}: frame index out of range (file has {n} frames)")
        if source.index:
            im.seek(source.index)
        _check_size(im.width, im.height, what)
        recorded = _recorded_dpi(im)
        dpi_used = recorded or DEFAULT_DPI
        if im.format == "JPEG":
            # phone photos: honour the EXIF orientation flag
            try:
                im2 = ImageOps.exif_transpose(im)
            except Exception:
                im2 = im
        else:
            im2 = im
        im2.load()
        if im2.width * im2.height > RASTER_MAX_PIXELS:
            # clean-up copies a page several times: read a huge one reduced
            # to RASTER_MAX_PIXELS, as a huge PDF page is (bench_hostile_memory)
            f = math.ceil((im2.width * im2.height / RASTER_MAX_PIXELS) ** 0.5)
            if im2.mode not in ("L", "RGB", "RGBA", "LA", "CMYK"):
                im2 = im2.convert("L" if im2.mode in ("1", "I;16", "I", "F") else "RGB")
            im2, dpi_used = im2.reduce(f), max(1, dpi_used // f)
        arr = pil_to_bgr(im2)
    crop = getattr(source, "crop", None)
    if crop:
        w = arr.shape[1]
        arr = arr[:, int(round(crop[0] * w)):int(round(crop[1] * w))]
    return np.ascontiguousarray(arr), dpi_used, recorded is not None


def scan_dpi(image, page_size: tuple[float, float]) -> Optional[int]:
    """The resolution of a scan: ``image`` (a pdfium image object, the only
    thing drawn on its page; see ingest) when it covers at least 90% of the
    page, else None."""
    try:
        left, bottom, right, top = image.get_bounds()
        pw, ph = image.get_px_size()
    except Exception:       # pdfium cannot tell: read the page at the dpi asked for
        return None
    if (right - left) * (top - bottom) < 0.9 * page_size[0] * page_size[1]:
        return None
    return max(1, int(round(min(pw * 72.0 / max(1e-6, right - left), ph * 72.0 / max(1e-6, top - bottom)))))


def _pdfium_to_bgr(arr: np.ndarray, fmt: str) -> np.ndarray:
    if arr.ndim == 2:
        return cv2.cvtColor(arr, cv2.COLOR_GRAY2BGR)
    c = arr.shape[2]
    fmt = str(fmt).upper()
    if c == 3:
        return arr.copy() if fmt in ("BGR", "") else cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    if c == 4:
        if fmt.startswith("RGB"):
            return cv2.cvtColor(arr, cv2.COLOR_RGBA2BGR)
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2BGR)
    return arr[:, :, :3].copy()


# --------------------------------------------------------------------------
# Clean-up


def _odd(n: float) -> int:
    n = max(1, int(round(n)))
    return n if n % 2 else n + 1


def red_mask(bgr: np.ndarray) -> np.ndarray:
    """Pixels of red ink (uint8 0/255): red clearly above green and blue.

    Works on yellowed paper too (yellow has R close to G).
    """
    if bgr.ndim != 3:
        return np.zeros(bgr.shape[:2], np.uint8)
    return _red_of(*cv2.split(bgr))


def _red_of(b: np.ndarray, g: np.ndarray, r: np.ndarray) -> np.ndarray:
    # saturating 8-bit differences: r - max(g, b) > 60 and g - b < 60 hold
    # exactly as in signed arithmetic; OpenCV's compare and and give 0/255
    # masks directly, at a third of the cost of numpy's boolean arrays
    m = cv2.compare(cv2.subtract(r, cv2.max(g, b)), 60, cv2.CMP_GT)
    m = cv2.bitwise_and(m, cv2.compare(r, 90, cv2.CMP_GT))
    return cv2.bitwise_and(m, cv2.compare(cv2.subtract(g, b), 60, cv2.CMP_LT))


def _sparse_components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """``cv2.connectedComponentsWithStats(mask, connectivity=8)`` for a mask
    that is mostly empty: labels alone are a third of the time, and the
    statistics (left, top, width, height, area; the background's left out)
    are then counted over the few labelled pixels only."""
    n, labels = cv2.connectedComponents(mask, connectivity=8)
    stats = np.zeros((n, 5), np.int64)
    if n > 1:
        ys, xs = np.nonzero(labels)
        lab = labels[ys, xs]
        x0, y0 = np.full(n, mask.shape[1], np.int64), np.full(n, mask.shape[0], np.int64)
        x1, y1 = np.full(n, -1, np.int64), np.full(n, -1, np.int64)
        np.minimum.at(x0, lab, xs)
        np.minimum.at(y0, lab, ys)
        np.maximum.at(x1, lab, xs)
        np.maximum.at(y1, lab, ys)
        stats[1:] = np.stack([x0, y0, x1 - x0 + 1, y1 - y0 + 1, np.bincount(lab, minlength=n)], axis=1)[1:]
    return n, labels, stats


def _background(gray: np.ndarray, dpi: int) -> np.ndarray:
    """Paper brightness estimate: morphological close with a big kernel on a small copy."""
    h, w = gray.shape
    f = 8
    small = cv2.resize(gray, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    k = _odd(dpi * 0.45 / f)            # ~0.45 inch: wider than any character stroke
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    bg = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    bg = cv2.medianBlur(bg, _odd(k / 2) if k >= 5 else 3)
    bg = cv2.GaussianBlur(bg, (0, 0), k / 3)
    return cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)


def normalize_background(gray: np.ndarray, dpi: int) -> np.ndarray:
    """Divide by the paper background so the page is white and ink keeps its contrast."""
    bg = np.maximum(_background(gray, dpi), 40)
    # levels: paper (>= ~0.92 of background) -> white; stretch ink range.
    # One saturating 8-bit divide (gray * 255/235 * 255 / bg) instead of
    # float32 arrays: 0.13 -> 0.02 CPU-s on a 300 dpi A4 page.
    return cv2.divide(gray, bg, scale=255.0 * 255.0 / 235.0)


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Dark pixels of a normalised page (uint8 0/255)."""
    return ((gray < 150).astype(np.uint8)) * 255


SPECK_THRESHOLD = 160     # grey level below which a pixel counts as ink for speck analysis
SPECK_AREA = 0.00033      # square inches: largest speck (~30 px at 300 dpi)
SPECK_GUARD = 0.06        # inches: specks this close to larger ink are kept (punctuation)


def remove_speckles(gray: np.ndarray, dpi: int) -> tuple[np.ndarray, int]:
    """Whiten tiny isolated dark specks; returns (image, number removed).

    A speck is a connected component of at most ``SPECK_AREA`` with no larger
    ink within ``SPECK_GUARD``, so full stops, commas, decimal points and the
    dots of 、 next to characters survive.
    """
    ink = (gray < SPECK_THRESHOLD).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return gray, 0
    max_area = max(2, int(round(SPECK_AREA * dpi * dpi)))
    areas = stats[1:, cv2.CC_STAT_AREA]
    is_small = areas <= max_area
    if not is_small.any():
        return gray, 0
    big = np.concatenate([[0], (~is_small).astype(np.uint8)]).astype(np.uint8)[labels]
    r = _odd(dpi * SPECK_GUARD)
    near = cv2.dilate(big, cv2.getStructuringElement(cv2.MORPH_RECT, (r, r)))
    # a small component is kept when its centre lies in the guard zone
    cx = stats[1:, cv2.CC_STAT_LEFT] + stats[1:, cv2.CC_STAT_WIDTH] // 2
    cy = stats[1:, cv2.CC_STAT_TOP] + stats[1:, cv2.CC_STAT_HEIGHT] // 2
    kill = np.concatenate([[False], is_small & (near[cy, cx] == 0)])
    removed = int(kill.sum())
    if not removed:
        return gray, 0
    m = kill[labels].astype(np.uint8)
    m = cv2.dilate(m, np.ones((3, 3), np.uint8))
    out = gray.copy()
    out[m > 0] = 255
    return out, removed


def clean_borders(gray: np.ndarray, dpi: int) -> tuple[np.ndarray, float]:
    """Whiten large dark regions touching the image edge (scanner borders/shadows).

    Returns (image, fraction of the page whitened).
    """
    h, w = gray.shape
    dark = (gray < 110).astype(np.uint8)
    margin = max(2, int(dpi * 0.02))
    m = margin + 1
    if not (dark[:m].any() or dark[-m:].any() or dark[:, :m].any() or dark[:, -m:].any()):
        return gray, 0.0      # no dark pixel near an edge: nothing can touch one
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    if n <= 1:
        return gray, 0.0
    kill = np.zeros(n, bool)
    for lab in range(1, n):
        x, y, bw, bh, area = stats[lab]
        touches = x <= margin or y <= margin or x + bw >= w - margin or y + bh >= h - margin
        if not touches:
            continue
        # a border band: long along one edge and either thin or very dense
        long_side = max(bw / w, bh / h)
        fill = area / float(bw * bh)
        if long_side > 0.25 and (min(bw, bh) < dpi * 0.6 or fill > 0.5):
            kill[lab] = True
    if not kill.any():
        return gray, 0.0
    m = kill[labels]
    out = gray.copy()
    out[m] = 255
    return out, float(m.mean())


def estimate_skew(gray: np.ndarray, dpi: int, max_angle: float = 5.0) -> float:
    """Skew of horizontal text lines in degrees (positive = text rises to the right,
    i.e. rotate the page counter-clockwise by this much... see ``deskew``).

    Projection-profile search: the angle whose row sums of the ink mask have the
    largest variance (sharpest line/gap alternation).  For angles this small a
    rotation is a vertical shear, so each candidate's profile is one
    ``bincount`` of the ink pixels' sheared rows (at ~100 dpi) instead of a
    rotated image: 0.14 -> 0.02 CPU-s a page on the dev scans, same angles to
    within the 0.02 degree step.
    """
    h, w = gray.shape
    f = min(1.0, 100.0 / max(dpi, 1))     # work at ~100 dpi
    small = cv2.resize(gray, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero(small < 170)
    if len(ys) < 50:
        return 0.0
    sh, sw = small.shape
    ys = ys.astype(np.float64)
    xs = xs.astype(np.float64) + 0.5 - sw / 2.0
    pad = int(np.ceil(sw / 2.0 * np.tan(np.radians(max_angle + 1)))) + 1

    def score(angle: float) -> float:
        # rotating the page by ``angle`` (counter-clockwise) moves a pixel at
        # x (from the centre) up by x*tan(angle)
        rows = ys - xs * np.tan(np.radians(angle)) + pad
        lo = rows.astype(np.int64)
        frac = rows - lo          # each pixel split between its two rows
        n = sh + 2 * pad + 1
        prof = (np.bincount(lo, weights=1.0 - frac, minlength=n)
                + np.bincount(lo + 1, weights=frac, minlength=n + 1)[:n])
        d = np.diff(prof)
        return float((d * d).sum())

    best = max(np.arange(-max_angle, max_angle + 1e-6, 0.5), key=score)
    for step, span in ((0.1, 0.5), (0.02, 0.1)):
        cands = np.arange(best - span, best + span + 1e-9, step)
        best = max(cands, key=score)
    return float(round(best, 2))


def rotate_image(img: np.ndarray, angle: float, border=255) -> np.ndarray:
    """Rotate by ``angle`` degrees counter-clockwise about the centre, same size."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, 1.0)
    if img.ndim == 3 and not isinstance(border, tuple):
        border = (border,) * img.shape[2]
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_CUBIC if img.dtype == np.uint8 and border != 0 else cv2.INTER_NEAREST,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


_ROT = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def rotate_quadrant(img: np.ndarray, degrees: int) -> np.ndarray:
    """Rotate counter-clockwise by 0/90/180/270 degrees."""
    degrees %= 360
    return img if degrees == 0 else cv2.rotate(img, _ROT[degrees])


# ---- the whole clean-up


RING_BAND = (0.72, 1.02)   # radii (share of the half-axes) of the band a seal's ring lies in
RING_COVER = 0.85          # share of directions in which that band holds red ink


def ring_like(mask: np.ndarray) -> bool:
    """True when the ink of ``mask`` (a box around one red region) closes a
    ring along the ellipse inscribed in the box: the outline of a round or
    oval seal.  Characters touch that band in a few directions only."""
    h, w = mask.shape[:2]
    ys, xs = np.nonzero(mask)
    if len(xs) < 20:
        return False
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    dx, dy = (xs - cx) / max(1.0, w / 2.0), (ys - cy) / max(1.0, h / 2.0)
    rad = np.hypot(dx, dy)
    band = (rad >= RING_BAND[0]) & (rad <= RING_BAND[1])
    if not band.any():
        return False
    bins = ((np.arctan2(dy[band], dx[band]) + np.pi) / (2 * np.pi) * 48).astype(int) % 48
    return len(np.unique(bins)) >= RING_COVER * 48


def separate_red(bgr: np.ndarray, dpi: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Grey page in which red ink is either kept dark (stand-alone red text such
    as the masthead) or dropped to paper (a seal over black text).

    Returns (gray, mask of the red ink kept as text, info).
    """
    b, g, r = cv2.split(bgr)
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    red = _red_of(b, g, r)
    info = {"red_pixels": int(np.count_nonzero(red)), "red_kept": 0, "red_dropped": 0}
    if info["red_pixels"] < 50:
        return gray, np.zeros_like(red), info
    # soft red mask: include the anti-aliased fringe of red strokes
    soft = cv2.compare(cv2.subtract(r, cv2.max(g, b)), 30, cv2.CMP_GT)     # saturating: as signed
    soft = cv2.bitwise_and(cv2.dilate(soft, np.ones((3, 3), np.uint8)), cv2.dilate(red, np.ones((5, 5), np.uint8)))
    soft = cv2.bitwise_or(soft, red)

    # group red ink into regions (characters of one red line / one seal)
    k = _odd(dpi * 0.12)
    regions = cv2.dilate(red, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    n, labels, stats = _sparse_components(regions)
    drop = np.zeros(n, bool)
    seals: list[tuple[int, int, int, int]] = []
    for lab in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[lab])
        if w * h < (dpi * 0.04) ** 2:
            continue
        win = (slice(y, y + h), slice(x, x + w))
        # black ink: dark in all channels (the red channel too) and not red:
        # red ink in the shadow of a photo is dark in every channel but stays red
        sub_black = (cv2.max(cv2.max(r[win], g[win]), b[win]) < 110) & (soft[win] == 0)
        sub_red = red[win] > 0
        aspect = w / float(h)
        # a seal is a large ring; a large red character (a masthead on a
        # scan whose dpi is unknown or wrong) is not
        seal_like = 0.6 <= aspect <= 1.6 and min(w, h) > dpi * 0.8 and ring_like(sub_red)
        black_frac = float(sub_black.sum()) / max(1.0, float(sub_red.sum()))
        if seal_like or black_frac > 0.15:
            drop[lab] = True
        if seal_like:
            seals.append((x, y, x + w, y + h))
    # a seal's star or inner text can be a separate red region: drop what
    # lies inside a seal's ring
    for lab in range(1, n):
        if drop[lab]:
            continue
        x, y, w, h, _ = stats[lab]
        for sx0, sy0, sx1, sy1 in seals:
            ix = max(0, min(x + w, sx1) - max(x, sx0))
            iy = max(0, min(y + h, sy1) - max(y, sy0))
            if ix * iy >= 0.6 * w * h:
                drop[lab] = True
                break
    # sort the soft red pixels (flat indices) by their region's verdict
    on = np.flatnonzero(soft)
    dl = drop[labels.ravel()[on]]
    out = gray.copy()
    flat, bf, gf, rf = out.ravel(), b.ravel(), g.ravel(), r.ravel()
    # dropped red: use the brightest channel (red ink is bright in R; black stays dark)
    d = on[dl]
    flat[d] = np.maximum(np.maximum(rf[d], gf[d]), bf[d])
    # kept red: darken to the darkest channel so it reads like black ink
    kept = on[~dl]
    flat[kept] = np.minimum(np.minimum(rf[kept], gf[kept]), bf[kept])
    info["red_kept"] = int(len(kept))
    info["red_dropped"] = int(len(d))
    # the mask handed on marks red *text* only: a seal's ink over a black
    # line must not make that line red
    keep = np.zeros_like(soft)
    keep.ravel()[kept] = 255
    return out, keep, info


def prepare(image: np.ndarray, dpi: int, *, rotation: int = 0,
            deskew: bool = True, denoise: bool = False) -> tuple[np.ndarray, dict]:
    """Clean a page image for OCR.

    ``denoise`` removes isolated specks.  It is off by default: on the dev
    hard scans it cost accuracy for both engines (rapidocr 1.5% -> 1.9% CER,
    tesseract much worse) because the removal nibbles punctuation and broken
    strokes while the recognisers mostly ignore specks; engines opt in with
    their ``denoise`` attribute.

    Returns ``(clean, info)``: ``clean`` is an 8-bit grey image
    turned by ``rotation`` (counter-clockwise degrees, see
    :mod:`pipeline.read.orient`) and deskewed; ``info`` holds ``rotation``, ``orientation_method``, ``skew`` (degrees corrected),
    ``speckles``, ``border``, red-ink counts (``red_pixels``, ``red_kept``,
    ``red_dropped``) and ``red_mask`` (uint8 mask of the red ink kept as text,
    in the geometry of ``clean``; None when there is none).
    """
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    h, w = image.shape[:2]
    _check_size(w, h, "page")
    info: dict = {"dpi": int(dpi)}
    colour = _is_colour(image)
    if colour:
        gray, red, rinfo = separate_red(image, dpi)
        info.update(rinfo)
    else:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        red = None
        info.update({"red_pixels": 0, "red_kept": 0, "red_dropped": 0})
    gray = normalize_background(gray, dpi)
    gray, faint = photo.suppress_faint_ink(gray, dpi)
    info["faint"] = faint
    gray, border = clean_borders(gray, dpi)
    info["border"] = round(border, 4)
    info["speckles"] = 0
    if denoise:
        gray, nspk = remove_speckles(gray, dpi)
        info["speckles"] = nspk
    rotation = int(rotation) % 360
    method = "given" if rotation else "none"
    if rotation:
        gray = rotate_quadrant(gray, rotation)
        if red is not None:
            red = rotate_quadrant(red, rotation)
    info["rotation"] = rotation
    info["orientation_method"] = method
    skew = 0.0
    if deskew:
        skew = estimate_skew(gray, dpi)
        if abs(skew) >= 0.05:
            gray = rotate_image(gray, skew, border=255)
            if red is not None:
                red = rotate_image(red, skew, border=0)
        else:
            skew = 0.0
    info["skew"] = skew
    info["red_mask"] = red if (red is not None and info["red_kept"] > 0) else None
    return gray, info


def _is_colour(bgr: np.ndarray) -> bool:
    f = max(1, int(max(bgr.shape[:2]) / 800))
    b, g, r = cv2.split(np.ascontiguousarray(bgr[::f, ::f]))
    spread = cv2.subtract(cv2.max(cv2.max(b, g), r), cv2.min(cv2.min(b, g), r))
    return bool((spread > 40).mean() > 0.0005)
