"""Reading room without a server: corrections, renditions, exports, citations, CLI behaviour.

The archive is built by the real pipeline from a generated born-digital bulletin; a
"scan" rendition of the same issue is made from it without OCR (page images rendered
from the PDF, the same lines, a masthead with an OCR slip), so no test here waits for OCR.
"""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pytest

import generator as generate
from pipeline import cli, models
from pipeline.archive import editions, load, pageimages, series
from pipeline.batch.runner import RunOptions, process, run
from pipeline.publish import export, pdfexport, reading
from pipeline.read import ingest

SCAN_TITLE_SLIP = ("管理局", "管埋局")      # an OCR slip in the masthead of the scan


def _bulletin(argv, capsys=None):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr() if capsys else None
    return code, out


def _scan_rendition(pdf: Path, work: Path) -> models.Issue:
    """The born-digital issue as if scanned: page images, OCR method, a masthead slip."""
    cands, _ = ingest.discover([str(pdf)])
    doc = ingest.ingest(cands[0])
    issue = process(doc, RunOptions(work_dir=str(work / "scanwork"), db_path=str(work / "unused.db")))
    scan_dir = work / "scan-pages"
    scan_dir.mkdir(parents=True, exist_ok=True)
    src = pdfium.PdfDocument(str(pdf))
    pages = []
    for p in issue.pages:
        img = scan_dir / f"page-{p.page_no:03d}.png"
        src[p.page_no - 1].render(scale=150 / 72).to_pil().convert("L").save(img)
        pages.append(dataclasses.replace(p, method="rapidocr", confidence=0.93, image_path=str(img),
                                         source=str(img), dpi=150))
    src.close()
    sha = hashlib.sha256(b"scan of " + doc.sha256.encode()).hexdigest()
    sdoc = dataclasses.replace(doc, doc_id=sha[:16], sha256=sha, source_path=str(scan_dir), kind="image-folder")
    meta = dataclasses.replace(issue.meta, title=issue.meta.title.replace(*SCAN_TITLE_SLIP))
    return dataclasses.replace(issue, doc=sdoc, meta=meta, pages=pages)


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("room")
    spec = generate.sample_specs()[0]
    pdf = tmp / "in" / "gen01.pdf"
    pdf.parent.mkdir()
    truth = generate.render_pdf(spec, pdf)
    db = tmp / "archive.db"
    summary = run([str(pdf)], RunOptions(db_path=str(db), work_dir=str(tmp / "work")))
    assert summary.count("loaded") == 1
    scan = _scan_rendition(pdf, tmp)
    d = load.open_db(db)
    load.load_issue(d, scan)
    d.conn.close()
    conn = sqlite3.connect(db)
    digital = conn.execute("SELECT id FROM issues WHERE source_path = ?", [str(pdf)]).fetchone()[0]
    conn.close()
    return {"tmp": tmp, "pdf": pdf, "db": db, "truth": truth, "digital": digital, "scan": scan.doc.doc_id,
            "spec": spec}


def _q(db, sql, *a):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, a).fetchall()
    finally:
        conn.close()


def _first_article(room, issue="digital", seq=1):
    return _q(room["db"], "SELECT id FROM articles WHERE issue_id = ? AND seq = ?", room[issue], seq)[0][0]


# --------------------------------------------------------------------------
# renditions and series

def test_renditions_keep_both_rows_and_group_them(room):
    rows = dict(_q(room["db"], "SELECT id, source_path FROM issues"))
    assert set(rows) == {room["digital"], room["scan"]}
    assert rows[room["scan"]].endswith("scan-pages") and rows[room["digital"]].endswith("gen01.pdf")
    ren = dict((i, (e, r)) for i, e, r in _q(room["db"], "SELECT issue_id, edition_id, rank FROM renditions"))
    assert ren == {room["digital"]: (room["digital"], 0), room["scan"]: (room["digital"], 1)}


def test_search_shows_one_hit_per_issue(room):
    title = room["truth"]["articles"][0]["title"]
    conn = sqlite3.connect(room["db"])
    search = __import__("pipeline.archive.search", fromlist=["search"])
    raw = search.search(conn, title, limit=20, one_per_issue=False)
    assert {h["issue_id"] for h in raw if h["title"] == title} == {room["digital"], room["scan"]}
    one = [h for h in search.search(conn, title, limit=20) if h["title"] == title]   # the API, too
    assert len(one) == 1 and one[0]["issue_id"] == room["digital"] and one[0]["renditions"] == 2
    hits = export.search_with_citations(conn, title, limit=20)
    same = [h for h in hits if h["title"] == title]
    assert len(same) == 1 and same[0]["issue_id"] == room["digital"] and same[0]["renditions"] == 2


