"""Run all stages over a batch of inputs and load them into the archive.

Each input goes ingest → text → layout → segment → extract → load. The text
stage (the expensive one: OCR) is cached under ``<work_dir>/<doc id>/text.json``
keyed by content hash, stage version, engine and dpi; the cheap stages after it
are re-run whenever their versions change. An input whose content, pipeline
versions and engine match what the archive holds is skipped, so a killed run
simply continues when started again.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from . import extract as extract_stage
from . import ingest as ingest_stage
from . import layout as layout_stage
from . import load as load_stage
from . import segment as segment_stage
from . import text as text_stage
from .executors import make_executor
from .models import Document, Issue, Page, from_dict, to_dict


@dataclass
class RunOptions:
    db_path: str = "data/processed/archive.db"
    work_dir: str = "data/processed"
    engine: str = "auto"
    dpi: int = 300
    workers: int = 1
    executor: str = "local"
    scheduler: Optional[str] = None
    force: bool = False
    page_images: bool = True


@dataclass
class FileResult:
    source_path: str
    status: str                     # loaded | unchanged | duplicate | failed
    issue_id: Optional[str] = None
    pages: int = 0
    articles: int = 0
    seconds: float = 0.0
    stage: Optional[str] = None     # failed stage
    error: Optional[str] = None     # one line
    flags: list[str] = field(default_factory=list)
    note: Optional[str] = None


@dataclass
class RunSummary:
    results: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def pages(self) -> int:
        return sum(r.pages for r in self.results if r.status == "loaded")

    def to_dict(self) -> dict:
        return {"loaded": self.count("loaded"), "unchanged": self.count("unchanged"),
                "duplicate": self.count("duplicate"), "failed": self.count("failed"),
                "pages": self.pages, "seconds": round(self.seconds, 2),
                "flagged": [r.source_path for r in self.results if r.flags]}


def pipeline_version(doc: Document, opts: RunOptions) -> str:
    v = (f"text{text_stage.VERSION}.layout{layout_stage.VERSION}.segment{segment_stage.VERSION}"
         f".extract{extract_stage.VERSION}.load{load_stage.SCHEMA_VERSION}")
    if any(p.needs_ocr for p in doc.pages):
        v += f".{opts.engine}@{opts.dpi}"
    return v


def _write_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_pages(doc: Document, opts: RunOptions, executor) -> list[Page]:
    """Text stage with its cache."""
    key = f"{doc.sha256}:text{text_stage.VERSION}:{opts.engine}:{opts.dpi}"
    cache = Path(opts.work_dir) / doc.doc_id / "text.json"
    if not opts.force and cache.exists():
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            if data.get("key") == key:
                return [from_dict(Page, p) for p in data["pages"]]
        except (ValueError, KeyError):
            pass  # a damaged cache file is simply rebuilt
    image_dir = str(Path(opts.work_dir) / doc.doc_id / "pages") if opts.page_images else None
    pages = text_stage.read_document(doc, engine=opts.engine, dpi=opts.dpi,
                                     image_dir=image_dir, executor=executor)
    _write_atomic(cache, {"key": key, "pages": [to_dict(p) for p in pages]})
    return pages


def build_issue(doc: Document, pages: list[Page]) -> Issue:
    """layout → segment → extract on pages already read."""
    blocks = layout_stage.layout(pages)
    articles = segment_stage.segment(blocks)
    meta = extract_stage.extract(blocks, articles)
    if pages and min(p.confidence for p in pages) < load_stage.LOW_CONFIDENCE:
        meta.flags.append("low-confidence")
    return Issue(doc=doc, meta=meta, pages=pages, articles=articles)


def process(doc: Document, opts: RunOptions, executor=None) -> Issue:
    try:
        pages = read_pages(doc, opts, executor)
    except Exception as exc:
        raise _Stage("text", exc)
    try:
        issue = build_issue(doc, pages)
    except Exception as exc:
        raise _Stage("layout/segment/extract", exc)
    _write_atomic(Path(opts.work_dir) / doc.doc_id / "issue.json",
                  {"version": pipeline_version(doc, opts), "issue": to_dict(issue)})
    return issue


class _Stage(Exception):
    def __init__(self, stage: str, exc: BaseException):
        self.stage, self.exc = stage, exc


def _one_line(exc: BaseException) -> str:
    msg = " ".join(str(exc).split()) or exc.__class__.__name__
    return msg if isinstance(exc, ingest_stage.InputError) else f"{exc.__class__.__name__}: {msg}"


def run(paths, opts: Optional[RunOptions] = None,
        progress: Optional[Callable[[str, dict], None]] = None) -> RunSummary:
    """Process every input under ``paths`` into ``opts.db_path``.

    ``progress(event, data)`` is called with events "start" (total), "file"
    (a FileResult as dict, plus done/total/eta) and "end" (summary dict).
    """
    opts = opts or RunOptions()
    t0 = time.time()
    emit = progress or (lambda e, d: None)
    db = load_stage.open_db(opts.db_path)
    summary = RunSummary()
    cands, problems = ingest_stage.discover(paths)
    total = len(cands) + len(problems)
    emit("start", {"total": total})
    for path, reason in problems:
        load_stage.record_failure(db, path, "ingest", reason)
        summary.results.append(FileResult(path, "failed", stage="ingest", error=reason))
        emit("file", _event(summary, total, t0))
    executor = None
    seen: dict[str, str] = {}
    try:
        for cand in cands:
            t1 = time.time()
            res = FileResult(str(cand.path), "failed")
            try:
                try:
                    doc = ingest_stage.ingest(cand)
                except Exception as exc:
                    raise _Stage("ingest", exc)
                res.issue_id, res.pages = doc.doc_id, len(doc.pages)
                version = pipeline_version(doc, opts)
                if doc.doc_id in seen:
                    res.status, res.note = "duplicate", f"same content as {seen[doc.doc_id]}"
                else:
                    seen[doc.doc_id] = doc.source_path
                    row = db.conn.execute(
                        "SELECT source_path, pipeline_version FROM issues WHERE id = ?",
                        [doc.doc_id]).fetchone()
                    if row and row[0] != doc.source_path and Path(row[0]).exists() and not opts.force:
                        res.status, res.note = "duplicate", f"same content as {row[0]}"
                    elif row and row[1] == version and not opts.force:
                        res.status = "unchanged"
                    else:
                        if executor is None and any(p.needs_ocr for p in doc.pages):
                            executor = make_executor(opts.executor, opts.workers, opts.scheduler)
                        issue = process(doc, opts, executor)
                        try:
                            load_stage.load_issue(db, issue, pipeline_version=version)
                        except Exception as exc:
                            raise _Stage("load", exc)
                        load_stage.clear_failures(db, doc.source_path)
                        res.status, res.articles = "loaded", len(issue.articles)
                        res.flags = list(issue.meta.flags)
            except _Stage as s:
                res.status, res.stage, res.error = "failed", s.stage, _one_line(s.exc)
                load_stage.record_failure(db, str(cand.path), s.stage, res.error)
            res.seconds = round(time.time() - t1, 3)
            summary.results.append(res)
            emit("file", _event(summary, total, t0))
    finally:
        if executor is not None:
            executor.close()
        summary.seconds = time.time() - t0
        emit("end", summary.to_dict())
        db.close()
    return summary


def _event(summary: RunSummary, total: int, t0: float) -> dict:
    done = len(summary.results)
    elapsed = time.time() - t0
    rate = done / elapsed if elapsed > 0 else 0.0
    last = summary.results[-1]
    return {**last.__dict__, "done": done, "total": total,
            "pages_done": sum(r.pages for r in summary.results if r.status == "loaded"),
            "failures": summary.count("failed"),
            "eta": round((total - done) / rate, 1) if rate else None}
