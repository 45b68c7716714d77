"""Text stage: read every page into lines in reading order.

Pages with a trustworthy PDF text layer are read with pdfplumber (each
character's size, font and fill colour); the others go to the OCR engine
(``pipeline.read.ocr``). Both produce the same ``Page``/``Line`` structures, so the
stages after this one do not care how a page was read.
"""
from __future__ import annotations

import dataclasses
import re
import statistics
from typing import Iterable, Optional

from pipeline.read.imaging import RASTER_MAX_PIXELS, raster_dpi
from pipeline.models import Document, Line, Page, PageSource
from pipeline.read.limits import one_line, printable

VERSION = 13   # 13: a long line keeps its pitch as size when its ink height agrees (a big headline's box is tight); 12: 、，。；： lost by greedy CTC in a character-wide gap put back; 11: OpenVINO models without their last sigmoid/softmax (f32 scores: a near-tie may read otherwise), a long line sized by its pitch unless 1.2x what its box says; 10: <...> round Han read as the title marks 〈...〉 / 《...》, 一完一 as —完—; 9: scans in PDFs rendered and cleaned at their own dpi, scaled up to the reading dpi after; 8: short OCR lines sized by ink height; 7: detection on a 1600 px copy, lines recognised one at a time padded to 64 px, faster clean-up (skew, show-through); 6: OCR line sizes from pitch decided here (layout no longer re-estimates); 5: OCR speck clean-up moved here from layout; 4: a quote read twice (alone and in its line) dropped; 2: stacked lines of a joint masthead kept apart; 3: photos (show-through, dpi estimate, regions)

# Font-name fragments of heading faces (黑体, 小标宋, bold cuts).
_HEADING_FONT = re.compile(r"bold|black|heavy|hei|zenhei|simhei|xbs|xiaobiaosong|biaosong|黑|宋体-粗|medium",
                           re.I)
_SUBSET = re.compile(r"^[A-Z]{2,6}\+")


def font_name(raw: str) -> str:
    """Strip the subset prefix (``AAAAAB+``) from a PDF font name."""
    return _SUBSET.sub("", raw or "")


def is_red(color) -> bool:
    """True for red ink given a pdfplumber fill colour (gray, RGB or CMYK tuple)."""
    if color is None:
        return False
    if isinstance(color, (int, float)):
        return False
    c = tuple(float(v) for v in color if isinstance(v, (int, float)))
    if len(c) == 3:
        r, g, b = c
        return r > 0.5 and r - max(g, b) > 0.35
    if len(c) == 4:
        cy, m, y, k = c
        return m > 0.5 and cy < 0.35 and k < 0.5
    return False


def chars_to_lines(chars: list[dict], page_no: int) -> list[Line]:
    """Group characters into printed lines and order them top to bottom, left to right.

    A character joins a line when its vertical centre lies within that line's
    extent, so a bold run-in title and the body text after it (set in another
    font, a point higher or lower) stay one line.
    """
    chars = [c for c in chars if c.get("text") and c.get("upright", True)]
    chars.sort(key=lambda c: (round(c["top"]), c["x0"]))
    rows: list[list[dict]] = []
    for ch in chars:
        mid = (ch["top"] + ch["bottom"]) / 2
        for row in reversed(rows[-3:]):
            top = min(c["top"] for c in row)
            bottom = max(c["bottom"] for c in row)
            if top - 0.5 <= mid <= bottom + 0.5 and _same_band(ch, row[0]):
                row.append(ch)
                break
        else:
            rows.append([ch])
    lines = []
    for row in rows:
        row.sort(key=lambda c: c["x0"])
        lines.append(_make_line(row, page_no))
    lines.sort(key=lambda l: (l.box[1], l.box[0]))
    return [l for l in lines if l.text.strip()]


