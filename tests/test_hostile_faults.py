"""Issue 13, faults around the inputs and the archive: file names that are not
UTF-8 or hold a newline, FIFOs, moved inputs, two runs on one archive, a
missing / damaged / read-only archive, and hostile search queries. Every
hostile input gets one line naming it and the reason, a ``failures`` row,
and the rest of the batch loads; what the archive held before is untouched."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hostile_common import (OCR, ROOT, cli, error_lines, failures, preload,
                            snapshot)
from pipeline.archive import search
from pipeline.archive.searchtext import MAX_QUERY_TERMS, QueryError, parse_query
from pipeline.batch.runner import RunOptions, run
from pipeline.batch.status import status


# --------------------------------------------------------------------------
# 1 (and 10: newline, FIFO): names that are not UTF-8 or not one line


def test_non_utf8_newline_and_fifo_names_get_one_line_each(good, archive, tmp_path):
    db, work, iid, before = archive
    batch = tmp_path / "batch"
    batch.mkdir()
    raw = os.fsencode(batch)
    shutil.copy(good["a"], raw + b"/ok\xfe.pdf")               # valid PDF, name not UTF-8
    open(raw + b"/bad\xff.pdf", "wb").close()                    # empty, name not UTF-8
    open(raw + b"/new\nline.pdf", "wb").close()                  # empty, newline in the name
    shutil.copy(good["c"], batch / "plain.pdf")
    os.mkfifo(batch / "pipe.pdf")                                # would block a reader for ever
    p = cli("run", batch, "--db", db, "--work-dir", work, "--engine", "tesseract", timeout=120)
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    assert sorted(error_lines(p.stderr)) == sorted([
        f"ERROR {batch}/bad\\xff.pdf: empty file (0 bytes) [ingest]",
        f"ERROR {batch}/new\\nline.pdf: empty file (0 bytes) [ingest]",
        f"ERROR {batch}/pipe.pdf: not a regular file (FIFO) [ingest]",
    ])
    assert sorted(failures(db)) == sorted([
        (f"{batch}/bad\\xff.pdf", "ingest", "empty file (0 bytes)"),
        (f"{batch}/new\\nline.pdf", "ingest", "empty file (0 bytes)"),
        (f"{batch}/pipe.pdf", "ingest", "not a regular file (FIFO)"),
    ])
    conn = sqlite3.connect(db)
    loaded = {s for (s,) in conn.execute("SELECT source_path FROM issues")}
    assert {f"{batch}/ok\\xfe.pdf", str(batch / "plain.pdf"), str(good["b"])} == loaded
    assert conn.execute("SELECT count(*) FROM pages WHERE source LIKE '%ok\\xfe.pdf#page=%'").fetchone()[0] == 2
    assert snapshot(db, iid) == before
    # a re-run skips the non-UTF-8 input as unchanged (its stored name matches)
    again = cli("run", batch, "--db", db, "--work-dir", work, "--jsonl", timeout=120)
    events = {e["source_path"]: e for e in map(json.loads, again.stdout.splitlines()) if e["event"] == "file"}
    assert events[f"{batch}/ok\\xfe.pdf"]["status"] == "unchanged"
    # the FIFO given directly on the command line: same line, no hang
    p = cli("run", batch / "pipe.pdf", "--db", db, "--work-dir", work, timeout=60)
    assert error_lines(p.stderr) == [f"ERROR {batch}/pipe.pdf: not a regular file (FIFO) [ingest]"]


def test_record_failure_never_raises(tmp_path, capfd):
    from pipeline.archive import load
    db = load.open_db(tmp_path / "a.db")
    load.record_failure(db, os.fsdecode(b"/x/bad\xff\n.pdf"), "ingest", "why\nnot")
    assert failures(tmp_path / "a.db") == [("/x/bad\\xff\\n.pdf", "ingest", "why not")]
    db.conn.close()                                  # a closed archive: the row cannot be written
    load.record_failure(db, "/x/y.pdf", "ingest", "reason")
    assert "WARNING /x/y.pdf: failure not recorded" in capfd.readouterr().err


# --------------------------------------------------------------------------
# 10: a moved input follows its issue


def test_moved_input_updates_source_path_and_status(good, tmp_path):
    db, work = tmp_path / "a.db", tmp_path / "w"
    old = tmp_path / "in" / "old name.pdf"
    old.parent.mkdir()
    shutil.copy(good["a"], old)
    iid = preload(db, work, old)
    new = tmp_path / "moved" / "new name.pdf"
    new.parent.mkdir()
    shutil.move(old, new)
    before = snapshot(db, iid)
    s = run([str(new.parent)], RunOptions(db_path=str(db), work_dir=str(work), **OCR))
    (r,) = s.results
    assert r.status == "unchanged" and r.note == f"moved from {old}"
    after = snapshot(db, iid)
    assert after[0][0][1] == str(new)                        # issues.source_path
    assert after[1:] == before[1:]                           # pages and articles untouched
    st = status(str(db), [str(new.parent)], work_dir=str(work))
    assert st["pending"] == [] and st["issues"] == 1


# --------------------------------------------------------------------------
# 3: two runs on one archive

HOLD = """
import sys, time
from pipeline.batch.runner import RunOptions, run
def slow(event, d):
    if event == "start":
        print("started", flush=True)
    if event == "file":
        time.sleep(1.5)
