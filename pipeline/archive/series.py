"""Series: one masthead title + publisher, and the health of its numbering.

``build_series(conn)`` (re)builds two tables from ``issues``::

    series(id, title, publisher, first_date, last_date, issue_count)
    series_report(series_id, year, kind, detail)

``kind`` is one of

* ``gap``            期号 missing within a year between 1 (or the year's first
                     number, when that year is reported as a ``restart``) and
                     the year's highest 期号; one row per run of missing numbers,
                     detail ``第3期`` or ``第3-5期``.
* ``duplicate``      the same year + 期号 + special printed by two or more
                     different inputs (different content hash); detail
                     ``第4期 ×2: <id> (<date>), <id> (<date>)``.
* ``total_no_order`` in date order, a 总期号 that is not larger than the
                     总期号 of an earlier issue; detail names both issues.
* ``restart``        a year whose 期号 does not restart near 1 but carries on
                     from the previous year (first number above ``NEAR_ONE`` and
                     within ``NEAR_ONE`` of the previous year's last number + 1;
                     gaps are then counted from that first number),
                     or that jumps back within the year (in date order, a 期号
                     lower than an earlier one).  A late first number with no
                     such evidence is reported as a gap from 第1期 (issues
                     missing from the archive).

Special issues (特刊/增刊) are numbered within their own sub-series: every
check runs per (series, special); details of a special sub-series start
with its name (``增刊第2期``).

``format_report(conn)`` renders the tables (plus the issues present per year
with 期号 and 总期号) as text for ``bulletin series``.
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Optional

from pipeline.archive import editions

NEAR_ONE = 3          # a year whose first 期号 is above this did not restart at 1
KINDS = ("restart", "gap", "duplicate", "total_no_order")

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    title TEXT,
    publisher TEXT,
    first_date TEXT,
    last_date TEXT,
    issue_count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS series_report (
    series_id INTEGER NOT NULL REFERENCES series(id),
    year INTEGER,
    kind TEXT NOT NULL,             -- gap / duplicate / total_no_order / restart
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS series_report_series ON series_report(series_id);
"""


def _conn(db):
    return getattr(db, "conn", db)


def ensure_schema(conn) -> None:
    _conn(conn).executescript(SCHEMA)


class _Iss:
    __slots__ = ("id", "sha", "title", "publisher", "year", "no", "total", "special", "date")

    def __init__(self, row):
        (self.id, self.sha, self.title, self.publisher, year, self.no, self.total,
         special, self.date) = row
        if year is None and self.date:
            m = re.match(r"(\d{4})", self.date)
            year = int(m.group(1)) if m else None
        self.year = year
        self.special = (special or "").strip() or None

    @property
    def order(self):
        # date order; issues without a date sort by year and number
        return (self.date or f"{self.year or 0:04d}-99", self.year or 0, self.no or 0, self.id)

    def label(self, with_year: bool = False) -> str:
        y = f"{self.year}年" if with_year and self.year else ""
        n = f"第{self.no}期" if self.no is not None else "(no 期号)"
        return f"{y}{self.special or ''}{n}"


def _numbers(a: int, b: int, special: Optional[str]) -> str:
    sp = special or ""
    return f"{sp}第{a}期" if a == b else f"{sp}第{a}-{b}期"


