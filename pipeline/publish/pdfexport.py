"""Searchable PDF and ALTO XML of an issue's pages.

``searchable_pdf(db_path, issue_id) -> bytes``: one PDF page per archived
page, sized in points as read, showing the page image with the text the
pipeline read laid over it invisibly (text render mode 3, as OCRmyPDF does),
each line scaled into its stored box, so the PDF can be searched, selected
and copied.  The font is the standard CJK font ``STSong-Light`` with the
``UniGB-UCS2-H`` encoding (no embedding needed; codes are UCS-2), which
pdfminer/pdfplumber and PDFium both map back to the characters.

The page image is the original page (the source PDF page or image frame,
when the input is still where it was loaded from), else the archive's stored
page image.

``alto_pages(db_path, issue_id) -> {page_no: xml}``: ALTO v4 XML per page,
one TextLine/String per stored line (``page_lines``), coordinates in PDF
points written as ALTO ``pixel`` units of a 72 dpi page image.
"""
from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Optional
from xml.sax.saxutils import escape, quoteattr

from pipeline.archive import pageimages

IMAGE_DPI = 150          # original pages are rendered at most at this resolution into the PDF
JPEG_QUALITY = 75


def _conn(db_path) -> sqlite3.Connection:
    p = Path(db_path)
    return sqlite3.connect(f"file:{p.resolve().as_posix()}?mode=ro", uri=True)


def _pages(conn, issue_id: str) -> list[dict]:
    cur = conn.execute("SELECT id, page_no, width, height, image_path, source, dpi, method, confidence"
                       " FROM pages WHERE issue_id = ? ORDER BY page_no", [issue_id])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _lines(conn, issue_id: str, page_no: int) -> list[tuple]:
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'page_lines'").fetchone() is None:
        return []
    return conn.execute("SELECT text, x0, top, x1, bottom, confidence FROM page_lines"
                        " WHERE issue_id = ? AND page_no = ? ORDER BY seq", [issue_id, page_no]).fetchall()


def _source_image(source: Optional[str], dpi: int):
    """The original page as a PIL image, or None."""
    if not source:
        return None
    path, _, frag = source.partition("#")
    p = Path(path)
    if not p.is_file():
        return None
    try:
        if frag.startswith("page="):
            import pypdfium2 as pdfium
            pdf = pdfium.PdfDocument(str(p))
            try:
                page = pdf[int(frag[5:]) - 1]
                return page.render(scale=dpi / 72.0).to_pil()
            finally:
                pdf.close()
        from PIL import Image
        im = Image.open(p)
        if frag.startswith("frame="):
            im.seek(int(frag[6:]) - 1)
        im.load()
        return im
    except Exception:
        return None


def _page_image(db_path, page: dict):
    from PIL import Image
    im = _source_image(page.get("source"), min(IMAGE_DPI, page.get("dpi") or IMAGE_DPI))
    if im is None:
        stored = pageimages.resolve(db_path, page.get("image_path"))
        if stored is None:
            return None
        im = Image.open(stored)
    if im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    w, h = page.get("width") or 595.0, page.get("height") or 842.0
    max_px = (int(w * IMAGE_DPI / 72), int(h * IMAGE_DPI / 72))
    if im.width > max_px[0] * 1.05:
        im = im.resize(max_px)
    return im


def _font(pdf):
    import pikepdf
    from pikepdf import Array, Dictionary, Name
    desc = pdf.make_indirect(Dictionary(
        Type=Name.FontDescriptor, FontName=Name("/STSong-Light"), Flags=6,
        FontBBox=Array([-25, -254, 1000, 880]), ItalicAngle=0, Ascent=880, Descent=-120,
        CapHeight=880, StemV=93))
    cid = Dictionary(Type=Name.Font, Subtype=Name.CIDFontType0, BaseFont=Name("/STSong-Light"),
                     CIDSystemInfo=Dictionary(Registry=pikepdf.String("Adobe"),
                                              Ordering=pikepdf.String("GB1"), Supplement=2),
                     FontDescriptor=desc, DW=1000)
    return pdf.make_indirect(Dictionary(
        Type=Name.Font, Subtype=Name.Type0, BaseFont=Name("/STSong-Light"),
        Encoding=Name("/UniGB-UCS2-H"), DescendantFonts=Array([pdf.make_indirect(cid)])))


def _ucs2(text: str) -> str:
    return "".join(f"{ord(c):04X}" if ord(c) <= 0xFFFF else "FFFD" for c in text)


