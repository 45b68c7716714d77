"""Run all stages over a batch of inputs and load them into the archive.

Each input goes ingest → text → layout → segment → extract → load. The text
stage (the expensive one: OCR) is cached under ``<work_dir>/<doc id>/text.json``
keyed by content hash, ingest and text stage versions, engine and dpi; the
cheap stages after it are re-run whenever their versions change. An input
whose content, path and pipeline versions match what the archive holds is
skipped after hashing it (nothing is parsed), so a killed run simply
continues when started again: stage files are written atomically and each
issue is loaded in one transaction (WAL), so a kill leaves whole issues only.

With ``workers > 1`` (or ``executor="dask"``) born-digital documents are
processed whole in worker processes (``process_job``) and OCR pages one by one
(submitted ahead, so workers overlap documents); this process alone writes
the archive, in input order. A worker that crashes (a native library dying on
a hostile file) fails only its input; the pool is replaced and bystanders are
retried.
"""
from __future__ import annotations

import json
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from pipeline.structure import extract as extract_stage
from pipeline.read import ingest as ingest_stage
from pipeline.structure import layout as layout_stage
from pipeline.archive import load as load_stage
from pipeline.archive.lock import write_lock
from pipeline.read.limits import one_line, printable
from pipeline.structure import review
from pipeline.structure import segment as segment_stage
from pipeline.read import text as text_stage
from pipeline.batch.executors import make_executor
from pipeline.models import Document, Issue, Page, from_dict, to_dict


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
    ocr = any(p.needs_ocr for p in doc.pages)
    return stage_versions(opts)[1 if ocr else 0]


def stage_versions(opts: RunOptions) -> tuple[str, str]:
    """(version of an input read from its text layer, version of one with OCR pages)."""
    v = (f"ingest{ingest_stage.VERSION}.text{text_stage.VERSION}.layout{layout_stage.VERSION}"
         f".segment{segment_stage.VERSION}.extract{extract_stage.VERSION}.load{load_stage.SCHEMA_VERSION}")
    return v, f"{v}.{opts.engine}@{opts.dpi}"