def check_subseries(issues: list[_Iss]) -> list[tuple[Optional[int], str, str]]:
    """Report rows (year, kind, detail) for the issues of one (series, special)."""
    rows: list[tuple[Optional[int], str, str]] = []
    special = issues[0].special if issues else None
    sp = special or ""
    by_year: dict[Optional[int], list[_Iss]] = defaultdict(list)
    for i in issues:
        by_year[i.year].append(i)
    years = sorted(y for y in by_year if y is not None)
    prev_last: dict[int, int] = {}
    for y in years:
        numbered = sorted((i for i in by_year[y] if i.no is not None), key=lambda i: i.order)
        if not numbered:
            continue
        nos = {i.no for i in numbered}
        lo, hi = min(nos), max(nos)
        # restart: not starting near 1 although the previous year's numbers
        # lead up to it (numbering carried on over the new year). Without that
        # evidence a late first number means missing issues: gaps from 第1期.
        start = 1
        prev = prev_last.get(y - 1)
        if lo > NEAR_ONE and prev is not None and prev - NEAR_ONE <= lo <= prev + 1 + NEAR_ONE:
            start = lo
            first = min(numbered, key=lambda i: (i.no, i.order))
            detail = f"{sp}starts at 第{lo}期, continuing {y - 1}年 (last {sp}第{prev}期)"
            if first.date:
                detail += f" ({first.date})"
            rows.append((y, "restart", detail))
        prev_last[y] = hi
        # restart: jumping back within the year (date order)
        best: Optional[_Iss] = None
        for i in numbered:
            if best is not None and i.date and best.date and i.date > best.date and i.no < best.no:
                rows.append((y, "restart", f"{sp}第{i.no}期 ({i.date}) after {sp}第{best.no}期 ({best.date})"))
            if best is None or i.no > best.no:
                best = i
        # gaps
        missing = [n for n in range(start, hi + 1) if n not in nos]
        for a, b in _runs(missing):
            rows.append((y, "gap", _numbers(a, b, special)))
        # duplicates: same number from different content
        by_no: dict[int, list[_Iss]] = defaultdict(list)
        for i in numbered:
            by_no[i.no].append(i)
        for n in sorted(by_no):
            group = by_no[n]
            if len({i.sha for i in group}) > 1:
                group = sorted(group, key=lambda i: i.order)
                rows.append((y, "duplicate", f"{sp}第{n}期 ×{len(group)}: " +
                             ", ".join(f"{i.id} ({i.date or '?'})" for i in group)))
    # 总期号 must increase with date (one issue per year + number)
    seen: set = set()
    ordered = []
    for i in sorted(issues, key=lambda i: i.order):
        key = (i.year, i.no)
        if i.total is None or (i.no is not None and key in seen):
            continue
        seen.add(key)
        ordered.append(i)
    best = None
    for i in ordered:
        if best is not None and i.total <= best.total:
            rows.append((i.year, "total_no_order",
                         f"{i.label(True)} ({i.date or '?'}) 总第{i.total}期 not after "
                         f"{best.label(True)} ({best.date or '?'}) 总第{best.total}期"))
        if best is None or i.total > best.total:
            best = i
    return rows


