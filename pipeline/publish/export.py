"""Exports for researchers: an issue, an article or search results as plain
text, Markdown, JSON or CSV, each with its citation; searchable PDF and ALTO
XML of an issue's pages are in :mod:`pipeline.publish.pdfexport`.

    export_article(conn, 4653069434679298, "md") -> str
    export_issue(conn, "ce1af1087f126c4f", "json") -> str
    export_search(conn, "公务用车", "csv", year=2022) -> str
"""
from __future__ import annotations

import csv
import io
import json
from typing import Optional

from pipeline.archive import corrections, editions, search

TEXT_FORMATS = ("txt", "md", "json", "csv")
ARTICLE_FIELDS = ["id", "issue_id", "seq", "section", "title", "subtitle", "body", "page_start", "page_end",
                  "event_date", "confidence", "needs_review"]
ISSUE_FIELDS = ["id", "title", "publisher", "year", "issue_no", "total_no", "special", "date", "printed_date",
                "copies", "disclosure", "recipients", "cc", "page_count", "article_count", "source_path",
                "methods", "confidence", "needs_review"]
CSV_COLUMNS = ["article_id", "issue_id", "citation", "date", "publisher", "issue_title", "issue_no", "section",
               "title", "subtitle", "page_start", "page_end", "body"]


class NotFound(LookupError):
    """No such issue or article (one line, for the CLI)."""


def _rows(conn, sql: str, params=()) -> list[dict]:
    cur = conn.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _json_list(v):
    try:
        return json.loads(v) if isinstance(v, str) and v.startswith("[") else v
    except ValueError:
        return v


def article_record(conn, article_id) -> dict:
    try:
        aid = int(article_id)
    except (TypeError, ValueError):
        raise NotFound(f"article id must be a number, got {article_id!r}") from None
    a = editions.article_row(conn, aid)
    if a is None:
        raise NotFound(f"no article with id {article_id} in the archive")
    issue = editions.issue_row(conn, a["issue_id"]) or {"id": a["issue_id"]}
    rec = {k: a.get(k) for k in ARTICLE_FIELDS}
    rec["event_dates"] = _json_list(a.get("event_dates"))
    rec["citation"] = editions.citation(issue, a)
    rec["issue"] = {k: _json_list(issue.get(k)) for k in ISSUE_FIELDS if k in issue}
    orig = corrections.originals(conn, "article", aid)
    if orig:
        rec["corrected"] = orig
    return rec


def issue_record(conn, issue_id: str) -> dict:
    issue = editions.issue_row(conn, issue_id)
    if issue is None:
        raise NotFound(f"no issue with id {issue_id} in the archive")
    rec = {k: _json_list(issue.get(k)) for k in ISSUE_FIELDS if k in issue}
    rec["citation"] = editions.citation(issue)
    ed = editions.editions(conn)
    eid = ed.get(issue_id, (issue_id, 0))[0]
    rec["renditions"] = sorted(i for i, (e, _) in ed.items() if e == eid and i != issue_id)
    orig = corrections.originals(conn, "issue", issue_id)
    if orig:
        rec["corrected"] = orig
    rec["articles"] = []
    for a in _rows(conn, "SELECT id FROM articles WHERE issue_id = ? ORDER BY seq", [issue_id]):
        art = article_record(conn, a["id"])
        art.pop("issue", None)
        rec["articles"].append(art)
    return rec


# --------------------------------------------------------------------------
# formats

def _article_txt(a: dict) -> str:
    head = [f"【{a['section']}】" if a.get("section") else "", a.get("title") or ""]
    if a.get("subtitle"):
        head.append(a["subtitle"])
    return "\n".join(h for h in head if h) + f"\n\n{a.get('body') or ''}\n\n—— {a['citation']}\n"


