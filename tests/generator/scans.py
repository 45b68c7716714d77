"""Bulletin generator: scans."""
from __future__ import annotations

import io
import math
import os
import random
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Sequence, Union

if TYPE_CHECKING:
    import numpy as np

from generator.spec import BulletinSpec  # noqa: F401
from generator.pdf import ZENHEI_PATH, _find_font, register_fonts, render_pdf  # noqa: F401

# --------------------------------------------------------------------------
# Scanned-looking inputs

CONDITIONS = ("clean", "mild", "hard")
CONTAINERS = ("pdf", "tiff", "jpeg-folder", "png-folder", "png", "jpeg")
TIFF_MODES = ("auto", "gray16", "cmyk", "g4")


def _seal_anchor(pdf_path: Path) -> Optional[tuple[int, float, float, str]]:
    """(page index, x, y, unit text) of the date on the ``…印发`` line, in points."""
    import pdfplumber
    with pdfplumber.open(str(pdf_path)) as pdf:
        for pi in range(len(pdf.pages) - 1, -1, -1):
            chars = pdf.pages[pi].chars
            for k in range(len(chars) - 1):
                if chars[k]["text"] == "印" and chars[k + 1]["text"] == "发":
                    top = chars[k]["top"]
                    line = [c for c in chars if abs(c["top"] - top) < 3 and c["x1"] <= chars[k + 1]["x1"] + 0.1]
                    line.sort(key=lambda c: c["x0"])
                    # the date part: right of the widest gap
                    gaps = [(line[j + 1]["x0"] - line[j]["x1"], j) for j in range(len(line) - 1)]
                    j = max(gaps)[1] if gaps else -1
                    date_chars = line[j + 1:]
                    unit = "".join(c["text"] for c in line[:j + 1]).strip()
                    x = (date_chars[0]["x0"] + date_chars[-1]["x1"]) / 2
                    y = (chars[k]["top"] + chars[k]["bottom"]) / 2
                    return pi, x, y, unit
    return None


