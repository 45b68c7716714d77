"""One writer per archive.

``bulletin run`` holds an exclusive ``flock`` on ``<archive>.lock`` while it
writes; a second run on the same archive is refused at once with a one-line
reason naming the holder's pid (two writers interleaving unindex/insert
corrupted the search index). The lock is released when the run ends or its
process dies (the kernel drops it), so a killed run never leaves the archive
locked. Readers (search, datasette, status) take no lock: WAL lets them read
while a run writes.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path


class ArchiveBusy(RuntimeError):
    """Another process is writing the archive."""


class WriteLock:
    def __init__(self, db_path):
        self.path = Path(str(db_path) + ".lock")
        self.fd = None

    def acquire(self) -> "WriteLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            finally:
                os.close(fd)
            raise ArchiveBusy(f"archive is being written by another run (pid {pid})")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def write_lock(db_path) -> WriteLock:
    """The archive's write lock, taken: ``ArchiveBusy`` if another run holds it."""
    return WriteLock(db_path).acquire()
