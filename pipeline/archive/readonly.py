"""Opening an archive for reading only.

``mode=ro`` never writes the archive. A WAL archive in a folder the reader
cannot write (a read-only mount, a copy on a DVD) has no ``-shm`` file and
none can be made, so SQLite refuses to open it ("unable to open database
file"); such an archive cannot change under the reader either, so it is
opened ``immutable``.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote


def connect(path) -> sqlite3.Connection:
    """A read-only connection to the archive at ``path`` (FileNotFoundError if none)."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "no archive here", str(p))
    uri = f"file:{quote(p.resolve().as_posix())}?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError as exc:
        conn.close()
        msg = str(exc)
        if ("unable to open" not in msg and "readonly" not in msg) or Path(str(p) + "-shm").exists():
            raise
        # WAL archive in a folder we cannot write: no -shm can be made, and
        # no one can be writing it
        conn = sqlite3.connect(uri + "&immutable=1", uri=True)
    return conn


# What one query may hold in a single value (a string or blob, in bytes).
# Datasette's time limit interrupts SQLite between steps, but cannot stop an
# allocation (``zeroblob(2e9)``, ``printf('%.*c', 2e9, 'x')``) or a long call
# into Python; the archive's largest value (an article body) is well under 1 MB.
MAX_VALUE_BYTES = 16_000_000
# Text a project SQL function (bulletin_tokens, bulletin_snippet ...) accepts,
# in characters: one call takes well under a second at this size.
MAX_FUNCTION_INPUT = 1_000_000


def limit_connection(conn: sqlite3.Connection) -> None:
    """Cap the size of any value a query on ``conn`` can build."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)


def bounded(fn):
    """``fn`` for use as an SQL function: text arguments longer than
    MAX_FUNCTION_INPUT are refused (the query fails with the reason)."""
    def call(*args):
        for a in args:
            if isinstance(a, (str, bytes)) and len(a) > MAX_FUNCTION_INPUT:
                raise ValueError(f"argument of {len(a)} characters is over the "
                                 f"{MAX_FUNCTION_INPUT} limit")
        return fn(*args)
    call.__name__ = getattr(fn, "__name__", "bounded")
    return call
