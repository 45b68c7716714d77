"""Executors run page work (OCR) in parallel behind one tiny interface.

``map(fn, *iterables)`` returns results in input order; ``close()`` releases
workers. ``local`` is a process pool on this machine; ``dask`` sends the same
functions to an existing Dask distributed cluster, so a big archive can be
spread over many machines while results still land in the one archive.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Optional


def _init_worker():
    # Tesseract's and ONNX Runtime's own threading fight with process-level
    # parallelism on small machines; one thread per worker scales best.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")


class SerialExecutor:
    name = "serial"

    def map(self, fn, *iterables):
        return map(fn, *iterables)

    def close(self):
        pass


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker)

    def map(self, fn, *iterables):
        return self._pool.map(fn, *iterables)

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    name = "dask"

    def __init__(self, scheduler: str):
        from distributed import Client
        self.client = Client(scheduler)

    def map(self, fn, *iterables):
        futures = self.client.map(fn, *iterables, pure=False)
        return self.client.gather(futures)

    def close(self):
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
