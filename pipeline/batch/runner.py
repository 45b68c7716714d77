"""Run all stages over a batch of inputs and load them into the archive.

Each input goes ingest → text → layout → segment → extract → entities → load.
The text stage (the expensive one: OCR) is cached under
``<work_dir>/<doc id>/text.json`` keyed by content hash, ingest and text stage
versions, engine and dpi, and every OCR page is checkpointed the moment it is
read (``pipeline.batch.pages``), so a killed run re-reads only the pages that
were in flight; the
cheap stages after it are re-run whenever their versions change. An input
whose content, path and pipeline versions match what the archive holds is
skipped after hashing it (nothing is parsed), so a killed run simply
continues when started again: stage files are written atomically and each
issue is loaded in one transaction (WAL), so a kill leaves whole issues only.

With ``workers > 1`` (or ``executor="dask"``) born-digital documents are
processed whole in worker processes (``process_job``, entities included) and OCR pages one by one
(submitted ahead, so workers overlap documents); this process alone writes
the archive, in input order. A worker that crashes (a native library dying on
a hostile file) fails only its input; the pool is replaced and bystanders are
retried.
"""
from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from pipeline.structure import extract as extract_stage
from pipeline.read import ingest as ingest_stage
from pipeline.structure import layout as layout_stage
from pipeline.archive import load as load_stage
from pipeline.archive import pageimages, units
from pipeline.archive.lock import write_lock
from pipeline.read.limits import one_line, printable
from pipeline.structure import review
from pipeline.structure import segment as segment_stage
from pipeline.read import text as text_stage
from pipeline.archive import entities as entities_stage
from pipeline.batch.executors import (SerialExecutor, keep_page_buffers, make_executor, opencv_threads,
                                      threads_per_worker)
from pipeline.batch.pages import (PageCheckpoints, PageProgress, PageReader, read_ocr_page, watch,
                                  write_atomic)
from pipeline.models import Document, Issue, Page, from_dict, to_dict
from pipeline.read import engines, imaging


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
         f".segment{segment_stage.VERSION}.extract{extract_stage.VERSION}"
         f".entities{entities_stage.VERSION}.load{load_stage.SCHEMA_VERSION}")
    return v, f"{v}.{engine_label(opts.engine)}@{opts.dpi}"


def engine_label(name: str) -> str:
    """The engine ``name`` stands for here, backend included ("auto" ->
    "rapidocr-openvino"); "auto" when no engine is installed (born-digital only)."""
    try:
        return engines.resolve_engine_name(name)
    except (RuntimeError, ImportError):
        return name


def engine_version(name: str) -> str:
    try:
        return engines.get_engine(engine_label(name)).version
    except (RuntimeError, ImportError, ValueError):
        return name


_write_atomic = write_atomic


def _text_key(doc: Document, opts: RunOptions) -> str:
    return f"{doc.sha256}:ingest{ingest_stage.VERSION}:text{text_stage.VERSION}:{engine_version(opts.engine)}:{opts.dpi}"


def read_pages(doc: Document, opts: RunOptions, executor=None, reader: Optional[PageReader] = None) -> list[Page]:
    """Text stage with its caches: ``<work_dir>/<doc id>/text.json`` for the whole
    document, one checkpoint per OCR page under ``pages/`` (see ``pages.py``)."""
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
    if reader is None:
        store = checkpoints(doc, opts)
        submit = executor.submit if executor is not None and not isinstance(executor, SerialExecutor) else None
        reader = PageReader(store, submit)
    pages = text_stage.read_document(doc, engine=engine_label(opts.engine), dpi=opts.dpi,
                                     image_dir=image_dir, ocr_pages=reader)
    write_atomic(cache, {"key": key, "pages": [to_dict(p) for p in pages]})
    return pages


