"""Publish the archive read-only with datasette.

``serve(db_path, port)`` runs ``datasette serve -i <db>``: the database is
opened IMMUTABLE (read-only, no locking), so no write of any kind is possible
through the web (datasette only runs SELECTs, and the file is opened with
``mode=ro&immutable=1``).  Metadata (descriptions, facets, sort orders,
labels, canned queries) comes from :func:`metadata`; the search SQL functions
and the Chinese table search come from :mod:`pipeline.publish.datasette_plugin`.

Because an immutable database ignores the write-ahead log, the WAL is
checkpointed into the main file before serving.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Optional

from pipeline.archive import search

PLUGIN = "bulletin-archive"

ISSUES_COLUMNS = {
    "id": "Stable id: first 16 hex digits of the SHA-256 of the input file (cite this)",
    "source_path": "Input file (or folder of page images) the issue was read from",
    "source_sha256": "SHA-256 of the input",
    "title": "Masthead, e.g. 机关事务工作简报",
    "publisher": "编印单位 (issuing body)",
    "year": "Year of the issue",
    "issue_no": "Issue number within the year (第N期)",
    "total_no": "Running number (总第N期)",
    "special": "特刊 / 增刊 if a special issue",
    "date": "Date printed under the masthead (ISO)",
    "printed_date": "印发 date from the footer (ISO)",
    "copies": "印数 (print run)",
    "disclosure": "信息公开选项",
    "recipients": "主送/报/送 (JSON list)",
    "cc": "抄送 (JSON list)",
    "doc_type": "bulletin, official_document (公文), report, or other",
    "doc_no": "文号 of a 公文, as printed",
    "page_count": "Pages in the input",
    "article_count": "Articles segmented",
    "toc": "本期提要 entries (JSON list)",
    "sections": "Section headings in order (JSON list)",
    "flags": "Problems noticed while reading (JSON list)",
    "needs_review": "1 if flagged or any page read with low confidence",
    "confidence": "Lowest page confidence (0-1)",
    "methods": "How pages were read: text-layer, rapidocr, tesseract",
    "loaded_at": "When this issue was written to the archive (UTC)",
}
ARTICLES_COLUMNS = {
    "id": "Stable id derived from the issue id and seq",
    "issue_id": "The issue this article appeared in",
    "seq": "Position of the article in the issue",
    "section": "Section (栏目) the article is printed under",
    "title": "Headline",
    "subtitle": "Sub-headline, if any",
    "body": "Full text, paragraphs separated by newlines",
    "page_start": "First page (links to the page record)",
    "page_end": "Last page",
    "event_date": "First date mentioned as when the reported event happened (ISO)",
    "event_dates": "All event dates (JSON list)",
    "boxes": "Regions on the pages, [[page, x0, top, x1, bottom], ...] in points",
    "confidence": "Reading confidence (0-1)",
    "needs_review": "1 if read with low confidence",
    "run_in": "1 if the title was the first sentence of a paragraph",
}
PAGES_COLUMNS = {
    "id": "<issue id>-<page no>",
    "issue_id": "The issue",
    "page_no": "Page number within the input (1-based)",
    "text": "Reading-order text of the page",
    "method": "text-layer, rapidocr or tesseract",
    "confidence": "Mean line confidence (0-1)",
    "needs_review": "1 if read with low confidence",
    "engine_version": "OCR engine and version",
    "dpi": "Resolution the page was rendered/scanned at",
    "rotation": "Rotation applied before OCR (degrees)",
    "skew": "Skew corrected before OCR (degrees)",
    "width": "Page width (points)",
    "height": "Page height (points)",
    "image_path": "Stored page image with line boxes",
    "source": "File (and frame) the page came from",
}

SEARCH_SQL = f"""select a.id as article_id, a.issue_id, i.date, i.publisher, a.section, a.title,
  bulletin_snippet(coalesce(a.body, a.title), :q) as snippet, a.page_start,
  round(-{search.FTS_TABLE}.rank, 3) as score
from {search.FTS_TABLE}
  join articles a on a.id = {search.FTS_TABLE}.rowid
  join issues i on i.id = a.issue_id
where {search.FTS_TABLE} match bulletin_match(:q)
order by {search.FTS_TABLE}.rank
limit 100"""

ARTICLE_PAGES_SQL = """select p.id, p.page_no, p.method, p.confidence, p.image_path, p.text
from articles a join pages p on p.issue_id = a.issue_id
  and p.page_no between a.page_start and coalesce(nullif(a.page_end, 0), a.page_start)