run(sys.argv[3:], RunOptions(db_path=sys.argv[1], work_dir=sys.argv[2], engine="tesseract", dpi=150),
    progress=slow)
"""


def test_second_run_on_a_busy_archive_is_refused_with_one_line(good, archive, tmp_path):
    db, work, iid, before = archive
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    first = subprocess.Popen([sys.executable, "-c", HOLD, str(db), str(work), str(good["a"]), str(good["c"])],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
    try:
        assert first.stdout.readline().strip() == "started"
        second = cli("run", good["a"], good["c"], "--db", db, "--work-dir", work, timeout=60)
    finally:
        out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert second.returncode == 3 and "Traceback" not in second.stderr      # 3: archive cannot be used
    assert error_lines(second.stderr) == [
        f"ERROR {db}: archive is being written by another run (pid {first.pid})"]
    # the first run's work is whole: every article indexed exactly once
    conn = sqlite3.connect(db)
    n_articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert conn.execute(f"SELECT count(*) FROM {search.FTS_TABLE}").fetchone()[0] == n_articles > 0
    assert conn.execute("SELECT count(*) FROM issues").fetchone()[0] == 3
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert snapshot(db, iid) == before
    # once the first run is over the lock is free again
    third = cli("run", good["a"], good["c"], "--db", db, "--work-dir", work, timeout=120)
    assert third.returncode == 0, third.stderr


def test_concurrent_loads_through_the_api_keep_the_index_whole(good, tmp_path):
    """Writers that bypass the run lock (two processes calling load_issue on
    the same issues) still leave one index entry per article: each load is
    one BEGIN IMMEDIATE transaction."""
    db, work = tmp_path / "a.db", tmp_path / "w"
    preload(db, work, good["a"])
    code = """
import sys, json
from pathlib import Path
from pipeline.archive import load
from pipeline.models import Issue, from_dict
db = load.open_db(sys.argv[1])
issues = [from_dict(Issue, json.loads(p.read_text())["issue"]) for p in sorted(Path(sys.argv[2]).glob("*/issue.json"))]
for _ in range(15):
    for issue in issues:
        load.load_issue(db, issue, pipeline_version="x")