def checkpoints(doc: Document, opts: RunOptions) -> PageCheckpoints:
    """The page checkpoints of ``doc``; with ``--force`` a fresh key, so every page is read again."""
    store = PageCheckpoints.for_doc(opts.work_dir, doc, engine_version(opts.engine))
    return PageCheckpoints(store.directory, f"{store.key}:{time.time()}") if opts.force else store


def build_issue(doc: Document, pages: list[Page]) -> Issue:
    """layout → segment → extract on pages already read."""
    laid = layout_stage.analyse(pages)
    articles = segment_stage.segment(laid.blocks)
    meta = extract_stage.extract(laid.blocks, articles)
    meta.flags = review.issue_flags(meta, pages)
    return Issue(doc=doc, meta=meta, pages=laid.pages, articles=articles)


def process(doc: Document, opts: RunOptions, executor=None, reader: Optional[PageReader] = None) -> Issue:
    """text (cached) → layout → segment → extract for one document; writes issue.json."""
    try:
        pages = read_pages(doc, opts, executor, reader)
    except Exception as exc:
        raise _Stage("text", exc)
    try:
        issue = build_issue(doc, pages)
    except Exception as exc:
        raise _Stage("layout/segment/extract", exc)
    if opts.page_images:    # born-digital page images, rendered here (a worker), not by the writer
        issue = pageimages.render_pages(issue, Path(opts.work_dir) / doc.doc_id / "pages")
    srcs = {s.page_no: s for s in doc.pages}
    if any(srcs[p.page_no].kind == "pdf" and p.method != "text-layer" and p.dpi and p.dpi < opts.dpi
           for p in pages if p.page_no in srcs):
        issue.meta.flags = review.issue_flags(issue.meta, pages, reduced_dpi=True)
    _write_atomic(Path(opts.work_dir) / doc.doc_id / "issue.json",
                  {"version": pipeline_version(doc, opts), "issue": to_dict(issue)})
    return issue


def process_job(doc: Document, opts: RunOptions) -> tuple:
    """``process`` and the entities of its articles for a worker process (or a
    Dask worker): never raises, so the outcome pickles back whatever went wrong.
    ("ok", issue, entities) or ("error", stage, message)."""
    try:
        issue = process(doc, opts, None)
    except _Stage as s:
        return ("error", s.stage, _one_line(s.exc))
    except BaseException as exc:  # noqa: BLE001 - reported, not raised, across the process boundary
        return ("error", "process", _one_line(exc))
    try:
        return ("ok", issue, entities_stage.issue_entities(issue))
    except BaseException as exc:  # noqa: BLE001
        return ("error", "entities", _one_line(exc))


class _Stage(Exception):
    def __init__(self, stage: str, exc: BaseException):
        super().__init__(stage, str(exc))
        self.stage, self.exc = stage, exc


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, _Stage):
        exc = exc.exc
    msg = one_line(exc) or exc.__class__.__name__
    return msg if isinstance(exc, ingest_stage.InputError) else f"{exc.__class__.__name__}: {msg}"




# --------------------------------------------------------------------------
# The batch: discover -> skip unchanged -> submit -> finish (load), in input order


@dataclass
class _Item:
    """One input on its way through the batch: results are finished in input order."""
    res: FileResult
    t1: float
    doc: Optional[Document] = None
    version: str = ""
    future: object = None            # a worker's process_job, for born-digital documents
    todo: bool = False               # OCR document, processed (pages checkpointed) in this process
    store: Optional[PageCheckpoints] = None
    prefetch: Optional[dict] = None  # page_no -> (dpi, future): OCR pages already submitted
    pages_seen: int = 0              # OCR pages already counted as progress


MAX_RETRIES = 2      # re-runs of an input whose worker pool broke under it


