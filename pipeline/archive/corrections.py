"""Corrections by people, kept apart from what the pipeline read, re-applied on every load.

``correct(conn, "article", article_id, "title", "新标题", by="alice")`` records who
changed what, when, the value before and the value after in ``corrections``
(keyed by the stable issue id / article id) and applies it to the row.  As a
load extension (see :data:`pipeline.archive.load.EXTENSIONS`, listed first so
the search index and entities see corrected text), ``index_issue`` re-applies
every correction of an issue after the pipeline rewrote it, so
``bulletin run FILE --force`` keeps them.  The original reading stays visible:
the first correction of a field keeps its ``old_value``.

``review(conn)`` lists what needs checking, worst first.
"""
from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
from typing import Optional

from pipeline.archive import entities, search

SCHEMA = """
CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY,
    target TEXT NOT NULL,           -- 'issue' or 'article'
    target_id TEXT NOT NULL,        -- the issue id (content hash) or article id (stable)
    issue_id TEXT NOT NULL,         -- the issue the target belongs to
    field TEXT NOT NULL,
    old_value TEXT,                 -- the value before this correction
    new_value TEXT,
    by TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS corrections_issue ON corrections(issue_id);
"""

# fields a person may correct, and how values are stored
ISSUE_FIELDS = {"title": str, "publisher": str, "year": int, "issue_no": int, "total_no": int,
                "special": str, "date": str, "printed_date": str, "copies": int, "disclosure": str,
                "recipients": list, "cc": list}
ARTICLE_FIELDS = {"section": str, "title": str, "subtitle": str, "body": str, "page_start": int,
                  "page_end": int, "event_date": str}
FIELDS = {"issue": ISSUE_FIELDS, "article": ARTICLE_FIELDS}
TABLES = {"issue": "issues", "article": "articles"}


class CorrectionError(ValueError):
    """Bad target, field or value (one line, for the CLI)."""


def _conn(db):
    return getattr(db, "conn", db)


def ensure_schema(conn) -> None:
    _conn(conn).executescript(SCHEMA)


def _has_table(conn) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'corrections'").fetchone() is not None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def default_user() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or _safe_getuser()


def _safe_getuser() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return "unknown"


def convert(target: str, field: str, value: Optional[str]):
    """The stored form of ``value`` for ``field`` (raises CorrectionError)."""
    kinds = FIELDS.get(target)
    if kinds is None:
        raise CorrectionError(f"unknown target {target!r} (issue or article)")
    if field not in kinds:
        raise CorrectionError(f"{target} field {field!r} cannot be corrected; one of: {', '.join(kinds)}")
    kind = kinds[field]
    if value is None or value == "":
        return None
    if kind is int:
        try:
            return int(value)
        except ValueError:
            raise CorrectionError(f"{field} must be a whole number, got {value!r}") from None
    if kind is list:
        try:
            v = json.loads(value)
        except ValueError:
            v = [s.strip() for s in value.replace("，", ",").replace("、", ",").split(",") if s.strip()]
        if not isinstance(v, list):
            raise CorrectionError(f"{field} must be a list (JSON, or comma-separated)")
        return json.dumps(v, ensure_ascii=False)
    return str(value)


def _issue_of(conn, target: str, target_id: str) -> str:
    if target == "issue":
        row = conn.execute("SELECT id FROM issues WHERE id = ?", [target_id]).fetchone()
    else:
        try:
            aid = int(target_id)
        except ValueError:
            raise CorrectionError(f"article id must be a number, got {target_id!r}") from None
        row = conn.execute("SELECT issue_id FROM articles WHERE id = ?", [aid]).fetchone()
    if row is None:
        raise CorrectionError(f"no {target} with id {target_id} in the archive")
    return row[0]


def _key(target: str, target_id: str):
    return int(target_id) if target == "article" else target_id


