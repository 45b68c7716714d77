"""Entities stage: units (organisations), people, places and event dates.

Pure extractors (usable from tests and notebooks)::

    extract_units(text, publisher=None, known=())  -> list[UnitMention]
    extract_people(text)                           -> list[PersonMention]
    extract_places(text)                           -> list[PlaceMention]
    extract_people_and_places(text)                -> both, from one jieba pass
    event_dates(text, issue_date)                  -> list[str]   (ISO dates)
    resolve_unit(surface, publisher=None)          -> Resolution

Archive extension (listed in ``load.EXTENSIONS``)::

    ensure_schema(conn); index_issue(conn, issue_id); unindex_issue(conn, issue_id)

Tables::

    units(id, name, normalised, level, parent_id)
        one row per resolved unit: ``name`` is the resolved full name
        (四川省机关事务管理局), ``normalised`` its match key (whitespace and
        bracket variants folded); UNIQUE(normalised).
    article_units(article_id, unit_id, surface, position, confidence)
        ``surface`` as written (省机关事务管理局), ``confidence`` of the
        resolution: 1.0 exact / already complete, 0.9 well-known abbreviation,
        0.8 prefix completion from the publisher (省… -> 四川省…), 0.6
        abbreviation by context (成都局 -> 成都市机关事务管理局), 0.5 unresolved
        relative form.
    people(id, name), article_people(article_id, person_id, post, position)
    places(id, name, level), article_places(article_id, place_id, surface, position)

Positions are character offsets into the article text
``"\\n".join([title, subtitle, body])`` (empty parts left out), see
:func:`article_text`.

Evaluation against truth files: ``python -m pipeline.archive.entities --eval DIR``.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from dataclasses import dataclass, field
from typing import Iterable, Optional

from pipeline.lexicon import HAN, event_dates  # noqa: F401  (part of this module's API)

import jieba

jieba.setLogLevel(logging.WARNING)


from pipeline.archive.units import (  # noqa: F401
    Resolution, UnitMention, _parent, _region_of, dictionary_words,
    extract_units, known_units_from_lists, resolve_unit, unit_level)
from pipeline.archive.people import (  # noqa: F401
    extract_people, extract_people_and_places, extract_places)


# ---------------------------------------------------------------------------
# Archive extension

# Bump when entity rows change for the same articles (part of the pipeline
# version, so a re-run re-loads issues). 2: tokenizer taught only the issue's
# own unit names (results independent of load order).
VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS units (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,             -- resolved full name
    normalised TEXT NOT NULL UNIQUE,-- match key of the resolved name
    level TEXT,                     -- national/province/city/county/district/unknown
    parent_id INTEGER REFERENCES units(id)
);
CREATE TABLE IF NOT EXISTS article_units (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    unit_id INTEGER NOT NULL REFERENCES units(id),
    surface TEXT NOT NULL,          -- as written
    position INTEGER NOT NULL,      -- offset in article_text()
    confidence REAL
);
CREATE INDEX IF NOT EXISTS article_units_article ON article_units(article_id);
CREATE INDEX IF NOT EXISTS article_units_unit ON article_units(unit_id);
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS article_people (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    person_id INTEGER NOT NULL REFERENCES people(id),
    post TEXT,
    position INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS article_people_article ON article_people(article_id);
CREATE INDEX IF NOT EXISTS article_people_person ON article_people(person_id);
CREATE TABLE IF NOT EXISTS places (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    level TEXT
);
CREATE TABLE IF NOT EXISTS article_places (
    article_id INTEGER NOT NULL REFERENCES articles(id),
    place_id INTEGER NOT NULL REFERENCES places(id),
    surface TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS article_places_article ON article_places(article_id);
CREATE INDEX IF NOT EXISTS article_places_place ON article_places(place_id);
"""


def ensure_schema(conn) -> None:
    conn.executescript(SCHEMA)


def article_text(title: Optional[str], subtitle: Optional[str], body: Optional[str]) -> str:
    return "\n".join(p for p in (title, subtitle, body) if p)


