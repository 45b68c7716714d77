"""bulletin-archive: Chinese government bulletins (简报) into a searchable SQLite archive.

The Python API mirrors the ``bulletin`` command::

    import pipeline
    summary = pipeline.run(["data/raw"], pipeline.RunOptions(db_path="data/processed/archive.db"))
    hits = pipeline.search("data/processed/archive.db", "公务用车", year=2021)
    db = pipeline.open_archive("data/processed/archive.db")   # a sqlite_utils.Database
"""
from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "run": ("pipeline.run", "run"),
    "RunOptions": ("pipeline.run", "RunOptions"),
    "search": ("pipeline.search", "search"),
    "evaluate": ("pipeline.evaluate", "evaluate"),
    "open_archive": ("pipeline.load", "open_db"),
    "status": ("pipeline.status", "status"),
}


def __getattr__(name):
    # Imported on first use: OCR engines and jieba are slow to load and a
    # notebook that only searches should not pay for them.
    if name in _LAZY:
        import importlib
        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(name)


__all__ = list(_LAZY)
