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
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from pipeline.lexicon import HAN_RE
from pipeline.read.limits import (MAX_STREAM_BYTES, image_too_big, inflated_size, one_line,
                                  printable)
from pipeline.models import Document, PageSource

IMAGE_EXTS = {".tif", ".tiff", ".jpg", ".jpeg", ".png"}
INPUT_EXTS = IMAGE_EXTS | {".pdf"}

VERSION = 5                      # page triage rules (3: hostile-input triage; 4: photographed spreads split; 5: scan dpi of PDF pages); part of the pipeline version



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


def _ignored(name: str) -> bool:
    """Dotfiles and macOS AppleDouble companions (``._page1.png``) are never inputs."""
    return name.startswith(".")


def _regular_files(path: Path) -> list[Path]:
    return [p for p in path.iterdir() if not _ignored(p.name) and p.is_file()]


# A folder is one issue of page images when it holds at least this many image
# files and more images than PDFs: a stray PDF (or notes, Thumbs.db) in a
# folder of scans does not split it into single-page issues, while a batch
# folder of PDFs with a scan or two among them is still a batch.
MIN_FOLDER_IMAGES = 2


def _is_page_folder(path: Path) -> bool:
    files = _regular_files(path)
    images = sum(p.suffix.lower() in IMAGE_EXTS for p in files)
    pdfs = sum(p.suffix.lower() == ".pdf" for p in files)
    if not images:
        return False
    if not pdfs:
        return True
    return images >= MIN_FOLDER_IMAGES and images > pdfs


def discover(paths) -> tuple[list[Candidate], list[tuple[str, str]]]:
    """Expand files and folders into inputs.

    Returns (candidates, problems); problems are (path, reason) for things that
    cannot even be looked at (missing path, symlink loop, unreadable folder,
    FIFO or device, a PDF left inside a folder of page images). Problem paths
    are in ``limits.printable`` form. A folder holding page images (see
    ``_is_page_folder``) is one issue; other folders are searched
    recursively. Files with other extensions, dotfiles and AppleDouble
    ``._*`` files are ignored.
    """
    found: list[Candidate] = []
    problems: list[tuple[str, str]] = []
    seen_dirs: set = set()

    def problem(p: Path, reason: str):
        problems.append((printable(p), reason))

    def walk(p: Path, top: bool):
        try:
            if p.is_symlink() and not p.exists():
                problem(p, "broken symlink or symlink loop")
                return
            if p.is_dir():
                real = p.resolve()
                if real in seen_dirs:
                    problem(p, "symlink loop (folder already visited)")
                    return
                seen_dirs.add(real)
                if _is_page_folder(p):
                    found.append(Candidate(p, is_folder=True))
                    for stray in sorted(_regular_files(p), key=lambda c: natural_key(c.name)):
                        if stray.suffix.lower() == ".pdf":
                            problem(stray, f"PDF inside the folder of page images {printable(p.name)}: "
                                           "not read (a folder of page images is one issue; move "
                                           "the PDF out of it)")
                    return
                for child in sorted(p.iterdir(), key=lambda c: natural_key(c.name)):
                    if _ignored(child.name):
                        continue
                    walk(child, False)
            elif p.is_file():
                if top or p.suffix.lower() in INPUT_EXTS:
                    found.append(Candidate(p))
            elif p.exists() or p.is_symlink():
                # a FIFO, socket or device: opening it could block for ever
                if top or p.suffix.lower() in INPUT_EXTS:
                    problem(p, f"not a regular file ({_file_type(p)})")
            elif top:
                problem(p, "no such file or folder")
        except PermissionError:
            problem(p, "permission denied")
        except OSError as exc:
            problem(p, f"cannot read: {exc.strerror or exc}")

    for raw in paths:
        walk(Path(raw), True)
    return found, problems