# Share of the smaller character's height two characters must overlap vertically
# to be on one printed line. A run-in title a point higher overlaps ~90%; the
# stacked organs of a joint 公文 masthead and the tall 文件 beside them overlap
# each other by about half, and must stay separate lines.
SAME_LINE_OVERLAP = 0.6


def _same_band(ch: dict, first: dict) -> bool:
    """``ch`` shares the vertical band of the row that ``first`` opened."""
    overlap = min(ch["bottom"], first["bottom"]) - max(ch["top"], first["top"])
    height = min(ch["bottom"] - ch["top"], first["bottom"] - first["top"])
    return height <= 0 or overlap >= SAME_LINE_OVERLAP * height


def _make_line(row: list[dict], page_no: int) -> Line:
    parts = []
    prev = None
    for ch in row:
        if prev is not None and ch["text"] != " " and prev["text"] != " ":
            gap = ch["x0"] - prev["x1"]
            if gap > 0.6 * max(ch["size"], prev["size"]):
                parts.append(" ")
        parts.append(ch["text"])
        prev = ch
    text = "".join(parts)
    text = re.sub(r" {2,}", " ", text).strip()
    ink = [c for c in row if not c["text"].isspace()] or row
    sizes = [c["size"] for c in ink]
    size = statistics.median(sizes)
    red = sum(1 for c in ink if is_red(c.get("non_stroking_color"))) > len(ink) / 2
    heading = [bool(_HEADING_FONT.search(font_name(c.get("fontname", "")))) for c in ink]
    bold = sum(heading) > len(ink) * 0.8
    prefix = 0
    if not bold and heading and heading[0]:
        for h in heading:
            if not h:
                break
            prefix += 1
    fonts = [font_name(c.get("fontname", "")) for c in ink]
    return Line(
        text=text,
        box=(min(c["x0"] for c in row), min(c["top"] for c in row),
             max(c["x1"] for c in row), max(c["bottom"] for c in row)),
        page_no=page_no, size=round(size, 2), color="red" if red else "black",
        bold=bold, bold_prefix=prefix, font=max(set(fonts), key=fonts.count), confidence=1.0,
    )


def read_text_layer(path: str, indices: Iterable[int]) -> dict[int, Page]:
    """Read the given 0-based page indices of a PDF through its text layer."""
    import pdfplumber

    out = {}
    with pdfplumber.open(path) as pdf:
        for i in indices:
            p = pdf.pages[i]
            page = Page(page_no=i + 1, width=float(p.width), height=float(p.height),
                        method="text-layer", confidence=1.0, engine_version=_pdfplumber_version(),
                        source=printable(f"{path}#page={i + 1}"))
            page.lines = chars_to_lines(p.chars, i + 1)
            p.flush_cache()
            out[i] = page
    return out


def _pdfplumber_version() -> str:
    import pdfplumber
    return f"pdfplumber {pdfplumber.__version__}"


UNREADABLE = "unreadable"    # Page.method of an image page that could not be decoded


def read_ocr_page(src: PageSource, engine: str, dpi: int, image_dir: Optional[str]) -> Page:
    """OCR one page. A frame of an image file that cannot be decoded (one
    damaged frame of a multi-page TIFF, one broken scan in a folder) gives an
    empty page with method "unreadable", confidence 0 and the reason in
    ``engine_version``, so the good frames are kept and the issue is flagged
    (``unreadable_flags``)."""
    from pipeline.read import ocr
    eng = ocr.get_engine(engine) if isinstance(engine, str) else engine  # engine errors fail the input
    try:
        return ocr.read_page(src, engine=eng, dpi=dpi, image_dir=image_dir)
    except Exception as exc:
        if src.kind == "pdf":
            raise
        label = printable(ocr.page_source_label(src))
        frame = f"frame {src.index + 1}" if "#frame=" in label else "image"
        return Page(page_no=src.page_no, width=0.0, height=0.0, method=UNREADABLE, confidence=0.0,
                    engine_version=f"{frame} unreadable: {one_line(exc)[:200]}", source=label)


