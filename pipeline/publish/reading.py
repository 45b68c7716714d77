"""The reading view of one article (HTML), served by the datasette plugin at
``/-/bulletin/article/<id>``: title, citation, issue metadata, body, the page
images beside it with the article's boxes (and page regions, when the archive
has them) highlighted, previous/next article and the issue's contents.

Everything is read through one sqlite3 connection (datasette's read-only
connection); the functions here only build HTML.
"""
from __future__ import annotations

import json
from html import escape
from typing import Optional

from pipeline.archive import corrections, editions

ISSUE_FIELDS = [("publisher", "编印单位"), ("date", "日期"), ("issue_no", "期号"), ("total_no", "总期号"),
                ("special", "特刊/增刊"), ("printed_date", "印发日期"), ("copies", "印数"),
                ("disclosure", "信息公开选项"), ("methods", "读取方式"), ("source_path", "来源文件")]

CSS = """
body{font-family:"Noto Serif CJK SC","Songti SC","WenQuanYi Zen Hei",serif;margin:0;color:#222;background:#faf8f3}
header{background:#8b1a1a;color:#fff;padding:.6em 1.2em}header a{color:#fff}
main{display:flex;gap:1.5em;padding:1em 1.2em;align-items:flex-start}
article{flex:1 1 32em;max-width:42em;background:#fff;padding:1em 1.5em;border:1px solid #ddd}
article h1{font-size:1.5em;line-height:1.4}.subtitle{font-size:1.1em;color:#555}
.citation{background:#f3efe4;padding:.5em .7em;font-size:.95em;border-left:3px solid #8b1a1a}
.body p{text-indent:2em;line-height:1.9;margin:.3em 0}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;font-size:.9em}
dl.meta dt{color:#777}.corrected{background:#fff6d5}.original{color:#999;text-decoration:line-through}
nav.pn{display:flex;justify-content:space-between;margin:1em 0}
aside.pages{flex:1 1 28em;max-width:40em}
.page{position:relative;margin-bottom:1em;border:1px solid #bbb;background:#fff}
.page img{display:block;width:100%;height:auto}
.page .box{position:absolute;background:rgba(255,210,0,.28);outline:1px solid rgba(200,120,0,.8)}
.page .region{position:absolute;outline:1px dashed rgba(30,90,200,.8)}
.page .label{position:absolute;top:0;left:0;background:#333;color:#fff;font-size:.8em;padding:0 .3em}
.toc ol{padding-left:1.5em}.toc li.current{font-weight:bold}
.needs-review{color:#b35900}
"""


def _rows(conn, sql: str, params=()) -> list[dict]:
    cur = conn.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _has_column(conn, table: str, column: str) -> bool:
    return any(r[1] == column for r in conn.execute(f"PRAGMA table_info({table})"))


def _boxes(raw) -> list[list[float]]:
    try:
        v = json.loads(raw) if raw else []
    except ValueError:
        return []
    return [b for b in v if isinstance(b, list) and len(b) >= 5]


def _regions(raw) -> list[tuple[str, list[float]]]:
    """Page regions in the forms another stage may store them:
    [{"kind"/"role"/"type": ..., "box"/"bbox": [x0, top, x1, bottom]}, ...] or [[x0, top, x1, bottom(, kind)], ...]."""
    try:
        v = json.loads(raw) if raw else []
    except (ValueError, TypeError):
        return []
    out = []
    for r in v if isinstance(v, list) else []:
        if isinstance(r, dict):
            box = r.get("box") or r.get("bbox")
            kind = str(r.get("kind") or r.get("role") or r.get("type") or r.get("label") or "")
        elif isinstance(r, list) and len(r) >= 4:
            box, kind = r[:4], str(r[4]) if len(r) > 4 else ""
        else:
            continue
        if isinstance(box, list) and len(box) == 4 and all(isinstance(x, (int, float)) for x in box):
            out.append((kind, [float(x) for x in box]))
    return out


