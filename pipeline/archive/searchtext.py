"""Search text: normalisation (NFKC, traditional -> simplified, OCR gaps),
character-bigram tokens, the query language, exact-substring checks and
snippets. Pure functions; :mod:`pipeline.archive.search` runs them against
the index."""
from __future__ import annotations

import functools
import html
import logging
import operator
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Optional, Sequence

from pipeline.lexicon import HAN

FTS_TABLE = "articles_fts"
META_TABLE = "search_meta"
VIEW = "article_index"   # articles with their issue's date/year/publisher (facets, browsing)
# Bump when normalisation or tokenisation changes: existing indexes are then
# rebuilt by ensure_schema (a contentless index can only be maintained with
# the exact tokens it was built from).
TOKENIZER_VERSION = "3"
TITLE_WEIGHT = 10.0
BODY_WEIGHT = 1.0
TEXT_COLUMNS = "title body"
# Queries matching more articles than this (per phrase token) are ranked
# within the first RANK_WINDOW matches in rowid order (see search()).
RANK_BUDGET = 6000
RANK_WINDOW_MIN = 500

# Characters written without spaces between words: bigram-indexed.
_HAN_CLASS = (
    "\u3005\u3007\u3021-\u3029\u3038-\u303b"   # 々 〇 and Hangzhou numerals
    "\u3040-\u30ff"                            # kana
    + HAN +                                    # CJK unified (+ext A, compat)
    "\uac00-\ud7af"                            # hangul syllables
    "\U00020000-\U0003134f"                    # CJK ext B..G
)
_HAN_RUN = re.compile(f"([{_HAN_CLASS}]+)")
_HAN_CHAR = re.compile(f"[{_HAN_CLASS}]")
_GAP = re.compile(f"(?<=[{_HAN_CLASS}])\\s+(?=[{_HAN_CLASS}])")
_WORD = re.compile(r"[^\W_]+")
_TOKEN_CHAR = re.compile(f"[{_HAN_CLASS}]|[^\\W_]")

_log = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# normalisation

_TABLE: Optional[dict] = None


def _table() -> dict:
    """Per-character map: NFKC, then t2s, then lower case (built once)."""
    global _TABLE
    if _TABLE is not None:
        return _TABLE
    t2s = _t2s_chars()
    table: dict[int, str] = {}
    is_nfkc = unicodedata.is_normalized
    for cp in range(0x30000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if is_nfkc("NFKC", ch) and ch not in t2s and ch.lower() == ch:
            continue
        n = unicodedata.normalize("NFKC", ch)
        n = "".join(t2s.get(c, c) for c in n).lower()
        if n != ch:
            table[cp] = n
    _TABLE = table
    return table


def _t2s_chars() -> dict[str, str]:
    """Single-character traditional->simplified map of OpenCC t2s (first candidate)."""
    import opencc

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    m: dict[str, str] = {}
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            k, _, v = line.partition("\t")
            if len(k) == 1 and v:
                m[k] = v.split(" ")[0]
        if m:
            return {k: v for k, v in m.items() if k != v}
    except OSError:
        pass
    ranges = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F)]
    han = [chr(c) for a, b in ranges for c in range(a, b + 1)]
    simp = opencc.OpenCC("t2s").convert("\n".join(han)).split("\n")
    return {a: b for a, b in zip(han, simp) if a != b} if len(simp) == len(han) else {}


def normalize(text: Optional[str]) -> str:
    """NFKC + traditional->simplified + lower case, OCR gaps between Han removed."""
    if not text:
        return ""
    return _GAP.sub("", text.translate(_table()))


def _normalize_mapped(text: str) -> tuple[str, list[int]]:
    """Compact normalised text (token characters only) and, for each of its
    characters, the index of the original character it came from."""
    table = _table()
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        out = table.get(ord(ch), ch)
        for c in out:
            chars.append(c)
            where.append(i)
    keep = [k for k, c in enumerate(chars) if _TOKEN_CHAR.match(c)]
    return "".join(chars[k] for k in keep), [where[k] for k in keep]


def _compact(text: str) -> str:
    return "".join(_TOKEN_CHAR.findall(normalize(text)))


# --------------------------------------------------------------------------
# tokens


def _han_tokens(run: str) -> list[str]:
    """Bigram starting at every character, the last character alone."""
    return list(map(operator.add, run, run[1:])) + [run[-1]]


