"""Archive-scale batches: resumable runs, progress modes, stage versions, workers,
the Dask executor and ``bulletin status`` — on generated bulletins."""
import dataclasses
import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import generator as generate
from pipeline.structure import layout as layout_stage
from pipeline.read import text as text_stage
from pipeline.batch.runner import RunOptions, run

ROOT = Path(__file__).resolve().parent.parent
N_BATCH = 8


def kill_group(proc) -> None:
    """A test's cleanup: SIGKILL whatever is left of a run's process group."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def make_batch(out: Path, n: int = N_BATCH) -> list[Path]:
    """``n`` born-digital bulletins with distinct printed content (issue no and date)."""
    out.mkdir(parents=True, exist_ok=True)
    specs = generate.sample_specs()
    paths = []
    for k in range(n):
        spec = specs[k % len(specs)]
        round_ = k // len(specs)
        if round_:
            date = (dt.date.fromisoformat(spec.date) + dt.timedelta(days=7 * round_)).isoformat()
            spec = dataclasses.replace(
                spec, id=f"{spec.id}r{round_}", date=date,
                issue_no=None if spec.issue_no is None else spec.issue_no + 20 * round_)
        path = out / f"{k + 1:02d}-{spec.id}.pdf"
        generate.render_pdf(spec, path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("batch") / "in"
    return make_batch(out)


@pytest.fixture(scope="module")
def reference(batch, tmp_path_factory):
    """A clean, serial, uninterrupted run of ``batch``."""
    d = tmp_path_factory.mktemp("reference")
    opts = RunOptions(db_path=str(d / "archive.db"), work_dir=str(d / "work"))
    summary = run([str(batch[0].parent)], opts)
    assert summary.count("loaded") == N_BATCH and not summary.failed
    return opts.db_path


def archive_rows(db_path: str) -> dict:
    """issues/articles/pages/failures rows without timestamps (``loaded_at``,
    ``at``) and without where stage files live (``image_path``)."""
    conn = sqlite3.connect(db_path)
    out = {}
    skip = {"loaded_at", "at", "image_path", "id"}
    for table, order in (("issues", "id"), ("articles", "id"), ("pages", "id"),
                         ("failures", "source_path, stage, error")):
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        keep = [c for c in cols if c not in skip or (c == "id" and table != "failures")]
        out[table] = conn.execute(f"SELECT {', '.join(keep)} FROM {table} ORDER BY {order}").fetchall()
    conn.close()
    return out


def check_whole_issues(db_path: str) -> int:
    """integrity_check ok, and every issue has exactly its pages and articles."""
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute(
        "SELECT i.id, i.page_count, i.article_count,"
        " (SELECT count(*) FROM pages p WHERE p.issue_id = i.id),"
        " (SELECT count(*) FROM articles a WHERE a.issue_id = i.id) FROM issues i").fetchall()
    for iid, n_pages, n_articles, pages, articles in rows:
        assert (pages, articles) == (n_pages, n_articles), f"half-loaded issue {iid}"
    orphans = conn.execute("SELECT count(*) FROM articles WHERE issue_id NOT IN (SELECT id FROM issues)"
                           ).fetchone()[0] + conn.execute(
        "SELECT count(*) FROM pages WHERE issue_id NOT IN (SELECT id FROM issues)").fetchone()[0]
    assert orphans == 0
    dup = conn.execute("SELECT source_path, count(*) FROM issues GROUP BY source_path HAVING count(*) > 1"
                       ).fetchall()
    assert dup == []
    n = len(rows)
    conn.close()
    return n


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", *map(str, args)]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["OMP_THREAD_LIMIT"] = "1"
    return env


# --------------------------------------------------------------------------
# 1. resumable runs


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_killed_run_resumes_to_the_clean_archive(batch, reference, tmp_path):
    db, work = tmp_path / "archive.db", tmp_path / "work"
    cmd = cli("run", batch[0].parent, "--db", db, "--work-dir", work, "--jsonl", "--workers", "2")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), cwd=str(ROOT), start_new_session=True)
    first_events, workers = [], []
    try:
        for line in proc.stdout:
            ev = json.loads(line)
            if ev["event"] == "file":
                first_events.append(ev)
                if len(first_events) == 2:
                    workers = _children(proc.pid)
                    os.kill(proc.pid, signal.SIGKILL)   # the run only: its workers must follow
                    break
        proc.wait(timeout=60)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert workers and not any(_alive(w) for w in workers), "orphaned worker processes"
    finally:
        kill_group(proc)
    assert proc.returncode == -signal.SIGKILL
    assert len(first_events) == 2 and all(e["status"] == "loaded" for e in first_events)
    # what the killed run left is consistent: whole issues only
    n_left = check_whole_issues(str(db))
    assert 2 <= n_left < N_BATCH

    rerun = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=str(ROOT), timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    events = [json.loads(l) for l in rerun.stdout.splitlines()]
    files = [e for e in events if e["event"] == "file"]
    status = {Path(e["source_path"]).name: e["status"] for e in files}
    assert len(files) == N_BATCH
    # issues the killed run committed are skipped, every other one is loaded, none twice
    killed_loaded = {Path(e["source_path"]).name for e in first_events}
    assert all(status[n] == "unchanged" for n in killed_loaded)
    assert sum(s == "unchanged" for s in status.values()) == n_left
    assert sum(s == "loaded" for s in status.values()) == N_BATCH - n_left
    assert check_whole_issues(str(db)) == N_BATCH
    assert archive_rows(str(db)) == archive_rows(reference)
    assert list(work.glob("*/*.tmp*")) == []          # half-written stage files of the killed run are gone


def test_resumed_run_skips_finished_work_without_parsing(batch, reference, tmp_path, monkeypatch):
    """An all-done re-run only hashes the inputs: no PDF is opened again."""
    from pipeline.read import ingest
    db = tmp_path / "copy.db"
    src = sqlite3.connect(reference)
    dst = sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.close()

    def boom(*a, **k):
        raise AssertionError("an unchanged input was parsed again")
    monkeypatch.setattr(ingest, "pdf_pages", boom)
    summary = run([str(batch[0].parent)], RunOptions(db_path=str(db), work_dir=str(tmp_path / "w")))
    assert summary.count("unchanged") == N_BATCH


# --------------------------------------------------------------------------
# 2. progress: human, --jsonl, --quiet


def test_progress_modes(batch, tmp_path, capsys):
    from pipeline.cli import main
    two = [batch[0], batch[1]]
    rc = main(["run", *map(str, two), "--db", str(tmp_path / "a.db"), "--work-dir", str(tmp_path / "w"),
               "--jsonl"])
    out = capsys.readouterr()
    assert rc == 0
    events = [json.loads(l) for l in out.out.splitlines()]      # every stdout line is JSON
    assert [e["event"] for e in events] == ["start", "file", "file", "end"]
    assert events[0]["total"] == 2
    f = events[2]
    assert f["status"] == "loaded" and f["done"] == 2 and f["total"] == 2
    assert f["pages_done"] == sum(e["pages"] for e in events[1:3]) > 0
    assert f["rate_pages_s"] > 0 and "eta" in f and f["failures"] == 0
    assert events[-1]["loaded"] == 2 and events[-1]["pages"] == f["pages_done"]
    assert out.err == ""

    # --quiet: no progress, just the summary; human: one progress line per file on stderr
    rc = main(["run", *map(str, two), "--db", str(tmp_path / "a.db"), "--work-dir", str(tmp_path / "w"),
               "--quiet"])
    out = capsys.readouterr()
    assert rc == 0 and out.err == ""
    assert out.out.strip().splitlines()[0].startswith("0 loaded, 2 unchanged, 0 duplicate, 0 failed")
    rc = main(["run", *map(str, two), "--db", str(tmp_path / "a.db"), "--work-dir", str(tmp_path / "w")])
    out = capsys.readouterr()
    progress = [l for l in out.err.splitlines() if l.startswith("[")]
    assert len(progress) == 2 and "unchanged" in progress[0] and "/2]" in progress[0]


# --------------------------------------------------------------------------
# 3. --force and stage versions


def test_force_and_stage_versions(batch, tmp_path, monkeypatch):
    opts = RunOptions(db_path=str(tmp_path / "a.db"), work_dir=str(tmp_path / "w"))
    two = [str(batch[2]), str(batch[3])]
    run(two, opts)
    caches = sorted(Path(opts.work_dir).glob("*/text.json"))
    assert len(caches) == 2
    for c in caches:
        os.utime(c, (1_000_000, 1_000_000))

    # a newer layout stage re-runs layout and after, from the cached text
    monkeypatch.setattr(layout_stage, "VERSION", layout_stage.VERSION + 1)

    def no_reading(*a, **k):
        raise AssertionError("the text stage ran although only layout changed")
    with monkeypatch.context() as m:
        m.setattr(text_stage, "read_text_layer", no_reading)
        summary = run(two, opts)
    assert [r.status for r in summary.results] == ["loaded", "loaded"]
    assert all(c.stat().st_mtime == 1_000_000 for c in caches)
    conn = sqlite3.connect(opts.db_path)
    versions = {v for (v,) in conn.execute("SELECT pipeline_version FROM issues")}
    assert all(f"layout{layout_stage.VERSION}." in v for v in versions)
    assert conn.execute("SELECT count(*) FROM issues").fetchone()[0] == 2

    # nothing changed: skipped
    assert [r.status for r in run(two, opts).results] == ["unchanged", "unchanged"]
    # --force: everything again, the text stage included
    summary = run(two, dataclasses.replace(opts, force=True))
    assert [r.status for r in summary.results] == ["loaded", "loaded"]
    assert all(c.stat().st_mtime != 1_000_000 for c in caches)
    # a newer text stage re-reads the text
    for c in caches:
        os.utime(c, (1_000_000, 1_000_000))
    monkeypatch.setattr(text_stage, "VERSION", text_stage.VERSION + 1)
    assert [r.status for r in run(two, opts).results] == ["loaded", "loaded"]
    assert all(c.stat().st_mtime != 1_000_000 for c in caches)
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == \
        conn.execute("SELECT sum(article_count) FROM issues").fetchone()[0]


# --------------------------------------------------------------------------
# 4. --workers N


def test_two_workers_give_the_serial_archive(batch, reference, tmp_path):
    opts = RunOptions(db_path=str(tmp_path / "a.db"), work_dir=str(tmp_path / "w"), workers=2)
    events = []
    summary = run([str(batch[0].parent)], opts, progress=lambda e, d: events.append((e, d)))
    assert summary.count("loaded") == N_BATCH
    # results are reported (and loaded) in input order
    names = [Path(d["source_path"]).name for e, d in events if e == "file"]
    assert names == [p.name for p in batch]
    assert len(list(Path(opts.work_dir).glob("*/issue.json"))) == N_BATCH
    assert archive_rows(opts.db_path) == archive_rows(reference)


def test_born_digital_documents_run_in_worker_processes(batch, tmp_path, monkeypatch):
    from pipeline.batch import executors
    from pipeline.batch import runner as run_mod
    submitted = []
    real = executors.LocalExecutor.submit

    def spy(self, fn, *args):
        submitted.append(fn.__name__)
        return real(self, fn, *args)
    monkeypatch.setattr(executors.LocalExecutor, "submit", spy)
    run([str(batch[4]), str(batch[5])],
        RunOptions(db_path=str(tmp_path / "a.db"), work_dir=str(tmp_path / "w"), workers=2))
    assert submitted == ["process_job", "process_job"]
    assert run_mod.process_job.__module__ == "pipeline.batch.runner"


# --------------------------------------------------------------------------
# 5. the Dask executor


@pytest.fixture(scope="module")
def scan_batch(batch, tmp_path_factory):
    """Two born-digital bulletins and a one-page mild scan (150 dpi, image-only PDF)."""
    import shutil
    out = tmp_path_factory.mktemp("scanbatch") / "in"
    out.mkdir()
    shutil.copy(batch[0], out / "01-digital.pdf")
    shutil.copy(batch[1], out / "02-digital.pdf")
    generate.render_scans(batch[3], out / "03-scan.pdf", "pdf", "mild", dpi=150, pages=[1], seed=3)
    return out


def test_dask_executor_gives_the_local_archive(scan_batch, tmp_path):
    distributed = pytest.importorskip("distributed")
    common = dict(engine="tesseract", dpi=150)
    local = RunOptions(db_path=str(tmp_path / "local.db"), work_dir=str(tmp_path / "wl"), **common)
    s1 = run([str(scan_batch)], local)
    assert s1.count("loaded") == 3, [r.error for r in s1.failed]

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cluster:
        opts = RunOptions(db_path=str(tmp_path / "dask.db"), work_dir=str(tmp_path / "wd"),
                          executor="dask", scheduler=cluster.scheduler_address, **common)
        s2 = run([str(scan_batch)], opts)
        assert s2.count("loaded") == 3, [r.error for r in s2.failed]
        with distributed.Client(cluster.scheduler_address) as client:
            prefixes = client.run_on_scheduler(
                lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    # OCR pages and the born-digital documents went through the cluster
    assert "read_ocr_page" in prefixes and "process_job" in prefixes
    conn = sqlite3.connect(opts.db_path)
    methods = dict(conn.execute("SELECT i.source_path, group_concat(p.method) FROM issues i"
                                " JOIN pages p ON p.issue_id = i.id GROUP BY i.id"))
    assert methods[str(scan_batch / "03-scan.pdf")] == "tesseract"
    assert archive_rows(opts.db_path) == archive_rows(local.db_path)


# --------------------------------------------------------------------------
# 7. bulletin status


def test_status_reports_stages_failures_and_what_is_left(batch, tmp_path):
    from pipeline.batch.status import format_status, status
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for p in batch[:3]:
        (inputs / p.name).write_bytes(p.read_bytes())
    (inputs / "09-empty.pdf").write_bytes(b"")
    db, work = tmp_path / "a.db", tmp_path / "w"
    run([str(inputs)], RunOptions(db_path=str(db), work_dir=str(work)))
    later = tmp_path / "later"
    later.mkdir()
    (later / batch[3].name).write_bytes(batch[3].read_bytes())

    st = status(str(db), [str(inputs), str(later)], work_dir=str(work))
    assert st["issues"] == 3 and st["inputs"] == 5
    assert st["stages"] == {"text": 3, "layout/segment/extract": 3, "load": 3, "failed": 1}
    assert st["failures_by_stage"] == {"ingest": 1}
    assert [(Path(f["source_path"]).name, f["stage"], f["error"]) for f in st["failures"]] == \
        [("09-empty.pdf", "ingest", "empty file (0 bytes)")]
    assert st["pending"] == [str(later / batch[3].name)]
    text = format_status(st)
    assert "09-empty.pdf: empty file (0 bytes) [ingest]" in text
    assert "left to process: 1" in text and batch[3].name in text
    assert "per stage: text 3, layout/segment/extract 3, load 3, failed 1" in text

    # the CLI prints the same; a fixed input no longer counts as failed
    (inputs / "09-empty.pdf").write_bytes(batch[4].read_bytes())
    run([str(inputs), str(later)], RunOptions(db_path=str(db), work_dir=str(work)))
    r = subprocess.run(cli("status", inputs, later, "--db", db, "--work-dir", work, "--json"),
                       capture_output=True, text=True, env=_env(), cwd=str(ROOT), timeout=120)
    st = json.loads(r.stdout)
    assert st["issues"] == 5 and st["failures"] == [] and st["pending"] == []
    # stage versions moved on: the loaded inputs are reported stale
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE issues SET pipeline_version = 'ingest0.text0' WHERE source_path LIKE '%01-%'")
    conn.close()
    st = status(str(db), [str(inputs)], work_dir=str(work))
    assert [Path(p).name for p in st["stale"]] == [batch[0].name]


def test_a_worker_crash_fails_only_its_input(batch, tmp_path, monkeypatch):
    """A native crash (here: os._exit in the worker) breaks the process pool; the
    crashing input fails with a clear reason, the others are retried and load."""
    import shutil
    from pipeline.batch import runner as run_mod
    inputs = tmp_path / "in"
    inputs.mkdir()
    for k, p in enumerate(batch[:4]):
        shutil.copy(p, inputs / (f"{k}-boom.pdf" if k == 1 else f"{k}-ok.pdf"))
    real = run_mod.process

    def crashing(doc, opts, executor=None):
        if Path(doc.source_path).name == "1-boom.pdf":
            os._exit(1)
        return real(doc, opts, executor)
    monkeypatch.setattr(run_mod, "process", crashing)     # inherited by the forked workers
    summary = run([str(inputs)], RunOptions(db_path=str(tmp_path / "a.db"), work_dir=str(tmp_path / "w"),
                                            workers=2))
    status = {Path(r.source_path).name: r for r in summary.results}
    assert [status[f"{k}-ok.pdf"].status for k in (0, 2, 3)] == ["loaded"] * 3
    bad = status["1-boom.pdf"]
    assert bad.status == "failed" and "worker process died" in bad.error and "\n" not in bad.error
    assert check_whole_issues(str(tmp_path / "a.db")) == 3


def test_no_page_images_stores_none(tmp_path):
    """``--no-page-images``: born-digital pages are not rendered into the
    archive either (the default renders them for the reading view)."""
    paths = make_batch(tmp_path / "in", 1)
    for images in (True, False):
        db = tmp_path / f"a-{images}.db"
        run([str(paths[0])], RunOptions(db_path=str(db), work_dir=str(tmp_path / f"w-{images}"),
                                        page_images=images))
        stored = sqlite3.connect(db).execute(
            "SELECT count(*), count(image_path) FROM pages").fetchone()
        folder = tmp_path / f"a-{images}-images"
        assert stored[0] >= 1
        if images:
            assert stored[1] == stored[0] and any(folder.rglob("*.jpg"))
        else:
            assert stored[1] == 0 and not any(folder.rglob("*.jpg"))


def test_workers_share_the_cores_opencv_included(monkeypatch):
    """Each of N workers gets cores // N threads for inference and OpenCV alike,
    set in the parent before the fork (a forked child cannot change OpenCV's)."""
    import cv2
    from pipeline.batch import executors
    from pipeline.read import engines
    monkeypatch.delenv("BULLETIN_OCR_THREADS", raising=False)
    monkeypatch.setattr(engines, "cores", lambda: 4)
    assert [executors.threads_per_worker(n) for n in (1, 2, 3, 4, 8)] == [4, 2, 1, 1, 1]
    monkeypatch.setenv("BULLETIN_OCR_THREADS", "3")
    assert executors.threads_per_worker(2) == 3
    before = cv2.getNumThreads()
    with executors.opencv_threads(1):
        pool = executors.LocalExecutor(2)
        try:
            assert pool.submit(cv2.getNumThreads).result(timeout=60) == 1
        finally:
            pool.close()
    assert cv2.getNumThreads() == before
    with executors.opencv_threads(before + 1):        # lowered only, never raised
        assert cv2.getNumThreads() == before


def test_page_buffers_are_reused_not_mapped_again():
    """After keep_page_buffers a page-sized buffer (48 MB: above glibc's own
    mmap threshold) comes from the heap and stays there when freed, for the
    next page, instead of being mapped and unmapped each time (glibc's
    mallinfo2, in a fresh interpreter: the setting is per process)."""
    probe = (
        "import ctypes, sys, numpy as np\n"
        "from pipeline.batch import executors\n"
        "class Info(ctypes.Structure):\n"
        "    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd',\n"
        "                'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]\n"
        "libc = ctypes.CDLL(None); libc.mallinfo2.restype = Info\n"
        "if sys.argv[1] == 'keep': executors.keep_page_buffers()\n"
        "a = np.ones(48 << 20, np.uint8); mapped = libc.mallinfo2().hblkhd; del a\n"
        "print(mapped >= 48 << 20, libc.mallinfo2().fordblks >= 48 << 20)\n")
    got = {mode: subprocess.run([sys.executable, "-c", probe, mode], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.split()
           for mode in ("keep", "default")}
    assert got == {"default": ["True", "False"],    # mapped on its own, given back on free
                   "keep": ["False", "True"]}       # from the heap, kept for reuse
