"""Ranking for search: only the top of the ranking is computed.

FTS5's own bm25 (``ORDER BY rank``) scores *every* match and, for its IDF,
walks the whole doclist of every phrase in the expression: a common bigram
query on a million articles costs hundreds of milliseconds whatever the
LIMIT.  Here instead:

* candidates are read from the index in a bounded window, ``ORDER BY rowid
  DESC LIMIT n`` (FTS5 walks its doclists backwards and stops after ``n``),
  title matches in a window of their own so they are never crowded out;
  filters (year, publisher, section, unit) are part of the MATCH expression,
  so they apply before any ranking;
* each candidate is verified against its text (exact substring) and scored
  with the same title-weighted BM25 as the index's ``rank`` in Python;
* a term's document frequency (for IDF) is estimated from how far back in
  rowid order its ``k``-th match lies: article ids are derived from content
  hashes, so they are spread uniformly and the share of the id range needed
  for ``k`` matches estimates the share of articles holding the term.  Terms
  with fewer than ``k`` matches are counted exactly.
"""
from __future__ import annotations

import functools
import math
import re
from typing import Optional

from pipeline.archive.editions import same_title
from pipeline.archive.searchtext import (
    BODY_WEIGHT, FTS_TABLE, TITLE_WEIGHT, _table, _term_regex, normalize)

DF_SAMPLE = 100       # matches read (newest rowids first) to estimate a term's document frequency
K1, B = 1.2, 0.75     # BM25 parameters (FTS5's defaults)

_CACHE: dict = {}


def _cached(key, compute):
    if key not in _CACHE:
        if len(_CACHE) > 100_000:
            _CACHE.clear()
        _CACHE[key] = compute()
    return _CACHE[key]


