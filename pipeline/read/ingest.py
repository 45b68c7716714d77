"""Ingest stage: discover inputs, hash them, and decide how each page is read.

A file is identified by its content (magic bytes), not its extension. A
folder of page images is one issue, its pages in natural order (other files
in it are ignored). For PDF pages the text layer is used only when it is
trustworthy: it must hold Han characters, no unmapped-glyph garbage, no
run of unlikely characters, and no text set in a CID font without a Unicode
map; otherwise the page goes to OCR, with the reason recorded.

Hostile input is refused here, before anything expensive: image sizes are
read from headers (decompression bombs, 1x1 images), embedded PDF images
from their declared size (a JBIG2 bomb), and every failure becomes an
``InputError`` with a one-line reason.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pipeline.lexicon import HAN_RE
from pipeline.models import Document, PageSource

IMAGE_EXTS = {".tif", ".tiff", ".jpg", ".jpeg", ".png"}
INPUT_EXTS = IMAGE_EXTS | {".pdf"}

VERSION = 3                       # page triage rules (3: photographed spreads split); part of the pipeline version



class InputError(Exception):
    """A bad input: the message is one line naming the reason."""


@dataclass
class Candidate:
    path: Path
    is_folder: bool = False


def sniff(path: Path) -> str:
    """Content type from magic bytes: 'pdf', 'tiff', 'jpeg', 'png', or 'unknown'."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    if not head:
        raise InputError("empty file (0 bytes)")
    if b"%PDF-" in head:
        return "pdf"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    return "unknown"


def natural_key(name: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def _is_page_folder(path: Path) -> bool:
    files = [p for p in path.iterdir() if p.is_file()]
    return any(p.suffix.lower() in IMAGE_EXTS for p in files) and not any(
        p.suffix.lower() == ".pdf" for p in files)


def discover(paths) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """Expand files and folders into inputs.

    Returns (candidates, problems); problems are (path, reason) for things that
    cannot even be looked at (missing path, symlink loop, unreadable folder).
    A folder holding page images (and no PDFs) is one issue; other folders are
    searched recursively. Files with other extensions are ignored.
    """
    found: list[Candidate] = []
    problems: list[tuple[str, str]] = []
    seen_dirs: set = set()

    def walk(p: Path, top: bool):
        try:
            if p.is_symlink() and not p.exists():
                problems.append((str(p), "broken symlink or symlink loop"))
                return
            if p.is_dir():
                real = p.resolve()
                if real in seen_dirs:
                    problems.append((str(p), "symlink loop (folder already visited)"))
                    return
                seen_dirs.add(real)
                if _is_page_folder(p):
                    found.append(Candidate(p, is_folder=True))
                    return
                for child in sorted(p.iterdir(), key=lambda c: natural_key(c.name)):
                    if child.name.startswith("."):
                        continue
                    walk(child, False)
            elif p.is_file():
                if top or p.suffix.lower() in INPUT_EXTS:
                    found.append(Candidate(p))
            elif top:
                problems.append((str(p), "no such file or folder"))
        except PermissionError:
            problems.append((str(p), "permission denied"))
        except OSError as exc:
            problems.append((str(p), f"cannot read: {exc.strerror or exc}"))

    for raw in paths:
        walk(Path(raw), True)
    return found, problems


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ingest(cand: Candidate, max_pages: int = 5000) -> Document:
    """Build the Document for one input, or raise InputError with the reason.

    Whatever goes wrong while looking at an input becomes an InputError with a
    one-line reason, so a hostile file never stops the batch.
    """
    try:
        return _ingest(cand, max_pages)
    except InputError:
        raise
    except PermissionError:
        raise InputError("permission denied")
    except IsADirectoryError:
        raise InputError("is a folder")
    except MemoryError:
        raise InputError("out of memory while reading the input")
    except RecursionError:
        raise InputError("structure nested too deeply")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}")
    except Exception as exc:  # a library choking on a malformed file
        msg = " ".join(str(exc).split()) or exc.__class__.__name__
        raise InputError(f"unreadable input ({exc.__class__.__name__}: {msg[:200]})")