def test_series_counts_renditions_once_and_is_read_only(room, capsys):
    before = hashlib.sha256(room["db"].read_bytes()).hexdigest()
    code, out = _bulletin(["series", "--json", "--db", room["db"]], capsys)
    assert code == 0
    report = json.loads(out.out)
    assert len(report) == 1 and report[0]["issue_count"] == 1
    assert hashlib.sha256(room["db"].read_bytes()).hexdigest() == before
    assert not _q(room["db"], "SELECT name FROM sqlite_master WHERE name = 'series'")   # nothing written


def _issue(n, title, publisher, no, date):
    sha = hashlib.sha256(f"{n}{title}{publisher}{no}{date}".encode()).hexdigest()
    doc = models.Document(doc_id=sha[:16], source_path=f"/raw/{n}.pdf", sha256=sha, kind="pdf")
    meta = models.IssueMeta(title=title, publisher=publisher, year=2023, issue_no=no, date=date)
    return models.Issue(doc=doc, meta=meta, pages=[], articles=[])


def test_masthead_ocr_slips_join_one_series(tmp_path):
    db = load.open_db(tmp_path / "a.db")
    for i, (t, no) in enumerate([("云溪教育信息", 1), ("云溪教育信息", 2), ("云溪教育育息", 3), ("云溪教育信息", 4)]):
        load.load_issue(db, _issue(i, t, "云溪县教育局", no, f"2023-0{no}-01"))
    load.load_issue(db, _issue(9, "云溪教育育息", "另一个局", 1, "2023-01-05"))   # other publisher: apart
    load.load_issue(db, _issue(10, "溪城工作动态", "云溪县教育局", 1, "2023-01-07"))  # other masthead: apart
    report = series.compute(db.conn)
    by = {(s["title"], s["publisher"]): s for s in report}
    main = by[("云溪教育信息", "云溪县教育局")]
    assert main["issue_count"] == 4 and main["variants"] == ["云溪教育育息"] and main["problems"] == []
    assert ("云溪教育育息", "另一个局") in by and ("溪城工作动态", "云溪县教育局") in by
    assert "also printed as: 《云溪教育育息》" in series.format_report(db.conn)


# --------------------------------------------------------------------------
# citations and exports

def test_citation_format():
    issue = {"title": "四川省机关事务管理局简报", "year": 2021, "issue_no": 4, "total_no": 103, "date": "2021-05-28"}
    assert editions.citation(issue, {"page_start": 2, "page_end": 2}) == \
        "《四川省机关事务管理局简报》2021年第4期（总第103期），2021年5月28日，第2页"
    assert editions.citation(issue, {"page_start": 2, "page_end": 3}).endswith("第2–3页")
    assert editions.citation({"title": "简报", "special": "增刊", "issue_no": 1, "date": "2022-01-02"}) == \
        "《简报》2022年增刊第1期，2022年1月2日"


def test_export_article_formats(room, capsys, tmp_path):
    aid = _first_article(room)
    t = room["truth"]["articles"][0]
    i = room["truth"]["issue"]
    cite = (f"《{i['title']}》{i['year']}年第{i['issue_no']}期（总第{i['total_no']}期），"
            f"{int(i['date'][:4])}年{int(i['date'][5:7])}月{int(i['date'][8:])}日，第")
    code, out = _bulletin(["export", "article", aid, "--format", "md", "--db", room["db"]], capsys)
    assert code == 0
    assert out.out.startswith(f"# {t['title']}\n") and f"> {cite}" in out.out
    assert t["body"].split("\n")[0] in out.out
    code, out = _bulletin(["export", "article", aid, "--format", "json", "--db", room["db"]], capsys)
    rec = json.loads(out.out)
    assert rec["title"] == t["title"] and rec["citation"].startswith(cite) and rec["issue"]["id"] == room["digital"]
    code, out = _bulletin(["export", "article", aid, "--format", "csv", "--db", room["db"]], capsys)
    rows = list(csv.DictReader(io.StringIO(out.out)))
    assert len(rows) == 1 and rows[0]["title"] == t["title"] and rows[0]["citation"].startswith(cite)
    target = tmp_path / "a.txt"
    code, out = _bulletin(["export", "article", aid, "--format", "txt", "-o", target, "--db", room["db"]], capsys)
    assert code == 0 and out.out == "" and f"—— {cite}" in target.read_text(encoding="utf-8")