"""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db), str(work)], env=env, cwd=str(ROOT),
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=300) == 0, p.stderr.read()
    conn = sqlite3.connect(db)
    n = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert conn.execute(f"SELECT count(*) FROM {search.FTS_TABLE}").fetchone()[0] == n > 0
    hits = search.search(db, "工作", limit=None)
    assert len({h["article_id"] for h in hits}) == len(hits)


# --------------------------------------------------------------------------
# 9: missing, damaged and read-only archives


def _unprivileged():
    from test_hostile import _unprivileged as unpriv
    return unpriv()


@pytest.mark.parametrize("command", [["run"], ["search", "节能"], ["status"], ["series"]])
def test_damaged_archive_is_one_line(good, tmp_path, command):
    db = tmp_path / "archive.db"
    db.write_bytes(b"this is not an SQLite archive at all" * 200)
    args = command + ([good["a"]] if command == ["run"] else []) + ["--db", db]
    if command == ["run"]:
        args += ["--work-dir", tmp_path / "w"]
    p = cli(*args, timeout=60)
    assert p.returncode == 3 and "Traceback" not in p.stderr, p.stderr
    assert error_lines(p.stderr) == [f"ERROR {db}: not an archive, or a damaged one (file is not a database)"]


@pytest.mark.parametrize("command", [["search", "节能"], ["series"]])
def test_missing_archive_is_one_line(tmp_path, command):
    db = tmp_path / "nowhere" / "archive.db"
    p = cli(*command, "--db", db, timeout=60)
    assert p.returncode == 3 and "Traceback" not in p.stderr, p.stderr
    assert error_lines(p.stderr) == [f"ERROR {db}: no archive here (run `bulletin run` first, or pass --db)"]
    assert not db.exists() and not db.parent.exists()         # nothing created


def test_read_only_archive_reads_and_refuses_writes_in_one_line(good, tmp_path):
    folder = tmp_path / "ro"
    db, work = folder / "archive.db", tmp_path / "w"
    iid = preload(db, work, good["a"])
    assert not Path(str(db) + "-wal").exists()          # closed cleanly: no WAL, no -shm
    before = snapshot(db, iid)
    folder.chmod(0o555)
    db.chmod(0o444)
    kw = _unprivileged()
    try:
        probe = subprocess.run([sys.executable, "-c", f"open({str(folder / 'x')!r}, 'w')"],
                               capture_output=True, **kw)
        assert probe.returncode != 0, "permissions not enforced"
        found = cli("search", "工作", "--json", "--db", db, **kw)
        st = cli("status", "--db", db, "--json", **kw)
        ran = cli("run", good["c"], "--db", db, "--work-dir", work, **kw)
        ser = cli("series", "--db", db, **kw)
    finally:
        folder.chmod(0o755)
        db.chmod(0o644)
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout) and not found.stderr
    assert st.returncode == 0 and json.loads(st.stdout)["issues"] == 1
    assert ser.returncode == 0 and "第1-4期" in ser.stdout, ser.stderr     # series is a read-only report
    assert ran.returncode == 3 and "Traceback" not in ran.stderr, ran.stderr
    (line,) = error_lines(ran.stderr)
    assert line.startswith(f"ERROR {db}: ") and ("read-only" in line or "permission denied" in line)
    assert snapshot(db, iid) == before


# --------------------------------------------------------------------------
# 6 and 10: hostile queries


@pytest.fixture(scope="module")
def small_archive(tmp_path_factory):
    from test_search import build_archive
    return build_archive(tmp_path_factory.mktemp("sarchive") / "archive.db")


def test_hundred_exclusions_is_one_line_not_a_parser_overflow(small_archive):
    q = "节能 " + " ".join(f"-x{i}" for i in range(1, 101))
    with pytest.raises(QueryError, match="too many terms"):
        parse_query(q)
    p = cli("search", q, "--db", small_archive, timeout=60)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert error_lines(p.stderr) == [f"ERROR query: too many terms (more than {MAX_QUERY_TERMS} "
                                     "words and exclusions)"]
    # the most a query may hold still runs
    ok = "节能 " + " ".join(f"-x{i}" for i in range(1, MAX_QUERY_TERMS))
    assert search.search(small_archive, ok) == search.search(small_archive, "节能")


def test_leading_operators(small_archive):
    for q in ("OR 节能", "节能 OR", "节能 OR OR 党史"):
        with pytest.raises(QueryError, match="OR must stand between two terms"):
            parse_query(q)
    with pytest.raises(QueryError, match="only excludes"):
        parse_query("NOT 节能")
    p = cli("search", "OR 节能", "--db", small_archive, timeout=60)
    assert p.returncode == 2 and error_lines(p.stderr) == ["ERROR query: OR must stand between two terms (a OR b)"]
    # NOT inside a query excludes, like -term
    assert parse_query("节能 NOT 召开").exclude == ["召开"]
    assert search.search(small_archive, "节能 NOT 召开") == search.search(small_archive, "节能 -召开")
    assert len(search.search(small_archive, "节能 NOT 召开")) < len(search.search(small_archive, "节能"))