def tokens(text: Optional[str]) -> list[str]:
    """Index tokens of ``text`` (normalised)."""
    out: list[str] = []
    parts = _HAN_RUN.split(normalize(text))
    for k, part in enumerate(parts):
        if not part:
            continue
        if k % 2:
            out.extend(_han_tokens(part))
        else:
            out.extend(_WORD.findall(part))
    return out


def index_text(text: Optional[str]) -> str:
    """The space-separated token string stored in the FTS table."""
    return " ".join(tokens(text))


def _term_tokens(term: str) -> tuple[list[str], bool]:
    """Tokens of one query term for an exact phrase, and whether the last one
    is a prefix (a term ending in a single Han character)."""
    parts = [p for p in _HAN_RUN.split(normalize(term))]
    out: list[str] = []
    prefix = False
    last_han = max((k for k, p in enumerate(parts) if p and k % 2), default=-1)
    last_any = max((k for k, p in enumerate(parts) if p and (k % 2 or _WORD.search(p))), default=-1)
    for k, part in enumerate(parts):
        if not part:
            continue
        if k % 2:
            toks = _han_tokens(part)
            if k == last_han and k == last_any:
                # the text may continue the run after the term's last
                # character: its bigram already covers it, or, for a
                # one-character run, match any token starting with it
                if len(part) > 1:
                    toks = toks[:-1]
                else:
                    prefix = True
            out.extend(toks)
        else:
            out.extend(_WORD.findall(part))
    return out, prefix


def _phrase(term: str, tag: str = "") -> Optional[str]:
    """Exact FTS5 phrase for a term; ``tag`` prefixes every token (filter columns)."""
    toks, prefix = _term_tokens(term)
    if not toks:
        return None
    return '"' + " ".join(tag + t for t in toks) + '"' + (" *" if prefix else "")


# --------------------------------------------------------------------------
# query parsing

_QTOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


class Query:
    """A parsed query: groups of alternatives (ANDed), excluded terms."""

    def __init__(self, groups: list[list[str]], exclude: list[str]):
        self.groups = groups
        self.exclude = exclude

    @property
    def terms(self) -> list[str]:
        return [t for g in self.groups for t in g]

    def expression(self, column: Optional[str] = None) -> str:
        """The exact FTS5 expression (phrases) over ``column`` (default title and body)."""
        parts = []
        for g in self.groups:
            phrases = [p for p in (_phrase(t) for t in g) if p]
            if phrases:
                parts.append(phrases[0] if len(phrases) == 1 else "(" + " OR ".join(phrases) + ")")
        if not parts:
            return ""
        expr = " AND ".join(parts)
        for t in self.exclude:
            p = _phrase(t)
            if p:
                expr = f"({expr}) NOT {p}"
        return f"{{{column or TEXT_COLUMNS}}} : ({expr})"

    def words(self) -> Optional["Query"]:
        """The same query with long terms split into words by jieba, or None
        if that changes nothing."""
        changed = False
        groups = []
        for g in self.groups:
            if len(g) == 1 and len(_compact(g[0])) >= 4:
                ws = _jieba_words(g[0])
                if len(ws) > 1:
                    groups.extend([w] for w in ws)
                    changed = True
                    continue
            groups.append(g)
        return Query(groups, self.exclude) if changed else None


class QueryError(ValueError):
    """A query the search cannot take; the message is one line for the user."""


# Terms (searched and excluded) in one query: each exclusion nests the FTS5
# expression one level deeper, and FTS5's parser overflows near 100 levels.
MAX_QUERY_TERMS = 32


def parse_query(q: Optional[str]) -> Query:
    """Terms ANDed, ``a OR b`` alternatives, ``-term`` and ``NOT term`` exclusions,
    ``"..."`` phrases. A leading (or dangling) ``OR``, a query of exclusions
    only and more than MAX_QUERY_TERMS terms raise QueryError."""
    groups: list[list[str]] = []
    exclude: list[str] = []
    pending_or = pending_not = False
    for m in _QTOKEN.finditer(q or ""):
        neg, quoted, bare = m.group(1), m.group(2), m.group(3)
        if bare is not None:
            if bare == "OR":
                if not groups or pending_or or pending_not:
                    raise QueryError("OR must stand between two terms (a OR b)")
                pending_or = True
                continue
            if bare == "NOT" and not pending_not:
                pending_or, pending_not = False, True
                continue
            if bare.startswith("-") and len(bare) > 1:
                neg, term = "-", bare[1:]
            else:
                term = bare
        else:
            term = quoted
        if not _compact(term):
            continue
        if neg or pending_not:
            exclude.append(term)
        elif pending_or:
            groups[-1].append(term)
        else:
            groups.append([term])
        pending_or = pending_not = False
        if len(exclude) + sum(map(len, groups)) > MAX_QUERY_TERMS:
            raise QueryError(f"too many terms (more than {MAX_QUERY_TERMS} words and exclusions)")
    if pending_or:
        raise QueryError("OR must stand between two terms (a OR b)")
    if exclude and not groups:
        raise QueryError("nothing to search for: the query only excludes terms")
    return Query(groups, exclude)