def normal_key(name: str) -> str:
    name = re.sub(r"\s+", "", name)
    return name.translate(str.maketrans("()", "（）"))


def _unit_id(conn, name: str, level: str, parent: Optional[str]) -> int:
    key = normal_key(name)
    row = conn.execute("SELECT id, parent_id FROM units WHERE normalised = ?", [key]).fetchone()
    if row:
        if row[1] is None and parent:
            pid = _unit_id(conn, parent, unit_level(parent), _parent(parent))
            conn.execute("UPDATE units SET parent_id = ? WHERE id = ?", [pid, row[0]])
        return row[0]
    pid = None
    if parent and normal_key(parent) != key:
        pid = _unit_id(conn, parent, unit_level(parent), _parent(parent))
    cur = conn.execute("INSERT INTO units (name, normalised, level, parent_id) VALUES (?,?,?,?)",
                       [name, key, level, pid])
    return cur.lastrowid


def _row_id(conn, table: str, name: str, **extra) -> int:
    row = conn.execute(f"SELECT id FROM {table} WHERE name = ?", [name]).fetchone()
    if row:
        return row[0]
    cols = ["name"] + list(extra)
    cur = conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                       [name] + list(extra.values()))
    return cur.lastrowid


def issue_known_units(publisher: Optional[str], recipients=(), cc=()) -> list[str]:
    """Full unit names an issue itself gives (its publisher, 主送 and 抄送): the
    only names taught to the tokenizer for its articles, so an issue's entities
    do not depend on what else the archive holds or on load order."""
    lst = ([publisher] if publisher else []) + list(recipients or []) + list(cc or [])
    return sorted(set(known_units_from_lists(lst)))


@dataclass
class ArticleEntities:
    """Entities of one article (``seq``), computed where the issue was read."""
    seq: int
    units: list = field(default_factory=list)      # UnitMention
    people: list = field(default_factory=list)     # PersonMention
    places: list = field(default_factory=list)     # PlaceMention


def article_entities(seq: int, text: str, publisher: Optional[str], known: list[str]) -> ArticleEntities:
    if not text:
        return ArticleEntities(seq)
    people, places = extract_people_and_places(text)
    return ArticleEntities(seq, extract_units(text, publisher, known), people, places)


def issue_entities(issue) -> list[ArticleEntities]:
    """Entities of every article of a ``models.Issue`` (a worker computes them,
    the loading process only writes them)."""
    meta = issue.meta
    known = issue_known_units(meta.publisher, meta.recipients, meta.cc)
    return [article_entities(a.seq, article_text(a.title, a.subtitle, a.body), meta.publisher, known)
            for a in issue.articles]


def unindex_issue(conn, issue_id: str) -> None:
    for table in ("article_units", "article_people", "article_places"):
        conn.execute(f"DELETE FROM {table} WHERE article_id IN "
                     f"(SELECT id FROM articles WHERE issue_id = ?)", [issue_id])


def index_issue(conn, issue_id: str, computed: Optional[list[ArticleEntities]] = None) -> None:
    """Write the entity rows of an issue whose articles are loaded; ``computed``
    (from :func:`issue_entities`) saves extracting them here."""
    # runs inside load_issue's transaction: no DDL here (executescript would commit)
    unindex_issue(conn, issue_id)
    ids = dict(conn.execute("SELECT seq, id FROM articles WHERE issue_id = ?", [issue_id]).fetchall())
    if computed is None:
        row = conn.execute("SELECT publisher, recipients, cc FROM issues WHERE id = ?", [issue_id]).fetchone()
        publisher, rec, cc = row if row else (None, None, None)
        known = issue_known_units(publisher, _json_list(rec), _json_list(cc))
        arts = conn.execute("SELECT seq, title, subtitle, body FROM articles WHERE issue_id = ? ORDER BY seq",
                            [issue_id]).fetchall()
        computed = [article_entities(seq, article_text(t, st, b), publisher, known) for seq, t, st, b in arts]
    for ents in computed:
        aid = ids.get(ents.seq)
        if aid is None:
            continue
        for u in ents.units:
            uid = _unit_id(conn, u.normalised or u.surface, u.level, u.parent)
            conn.execute("INSERT INTO article_units (article_id, unit_id, surface, position, confidence)"
                         " VALUES (?,?,?,?,?)", [aid, uid, u.surface, u.position, u.confidence])
        for p in ents.people:
            pid = _row_id(conn, "people", p.name)
            conn.execute("INSERT INTO article_people (article_id, person_id, post, position)"
                         " VALUES (?,?,?,?)", [aid, pid, p.post, p.position])
        for pl in ents.places:
            plid = _row_id(conn, "places", pl.name, level=pl.level)
            conn.execute("INSERT INTO article_places (article_id, place_id, surface, position)"
                         " VALUES (?,?,?,?)", [aid, plid, pl.surface, pl.position])


