"""The reading room in a REAL datasette process: reading view in headless Chromium,
links, truncation, home page order, image route, serving while a batch loads, SIGTERM."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

import generator as generate
from pipeline.archive import load
from pipeline.batch.runner import RunOptions, run
from pipeline.publish import serve

sys.path.insert(0, str(Path(__file__).parent))
from test_reading_room import _scan_rendition  # noqa: E402

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REGION = {"kind": "masthead", "box": [60.0, 50.0, 535.0, 130.0]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



def _chromium(url: str, shot: Path = None) -> str:
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-proxy-server", f"--user-data-dir={profile}", "--window-size=1400,1200"]
        if shot:
            cmd.append(f"--screenshot={shot}")
        r = subprocess.run(cmd + ["--dump-dom", url], capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    specs = generate.sample_specs()
    pdf = tmp / "in" / "gen01.pdf"
    pdf.parent.mkdir()
    truth = generate.render_pdf(specs[0], pdf)
    db = tmp / "archive.db"
    assert run([str(pdf)], RunOptions(db_path=str(db), work_dir=str(tmp / "work"))).count("loaded") == 1
    scan = _scan_rendition(pdf, tmp)
    d = load.open_db(db)
    load.load_issue(d, scan)
    # page regions as the read stage stores them (pages.regions); and a page whose image path points outside
    d.conn.execute("UPDATE pages SET regions = ? WHERE page_no = 1", [json.dumps([REGION])])
    last = d.conn.execute("SELECT max(page_no) FROM pages WHERE issue_id = ?", [scan.doc.doc_id]).fetchone()[0]
    d.conn.execute("UPDATE pages SET image_path = ? WHERE id = ?", [str(pdf), f"{scan.doc.doc_id}-{last}"])
    d.conn.commit()
    d.conn.close()
    port = _free_port()
    log = open(tmp / "datasette.log", "wb")
    proc = serve.start(db, port=port, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        serve.wait_until_up(base + "/-/versions.json", timeout=90, proc=proc)
        with httpx.Client(base_url=base, trust_env=False, timeout=30) as client:
            conn = sqlite3.connect(db)
            digital = conn.execute("SELECT id FROM issues WHERE source_path = ?", [str(pdf)]).fetchone()[0]
            conn.close()
            yield {"base": base, "client": client, "db": db, "truth": truth, "digital": digital,
                   "scan": scan.doc.doc_id, "last": last, "tmp": tmp, "log": tmp / "datasette.log"}
    finally:
        serve.stop(proc)
        log.close()


def _article(site, seq, issue="digital"):
    conn = sqlite3.connect(site["db"])
    try:
        return conn.execute("SELECT id, boxes, page_start, page_end FROM articles WHERE issue_id = ? AND seq = ?",
                            [site[issue], seq]).fetchone()
    finally:
        conn.close()


def test_served_read_only_not_immutable(site):
    c = site["client"]
    dbs = c.get("/-/databases.json").json()
    assert [d["is_mutable"] for d in dbs if d["name"] == "archive"] == [True]
    assert "--metadata" not in serve.command(site["db"]) and "-i" not in serve.command(site["db"])
    before = c.get("/archive.json", params={"sql": "select count(*) as n from articles", "_shape": "array"}).json()
    r = c.get("/archive.json", params={"sql": "delete from articles"})
    assert r.status_code in (400, 403) and not r.json().get("ok", False)
    assert c.get("/archive.json", params={"sql": "select count(*) as n from articles",
                                          "_shape": "array"}).json() == before


def test_plugin_supplies_metadata_and_queries(site):
    """No --metadata file: descriptions, facets and canned queries come from the plugin hooks."""
    c = site["client"]
    md = c.get("/-/metadata.json").json()
    tables = md["databases"]["archive"]["tables"]
    assert "description" in tables["articles"] and tables["issues"]["facets"] == ["doc_type", "publisher", "year", "needs_review"]
    q = site["truth"]["articles"][0]["title"]
    rows = c.get("/archive/search_articles.json", params={"q": q, "_shape": "array"}).json()
    assert [r["article_id"] for r in rows if r["title"] == q] == [_article(site, 1)[0]]   # one rendition
    page = c.get("/archive/search_articles", params={"q": q}).text
    assert f'href="/-/bulletin/article/{_article(site, 1)[0]}"' in page


def test_plain_datasette_gets_the_plugin(site):
    """`datasette archive.db` with no options: metadata, queries and the reading view all there."""
    port = _free_port()
    exe = Path(sys.executable).parent / "datasette"
    proc = subprocess.Popen([str(exe), "serve", str(site["db"]), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        serve.wait_until_up(base + "/-/versions.json", timeout=90, proc=proc)
        with httpx.Client(base_url=base, trust_env=False, timeout=30) as c:
            md = c.get("/-/metadata.json").json()
            assert md["databases"]["archive"]["tables"]["articles"]["facets"] == ["section"]
            q = site["truth"]["articles"][0]["title"]
            assert c.get("/archive/search_articles.json", params={"q": q, "_shape": "array"}).json()
            aid = _article(site, 1)[0]
            assert q in c.get(f"/-/bulletin/article/{aid}").text
    finally:
        serve.stop(proc)


def test_home_lists_issues_and_articles_first(site):
    html = site["client"].get("/").text
    m = re.search(r'<p class="bulletin-tables">(.*?)</p>', html, re.S)
    names = re.findall(r">(?:<strong>)?([a-z_]+)(?:</strong>)?</a>", m.group(1))
    assert names[:2] == ["issues", "articles"]


def test_table_rows_link_truncate_and_hide_boxes(site):
    c = site["client"]
    html = c.get("/archive/articles", params={"issue_id": site["digital"]}).text
    aid = _article(site, 1)[0]
    assert f'href="/-/bulletin/article/{aid}"' in html
    assert "bulletin.css" in html
    css = c.get("/-/static-plugins/bulletin-archive/bulletin.css")
    assert css.status_code == 200 and "td.col-boxes" in css.text and "display: none" in css.text
    bodies = re.findall(r'<td class="col-body[^"]*">(.*?)</td>', html, re.S)
    longest = max(len(b["body"]) for b in site["truth"]["articles"])
    assert bodies and all(len(re.sub("<[^>]+>", "", b)) < 220 for b in bodies) and longest > 220
    assert "read…" in html
    assert 'href="/-/bulletin/article/' in c.get("/archive/article_index").text


def test_image_route_serves_only_the_archive_image_folder(site):
    c = site["client"]
    r = c.get(f"/-/bulletin/image/{site['digital']}-1")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"
    assert c.get(f"/-/bulletin/image/{site['scan']}-{site['last']}").status_code == 404   # points outside
    assert c.get("/-/bulletin/image/nope-1").status_code == 404
    assert c.get("/-/bulletin/article/12345").status_code == 404


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")
@pytest.mark.parametrize("issue", ["digital", "scan"])
def test_reading_view_in_chromium(site, issue):
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")
    aid, boxes, p0, p1 = _article(site, 2, issue)
    shot = ARTIFACTS / f"reading_view_{issue}.png"
    shot.unlink(missing_ok=True)
    dom = _chromium(site["base"] + f"/-/bulletin/article/{aid}", shot)
    t = site["truth"]["articles"][1]
    i = site["truth"]["issue"]
    assert f'<h1 id="title">{t["title"]}</h1>' in dom
    cite = f"《{i['title'].replace('管理局', '管埋局') if issue == 'scan' else i['title']}》{i['year']}年第{i['issue_no']}期"
    assert re.search(r'<p class="citation" id="citation">' + re.escape(cite), dom)
    assert t["body"].split("\n")[0] in dom
    # page images beside the text, loaded, with the article's boxes drawn over them
    imgs = re.findall(r'<img src="(/-/bulletin/image/[^"]+)"[^>]*data-loaded="(\d+)"', dom)
    assert [u for u, _ in imgs] == [f"/-/bulletin/image/{site[issue]}-{n}" for n in range(p0, p1 + 1)]
    assert all(int(w) > 300 for _, w in imgs)
    n_boxes = len(json.loads(boxes))
    assert dom.count('class="box"') == n_boxes > 0
    # previous/next article and the issue's contents
    assert 'rel="prev"' in dom and 'rel="next"' in dom
    toc = re.search(r'<div class="toc" id="toc">(.*?)</div>', dom, re.S).group(1)
    assert [re.sub("<[^>]+>", "", x) for x in re.findall(r"<a [^>]*>(.*?)</a>", toc)] == \
        [a["title"] for a in site["truth"]["articles"]]
    assert shot.exists() and shot.stat().st_size > 20_000
    if issue == "scan":
        assert "Other renditions of this issue" in dom and site["digital"] in dom


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")
def test_reading_view_shows_page_regions(site):
    aid = _article(site, 1)[0]
    dom = _chromium(site["base"] + f"/-/bulletin/article/{aid}")
    assert re.search(r'<div class="region" data-kind="masthead" style="left:10\.\d+%;top:5\.9\d*%', dom)


# --------------------------------------------------------------------------
# serving while a batch loads

LOADER = """
import sys
from pipeline.batch.runner import RunOptions, run
s = run([sys.argv[1]], RunOptions(db_path=sys.argv[2], work_dir=sys.argv[3]))
sys.exit(0 if s.count("loaded") == 1 else 1)
"""


def test_serve_while_loading(tmp_path):
    specs = generate.sample_specs()
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    generate.render_pdf(specs[0], a)
    truth_b = generate.render_pdf(specs[2], b)
    db = tmp_path / "archive.db"
    assert run([str(a)], RunOptions(db_path=str(db), work_dir=str(tmp_path / "work"))).count("loaded") == 1
    port = _free_port()
    log = open(tmp_path / "datasette.log", "wb")
    proc = serve.start(db, port=port, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    statuses, stop = [], threading.Event()
    try:
        serve.wait_until_up(base + "/-/versions.json", timeout=90, proc=proc)
        conn = sqlite3.connect(db)
        aid = conn.execute("SELECT id FROM articles LIMIT 1").fetchone()[0]
        conn.close()

        def browse():
            with httpx.Client(base_url=base, trust_env=False, timeout=30) as c:
                while not stop.is_set():
                    for path in ("/", "/archive", "/archive/issues", "/archive/articles?_search=" + quote("节能"),
                                 f"/-/bulletin/article/{aid}", "/archive/search_articles?q=" + quote("会议")):
                        statuses.append((path, c.get(path).status_code))

        t = threading.Thread(target=browse)
        t.start()
        loader = subprocess.run([sys.executable, "-c", LOADER, str(b), str(db), str(tmp_path / "work")],
                                capture_output=True, text=True, timeout=600)
        time.sleep(1.0)
        stop.set()
        t.join(timeout=60)
        assert loader.returncode == 0, loader.stderr[-2000:]
        assert statuses and all(code == 200 for _, code in statuses), [s for s in statuses if s[1] != 200][:5]
        with httpx.Client(base_url=base, trust_env=False, timeout=30) as c:
            issues = c.get("/archive/issues.json", params={"_shape": "array"}).json()
            assert truth_b["issue"]["title"] in {i["title"] for i in issues} and len(issues) == 2
            conn = sqlite3.connect(db)
            bid = conn.execute("SELECT a.id FROM articles a JOIN issues i ON i.id = a.issue_id"
                               " WHERE i.title = ? ORDER BY a.seq LIMIT 1", [truth_b["issue"]["title"]]).fetchone()[0]
            conn.close()
            r = c.get(f"/-/bulletin/article/{bid}")
            assert r.status_code == 200 and truth_b["articles"][0]["title"] in r.text
    finally:
        stop.set()
        serve.stop(proc)
        log.close()
    assert b" 500 " not in (tmp_path / "datasette.log").read_bytes()


# --------------------------------------------------------------------------
# bulletin serve stops on SIGTERM

def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        f = task / "children"
        if f.exists():
            out += [int(x) for x in f.read_text().split()]
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:   # a zombie is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_bulletin_serve_stops_on_signal(tmp_path, sig):
    db = tmp_path / "archive.db"
    load.open_db(db).conn.close()
    port = _free_port()
    exe = Path(sys.executable).parent / "bulletin"
    tmpdir = tmp_path / "tmp"          # the server's own temp folder: must be left empty
    tmpdir.mkdir()
    proc = subprocess.Popen([str(exe), "serve", "--db", str(db), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": str(tmpdir)})
    try:
        serve.wait_until_up(f"http://127.0.0.1:{port}/-/versions.json", timeout=90, proc=proc)
        kids = _children(proc.pid)
        assert kids, "datasette runs as a child of bulletin serve"
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
        deadline = time.monotonic() + 10
        while any(_alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(k) for k in kids), "no orphan datasette"
        assert list(tmpdir.iterdir()) == []
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/", trust_env=False, timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
