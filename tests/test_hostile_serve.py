"""Issue 13, the served archive: what one SQL query may allocate or compute,
what the page-image mount may serve, and what a SIGTERM on ``bulletin serve``
leaves behind. A real datasette process over HTTP."""
from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from hostile_common import ROOT
from pipeline.archive import readonly, search
from pipeline.publish import datasette_plugin, serve

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli_serve(db: Path, port: int, log) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "serve", "--db", str(db), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT), start_new_session=True)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _stop(proc: subprocess.Popen, extra=()):
    for pid in [proc.pid, *extra]:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A small archive whose pages point at stored page images in two work
    folders, and files beside them that are not the archive's images."""
    from test_search import build_archive
    top = tmp_path_factory.mktemp("served")
    db = build_archive(top / "data" / "archive.db")
    conn = sqlite3.connect(db)
    ids = [r[0] for r in conn.execute("SELECT id FROM pages ORDER BY id LIMIT 2")]
    assert len(ids) == 2
    images = []
    for k, pid in enumerate(ids):
        img = top / f"work{k}" / pid / "pages" / "page-1.jpg"
        img.parent.mkdir(parents=True)
        img.write_bytes(b"\xff\xd8\xff\xe0 page image %d" % k)
        images.append(img)
        conn.execute("UPDATE pages SET image_path = ? WHERE id = ?", [str(img), pid])
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    (top / "secret.txt").write_text("not part of the archive\n")
    (top / "work0" / "notes.txt").write_text("private notes\n")
    return top, db, images


@pytest.fixture(scope="module")
def server(archive, tmp_path_factory):
    top, db, images = archive
    port = _free_port()
    log = open(tmp_path_factory.mktemp("log") / "serve.log", "wb")
    proc = _cli_serve(db, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        serve.wait_until_up(base + "/-/versions.json", timeout=60, proc=proc)
        with httpx.Client(base_url=base, trust_env=False, timeout=30) as client:
            yield client, proc
    finally:
        _stop(proc, _children(proc.pid))
        log.close()


# --------------------------------------------------------------------------
# 7: bounded SQL


def test_one_query_cannot_allocate_gigabytes(server):
    client, _ = server
    t0 = time.time()
    r = client.get("/archive.json", params={"sql": "select length(zeroblob(2000000000)) as n"})
    assert time.time() - t0 < 5
    assert "too big" in r.text and '"n"' not in r.text.replace('"n"]', "")
    r = client.get("/archive.json", params={"sql": "select length(replace(hex(zeroblob(5000000)), '0', "
                                                   "'xxxxxxxxxx')) as n"})
    assert "too big" in r.text                    # 100 MB built from 5 MB: refused
    ok = client.get("/archive.json", params={"sql": "select length(zeroblob(1000)) as n", "_shape": "array"})
    assert ok.json() == [{"n": 1000}]


def test_project_sql_functions_refuse_huge_arguments(server):
    client, _ = server
    t0 = time.time()
    r = client.get("/archive.json", params={"sql": "select length(bulletin_tokens(printf('%.*c', 5000000, '节'))) as n"})
    assert time.time() - t0 < 3
    assert r.status_code >= 400 or "error" in r.text.lower()
    ok = client.get("/archive.json", params={"sql": "select bulletin_tokens('公务用车') as t", "_shape": "array"})
    assert ok.json() == [{"t": search.index_text("公务用车")}]


def test_prepare_connection_limits_a_plain_connection(archive):
    conn = sqlite3.connect(archive[1])
    datasette_plugin.prepare_connection(conn)
    with pytest.raises(sqlite3.DataError, match="too big"):
        conn.execute("select zeroblob(?)", [readonly.MAX_VALUE_BYTES + 1]).fetchone()
    with pytest.raises(sqlite3.OperationalError, match="user-defined function raised exception"):
        conn.execute("select bulletin_normalize(?)", ["公" * (readonly.MAX_FUNCTION_INPUT + 1)]).fetchone()
    t0 = time.time()
    assert conn.execute("select length(bulletin_tokens(?))", ["公务用车" * 50_000]).fetchone()[0] > 0
    assert time.time() - t0 < 3


# --------------------------------------------------------------------------
# 2: the page-image mount serves the archive's images and nothing else


def test_page_image_mount_serves_nothing_outside_the_image_folders(archive, server):
    top, db, images = archive
    client, _ = server
    roots = {top, Path(os.path.commonpath([str(i.parent) for i in images]))}
    leaked = []
    for f in sorted(p for p in top.rglob("*") if p.is_file() and p not in images):
        for root in roots:
            try:
                rel = f.relative_to(root).as_posix()
            except ValueError:
                continue
            for url in (f"/page-images/{quote(rel)}", f"/page-images/../{quote(rel)}",
                        f"/page-images/%2e%2e/{quote(rel)}"):
                try:
                    r = client.get(url)
                except httpx.HTTPError:
                    continue
                if r.status_code == 200 and r.content == f.read_bytes():
                    leaked.append(f"{url} -> {f.relative_to(top)}")
    assert leaked == []


# --------------------------------------------------------------------------
# 8: SIGTERM on `bulletin serve` stops datasette too


def test_sigterm_on_serve_leaves_no_orphan(archive, tmp_path):
    top, db, images = archive
    port = _free_port()
    log = open(tmp_path / "serve.log", "wb")
    proc = _cli_serve(db, port, log)
    kids = []
    try:
        serve.wait_until_up(f"http://127.0.0.1:{port}/-/versions.json", timeout=60, proc=proc)
        kids = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(k) for k in kids):
            time.sleep(0.2)
        orphans = [k for k in kids if _alive(k)]
        with socket.socket() as s:
            refused = s.connect_ex(("127.0.0.1", port)) != 0
        assert orphans == [] and refused
    finally:
        _stop(proc, kids)
        log.close()