def _ingest(cand: Candidate, max_pages: int) -> Document:
    path = cand.path
    if cand.is_folder:
        return _ingest_folder(path, max_pages)
    kind = sniff(path)
    ext = path.suffix.lower()
    if kind == "unknown":
        raise InputError(f"not a PDF or image (extension {ext or 'none'}, content unrecognised)")
    digest = sha256_file(path)
    doc = Document(doc_id=digest[:16], source_path=str(path), sha256=digest,
                   kind="pdf" if kind == "pdf" else ("tiff" if kind == "tiff" else "image"))
    if kind == "pdf":
        doc.pages = pdf_pages(path, max_pages)
    else:
        n = check_image(path)
        doc.pages = []
        for i in range(n):
            for crop in spread_crops(path, i):
                doc.pages.append(PageSource(page_no=len(doc.pages) + 1, path=str(path), index=i,
                                            kind="image", needs_ocr=True, crop=crop,
                                            reason="image input" + (" (one page of a spread)" if crop else "")))
    if not doc.pages:
        raise InputError("no pages")
    if len(doc.pages) > max_pages:
        raise InputError(f"{len(doc.pages)} pages is over the limit of {max_pages}")
    return doc


def content_id(path: Path) -> tuple[str, str]:
    """(doc id, sha256) of a single-file input, without opening it as a PDF/image."""
    digest = sha256_file(path)
    return digest[:16], digest


def check_image(path: Path) -> int:
    """Number of frames of an image file; InputError for unreadable, tiny or
    huge frames. Only headers are read: a decompression bomb is refused before
    any pixel is decoded."""
    from PIL import Image, UnidentifiedImageError

    from pipeline.read import imaging
    Image.MAX_IMAGE_PIXELS = None   # we check sizes ourselves, with a clearer message
    try:
        im = Image.open(path)
    except UnidentifiedImageError:
        raise InputError("unreadable image (damaged or unsupported format)")
    except (ValueError, SyntaxError) as exc:
        raise InputError(f"unreadable image ({' '.join(str(exc).split())})")
    with im:
        n = int(getattr(im, "n_frames", 1) or 1)
        for k in range(n):
            if k:
                im.seek(k)
            w, h = im.size
            where = f"frame {k + 1}: " if n > 1 else ""
            if w * h > imaging.MAX_PIXELS:
                raise InputError(f"{where}image of {w}x{h} = {w * h / 1e6:.0f} Mpx exceeds the "
                                 f"{imaging.MAX_PIXELS / 1e6:.0f} Mpx limit (decompression bomb?)")
            if w < imaging.MIN_SIDE or h < imaging.MIN_SIDE:
                raise InputError(f"{where}image of {w}x{h} px is too small to be a page "
                                 f"(minimum {imaging.MIN_SIDE} px a side)")
    return n


