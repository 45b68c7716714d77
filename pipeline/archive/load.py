"""Load stage: write one issue into the SQLite archive, atomically.

Each issue is written in a single transaction that first deletes any earlier
rows of the same issue, so re-loading replaces it and a reader (datasette in
WAL mode) never sees half an issue.
"""
from __future__ import annotations

import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Optional

import sqlite_utils

from pipeline.archive import corrections, editions, entities, pageimages, search
from pipeline.models import Issue
from pipeline.read.limits import one_line, printable
from pipeline.structure import review

SCHEMA_VERSION = 3   # 2: issues.doc_type, issues.doc_no; 3: pages.regions
LOW_CONFIDENCE = review.LOW_CONFIDENCE

SCHEMA = """
CREATE TABLE IF NOT EXISTS issues (
    id TEXT PRIMARY KEY,            -- content hash prefix of the input: stable, citable
    source_path TEXT NOT NULL,
    source_sha256 TEXT NOT NULL,
    title TEXT,                     -- masthead
    publisher TEXT,                 -- 编印单位
    year INTEGER,
    issue_no INTEGER,
    total_no INTEGER,
    special TEXT,
    date TEXT,
    printed_date TEXT,
    copies INTEGER,
    disclosure TEXT,
    recipients TEXT,                -- JSON list
    cc TEXT,                        -- JSON list
    doc_type TEXT,                  -- bulletin | official_document | report | other
    doc_no TEXT,                    -- 文号 of a 公文, as printed
    page_count INTEGER,
    article_count INTEGER,
    toc TEXT,                       -- JSON list of 本期提要 entries
    sections TEXT,                  -- JSON list
    flags TEXT,                     -- JSON list, e.g. ["no-masthead"]
    needs_review INTEGER NOT NULL DEFAULT 0,
    confidence REAL,
    methods TEXT,                   -- how pages were read, e.g. "text-layer" or "rapidocr"
    pipeline_version TEXT,          -- stage versions (and OCR engine) that produced these rows
    loaded_at TEXT
);
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY,         -- derived from issue id and seq: stable across re-runs
    issue_id TEXT NOT NULL REFERENCES issues(id),
    seq INTEGER NOT NULL,
    section TEXT,
    title TEXT,
    subtitle TEXT,
    body TEXT,
    page_start INTEGER,
    page_end INTEGER,
    event_date TEXT,
    event_dates TEXT,               -- JSON list of ISO dates
    boxes TEXT,                     -- JSON [[page, x0, top, x1, bottom], ...] in points
    confidence REAL,
    needs_review INTEGER NOT NULL DEFAULT 0,
    run_in INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS articles_issue ON articles(issue_id);
CREATE INDEX IF NOT EXISTS issues_source ON issues(source_path);
CREATE TABLE IF NOT EXISTS pages (
    id TEXT PRIMARY KEY,            -- <issue id>-<page no>
    issue_id TEXT NOT NULL REFERENCES issues(id),
    page_no INTEGER NOT NULL,
    text TEXT,
    method TEXT,
    confidence REAL,
    needs_review INTEGER NOT NULL DEFAULT 0,
    engine_version TEXT,
    dpi INTEGER,
    rotation INTEGER,
    skew REAL,
    width REAL,
    height REAL,
    image_path TEXT,
    regions TEXT,                   -- JSON [{kind, box, order, confidence}]: columns/bands found on a scan
    source TEXT
);
CREATE INDEX IF NOT EXISTS pages_issue ON pages(issue_id);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY,
    source_path TEXT NOT NULL,
    stage TEXT NOT NULL,
    error TEXT NOT NULL,
    at TEXT NOT NULL
);
"""

# Modules that keep derived tables in step with the core tables (the search
# index, entities). Each provides:
#   ensure_schema(conn)          create its tables; idempotent
#   index_issue(conn, issue_id)  called inside the issue's load transaction,
#                                after its rows are written
#   unindex_issue(conn, issue_id) called before an issue's rows are deleted
# Running inside the same transaction means a reader never sees an issue
# without its index rows. Corrections come first: they re-apply people's
# corrections to the fresh rows before the index and entities are built.
EXTENSIONS = [corrections, search, entities, editions, pageimages]


def extensions():
    return list(EXTENSIONS)