def _pct(box, w, h) -> str:
    x0, top, x1, bottom = box
    return (f"left:{100 * x0 / w:.3f}%;top:{100 * top / h:.3f}%;"
            f"width:{100 * (x1 - x0) / w:.3f}%;height:{100 * (bottom - top) / h:.3f}%")


def article_context(conn, article_id: int) -> Optional[dict]:
    """Everything the reading view shows, as plain data (also used by tests/exports)."""
    arts = _rows(conn, "SELECT * FROM articles WHERE id = ?", [int(article_id)])
    if not arts:
        return None
    a = arts[0]
    issue = editions.issue_row(conn, a["issue_id"]) or {"id": a["issue_id"]}
    toc = _rows(conn, "SELECT id, seq, section, title, page_start FROM articles WHERE issue_id = ? ORDER BY seq",
                [a["issue_id"]])
    pos = next(i for i, t in enumerate(toc) if t["id"] == a["id"])
    regions = ", regions" if _has_column(conn, "pages", "regions") else ""
    p1 = a["page_end"] or a["page_start"]
    pages = _rows(conn, f"SELECT id, page_no, width, height, image_path, method, confidence{regions}"
                        " FROM pages WHERE issue_id = ? AND page_no BETWEEN ? AND ? ORDER BY page_no",
                  [a["issue_id"], a["page_start"] or 0, p1 or 0])
    boxes = _boxes(a.get("boxes"))
    for p in pages:
        p["boxes"] = [b[1:5] for b in boxes if int(b[0]) == p["page_no"]]
        p["regions"] = _regions(p.get("regions"))
    others = []
    ed = editions.editions(conn)
    eid = ed.get(issue["id"], (issue["id"], 0))[0]
    for iid, (e, rank) in sorted(ed.items(), key=lambda kv: kv[1][1]):
        if e == eid and iid != issue["id"]:
            row = editions.issue_row(conn, iid) or {}
            others.append({"id": iid, "source_path": row.get("source_path"), "methods": row.get("methods"),
                           "best": rank == 0})
    return {"article": a, "issue": issue, "toc": toc,
            "prev": toc[pos - 1] if pos > 0 else None, "next": toc[pos + 1] if pos + 1 < len(toc) else None,
            "pages": pages, "citation": editions.citation(issue, a),
            "corrections": {"article": corrections.originals(conn, "article", a["id"]),
                            "issue": corrections.originals(conn, "issue", issue["id"])},
            "renditions": others}


def _corrected(value, field: str, corr: dict) -> str:
    text = escape("" if value is None else str(value))
    if field in corr:
        orig = corr[field]["original"]
        return (f'<span class="corrected" title="corrected">{text}</span> '
                f'<span class="original" title="as read by the pipeline">{escape(str(orig or ""))}</span>')
    return text


