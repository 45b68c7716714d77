"""Tests for the bulletin generator (pipeline.generate)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pdfplumber
import pytest
from PIL import Image

import generator as g

REPO = Path(__file__).resolve().parents[1]
PAGE_NO = re.compile(r"^—\s*\d+\s*—$")


def squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Every sample rendered once: {id: (spec, pdf path, truth)}."""
    d = tmp_path_factory.mktemp("gen")
    out = {}
    for spec in g.sample_specs():
        p = d / f"{spec.id}-digital.pdf"
        out[spec.id] = (spec, p, g.render_pdf(spec, p))
    return out


def page_texts(pdf_path):
    with pdfplumber.open(str(pdf_path)) as pdf:
        return [p.extract_text() or "" for p in pdf.pages]


# ---------------------------------------------------------------- helpers


def test_chinese_numerals_and_issue_lines():
    assert g.cn_number(7) == "七"
    assert g.cn_number(12) == "十二"
    assert g.cn_number(20) == "二十"
    assert g.cn_number(35) == "三十五"
    assert g.cn_number(103) == "一百零三"
    assert g.cn_date("2023-03-15") == "二〇二三年三月十五日"
    assert g.cn_date("2022-10-10") == "二〇二二年十月十日"
    base = dict(id="x", title="工作简报", publisher="某局", date="2021-05-28")
    assert g.issue_line(g.BulletinSpec(issue_no=4, **base)) == "2021 年第 4 期"
    assert g.issue_line(g.BulletinSpec(issue_no=12, issue_style="cn", **base)) == "第十二期"
    assert g.issue_line(g.BulletinSpec(issue_no=7, issue_style="plain", **base)) == "第 7 期"
    assert g.issue_line(g.BulletinSpec(issue_no=2, special="增刊", **base)) == "2021 年增刊第 2 期"
    assert g.issue_line(g.BulletinSpec(special="特刊", **base)) == "特刊"


def test_wrap_keeps_punctuation_off_line_starts():
    g.register_fonts()
    text = "会议强调，要深入学习贯彻习近平总书记关于全面从严治党的的重要论述，切实把全面从严治党的要求落实到履行职责的各项具体行动之中。" * 4
    for width in (448.0, 300.0, 211.0, 160.0):
        lines = g.wrap([(c, g.BODY) for c in text], 16, width, 32)
        assert "".join(c for ln in lines for c, _ in ln["chars"]) == text
        for ln in lines[1:]:
            assert ln["chars"][0][0] not in g.NO_START
        for ln in lines[:-1]:
            assert ln["chars"][-1][0] not in g.NO_END
        for ln in lines:
            # at most two hanging punctuation marks beyond the measure
            assert ln["width"] + ln["indent"] <= width + 2 * 16 + 0.01


# ---------------------------------------------------------------- samples


def test_samples_cover_the_variants():
    specs = g.sample_specs()
    assert len(specs) >= 5
    arts = [a for s in specs for a in s.articles]
    assert any(s.sections() for s in specs) and any(not s.sections() for s in specs)
    assert any(a.run_in for a in arts)
    assert any(a.subtitle for a in arts)
    assert any(a.editor_note for a in arts)
    assert any(any(isinstance(p, g.Heading) for p in a.paragraphs) for a in arts)
    assert any(s.footer_style == "baosongfa" for s in specs)
    assert any(s.issue_style == "cn" and s.date_style == "cn" for s in specs)
    assert {"特刊", "增刊"} <= {s.special for s in specs}
    assert any(s.masthead_lines and len(s.masthead_lines) == 2 for s in specs)
    assert any(s.masthead_lines and " " in s.masthead_lines[0] for s in specs)
    assert any(s.pub_date_layout == "one-line" for s in specs)
    assert {"bracket", "diamond"} <= {s.section_style for s in specs}
    assert any(s.toc for s in specs) and any(not s.toc for s in specs)