def _file_type(p: Path) -> str:
    import stat
    mode = p.stat().st_mode
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return name
    return "special file"


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
        raise InputError(f"cannot read: {one_line(exc.strerror or exc)}")
    except Exception as exc:  # a library choking on a malformed file
        msg = one_line(exc) or exc.__class__.__name__
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
            too_big = image_too_big(w, h, im.mode)
            if too_big:
                raise InputError(where + too_big)
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
    images = sorted((p for p in _regular_files(path) if p.suffix.lower() in IMAGE_EXTS),
                    key=lambda p: natural_key(p.name))
    h = hashlib.sha256()
    pages = []
    for img in images:
        try:
            kind = sniff(img)
        except (InputError, PermissionError) as exc:
            raise InputError(f"page image {printable(img.name)}: {exc}")
        if kind not in ("jpeg", "png", "tiff"):
            raise InputError(f"page image {printable(img.name)} is not an image")
        try:
            n = check_image(img)
        except InputError as exc:
            raise InputError(f"page image {printable(img.name)}: {exc}")
        h.update(os.fsencode(img.name) + b"\0" + sha256_file(img).encode())
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


# Letters a text layer decoded through another font's Unicode map turns into
# (``ßÌÓƒ·¸``): Latin-1 supplement, Latin Extended-A/B and spacing modifiers,
# minus the few symbols Chinese documents really use (×, ·, °, ±, §, ¥ ...).
_LATIN_JUNK = re.compile(r"[\u00a1-\u02ff]")
_LATIN_USED = set("·×÷°±§¥©®«»µ¼½¾")
# Share of a page's (non-space) characters that may be such letters before the
# layer is distrusted. Real bulletin pages have ~0 (a foreign name, "×"); a
# page set through a swapped /ToUnicode map has most of its text there.
MAX_LATIN_JUNK_SHARE = 0.1


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
    junk = sum(1 for c in _LATIN_JUNK.findall(text) if c not in _LATIN_USED)
    if junk / n > MAX_LATIN_JUNK_SHARE:
        return False, (f"text layer is {100 * junk / n:.0f}% Latin-1 letters (wrong Unicode map, "
                       f"e.g. swapped between fonts)")
    han = len(_HAN.findall(text))
    if han / n < 0.2:
        return False, "text layer holds no Chinese text"
    if n < 10 and n_images:
        return False, "text layer too sparse for an image page"
    return True, ""


class _PdfObjects:
    """The PDF opened once with pikepdf, for the checks PDFium cannot make:
    decoded content stream sizes, empty pages, fonts without a Unicode map.
    (Opening it once per page made a PDF of many blank pages quadratic.)"""

    def __init__(self, path: Path):
        self.path, self._pdf, self._failed, self._pages = path, None, False, None

    def pdf(self):
        if self._pdf is None and not self._failed:
            try:
                import pikepdf
                self._pdf = pikepdf.open(self.path)
            except Exception:
                self._failed = True
        return self._pdf

    def page(self, index: int):
        """Page ``index`` (pikepdf's ``pages[i]`` walks the page tree: listed once)."""
        if self._pages is None:
            self._pages = list(self.pdf().pages)
        return self._pages[index]

    def close(self):
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None

    def check_streams(self, n_pages: int) -> None:
        """InputError for a page whose content streams (with its form XObjects)
        decode to more than MAX_STREAM_BYTES: PDFium would inflate them whole."""
        pdf = self.pdf()
        if pdf is None:
            return
        for i, page in enumerate(pdf.pages):
            if i >= n_pages:
                break
            try:
                size = _content_size(page.obj, set(), 0)
            except InputError:
                raise
            except Exception:
                continue
            if size > MAX_STREAM_BYTES:
                raise InputError(f"page {i + 1}: content stream decodes to more than "
                                 f"{MAX_STREAM_BYTES / 1e6:.0f} MB (decompression bomb?)")

    def has_contents(self, index: int) -> bool:
        """Does page ``index`` have a non-empty content stream (raw bytes)? True
        when it cannot be told, so that a page is never silently taken for blank."""
        pdf = self.pdf()
        if pdf is None:
            return True
        try:
            import pikepdf
            contents = self.page(index).obj.get("/Contents")
            if contents is None:
                return False
            streams = contents if isinstance(contents, pikepdf.Array) else [contents]
            return any(isinstance(st, pikepdf.Stream) and len(st.read_raw_bytes().strip()) > 0
                       for st in streams)
        except Exception:
            return True

    def unmapped_fonts(self, n_pages: int) -> dict[int, str]:
        """0-based indices of pages showing text in a composite (Type0) font with
        an Identity encoding and no /ToUnicode map: such text cannot be turned
        into Unicode (PDFium guesses, pdfplumber prints "(cid:N)"), so the page
        must be OCR'd. Returns {index: font name}."""
        pdf = self.pdf()
        out: dict[int, str] = {}
        if pdf is None:
            return out
        for i, page in enumerate(pdf.pages):
            if i >= n_pages:
                break
            try:
                name = _bad_font(page.obj.get("/Resources"), set(), 0)
            except Exception:
                name = None
            if name:
                out[i] = name
        return out


