"""Publish the archive read-only with datasette.

``serve(db_path, port)`` runs ``datasette serve <db>`` on the archive opened
read-only but NOT immutable: datasette's connections use ``mode=ro`` (every
write through ``?sql=`` is refused; 0.x has no write API), and because the
database is not immutable a batch can load new issues while people browse —
WAL mode means readers never see half an issue, and new issues appear on the
next request.  Metadata, facets, canned queries, the reading view and page
images come from the plugin (:mod:`pipeline.publish.datasette_plugin`), so a
plain ``datasette archive.db`` gets them too.

``serve`` stops its datasette on Ctrl-C and on SIGTERM (no orphan server).
"""
from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Optional


from pipeline.publish.meta import metadata  # noqa: F401  (part of this module's API)


def checkpoint(db_path) -> bool:
    """Fold the WAL into the database file (an immutable open ignores the WAL).
    Returns True if the WAL is now empty."""
    wal = Path(str(db_path) + "-wal")
    if not wal.exists() or wal.stat().st_size == 0:
        return True
    conn = sqlite3.connect(str(db_path), timeout=30)
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.close()
    return not busy


def command(db_path, port: int = 8001, host: str = "127.0.0.1") -> list[str]:
    """The datasette command line (read-only, not immutable)."""
    exe = shutil.which("datasette", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    cmd = [exe] if exe else [sys.executable, "-m", "datasette"]
    return cmd + ["serve", str(db_path), "--host", host, "--port", str(int(port)),
                  "--setting", "sql_time_limit_ms", "3000",
                  "--setting", "default_page_size", "50",
                  # facet suggestions try every column of every filtered page: seconds on a
                  # large archive (the useful facets come from the plugin's metadata)
                  "--setting", "suggest_facets", "off"]


def _prepare(db_path, port, host) -> list[str]:
    db_path = Path(db_path)
    if not db_path.is_file():
        raise FileNotFoundError(f"no archive at {db_path}")
    return command(db_path, port, host)


def start(db_path, port: int = 8001, host: str = "127.0.0.1", **popen_kwargs) -> subprocess.Popen:
    """Start the server in the background; stop it with ``proc.terminate()``."""
    return subprocess.Popen(_prepare(db_path, port, host), **popen_kwargs)


def wait_until_up(url: str, timeout: float = 30.0, proc: Optional[subprocess.Popen] = None) -> None:
    deadline = time.monotonic() + timeout
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # local: never via a proxy
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"datasette exited with code {proc.returncode}")
        try:
            with opener.open(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} not up after {timeout}s")
        time.sleep(0.1)


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop(signum)


def serve(db_path, port: int = 8001, host: str = "127.0.0.1") -> int:
    """Run datasette on the archive until Ctrl-C or SIGTERM; returns its exit
    code (0 when stopped on request)."""
    cmd = _prepare(db_path, port, host)
    print(f"serving {db_path} read-only at http://{host}:{port}/  (Ctrl-C to stop)", file=sys.stderr)
    proc = subprocess.Popen(cmd)
    old = signal.signal(signal.SIGTERM, _raise_stop)
    try:
        return proc.wait()
    except (KeyboardInterrupt, _Stop):
        return 0 if stop(proc) in (0, -signal.SIGTERM, -signal.SIGINT) else 1
    finally:
        signal.signal(signal.SIGTERM, old)
        if proc.poll() is None:
            stop(proc)


def stop(proc: subprocess.Popen) -> int:
    """Stop a datasette started by ``start``: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
