"""bulletin-archive: Chinese government bulletins (简报) into a searchable SQLite archive.

The Python API mirrors the ``bulletin`` command, one module per stage or verb::

    from pipeline.batch.runner import run, RunOptions        # bulletin run
    from pipeline.archive.search import search              # bulletin search
    from pipeline.evaluate import evaluate          # bulletin eval
    from pipeline.archive.load import open_db               # the archive as a sqlite_utils.Database

    summary = run(["data/raw"], RunOptions(db_path="data/processed/archive.db"))
    hits = search("data/processed/archive.db", "公务用车", year=2021)
"""
__version__ = "0.1.0"
