"""Full-text search over the archive: one implementation for the CLI, the
Python API, notebooks and datasette.

Why bigrams
-----------
SQLite's default FTS5 tokenizer (unicode61) treats a run of Han characters as
one token, so ``公务用车`` would only match an identical run; the trigram
tokenizer cannot match two-character words (节能, 党史).  Instead we write our
own tokens into an ordinary ``unicode61`` FTS5 table: the normalised text is
turned into space-separated *overlapping character bigrams* and unicode61 just
splits on the spaces.  No compiled extension or custom tokenizer is needed to
open or query the archive from any SQLite client.

Normalisation (applied identically to text and query, character by character
so that a substring of the text stays a substring after normalisation):

* NFKC (full-width digits/Latin, compatibility ideographs, ideographic space)
* traditional -> simplified (OpenCC ``t2s`` table, per character)
* lower case
* whitespace *between two Han characters* is removed (OCR gaps, line breaks:
  ``公务 用车`` -> ``公务用车``)

Tokens: every Han character of a run emits the bigram starting at it, and the
last character of a run emits itself (``公务用车`` -> ``公务 务用 用车 车``), so
token positions equal character positions.  Latin/digit runs are single
tokens (``CCER``, ``2023``).  Punctuation separates runs.

A query term becomes the FTS5 *phrase* of its tokens, which gives exact
substring recall: ``公务用车`` -> ``"公务 务用 用车"``; a one-character term is a
prefix token (``"党" *`` matches 党 and every bigram starting with 党);
``2023年`` -> ``"2023 年" *``.  Several whitespace-separated terms are ANDed;
``-term`` excludes, ``a OR b`` alternates, ``"..."`` quotes a phrase.  If an
exact query finds nothing, long terms are split into words with jieba and
ANDed (reported as ``match='words'``).

The index (``articles_fts``) is contentless and keyed by ``articles.id``: the
original text stays in ``articles`` and snippets are cut from it.  Besides
title (+ subtitle) and body it indexes publisher, section and year (weight 0)
so filters are index terms (``{year}: 2020 AND {publisher}: "四川 川省"``)
rather than a join per matching row.  Ranking is FTS5 bm25 with the title
weighted 10x the body, stored as the table's persistent ``rank`` so
``ORDER BY rank`` gives the same order in any client.  ``search()`` itself
computes only the top of the ranking: up to SMALL candidates are all
verified and scored in Python; a broader query is scored over a bounded
window (the WINDOW highest-rowid matches, plus as many title matches for a
one-term query), see :mod:`pipeline.archive.ranking`; ``exhaustive=True`` or
``limit=None`` ranks every match with FTS5's bm25.

Plain-SQLite recipe (no functions registered, any client)::

    select a.id, a.title from articles_fts
    join articles a on a.id = articles_fts.rowid
    where articles_fts match '{title body}: "公务 务用 用车"' order by rank;

A contentless row is deleted by replaying its tokens, recomputed from
``articles``/``issues``: rows must change only through ``load.load_issue``
(or call ``rebuild`` after editing them by hand).
"""
from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Optional, Sequence, Union


from pipeline.archive import ranking, readonly
from pipeline.archive.searchtext import (  # noqa: F401  (part of this module's API)
    BODY_WEIGHT, FTS_TABLE, META_TABLE, Query, RANK_BUDGET, RANK_WINDOW_MIN,
    TEXT_COLUMNS, TITLE_WEIGHT, TOKENIZER_VERSION, VIEW, _log, _norm_same_length,
    _phrase, _table, _term_regex, _term_tokens, contains, highlight_spans,
    index_text, keywords, match_expression, normalize, parse_query, snippet,
    tokens)


# --------------------------------------------------------------------------
# schema and the load-stage EXTENSIONS contract

# publisher/section/year are indexed too (weight 0) so that filters are
# FTS terms ({year}: "2020" AND {publisher}: "四川 川省") evaluated by doclist
# merging instead of a join per matching row.
FTS_SQL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "title, body, publisher, section, year, content='', tokenize='unicode61')"
)
_INDEX_SQL = ("select a.id, a.title, a.subtitle, a.body, i.publisher, a.section, i.year"
              " from articles a left join issues i on i.id = a.issue_id")