def open_db(path) -> sqlite_utils.Database:
    """Open (and create if needed) the archive in WAL mode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    db.conn.execute("PRAGMA journal_mode=WAL")
    db.conn.execute("PRAGMA busy_timeout=30000")
    db.conn.executescript(SCHEMA)
    _add_columns(db.conn, "issues", {"doc_type": "TEXT", "doc_no": "TEXT"})
    _add_columns(db.conn, "pages", {"regions": "TEXT"})
    for ext in extensions():
        ext.ensure_schema(db.conn)
    # a read-only archive is refused here, once, not at every issue's load
    with db.conn:
        db.conn.execute("DELETE FROM failures WHERE 0")   # a write statement: SQLITE_READONLY here
    return db


ARTICLE_SEQ_BITS = 12      # up to 4095 articles an issue
ARTICLE_HASH_BITS = 41     # 41 + 12 = 53 bits: exact in JSON/JavaScript numbers (< 2**53)


def article_id(issue_id: str, seq: int) -> int:
    """Stable integer id of an article: low bits of the issue's content hash,
    then its sequence number. Below 2**53, so JavaScript and ``jq`` read it
    exactly; it doubles as the rowid of the search index."""
    if not 0 <= seq < 1 << ARTICLE_SEQ_BITS:
        raise ValueError(f"article sequence {seq} out of range")
    return (int(issue_id, 16) % (1 << ARTICLE_HASH_BITS)) << ARTICLE_SEQ_BITS | seq


def _add_columns(conn, table: str, columns: dict) -> None:
    """Bring an archive made by an older schema up to date (new nullable columns)."""
    have = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
    for name, kind in columns.items():
        if name not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def delete_issue(conn, issue_id: str) -> None:
    for ext in extensions():
        ext.unindex_issue(conn, issue_id)
    conn.execute("DELETE FROM articles WHERE issue_id = ?", [issue_id])
    conn.execute("DELETE FROM pages WHERE issue_id = ?", [issue_id])
    conn.execute("DELETE FROM issues WHERE id = ?", [issue_id])


def load_issue(db: sqlite_utils.Database, issue: Issue, pipeline_version: str = "",
               issue_entities: Optional[list] = None, page_images: bool = True) -> str:
    """Write ``issue`` in one transaction, replacing an earlier load. Returns its id.
    ``issue_entities`` (``entities.issue_entities(issue)``, computed by a worker)
    are written as they are instead of being extracted here. ``page_images``
    false: no page image is copied or rendered into the archive."""
    # page images into the archive's image folder, paths relative to the archive
    if page_images:
        issue = pageimages.place(db, issue)
    doc, meta = issue.doc, issue.meta
    iid = doc.doc_id
    conf = [p.confidence for p in issue.pages] or [1.0]
    issue_conf = min(conf)
    conn = db.conn
    source_path = printable(doc.source_path)
    with conn:  # one transaction: commit on success, roll back on error
        if not conn.in_transaction:
            # take the write lock before reading anything: the unindex/delete and
            # the inserts see one state of the archive (no other writer between)
            conn.execute("BEGIN IMMEDIATE")
        delete_issue(conn, iid)
        # the file at this path had other content before: that issue is gone now
        for (old,) in conn.execute("SELECT id FROM issues WHERE source_path = ? AND id != ?",
                                   [source_path, iid]).fetchall():
            delete_issue(conn, old)
        conn.execute(
            "INSERT INTO issues (id, source_path, source_sha256, title, publisher, year, issue_no,"
            " total_no, special, date, printed_date, copies, disclosure, recipients, cc, doc_type, doc_no,"
            " page_count, article_count, toc, sections, flags, needs_review, confidence, methods,"
            " pipeline_version, loaded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [iid, source_path, doc.sha256, meta.title, meta.publisher, meta.year, meta.issue_no,
             meta.total_no, meta.special, meta.date, meta.printed_date, meta.copies, meta.disclosure,
             _json(meta.recipients), _json(meta.cc), meta.doc_type, meta.doc_no,
             len(issue.pages), len(issue.articles),
             _json(meta.toc), _json(meta.sections), _json(meta.flags),
             int(review.needs_review(issue_conf, meta.flags)), round(issue_conf, 4),
             ",".join(sorted({p.method for p in issue.pages})), pipeline_version, _now()],
        )
        conn.executemany(
            "INSERT INTO pages (id, issue_id, page_no, text, method, confidence, needs_review,"
            " engine_version, dpi, rotation, skew, width, height, image_path, regions, source)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(f"{iid}-{p.page_no}", iid, p.page_no, p.text, p.method, round(p.confidence, 4),
              int(review.needs_review(p.confidence)), p.engine_version, p.dpi, p.rotation,
              round(p.skew, 3), p.width, p.height, p.image_path,
              json.dumps([{"kind": r.kind, "box": list(r.box), "order": r.order, "confidence": r.confidence}
                          for r in p.regions]) if p.regions else None, p.source)
             for p in issue.pages],
        )
        conn.executemany(
            "INSERT INTO articles (id, issue_id, seq, section, title, subtitle, body, page_start,"
            " page_end, event_date, event_dates, boxes, confidence, needs_review, run_in)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(article_id(iid, a.seq), iid, a.seq, a.section, a.title, a.subtitle, a.body,
              a.page_start, a.page_end, a.event_date, _json(a.event_dates),
              json.dumps([[round(v, 1) for v in b] for b in a.boxes]), round(a.confidence, 4),
              int(review.needs_review(a.confidence)), int(a.run_in))
             for a in issue.articles],
        )
        if pageimages in extensions():
            pageimages.store_lines(conn, issue)
        for ext in extensions():
            if ext is entities and issue_entities is not None:
                ext.index_issue(conn, iid, issue_entities)
            else:
                ext.index_issue(conn, iid)
    return iid


def record_failure(db: sqlite_utils.Database, source_path: str, stage: str, error: str) -> None:
    """A ``failures`` row (path and error in printable one-line form). Never
    raises: recording one input's failure must not stop the batch; if the row
    cannot be written the reason goes to stderr."""
    row = [printable(source_path), stage, one_line(error), _now()]
    try:
        with db.conn:
            db.conn.execute("INSERT INTO failures (source_path, stage, error, at) VALUES (?,?,?,?)", row)
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        print(f"WARNING {row[0]}: failure not recorded in the archive ({one_line(exc)})",
              file=sys.stderr)


def clear_failures(db: sqlite_utils.Database, source_path: str) -> None:
    """A file that now succeeds no longer counts as failed."""
    with db.conn:
        db.conn.execute("DELETE FROM failures WHERE source_path = ?", [printable(source_path)])


def move_issue(db: sqlite_utils.Database, issue_id: str, source_path: str) -> None:
    """An unchanged input found at a new path (moved or renamed): the issue
    now points there, and the old path's failures are not its own."""
    with db.conn:
        db.conn.execute("UPDATE issues SET source_path = ? WHERE id = ?",
                        [printable(source_path), issue_id])


def _json(v) -> Optional[str]:
    return json.dumps(v, ensure_ascii=False) if v is not None else None
