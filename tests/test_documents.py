"""公文, old-style bulletins, reports with tables and leaflets (issue 9), generated
born-digital and read back: the archive's fields must equal the generator's truth."""
from __future__ import annotations

import pdfplumber
import pytest

import generator as g
from pipeline.models import Role
from pipeline.read.text import read_text_layer
from pipeline.structure.extract import extract, split_units
from pipeline.structure.layout import analyse
from pipeline.structure.segment import segment

FIELDS = ["title", "publisher", "year", "issue_no", "total_no", "special", "date", "printed_date",
          "copies", "disclosure", "recipients", "cc", "doc_type", "doc_no"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every document spec rendered and read once: {id: (truth, layout, articles, meta)}."""
    d = tmp_path_factory.mktemp("docs")
    out = {}
    for spec in g.document_specs():
        path = d / f"{spec.id}-digital.pdf"
        truth = g.render_document(spec, path)
        with pdfplumber.open(str(path)) as pdf:
            n = len(pdf.pages)
        pages = [p for _, p in sorted(read_text_layer(str(path), range(n)).items())]
        laid = analyse(pages)
        articles = segment(laid.blocks)
        out[spec.id] = (truth, laid, articles, extract(laid.blocks, articles))
    return out


@pytest.mark.parametrize("doc_id", ["doc01", "doc02", "doc03", "doc04", "doc05", "doc06"])
def test_metadata_equals_truth(built, doc_id):
    truth, _, _, meta = built[doc_id]
    got = {f: getattr(meta, f) for f in FIELDS}
    assert got == {f: truth["issue"][f] for f in FIELDS}


@pytest.mark.parametrize("doc_id", ["doc01", "doc02", "doc03", "doc04", "doc05", "doc06"])
def test_articles_equal_truth(built, doc_id):
    truth, _, articles, _ = built[doc_id]
    keys = ["section", "title", "subtitle", "body", "page_start", "page_end"]
    assert [{k: getattr(a, k) for k in keys} for a in articles] == \
        [{k: t[k] for k in keys} for t in truth["articles"]]


def test_official_document_parts(built):
    truth, laid, articles, meta = built["doc01"]
    roles = {b.role: b.text for b in laid.blocks}
    assert roles[Role.DOC_NO] == "江发改财〔2023〕15号"
    assert not any("〔2023〕" in a.title or "〔2023〕" in a.body for a in articles)   # the 文号 is no article text
    assert meta.flags == [] and meta.doc_no == truth["issue"]["doc_no"]


def test_serial_number_is_not_an_issue_number(built):
    _, laid, _, meta = built["doc02"]
    serial = [b for b in laid.blocks if "0002798" in b.text]
    assert serial == [] and meta.issue_no == 93   # the serial is a running header, not the 期号
    assert "0002798" in laid.pages[0].text        # ... but stays in the page text


def test_table_is_never_a_title(built):
    _, laid, articles, _ = built["doc03"]
    assert len(articles) == 1
    assert not any(b.role in (Role.TITLE, Role.SECTION) and "第二十条" in b.text for b in laid.blocks)


def test_leaflet_is_flagged_and_not_split(built):
    _, _, articles, meta = built["doc04"]
    assert len(articles) == 1 and "unknown-document-type" in meta.flags
    assert (meta.title, meta.publisher, meta.year) == (None, None, None)


def test_enumeration_inside_an_addressee_stays_one_item():
    assert split_units("各省、自治区、直辖市发展改革委，国家税务总局各省税务局：".rstrip("：")) == \
        ["各省、自治区、直辖市发展改革委", "国家税务总局各省税务局"]
    assert split_units("局领导，机关各处（室）、局属各单位") == ["局领导", "机关各处（室）", "局属各单位"]
    assert split_units("教育局，教育局。") == ["教育局"]


def test_joint_issuers_on_one_line_and_a_letter_spaced_issuer():
    from pipeline.models import Block, IssueMeta, Line
    from pipeline.structure.extract import _signature

    def sig(*texts):
        return [Block(Role.SIGNATURE, [Line(text=t, box=(300, 600 + 30 * k, 500, 616 + 30 * k), page_no=1, size=16)
                                       for k, t in enumerate(texts)])]
    meta = IssueMeta()
    assert _signature(meta, sig("江北市发展改革委  江北市财政局", "2023年3月15日")) == "江北市发展改革委、江北市财政局"
    assert meta.date == "2023-03-15"
    assert _signature(IssueMeta(), sig("国 防 部", "二〇一二年十二月十二日")) == "国防部"


def _page(lines):
    """A page of (text, size, centred) lines on A4 with a 79–527 pt text block."""
    from pipeline.models import Line, Page
    page, y = Page(page_no=1, width=595.0, height=842.0), 80.0
    for text, size, centred in lines:
        w = len(text) * size
        x0 = (79 + 527) / 2 - w / 2 if centred else 79 + 2 * size
        x1 = x0 + w if centred else 527
        page.lines.append(Line(text=text, box=(x0, y, x1, y + size), page_no=1, size=size, color="red"
                               if size > 30 else "black"))
        y += size * 1.8
    return page


BODY = "会议指出，要认真贯彻落实上级部署要求，扎实推进各项工作，确保取得实效，为全年目标任务完成打下坚实基础。"


@pytest.mark.parametrize("issue_line, issue_no, total_no", [
    ("（93）", 93, None), ("( 2 )", 2, None), ("第10期", 10, None), ("材料之三", 3, None),
    ("第3期（总第45期）", 3, 45), ("2023年第十二期  总第125期", 12, 125)])
def test_issue_number_forms(issue_line, issue_no, total_no):
    page = _page([("№ 0002798", 12, False), ("中共江北市委", 36, True), ("常委扩大会议简报", 40, True),
                  (issue_line, 16, True), ("二〇二三年十月二十五日", 16, True),
                  ("市委召开常委扩大会议", 22, True), (BODY, 16, False), (BODY, 16, False)])
    laid = analyse([page])
    articles = segment(laid.blocks)
    meta = extract(laid.blocks, articles)
    assert (meta.title, meta.issue_no, meta.total_no, meta.date, meta.doc_type) == \
        ("中共江北市委常委扩大会议简报", issue_no, total_no, "2023-10-25", "bulletin")
    assert [a.title for a in articles] == ["市委召开常委扩大会议"]


def test_doc_type_and_doc_no_are_archived(built, tmp_path):
    import sqlite3

    from pipeline.archive.load import load_issue, open_db
    from pipeline.models import Document, Issue
    truth, laid, articles, meta = built["doc01"]
    old = sqlite3.connect(tmp_path / "a.db")       # an archive made before the columns existed
    old.execute("CREATE TABLE issues (id TEXT PRIMARY KEY, source_path TEXT NOT NULL, source_sha256 TEXT NOT NULL,"
                " title TEXT, publisher TEXT, year INTEGER, issue_no INTEGER, total_no INTEGER, special TEXT,"
                " date TEXT, printed_date TEXT, copies INTEGER, disclosure TEXT, recipients TEXT, cc TEXT,"
                " page_count INTEGER, article_count INTEGER, toc TEXT, sections TEXT, flags TEXT,"
                " needs_review INTEGER NOT NULL DEFAULT 0, confidence REAL, methods TEXT,"
                " pipeline_version TEXT, loaded_at TEXT)")
    old.commit()
    old.close()
    db = open_db(tmp_path / "a.db")
    doc = Document(doc_id="00000000000000d1", source_path="doc01-digital.pdf", sha256="0" * 64, kind="pdf")
    iid = load_issue(db, Issue(doc=doc, meta=meta, pages=laid.pages, articles=articles))
    row = db.conn.execute("SELECT doc_type, doc_no, needs_review FROM issues WHERE id = ?", [iid]).fetchone()
    assert row == ("official_document", "江发改财〔2023〕15号", 0)