VIEW_SQL = (
    f"CREATE VIEW IF NOT EXISTS {VIEW} AS SELECT a.id, a.issue_id, i.date, i.year, i.publisher,"
    " i.issue_no, a.seq, a.section, a.title, a.page_start, a.page_end, a.needs_review"
    " FROM articles a JOIN issues i ON i.id = a.issue_id"
)


def _exists(conn, name: str) -> bool:
    return conn.execute("select 1 from sqlite_master where name = ?", [name]).fetchone() is not None


def ensure_schema(conn) -> None:
    """Create the index; (re)build it if it is new or was built by another
    tokenizer version.  Idempotent."""
    conn = _conn(conn)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT)")
    conn.execute(VIEW_SQL)
    row = conn.execute(f"select value from {META_TABLE} where key = 'tokenizer_version'").fetchone()
    if row and row[0] == TOKENIZER_VERSION and _exists(conn, FTS_TABLE):
        return
    _log.info("building search index (%s)", "new" if not row else f"tokenizer {row[0]} -> {TOKENIZER_VERSION}")
    with conn:
        _create(conn)
        _index_rows(conn, _INDEX_SQL)


def _create(conn) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {FTS_TABLE}")
    conn.execute(FTS_SQL)
    conn.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES ('rank', ?)",
                 [f"bm25({TITLE_WEIGHT}, {BODY_WEIGHT}, 0.0, 0.0, 0.0)"])
    conn.execute(f"INSERT OR REPLACE INTO {META_TABLE} VALUES ('tokenizer_version', ?)", [TOKENIZER_VERSION])
    conn.execute(f"INSERT OR REPLACE INTO {META_TABLE} VALUES ('weights', ?)",
                 [json.dumps({"title": TITLE_WEIGHT, "body": BODY_WEIGHT})])


def _title_text(title, subtitle) -> str:
    return f"{title or ''}\n|\n{subtitle}" if subtitle else (title or "")


def _tagged(text: Optional[str], tag: str) -> str:
    return " ".join(tag + t for t in tokens(text))


def _values(r) -> tuple:
    """FTS column values for a row of _INDEX_SQL.  Filter columns carry tagged
    tokens (p四川, s工作, y2023) so their doclists stay small and apart from
    the text's."""
    return (r[0], index_text(_title_text(r[1], r[2])), index_text(r[3]), _tagged(r[4], "p"),
            _tagged(r[5], "s"), "" if r[6] is None else f"y{r[6]}")


def _index_rows(conn, sql: str, params: Sequence = ()) -> int:
    n = 0
    cur = conn.execute(sql, params)
    while True:
        rows = cur.fetchmany(2000)
        if not rows:
            return n
        conn.executemany(
            f"INSERT INTO {FTS_TABLE}(rowid, title, body, publisher, section, year) VALUES (?, ?, ?, ?, ?, ?)",
            [_values(r) for r in rows])
        n += len(rows)


def index_issue(conn, issue_id: str) -> None:
    """Index the articles of one issue (inside the load transaction)."""
    _index_rows(_conn(conn), _INDEX_SQL + " where a.issue_id = ?", [issue_id])


def unindex_issue(conn, issue_id: str) -> None:
    """Remove an issue's articles from the index (before its rows are deleted).

    A contentless FTS5 row is deleted by replaying the tokens it was indexed
    with, recomputed from the article text; rows not in the index are skipped."""
    conn = _conn(conn)
    rows = conn.execute(
        _INDEX_SQL + f" join {FTS_TABLE}_docsize d on d.id = a.id where a.issue_id = ?", [issue_id]).fetchall()
    conn.executemany(
        f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, body, publisher, section, year)"
        " VALUES ('delete', ?, ?, ?, ?, ?, ?)", [_values(r) for r in rows])


def rebuild(db) -> int:
    """Drop and rebuild the whole index from ``articles``; returns the count."""
    conn = _conn(db)
    conn.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT)")
    with conn:
        _create(conn)
        n = _index_rows(conn, _INDEX_SQL)
    conn.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('optimize')")
    conn.commit()
    return n


# --------------------------------------------------------------------------
# searching

DbLike = Union[str, Path, sqlite3.Connection, "sqlite_utils.Database"]  # noqa: F821


def _conn(db) -> sqlite3.Connection:
    if isinstance(db, sqlite3.Connection):
        return db
    if hasattr(db, "conn"):
        return db.conn
    raise TypeError(f"expected a connection or sqlite_utils.Database, got {type(db).__name__}")


