"""What the archive holds, what failed and why, and what is left to do."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Optional


def status(db_path: str, paths: Optional[list] = None, work_dir: str = "data/processed") -> dict:
    out: dict = {"db": db_path, "issues": 0, "articles": 0, "pages": 0, "flagged": [],
                 "failures": [], "stage_files": {}, "pending": []}
    if Path(db_path).exists():
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        q = lambda sql: conn.execute(sql).fetchall()
        out["issues"] = q("SELECT count(*) FROM issues")[0][0]
        out["articles"] = q("SELECT count(*) FROM articles")[0][0]
        out["pages"] = q("SELECT count(*) FROM pages")[0][0]
        out["pages_by_method"] = dict(q("SELECT method, count(*) FROM pages GROUP BY method"))
        out["flagged"] = [{"source_path": s, "flags": json.loads(f or "[]")}
                          for s, f in q("SELECT source_path, flags FROM issues WHERE needs_review = 1")]
        out["failures"] = [{"source_path": s, "stage": st, "error": e, "at": at}
                           for s, st, e, at in q("SELECT source_path, stage, error, max(at) FROM failures"
                                                 " GROUP BY source_path, stage, error ORDER BY at")]
        loaded = {s for (s,) in q("SELECT source_path FROM issues")}
        conn.close()
    else:
        loaded = set()
    wd = Path(work_dir)
    if wd.exists():
        docs = [d for d in wd.iterdir() if d.is_dir()]
        out["stage_files"] = {"text": sum((d / "text.json").exists() for d in docs),
                              "issue": sum((d / "issue.json").exists() for d in docs)}
    if paths:
        from .ingest import discover
        cands, _ = discover(paths)
        failed = {f["source_path"] for f in out["failures"]}
        out["pending"] = [str(c.path) for c in cands
                          if str(c.path) not in loaded and str(c.path) not in failed]
    return out


def format_status(st: dict) -> str:
    lines = [f"archive {st['db']}: {st['issues']} issues, {st['articles']} articles, {st['pages']} pages"]
    if st.get("pages_by_method"):
        lines.append("pages by method: " + ", ".join(f"{k} {v}" for k, v in st["pages_by_method"].items()))
    if st["stage_files"]:
        lines.append("stage files: " + ", ".join(f"{k} {v}" for k, v in st["stage_files"].items()))
    lines.append(f"flagged for review: {len(st['flagged'])}")
    for f in st["flagged"]:
        lines.append(f"  {f['source_path']}: {', '.join(f['flags']) or 'low confidence'}")
    lines.append(f"failures: {len(st['failures'])}")
    for f in st["failures"]:
        lines.append(f"  {f['source_path']}: {f['error']} [{f['stage']}]")
    if st["pending"]:
        lines.append(f"left to process: {len(st['pending'])}")
        lines += [f"  {p}" for p in st["pending"]]
    return "\n".join(lines)