def render_article(ctx: dict, urls: dict) -> str:
    """HTML page. ``urls``: callables ``article(id)``, ``image(page_id)``,
    ``issue(id)``, ``row_article(id)``, ``home``."""
    a, issue = ctx["article"], ctx["issue"]
    ca, ci = ctx["corrections"]["article"], ctx["corrections"]["issue"]
    out = ["<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
           f"<title>{escape(a['title'] or '')} · {escape(issue.get('title') or '')}</title>",
           f"<style>{CSS}</style></head><body>",
           f'<header><a href="{escape(urls["home"])}">简报档案</a> › '
           f'<a href="{escape(urls["issue"](issue["id"]))}">{escape(issue.get("title") or issue["id"])} '
           f'{escape(str(issue.get("date") or ""))}</a></header><main>',
           '<article id="article">']
    if a.get("section"):
        out.append(f'<div class="section">【{_corrected(a["section"], "section", ca)}】</div>')
    out.append(f'<h1 id="title">{_corrected(a["title"], "title", ca)}</h1>')
    if a.get("subtitle"):
        out.append(f'<div class="subtitle">{_corrected(a["subtitle"], "subtitle", ca)}</div>')
    out.append(f'<p class="citation" id="citation">{escape(ctx["citation"])}</p>')
    if a.get("needs_review"):
        out.append(f'<p class="needs-review">needs review: read with confidence {a.get("confidence")}</p>')
    out.append('<div class="body" id="body">')
    body = a.get("body") or ""
    if "body" in ca:
        out.append('<p class="corrected">(body corrected; original kept in the corrections table)</p>')
    for para in body.split("\n"):
        if para.strip():
            out.append(f"<p>{escape(para)}</p>")
    out.append("</div>")
    out.append(_nav(ctx, urls))
    out.append('<h2>期刊信息</h2><dl class="meta">')
    out.append(f"<dt>刊名</dt><dd>{_corrected(issue.get('title'), 'title', ci)}</dd>")
    for f, label in ISSUE_FIELDS:
        if issue.get(f) not in (None, ""):
            out.append(f"<dt>{label}</dt><dd>{_corrected(issue.get(f), f, ci)}</dd>")
    out.append(f"<dt>issue id</dt><dd>{escape(issue['id'])}</dd><dt>article id</dt><dd>"
               f'<a href="{escape(urls["row_article"](a["id"]))}">{a["id"]}</a></dd></dl>')
    if ctx["renditions"]:
        out.append("<h3>Other renditions of this issue</h3><ul>")
        for r in ctx["renditions"]:
            out.append(f'<li><a href="{escape(urls["issue"](r["id"]))}">{escape(r["id"])}</a> '
                       f'{escape(r["source_path"] or "")} ({escape(r["methods"] or "")})'
                       f'{" — best rendition" if r["best"] else ""}</li>')
        out.append("</ul>")
    out.append('<div class="toc" id="toc"><h2>本期目录</h2><ol>')
    for t in ctx["toc"]:
        cur = ' class="current"' if t["id"] == a["id"] else ""
        sec = f"【{escape(t['section'])}】" if t.get("section") else ""
        page = f" (p.{t['page_start']})" if t.get("page_start") else ""
        out.append(f'<li{cur}>{sec}<a href="{escape(urls["article"](t["id"]))}">{escape(t["title"] or "")}</a>'
                   f'{page}</li>')
    out.append("</ol></div></article>")
    out.append('<aside class="pages" id="pages">')
    for p in ctx["pages"]:
        w, h = p.get("width") or 595.0, p.get("height") or 842.0
        out.append(f'<div class="page" data-page="{p["page_no"]}">')
        if p.get("image_url"):
            out.append(f'<img src="{escape(p["image_url"])}" alt="page {p["page_no"]}" '
                       'onload="this.dataset.loaded=this.naturalWidth">')
        else:
            out.append(f'<div style="padding-top:{100 * h / w:.2f}%"></div>')
        for kind, box in p["regions"]:
            out.append(f'<div class="region" data-kind="{escape(kind)}" style="{_pct(box, w, h)}" '
                       f'title="{escape(kind)}"></div>')
        for box in p["boxes"]:
            out.append(f'<div class="box" style="{_pct(box, w, h)}"></div>')
        out.append(f'<span class="label">p.{p["page_no"]}</span></div>')
    out.append("</aside></main></body></html>")
    return "".join(out)


def _nav(ctx: dict, urls: dict) -> str:
    parts = ['<nav class="pn">']
    for key, arrow in (("prev", "← "), ("next", "")):
        t = ctx[key]
        if t:
            label = f"{arrow}{escape(t['title'] or '')}{' →' if key == 'next' else ''}"
            parts.append(f'<a rel="{key}" id="{key}" href="{escape(urls["article"](t["id"]))}">{label}</a>')
        else:
            parts.append("<span></span>")
    parts.append("</nav>")
    return "".join(parts)
