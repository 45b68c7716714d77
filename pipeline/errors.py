"""One line instead of a traceback for the errors a user can meet and fix:
no archive, a damaged or read-only one, an archive another run is writing,
a query the search cannot take. Used by the CLI around every command."""
from __future__ import annotations

import sqlite3
from typing import Optional

from pipeline.read.limits import one_line


def describe(exc: BaseException) -> Optional[str]:
    """The one-line reason for a known kind of failure, or None (a bug: let it raise)."""
    from pipeline.archive.lock import ArchiveBusy
    from pipeline.archive.search import SearchIndexError
    from pipeline.archive.searchtext import QueryError
    if isinstance(exc, (ArchiveBusy, SearchIndexError, QueryError)):
        return one_line(exc)
    if isinstance(exc, FileNotFoundError):
        return "no archive here"
    if isinstance(exc, PermissionError):
        return "permission denied (cannot create or write the archive or its lock file)"
    if isinstance(exc, sqlite3.DatabaseError):
        msg = str(exc)
        if "readonly" in msg or "read-only" in msg:
            return f"the archive is read-only ({one_line(msg)})"
        if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
            return f"not an archive, or a damaged one ({one_line(msg)})"
        if "unable to open" in msg:
            return f"cannot open the archive (missing folder, or no permission) ({one_line(msg)})"
        if "locked" in msg or "busy" in msg:
            return f"the archive is locked by another process ({one_line(msg)})"
        return f"archive error ({one_line(msg)})"
    if isinstance(exc, OSError):
        return f"cannot use the archive ({one_line(exc.strerror or exc)})"
    return None
