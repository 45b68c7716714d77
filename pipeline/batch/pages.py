"""Per-page OCR checkpoints and the page reader the batch runner hands the text stage.

A scanned page is stored as soon as it is read, in
``<work_dir>/<doc id>/pages/page-NNN.json``, keyed by the document's content
hash, the ingest and text stage versions, the engine's exact version (backend
included) and the dpi. The worker that read the page writes the file
(atomically), so a run killed with ``kill -9`` loses at most the pages that
were being read; a re-run loads the others from their checkpoints.
"""
from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from pipeline.models import Page, from_dict, to_dict
from pipeline.read import ingest as ingest_stage
from pipeline.read import text as text_stage


def write_atomic(path: Path, data: dict) -> None:
    """Write JSON so that a reader (or a re-run after a kill) sees the old file or
    the new one, never half of one: temp file, then rename. No fsync: a stage
    file is a cache, and one damaged by a power cut fails to parse (or to match
    its key) and is simply rebuilt."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as fh:  # a non-UTF-8 file name
        json.dump(data, fh, ensure_ascii=False, separators=(",", ":"))
    os.replace(tmp, path)
    remove_stale_temps(path)


def remove_stale_temps(path: Path) -> None:
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


@dataclass(frozen=True)
class PageCheckpoints:
    """Where one document's OCR pages are stored, and the key they must match."""
    directory: str
    key: str            # content hash, stage versions, engine version

    @classmethod
    def for_doc(cls, work_dir: str, doc, engine_version: str) -> "PageCheckpoints":
        key = (f"{doc.sha256}:ingest{ingest_stage.VERSION}:text{text_stage.VERSION}:"
               f"{engine_version}")
        return cls(str(Path(work_dir) / doc.doc_id / "pages"), key)

    def path(self, page_no: int) -> Path:
        return Path(self.directory) / f"page-{page_no:03d}.json"

    def load(self, page_no: int, dpi: int) -> Optional[Page]:
        try:
            data = json.loads(self.path(page_no).read_text(encoding="utf-8"))
            if data.get("key") == self.key and data.get("dpi") == dpi:
                return from_dict(Page, data["page"])
        except (OSError, ValueError, KeyError, TypeError):
            pass                        # missing or damaged: read the page again
        return None

    def save(self, page: Page, dpi: int) -> None:
        write_atomic(self.path(page.page_no), {"key": self.key, "dpi": dpi, "page": to_dict(page)})


def read_ocr_page(src, engine: str, dpi: int, image_dir: Optional[str], store: PageCheckpoints) -> Page:
    """Read one page (in a worker or in this process) and checkpoint it at once."""
    page = text_stage.read_ocr_page(src, engine, dpi, image_dir)
    page.page_no = src.page_no
    store.save(page, dpi)
    return page


class PageReader:
    """``ocr_pages`` for :func:`pipeline.read.text.read_document`: checkpointed
    pages are loaded, pages submitted ahead (``prefetched``: page_no -> (dpi,
    future)) are waited for, the rest are read by ``submit`` (a worker pool) or
    here. ``on_page(page_no, cached)`` is told of every page once it is read."""

    def __init__(self, store: PageCheckpoints, submit: Optional[Callable] = None,
                 prefetched: Optional[dict] = None, on_page: Callable = lambda n, c: None):
        self.store, self.submit, self.on_page = store, submit, on_page
        self.prefetched = prefetched or {}

    def __call__(self, args_list):
        pending = [self._start(args) for args in args_list]
        for args, got in zip(args_list, pending):
            if got is None:             # serial: read it now
                page = read_ocr_page(*args, self.store)
                self.on_page(args[0].page_no, False)
                yield page
            elif isinstance(got, Page):
                yield got
            else:
                yield got.result()

    def _start(self, args):
        src, _engine, dpi, _image_dir = args
        page = self.store.load(src.page_no, dpi)
        if page is not None:
            self.on_page(src.page_no, True)
            return page
        ahead = self.prefetched.get(src.page_no)
        if ahead is not None and ahead[0] == dpi:
            return ahead[1]
        if self.submit is None:
            return None
        return watch(self.submit(read_ocr_page, *args, self.store), src.page_no, self.on_page)


def watch(future, page_no: int, on_page: Callable):
    """Report the page when its future finishes (from the pool's thread)."""
    def done(f):
        if not f.cancelled() and f.exception() is None:
            on_page(page_no, False)
    try:
        future.add_done_callback(done)
    except AttributeError:
        pass
    return future


class PageProgress:
    """Pages read so far against the pages of the batch, for a progress bar:
    rate and ETA come from pages actually read in this run (pages skipped as
    unchanged count as done but not towards the rate)."""

    def __init__(self, total: int, emit: Callable):
        self.total, self.emit = total, emit
        self.done = self.worked = 0
        self.t0 = time.time()
        self.lock = threading.Lock()

    def add(self, n: int, worked: bool, **data) -> None:
        with self.lock:
            self.done += n
            if worked:
                self.worked += n
            if data:
                self.emit("page", {**data, **self.snapshot()})

    def snapshot(self) -> dict:
        elapsed = max(1e-6, time.time() - self.t0)
        rate = self.worked / elapsed
        left = max(0, self.total - self.done)
        return {"pages_read": self.done, "pages_total": self.total,
                "page_rate": round(rate, 3), "page_eta": round(left / rate, 1) if rate else None}