def _runs(nums: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in nums:
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def _load(conn) -> dict[tuple, list[_Iss]]:
    """Issues grouped by series: same publisher, mastheads equal or within an
    OCR slip of each other (:func:`editions.same_title`).  Renditions of one
    issue (a born-digital file and its scan) count once: the best rendition."""
    rows = conn.execute(
        "SELECT id, source_sha256, title, publisher, year, issue_no, total_no, special, date"
        " FROM issues").fetchall()
    ed = editions.editions(conn)
    rows = [r for r in rows if ed.get(r[0], (r[0], 0))[1] == 0]
    by_pub: dict[str, list[_Iss]] = defaultdict(list)
    for r in rows:
        i = _Iss(r)
        by_pub[i.publisher or ""].append(i)
    groups: dict[tuple, list[_Iss]] = {}
    for pub, issues in by_pub.items():
        variants: dict[str, list[_Iss]] = defaultdict(list)
        for i in issues:
            variants[i.title or ""].append(i)
        # most common masthead first: the OCR slips join it
        clusters: list[list[str]] = []
        for t in sorted(variants, key=lambda t: (-len(variants[t]), t)):
            for c in clusters:
                if editions.same_title(c[0], t):
                    c.append(t)
                    break
            else:
                clusters.append([t])
        for c in clusters:
            groups[(c[0], pub)] = [i for t in c for i in variants[t]]
    return groups


def compute(conn) -> list[dict]:
    """The series report in memory (nothing is written): one dict per series
    with title, variants, publisher, first/last date, issue_count, per-year
    issues present and problem rows."""
    conn = _conn(conn)
    groups = _load(conn)
    out = []
    for sid, key in enumerate(sorted(groups), start=1):
        issues = groups[key]
        dates = sorted(i.date for i in issues if i.date)
        subs: dict[Optional[str], list[_Iss]] = defaultdict(list)
        for i in issues:
            subs[i.special].append(i)
        rows = []
        for special in sorted(subs, key=lambda s: (s is not None, s or "")):
            rows += [(y, k, d, special is not None) for y, k, d in check_subseries(subs[special])]
        rows.sort(key=lambda r: (r[0] is None, r[0] or 0, r[3], KINDS.index(r[1])))
        by_year: dict = defaultdict(list)
        for i in issues:
            by_year[i.year].append(i)
        years = []
        for y in sorted(by_year, key=lambda y: (y is None, y or 0)):
            items = sorted(by_year[y], key=lambda i: (i.special or "", i.no if i.no is not None else 10**6,
                                                       i.order))
            years.append({"year": y, "issues": [{"id": i.id, "special": i.special, "issue_no": i.no,
                                                 "total_no": i.total, "date": i.date} for i in items]})
        out.append({"id": sid, "title": key[0] or None, "publisher": key[1] or None,
                    "variants": sorted({i.title for i in issues if i.title and i.title != key[0]}),
                    "first_date": dates[0] if dates else None, "last_date": dates[-1] if dates else None,
                    "issue_count": len(issues), "years": years,
                    "problems": [{"year": y, "kind": k, "detail": d} for y, k, d, _ in rows]})
    return out


def build_series(conn) -> int:
    """Rebuild ``series`` and ``series_report`` from ``issues``. Returns the number of series."""
    conn = _conn(conn)
    ensure_schema(conn)
    report = compute(conn)
    with conn:
        conn.execute("DELETE FROM series_report")
        conn.execute("DELETE FROM series")
        for s in report:
            conn.execute(
                "INSERT INTO series (id, title, publisher, first_date, last_date, issue_count)"
                " VALUES (?,?,?,?,?,?)",
                [s["id"], s["title"], s["publisher"], s["first_date"], s["last_date"], s["issue_count"]])
            conn.executemany("INSERT INTO series_report (series_id, year, kind, detail) VALUES (?,?,?,?)",
                             [(s["id"], p["year"], p["kind"], p["detail"]) for p in s["problems"]])
    return len(report)


def report_rows(conn, series_id: Optional[int] = None) -> list[tuple]:
    """(series_id, year, kind, detail) rows in report order."""
    conn = _conn(conn)
    q = "SELECT series_id, year, kind, detail FROM series_report"
    args: list = []
    if series_id is not None:
        q += " WHERE series_id = ?"
        args.append(series_id)
    return [tuple(r) for r in conn.execute(q + " ORDER BY rowid", args).fetchall()]


def format_report(conn, report: Optional[list[dict]] = None) -> str:
    """Text report of every series: issues present per year, then problems.
    Computed from ``issues`` (read-only) unless ``report`` is given."""
    report = compute(conn) if report is None else report
    if not report:
        return "no series (the archive is empty)"
    out: list[str] = []
    for s in report:
        count = s["issue_count"]
        out.append(f"《{s['title'] or '(no masthead)'}》 {s['publisher'] or '(no publisher)'}: "
                   f"{count} issue{'s' if count != 1 else ''}, {s['first_date'] or '?'} – {s['last_date'] or '?'}")
        if s["variants"]:
            out.append("  also printed as: " + ", ".join(f"《{v}》" for v in s["variants"]))
        for y in s["years"]:
            parts = []
            for i in y["issues"]:
                p = f"{i['special'] or ''}{i['issue_no'] if i['issue_no'] is not None else '?'}"
                if i["total_no"] is not None:
                    p += f"(总{i['total_no']})"
                parts.append(p)
            out.append(f"  {y['year'] if y['year'] is not None else '????'}: " + " ".join(parts))
        if s["problems"]:
            for p in s["problems"]:
                out.append(f"  ! {p['year'] if p['year'] is not None else '????'} {p['kind']}: {p['detail']}")
        else:
            out.append("  ok: no gaps, duplicates or numbering problems")
    return "\n".join(out)