class Batch:
    """Process every input under some paths into one archive.

    ``run`` reads top to bottom: ``discover`` the inputs, ``admit`` each one
    (skip it unchanged, or ingest and ``submit`` its work), ``finish`` items in
    input order (wait for their work and ``load`` them); the look-ahead window
    keeps workers busy while memory stays bounded.
    """

    def __init__(self, opts: RunOptions, progress: Optional[Callable[[str, dict], None]] = None):
        self.opts = opts
        self.emit = progress or (lambda e, d: None)
        self.parallel = opts.executor == "dask" or opts.workers > 1
        self.window = (16 if opts.executor == "dask" else 2 * opts.workers) if self.parallel else 0
        self.versions = stage_versions(opts)
        self.summary = RunSummary()
        self.seen: dict[str, str] = {}
        self.pending: deque[_Item] = deque()
        self._executor = None
        self.t0 = time.time()
        self.total = 0
        self.pages = PageProgress(0, self.emit)

    # --- the steps

    def run(self, paths) -> RunSummary:
        self.lock = write_lock(self.opts.db_path)   # one writer: ArchiveBusy if another run holds the archive
        try:
            self.db = load_stage.open_db(self.opts.db_path)
        except BaseException:
            self.lock.release()
            raise
        # WAL + synchronous=NORMAL: a commit is still atomic and the archive never
        # corrupt; a power cut may only lose the last commits, which a re-run redoes.
        self.db.conn.execute("PRAGMA synchronous=NORMAL")
        interrupted = False
        share = self.opts.workers if self.opts.executor == "local" else 1
        keep_page_buffers()
        try:
            with opencv_threads(threads_per_worker(share)):     # inherited by the workers
                cands = self.discover(paths)
                for cand in cands:
                    self.admit(cand)
                    self.drain()
                while self.pending:
                    self.finish(self.pending.popleft())
        except KeyboardInterrupt:
            interrupted = True          # pages already read are checkpointed
            raise
        finally:
            self.close(interrupted)
        return self.summary

    def discover(self, paths) -> list:
        cands, problems = ingest_stage.discover(paths)
        self.total = len(cands) + len(problems)
        self.pages = PageProgress(sum(_page_count(c) for c in cands), self.emit)
        self.emit("start", {"total": self.total, "pages_total": self.pages.total,
                            "workers": self.opts.workers, "executor": self.opts.executor})
        for path, reason in problems:
            load_stage.record_failure(self.db, path, "ingest", reason)
            self.report(FileResult(path, "failed", stage="ingest", error=reason))
        return cands

    def admit(self, cand) -> None:
        item = _Item(FileResult(printable(cand.path), "failed"), time.time())
        self.pending.append(item)
        if self.skip_unchanged(cand, item):
            return
        try:
            doc = ingest_stage.ingest(cand)
        except Exception as exc:
            self.fail(item.res, "ingest", _one_line(exc))
            return
        item.doc, item.version = doc, pipeline_version(doc, self.opts)
        item.res.issue_id, item.res.pages = doc.doc_id, len(doc.pages)
        note = self.duplicate_of(doc, item)
        if note is not None:
            if note == "":
                item.res.status = "unchanged"
            else:
                item.res.status, item.res.note = "duplicate", note
            return
        self.submit(item)

    def skip_unchanged(self, cand, item: _Item) -> bool:
        """Resume fast path: same content, same path, same versions -> skipped unopened."""
        if cand.is_folder or self.opts.force:
            return False
        try:
            doc_id, _sha = ingest_stage.content_id(cand.path)
            row = self.db.conn.execute(
                "SELECT source_path, pipeline_version, page_count FROM issues WHERE id = ?",
                [doc_id]).fetchone()
        except (OSError, ValueError):
            return False
        if not (row and row[0] == item.res.source_path and row[1] in self.versions and doc_id not in self.seen):
            return False
        self.seen[doc_id] = item.res.source_path
        item.res.status, item.res.issue_id, item.res.pages = "unchanged", doc_id, row[2] or 0
        return True

    def duplicate_of(self, doc: Document, item: _Item) -> Optional[str]:
        """None: process it; "": unchanged in the archive; else why it is a duplicate."""
        if doc.doc_id in self.seen:
            return f"same content as {self.seen[doc.doc_id]}"
        path = item.res.source_path
        self.seen[doc.doc_id] = path
        row = self.db.conn.execute("SELECT source_path, pipeline_version FROM issues WHERE id = ?",
                                   [doc.doc_id]).fetchone()
        if row and not self.opts.force:
            if row[0] != path and Path(row[0]).exists():
                return f"same content as {row[0]}"
            if row[1] == item.version:
                if row[0] != path:      # moved or renamed: the issue follows it
                    load_stage.move_issue(self.db, doc.doc_id, path)
                    item.res.note = f"moved from {row[0]}"
                return ""
        return None

    def submit(self, item: _Item) -> None:
        """Born-digital documents go whole to a worker; OCR pages go one by one
        (submitted now, so workers overlap documents), each checkpointed."""
        doc = item.doc
        if self.parallel and not any(p.needs_ocr for p in doc.pages):
            item.future = self.submit_task(process_job, doc, self.opts)
            return
        item.todo = True
        item.store = checkpoints(doc, self.opts)
        if self.parallel and (self.opts.force or not _text_cached(doc, self.opts)):
            item.prefetch = self.prefetch(item)

    def prefetch(self, item: _Item) -> dict:
        doc, opts = item.doc, self.opts
        image_dir = str(Path(opts.work_dir) / doc.doc_id / "pages") if opts.page_images else None
        srcs = [s for s in doc.pages if s.needs_ocr]
        out = {}
        for s, d in zip(srcs, text_stage.raster_dpis(srcs, opts.dpi)):
            if item.store.load(s.page_no, d) is not None:
                continue                # the PageReader loads it
            fut = self.submit_task(read_ocr_page, s, engine_label(opts.engine), d, image_dir, item.store)
            out[s.page_no] = (d, watch(fut, s.page_no, self.page_done(item)))
        return out

    def finish(self, item: _Item) -> None:
        res = item.res
        if item.future is not None or item.todo:
            out = self.outcome(item)
            if out[0] == "ok":
                self.load(item, out[1], out[2] if len(out) > 2 else None)
            else:
                self.fail(res, out[1], out[2])
        res.seconds = round(time.time() - item.t1, 3)
        self.pages.add(max(0, res.pages - item.pages_seen), res.status == "loaded")
        self.report(res)

    def outcome(self, item: _Item) -> tuple:
        """The item's result, retrying an input whose worker pool broke under it
        (an innocent bystander of another input's crash gets another go)."""
        for attempt in range(MAX_RETRIES + 1):
            try:
                return self.compute(item)
            except Exception as exc:  # a worker died (BrokenProcessPool, lost Dask worker ...)
                if _broken_pool(exc) and attempt < MAX_RETRIES:
                    self.reset_executor()
                    item.prefetch = None
                    if item.future is not None:
                        item.future = self.submit_task(process_job, item.doc, self.opts)
                    continue
                msg = _one_line(exc)
                if _broken_pool(exc):
                    msg = f"a worker process died while reading this input ({msg})"
                return ("error", "process", msg)
        raise AssertionError("unreachable")

    def compute(self, item: _Item) -> tuple:
        if item.future is not None:
            return item.future.result()
        submit = self.submit_task if self.parallel else None
        reader = PageReader(item.store, submit, item.prefetch, self.page_done(item))
        try:
            issue = process(item.doc, self.opts, None, reader)
        except _Stage as s:
            if _broken_pool(s.exc):
                raise s.exc
            return ("error", s.stage, _one_line(s.exc))
        return ("ok", issue, None)

    def load(self, item: _Item, issue: Issue, ents) -> None:
        res = item.res
        try:
            load_stage.load_issue(self.db, issue, pipeline_version=item.version, issue_entities=ents,
                                  page_images=self.opts.page_images)
            load_stage.clear_failures(self.db, item.doc.source_path)
            res.status, res.articles, res.flags = "loaded", len(issue.articles), list(issue.meta.flags)
        except Exception as exc:
            self.fail(res, "load", _one_line(exc))

    # --- helpers

    def drain(self) -> None:
        """Finish items at the head of the queue that are done, and more while the
        queue is longer than the look-ahead window (so work and memory stay bounded)."""
        while self.pending and (self.ready(self.pending[0]) or len(self.pending) > self.window):
            self.finish(self.pending.popleft())

    @staticmethod
    def ready(item: _Item) -> bool:
        if item.todo:
            return bool(item.prefetch) and all(f.done() for _, f in item.prefetch.values())
        return item.future is None or item.future.done()

    def page_done(self, item: _Item) -> Callable:
        def on_page(page_no: int, cached: bool) -> None:
            item.pages_seen += 1
            self.pages.add(1, not cached, source_path=item.res.source_path, page_no=page_no, cached=cached)
        return on_page

    def report(self, res: FileResult) -> None:
        self.summary.results.append(res)
        self.emit("file", {**_event(self.summary, self.total, self.t0), **self.pages.snapshot()})

    def fail(self, res: FileResult, stage: str, error: str) -> None:
        res.status, res.stage, res.error = "failed", stage, one_line(error)
        load_stage.record_failure(self.db, res.source_path, stage, error)

    def executor(self):
        if self._executor is None:
            if self.opts.executor == "local" and self.opts.workers > 1:
                units.warm()        # before the workers fork: they share the tokenizer
            self._executor = make_executor(self.opts.executor, self.opts.workers, self.opts.scheduler)
        return self._executor

    def submit_task(self, fn, *args):
        try:
            return self.executor().submit(fn, *args)
        except Exception as exc:
            if not _broken_pool(exc):
                raise
            self.reset_executor()
            return self.executor().submit(fn, *args)

    def reset_executor(self) -> None:
        """A worker process died (a crash in a native library): the pool is
        broken for every task in it. Start a new one."""
        if self._executor is not None:
            try:
                self._executor.close()
            except Exception:
                pass
            self._executor = None

    def close(self, interrupted: bool) -> None:
        if self._executor is not None:
            if interrupted:
                self._executor.terminate()      # Ctrl-C: stop now, in-flight pages are lost
            else:
                self._executor.close()
        self.summary.seconds = time.time() - self.t0
        self.emit("end", {**self.summary.to_dict(), "interrupted": interrupted})
        self.db.close()
        self.lock.release()