def connect(db: DbLike) -> tuple[sqlite3.Connection, bool]:
    """A connection for ``db`` and whether we opened it (read-only for paths)."""
    if isinstance(db, (str, Path)):
        conn = readonly.connect(db)     # mode=ro; FileNotFoundError if missing
        register_functions(conn)
        return conn, True
    return _conn(db), False


def filter_expression(year=None, publisher: Optional[str] = None, section: Optional[str] = None) -> str:
    """FTS5 terms for the filters, to AND with a query expression ('' if none).

    ``year`` is a year or a (first, last) pair; ``publisher`` and ``section``
    match the whole name or a part of it (normalised, so 四川 matches
    四川省机关事务管理局 and traditional forms match too)."""
    parts = []
    if year is not None:
        if isinstance(year, (tuple, list)):
            years = range(int(year[0]), int(year[1]) + 1)
        else:
            years = [int(year)]
        parts.append("{year} : (" + " OR ".join(f"y{y}" for y in years) + ")")
    for col, val in (("publisher", publisher), ("section", section)):
        if val:
            ph = _phrase(val, tag=col[0])
            parts.append(f"{{{col}}} : ({ph})" if ph else '""')
    return " AND ".join(parts)


class SearchIndexError(RuntimeError):
    pass


def check_index(conn) -> None:
    """Raise if the archive has no search index, or one built by another
    tokenizer version (opening it with load.open_db rebuilds it)."""
    try:
        row = conn.execute(f"select value from {META_TABLE} where key = 'tokenizer_version'").fetchone()
    except sqlite3.OperationalError:
        row = None
    if not row or not _exists(conn, FTS_TABLE):
        raise SearchIndexError("the archive has no search index: open it once with load.open_db "
                          "(or run search.rebuild) to build it")
    if row[0] != TOKENIZER_VERSION:
        raise SearchIndexError(f"the search index was built by tokenizer version {row[0]}, this code needs "
                          f"{TOKENIZER_VERSION}: open the archive once with load.open_db (or run "
                          "search.rebuild) to rebuild it")


def _has_units(conn) -> bool:
    return _exists(conn, "article_units") and _exists(conn, "units")


_UNIT_SQL = (" and {fts}.rowid in (select au.article_id from article_units au join units u on u.id = au.unit_id"
             " where u.name = ? or au.surface = ?)")


def search(db: DbLike, query: str, *, limit: Optional[int] = 20, year=None, publisher: Optional[str] = None,
           section: Optional[str] = None, unit: Optional[str] = None, offset: int = 0,
           html_snippet: bool = False, fallback: bool = True, exhaustive: bool = False,
           one_per_issue: bool = True) -> list[dict]:
    """Ranked articles matching ``query``.

    Each result: issue_id, article_id, title, date, publisher, section,
    snippet (original text, matches in 【】 or <mark> with html_snippet),
    score (bm25, higher is better), page_start, plus page_end, year,
    issue_no and match ('exact' or 'words': when the exact query finds
    nothing and ``fallback`` is true, long terms are split into jieba words
    and ANDed).

    Order: bm25 (title weighted 10x).  A broad query (more than SMALL
    candidates) is ranked within a bounded window of its matches -- the
    WINDOW highest article ids and, for a one-term query, as many title
    matches -- which is fast at any archive size but not the global best;
    ``exhaustive=True`` ranks every match.  Every hit is verified against
    the text (exact substring after normalisation).

    ``year`` is a year or a (first, last) pair; ``publisher``/``section``
    match the whole name or a part; ``unit`` uses the article_units/units
    tables when present, else requires the unit name in the text.

    With ``one_per_issue`` (default), an article found in several
    renditions of one issue (table ``renditions``: the same issue scanned
    and born-digital, …) is listed once, from the best rendition, with
    ``renditions`` = how many were hit."""
    conn, owned = connect(db)
    try:
        check_index(conn)
        q = parse_query(query)
        if unit and not _has_units(conn):
            q = Query(q.groups + [[unit]], q.exclude)
            unit = None
        filters = (year, publisher, section)

        def run(lim, off):
            args = (lim, off, filters, unit, html_snippet, exhaustive)
            results = _run(conn, q, *args, "exact")
            if not results and offset == 0 and fallback:
                wq = q.words()
                if wq is not None:
                    results = _run(conn, wq, *args, "words")
            return results

        if not (one_per_issue and _has_renditions(conn)):
            return run(limit, offset)
        if limit is None:
            return ranking.one_per_edition(conn, run(None, 0))[int(offset):]
        want = int(offset) + int(limit)
        lim = want * 2 + 10          # room for hits dropped as other renditions
        while True:
            raw = run(lim, 0)
            hits = ranking.one_per_edition(conn, raw)
            if len(hits) >= want or len(raw) < lim:
                return hits[int(offset):want]
            lim *= 4
    finally:
        if owned:
            conn.close()