def spread_crops(path: Path, index: int = 0) -> list:
    """``[None]`` for an image that is one page; ``[(0, g), (g, 1)]`` (x ranges
    as shares of the width) for a photographed two-page spread with its
    gutter at ``g``: the left page comes first.  Only landscape images are
    decoded (at a reduced size)."""
    from PIL import Image, ImageOps

    import numpy as np

    from pipeline.read import photo
    try:
        with Image.open(path) as im:
            if index:
                im.seek(index)
            w, h = im.size
            if im.format == "JPEG" and im.getexif().get(274) in (5, 6, 7, 8):
                w, h = h, w
            if w < photo.SPREAD_MIN_ASPECT * h:
                return [None]
            if im.format == "JPEG":
                im.draft("L", (max(1, w // 4), max(1, h // 4)))
            im2 = ImageOps.exif_transpose(im) if im.format == "JPEG" else im
            small = im2.convert("L")
            small.thumbnail((1200, 1200))
            g = photo.find_gutter(np.asarray(small))
    except Exception:
        return [None]
    return [None] if g is None else [(0.0, g), (g, 1.0)]


def _ingest_folder(path: Path, max_pages: int = 5000) -> Document:
    images = sorted((p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS),
                    key=lambda p: natural_key(p.name))
    h = hashlib.sha256()
    pages = []
    for img in images:
        try:
            kind = sniff(img)
        except (InputError, PermissionError) as exc:
            raise InputError(f"page image {img.name}: {exc}")
        if kind not in ("jpeg", "png", "tiff"):
            raise InputError(f"page image {img.name} is not an image")
        try:
            n = check_image(img)
        except InputError as exc:
            raise InputError(f"page image {img.name}: {exc}")
        h.update(img.name.encode() + b"\0" + sha256_file(img).encode())
        for k in range(n):  # a multi-frame TIFF in a folder gives all its frames
            for crop in spread_crops(img, k):
                pages.append(PageSource(page_no=len(pages) + 1, path=str(img), index=k, kind="image",
                                        needs_ocr=True, crop=crop,
                                        reason="image input" + (" (one page of a spread)" if crop else "")))
    if not pages:
        raise InputError("folder holds no page images")
    if len(pages) > max_pages:
        raise InputError(f"{len(pages)} pages is over the limit of {max_pages}")
    digest = h.hexdigest()
    return Document(doc_id=digest[:16], source_path=str(path), sha256=digest,
                    kind="image-folder", pages=pages)


# --------------------------------------------------------------------------
# PDF text-layer triage

_HAN = HAN_RE
# Blocks that a text layer decoded through the wrong map is full of, and real
# bulletin text almost never uses: CJK Extension A, Yi, Braille, control
# pictures, CJK compatibility squares.
_ODD = re.compile(r"[\u3400-\u4dbf\ua000-\ua4cf\u2800-\u28ff\u2400-\u243f\u3300-\u33ff]")


def text_layer_verdict(text: str, n_images: int = 0) -> tuple[bool, str]:
    """Is this page's text layer trustworthy? Returns (ok, reason-if-not)."""
    chars = [c for c in text if not c.isspace()]
    n = len(chars)
    if n == 0:
        return False, "no text layer"
    bad = sum(1 for c in chars if c == "\ufffd" or unicodedata.category(c) in ("Co", "Cc", "Cn"))
    bad += 3 * text.count("(cid:")
    if bad / n > 0.05:
        return False, "text layer has unmapped glyphs (CID font without Unicode map)"
    if len(_ODD.findall(text)) / n > 0.1:
        return False, "text layer decodes to unlikely characters (wrong or missing Unicode map)"
    han = len(_HAN.findall(text))
    if han / n < 0.2:
        return False, "text layer holds no Chinese text"
    if n < 10 and n_images:
        return False, "text layer too sparse for an image page"
    return True, ""


def _unmapped_font_pages(path: Path, n_pages: int) -> dict[int, str]:
    """0-based indices of pages showing text in a composite (Type0) font with
    an Identity encoding and no /ToUnicode map: such text cannot be turned
    into Unicode (PDFium guesses, pdfplumber prints "(cid:N)"), so the page
    must be OCR'd. Returns {index: font name}."""
    try:
        import pikepdf
    except ImportError:  # pragma: no cover - pikepdf is a dependency
        return {}
    out: dict[int, str] = {}
    try:
        pdf = pikepdf.open(path)
    except Exception:
        return {}
    try:
        for i, page in enumerate(pdf.pages):
            if i >= n_pages:
                break
            try:
                name = _bad_font(page.obj.get("/Resources"), set(), 0)
            except Exception:
                name = None
            if name:
                out[i] = name
    finally:
        pdf.close()
    return out


def _has_contents(path: Path, index: int) -> bool:
    """Does page ``index`` have a non-empty content stream (raw bytes)? True when
    it cannot be told, so that a page is never silently taken for blank."""
    try:
        import pikepdf
        with pikepdf.open(path) as pdf:
            contents = pdf.pages[index].obj.get("/Contents")
            if contents is None:
                return False
            streams = contents if isinstance(contents, pikepdf.Array) else [contents]
            return any(isinstance(st, pikepdf.Stream) and len(st.read_raw_bytes().strip()) > 0
                       for st in streams)
    except Exception:
        return True


def _bad_font(resources, seen: set, depth: int):
    import pikepdf
    if not isinstance(resources, pikepdf.Dictionary) or depth > 4:
        return None
    fonts = resources.get("/Font")
    if isinstance(fonts, pikepdf.Dictionary):
        for _, font in fonts.items():
            if not isinstance(font, pikepdf.Dictionary):
                continue
            if font.get("/Subtype") != "/Type0" or "/ToUnicode" in font:
                continue
            enc = font.get("/Encoding")
            if isinstance(enc, pikepdf.Stream) or str(enc) in ("/Identity-H", "/Identity-V"):
                return str(font.get("/BaseFont", "Type0 font"))
    xobjs = resources.get("/XObject")
    if isinstance(xobjs, pikepdf.Dictionary):
        for _, xo in xobjs.items():
            if not isinstance(xo, pikepdf.Stream) or xo.get("/Subtype") != "/Form":
                continue
            key = xo.objgen
            if key in seen:
                continue
            seen.add(key)
            name = _bad_font(xo.get("/Resources"), seen, depth + 1)
            if name:
                return name
    return None


def pdf_pages(path: Path, max_pages: Optional[int] = None) -> list[PageSource]:
    """Open a PDF with PDFium, reject bad/encrypted files, triage each page.

    A page is read from its text layer only when the layer is trustworthy;
    otherwise it goes to OCR with the reason recorded. A page with nothing on
    it (no content stream) is read as an empty text page (no point in OCR); a
    page whose content stream PDFium cannot make anything of goes to OCR. A page embedding an
    image whose declared size exceeds the pixel limit refuses the document:
    decoding it would take gigabytes (a JBIG2/Flate decompression bomb).
    """
    import pypdfium2 as pdfium

    from pipeline.read import imaging

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        msg = str(exc)
        if "password" in msg.lower():
            raise InputError("encrypted PDF (a password is required to open it)")
        raise InputError(f"corrupt or truncated PDF ({msg.strip().rstrip('.')})")
    try:
        n = len(pdf)
        if n == 0:
            raise InputError("PDF has no pages")
        if max_pages is not None and n > max_pages:
            raise InputError(f"{n} pages is over the limit of {max_pages}")
        unmapped = None
        pages = []
        for i in range(n):
            page = pdf[i]
            try:
                n_objects = n_images = 0
                parsed = True
                try:
                    for o in page.get_objects(max_depth=4):
                        n_objects += 1
                        if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE:
                            n_images += 1
                            try:
                                w, h = o.get_px_size()
                            except Exception:
                                continue
                            if w * h > imaging.MAX_PIXELS:
                                raise InputError(
                                    f"page {i + 1}: embedded image of {w}x{h} = {w * h / 1e6:.0f} Mpx "
                                    f"exceeds the {imaging.MAX_PIXELS / 1e6:.0f} Mpx limit "
                                    f"(decompression bomb?)")
                    tp = page.get_textpage()
                    text = tp.get_text_range()
                    tp.close()
                except InputError:
                    raise
                except Exception:  # a content stream pdfium cannot parse
                    text, n_images, parsed = "", 1, False
            finally:
                page.close()
            if parsed and n_objects == 0 and not _has_contents(path, i):
                ok, reason = True, "blank page"
            elif parsed and n_objects == 0:
                ok, reason = False, "content stream shows nothing (damaged?)"
            elif not parsed:
                ok, reason = False, "content stream cannot be parsed"
            else:
                ok, reason = text_layer_verdict(text, n_images)
                if ok:
                    if unmapped is None:
                        unmapped = _unmapped_font_pages(path, n)
                    if i in unmapped:
                        ok, reason = False, (f"text in CID font {unmapped[i].lstrip('/')} without "
                                             f"Unicode map (/ToUnicode)")
            pages.append(PageSource(page_no=i + 1, path=str(path), index=i, kind="pdf",
                                    needs_ocr=not ok, reason=reason))
        return pages
    finally:
        pdf.close()