def _varints(blob: bytes, n: int) -> list[int]:
    vals, k = [], 0
    while k < len(blob) and len(vals) < n:
        v = 0
        for j in range(9):
            byte = blob[k]
            k += 1
            if j == 8:
                v = (v << 8) | byte
                break
            v = (v << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        vals.append(v)
    return vals


def _averages(conn) -> list[int]:
    """FTS5's averages record: [rows, tokens in column 0, column 1, ...]."""
    row = conn.execute(f"select block from {FTS_TABLE}_data where id = 1").fetchone()
    return _varints((row[0] if row else b"") or b"", 3)


def doc_count(conn) -> int:
    """Articles in the index (no scan)."""
    vals = _averages(conn)
    return vals[0] if vals else 0


def avg_length(conn) -> float:
    """Mean title+body length in tokens."""
    vals = _averages(conn)
    if len(vals) < 3 or not vals[0]:
        return 500.0
    return max(1.0, (vals[1] + vals[2]) / vals[0])


def id_range(conn, n_docs: int) -> tuple[int, int]:
    """(lowest, highest) article id (primary-key lookups, cached per archive size)."""
    return _cached((id(conn), n_docs, "range"), lambda: tuple(
        conn.execute("select coalesce(min(id), 0), coalesce(max(id), 0) from articles").fetchone()))


def df_estimate(conn, expr: str, n_docs: int) -> int:
    """Articles matching the FTS5 expression ``expr``: exact below DF_SAMPLE,
    else estimated from the rowid of the DF_SAMPLE-th match (newest first)."""
    def compute():
        rows = conn.execute(f"select rowid from {FTS_TABLE} where {FTS_TABLE} match ?"
                            f" order by rowid desc limit ?", [expr, DF_SAMPLE]).fetchall()
        if len(rows) < DF_SAMPLE:
            return len(rows)
        lo, hi = id_range(conn, n_docs)
        share = (hi - rows[-1][0] + 1) / max(1, hi - lo + 1)
        return max(DF_SAMPLE, min(n_docs, round(DF_SAMPLE / max(share, 1e-12))))
    return _cached((id(conn), n_docs, expr), compute)


_WORD = re.compile(r"\w")
_MATCH_MAP: Optional[tuple] = None


def _match_map() -> tuple:
    """The normalisation table reduced to what term matching sees: entries
    that change a word character (traditional forms, full-width letters and
    digits, upper case).  Punctuation and spaces stay as they are, since a
    term's regex skips any non-word characters between its characters.  Text
    holding none of these characters is used as is (no translate)."""
    global _MATCH_MAP
    if _MATCH_MAP is None:
        table = {cp: out for cp, out in _table().items() if _WORD.match(chr(cp)) or _WORD.search(out)}
        _MATCH_MAP = (table, frozenset(chr(cp) for cp in table))
    return _MATCH_MAP


def match_text(text: str) -> str:
    """``text`` normalised for term matching (same length, or fully
    normalised where a mapping changes the length)."""
    table, chars = _match_map()
    if chars.isdisjoint(text):
        return text
    t = text.translate(table)
    return t if len(t) == len(text) else normalize(text)


@functools.lru_cache(maxsize=4096)
def _variants(term: str) -> Optional[re.Pattern]:
    """Regex for the characters that normalise into one of the term's
    characters (e.g. 務 for 务): text holding none of them matches the term
    as it stands or not at all.  None when there are none."""
    inv = _inverse()
    keys = sorted({k for c in set(normalize(term)) for k in inv.get(c, ())})
    return re.compile("[" + "".join(re.escape(k) for k in keys) + "]") if keys else None


_INV: Optional[dict] = None


def _inverse() -> dict:
    global _INV
    if _INV is None:
        inv: dict = {}
        for cp, out in _match_map()[0].items():
            for c in set(out):
                inv.setdefault(c, set()).add(chr(cp))
        _INV = inv
    return _INV


class Doc:
    """An article's title and body, normalised only when needed: a term's
    characters found as they are in the raw text are found in the normalised
    text too (normalised characters map to themselves), so the raw text is
    searched first and normalised (traditional forms, upper case, full-width)
    only when the term is not found in it as it stands."""
    __slots__ = ("raw", "norm", "length")

    def __init__(self, title: str, body: str):
        self.raw = (title, body)
        self.norm = None
        self.length = len(title) + len(body)

    def _normed(self) -> tuple:
        if self.norm is None:
            self.norm = (match_text(self.raw[0]), match_text(self.raw[1]))
        return self.norm

    def count(self, term: str) -> tuple[int, int]:
        rx = _term_regex(term)
        if not rx:
            return 0, 0
        title, body = self.raw
        n = len(rx.findall(title)), len(rx.findall(body))
        if n != (0, 0) or not self._may_differ(term, title, body):
            return n
        title, body = self._normed()
        return len(rx.findall(title)), len(rx.findall(body))

    @staticmethod
    def _may_differ(term: str, title: str, body: str) -> bool:
        v = _variants(term)
        return bool(v and (v.search(title) or v.search(body)))

    def has(self, term: str) -> bool:
        rx = _term_regex(term)
        if not rx:
            return False
        title, body = self.raw
        if rx.search(title) or rx.search(body):
            return True
        if not self._may_differ(term, title, body):
            return False
        title, body = self._normed()
        return bool(rx.search(title) or rx.search(body))


def bm25(docs: dict, ids: list[int], terms: list[str], n_docs: int, avglen: float,
         df: Optional[list[int]] = None) -> list[tuple[int, float]]:
    """(id, -score) pairs, best first (ties by id): BM25 with the title
    weighted TITLE_WEIGHT : BODY_WEIGHT, like the index's rank.  ``df`` per
    term, else counted among ``ids`` (right when ``ids`` are all matches)."""
    counts = {}
    for i in ids:
        d = docs[i]
        c = []
        for t in terms:
            ft, fb = d.count(t)
            c.append(TITLE_WEIGHT * ft + BODY_WEIGHT * fb)
        counts[i] = (c, d.length)
    if df is None:
        df = [sum(1 for i in ids if counts[i][0][k]) for k in range(len(terms))]
    n_docs = max(n_docs, 1)
    idf = [max(1e-6, math.log((n_docs - d + 0.5) / (d + 0.5))) if n_docs > 2 * d else 1e-6
           for d in (max(1, x) for x in df)]
    scored = []
    for i in ids:
        c, length = counts[i]
        norm = K1 * (1 - B + B * length / avglen)
        score = sum(idf[k] * f * (K1 + 1) / (f + norm) for k, f in enumerate(c) if f)
        scored.append((i, -score))
    scored.sort(key=lambda x: (x[1], x[0]))
    return scored


def window(conn, expr: str, n: int, below: Optional[int] = None, unit_sql: str = "",
           unit_params=()) -> list[int]:
    """Up to ``n`` matching rowids, highest first, below ``below`` if given."""
    T = FTS_TABLE
    bound = f" and {T}.rowid < ?" if below is not None else ""
    return [r[0] for r in conn.execute(
        f"select rowid from {T} where {T} match ?{unit_sql}{bound} order by rowid desc limit ?",
        [expr, *unit_params, *([below] if below is not None else []), n])]


def one_per_edition(conn, hits: list[dict]) -> list[dict]:
    """One hit per article of an issue: where the same article (same title,
    tolerant of OCR slips) is hit in several renditions, keep the best
    rendition's hit at the place of the first (as editions.dedupe, looking
    up only the issues hit)."""
    iids = sorted({h["issue_id"] for h in hits})
    ed = {}
    for k in range(0, len(iids), 500):
        chunk = iids[k:k + 500]
        ed.update((r[0], (r[1], r[2])) for r in conn.execute(
            f"select issue_id, edition_id, rank from renditions where issue_id in ({','.join('?' * len(chunk))})",
            chunk))
    chosen: list[list] = []     # [edition, title, rank, hit]
    for h in hits:
        eid, rank = ed.get(h["issue_id"], (h["issue_id"], 0))
        t = re.sub(r"\s+", "", h.get("title") or "")
        for c in chosen:
            if c[0] == eid and (c[1] == t or same_title(c[1], t)):
                n = c[3].get("renditions", 1) + h.get("renditions", 1)
                c[3] = {**(h if rank < c[2] else c[3]), "renditions": n}
                c[2] = min(rank, c[2])
                break
        else:
            chosen.append([eid, t, rank, h])
    return [c[3] for c in chosen]