def test_export_issue_and_search(room, capsys):
    code, out = _bulletin(["export", "issue", room["digital"], "--format", "json", "--db", room["db"]], capsys)
    rec = json.loads(out.out)
    assert [a["title"] for a in rec["articles"]] == [a["title"] for a in room["truth"]["articles"]]
    assert rec["renditions"] == [room["scan"]]
    code, out = _bulletin(["export", "issue", room["digital"], "--format", "csv", "--db", room["db"]], capsys)
    assert len(list(csv.DictReader(io.StringIO(out.out)))) == len(room["truth"]["articles"])
    q = room["truth"]["queries"][0]["q"]
    code, out = _bulletin(["export", "search", q, "--format", "json", "--db", room["db"]], capsys)
    hits = json.loads(out.out)
    assert hits and all(h["citation"].startswith("《") for h in hits)
    code, out = _bulletin(["search", q, "--json", "--db", room["db"]], capsys)
    assert [h["citation"] for h in json.loads(out.out)] == [h["citation"] for h in hits][:20]


def test_searchable_pdf_of_a_scan(room, tmp_path, capsys):
    target = tmp_path / "scan.pdf"
    code, _ = _bulletin(["export", "issue", room["scan"], "--format", "pdf", "-o", target, "--db", room["db"]],
                        capsys)
    assert code == 0
    pages = _q(room["db"], "SELECT page_no, text FROM pages WHERE issue_id = ? ORDER BY page_no", room["scan"])
    with pdfplumber.open(target) as pdf:
        assert len(pdf.pages) == len(pages)
        first = pdf.pages[0]
        assert first.images, "the page image is on the page"
        assert abs(first.images[0]["x1"] - first.images[0]["x0"] - float(first.width)) < 1
        text = first.extract_text()
    assert room["spec"].title.replace(*SCAN_TITLE_SLIP)[:6] in text.replace(" ", "")
    assert room["truth"]["articles"][0]["title"][:8] in "".join(text.split())
    # invisible: every Tj is drawn in text render mode 3 (neither fill nor stroke)
    import pikepdf
    with pikepdf.open(target) as pdf:
        ops = [(str(op), [float(x) if isinstance(x, (int, float, pikepdf.objects.Object)) and str(op) == "Tr"
                          else None for x in operands])
               for operands, op in pikepdf.parse_content_stream(pdf.pages[0])]
        assert "/STSong-Light" in str(pdf.pages[0].Resources.Font.F1.BaseFont)
    mode, shown = None, 0
    for op, operands in ops:
        if op == "Tr":
            mode = operands[0]
        elif op == "Tj":
            assert mode == 3
            shown += 1
    assert shown == len(_q(room["db"], "SELECT 1 FROM page_lines WHERE issue_id = ? AND page_no = 1",
                           room["scan"]))


def test_alto_per_page(room, tmp_path, capsys):
    out_dir = tmp_path / "alto"
    code, _ = _bulletin(["export", "issue", room["scan"], "--format", "alto", "-o", out_dir, "--db", room["db"]],
                        capsys)
    assert code == 0
    files = sorted(out_dir.glob("*.alto.xml"))
    n_pages = _q(room["db"], "SELECT count(*) FROM pages WHERE issue_id = ?", room["scan"])[0][0]
    assert len(files) == n_pages
    import xml.etree.ElementTree as ET
    root = ET.parse(files[0]).getroot()
    ns = {"a": pdfexport.ALTO_NS}
    strings = root.findall(".//a:String", ns)
    lines = _q(room["db"], "SELECT text, x0, top FROM page_lines WHERE issue_id = ? AND page_no = 1 ORDER BY seq",
               room["scan"])
    assert [s.get("CONTENT") for s in strings] == [t for t, _, _ in lines]
    assert float(strings[0].get("HPOS")) == pytest.approx(lines[0][1], abs=0.06)
    assert float(strings[0].get("VPOS")) == pytest.approx(lines[0][2], abs=0.06)


# --------------------------------------------------------------------------
# corrections