def match_expression(q: Optional[str], column: Optional[str] = None, mode: str = "exact") -> str:
    """The FTS5 MATCH expression for a user query ('' if it has no terms).

    ``mode='words'`` splits long terms into jieba words first."""
    query = parse_query(q)
    if mode == "words":
        query = query.words() or query
    return query.expression(column)


_JIEBA = None


def _jieba_words(term: str) -> list[str]:
    global _JIEBA
    if _JIEBA is None:
        import jieba

        from pipeline.archive import jiebadict

        jieba.setLogLevel(logging.WARNING)
        _JIEBA = jiebadict.initialize(jieba.dt)
    words = [w for w in _JIEBA.cut(normalize(term)) if _compact(w)]
    long_ = [w for w in words if len(_compact(w)) > 1]
    return long_ if long_ else words


def keywords(text: str, k: int = 10) -> list[str]:
    """jieba TF-IDF keywords of ``text`` (for exploring, not for matching)."""
    _jieba_words("初始化")
    import jieba.analyse

    return jieba.analyse.extract_tags(normalize(text), topK=k)


# --------------------------------------------------------------------------
# snippets


def _find_all(hay: str, needle: str) -> list[int]:
    out, i = [], hay.find(needle)
    while i >= 0 and needle:
        out.append(i)
        i = hay.find(needle, i + 1)
    return out


@functools.lru_cache(maxsize=4096)
def _term_regex(term: str) -> Optional[re.Pattern]:
    """Regex over per-character-normalised text: the term's token characters
    with any non-token characters (gaps, punctuation) between them."""
    ct = _compact(term)
    return re.compile(r"[\W_]*".join(re.escape(c) for c in ct)) if ct else None


def _norm_same_length(text: str) -> Optional[str]:
    t = text.translate(_table())
    return t if len(t) == len(text) else None


def contains(text: Optional[str], term: str) -> bool:
    """Does ``text`` contain ``term`` after normalisation (gaps/punctuation ignored)?"""
    if not text:
        return False
    t = _norm_same_length(text)
    if t is None:
        return _compact(term) in _compact(text)
    rx = _term_regex(term)
    return bool(rx and rx.search(t))


def highlight_spans(text: str, terms: Iterable[str]) -> list[tuple[int, int]]:
    """(start, end) spans of ``text`` (original characters) matching any term."""
    if not text:
        return []
    spans = []
    t = _norm_same_length(text)
    if t is not None:       # one normalised character per original character
        for term in terms:
            rx = _term_regex(term)
            if rx:
                spans.extend(m.span() for m in rx.finditer(t) if m.end() > m.start())
    else:
        comp, where = _normalize_mapped(text)
        for term in terms:
            ct = _compact(term)
            for i in _find_all(comp, ct):
                spans.append((where[i], where[i + len(ct) - 1] + 1))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


_NL_AFTER_PUNCT = re.compile(r"(?<=[。，、；：！？）」』”])[ \t\u3000]*\n\s*")


def snippet(text: Optional[str], terms: Sequence[str], *, before: int = 30, after: int = 60,
            mark: tuple[str, str] = ("【", "】"), ellipsis: str = "…", escape: bool = False) -> str:
    """A window of the ORIGINAL ``text`` around the first match, matches marked.

    ``escape=True`` HTML-escapes the text (use with ``mark=('<mark>', '</mark>')``)."""
    text = text or ""
    spans = highlight_spans(text, terms)
    if spans:
        start = max(0, spans[0][0] - before)
        end = min(len(text), spans[0][1] + after)
    else:
        start, end = 0, min(len(text), before + after)
    esc = html.escape if escape else (lambda s: s)
    out, pos = [], start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(esc(text[pos:s]))
        out.append(mark[0] + esc(text[s:e]) + mark[1])
        pos = e
    out.append(esc(text[pos:end]))
    body = _NL_AFTER_PUNCT.sub("", "".join(out))
    body = re.sub(r"\s*\n\s*", " ", body).strip()
    return (ellipsis if start > 0 else "") + body + (ellipsis if end < len(text) else "")