def run(paths, opts: Optional[RunOptions] = None,
        progress: Optional[Callable[[str, dict], None]] = None) -> RunSummary:
    """Process every input under ``paths`` into ``opts.db_path``.

    ``progress(event, data)`` is called with events "start" (total inputs and
    pages), "page" (an OCR page read or loaded from its checkpoint, with
    pages_read/pages_total/page_rate/page_eta), "file" (a FileResult as dict,
    plus done/total/eta/rate_pages_s) and "end" (summary dict). "page" events
    may come from a pool thread.

    Inputs already in the archive with the same content and pipeline versions
    are skipped after hashing them (no parsing), so a killed run continues
    where it stopped. With ``workers > 1`` (or the Dask executor) born-digital
    documents are processed whole in the workers and OCR pages one by one;
    results are loaded by this process alone (one writer), one transaction per
    issue, in input order.
    """
    return Batch(opts or RunOptions(), progress).run(paths)


def _page_count(cand) -> int:
    try:
        return imaging.page_count(cand.path)
    except Exception:
        return 0


def _broken_pool(exc: BaseException) -> bool:
    from concurrent.futures.process import BrokenProcessPool
    return isinstance(exc, BrokenProcessPool)


def _text_cached(doc: Document, opts: RunOptions) -> bool:
    cache = Path(opts.work_dir) / doc.doc_id / "text.json"
    try:
        return json.loads(cache.read_text(encoding="utf-8")).get("key") == _text_key(doc, opts)
    except (OSError, ValueError, AttributeError):
        return False


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