def _write_atomic(path: Path, data: dict) -> None:
    """Write JSON so that a reader (or a re-run after a kill) sees the old file or
    the new one, never half of one: temp file, then rename. No fsync: a stage
    file is a cache, and one damaged by a power cut fails to parse (or to match
    its key) and is simply rebuilt."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as fh:  # a non-UTF-8 file name
        json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
    os.replace(tmp, path)
    _remove_stale_temps(path)


def _remove_stale_temps(path: Path) -> None:
    """Temp files of ``path`` left by a killed process (its pid no longer runs)."""
    for old in path.parent.glob(path.name + ".tmp*"):
        try:
            pid = int(old.suffix[4:])
            os.kill(pid, 0)
            continue                    # still running: its own write in progress
        except ProcessLookupError:
            pass
        except (ValueError, PermissionError):
            continue
        try:
            old.unlink()
        except OSError:
            pass


def _text_key(doc: Document, opts: RunOptions) -> str:
    return f"{doc.sha256}:ingest{ingest_stage.VERSION}:text{text_stage.VERSION}:{opts.engine}:{opts.dpi}"


def read_pages(doc: Document, opts: RunOptions, executor) -> list[Page]:
    """Text stage with its cache (``<work_dir>/<doc id>/text.json``)."""
    key = _text_key(doc, opts)
    cache = Path(opts.work_dir) / doc.doc_id / "text.json"
    if not opts.force and cache.exists():
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            if data.get("key") == key:
                return [from_dict(Page, p) for p in data["pages"]]
        except (ValueError, KeyError, TypeError):
            pass  # a damaged cache file is simply rebuilt
    image_dir = str(Path(opts.work_dir) / doc.doc_id / "pages") if opts.page_images else None
    pages = text_stage.read_document(doc, engine=opts.engine, dpi=opts.dpi, image_dir=image_dir,
                                     executor=executor)
    _write_atomic(cache, {"key": key, "pages": [to_dict(p) for p in pages]})
    return pages


def build_issue(doc: Document, pages: list[Page]) -> Issue:
    """layout → segment → extract on pages already read."""
    laid = layout_stage.analyse(pages)
    articles = segment_stage.segment(laid.blocks)
    meta = extract_stage.extract(laid.blocks, articles)
    meta.flags = review.issue_flags(meta, pages)
    return Issue(doc=doc, meta=meta, pages=laid.pages, articles=articles)


def process(doc: Document, opts: RunOptions, executor=None) -> Issue:
    """text (cached) → layout → segment → extract for one document; writes issue.json."""
    try:
        pages = read_pages(doc, opts, executor)
    except Exception as exc:
        raise _Stage("text", exc)
    try:
        issue = build_issue(doc, pages)
    except Exception as exc:
        raise _Stage("layout/segment/extract", exc)
    srcs = {s.page_no: s for s in doc.pages}
    if any(srcs[p.page_no].kind == "pdf" and srcs[p.page_no].needs_ocr and p.dpi and p.dpi < opts.dpi
           for p in pages if p.page_no in srcs):
        issue.meta.flags = review.issue_flags(issue.meta, pages, reduced_dpi=True)
    _write_atomic(Path(opts.work_dir) / doc.doc_id / "issue.json",
                  {"version": pipeline_version(doc, opts), "issue": to_dict(issue)})
    return issue


def process_job(doc: Document, opts: RunOptions) -> tuple:
    """``process`` for a worker process (or a Dask worker): never raises, so the
    outcome pickles back whatever went wrong. ("ok", issue) or ("error", stage, message)."""
    try:
        return ("ok", process(doc, opts, None))
    except _Stage as s:
        return ("error", s.stage, _one_line(s.exc))
    except BaseException as exc:  # noqa: BLE001 - reported, not raised, across the process boundary
        return ("error", "process", _one_line(exc))


class _Stage(Exception):
    def __init__(self, stage: str, exc: BaseException):
        super().__init__(stage, str(exc))
        self.stage, self.exc = stage, exc


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, _Stage):
        exc = exc.exc
    msg = one_line(exc) or exc.__class__.__name__
    return msg if isinstance(exc, ingest_stage.InputError) else f"{exc.__class__.__name__}: {msg}"


@dataclass
class _Item:
    """One input on its way through ``run``: results are finished in input order."""
    res: FileResult
    t1: float
    doc: Optional[Document] = None
    version: str = ""
    future: object = None           # a worker's process_job, for born-digital documents
    todo: bool = False              # still to be processed in the main process
    prefetch: Optional[dict] = None  # page_no -> (args, future): OCR pages already submitted


def run(paths, opts: Optional[RunOptions] = None,
        progress: Optional[Callable[[str, dict], None]] = None) -> RunSummary:
    """Process every input under ``paths`` into ``opts.db_path``.

    ``progress(event, data)`` is called with events "start" (total), "file"
    (a FileResult as dict, plus done/total/eta/rate_pages_s) and "end"
    (summary dict).

    Inputs already in the archive with the same content and pipeline versions
    are skipped after hashing them (no parsing), so a killed run continues
    where it stopped. With ``workers > 1`` (or the Dask executor) born-digital
    documents are processed whole in the workers and OCR pages one by one;
    results are loaded by this process alone (one writer), one transaction per
    issue, in input order.
    """
    opts = opts or RunOptions()
    t0 = time.time()
    emit = progress or (lambda e, d: None)
    lock = write_lock(opts.db_path)     # one writer: ArchiveBusy if another run holds the archive
    try:
        db = load_stage.open_db(opts.db_path)
    except BaseException:
        lock.release()
        raise
    # WAL + synchronous=NORMAL: a commit is still atomic and the archive never
    # corrupt; a power cut may only lose the last commits, which a re-run redoes.
    db.conn.execute("PRAGMA synchronous=NORMAL")
    summary = RunSummary()
    cands, problems = ingest_stage.discover(paths)
    total = len(cands) + len(problems)
    emit("start", {"total": total, "workers": opts.workers, "executor": opts.executor})
    for path, reason in problems:
        load_stage.record_failure(db, path, "ingest", reason)
        summary.results.append(FileResult(path, "failed", stage="ingest", error=reason))
        emit("file", _event(summary, total, t0))
    parallel = opts.executor == "dask" or opts.workers > 1
    window = (16 if opts.executor == "dask" else 2 * opts.workers) if parallel else 0
    versions = stage_versions(opts)
    state = {"executor": None}
    seen: dict[str, str] = {}
    pending: deque[_Item] = deque()

    def executor():
        if state["executor"] is None:
            state["executor"] = make_executor(opts.executor, opts.workers, opts.scheduler)
        return state["executor"]

    def fail(res: FileResult, stage: str, error: str, path: str):
        res.status, res.stage, res.error = "failed", stage, one_line(error)
        load_stage.record_failure(db, path, stage, error)

    def reset_executor():
        """A worker process died (a crash in a native library): the pool is
        broken for every task in it. Start a new one."""
        if state["executor"] is not None:
            try:
                state["executor"].close()
            except Exception:
                pass
            state["executor"] = None

    def submit(fn, *args):
        try:
            return executor().submit(fn, *args)
        except Exception as exc:
            if not _broken_pool(exc):
                raise
            reset_executor()
            return executor().submit(fn, *args)

    def compute(item: _Item) -> tuple:
        if item.future is not None:
            return item.future.result()
        ex = None
        if item.prefetch:
            ex = _Prefetched(executor(), item.prefetch)
        elif any(p.needs_ocr for p in item.doc.pages):
            ex = executor()
        try:
            return ("ok", process(item.doc, opts, ex))
        except _Stage as s:
            if _broken_pool(s.exc):
                raise s.exc
            return ("error", s.stage, _one_line(s.exc))

    def finish(item: _Item):
        res = item.res
        if item.future is not None or item.todo:
            for attempt in range(MAX_RETRIES + 1):
                try:
                    out = compute(item)
                    break
                except Exception as exc:  # a worker died (BrokenProcessPool, lost Dask worker ...)
                    if _broken_pool(exc) and attempt < MAX_RETRIES:
                        # innocent bystanders of another input's crash get another go, each alone
                        reset_executor()
                        item.prefetch = None
                        if item.future is not None:
                            item.future = submit(process_job, item.doc, opts)
                        continue
                    msg = _one_line(exc)
                    if _broken_pool(exc):
                        msg = f"a worker process died while reading this input ({msg})"
                    out = ("error", "process", msg)
                    break
            if out[0] == "ok":
                issue = out[1]
                try:
                    load_stage.load_issue(db, issue, pipeline_version=item.version)
                    load_stage.clear_failures(db, item.doc.source_path)
                    res.status, res.articles = "loaded", len(issue.articles)
                    res.flags = list(issue.meta.flags)
                except Exception as exc:
                    fail(res, "load", _one_line(exc), res.source_path)
            else:
                fail(res, out[1], out[2], res.source_path)
        res.seconds = round(time.time() - item.t1, 3)
        summary.results.append(res)
        emit("file", _event(summary, total, t0))

    def ready(item: _Item) -> bool:
        if item.todo:
            return bool(item.prefetch) and all(f.done() for _, f in item.prefetch.values())
        return item.future is None or item.future.done()

    try:
        for cand in cands:
            item = _Item(FileResult(printable(cand.path), "failed"), time.time())
            res = item.res
            pending.append(item)
            if not cand.is_folder and not opts.force:
                # resume fast path: same content, same path, same versions -> skip unopened
                try:
                    doc_id, _sha = ingest_stage.content_id(cand.path)
                    row = db.conn.execute(
                        "SELECT source_path, pipeline_version, page_count FROM issues WHERE id = ?",
                        [doc_id]).fetchone()
                except (OSError, ValueError):
                    row = None
                if row and row[0] == printable(cand.path) and row[1] in versions and doc_id not in seen:
                    seen[doc_id] = res.source_path
                    res.status, res.issue_id, res.pages = "unchanged", doc_id, row[2] or 0
                    _drain(pending, ready, finish, window)
                    continue
            try:
                doc = ingest_stage.ingest(cand)
            except Exception as exc:
                fail(res, "ingest", _one_line(exc), res.source_path)
                _drain(pending, ready, finish, window)
                continue
            item.doc = doc
            res.issue_id, res.pages = doc.doc_id, len(doc.pages)
            item.version = pipeline_version(doc, opts)
            if doc.doc_id in seen:
                res.status, res.note = "duplicate", f"same content as {seen[doc.doc_id]}"
            else:
                seen[doc.doc_id] = res.source_path
                row = db.conn.execute(
                    "SELECT source_path, pipeline_version FROM issues WHERE id = ?",
                    [doc.doc_id]).fetchone()
                if row and row[0] != res.source_path and Path(row[0]).exists() and not opts.force:
                    res.status, res.note = "duplicate", f"same content as {row[0]}"
                elif row and row[1] == item.version and not opts.force:
                    res.status = "unchanged"
                    if row[0] != res.source_path:   # moved or renamed: the issue follows it
                        load_stage.move_issue(db, doc.doc_id, res.source_path)
                        res.note = f"moved from {row[0]}"
                elif parallel and not any(p.needs_ocr for p in doc.pages):
                    item.future = submit(process_job, doc, opts)
                else:
                    item.todo = True
                    if parallel and (opts.force or not _text_cached(doc, opts)):
                        # start its OCR pages now, so workers overlap documents
                        item.prefetch = _prefetch_ocr(doc, opts, submit)
            _drain(pending, ready, finish, window)
        while pending:
            finish(pending.popleft())
    finally:
        if state["executor"] is not None:
            state["executor"].close()
        summary.seconds = time.time() - t0
        emit("end", summary.to_dict())
        db.close()
        lock.release()
    return summary


MAX_RETRIES = 2      # re-runs of an input whose worker pool broke under it


def _broken_pool(exc: BaseException) -> bool:
    from concurrent.futures.process import BrokenProcessPool
    return isinstance(exc, BrokenProcessPool)


def _text_cached(doc: Document, opts: RunOptions) -> bool:
    cache = Path(opts.work_dir) / doc.doc_id / "text.json"
    try:
        return json.loads(cache.read_text(encoding="utf-8")).get("key") == _text_key(doc, opts)
    except (OSError, ValueError, AttributeError):
        return False


def _prefetch_ocr(doc: Document, opts: RunOptions, submit) -> dict:
    """Submit the OCR pages of ``doc`` (with the arguments ``read_document`` will
    use) and return {page_no: (args, future)}."""
    image_dir = str(Path(opts.work_dir) / doc.doc_id / "pages") if opts.page_images else None
    srcs = [s for s in doc.pages if s.needs_ocr]
    out = {}
    for s, d in zip(srcs, text_stage.raster_dpis(srcs, opts.dpi)):
        args = (s, opts.engine, d, image_dir)
        out[s.page_no] = (args, submit(text_stage.read_ocr_page, *args))
    return out


class _Prefetched:
    """An executor whose ``map`` hands back OCR pages submitted earlier (same
    page, same arguments) and submits anything else to the real executor."""

    def __init__(self, executor, prefetch: dict):
        self.executor, self.prefetch = executor, prefetch

    def map(self, fn, *iterables):
        futures = []
        for args in zip(*iterables):
            hit = self.prefetch.get(getattr(args[0], "page_no", None))
            if hit is not None and fn is text_stage.read_ocr_page and _same_args(hit[0], args):
                futures.append(hit[1])
            else:
                futures.append(self.executor.submit(fn, *args))
        return (f.result() for f in futures)


def _same_args(a: tuple, b: tuple) -> bool:
    (sa, *ra), (sb, *rb) = a, b
    return ra == rb and (sa.path, sa.index, sa.kind) == (sb.path, sb.index, sb.kind)


def _drain(pending: deque, ready, finish, window: int) -> None:
    """Finish items at the head of the queue that are done, and more while the
    queue is longer than the look-ahead window (so work and memory stay bounded)."""
    while pending and (ready(pending[0]) or len(pending) > window):
        finish(pending.popleft())


def _event(summary: RunSummary, total: int, t0: float) -> dict:
    done = len(summary.results)
    elapsed = time.time() - t0
    rate = done / elapsed if elapsed > 0 else 0.0
    last = summary.results[-1]
    pages_done = sum(r.pages for r in summary.results if r.status == "loaded")
    return {**last.__dict__, "done": done, "total": total,
            "pages_done": pages_done,
            "failures": summary.count("failed"),
            "elapsed": round(elapsed, 2),
            "rate_pages_s": round(pages_done / elapsed, 2) if elapsed > 0 else 0.0,
            "eta": round((total - done) / rate, 1) if rate else None}