where a.id = :article_id
order by p.page_no"""


def metadata(db_name: str = "archive", images_url: Optional[str] = None,
             images_root: Optional[str] = None) -> dict:
    """Datasette metadata for the archive database called ``db_name``."""
    search_url = f"/{db_name}/search_articles?q="
    plugin_cfg = {}
    if images_url and images_root:
        plugin_cfg = {"images_url": images_url, "images_root": str(images_root)}
    return {
        "title": "Bulletin archive · 简报档案",
        "description_html": (
            "Chinese government bulletins (简报) read into one archive: issues, articles and pages. "
            "Search works in Chinese, traditional or simplified, including names and full unit names: "
            f'<a href="{search_url}公务用车">{search_url}公务用车</a> (ranked, with snippets), '
            f'or the search box of <a href="/{db_name}/articles">articles</a> / '
            f'<a href="/{db_name}/{search.VIEW}">{search.VIEW}</a> (with year/publisher/section facets). '
            "Separate words with spaces to require all of them; -word excludes; a OR b."
        ),
        "license": "Source documents are public government publications",
        "plugins": {PLUGIN: plugin_cfg},
        "databases": {
            db_name: {
                "description": "The archive. Cite an issue by its id (content hash) and an article by its id.",
                "tables": {
                    "issues": {
                        "description": "One row per bulletin issue (input file).",
                        "columns": ISSUES_COLUMNS,
                        "facets": ["publisher", "year", "needs_review"],
                        "sort_desc": "date",
                        "label_column": "title",
                    },
                    "articles": {
                        "description": "One row per article, with full text. The search box accepts Chinese "
                                       "(bigram index, exact substring match).",
                        "columns": ARTICLES_COLUMNS,
                        "facets": ["section"],
                        "sort_desc": "event_date",
                        "label_column": "title",
                    },
                    search.VIEW: {
                        "description": "Articles with their issue's date, year and publisher — for browsing "
                                       "and faceting. The search box works here too.",
                        "facets": ["year", "publisher", "section"],
                        "sort_desc": "date",
                        "label_column": "title",
                    },
                    "pages": {
                        "description": "One row per page: reading-order text and how it was read.",
                        "columns": PAGES_COLUMNS,
                        "facets": ["method", "needs_review"],
                        "sort": "id",
                        "label_column": "id",
                    },
                    "failures": {
                        "description": "Inputs that could not be processed, with the stage and error.",
                        "facets": ["stage"],
                        "sort_desc": "at",
                    },
                    search.FTS_TABLE: {"hidden": True},
                    search.META_TABLE: {"hidden": True},
                },
                "queries": {
                    "search_articles": {
                        "title": "Search articles",
                        "description": "Ranked full-text search (title matches first) with snippets. "
                                       "Examples: 公务用车, 節能, 郭春英, 四川省机关事务管理局, CCER, 2023年.",
                        "sql": SEARCH_SQL,
                    },
                    "article_pages": {
                        "title": "Pages of an article",
                        "description": "The page records (text, image) an article is printed on.",
                        "sql": ARTICLE_PAGES_SQL,
                    },
                },
            }
        },
    }


def checkpoint(db_path) -> bool:
    """Fold the WAL into the database file (an immutable open ignores the WAL).
    Returns True if the WAL is now empty."""
    wal = Path(str(db_path) + "-wal")
    if not wal.exists() or wal.stat().st_size == 0:
        return True
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.close()
    return not busy


def _images_root(db_path: Path) -> Optional[Path]:
    """Common directory of the stored page images, if any exist."""
    try:
        conn = sqlite3.connect(f"file:{db_path.resolve().as_posix()}?mode=ro", uri=True)
        rows = conn.execute("select image_path from pages where image_path is not null and image_path != ''"
                            " limit 1000").fetchall()
        conn.close()
    except sqlite3.Error:
        return None
    paths = []
    for (p,) in rows:
        q = Path(p)
        q = q if q.is_absolute() else db_path.parent / q
        if q.exists():
            paths.append(str(q.resolve().parent))
    if not paths:
        return None
    return Path(os.path.commonpath(paths))


def command(db_path, port: int = 8001, host: str = "127.0.0.1", metadata_path=None,
            images_root=None) -> list[str]:
    """The datasette command line (immutable)."""
    exe = shutil.which("datasette", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    cmd = [exe] if exe else [sys.executable, "-m", "datasette"]
    cmd += ["serve", "-i", str(db_path), "--host", host, "--port", str(int(port)),
            "--setting", "sql_time_limit_ms", "3000",
            "--setting", "default_page_size", "50",
            # facet suggestions try every column of every filtered page: seconds on a
            # large archive (the useful facets are configured in the metadata)
            "--setting", "suggest_facets", "off"]
    if metadata_path:
        cmd += ["--metadata", str(metadata_path)]
    if images_root:
        cmd += ["--static", f"page-images:{images_root}"]
    return cmd


def _prepare(db_path, port, host) -> tuple[list[str], Path]:
    db_path = Path(db_path)
    if not db_path.exists():
        raise FileNotFoundError(db_path)
    if not checkpoint(db_path):
        print(f"warning: {db_path}-wal could not be checkpointed (a writer is active); "
              "rows in the WAL are not visible to an immutable server", file=sys.stderr)
    root = _images_root(db_path)
    meta = metadata(db_path.stem, "/page-images/" if root else None, root)
    tmp = Path(tempfile.mkdtemp(prefix="bulletin-serve-"))
    mpath = tmp / "metadata.json"
    mpath.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return command(db_path, port, host, mpath, root), tmp


def start(db_path, port: int = 8001, host: str = "127.0.0.1", **popen_kwargs) -> subprocess.Popen:
    """Start the server in the background; stop it with ``proc.terminate()``."""
    cmd, tmp = _prepare(db_path, port, host)
    proc = subprocess.Popen(cmd, **popen_kwargs)
    proc.metadata_dir = tmp  # type: ignore[attr-defined]
    return proc


def wait_until_up(url: str, timeout: float = 30.0, proc: Optional[subprocess.Popen] = None) -> None:
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # local: never via a proxy
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"datasette exited with code {proc.returncode}")
        try:
            with opener.open(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not up after {timeout}s")
        time.sleep(0.1)


def serve(db_path, port: int = 8001, host: str = "127.0.0.1") -> int:
    """Run datasette on the archive (immutable) until interrupted; returns its exit code."""
    cmd, tmp = _prepare(db_path, port, host)
    print(f"serving {db_path} read-only at http://{host}:{port}/  (Ctrl-C to stop)", file=sys.stderr)
    proc = subprocess.Popen(cmd)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