def _seal_layer(radius_px: int, text: str, rng: random.Random) -> "np.ndarray":
    """Alpha mask (0..1) of a round seal: ring, text along the upper arc, star."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont
    register_fonts()
    size = 2 * radius_px + 4
    img = Image.new("L", (size, size), 0)
    d = ImageDraw.Draw(img)
    c = size / 2
    ring = max(2, int(radius_px * 0.06))
    d.ellipse([c - radius_px, c - radius_px, c + radius_px, c + radius_px], outline=255, width=ring)
    # star
    r_out, r_in = radius_px * 0.24, radius_px * 0.24 * 0.382
    pts = []
    for k in range(10):
        ang = -math.pi / 2 + k * math.pi / 5
        r = r_out if k % 2 == 0 else r_in
        pts.append((c + r * math.cos(ang), c + r * math.sin(ang)))
    d.polygon(pts, fill=255)
    # text along the arc
    text = text or "专用章"
    fsz = max(8, int(radius_px * 0.26))
    font = ImageFont.truetype(_find_font(ZENHEI_PATH, "zenhei"), fsz, index=0)
    n = len(text)
    span = min(math.radians(250), math.radians(24) * n)
    r_text = radius_px - ring - fsz * 0.65
    for k, ch in enumerate(text):
        ang = -math.pi / 2 - span / 2 + span * (k + 0.5) / n
        glyph = Image.new("L", (fsz * 2, fsz * 2), 0)
        ImageDraw.Draw(glyph).text((fsz * 0.5, fsz * 0.4), ch, fill=255, font=font)
        glyph = glyph.rotate(-math.degrees(ang + math.pi / 2), resample=Image.BICUBIC)
        gx = c + r_text * math.cos(ang) - fsz
        gy = c + r_text * math.sin(ang) - fsz
        img.paste(255, (int(gx), int(gy)), glyph)
    # horizontal line under the star
    lab = "专用章"
    w = fsz * len(lab) * 0.8
    fnt2 = ImageFont.truetype(_find_font(ZENHEI_PATH, "zenhei"), int(fsz * 0.8), index=0)
    d.text((c - w / 2, c + radius_px * 0.38), lab, fill=255, font=fnt2)
    a = np.asarray(img, dtype=np.float32) / 255.0
    # uneven ink
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    blot = nrng.uniform(0.55, 1.0, size=(size // 8 + 1, size // 8 + 1)).astype(np.float32)
    import cv2
    blot = cv2.resize(blot, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(a * blot, 0, 1)


def _apply_seal(img: "np.ndarray", anchor_px: tuple[float, float], radius_px: int, text: str,
                rng: random.Random, opacity: float = 0.85) -> "np.ndarray":
    """Multiply a red seal onto an RGB float image (0..255) centred at anchor_px."""
    import numpy as np
    a = _seal_layer(radius_px, text, rng) * opacity
    h, w = img.shape[:2]
    cx, cy = int(anchor_px[0]), int(anchor_px[1])
    s = a.shape[0]
    x0, y0 = cx - s // 2, cy - s // 2
    xa, ya, xb, yb = max(0, x0), max(0, y0), min(w, x0 + s), min(h, y0 + s)
    if xa >= xb or ya >= yb:
        return img
    sub = a[ya - y0:yb - y0, xa - x0:xb - x0][..., None]
    ink = np.array([205.0, 25.0, 35.0], dtype=np.float32) / 255.0
    region = img[ya:yb, xa:xb]
    img[ya:yb, xa:xb] = region * (1 - sub * (1 - ink))
    return img


def _skew(img: "np.ndarray", angle: float) -> "np.ndarray":
    import cv2
    if abs(angle) < 1e-3:
        return img
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    border = (255, 255, 255) if img.ndim == 3 else 255
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=border)


def _degrade(img: "np.ndarray", condition: str, angle: float, rng: random.Random) -> "np.ndarray":
    """img: RGB uint8 page.  Returns uint8 (H,W) for mild, (H,W,3) otherwise."""
    import cv2
    import numpy as np
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    if condition == "clean":
        return img
    if condition == "mild":
        g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        g = _skew(g, angle)
        g = cv2.GaussianBlur(g, (0, 0), 0.6).astype(np.float32)
        g = g * rng.uniform(0.95, 1.0) + rng.uniform(-4, 2)
        g += nrng.normal(0, 5.0, g.shape).astype(np.float32)
        return np.clip(g, 0, 255).astype(np.uint8)
    if condition != "hard":
        raise ValueError(f"unknown condition {condition!r}")
    h, w = img.shape[:2]
    f = img.astype(np.float32)
    # yellowed paper, unevenly lit
    paper = np.array([rng.uniform(232, 245), rng.uniform(220, 234), rng.uniform(178, 200)], np.float32)
    f = f / 255.0 * paper
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = rng.uniform(-0.12, 0.12), rng.uniform(-0.15, 0.05)
    cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    light = 1.0 + gx * (xx / w - 0.5) + gy * (yy / h - 0.5)
    light -= 0.18 * (((xx - cx) / w) ** 2 + ((yy - cy) / h) ** 2)
    del xx, yy
    f *= light[..., None]
    del light
    f = _skew(f, angle)
    f = cv2.GaussianBlur(f, (0, 0), 1.0)
    # speckle: dark dots and a few light dropouts
    n_dots = int(h * w / 9000)
    ys = nrng.integers(0, h, n_dots)
    xs = nrng.integers(0, w, n_dots)
    for y, x in zip(ys.tolist(), xs.tolist()):
        r = int(nrng.integers(1, 3))
        v = float(nrng.uniform(30, 110))
        cv2.circle(f, (x, y), r, (v, v, v), -1)
    f += nrng.normal(0, 7.0, f.shape).astype(np.float32)
    out = np.clip(f, 0, 255).astype(np.uint8)
    # strong JPEG compression
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 30])
    out = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return out


def _iter_scan_pages(pdf_path: Path, condition: str, dpi: int, rotate: int, skew: Optional[float],
                     seal: bool, seed: int, pages: Optional[Sequence[int]]) -> Iterator[tuple[int, "np.ndarray", float]]:
    """Yield (page_no, image, skew) one page at a time."""
    import numpy as np
    import pypdfium2 as pdfium
    rng = random.Random(seed)
    anchor = _seal_anchor(pdf_path) if seal else None
    doc = pdfium.PdfDocument(str(pdf_path))
    try:
        n = len(doc)
        wanted = list(pages) if pages else list(range(1, n + 1))
        scale = dpi / 72.0
        for pno in wanted:
            page = doc[pno - 1]
            bmp = page.render(scale=scale)
            img = np.asarray(bmp.to_pil().convert("RGB"))
            page.close()
            if anchor is not None and anchor[0] == pno - 1:
                f = img.astype(np.float32)
                _apply_seal(f, (anchor[1] * scale, anchor[2] * scale), int(46 * scale), anchor[3], rng)
                img = np.clip(f, 0, 255).astype(np.uint8)
            if skew is not None:
                angle = skew
            elif condition == "mild":
                angle = rng.choice([-1, 1]) * rng.uniform(0.2, 0.9)
            elif condition == "hard":
                angle = rng.choice([-1, 1]) * rng.uniform(0.8, 2.0)
            else:
                angle = 0.0
            out = _degrade(img, condition, angle, rng)
            if rotate:
                if rotate % 90:
                    raise ValueError("rotate must be 0, 90, 180 or 270")
                out = np.ascontiguousarray(np.rot90(out, k=-(rotate // 90) % 4))
            yield pno, out, angle
    finally:
        doc.close()


def _tiff_frame(arr: "np.ndarray", mode: str):
    import numpy as np
    from PIL import Image
    if mode == "gray16":
        g = arr if arr.ndim == 2 else np.asarray(Image.fromarray(arr).convert("L"))
        return Image.fromarray((g.astype(np.uint16) * 257)), "tiff_adobe_deflate"
    if mode == "cmyk":
        im = Image.fromarray(arr).convert("RGB").convert("CMYK")
        return im, "tiff_adobe_deflate"
    if mode == "g4":
        g = arr if arr.ndim == 2 else np.asarray(Image.fromarray(arr).convert("L"))
        return Image.fromarray(((g > 150) * 255).astype(np.uint8)).convert("1"), "group4"
    im = Image.fromarray(arr)
    return im, "tiff_adobe_deflate"


class _ImagePdfWriter:
    """Minimal PDF writer for image-only PDFs: one JPEG per page, each page
    written to disk as soon as it is added (nothing accumulates in memory)."""

    def __init__(self, path: Path):
        self.f = open(path, "wb")
        self.offsets: dict[int, int] = {}
        self.kids: list[int] = []
        self.next_obj = 3                   # 1 = catalog, 2 = page tree
        self.f.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")

    def _obj(self, num: int, body: bytes, stream: Optional[bytes] = None):
        self.offsets[num] = self.f.tell()
        self.f.write(b"%d 0 obj\n" % num)
        self.f.write(body)
        if stream is not None:
            self.f.write(b"\nstream\n")
            self.f.write(stream)
            self.f.write(b"\nendstream")
        self.f.write(b"\nendobj\n")

    def add_jpeg_page(self, jpeg: bytes, size: tuple[int, int], gray: bool, dpi: int):
        w, h = size
        pw, ph = w * 72.0 / dpi, h * 72.0 / dpi
        img, content, page = self.next_obj, self.next_obj + 1, self.next_obj + 2
        self.next_obj += 3
        cs = b"/DeviceGray" if gray else b"/DeviceRGB"
        self._obj(img, b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s "
                       b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>" % (w, h, cs, len(jpeg)), jpeg)
        draw = b"q %.4f 0 0 %.4f 0 0 cm /Im0 Do Q" % (pw, ph)
        self._obj(content, b"<< /Length %d >>" % len(draw), draw)
        self._obj(page, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %.4f %.4f] "
                        b"/Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>"
                  % (pw, ph, img, content))
        self.kids.append(page)

    def close(self):
        kids = b" ".join(b"%d 0 R" % k for k in self.kids)
        self._obj(2, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(self.kids)))
        self._obj(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        xref = self.f.tell()
        n = self.next_obj
        self.f.write(b"xref\n0 %d\n0000000000 65535 f \n" % n)
        for num in range(1, n):
            self.f.write(b"%010d 00000 n \n" % self.offsets[num])
        self.f.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (n, xref))
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def render_scans(spec_or_pdf: Union[BulletinSpec, str, os.PathLike], out_path: Union[str, os.PathLike],
                 container: str, condition: str, dpi: Optional[int] = None, rotate: int = 0,
                 skew: Optional[float] = None, seal: bool = False, seed: int = 0,
                 pages: Optional[Sequence[int]] = None, tiff_mode: str = "auto",
                 jpeg_quality: Optional[int] = None) -> dict:
    """Write a scanned-looking version of a bulletin.

    spec_or_pdf: a spec (rendered to a temporary PDF first) or a born-digital PDF.
    container: ``pdf`` (image-only, no text layer), ``tiff`` (multi-page;
    ``tiff_mode`` ``auto``/``gray16``/``cmyk``/``g4``), ``jpeg-folder`` /
    ``png-folder`` (``page-001.jpg`` …), ``png`` / ``jpeg`` (one page: the first
    of ``pages``, default page 1).
    condition: ``clean``, ``mild`` (grayscale, <1° skew, slight blur, noise) or
    ``hard`` (colour, 200 dpi by default, up to 2° skew, blur, speckle,
    yellowed unevenly lit paper, strong JPEG compression).
    dpi: default 300 (200 for ``hard``).  rotate: 0/90/180/270, clockwise.
    skew: degrees (counter-clockwise positive) instead of a random skew.
    seal: stamp a red round seal over the date of the ``…印发`` line.
    Pages are rendered, degraded and written one at a time.
    Returns ``{"path", "container", "condition", "dpi", "pages", "sizes", "skews", "rotate"}``.
    """
    if container not in CONTAINERS:
        raise ValueError(f"unknown container {container!r}")
    if condition not in CONDITIONS:
        raise ValueError(f"unknown condition {condition!r}")
    if tiff_mode not in TIFF_MODES:
        raise ValueError(f"unknown tiff_mode {tiff_mode!r}")
    if dpi is None:
        dpi = 200 if condition == "hard" else 300
    if jpeg_quality is None:
        jpeg_quality = {"clean": 92, "mild": 80, "hard": 40}[condition]
    out_path = Path(out_path)
    tmp = None
    if isinstance(spec_or_pdf, BulletinSpec):
        tmp = tempfile.TemporaryDirectory()
        pdf_path = Path(tmp.name) / f"{spec_or_pdf.id}.pdf"
        render_pdf(spec_or_pdf, pdf_path)
    else:
        pdf_path = Path(spec_or_pdf)
    if container in ("png", "jpeg"):
        pages = [pages[0] if pages else 1]
    sizes, skews = [], []
    try:
        it = _iter_scan_pages(pdf_path, condition, dpi, rotate, skew, seal, seed, pages)
        if container in ("jpeg-folder", "png-folder", "png", "jpeg"):
            from PIL import Image
            ext = "jpg" if container.startswith("jpeg") else "png"
            if container.endswith("folder"):
                out_path.mkdir(parents=True, exist_ok=True)
            else:
                out_path.parent.mkdir(parents=True, exist_ok=True)
            for k, (pno, arr, ang) in enumerate(it, start=1):
                im = Image.fromarray(arr)
                target = out_path / f"page-{k:03d}.{ext}" if container.endswith("folder") else out_path
                if ext == "jpg":
                    im.save(target, "JPEG", quality=jpeg_quality, dpi=(dpi, dpi))
                else:
                    im.save(target, "PNG", dpi=(dpi, dpi), optimize=False)
                sizes.append(im.size)
                skews.append(ang)
        elif container == "tiff":
            from PIL import TiffImagePlugin
            out_path.parent.mkdir(parents=True, exist_ok=True)
            mode = tiff_mode
            with TiffImagePlugin.AppendingTiffWriter(str(out_path), new=True) as tf:
                for pno, arr, ang in it:
                    if mode == "auto" and condition == "hard":
                        im, comp = _tiff_frame(arr, "auto")
                        im.save(tf, "TIFF", compression="jpeg", quality=jpeg_quality, dpi=(dpi, dpi))
                    else:
                        im, comp = _tiff_frame(arr, mode)
                        im.save(tf, "TIFF", compression=comp, dpi=(dpi, dpi))
                    tf.newFrame()
                    sizes.append(im.size)
                    skews.append(ang)
        else:  # image-only pdf, written page by page
            from PIL import Image
            out_path.parent.mkdir(parents=True, exist_ok=True)
            with _ImagePdfWriter(out_path) as writer:
                for pno, arr, ang in it:
                    im = Image.fromarray(arr)
                    buf = io.BytesIO()
                    im.save(buf, "JPEG", quality=jpeg_quality, dpi=(dpi, dpi))
                    writer.add_jpeg_page(buf.getvalue(), im.size, gray=(arr.ndim == 2), dpi=dpi)
                    sizes.append(im.size)
                    skews.append(ang)
                    del buf, im
    finally:
        if tmp is not None:
            tmp.cleanup()
    return {"path": str(out_path), "container": container, "condition": condition, "dpi": dpi,
            "pages": len(sizes), "sizes": sizes, "skews": skews, "rotate": rotate}
