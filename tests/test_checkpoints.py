"""Per-page OCR checkpoints (kill -9 and Ctrl-C in the middle of a scanned issue),
page progress events, and entities that do not depend on load order or on
where they were computed — real subprocesses, real OCR, generated bulletins."""
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import generator as generate
from pipeline.batch.runner import RunOptions, run

from test_batch import ROOT, archive_rows, check_whole_issues, cli, kill_group, make_batch

SCAN = dict(engine="rapidocr", dpi=150)


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_THREAD_LIMIT"] = "1"
    return env


@pytest.fixture(scope="module")
def digital(tmp_path_factory):
    return make_batch(tmp_path_factory.mktemp("cp-digital") / "in", n=4)


@pytest.fixture(scope="module")
def scans(digital, tmp_path_factory):
    """Two scanned issues (image-only PDFs at 150 dpi), 4 and 3 pages."""
    out = tmp_path_factory.mktemp("cp-scans") / "in"
    out.mkdir()
    generate.render_scans(digital[0], out / "01-scan.pdf", "pdf", "mild", dpi=150, seed=1)
    generate.render_scans(digital[1], out / "02-scan.pdf", "pdf", "mild", dpi=150, seed=2)
    return out


@pytest.fixture(scope="module")
def clean_scan_run(scans, tmp_path_factory):
    d = tmp_path_factory.mktemp("cp-clean")
    opts = RunOptions(db_path=str(d / "a.db"), work_dir=str(d / "w"), **SCAN)
    events = []
    summary = run([str(scans)], opts, progress=lambda e, data: events.append((e, data)))
    assert summary.count("loaded") == 2 and not summary.failed
    return opts.db_path, events


def _run_cmd(scans, db, work, *extra):
    return cli("run", scans, "--db", db, "--work-dir", work, "--jsonl",
               "--engine", SCAN["engine"], "--dpi", SCAN["dpi"], *extra)


def _page_files(work: Path) -> list[Path]:
    return sorted(work.glob("*/pages/page-*.json"))


def test_page_events_count_every_ocr_page(clean_scan_run):
    _db, events = clean_scan_run
    start = next(d for e, d in events if e == "start")
    pages = [d for e, d in events if e == "page"]
    assert start["pages_total"] == 7
    assert len(pages) == 7 and not any(p["cached"] for p in pages)
    assert [p["pages_read"] for p in pages] == list(range(1, 8))
    assert pages[-1]["page_rate"] > 0 and pages[-1]["pages_total"] == 7


@pytest.mark.slow
def test_kill_9_mid_issue_rereads_only_pages_in_flight(scans, clean_scan_run, tmp_path):
    db, work = tmp_path / "a.db", tmp_path / "w"
    proc = subprocess.Popen(_run_cmd(scans, db, work), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env(), cwd=str(ROOT), start_new_session=True)
    read_before = 0
    try:
        for line in proc.stdout:
            ev = json.loads(line)
            if ev["event"] == "page":
                read_before += 1
                if read_before == 2:               # in the middle of the first 4-page issue
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
        proc.wait(timeout=60)
    finally:
        kill_group(proc)
    assert proc.returncode == -signal.SIGKILL
    kept = len(_page_files(work))
    assert kept >= read_before == 2                 # every page reported read was checkpointed
    assert sqlite3.connect(db).execute("SELECT count(*) FROM issues").fetchone()[0] == 0

    rerun = subprocess.run(_run_cmd(scans, db, work), capture_output=True, text=True, env=_env(),
                           cwd=str(ROOT), timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    pages = [e for e in map(json.loads, rerun.stdout.splitlines()) if e["event"] == "page"]
    reread = [p for p in pages if not p["cached"]]
    assert len(pages) == 7 and len(reread) == 7 - kept <= 5
    assert check_whole_issues(str(db)) == 2
    assert archive_rows(str(db)) == archive_rows(clean_scan_run[0])
    assert list(work.glob("*/pages/*.tmp*")) == []


@pytest.mark.slow
def test_ctrl_c_exits_fast_and_keeps_pages_read(scans, tmp_path):
    db, work = tmp_path / "a.db", tmp_path / "w"
    proc = subprocess.Popen(_run_cmd(scans, db, work, "--workers", "2"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), cwd=str(ROOT),
                            start_new_session=True)
    read = 0
    try:
        for line in proc.stdout:
            if json.loads(line)["event"] == "page":
                read += 1
                break
        workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                 text=True).stdout.split()
        t0 = time.time()
        os.killpg(proc.pid, signal.SIGINT)          # what a terminal's Ctrl-C does
        proc.communicate(timeout=30)
        took = time.time() - t0
    finally:
        kill_group(proc)
    assert read == 1 and workers
    assert proc.returncode == 130 and took < 3.0, took
    assert len(_page_files(work)) >= 1             # the pages already read are kept
    time.sleep(0.5)
    assert not [w for w in workers if Path(f"/proc/{w}").exists()
                and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]


def _entity_rows(db_path: str) -> dict:
    conn = sqlite3.connect(db_path)
    out = {
        "units": conn.execute(
            "SELECT au.article_id, u.name, u.level, p.name, au.surface, au.position, au.confidence"
            " FROM article_units au JOIN units u ON u.id = au.unit_id"
            " LEFT JOIN units p ON p.id = u.parent_id ORDER BY 1, 6, 2").fetchall(),
        "people": conn.execute(
            "SELECT ap.article_id, p.name, ap.post, ap.position FROM article_people ap"
            " JOIN people p ON p.id = ap.person_id ORDER BY 1, 4, 2").fetchall(),
        "places": conn.execute(
            "SELECT ap.article_id, p.name, p.level, ap.surface, ap.position FROM article_places ap"
            " JOIN places p ON p.id = ap.place_id ORDER BY 1, 5, 2").fetchall(),
    }
    conn.close()
    return out


def test_entities_do_not_depend_on_load_order_or_on_workers(digital, tmp_path):
    a, b = [str(p) for p in digital[:2]], [str(p) for p in digital[2:]]
    ab = RunOptions(db_path=str(tmp_path / "ab.db"), work_dir=str(tmp_path / "w1"))
    run(a, ab)
    run(b, ab)
    ba = RunOptions(db_path=str(tmp_path / "ba.db"), work_dir=str(tmp_path / "w2"))
    run(b, ba)
    run(a, ba)
    rows = _entity_rows(ab.db_path)
    assert rows["units"] and rows["places"]
    assert rows == _entity_rows(ba.db_path)
    # computed in worker processes (born-digital issues go whole to a worker)
    par = RunOptions(db_path=str(tmp_path / "par.db"), work_dir=str(tmp_path / "w3"), workers=2)
    run([*b, *a], par)
    assert _entity_rows(par.db_path) == rows
