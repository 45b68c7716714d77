"""Executors run page work (OCR) in parallel behind one tiny interface.

``map(fn, *iterables)`` returns results in input order; ``submit(fn, *args)``
returns a future (``done()``, ``result()``) for one task, e.g. a whole
born-digital document; ``close()`` releases workers. ``local`` is a process pool on this machine; ``dask`` sends the same
functions to an existing Dask distributed cluster, so a big archive can be
spread over many machines while results still land in the one archive.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Optional

from pipeline.read.engines import cores, default_threads


WORKER_MEMORY = 1.2 * 2**30    # bytes a worker may need at its peak (measured 719-807 MB: bench_batch.py, bench_vs_ocrmypdf.py)


def default_workers() -> int:
    """Worker processes for ``bulletin run`` when not given: one per core, as
    many as the available memory holds (WORKER_MEMORY each), at least one.
    On 2 cores, 2 workers x 1 thread read scans faster than 1 worker x 2
    threads (0.70-0.73 against 0.88-0.93 s a page, bench/bench_batch.py,
    24 mild scan pages, two rounds) and born-digital documents 1.7-2.1x as
    fast."""
    n = cores()
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        avail = n * WORKER_MEMORY
    return max(1, min(n, int(avail // WORKER_MEMORY)))


def threads_per_worker(workers: int) -> int:
    """Threads for each of ``workers`` processes, for inference and for
    OpenCV: cores // workers (at least one), so N workers never oversubscribe
    N cores; ``BULLETIN_OCR_THREADS`` when set."""
    return default_threads(share=workers)


@contextlib.contextmanager
def opencv_threads(n: int):
    """OpenCV's thread pool limited to ``n`` threads while the block runs
    (never raised: OpenCV's own count also heeds a container's CPU quota).

    Set in this process, before it forks its workers: they inherit the
    setting (``cv2.setNumThreads`` called in a forked child hangs on the
    parent's pool threads, which the child does not have). Left alone,
    OpenCV took 0.12 of a second core beside each single-threaded worker:
    1 worker x 1 thread used 1.12 cores, 2 workers oversubscribed 2."""
    import cv2
    before = cv2.getNumThreads()
    if n >= before:
        yield
        return
    cv2.setNumThreads(n)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


# Buffers up to this size are taken from (and given back to) the heap.
PAGE_BUFFERS = 64 * 2**20


def keep_page_buffers() -> None:
    """Let glibc reuse page-sized buffers instead of mapping each anew.

    glibc gives a buffer above its mmap threshold (128 KB, rising to at most
    32 MB) pages of its own and unmaps them on free, so every page's images
    (8-26 MB at 300 dpi) and the detector's input were faulted in and
    zero-filled by the kernel again: 630,000-690,000 page faults and 4.8-5.3
    s of system time for the 44 dev scan pages. Kept on the heap up to
    PAGE_BUFFERS, they are reused: 400,000-410,000 faults, 2.7-3.5 s (and
    2.1-2.7 s once the clean-up was lighter). Set before the workers fork
    (they inherit it); a no-op where the C library is not glibc."""
    import ctypes
    import ctypes.util
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    mallopt(M_MMAP_THRESHOLD, PAGE_BUFFERS)
    mallopt(M_TRIM_THRESHOLD, 2 * PAGE_BUFFERS)


def _init_worker(parent: Optional[int] = None, threads: int = 1):
    # Tesseract's and the OCR runtimes' own threading fight with process-level
    # parallelism on small machines: each worker gets its share of the cores.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    os.environ.setdefault("BULLETIN_OCR_THREADS", str(threads))
    # Ctrl-C reaches the whole process group: the parent decides (it stops the
    # pool); a worker must not die in the middle of writing a checkpoint.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)


def _die_with_parent(parent: Optional[int]) -> None:
    """A run killed with SIGKILL cannot shut its pool down; without this its
    workers would live on as orphans (blocked on the task queue forever).
    Linux: ask the kernel to SIGKILL this worker when the parent dies."""
    if parent is None or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)      # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:                      # the parent died before prctl
        os._exit(1)


class _Done:
    """A finished future (the serial executor runs a task when it is submitted)."""

    def __init__(self, fn, args):
        self._value = self._exc = None
        try:
            self._value = fn(*args)
        except Exception as exc:
            self._exc = exc

    def done(self) -> bool:
        return True

    def result(self):
        if self._exc is not None:
            raise self._exc
        return self._value


class SerialExecutor:
    name = "serial"

    def map(self, fn, *iterables):
        return map(fn, *iterables)

    def submit(self, fn, *args):
        return _Done(fn, args)

    def close(self):
        pass

    def terminate(self):
        pass


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                         initargs=(os.getpid(), threads_per_worker(workers)))

    def map(self, fn, *iterables):
        return self._pool.map(fn, *iterables)

    def submit(self, fn, *args):
        return self._pool.submit(fn, *args)

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)

    def terminate(self):
        """Stop now (Ctrl-C): kill the workers, drop queued tasks. Pages being
        read are lost; pages already read are checkpointed."""
        procs = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            try:
                p.kill()
            except Exception:
                pass
        for p in procs:
            p.join(timeout=2)


class DaskExecutor:
    name = "dask"

    def __init__(self, scheduler: str):
        try:
            from distributed import Client
        except ImportError:
            raise RuntimeError("--executor dask needs the [dask] extra: "
                               "pip install 'bulletin-archive[dask]'") from None
        self.client = Client(scheduler)

    def map(self, fn, *iterables):
        futures = self.client.map(fn, *iterables, pure=False)
        return self.client.gather(futures)

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def close(self):
        self.client.close()

    def terminate(self):
        self.client.close()


def make_executor(kind: str = "local", workers: int = 1, scheduler: Optional[str] = None):
    if kind == "dask":
        if not scheduler:
            raise ValueError("--executor dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
        return DaskExecutor(scheduler)
    if kind != "local":
        raise ValueError(f"unknown executor {kind!r} (use local or dask)")
    if workers <= 1:
        return SerialExecutor()
    return LocalExecutor(workers)
