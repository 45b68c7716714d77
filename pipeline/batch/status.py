"""What the archive holds, what failed and why, and what is left to do.

``status(db, paths, work_dir)`` reports, per stage, how many inputs got that
far (text.json and issue.json stage files under ``work_dir``, issues loaded in
the archive), the latest failure of every input that failed (stage and
one-line reason) and, given the input paths, which inputs are still to do:
never loaded, or loaded by older stage versions.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from pipeline.archive import readonly
from pipeline.read.limits import printable


def status(db_path: str, paths: Optional[list] = None, work_dir: str = "data/processed") -> dict:
    out: dict = {"db": db_path, "issues": 0, "articles": 0, "pages": 0, "flagged": [],
                 "failures": [], "failures_by_stage": {}, "stage_files": {}, "stages": {},
                 "pending": [], "stale": [], "inputs": None}
    loaded: dict[str, str] = {}
    failed: set = set()
    if Path(db_path).exists():
        conn = readonly.connect(db_path)
        try:
            q = lambda sql, *a: conn.execute(sql, a).fetchall()
            tables = {t for (t,) in q("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "issues" in tables:
                out["issues"] = q("SELECT count(*) FROM issues")[0][0]
                out["articles"] = q("SELECT count(*) FROM articles")[0][0]
                out["pages"] = q("SELECT count(*) FROM pages")[0][0]
                out["pages_by_method"] = dict(q("SELECT method, count(*) FROM pages GROUP BY method"))
                out["flagged"] = [{"source_path": s, "flags": json.loads(f or "[]")}
                                  for s, f in q("SELECT source_path, flags FROM issues"
                                                " WHERE needs_review = 1 ORDER BY source_path")]
                loaded = dict(q("SELECT source_path, pipeline_version FROM issues"))
            if "failures" in tables:
                # the latest failure of each input (an input that later loaded has none)
                out["failures"] = [
                    {"source_path": s, "stage": st, "error": e, "at": at}
                    for s, st, e, at in q(
                        "SELECT f.source_path, f.stage, f.error, f.at FROM failures f"
                        " WHERE f.id = (SELECT max(g.id) FROM failures g WHERE g.source_path = f.source_path)"
                        " ORDER BY f.source_path")]
        finally:
            conn.close()
    for f in out["failures"]:
        out["failures_by_stage"][f["stage"]] = out["failures_by_stage"].get(f["stage"], 0) + 1
    failed = {f["source_path"] for f in out["failures"]}
    wd = Path(work_dir)
    if wd.exists():
        docs = [d for d in wd.iterdir() if d.is_dir()]
        out["stage_files"] = {"text": sum((d / "text.json").exists() for d in docs),
                              "issue": sum((d / "issue.json").exists() for d in docs)}
    out["stages"] = {"text": out["stage_files"].get("text", 0),
                     "layout/segment/extract": out["stage_files"].get("issue", 0),
                     "load": out["issues"], "failed": len(out["failures"])}
    if paths:
        from pipeline.read.ingest import discover
        from pipeline.batch.runner import RunOptions, stage_versions
        cands, problems = discover(paths)
        current = set(stage_versions(RunOptions()))
        out["inputs"] = len(cands) + len(problems)
        names = [printable(c.path) for c in cands]     # as the archive stores them
        out["pending"] = [p for p in names if p not in loaded and p not in failed]
        out["stale"] = [p for p in names if p in loaded and loaded[p] not in current
                        and not loaded[p].startswith(tuple(v + "." for v in current))]
    return out


def format_status(st: dict) -> str:
    lines = [f"archive {st['db']}: {st['issues']} issues, {st['articles']} articles, {st['pages']} pages"]
    if st.get("inputs") is not None:
        lines.append(f"inputs: {st['inputs']} ({st['issues']} loaded, {len(st['failures'])} failed, "
                     f"{len(st['pending'])} left)")
    if st.get("pages_by_method"):
        lines.append("pages by method: " + ", ".join(f"{k} {v}" for k, v in st["pages_by_method"].items()))
    if st.get("stages"):
        lines.append("per stage: " + ", ".join(f"{k} {v}" for k, v in st["stages"].items()))
    lines.append(f"flagged for review: {len(st['flagged'])}")
    for f in st["flagged"]:
        lines.append(f"  {f['source_path']}: {', '.join(f['flags']) or 'low confidence'}")
    by_stage = st.get("failures_by_stage") or {}
    lines.append(f"failures: {len(st['failures'])}"
                 + (" (" + ", ".join(f"{k} {v}" for k, v in sorted(by_stage.items())) + ")" if by_stage else ""))
    for f in st["failures"]:
        lines.append(f"  {f['source_path']}: {f['error']} [{f['stage']}]")
    lines.append(f"left to process: {len(st['pending'])}")
    lines += [f"  {p}" for p in st["pending"]]
    if st.get("stale"):
        lines.append(f"loaded by older stage versions (re-run to update): {len(st['stale'])}")
        lines += [f"  {p}" for p in st["stale"]]
    return "\n".join(lines)
