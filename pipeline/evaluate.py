"""Score an archive against ground-truth JSON (the corpus README's format).

Per input: metadata field accuracy, article precision/recall/F1 (articles
matched by title, tolerant of OCR errors), title exact-match rate among
matched articles, body and page character error rates (whitespace ignored).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from rapidfuzz.distance import Levenshtein

META_FIELDS = ["title", "publisher", "year", "issue_no", "total_no", "special", "date",
               "printed_date", "copies", "disclosure", "recipients", "cc"]
OPTIONAL_FIELDS = ["doc_type", "doc_no"]
TITLE_MATCH = 0.8   # normalised similarity for a predicted title to count as the same article


def _ns(t) -> str:
    return re.sub(r"\s+", "", t or "")


def cer_parts(pred: str, truth: str) -> tuple[int, int]:
    p, t = _ns(pred), _ns(truth)
    return Levenshtein.distance(p, t), len(t)


def _sim(a: str, b: str) -> float:
    return Levenshtein.normalized_similarity(_ns(a), _ns(b))


def match_articles(pred: list[dict], truth: list[dict]) -> list[tuple[int, int]]:
    """Greedy one-to-one matching by title similarity, best pairs first."""
    pairs = sorted(((_sim(p["title"], t["title"]), i, j) for i, p in enumerate(pred)
                    for j, t in enumerate(truth)), reverse=True)
    used_p, used_t, out = set(), set(), []
    for s, i, j in pairs:
        if s < TITLE_MATCH:
            break
        if i in used_p or j in used_t:
            continue
        used_p.add(i)
        used_t.add(j)
        out.append((i, j))
    return out


def score_issue(db, issue_id: str, truth: dict) -> dict:
    conn = db.conn if hasattr(db, "conn") else db
    conn_row = conn.execute("SELECT * FROM issues WHERE id = ?", [issue_id])
    cols = [d[0] for d in conn_row.description]
    row = dict(zip(cols, conn_row.fetchone()))
    meta_ok = {}
    # doc_type and doc_no are scored where the truth has them (the real corpus)
    for f in META_FIELDS + [f for f in OPTIONAL_FIELDS if f in truth["issue"]]:
        v = row.get(f)
        if f in ("recipients", "cc"):
            v = json.loads(v) if v else []
        meta_ok[f] = v == truth["issue"].get(f)
    cur = conn.execute("SELECT title, body, section, subtitle, page_start, page_end FROM articles"
                       " WHERE issue_id = ? ORDER BY seq", [issue_id])
    pred = [dict(zip([d[0] for d in cur.description], r)) for r in cur.fetchall()]
    tarts = truth["articles"]
    pairs = match_articles(pred, tarts)
    tp = len(pairs)
    precision = tp / len(pred) if pred else 0.0
    recall = tp / len(tarts) if tarts else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    exact = sum(1 for i, j in pairs if _ns(pred[i]["title"]) == _ns(tarts[j]["title"]))
    bd = bn = 0
    for i, j in pairs:
        d, n = cer_parts(pred[i]["body"], tarts[j]["body"])
        bd, bn = bd + d, bn + n
    # unmatched truth articles count as fully missing body text
    for j in set(range(len(tarts))) - {j for _, j in pairs}:
        bn += len(_ns(tarts[j]["body"]))
        bd += len(_ns(tarts[j]["body"]))
    cur = conn.execute("SELECT page_no, text FROM pages WHERE issue_id = ?", [issue_id])
    ptext = {n: t for n, t in cur.fetchall()}
    pd_ = pn = 0
    for p in truth.get("pages", []):
        d, n = cer_parts(ptext.get(p["page_no"], ""), p["text"])
        pd_, pn = pd_ + d, pn + n
    return {
        "meta_correct": sum(meta_ok.values()), "meta_total": len(meta_ok),
        "meta_wrong": [f for f, ok in meta_ok.items() if not ok],
        "articles_pred": len(pred), "articles_truth": len(tarts), "matched": tp,
        "precision": precision, "recall": recall, "f1": f1,
        "title_exact": exact, "body_dist": bd, "body_len": bn, "page_dist": pd_, "page_len": pn,
        "body_cer": bd / bn if bn else 0.0, "page_cer": pd_ / pn if pn else 0.0,
    }


def score_queries(conn, truth: dict, issue_id: str, k: int = 10) -> dict:
    """Search recall@k and precision@k over the truth's ``queries`` for one input.

    Recall: expected titles of this issue found in the top k. Precision: of the
    top-k hits from this issue, those the truth expects (hits from other
    issues are not judged: the truth does not know them).
    """
    from pipeline.archive.search import search
    # search shows one hit per issue, from its best rendition: a hit from any
    # rendition of this input's issue is a hit for this input
    edition = {}
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'renditions'").fetchone():
        edition = dict(conn.execute("SELECT issue_id, edition_id FROM renditions").fetchall())
    mine_ed = edition.get(issue_id, issue_id)
    found = expected = hits = good = 0
    for q in truth.get("queries", []):
        want = {_ns(t) for t in q["expect_titles"]}
        ranked = search(conn, q["q"], limit=None)      # one search: the ranking over all issues
        ours = [r for r in ranked if edition.get(r["issue_id"], r["issue_id"]) == mine_ed]
        top = {_ns(r["title"]) for r in ranked[:k] if r in ours}
        mine = [_ns(r["title"]) for r in ours][:k]
        expected += len(want)
        found += sum(1 for t in want if any(_sim(t, g) >= TITLE_MATCH for g in top))
        hits += len(mine)
        good += sum(1 for g in mine if any(_sim(t, g) >= TITLE_MATCH for t in want))
    return {"query_found": found, "query_expected": expected, "query_hits": hits, "query_good": good}


def evaluate(db, truth_dir, queries: bool = True) -> dict:
    """Score every archived input named in the truth files. Returns per-input rows and totals."""
    conn = db.conn if hasattr(db, "conn") else db
    by_name = {}
    for iid, src in conn.execute("SELECT id, source_path FROM issues"):
        by_name[Path(src.rstrip("/")).name] = iid
    has_index = queries and conn.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'articles_fts'").fetchone() is not None
    rows = []
    for tf in sorted(Path(truth_dir).glob("*.json")):
        truth = json.loads(tf.read_text(encoding="utf-8"))
        for inp in truth.get("inputs", []):
            name = inp["file"].rstrip("/")
            if name not in by_name:
                continue
            r = score_issue(conn, by_name[name], truth)
            if has_index:
                r.update(score_queries(conn, truth, by_name[name]))
            r.update(score_structure(conn, by_name[name], truth))
            r.update({"input": name, "condition": inp.get("condition", "")})
            rows.append(r)
    return {"inputs": rows, "overall": _total(rows),
            "by_condition": {c: _total([r for r in rows if r["condition"] == c])
                             for c in sorted({r["condition"] for r in rows})}}


def _total(rows: list[dict]) -> dict:
    if not rows:
        return {}
    s = lambda k: sum(r[k] for r in rows)
    pred, truth, tp = s("articles_pred"), s("articles_truth"), s("matched")
    p = tp / pred if pred else 0.0
    r = tp / truth if truth else 0.0
    q = {}
    if all("query_expected" in r for r in rows):
        q = {"recall_at_10": s("query_found") / s("query_expected") if s("query_expected") else 1.0,
             "precision_at_10": s("query_good") / s("query_hits") if s("query_hits") else 1.0}
    return {**q, **_total_structure(rows), "inputs": len(rows), "meta_accuracy": s("meta_correct") / s("meta_total"),
            "precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "title_exact": s("title_exact") / tp if tp else 0.0,
            "body_cer": s("body_dist") / s("body_len") if s("body_len") else 0.0,
            "page_cer": s("page_dist") / s("page_len") if s("page_len") else 0.0}


def format_table(result: dict) -> str:
    head = (f"{'input':24} {'cond':8} {'meta':>6} {'P':>6} {'R':>6} {'F1':>6} {'title=':>6} {'bodyCER':>8} "
            f"{'pageCER':>8} {'qR@10':>6} {'qP@10':>6} {STRUCTURE_HEAD}  wrong fields")
    lines = [head, "-" * len(head)]
    for r in result["inputs"]:
        lines.append(f"{r['input']:24} {r['condition']:8} {r['meta_correct'] / r['meta_total']:6.1%} "
                     f"{r['precision']:6.3f} {r['recall']:6.3f} {r['f1']:6.3f} "
                     f"{(r['title_exact'] / r['matched'] if r['matched'] else 0):6.1%} "
                     f"{r['body_cer']:8.2%} {r['page_cer']:8.2%} {_q(r, 'query_found', 'query_expected')} "
                     f"{_q(r, 'query_good', 'query_hits')} {_structure_cells(_total_structure([r]))}"
                     f"  {','.join(r['meta_wrong'])}")
    lines.append("-" * len(head))
    groups = list(result.get("by_condition", {}).items()) + [("ALL", result["overall"])]
    for name, t in groups:
        if not t:
            continue
        lines.append(f"{name:24} {'':8} {t['meta_accuracy']:6.1%} {t['precision']:6.3f} {t['recall']:6.3f} "
                     f"{t['f1']:6.3f} {t['title_exact']:6.1%} {t['body_cer']:8.2%} {t['page_cer']:8.2%} "
                     f"{_fmt(t.get('recall_at_10'))} {_fmt(t.get('precision_at_10'))} {_structure_cells(t)}")
    return "\n".join(lines)


def _q(r: dict, num: str, den: str) -> str:
    if den not in r:
        return f"{'-':>6}"
    return _fmt(r[num] / r[den] if r[den] else 1.0)


def _fmt(v) -> str:
    return f"{'-':>6}" if v is None else f"{v:6.3f}"


# --------------------------------------------------------------------------
# sections, units, event dates and page spans (matched articles)

STRUCTURE_HEAD = f"{'sect':>6} {'unitF1':>6} {'dateF1':>6} {'pages':>6}"


def _norm_unit(u: str) -> str:
    return re.sub(r"[\s（）()]", "", u or "")


def score_structure(conn, issue_id: str, truth: dict) -> dict:
    """Counts for sections, units, event dates and page spans over the
    articles matched by title (unmatched truth articles count as misses).

    sections: matched articles printed under the right section (and the
    issue's section list as printed); units: units as written (surfaces in
    ``article_units``) against the truth's ``units``; event dates: ISO dates
    against ``event_dates``; page spans: (page_start, page_end) exact. Units and
    event dates are scored only for articles whose truth lists them."""
    cur = conn.execute("SELECT id, title, section, event_dates, page_start, page_end FROM articles"
                       " WHERE issue_id = ? ORDER BY seq", [issue_id])
    pred = [dict(zip([d[0] for d in cur.description], r)) for r in cur.fetchall()]
    tarts = truth["articles"]
    pairs = match_articles(pred, tarts)
    has_units = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'article_units'").fetchone() is not None
    out = {"section_ok": 0, "span_ok": 0, "struct_total": len(tarts),
           "unit_tp": 0, "unit_pred": 0, "unit_truth": 0, "date_tp": 0, "date_pred": 0, "date_truth": 0}
    matched_truth = set()
    for i, j in pairs:
        p, t = pred[i], tarts[j]
        matched_truth.add(j)
        out["section_ok"] += int((p["section"] or None) == (t.get("section") or None))
        out["span_ok"] += int((p["page_start"], p["page_end"]) == (t.get("page_start"), t.get("page_end")))
        if "event_dates" in t:          # not annotated (the real corpus): not scored
            pd = set(json.loads(p["event_dates"]) if p["event_dates"] else [])
            td = set(t["event_dates"] or [])
            out["date_tp"] += len(pd & td)
            out["date_pred"] += len(pd)
            out["date_truth"] += len(td)
        if has_units and "units" in t:
            pu = {_norm_unit(u) for (u,) in conn.execute(
                "SELECT DISTINCT surface FROM article_units WHERE article_id = ?", [p["id"]])}
            tu = {_norm_unit(u) for u in t["units"]}
            out["unit_tp"] += len(pu & tu)
            out["unit_pred"] += len(pu)
            out["unit_truth"] += len(tu)
    for j, t in enumerate(tarts):
        if j not in matched_truth:
            out["date_truth"] += len(t.get("event_dates") or [])
            out["unit_truth"] += len(t.get("units") or []) if has_units else 0
    row = conn.execute("SELECT sections FROM issues WHERE id = ?", [issue_id]).fetchone()
    out["sections_list_ok"] = int((json.loads(row[0]) if row and row[0] else []) == (truth.get("sections") or []))
    return out


def _f1(tp: int, npred: int, ntruth: int):
    if not npred and not ntruth:
        return None
    p = tp / npred if npred else 0.0
    r = tp / ntruth if ntruth else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def _total_structure(rows: list[dict]) -> dict:
    if not rows or not all("struct_total" in r for r in rows):
        return {}
    s = lambda k: sum(r[k] for r in rows)
    n = s("struct_total")
    return {"section_accuracy": s("section_ok") / n if n else None,
            "sections_list_accuracy": s("sections_list_ok") / len(rows),
            "unit_f1": _f1(s("unit_tp"), s("unit_pred"), s("unit_truth")),
            "event_date_f1": _f1(s("date_tp"), s("date_pred"), s("date_truth")),
            "page_span_accuracy": s("span_ok") / n if n else None}


def _structure_cells(t: dict) -> str:
    return " ".join(_fmt(t.get(k)) for k in ("section_accuracy", "unit_f1", "event_date_f1", "page_span_accuracy"))
