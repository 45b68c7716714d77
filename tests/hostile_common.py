"""Shared helpers of tests/test_hostile_*.py: generated good inputs, a CLI
runner, and a snapshot of what an archive already holds (so a test can show
that a hostile batch left it untouched)."""
from __future__ import annotations

import pytest
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import generator as generate

ROOT = Path(__file__).resolve().parent.parent
OCR = dict(engine="tesseract", dpi=150)


def good_pdfs(d: Path) -> dict[str, Path]:
    specs = {s.id: s for s in generate.sample_specs()}
    out = {}
    for name, sid in (("a", "gen05"), ("b", "gen04"), ("c", "gen01")):
        out[name] = d / f"{name}.pdf"
        generate.render_pdf(specs[sid], out[name])
    return out


def cli(*args, timeout=300, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=str(ROOT), timeout=timeout, **kw)


def snapshot(db, issue_id=None) -> tuple:
    """Every row of an issue (or of the whole archive) in issues, pages, articles."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        where, args = ("WHERE id = ?", [issue_id]) if issue_id else ("", [])
        pwhere = "WHERE issue_id = ?" if issue_id else ""
        return (conn.execute(f"SELECT * FROM issues {where} ORDER BY id", args).fetchall(),
                conn.execute(f"SELECT * FROM pages {pwhere} ORDER BY id", args).fetchall(),
                conn.execute(f"SELECT * FROM articles {pwhere} ORDER BY id", args).fetchall())
    finally:
        conn.close()


def preload(db: Path, work: Path, pdf: Path) -> str:
    """Load one good input into a new archive; returns its issue id."""
    from pipeline.batch.runner import RunOptions, run
    s = run([str(pdf)], RunOptions(db_path=str(db), work_dir=str(work), **OCR))
    (r,) = s.results
    assert r.status == "loaded"
    return r.issue_id


def failures(db) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT source_path, stage, error FROM failures ORDER BY id").fetchall()
    finally:
        conn.close()


def error_lines(stderr: str) -> list[str]:
    return [l for l in stderr.splitlines() if l.startswith("ERROR ")]


# fixtures shared by the hostile test modules (imported there by name)

@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """Three good born-digital PDFs, a.pdf b.pdf c.pdf."""
    return good_pdfs(tmp_path_factory.mktemp("good"))


@pytest.fixture()
def archive(good, tmp_path):
    """An archive already holding b.pdf, and the snapshot of it."""
    db, work = tmp_path / "archive.db", tmp_path / "work"
    iid = preload(db, work, good["b"])
    return db, work, iid, snapshot(db, iid)