def test_correction_survives_force_rerun(tmp_path, capsys, monkeypatch):
    pdf = tmp_path / "in.pdf"
    truth = generate.render_pdf(generate.sample_specs()[1], pdf)
    db, work = tmp_path / "archive.db", tmp_path / "work"
    assert _bulletin(["run", pdf, "--db", db, "--work-dir", work, "--quiet"], capsys)[0] == 0
    aid, iid = _q(db, "SELECT id, issue_id FROM articles ORDER BY seq LIMIT 1")[0]
    assert _q(db, "SELECT title, issue_count FROM series") == [(truth["issue"]["title"], 1)]   # kept for datasette
    monkeypatch.setenv("USER", "archivist")
    code, out = _bulletin(["correct", "article", aid, "title", "新标题", "--db", db], capsys)
    assert code == 0 and "新标题" in out.out
    code, _ = _bulletin(["correct", "issue", iid, "issue_no", "99", "--db", db, "--by", "alice"], capsys)
    assert code == 0
    assert _bulletin(["run", pdf, "--db", db, "--work-dir", work, "--force", "--quiet"], capsys)[0] == 0
    assert _q(db, "SELECT title FROM articles WHERE id = ?", aid) == [("新标题",)]
    assert _q(db, "SELECT issue_no FROM issues WHERE id = ?", iid) == [(99,)]
    rows = _q(db, "SELECT target, target_id, field, old_value, new_value, by FROM corrections ORDER BY id")
    assert rows == [("article", str(aid), "title", truth["articles"][0]["title"], "新标题", "archivist"),
                    ("issue", iid, "issue_no", str(truth["issue"]["issue_no"]), "99", "alice")]
    # the index follows the correction
    code, out = _bulletin(["search", "新标题", "--json", "--db", db], capsys)
    assert [h["article_id"] for h in json.loads(out.out)] == [aid]
    assert "第99期" in json.loads(out.out)[0]["citation"]
    # the original stays visible in the reading view
    conn = sqlite3.connect(db)
    ctx = reading.article_context(conn, aid)
    html = reading.render_article(ctx, {"home": "/", "article": str, "issue": str, "row_article": str})
    assert "新标题" in html and truth["articles"][0]["title"] in html and 'class="original"' in html


def test_correction_errors(room, capsys):
    aid = _first_article(room)
    code, out = _bulletin(["correct", "article", aid, "colour", "x", "--db", room["db"]], capsys)
    assert code == cli.EXIT_BAD_INPUT and out.err.count("\n") == 1 and "colour" in out.err
    code, out = _bulletin(["correct", "article", "12345", "title", "x", "--db", room["db"]], capsys)
    assert code == cli.EXIT_BAD_INPUT and "no article" in out.err
    code, out = _bulletin(["correct", "issue", room["digital"], "issue_no", "abc", "--db", room["db"]], capsys)
    assert code == cli.EXIT_BAD_INPUT and "whole number" in out.err


def test_review_lists_worst_first(room, tmp_path, capsys):
    db = tmp_path / "r.db"
    shutil.copy(room["db"], db)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE pages SET confidence = 0.41, needs_review = 1 WHERE id = ?", [f"{room['scan']}-2"])
    conn.execute("UPDATE articles SET confidence = 0.7, needs_review = 1 WHERE id = ?",
                 [_first_article(room, "scan")])
    conn.execute("UPDATE issues SET flags = '[\"no-masthead\"]', needs_review = 1 WHERE id = ?", [room["digital"]])
    conn.commit()
    conn.close()
    code, out = _bulletin(["review", "--json", "--db", db], capsys)
    items = json.loads(out.out)
    assert [(i["kind"], i["id"]) for i in items] == [
        ("issue", room["digital"]), ("page", f"{room['scan']}-2"), ("article", str(_first_article(room, "scan")))]
    code, out = _bulletin(["review", "--db", db], capsys)
    assert out.out.splitlines()[0].endswith("[no-masthead]")


# --------------------------------------------------------------------------
# page images

def test_page_images_relative_and_movable(room, tmp_path):
    rows = _q(room["db"], "SELECT id, image_path FROM pages ORDER BY id")
    assert rows and all(p and not Path(p).is_absolute() and p.startswith("archive-images/") for _, p in rows)
    # born-digital pages were rendered too
    assert all(pageimages.resolve(room["db"], p) for i, p in rows if i.startswith(room["digital"]))
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(room["db"], moved / "archive.db")
    shutil.copytree(room["tmp"] / "archive-images", moved / "archive-images")
    assert all(pageimages.resolve(moved / "archive.db", p) for _, p in rows)
    # nothing outside the archive's image folder
    assert pageimages.resolve(room["db"], "../in/gen01.pdf") is None
    assert pageimages.resolve(room["db"], str(room["pdf"])) is None
    assert pageimages.resolve(room["db"], "archive-images/../archive.db") is None


# --------------------------------------------------------------------------
# CLI behaviour