def unreadable_flags(pages: list[Page]) -> list[str]:
    """Issue flags naming the pages (frames) that could not be decoded."""
    out = []
    for p in pages:
        if p.method == UNREADABLE:
            out.append(f"unreadable-frame-{p.source.rsplit('#frame=', 1)[1]}" if "#frame=" in p.source
                       else f"unreadable-page-{p.page_no}")
    return out


def read_document(doc: Document, engine: str = "auto", dpi: int = 300,
                  image_dir: Optional[str] = None, executor=None, ocr_pages=None) -> list[Page]:
    """All pages of ``doc`` in order, from the text layer or OCR, with two safety nets.

    * A text layer that pdfplumber cannot parse (a damaged content stream) sends
      just the pages it fails on to OCR, with the reason recorded.
    * A PDF page too large to rasterise at ``dpi`` within
      ``RASTER_MAX_PIXELS`` is OCR'd at a lower dpi (``page.dpi``
      records it and the issue is flagged "reduced-dpi").
    OCR pages go through ``executor.map`` when an executor is given, or through
    ``ocr_pages(list of read_ocr_page argument tuples) -> pages in order`` (the
    batch runner's per-page checkpoints).
    """
    # the document is not changed: a page that falls back to OCR gets a new PageSource
    sources = list(doc.pages)
    text_srcs = [s for s in sources if not s.needs_ocr]
    by_no: dict[int, Page] = {}
    if text_srcs:
        try:
            got = read_text_layer(doc.source_path, [s.index for s in text_srcs])
        except Exception:
            got = {}
            for s in text_srcs:
                try:
                    got.update(read_text_layer(doc.source_path, [s.index]))
                except Exception as exc:
                    sources[sources.index(s)] = dataclasses.replace(
                        s, needs_ocr=True, reason=f"text layer cannot be parsed ({exc.__class__.__name__})")
        for s in text_srcs:
            if s.index in got:
                by_no[s.page_no] = got[s.index]
    ocr_srcs = [s for s in sources if s.needs_ocr]
    if ocr_srcs:
        dpis = raster_dpis(ocr_srcs, dpi)
        ocr_srcs = [s if d >= dpi else dataclasses.replace(s, reason=(s.reason + "; " if s.reason else "") +
                    f"page too large: rasterised at {d} dpi (limit {RASTER_MAX_PIXELS // 10**6} Mpx)")
                    for s, d in zip(ocr_srcs, dpis)]
        args = [(s, engine, d, image_dir) for s, d in zip(ocr_srcs, dpis)]
        if ocr_pages is not None:
            results = ocr_pages(args)
        elif executor is not None:
            results = executor.map(read_ocr_page, *zip(*args))
        else:
            results = (read_ocr_page(*a) for a in args)
        for src, page in zip(ocr_srcs, results):
            page.page_no = src.page_no
            for line in page.lines:
                line.page_no = src.page_no
            by_no[src.page_no] = page
    return [by_no[s.page_no] for s in sources]


def raster_dpis(srcs, dpi: int) -> list[int]:
    """Per-page rasterisation dpi for OCR sources (only PDF pages can be too large)."""
    out = [int(dpi)] * len(srcs)
    pdf_srcs = [(k, s) for k, s in enumerate(srcs) if s.kind == "pdf"]
    if not pdf_srcs:
        return out
    import pypdfium2 as pdfium
    by_path: dict[str, list] = {}
    for k, s in pdf_srcs:
        by_path.setdefault(s.path, []).append((k, s))
    for path, items in by_path.items():
        try:
            pdf = pdfium.PdfDocument(path)
        except Exception:
            continue  # the OCR stage reports the real error
        try:
            for k, s in items:
                try:
                    w, h = pdf.get_page_size(s.index)
                except Exception:
                    continue
                out[k] = raster_dpi(w, h, dpi)
        finally:
            pdf.close()
    return out
