"""The archive served by a REAL datasette process (serve.py, read-only, not immutable), over HTTP."""
from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_search import aid, build_archive  # noqa: E402

from pipeline.publish import serve  # noqa: E402

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("served")
    db = build_archive(tmp / "archive.db")
    port = _free_port()
    log = open(tmp / "datasette.log", "wb")
    proc = serve.start(db, port=port, host="127.0.0.1", stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        serve.wait_until_up(base + "/-/versions.json", timeout=60, proc=proc)
        client = httpx.Client(base_url=base, trust_env=False, timeout=20)
        yield {"base": base, "client": client, "db": db, "sha": _sha(db), "proc": proc}
        client.close()
    finally:
        serve.stop(proc)
        log.close()


def test_served_read_only(server):
    # not immutable, so a batch can load while people browse (test_reading_view); read-only
    # all the same: datasette reads through mode=ro connections (test_writes_refused below)
    dbs = server["client"].get("/-/databases.json").json()
    assert [d["is_mutable"] for d in dbs if d["name"] == "archive"] == [True]
    plugins = server["client"].get("/-/plugins.json").json()
    assert any(p["name"] == "bulletin-archive" for p in plugins)


def test_table_search_box_html(server):
    r = server["client"].get("/archive/articles?_search=" + quote("公务用车"))
    assert r.status_code == 200
    assert 'name="_search"' in r.text and 'value="公务用车"' in r.text     # the box is shown, term kept
    for title in ("全省推进公务用车制度改革", "某市平台建设经验", "香港來函"):
        assert title in r.text
    assert "创建节约型机关取得成效" not in r.text


def test_table_search_json(server):
    c = server["client"]
    rows = c.get("/archive/articles.json", params={"_search": "公務用車", "_shape": "array"}).json()
    assert sorted(r["id"] for r in rows) == sorted([aid(0, 1), aid(0, 3), aid(1, 3)])
    rows = c.get("/archive/articles.json", params={"_search_title": "节能", "_shape": "array"}).json()
    assert [r["id"] for r in rows] == [aid(0, 2)]
    rows = c.get("/archive/articles.json", params={"_search": "郭春英", "section": "工作动态",
                                                   "_shape": "array"}).json()
    assert [r["id"] for r in rows] == [aid(0, 2)]
    data = c.get("/archive/article_index.json", params={"_search": "节能", "_facet": "year"}).json()
    assert {f["value"]: f["count"] for f in data["facet_results"]["year"]["results"]} == {2022: 1, 2023: 2}


def test_canned_query(server):
    c = server["client"]
    rows = c.get("/archive/search_articles.json", params={"q": "节能", "_shape": "array"}).json()
    assert rows[0]["title"] == "机关节能工作会议召开"                      # title hit first
    assert len(rows) == 3 and all("【节能】" in r["snippet"] for r in rows[1:])
    html = c.get("/archive/search_articles", params={"q": "公务用车"}).text
    assert "<mark>公务 用 车</mark>" in html
    rows = c.get("/archive/article_pages.json", params={"article_id": aid(0, 3), "_shape": "array"}).json()
    assert [r["page_no"] for r in rows] == [2]


def test_article_links_to_issue_and_page(server):
    html = server["client"].get(f"/archive/articles/{aid(0, 3)}").text
    assert "/archive/issues/11aa22bb33cc44dd" in html
    assert "/archive/pages/11aa22bb33cc44dd-2" in html


@pytest.mark.parametrize("sql", [
    "delete from articles",
    "insert into articles (id, issue_id, seq) values (1, 'x', 1)",
    "update articles set title = 'x'",
    "drop table articles",
    "select 1; delete from articles",
])
def test_writes_refused(server, sql):
    c = server["client"]
    r = c.get("/archive.json", params={"sql": sql})
    assert r.status_code in (400, 403) and not r.json().get("ok", False)
    r = c.post("/archive", data={"sql": sql})
    assert r.status_code in (400, 403, 404, 405)
    n = c.get("/archive.json", params={"sql": "select count(*) as n from articles", "_shape": "array"}).json()
    assert n == [{"n": 8}]
    assert _sha(server["db"]) == server["sha"]


def test_write_apis_absent(server):
    c = server["client"]
    for path in ("/archive/articles/-/insert", "/archive/-/create", f"/archive/articles/{aid(0, 1)}/-/delete"):
        assert c.post(path, json={"row": {"id": 1}}).status_code in (400, 403, 404, 405)
    assert c.get("/archive.json", params={"sql": "select count(*) as n from articles",
                                          "_shape": "array"}).json() == [{"n": 8}]


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")
def test_headless_chromium_search_page(server):
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / ".gitignore").write_text("*\n")
    shot = ARTIFACTS / "datasette_search.png"
    shot.unlink(missing_ok=True)
    url = server["base"] + "/archive/search_articles?q=" + quote("公务用车")
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        r = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-proxy-server", f"--user-data-dir={profile}", "--window-size=1280,1000",
             f"--screenshot={shot}", "--dump-dom", url],
            capture_output=True, text=True, timeout=90)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "全省推进公务用车制度改革" in r.stdout
    assert "<mark>公务用车</mark>" in r.stdout
    assert shot.exists() and shot.stat().st_size > 10_000