def test_version_and_help_for_every_option(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("bulletin ")
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    missing = [(name, a.dest) for name, p in sub.choices.items() for a in p._actions
               if not a.help and a.dest != "help"]
    assert missing == []


def test_read_commands_refuse_a_missing_archive(tmp_path, capsys):
    db = tmp_path / "none.db"
    for argv in (["search", "节能"], ["series"], ["review"], ["export", "issue", "abc"], ["serve"],
                 ["correct", "issue", "abc", "title", "x"], ["eval", "--truth", tmp_path]):
        code, out = _bulletin(argv + ["--db", db], capsys)
        assert code == cli.EXIT_NO_ARCHIVE, argv
        assert out.err.count("\n") == 1 and "Traceback" not in out.err
        assert not db.exists()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    code, out = _bulletin(["search", "节能", "--db", junk], capsys)
    assert code == cli.EXIT_NO_ARCHIVE and out.err.count("\n") == 1


def test_bad_arguments_are_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["search", "x", "--limit", "many"])
    err = capsys.readouterr().err
    assert e.value.code == cli.EXIT_BAD_INPUT and err.count("\n") == 1


def test_minus_word_as_first_query_term(room, capsys):
    t0 = room["truth"]["articles"][0]["title"]
    code, out = _bulletin(["search", "会议", "--json", "--db", room["db"]], capsys)
    with_meeting = {h["title"] for h in json.loads(out.out)}
    code, out = _bulletin(["search", f"-{t0[:4]}", "会议", "--json", "--db", room["db"]], capsys)
    assert code == 0
    without = {h["title"] for h in json.loads(out.out)}
    assert without == {t for t in with_meeting if t0[:4] not in t}
    assert t0 in with_meeting and t0 not in without


def test_missing_dependency_exit_code(tmp_path):
    """A missing package gives one line and its own exit status (pikepdf hidden from the child)."""
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "pikepdf.py").write_text("raise ImportError('No module named pikepdf', name='pikepdf')\n")
    db = tmp_path / "a.db"
    load.open_db(db).conn.close()
    r = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(stub)!r}); "
                        "from pipeline import cli; sys.exit(cli.main(sys.argv[1:]))",
                        "export", "issue", "abc", "--format", "pdf", "-o", str(tmp_path / "x.pdf"), "--db", str(db)],
                       capture_output=True, text=True)
    assert r.returncode == cli.EXIT_MISSING_DEP, r.stderr
    assert "pikepdf" in r.stderr and r.stderr.count("\n") == 1


def test_renditions_without_issue_number_group_by_special_or_doc_no():
    """A 特刊 without 期号 and a 公文 (文号, no 期号) group with their other
    renditions; issues with neither, or with another 文号, stay apart."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE issues (id TEXT PRIMARY KEY, title TEXT, publisher TEXT, year INT, issue_no INT, "
                 "special TEXT, date TEXT, methods TEXT, confidence REAL, doc_no TEXT)")
    rows = [("sp-digital", "应急管理局工作简报", "应急管理局", 2023, None, "特刊", "2023-07-12", "text-layer", 1.0, None),
            ("sp-scan", "应急管理局工作简报", "应急管理局", 2023, None, "特刊", "2023-07-12", "rapidocr", 0.97, None),
            ("gw-digital", "江北市财政局文件", "江北市财政局", 2023, None, None, "2023-03-15", "text-layer", 1.0,
             "江财〔2023〕15号"),
            ("gw-scan", "江北市财政局文件", "江北市财政局", 2023, None, None, "2023-03-15", "rapidocr", 0.95,
             "江财〔2023〕15号"),
            ("gw-other", "江北市财政局文件", "江北市财政局", 2023, None, None, "2023-03-15", "rapidocr", 0.95,
             "江财〔2023〕16号"),
            ("plain-a", "情况汇报", "某局", 2023, None, None, "2023-03-15", "text-layer", 1.0, None),
            ("plain-b", "情况汇报", "某局", 2023, None, None, "2023-03-15", "rapidocr", 0.9, None)]
    conn.executemany("INSERT INTO issues VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    editions.ensure_schema(conn)
    ed = {i: e for i, (e, _) in editions.editions(conn).items()}
    assert ed["sp-scan"] == ed["sp-digital"] == "sp-digital"
    assert ed["gw-scan"] == ed["gw-digital"] == "gw-digital"
    assert ed["gw-other"] == "gw-other" and ed["plain-a"] == "plain-a" and ed["plain-b"] == "plain-b"
