"""Page images and line boxes kept with the archive.

Every page gets an image in the archive's own image folder
(``<archive dir>/<archive stem>-images/<issue id>/p0001.jpg``): scans bring
the page image the OCR stage stored (hard-linked when on the same file
system, else copied); born-digital pages are rendered from the
PDF with pypdfium2 (``RENDER_DPI``).  ``pages.image_path`` is stored relative
to the archive's directory, so an archive moved together with its image folder
keeps its images, and a server can refuse anything outside that folder.

``page_lines`` keeps every line's text and box (PDF points) so exports can
write ALTO XML and an invisible text layer without the work files::

    page_lines(issue_id, page_no, seq, text, x0, top, x1, bottom, confidence)
"""
from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Optional

from pipeline.models import Issue

RENDER_DPI = 100        # born-digital page images: enough to read beside the text, ~100 KB a page
JPEG_QUALITY = 70

SCHEMA = """
CREATE TABLE IF NOT EXISTS page_lines (
    issue_id TEXT NOT NULL,
    page_no INTEGER NOT NULL,
    seq INTEGER NOT NULL,           -- reading order within the page
    text TEXT NOT NULL,
    x0 REAL, top REAL, x1 REAL, bottom REAL,   -- PDF points, origin top left
    confidence REAL,
    PRIMARY KEY (issue_id, page_no, seq)
);
"""


def _conn(db):
    return getattr(db, "conn", db)


def ensure_schema(conn) -> None:
    _conn(conn).executescript(SCHEMA)


def index_issue(conn, issue_id: str) -> None:
    """Lines are written by :func:`store_lines` (they need the Issue)."""


def unindex_issue(conn, issue_id: str) -> None:
    conn = _conn(conn)
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'page_lines'").fetchone() is not None:
        conn.execute("DELETE FROM page_lines WHERE issue_id = ?", [issue_id])


def store_lines(conn, issue: Issue) -> None:
    conn = _conn(conn)
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'page_lines'").fetchone() is None:
        return
    rows = []
    for p in issue.pages:
        for seq, ln in enumerate(p.lines, start=1):
            x0, top, x1, bottom = (round(float(v), 1) for v in ln.box)
            rows.append((issue.doc.doc_id, p.page_no, seq, ln.text, x0, top, x1, bottom,
                         round(float(ln.confidence), 4)))
    conn.executemany("INSERT OR REPLACE INTO page_lines VALUES (?,?,?,?,?,?,?,?,?)", rows)


def db_file(db) -> Optional[Path]:
    """The main database file of a connection, or None (in-memory)."""
    for _, name, path in _conn(db).execute("PRAGMA database_list").fetchall():
        if name == "main" and path:
            return Path(path)
    return None


def image_folder(db_path) -> Path:
    """The archive's own image folder (the only folder a server may serve images from)."""
    db_path = Path(db_path)
    return db_path.parent / f"{db_path.stem}-images"


def resolve(db_path, image_path: Optional[str]) -> Optional[Path]:
    """The file of a stored ``image_path`` if it lies inside the archive's image
    folder and exists; else None (absolute paths of older archives included)."""
    if not image_path:
        return None
    db_path = Path(db_path)
    p = Path(image_path)
    p = p if p.is_absolute() else db_path.parent / p
    try:
        p = p.resolve()
        p.relative_to(image_folder(db_path).resolve())
    except (ValueError, OSError):
        return None
    return p if p.is_file() else None


def render_pages(issue: Issue, folder) -> Issue:
    """A copy of ``issue`` in which every born-digital page without an image
    has one, rendered from its PDF into ``folder`` (``p0001.jpg`` ...; kept
    when newer than the PDF). The batch runner calls this in its workers, so
    the one process writing the archive only links the files."""
    folder = Path(folder)
    src = Path(issue.doc.source_path)
    if issue.doc.kind != "pdf" or not src.is_file():
        return issue
    pdf = None
    pages = []
    try:
        for p in issue.pages:
            if p.image_path and Path(p.image_path).is_file():
                pages.append(p)
                continue
            target = folder / f"p{p.page_no:04d}.jpg"
            made = _fresh(target, src)
            if not made:
                pdf = pdf or _open_pdf(str(src))
                made = pdf is not None and _render(pdf, p.page_no - 1, target)
            pages.append(dataclasses.replace(p, image_path=str(target)) if made else p)
    finally:
        if pdf is not None:
            pdf.close()
    return dataclasses.replace(issue, pages=pages)


def place(db, issue: Issue) -> Issue:
    """A copy of ``issue`` whose pages' images sit in the archive's image folder
    with paths relative to the archive (rendering born-digital pages that
    have none yet)."""
    dbf = db_file(db)
    if dbf is None:
        return issue
    folder = image_folder(dbf) / issue.doc.doc_id
    pages = []
    for p in render_pages(issue, folder).pages:
        target = folder / f"p{p.page_no:04d}.jpg"
        if p.image_path and Path(p.image_path).is_file() and _copy(Path(p.image_path), target):
            rel = os.path.relpath(target, dbf.parent)
            pages.append(dataclasses.replace(p, image_path=Path(rel).as_posix()))
        else:
            pages.append(p)
    return dataclasses.replace(issue, pages=pages)


def _fresh(target: Path, source: Path) -> bool:
    try:
        return target.stat().st_mtime >= source.stat().st_mtime
    except OSError:
        return False


def _copy(src: Path, target: Path) -> bool:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.resolve() == target.resolve():
            return True
        tmp = target.with_suffix(".tmp")
        if tmp.exists():
            tmp.unlink()
        try:
            os.link(src, tmp)          # same file system: no second copy of the image
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, target)
        return True
    except OSError:
        return False


def _open_pdf(path: str):
    try:
        import pypdfium2 as pdfium
        return pdfium.PdfDocument(path)
    except Exception:
        return None


def _render(pdf, index: int, target: Path) -> bool:
    try:
        if index >= len(pdf):
            return False
        page = pdf[index]
        try:
            img = page.render(scale=RENDER_DPI / 72.0).to_pil().convert("RGB")
        finally:
            page.close()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        img.save(tmp, "JPEG", quality=JPEG_QUALITY)
        os.replace(tmp, target)
        return True
    except Exception:
        return False