def _json_list(js) -> list:
    try:
        return list(json.loads(js)) if js else []
    except (TypeError, ValueError):
        return []


def unit_surfaces(title: str, body: str, publisher: Optional[str] = None,
                  known: Iterable[str] = (), subtitle: Optional[str] = None) -> list[str]:
    """Distinct unit surfaces of an article in order of first appearance (Article.units)."""
    out: list[str] = []
    for u in extract_units(article_text(title, subtitle, body), publisher, known):
        if u.surface not in out:
            out.append(u.surface)
    return out


# ---------------------------------------------------------------------------
# Evaluation CLI

def evaluate(truth_dir: str, verbose: bool = False) -> dict:
    from pathlib import Path
    tp = fp = fn = 0
    dtp = dfp = dfn = 0
    lines = []
    for f in sorted(Path(truth_dir).glob("*.json")):
        d = json.loads(f.read_text(encoding="utf-8"))
        iss = d.get("issue", {})
        known = known_units_from_lists([iss.get("publisher")], iss.get("recipients"), iss.get("cc"))
        for a in d.get("articles", []):
            want = set(a.get("units") or [])
            got = set(unit_surfaces(a.get("title") or "", a.get("body") or "", iss.get("publisher"),
                                    known, a.get("subtitle")))
            tp += len(want & got)
            fp += len(got - want)
            fn += len(want - got)
            if verbose and (got != want):
                lines.append(f"{f.stem} {a.get('title')}\n   missing {sorted(want - got)}\n"
                             f"   extra   {sorted(got - want)}")
            if "event_dates" in a:
                wd = set(a["event_dates"] or [])
                gd = set(event_dates(article_text(a.get("title"), a.get("subtitle"), a.get("body")),
                                     iss.get("date")))
                dtp += len(wd & gd)
                dfp += len(gd - wd)
                dfn += len(wd - gd)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    dp = dtp / (dtp + dfp) if dtp + dfp else 1.0
    dr = dtp / (dtp + dfn) if dtp + dfn else 1.0
    return {"precision": p, "recall": r, "tp": tp, "fp": fp, "fn": fn,
            "date_precision": dp, "date_recall": dr, "details": lines}


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="python -m pipeline.archive.entities")
    ap.add_argument("--eval", metavar="TRUTH_DIR", help="score unit extraction against truth files")
    ap.add_argument("-v", "--verbose", action="store_true", help="list misses and extras")
    ap.add_argument("text", nargs="?", help="extract from this text")
    ap.add_argument("--publisher")
    args = ap.parse_args(argv)
    if args.eval:
        res = evaluate(args.eval, args.verbose)
        for line in res["details"]:
            print(line)
        print(f"units: precision {res['precision']:.3f} recall {res['recall']:.3f} "
              f"(tp {res['tp']}, fp {res['fp']}, fn {res['fn']})")
        print(f"event dates: precision {res['date_precision']:.3f} recall {res['date_recall']:.3f}")
        return 0
    if args.text:
        for u in extract_units(args.text, args.publisher):
            print("unit", u)
        for p in extract_people(args.text):
            print("person", p)
        for pl in extract_places(args.text):
            print("place", pl)
        return 0
    ap.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