def _has_renditions(conn) -> bool:
    """Whether any issue has a second rendition."""
    return _exists(conn, "renditions") and conn.execute(
        "select 1 from renditions where issue_id != edition_id limit 1").fetchone() is not None


def _n_tokens(expr: str) -> int:
    """Tokens in the phrases of an expression (ranking cost grows with it)."""
    return max(1, sum(len(p.split()) for p in re.findall(r'"([^"]*)"', expr)))


def ranked_ids(conn, text_expr: str, filt: str = "", need: Optional[int] = 20, unit: Optional[str] = None,
               exhaustive: bool = False) -> list[tuple[int, float]]:
    """(article id, bm25 rank) pairs, best first.

    Up to the ranking window, all matches are ranked by bm25 (title weighted
    10x).  A broader query lists title matches first, then other matches,
    each ranked within its first ``window`` matches in article-id order."""
    T = FTS_TABLE
    unit_sql, unit_params = (_UNIT_SQL.format(fts=T), [unit, unit]) if unit else ("", [])
    inner = text_expr.split(" : ", 1)[1]            # '{title body} : (X)' -> '(X)'
    window = max(RANK_WINDOW_MIN, RANK_BUDGET // _n_tokens(inner))
    if need is None or need > window:
        exhaustive = True
    lim = -1 if need is None else need

    def rank(expr, bound_sql="", bound=(), n=lim):
        return conn.execute(f"select rowid, rank from {T} where {T} match ?{unit_sql}{bound_sql}"
                            f" order by rank limit ?", [expr, *unit_params, *bound, n]).fetchall()

    def bound_of(expr):
        row = conn.execute(f"select rowid from {T} where {T} match ?{unit_sql} order by rowid"
                           f" limit 1 offset ?", [expr, *unit_params, window]).fetchone()
        return row[0] if row else None

    full = text_expr + (f" AND {filt}" if filt else "")
    b = None if exhaustive else bound_of(full)
    if b is None:
        return rank(full)
    if " AND " in inner or " OR " in inner:
        # several terms rarely all occur in one title: bm25 within the window
        return rank(full, f" and {T}.rowid < ?", [b])
    # broad: title matches first (within their window), then the rest of the window
    title = f"{{title}} : {inner}" + (f" AND {filt}" if filt else "")
    bt = bound_of(title)
    out = rank(title, *((f" and {T}.rowid < ?", [bt]) if bt is not None else ("", [])))
    if len(out) < need:
        seen = {r[0] for r in out}
        more = rank(full, f" and {T}.rowid < ?", [b], n=need + len(out))
        out += [r for r in more if r[0] not in seen][:need - len(out)]
    return out


def _fetch(conn, ids: list[int]) -> dict:
    rows: dict = {}
    for k in range(0, len(ids), 500):
        chunk = ids[k:k + 500]
        rows.update((r[0], r) for r in conn.execute(
            "select a.id, a.issue_id, a.title, a.subtitle, a.body, a.section, a.page_start, a.page_end,"
            " i.date, i.publisher, i.year, i.issue_no from articles a left join issues i on i.id = a.issue_id"
            f" where a.id in ({','.join('?' * len(chunk))})", chunk))
    return rows


def _Doc(row) -> ranking.Doc:
    """An article row (of _fetch) with its title and body normalised once."""
    return ranking.Doc(_title_text(row[2], row[3]), row[4] or "")


def _verify(q: Query, filters, row, doc: Optional[_Doc] = None) -> bool:
    """Every group of the query occurs (as normalised text) in the title or
    body, and the publisher/section filters in the article's."""
    if row is None:
        return False
    doc = doc or _Doc(row)
    for g in q.groups:
        if not any(doc.has(t) for t in g):
            return False
    _, publisher, section = filters
    return (not publisher or contains(row[9], publisher)) and (not section or contains(row[5], section))


# -- query planning: cheap candidate expressions, verified in Python ----------

CAP_MIN = 1000          # a token in more than max(CAP_MIN, half the articles) is "common"
_DF: dict = {}


def _doc_count(conn) -> int:
    return ranking.doc_count(conn)


def _capped_df(conn, token: str, cap: int, n_docs: int) -> int:
    """Articles holding ``token`` (exact when few, else estimated), at most ``cap``."""
    return min(cap, ranking.df_estimate(conn, '"' + token + '"', n_docs))


def _plan(conn, q: Query, filters) -> tuple[str, str, bool]:
    """(text expression, filter expression, verify) for searching ``q``.

    Exact phrases are accurate but costly on big archives: a phrase is
    checked position by position in every article holding all its bigrams,
    and bm25 scans each phrase once more over the whole index for its IDF.
    The plan instead ANDs the phrase's bigrams (dropping common ones when
    rarer ones remain) -- a superset, verified against the text."""
    year, publisher, section = filters
    n_docs = _doc_count(conn)
    cap = max(CAP_MIN, n_docs // 2)

    # tokens of single-term groups; OR groups stay exact phrases
    bags: list[tuple[list[str], bool]] = []
    verify = False
    for g in q.groups:
        if len(g) == 1:
            toks, prefix = _term_tokens(g[0])
            if prefix and len(toks) > 1:
                toks, prefix = toks[:-1], False
                verify = True
            if len(toks) > 1:
                verify = True
            bags.append((list(dict.fromkeys(toks)), prefix))
    for col, val in (("publisher", publisher), ("section", section)):
        if val:
            toks, prefix = _term_tokens(val)
            bags.append(([col[0] + t for t in dict.fromkeys(toks)], prefix))
            verify = True
    if n_docs > cap and sum(len(toks) for toks, prefix in bags if not prefix) > 1:
        for k, (toks, prefix) in enumerate(bags):
            if prefix:
                continue
            df = {t: _capped_df(conn, t, cap, n_docs) for t in toks}
            rare = [t for t in toks if df[t] < cap]
            if rare:   # the rarest ones do the selecting
                least = min(df[t] for t in rare)
                rare = [t for t in rare if df[t] <= 4 * least + 100]
            if rare and len(toks) >= 4 and toks[-1] not in rare:
                # the end of a long name tells it apart from its siblings
                # (湖北省教育厅 / 湖北省机关事务管理局): fewer false candidates
                rare.append(toks[-1])
            if rare and len(rare) < len(toks):
                bags[k] = (rare, prefix)
                verify = True

    def bag_expr(toks, prefix):
        if prefix:
            return '"' + " ".join(toks) + '" *'
        return " AND ".join(f'"{t}"' for t in toks)

    text_parts, filt_parts = [], []
    singles = iter(bags)
    for g in q.groups:
        if len(g) == 1:
            e = bag_expr(*next(singles))
            if e:
                text_parts.append(e)
        else:
            phrases = [p for p in (_phrase(t) for t in g) if p]
            if phrases:
                text_parts.append("(" + " OR ".join(phrases) + ")")
    if year is not None:
        filt_parts.append(filter_expression(year))
    for col, val in (("publisher", publisher), ("section", section)):
        if val:
            e = bag_expr(*next(singles))
            if e:
                filt_parts.append(f"{{{col}}} : ({e})")
    if not text_parts:   # every term common and dropped: keep them all
        return _plan_exact(q, filters)
    text = " AND ".join(text_parts)
    for t in q.exclude:
        p = _phrase(t)
        if p:
            text = f"({text}) NOT {p}"
    return f"{{{TEXT_COLUMNS}}} : ({text})", " AND ".join(filt_parts), verify


def _plan_exact(q: Query, filters) -> tuple[str, str, bool]:
    return q.expression(), filter_expression(*filters), False


SMALL = 200    # up to this many candidates are fetched, verified and ranked in Python


def _small(conn, q: Query, filters, expr: str, filt: str, unit, verify: bool, first: list):
    """Rank a selective query without FTS5's bm25 (whose IDF step scans the
    doclist of every token in the expression): fetch all candidates, verify
    them, and score with the same title-weighted BM25 in Python.  None if
    there are more than SMALL candidates (``first`` then holds the
    SMALL + 1 highest-rowid candidates, for the windowed ranking)."""
    T = FTS_TABLE
    unit_sql, unit_params = (_UNIT_SQL.format(fts=T), [unit, unit]) if unit else ("", [])
    full = expr + (f" AND {filt}" if filt else "")
    ids = ranking.window(conn, full, SMALL + 1, None, unit_sql, unit_params)
    if len(ids) > SMALL:
        first[:] = ids
        return None
    rows = _fetch(conn, ids)
    docs = {i: _Doc(rows[i]) for i in ids if i in rows}
    if verify:
        ids = [i for i in ids if i in docs and _verify(q, filters, rows[i], docs[i])]
    terms = list(dict.fromkeys(q.terms))
    return ranking.bm25(docs, ids, terms, _doc_count(conn), ranking.avg_length(conn)), rows


WINDOW = 100   # candidates per tier (title matches, all matches) ranked for a broad query


def _windowed(conn, q: Query, filters, expr: str, filt: str, unit, verify: bool, need: int, first=()):
    """Rank a broad query over a bounded window of candidates: the newest
    (highest-rowid) WINDOW matches, plus as many title matches for a
    one-term query, verified and scored with BM25 in Python; IDF from
    estimated document frequencies.  None when the window holds every
    candidate (the caller then ranks them all)."""
    unit_sql, unit_params = (_UNIT_SQL.format(fts=FTS_TABLE), [unit, unit]) if unit else ("", [])
    inner = expr.split(" : ", 1)[1]
    and_filt = f" AND {filt}" if filt else ""
    n = max(need + (10 if verify else 0), min(WINDOW, RANK_BUDGET // _n_tokens(inner)))
    cands = list(first[:n]) if len(first) >= n else ranking.window(
        conn, expr + and_filt, n, None, unit_sql, unit_params)
    if len(cands) < n:
        return None
    title = []
    if len(q.groups) == 1 and len(q.groups[0]) == 1:
        title = ranking.window(conn, f"{{title}} : {inner}" + and_filt, n, None, unit_sql, unit_params)
    ids = list(dict.fromkeys(title + cands))
    rows, docs, kept = {}, {}, []
    while True:
        rows.update(_fetch(conn, [i for i in ids if i not in rows]))
        for i in ids:
            if i in rows and i not in docs:
                docs[i] = _Doc(rows[i])
                if not verify or _verify(q, filters, rows[i], docs[i]):
                    kept.append(i)
        if len(kept) >= need or len(cands) < n:
            break
        n *= 4              # too few exact matches among the candidates: look further back
        cands = ranking.window(conn, expr + and_filt, n, cands[-1], unit_sql, unit_params)
        ids = cands
    terms = list(dict.fromkeys(q.terms))
    n_docs = _doc_count(conn)
    df = None
    if len(terms) > 1:
        df = [ranking.df_estimate(conn, f"{{{TEXT_COLUMNS}}} : " + (_phrase(t) or "\"\""), n_docs) for t in terms]
    else:
        df = [1]
    return ranking.bm25(docs, kept, terms, n_docs, ranking.avg_length(conn), df), rows


def _run(conn, q: Query, limit, offset, filters, unit, html_snippet, exhaustive, mode) -> list[dict]:
    if not q.expression():
        return []
    need = None if limit is None else int(offset) + int(limit)
    expr, filt, verify = _plan(conn, q, filters)
    first: list = []
    hits = _small(conn, q, filters, expr, filt, unit, verify, first)
    if hits is None and need is not None and not exhaustive:
        hits = _windowed(conn, q, filters, expr, filt, unit, verify, need, first)
    if hits is not None:
        rows = hits[1]
        kept = hits[0]
    want = need if (need is None or not verify) else need + 10
    while hits is None:
        hits = ranked_ids(conn, expr, filt, want, unit, exhaustive)
        rows = _fetch(conn, [h[0] for h in hits])
        if verify:
            # the candidate expression is a superset: keep exact matches
            kept = [h for h in hits if _verify(q, filters, rows.get(h[0]))]
        else:
            kept = hits
        if want is None or len(kept) >= need or len(hits) < want:
            break
        want *= 8
        hits = None
    hits = kept[int(offset):need]
    terms = q.terms
    mark = ("<mark>", "</mark>") if html_snippet else ("【", "】")
    out = []
    for aid, rank in hits:
        if aid not in rows:
            continue
        (_, iid, title, subtitle, body, sec, p0, p1, date, pub, yr, no) = rows[aid]
        body_spans = highlight_spans(body or "", terms)
        src = body if (body_spans or not (title and highlight_spans(title, terms))) else title
        out.append({
            "issue_id": iid,
            "article_id": aid,
            "title": title,
            "date": date,
            "publisher": pub,
            "section": sec,
            "snippet": snippet(src, terms, mark=mark, escape=html_snippet),
            "score": -rank,
            "page_start": p0,
            "page_end": p1,
            "year": yr,
            "issue_no": no,
            "match": mode,
        })
    return out


def count(db: DbLike, query: str, *, by: str = "year", year=None, publisher: Optional[str] = None,
          section: Optional[str] = None) -> list[tuple]:
    """Matching articles per period: by 'year', 'month' (YYYY-MM) or 'date'."""
    key = {"year": "i.year", "month": "substr(i.date, 1, 7)", "date": "i.date"}[by]
    conn, owned = connect(db)
    try:
        q = parse_query(query)
        if not parse_query(query).terms:
            return []
        expr = q.expression()
        filt = filter_expression(year, publisher, section)
        if filt:
            expr = f"{expr} AND {filt}"
        sql = (f"select {key} as k, count(*) from {FTS_TABLE} join articles a on a.id = {FTS_TABLE}.rowid"
               f" join issues i on i.id = a.issue_id where {FTS_TABLE} match ? group by k order by k")
        return [tuple(r) for r in conn.execute(sql, [expr]).fetchall()]
    finally:
        if owned:
            conn.close()


def format_results(results: Sequence[dict]) -> str:
    """Plain-text listing for the terminal."""
    if not results:
        return "no matches"
    lines = []
    for n, r in enumerate(results, 1):
        where = " ".join(str(x) for x in (r.get("publisher"), _issue_label(r)) if x)
        page = f" p.{r['page_start']}" if r.get("page_start") else ""
        sec = f" [{r['section']}]" if r.get("section") else ""
        lines.append(f"{n:>3}. {r.get('date') or '????-??-??'}  {r.get('title') or '(untitled)'}{sec}")
        lines.append(f"     {where}{page}  issue {r['issue_id']} article {r['article_id']}")
        if r.get("snippet"):
            lines.append(f"     {r['snippet']}")
    return "\n".join(lines)


def _issue_label(r: dict) -> str:
    if r.get("year") and r.get("issue_no"):
        return f"{r['year']}年第{r['issue_no']}期"
    return ""


# --------------------------------------------------------------------------
# SQL functions (datasette, sqlite3 connections)


def _sql_match(q, column=None, mode=None):
    col = column if column in ("title", "body") else None
    return match_expression(q, col, mode or "exact") or '""'


def _sql_snippet(text, q, html_mark=0):
    terms = parse_query(q).terms
    if html_mark:
        return snippet(text, terms, mark=("<mark>", "</mark>"), escape=True)
    return snippet(text, terms)


def register_functions(conn: sqlite3.Connection) -> None:
    """bulletin_match(q[, column[, mode]]) -> FTS5 MATCH expression ('""' matches nothing);
    bulletin_snippet(text, q[, html]) -> snippet of text around the match;
    bulletin_tokens(text) -> the token string as indexed;
    bulletin_normalize(text) -> normalised text."""
    det, b = {"deterministic": True}, readonly.bounded   # b: text arguments capped in length
    conn.create_function("bulletin_match", 1, b(_sql_match), **det)
    conn.create_function("bulletin_match", 2, b(_sql_match), **det)
    conn.create_function("bulletin_match", 3, b(_sql_match), **det)
    conn.create_function("bulletin_snippet", 2, b(_sql_snippet), **det)
    conn.create_function("bulletin_snippet", 3, b(_sql_snippet), **det)
    conn.create_function("bulletin_tokens", 1, b(index_text), **det)
    conn.create_function("bulletin_normalize", 1, b(normalize), **det)