def test_truth_format(rendered):
    for sid, (spec, pdf, t) in rendered.items():
        assert list(t) == ["id", "inputs", "issue", "sections", "articles", "queries", "pages"]
        assert t["id"] == sid
        assert t["inputs"] == [{"file": pdf.name, "condition": "digital"}]
        assert set(t["issue"]) == {"title", "publisher", "year", "issue_no", "total_no", "special", "date",
                                   "printed_date", "copies", "disclosure", "recipients", "cc"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", t["issue"]["date"])
        assert t["issue"]["recipients"]
        for a in t["articles"]:
            assert set(a) == {"section", "title", "subtitle", "body", "event_dates", "units",
                              "page_start", "page_end"}
            assert 1 <= a["page_start"] <= a["page_end"] <= len(t["pages"])
            assert not a["body"].startswith(a["title"])
            assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", d) for d in a["event_dates"])
            assert (a["section"] is None) == (not t["sections"])
        assert [p["page_no"] for p in t["pages"]] == list(range(1, len(t["pages"]) + 1))
        for q in t["queries"]:
            assert q["expect_titles"], q
            for title in q["expect_titles"]:
                art = next(a for a in t["articles"] if a["title"] == title)
                assert q["q"] in art["title"] or q["q"] in art["body"]


def test_pdf_text_matches_truth(rendered):
    for sid, (spec, pdf, t) in rendered.items():
        texts = page_texts(pdf)
        assert len(texts) == len(t["pages"])
        whole = squash("".join(texts))
        assert squash(spec.title) in whole
        assert squash(g.issue_line(spec)) in whole
        for a in spec.articles:
            assert squash(a.title) in whole, a.title
        for k, (txt, tp) in enumerate(zip(texts, t["pages"]), start=1):
            lines = [ln for ln in txt.split("\n") if ln.strip()]
            assert PAGE_NO.match(lines[-1].strip()) and squash(lines[-1]) == f"—{k}—"
            assert squash("".join(lines[:-1])) == squash(tp["text"]), (sid, k)


def test_article_crosses_a_page(rendered):
    crossing = [(sid, a) for sid, (_, _, t) in rendered.items() for a in t["articles"]
                if a["page_end"] > a["page_start"]]
    assert len(crossing) >= 2
    for sid, a in crossing:
        t = rendered[sid][2]
        start = squash(t["pages"][a["page_start"] - 1]["text"])
        end = squash(t["pages"][a["page_end"] - 1]["text"])
        body = squash(a["body"])
        assert squash(a["title"])[:6] in start
        assert body[-12:] in end and body[-12:] not in start


def test_typography(rendered):
    spec, pdf, t = rendered["gen01"]
    with pdfplumber.open(str(pdf)) as doc:
        p1 = doc.pages[0]
        assert abs(p1.width - 595.28) < 0.1 and abs(p1.height - 841.89) < 0.1
        mast = [c for c in p1.chars if c["size"] > 30]
        assert squash("".join(c["text"] for c in mast)) == spec.title
        assert all(np.allclose(c["non_stroking_color"], g.RED, atol=0.01) for c in mast)
        red_rules = [ln for ln in p1.lines if ln.get("stroking_color") and
                     np.allclose(ln["stroking_color"], g.RED, atol=0.01) and ln["x1"] - ln["x0"] > 400]
        assert red_rules
        body = [c for pg in doc.pages for c in pg.chars if abs(c["size"] - 16) < 0.1 and "Ming" in c["fontname"]]
        assert body and min(c["x0"] for c in body) >= g.LEFT - 0.5
        assert max(c["x1"] for c in body) <= g.RIGHT + 2 * 16 + 0.5
        # 29pt body line pitch
        tops = sorted({round(c["top"], 1) for c in doc.pages[1].chars if abs(c["size"] - 16) < 0.1})
        assert any(abs((b - a) - 29) < 0.2 for a, b in zip(tops, tops[1:]))
        # run-in title: heading font, then body font on the same line
        runin = next(a for a in spec.articles if a.run_in)
        page = doc.pages[t["articles"][spec.articles.index(runin)]["page_start"] - 1]
        first = next(c for c in page.chars if c["text"] == runin.title[0] and "ZenHei" in c["fontname"]
                     and abs(c["size"] - 16) < 0.1)
        line = sorted((c for c in page.chars if abs(c["top"] - first["top"]) < 3), key=lambda c: c["x0"])
        fonts = ["ZenHei" in c["fontname"] for c in line]
        n = len(runin.title) + 1
        assert all(fonts[:n]) and not any(fonts[n:]) and len(fonts) > n
        assert "".join(c["text"] for c in line[:n]) == runin.title + "。"


def test_footer_and_page_numbers(rendered):
    spec, pdf, t = rendered["gen02"]
    last = t["pages"][-1]["text"]
    assert "报：县委办公室" in last and "送：" in last and "发：" in last
    assert "（共印40份）" in last and "印发" in last
    assert t["issue"]["recipients"][:3] == spec.report_to
    assert t["issue"]["cc"] == []
    first = t["pages"][0]["text"].split("\n")
    assert first[0] == "工 作 简 报" and first[1] == "第十二期" and first[3] == "二〇二二年九月六日"
    spec3, _, t3 = rendered["gen03"]
    assert t3["issue"]["special"] == "特刊" and t3["issue"]["issue_no"] is None
    assert t3["issue"]["title"] == "临江市应急管理局工作简报"
    assert t3["sections"] == ["防汛动态", "基层声音"]
    assert "◆防汛动态◆" in t3["pages"][0]["text"]
    assert t3["articles"][0]["body"].startswith("编者按：")


# ---------------------------------------------------------------- scans


@pytest.fixture(scope="module")
def small_pdf(rendered):
    spec, pdf, t = rendered["gen04"]    # two pages
    return pdf, t


def test_image_only_pdf_has_no_text_layer(small_pdf, tmp_path):
    pdf, t = small_pdf
    r = g.render_scans(pdf, tmp_path / "s.pdf", "pdf", "mild", dpi=100, seed=3)
    assert r["pages"] == len(t["pages"])
    assert all(abs(s) < 1 for s in r["skews"]) and any(s != 0 for s in r["skews"])
    with pdfplumber.open(str(tmp_path / "s.pdf")) as doc:
        assert len(doc.pages) == len(t["pages"])
        assert all(not p.chars for p in doc.pages)
        assert all(p.images for p in doc.pages)
        assert abs(doc.pages[0].width - 595.3) < 1.5


def test_tiff_frames_and_modes(small_pdf, tmp_path):
    pdf, t = small_pdf
    n = len(t["pages"])
    for mode, pil_mode in (("auto", "L"), ("gray16", "I;16"), ("g4", "1"), ("cmyk", "CMYK")):
        out = tmp_path / f"s-{mode}.tiff"
        g.render_scans(pdf, out, "tiff", "mild", dpi=80, tiff_mode=mode)
        with Image.open(out) as im:
            assert im.n_frames == n
            assert im.mode == pil_mode
            if mode == "g4":
                assert im.info.get("compression") == "group4"
    out = tmp_path / "hard.tiff"
    r = g.render_scans(pdf, out, "tiff", "hard", dpi=80, seed=5)
    assert r["dpi"] == 80 and all(0 < abs(s) <= 2 for s in r["skews"])
    with Image.open(out) as im:
        assert im.n_frames == n and im.mode == "RGB"
        a = np.asarray(im.convert("RGB"), dtype=np.float32)
        # yellowed paper: blue channel clearly below red in the background
        assert np.median(a[..., 2]) < np.median(a[..., 0]) - 15


def test_rotation_and_folders(small_pdf, tmp_path):
    pdf, t = small_pdf
    r0 = g.render_scans(pdf, tmp_path / "p0.png", "png", "clean", dpi=60)
    r90 = g.render_scans(pdf, tmp_path / "p90.png", "png", "clean", dpi=60, rotate=90)
    a0 = np.asarray(Image.open(tmp_path / "p0.png"))
    a90 = np.asarray(Image.open(tmp_path / "p90.png"))
    assert a0.shape[0] > a0.shape[1] and a90.shape[:2] == a0.shape[1::-1]
    assert np.array_equal(np.rot90(a0, k=-1), a90)        # clockwise
    assert r0["pages"] == r90["pages"] == 1
    g.render_scans(pdf, tmp_path / "jf", "jpeg-folder", "hard", dpi=60)
    g.render_scans(pdf, tmp_path / "pf", "png-folder", "mild", dpi=60, rotate=180)
    jpgs = sorted(p.name for p in (tmp_path / "jf").iterdir())
    assert jpgs == [f"page-{k:03d}.jpg" for k in range(1, len(t["pages"]) + 1)]
    with Image.open(tmp_path / "pf" / "page-001.png") as im:
        assert im.mode == "L"
    g.render_scans(pdf, tmp_path / "one.jpeg", "jpeg", "mild", dpi=60, pages=[2])
    assert Image.open(tmp_path / "one.jpeg").size == a0.shape[1::-1]


def test_seal_is_red_and_on_the_printed_line(small_pdf, tmp_path):
    pdf, t = small_pdf
    last = len(t["pages"])
    dpi = 72
    g.render_scans(pdf, tmp_path / "seal.png", "png", "clean", dpi=dpi, pages=[last], seal=True)
    g.render_scans(pdf, tmp_path / "plain.png", "png", "clean", dpi=dpi, pages=[last])
    a = np.asarray(Image.open(tmp_path / "seal.png").convert("RGB")).astype(int)
    b = np.asarray(Image.open(tmp_path / "plain.png").convert("RGB")).astype(int)
    red = (a[..., 0] > 150) & (a[..., 1] < 110) & (a[..., 2] < 110)
    assert red.sum() > 300
    assert ((b[..., 0] > 150) & (b[..., 1] < 110) & (b[..., 2] < 110)).sum() == 0
    ys, xs = np.nonzero(red)
    with pdfplumber.open(str(pdf)) as doc:
        chars = doc.pages[last - 1].chars
        yin = next(c for c, d in zip(chars, chars[1:]) if c["text"] == "印" and d["text"] == "发")
    assert abs(ys.mean() - (yin["top"] + yin["bottom"]) / 2) < 30
    assert xs.min() < yin["x0"] < xs.max() + 5


# ---------------------------------------------------------------- samples on disk


def test_write_samples(tmp_path):
    truths = g.write_samples(tmp_path / "raw", scans=True)
    ids = [s.id for s in g.sample_specs()]
    assert [t["id"] for t in truths] == ids
    for t in truths:
        saved = json.loads((tmp_path / "truth" / f"{t['id']}.json").read_text(encoding="utf-8"))
        assert saved == t
        for inp in t["inputs"]:
            assert (tmp_path / "raw" / inp["file"].rstrip("/")).exists()
    scanned = [i for t in truths for i in t["inputs"] if i["condition"] != "digital"]
    assert len(scanned) == 1
    size = (tmp_path / "raw" / scanned[0]["file"]).stat().st_size
    assert size < 1.5e6
    assert not list((tmp_path / "raw").glob("*.json"))


def test_committed_samples_are_current():
    """data/truth must be what the generator produces now (regenerate with
    ``python -m pipeline.generate data/raw --scans``)."""
    tdir = REPO / "data" / "truth"
    if not tdir.exists():
        pytest.skip("no committed samples")
    for spec in g.sample_specs():
        path = tdir / f"{spec.id}.json"
        assert path.exists(), path
        saved = json.loads(path.read_text(encoding="utf-8"))
        lay = g.layout(spec)
        fresh = g.truth_from_layout(spec, lay, saved["inputs"])
        assert saved == fresh, spec.id
        for inp in saved["inputs"]:
            assert (REPO / "data" / "raw" / inp["file"].rstrip("/")).exists()


def test_write_issue_forms(tmp_path):
    spec = g.sample_specs()[4]
    t = g.write_issue(spec, tmp_path / "raw", [("mild", "png-folder", {"dpi": 50}),
                                               ("hard", "tiff", {"dpi": 50, "seal": True})])
    assert t["inputs"] == [{"file": f"{spec.id}-mild/", "condition": "mild"},
                           {"file": f"{spec.id}-hard.tiff", "condition": "hard"}]
    assert len(list((tmp_path / "raw" / f"{spec.id}-mild").glob("page-*.png"))) == len(t["pages"])
    assert not (tmp_path / "raw" / f"{spec.id}-digital.pdf").exists()
    assert json.loads((tmp_path / "truth" / f"{spec.id}.json").read_text(encoding="utf-8")) == t
