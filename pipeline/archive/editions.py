"""One issue, several renditions; citations.

A born-digital file and a scan of the same issue (same series, year, 期号,
special and date) are *renditions* of one edition; an issue without a 期号
counts only as a 特刊/增刊 or by its 文号 (a 公文), with its date.  Every input keeps its own
row in ``issues`` (with its ``source_path``); the table ``renditions`` groups
them beside those rows::

    renditions(issue_id PRIMARY KEY, edition_id, rank)

``edition_id`` is the id of the best rendition of the group (``rank`` 0):
born-digital before scans, then higher reading confidence, then the id.  An
issue alone is its own edition.  As a load extension the table is kept in step
with every load.  :func:`dedupe` keeps one search hit per article of an
edition (the best rendition's), and :func:`citation` formats a citation.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

SAME_TITLE = 85.0   # rapidfuzz ratio (0-100) at which two long mastheads count as one series
SLIP_MIN_LEN = 4    # one misread character (Levenshtein 1) joins mastheads at least this long:
                    # 云溪教育育息 / 云溪教育信息 scores only 83 by ratio (one slip in six characters)

SCHEMA = """
CREATE TABLE IF NOT EXISTS renditions (
    issue_id TEXT PRIMARY KEY,      -- an input's issue row
    edition_id TEXT NOT NULL,       -- the best rendition of the same issue (itself when alone)
    rank INTEGER NOT NULL           -- 0 = best rendition (born-digital, then most confident)
);
CREATE INDEX IF NOT EXISTS renditions_edition ON renditions(edition_id);
"""

_COLS = "id, title, publisher, year, issue_no, special, date, methods, confidence, doc_no"


def _conn(db):
    return getattr(db, "conn", db)


def ensure_schema(conn) -> None:
    conn = _conn(conn)
    conn.executescript(SCHEMA)
    # rows loaded before this table existed
    missing = conn.execute("SELECT id FROM issues WHERE id NOT IN (SELECT issue_id FROM renditions)").fetchall()
    if missing:
        with conn:
            for (iid,) in missing:
                index_issue(conn, iid)


def same_title(a: Optional[str], b: Optional[str]) -> bool:
    a, b = (a or "").strip(), (b or "").strip()
    if a == b:
        return True
    if not (a and b):
        return False
    if min(len(a), len(b)) >= SLIP_MIN_LEN and Levenshtein.distance(a, b) <= 1:
        return True
    return fuzz.ratio(a, b) >= SAME_TITLE


def _same_edition(a: tuple, b: tuple) -> bool:
    # a, b: rows of _COLS
    if not a[6] or (a[4] is None and not (a[5] or a[9])):
        return False          # no date, or no 期号, 特刊 or 文号: cannot tell
    return (a[3], a[4], a[5] or None, a[6], a[9] or None) == (b[3], b[4], b[5] or None, b[6], b[9] or None) \
        and (a[2] or "") == (b[2] or "") and same_title(a[1], b[1])


def _quality(row: tuple) -> tuple:
    born_digital = "text-layer" in (row[7] or "").split(",") and "," not in (row[7] or "")
    return (0 if born_digital else 1, -(row[8] if row[8] is not None else 0.0), row[0])


def _regroup(conn, year, issue_no, exclude: Optional[str] = None) -> None:
    rows = conn.execute(f"SELECT {_COLS} FROM issues WHERE year IS ? AND issue_no IS ?",
                        [year, issue_no]).fetchall()
    rows = [r for r in rows if r[0] != exclude]
    groups: list[list[tuple]] = []
    for r in sorted(rows, key=_quality):
        for g in groups:
            if _same_edition(g[0], r):
                g.append(r)
                break
        else:
            groups.append([r])
    for g in groups:
        for rank, r in enumerate(g):
            conn.execute("INSERT OR REPLACE INTO renditions (issue_id, edition_id, rank) VALUES (?,?,?)",
                         [r[0], g[0][0], rank])


def index_issue(conn, issue_id: str) -> None:
    conn = _conn(conn)
    row = conn.execute("SELECT year, issue_no FROM issues WHERE id = ?", [issue_id]).fetchone()
    if row is not None:
        _regroup(conn, *row)


def unindex_issue(conn, issue_id: str) -> None:
    conn = _conn(conn)
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'renditions'").fetchone() is None:
        return
    row = conn.execute("SELECT year, issue_no FROM issues WHERE id = ?", [issue_id]).fetchone()
    conn.execute("DELETE FROM renditions WHERE issue_id = ? OR edition_id = ?", [issue_id, issue_id])
    if row is not None:
        _regroup(conn, *row, exclude=issue_id)


def editions(conn) -> dict[str, tuple[str, int]]:
    """issue id -> (edition id, rank); issues missing from the table are their own edition."""
    conn = _conn(conn)
    out = {iid: (iid, 0) for (iid,) in conn.execute("SELECT id FROM issues")}
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'renditions'").fetchone() is not None:
        for iid, eid, rank in conn.execute("SELECT issue_id, edition_id, rank FROM renditions"):
            if iid in out:
                out[iid] = (eid, rank)
    return out


def _norm_title(t: Optional[str]) -> str:
    return re.sub(r"\s+", "", t or "")


def dedupe(conn, hits: Iterable[dict]) -> list[dict]:
    """One hit per article of an edition: where the same article (by title,
    tolerant of OCR slips) is hit in several renditions, keep the best
    rendition's hit, at the rank of the first one."""
    hits = list(hits)
    ed = editions(conn)
    chosen: list[list] = []     # [edition, title, rank, hit]
    for h in hits:
        eid, rank = ed.get(h["issue_id"], (h["issue_id"], 0))
        t = _norm_title(h.get("title"))
        for c in chosen:
            if c[0] == eid and (c[1] == t or same_title(c[1], t)):
                if rank < c[2]:
                    c[2], c[3] = rank, {**h, "renditions": c[3].get("renditions", 1) + 1}
                else:
                    c[3] = {**c[3], "renditions": c[3].get("renditions", 1) + 1}
                break
        else:
            chosen.append([eid, t, rank, h])
    return [c[3] for c in chosen]