def _stream_size(st) -> int:
    """Decoded size of one stream, inflated in bounded chunks (raw size for
    filters other than Flate, which cannot expand much or are not content)."""
    import pikepdf
    filt = st.get("/Filter")
    first = filt[0] if isinstance(filt, pikepdf.Array) and len(filt) else filt
    raw = st.read_raw_bytes()
    if first is not None and str(first) in ("/FlateDecode", "/Fl"):
        return inflated_size(raw, MAX_STREAM_BYTES)
    return len(raw)


def _content_size(obj, seen: set, depth: int) -> int:
    """Decoded bytes of a page's (or form's) content streams and the forms it draws."""
    import pikepdf
    total = 0
    contents = obj.get("/Contents") if depth == 0 else obj
    streams = contents if isinstance(contents, pikepdf.Array) else [contents]
    for st in streams:
        if isinstance(st, pikepdf.Stream):
            total += _stream_size(st)
            if total > MAX_STREAM_BYTES:
                return total
    res = obj.get("/Resources")
    xobjs = res.get("/XObject") if isinstance(res, pikepdf.Dictionary) else None
    if isinstance(xobjs, pikepdf.Dictionary) and depth < 4:
        for _, xo in xobjs.items():
            if not isinstance(xo, pikepdf.Stream) or xo.get("/Subtype") != "/Form":
                continue
            if xo.objgen in seen and xo.objgen != (0, 0):
                continue
            seen.add(xo.objgen)
            total += _content_size(xo, seen, depth + 1)
            if total > MAX_STREAM_BYTES:
                return total
    return total


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
    objects = _PdfObjects(path)
    try:
        n = len(pdf)
        if n == 0:
            raise InputError("PDF has no pages")
        if max_pages is not None and n > max_pages:
            raise InputError(f"{n} pages is over the limit of {max_pages}")
        objects.check_streams(n)        # before PDFium parses (and inflates) any page
        unmapped = None
        pages = []
        for i in range(n):
            page = pdf[i]
            try:
                n_objects = n_images = n_drawn = 0
                parsed, scan = True, None
                try:
                    for o in page.get_objects(max_depth=4):
                        n_objects += 1
                        if o.type not in (pdfium.raw.FPDF_PAGEOBJ_IMAGE, pdfium.raw.FPDF_PAGEOBJ_FORM):
                            n_drawn += 1        # text, paths, shadings
                        if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE:
                            n_images += 1
                            scan = o
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
                    scan = imaging.scan_dpi(scan, page.get_size()) if n_images == 1 and not n_drawn else None
                except InputError:
                    raise
                except Exception:  # a content stream pdfium cannot parse
                    text, n_images, parsed, scan = "", 1, False, None
            finally:
                page.close()
            if parsed and n_objects == 0 and not objects.has_contents(i):
                ok, reason = True, "blank page"
            elif parsed and n_objects == 0:
                ok, reason = False, "content stream shows nothing (damaged?)"
            elif not parsed:
                ok, reason = False, "content stream cannot be parsed"
            else:
                ok, reason = text_layer_verdict(text, n_images)
                if ok:
                    if unmapped is None:
                        unmapped = objects.unmapped_fonts(n)
                    if i in unmapped:
                        ok, reason = False, (f"text in CID font {unmapped[i].lstrip('/')} without "
                                             f"Unicode map (/ToUnicode)")
            pages.append(PageSource(page_no=i + 1, path=str(path), index=i, kind="pdf",
                                    needs_ocr=not ok, reason=reason, scan_dpi=scan))
        return pages
    finally:
        objects.close()
        pdf.close()
