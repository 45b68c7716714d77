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
  with the same title-weighted BM25 as the index's ``rank`` in Python; a
  term is found in the raw text by a regex of its characters' variants
  (务 or 務), so candidates are not normalised one by one;
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
    BODY_WEIGHT, FTS_TABLE, TITLE_WEIGHT, _compact, _table, _term_regex, normalize)

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


_WORDCH = re.compile(r"[^\W_]")
_RAW: Optional[tuple] = None


def _raw_maps() -> tuple:
    """(normalised character -> the characters that normalise to it alone,
    the "odd" characters).  A character is odd when normalising it changes
    whether it is a word character or turns it into several word characters
    (NFKC expansions such as ㍿): in text without odd characters, a term is
    found in the raw text by a regex of its characters' variants with the
    same non-word gaps as on normalised text."""
    global _RAW
    if _RAW is None:
        inv: dict = {}
        odd = set()
        for cp, out in _table().items():
            key = chr(cp)
            kw = bool(_WORDCH.match(key))
            words = [c for c in out if _WORDCH.match(c)]
            if len(out) == 1 and kw == bool(words):
                if words:
                    inv.setdefault(out, []).append(key)
            elif kw or words:
                odd.add(key)
        # two classes: one of BMP characters compiles to a bitmap (fast)
        bmp = sorted(c for c in odd if ord(c) < 0x10000)
        astral = sorted(c for c in odd if ord(c) >= 0x10000)
        _RAW = (inv, re.compile("[" + "".join(re.escape(c) for c in bmp) + "]"), frozenset(astral))
    return _RAW


_FULLWIDTH = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")   # full-width letters, digits (ＣＣＥＲ, ２０２３)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _has_odd(text: str) -> bool:
    _, bmp, astral = _raw_maps()
    return bool(bmp.search(text) or (_ASTRAL.search(text) and not astral.isdisjoint(text)))


@functools.lru_cache(maxsize=4096)
def raw_regex(term: str) -> Optional[re.Pattern]:
    """The term as a regex over raw (un-normalised) text: each character or
    one of its variants (务|務, c|C|ｃ), non-word characters between them."""
    inv = _raw_maps()[0]
    ct = _compact(term)
    if not ct:
        return None
    parts = [re.escape(c) if c not in inv else "[" + "".join(re.escape(k) for k in [c, *sorted(inv[c])]) + "]"
             for c in ct]
    return re.compile(r"[\W_]*".join(parts))


class Doc:
    """An article's title and body as stored.  Terms are found in the raw
    text with :func:`raw_regex` (no normalisation pass over the text); only
    text holding an "odd" character is normalised first."""
    __slots__ = ("title", "body", "normed", "length", "lower")

    def __init__(self, title: str, body: str):
        self.length = len(title) + len(body)
        self.normed = _has_odd(title) or _has_odd(body)
        if self.normed:
            title, body = normalize(title), normalize(body)
        self.title, self.body = title, body
        self.lower = None

    def _texts(self, term: str):
        """(regex, title, body) to find ``term`` in.  A term of ASCII letters
        and digits is matched on lower-cased text (full-width forms
        normalised where present): faster than a regex of variant classes."""
        if self.normed:
            return _term_regex(term), self.title, self.body
        if _compact(term).isascii():
            if self.lower is None:
                self.lower = tuple(normalize(t) if _FULLWIDTH.search(t) else t.lower()
                                   for t in (self.title, self.body))
            return _term_regex(term), *self.lower
        return raw_regex(term), self.title, self.body

    def count(self, term: str) -> tuple[int, int]:
        rx, title, body = self._texts(term)
        if not rx:
            return 0, 0
        return len(rx.findall(title)), len(rx.findall(body))

    def has(self, term: str) -> bool:
        rx, title, body = self._texts(term)
        return bool(rx and (rx.search(title) or rx.search(body)))


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