def correct(db, target: str, target_id, field: str, value: Optional[str], by: Optional[str] = None) -> dict:
    """Record and apply one correction; the search index and entities of the
    issue are rebuilt in the same transaction.  Returns the correction row."""
    conn = _conn(db)
    ensure_schema(conn)
    target_id = str(target_id)
    new = convert(target, field, value)
    issue_id = _issue_of(conn, target, target_id)
    table = TABLES[target]
    old = conn.execute(f"SELECT {field} FROM {table} WHERE id = ?", [_key(target, target_id)]).fetchone()[0]
    row = {"target": target, "target_id": target_id, "issue_id": issue_id, "field": field,
           "old_value": None if old is None else str(old), "new_value": None if new is None else str(new),
           "by": by or default_user(), "at": _now()}
    with conn:
        for ext in (search, entities):
            if _ext_ready(conn, ext):
                ext.unindex_issue(conn, issue_id)
        conn.execute(f"UPDATE {table} SET {field} = ? WHERE id = ?", [new, _key(target, target_id)])
        cur = conn.execute(
            "INSERT INTO corrections (target, target_id, issue_id, field, old_value, new_value, by, at)"
            " VALUES (:target, :target_id, :issue_id, :field, :old_value, :new_value, :by, :at)", row)
        for ext in (search, entities):
            if _ext_ready(conn, ext):
                ext.index_issue(conn, issue_id)
    row["id"] = cur.lastrowid
    return row


def _ext_ready(conn, ext) -> bool:
    table = search.FTS_TABLE if ext is search else "article_units"
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [table]).fetchone() is not None


def index_issue(conn, issue_id: str) -> None:
    """Re-apply this issue's corrections (inside the load transaction, before
    the search index and entities are built), latest correction per field last."""
    conn = _conn(conn)
    if not _has_table(conn):
        return
    rows = conn.execute("SELECT target, target_id, field, new_value FROM corrections WHERE issue_id = ?"
                        " ORDER BY id", [issue_id]).fetchall()
    for target, target_id, field, new in rows:
        if field not in FIELDS.get(target, {}):
            continue
        value = convert(target, field, new) if new is not None else None
        conn.execute(f"UPDATE {TABLES[target]} SET {field} = ? WHERE id = ?", [value, _key(target, target_id)])


def unindex_issue(conn, issue_id: str) -> None:
    """Corrections outlive the rows they apply to (a re-load brings the rows back)."""


def originals(conn, target: str, target_id) -> dict:
    """field -> value the pipeline read, for the corrected fields of one row."""
    conn = _conn(conn)
    if not _has_table(conn):
        return {}
    out: dict = {}
    for field, old, new in conn.execute(
            "SELECT field, old_value, new_value FROM corrections WHERE target = ? AND target_id = ?"
            " ORDER BY id", [target, str(target_id)]):
        out.setdefault(field, {"original": old})
        out[field]["current"] = new
    return out


# --------------------------------------------------------------------------
# review queue

REVIEW_SQL = """
select 'issue' as kind, i.id as id, i.id as issue_id, coalesce(i.title, '') || ' ' || coalesce(i.date, '')
       as label, i.confidence as confidence, coalesce(i.flags, '[]') as flags, i.needs_review as needs_review
from issues i where i.needs_review or (i.flags is not null and i.flags not in ('', '[]'))
union all
select 'page', p.id, p.issue_id, 'page ' || p.page_no || ' (' || coalesce(p.method, '') || ')',
       p.confidence, '[]', p.needs_review
from pages p where p.needs_review
union all
select 'article', cast(a.id as text), a.issue_id, coalesce(a.title, ''), a.confidence, '[]', a.needs_review
from articles a where a.needs_review
"""


def review(db, limit: Optional[int] = None) -> list[dict]:
    """Items needing a person's eye, worst first: flagged issues (more flags
    first), then by lowest confidence."""
    conn = _conn(db)
    cur = conn.execute(REVIEW_SQL)
    cols = [d[0] for d in cur.description]
    items = []
    for r in cur.fetchall():
        d = dict(zip(cols, r))
        try:
            d["flags"] = json.loads(d["flags"]) if d["flags"] else []
        except ValueError:
            d["flags"] = [d["flags"]]
        items.append(d)
    items.sort(key=lambda d: (-len(d["flags"]), d["confidence"] if d["confidence"] is not None else 0.0,
                              d["kind"], d["id"]))
    return items[:limit] if limit else items


def format_review(items: list[dict]) -> str:
    if not items:
        return "nothing needs review"
    lines = []
    for d in items:
        conf = "  -  " if d["confidence"] is None else f"{d['confidence']:.2f}"
        flags = f" [{', '.join(d['flags'])}]" if d["flags"] else ""
        lines.append(f"{conf}  {d['kind']:7} {d['id']}  {d['label']}{flags}")
    return "\n".join(lines)