def _text_ops(lines, height: float) -> str:
    ops = ["BT", "3 Tr"]
    for text, x0, top, x1, bottom, _ in lines:
        text = (text or "").strip()
        if not text or x1 <= x0 or bottom <= top:
            continue
        size = max(1.0, bottom - top)
        # full-width glyphs are 1 em wide: stretch the line to its box
        scale = 100.0 * (x1 - x0) / (size * len(text))
        ops.append(f"/F1 {size:.2f} Tf {scale:.2f} Tz 1 0 0 1 {x0:.2f} {height - bottom + 0.15 * size:.2f} Tm "
                   f"<{_ucs2(text)}> Tj")
    ops.append("ET")
    return "\n".join(ops)


def searchable_pdf(db_path, issue_id: str) -> bytes:
    """The issue's pages as a PDF with page images and an invisible text layer."""
    import pikepdf
    from pikepdf import Dictionary, Name
    conn = _conn(db_path)
    try:
        pages = _pages(conn, issue_id)
        if not pages:
            raise LookupError(f"no issue with id {issue_id} (or no pages) in the archive")
        pdf = pikepdf.new()
        font = _font(pdf)
        for p in pages:
            w, h = float(p.get("width") or 595.0), float(p.get("height") or 842.0)
            resources = Dictionary(Font=Dictionary(F1=font))
            content = []
            im = _page_image(db_path, p)
            if im is not None:
                buf = io.BytesIO()
                im.save(buf, "JPEG", quality=JPEG_QUALITY)
                xobj = pdf.make_stream(buf.getvalue())
                xobj.Type, xobj.Subtype = Name.XObject, Name.Image
                xobj.Width, xobj.Height, xobj.BitsPerComponent = im.width, im.height, 8
                xobj.ColorSpace = Name.DeviceGray if im.mode == "L" else Name.DeviceRGB
                xobj.Filter = Name.DCTDecode
                resources.XObject = Dictionary(Im0=xobj)
                content.append(f"q {w:.2f} 0 0 {h:.2f} 0 0 cm /Im0 Do Q")
            content.append(_text_ops(_lines(conn, issue_id, p["page_no"]), h))
            page = pikepdf.Page(Dictionary(Type=Name.Page, MediaBox=[0, 0, w, h], Resources=resources,
                                           Contents=pdf.make_stream("\n".join(content).encode("ascii"))))
            pdf.pages.append(page)
        pdf.docinfo["/Title"] = pikepdf.String(issue_id)
        pdf.docinfo["/Producer"] = pikepdf.String("bulletin-archive")
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()
    finally:
        conn.close()


ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"


def alto_page(conn, issue_id: str, page: dict) -> str:
    w, h = page.get("width") or 595.0, page.get("height") or 842.0
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<alto xmlns="{ALTO_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           'xsi:schemaLocation="http://www.loc.gov/standards/alto/ns-v4# '
           'http://www.loc.gov/standards/alto/v4/alto-4-2.xsd">',
           "<Description><MeasurementUnit>pixel</MeasurementUnit>",
           f"<sourceImageInformation><fileName>{escape(str(page.get('source') or page['id']))}</fileName>"
           "</sourceImageInformation>",
           f"<OCRProcessing ID=\"ocr\"><ocrProcessingStep><processingSoftware><softwareName>bulletin-archive "
           f"({escape(str(page.get('method') or ''))})</softwareName></processingSoftware></ocrProcessingStep>"
           "</OCRProcessing></Description>",
           f'<Layout><Page ID="{escape(page["id"])}" PHYSICAL_IMG_NR="{page["page_no"]}" '
           f'WIDTH="{w:.1f}" HEIGHT="{h:.1f}"><PrintSpace HPOS="0" VPOS="0" WIDTH="{w:.1f}" HEIGHT="{h:.1f}">',
           f'<TextBlock ID="p{page["page_no"]}_b1">']
    for i, (text, x0, top, x1, bottom, conf) in enumerate(_lines(conn, issue_id, page["page_no"]), 1):
        geo = f'HPOS="{x0:.1f}" VPOS="{top:.1f}" WIDTH="{x1 - x0:.1f}" HEIGHT="{bottom - top:.1f}"'
        wc = f' WC="{conf:.3f}"' if conf is not None else ""
        out.append(f'<TextLine ID="p{page["page_no"]}_l{i}" {geo}>'
                   f'<String ID="p{page["page_no"]}_s{i}" {geo} CONTENT={quoteattr(text or "")}{wc}/></TextLine>')
    out.append("</TextBlock></PrintSpace></Page></Layout></alto>")
    return "\n".join(out) + "\n"


def alto_pages(db_path, issue_id: str) -> dict[int, str]:
    """ALTO v4 XML per page of an issue (units: points, written as pixels at 72 dpi)."""
    conn = _conn(db_path)
    try:
        pages = _pages(conn, issue_id)
        if not pages:
            raise LookupError(f"no issue with id {issue_id} (or no pages) in the archive")
        return {p["page_no"]: alto_page(conn, issue_id, p) for p in pages}
    finally:
        conn.close()