def _article_md(a: dict, level: int = 1) -> str:
    out = [f"{'#' * level} {a.get('title') or ''}"]
    if a.get("subtitle"):
        out.append(f"\n*{a['subtitle']}*")
    if a.get("section"):
        out.append(f"\n栏目：{a['section']}")
    out.append(f"\n> {a['citation']}\n")
    out += [p for p in (a.get("body") or "").split("\n") if p.strip()]
    return "\n\n".join(x.strip("\n") for x in out) + "\n"


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def _csv_row(a: dict, issue: dict) -> dict:
    return {"article_id": a["id"], "issue_id": a["issue_id"], "citation": a["citation"],
            "date": issue.get("date"), "publisher": issue.get("publisher"), "issue_title": issue.get("title"),
            "issue_no": issue.get("issue_no"), "section": a.get("section"), "title": a.get("title"),
            "subtitle": a.get("subtitle"), "page_start": a.get("page_start"), "page_end": a.get("page_end"),
            "body": a.get("body")}


def _check(fmt: str) -> None:
    if fmt not in TEXT_FORMATS:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(TEXT_FORMATS)})")


def export_article(conn, article_id, fmt: str = "md") -> str:
    _check(fmt)
    a = article_record(conn, article_id)
    if fmt == "json":
        return json.dumps(a, ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        return _csv([_csv_row(a, a["issue"])])
    return _article_md(a) if fmt == "md" else _article_txt(a)


def export_issue(conn, issue_id: str, fmt: str = "md") -> str:
    _check(fmt)
    rec = issue_record(conn, issue_id)
    if fmt == "json":
        return json.dumps(rec, ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        return _csv([_csv_row(a, rec) for a in rec["articles"]])
    label = f"{rec.get('title') or ''} {rec.get('date') or ''}".strip()
    if fmt == "md":
        out = [f"# {label}\n\n> {rec['citation']}\n"]
        meta = [("编印单位", "publisher"), ("期号", "issue_no"), ("总期号", "total_no"), ("日期", "date"),
                ("来源", "source_path"), ("issue id", "id")]
        out.append("\n".join(f"- {k}：{rec[f]}" for k, f in meta if rec.get(f) not in (None, "")) + "\n")
        out.append("## 目录\n\n" + "\n".join(f"{i}. {a['title']}" for i, a in enumerate(rec["articles"], 1)) + "\n")
        out += [_article_md(a, level=2) for a in rec["articles"]]
        return "\n".join(out)
    out = [label, rec["citation"], ""]
    out += [_article_txt(a) for a in rec["articles"]]
    return "\n".join(out)


def export_search(conn, query: str, fmt: str = "md", limit: Optional[int] = 100, **filters) -> str:
    _check(fmt)
    hits = search_with_citations(conn, query, limit=limit, **filters)
    if fmt == "json":
        return json.dumps(hits, ensure_ascii=False, indent=1) + "\n"
    if fmt == "csv":
        rows = []
        for h in hits:
            a = article_record(conn, h["article_id"])
            rows.append(_csv_row(a, a["issue"]))
        return _csv(rows)
    if fmt == "md":
        out = [f"# 检索：{query}\n\n{len(hits)} 条结果\n"]
        for i, h in enumerate(hits, 1):
            out.append(f"{i}. **{h['title']}** — {h['snippet']}\n   > {h['citation']}")
        return "\n".join(out) + "\n"
    return "\n".join(f"{h['title']}\n  {h['snippet']}\n  {h['citation']}\n" for h in hits)


def search_with_citations(conn, query: str, limit: Optional[int] = 20, **filters) -> list[dict]:
    """:func:`pipeline.archive.search.search`, one hit per issue (best
    rendition, :func:`editions.dedupe`), each with its citation."""
    want = None if limit is None else limit * 2 + 10     # room for hits dropped as other renditions
    hits = editions.dedupe(conn, search.search(conn, query, limit=want, **filters))
    if limit is not None:
        hits = hits[:limit]
    for h in hits:
        h["citation"] = editions.cite_article(conn, h["article_id"])
    return hits