# --------------------------------------------------------------------------
# citations

def _cn_date(iso: Optional[str]) -> str:
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})", iso or "")
    return f"{int(m.group(1))}年{int(m.group(2))}月{int(m.group(3))}日" if m else ""


def citation(issue: dict, article: Optional[dict] = None) -> str:
    """《四川省机关事务管理局简报》2021年第4期（总第103期），2021年5月28日，第2页 — from
    an ``issues`` row and optionally an ``articles`` row (dicts); parts that
    were not read are left out."""
    title = issue.get("title") or "（刊名不详）"
    out = f"《{title}》"
    year = issue.get("year")
    if year is None and issue.get("date"):
        year = int(issue["date"][:4])
    if year:
        out += f"{year}年"
    if issue.get("special"):
        out += issue["special"]
    if issue.get("issue_no") is not None:
        out += f"第{issue['issue_no']}期"
    if issue.get("total_no") is not None:
        out += f"（总第{issue['total_no']}期）"
    date = _cn_date(issue.get("date"))
    if date:
        out += f"，{date}"
    if article:
        p0, p1 = article.get("page_start"), article.get("page_end")
        if p0:
            out += f"，第{p0}页" if not p1 or p1 == p0 else f"，第{p0}–{p1}页"
    return out


def issue_row(conn, issue_id: str) -> Optional[dict]:
    cur = _conn(conn).execute("SELECT * FROM issues WHERE id = ?", [issue_id])
    r = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], r)) if r else None


def article_row(conn, article_id) -> Optional[dict]:
    cur = _conn(conn).execute("SELECT * FROM articles WHERE id = ?", [int(article_id)])
    r = cur.fetchone()
    return dict(zip([d[0] for d in cur.description], r)) if r else None


def cite_article(conn, article_id) -> Optional[str]:
    a = article_row(conn, article_id)
    if a is None:
        return None
    return citation(issue_row(conn, a["issue_id"]) or {}, a)
