"""Ingest stage: discover inputs, hash them, and decide how each page is read.

A file is identified by its content (magic bytes), not its extension. A
folder of page images is one issue, its pages in natural order. For PDF
pages the text layer is used only when it is trustworthy: it must hold Han
characters and no unmapped-glyph garbage; otherwise the page goes to OCR.
"""
from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .models import Document, PageSource

IMAGE_EXTS = {".tif", ".tiff", ".jpg", ".jpeg", ".png"}
INPUT_EXTS = IMAGE_EXTS | {".pdf"}


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
    """Build the Document for one input, or raise InputError with the reason."""
    path = cand.path
    try:
        if cand.is_folder:
            return _ingest_folder(path)
        kind = sniff(path)
    except PermissionError:
        raise InputError("permission denied")
    except IsADirectoryError:
        raise InputError("is a folder")
    ext = path.suffix.lower()
    if kind == "unknown":
        raise InputError(f"not a PDF or image (extension {ext or 'none'}, content unrecognised)")
    digest = sha256_file(path)
    doc = Document(doc_id=digest[:16], source_path=str(path), sha256=digest,
                   kind="pdf" if kind == "pdf" else ("tiff" if kind == "tiff" else "image"))
    if kind == "pdf":
        doc.pages = pdf_pages(path)
    else:
        from . import imaging
        n = imaging.page_count(str(path), kind)
        doc.pages = [PageSource(page_no=i + 1, path=str(path), index=i, kind="image", needs_ocr=True,
                                reason="image input") for i in range(n)]
    if not doc.pages:
        raise InputError("no pages")
    if len(doc.pages) > max_pages:
        raise InputError(f"{len(doc.pages)} pages is over the limit of {max_pages}")
    return doc


def _ingest_folder(path: Path) -> Document:
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
        h.update(img.name.encode() + b"\0" + sha256_file(img).encode())
        pages.append(PageSource(page_no=len(pages) + 1, path=str(img), index=0, kind="image",
                                needs_ocr=True, reason="image input"))
    digest = h.hexdigest()
    return Document(doc_id=digest[:16], source_path=str(path), sha256=digest,
                    kind="image-folder", pages=pages)


# --------------------------------------------------------------------------
# PDF text-layer triage

_HAN = re.compile(r"[\u3400-\u9fff]")


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
    han = len(_HAN.findall(text))
    if han / n < 0.2:
        return False, "text layer holds no Chinese text"
    if n < 10 and n_images:
        return False, "text layer too sparse for an image page"
    return True, ""


def pdf_pages(path: Path) -> list[PageSource]:
    """Open a PDF with PDFium, reject bad/encrypted files, triage each page."""
    import pypdfium2 as pdfium

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
        pages = []
        for i in range(n):
            page = pdf[i]
            try:
                tp = page.get_textpage()
                text = tp.get_text_range()
                n_images = sum(1 for o in page.get_objects(max_depth=2)
                               if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE)
            except Exception as exc:  # a content stream pdfium cannot parse
                text, n_images = "", 1
                _ = exc
            ok, reason = text_layer_verdict(text, n_images)
            pages.append(PageSource(page_no=i + 1, path=str(path), index=i, kind="pdf",
                                    needs_ocr=not ok, reason=reason))
        return pages
    finally:
        pdf.close()


def describe(path: str) -> str:
    return os.path.basename(path.rstrip("/")) or path
