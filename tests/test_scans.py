"""Scanned bulletins through the whole pipeline: real OCR, real archive rows.

One generated issue is rendered as scans in every container (image-only PDF,
multi-page TIFF, folders of JPEG and PNG pages), rotated, skewed, noisy and
with a red seal over the 印发 date, and each must come out of the archive with
its articles, metadata and page text.
"""
import copy
import json
import sqlite3

import pytest

import generator as generate
from pipeline.evaluate import evaluate
from pipeline.batch.runner import RunOptions, run

SCANS = [  # name, container, condition, options
    ("s-mild.pdf", "pdf", "mild", {"dpi": 200}),
    ("s-hard-rot90.tiff", "tiff", "hard", {"rotate": 90}),
    ("s-seal-skew", "jpeg-folder", "mild", {"dpi": 200, "seal": True, "skew": 3.0}),
    ("s-clean-180", "png-folder", "clean", {"dpi": 200, "rotate": 180}),
]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    out = tmp_path_factory.mktemp("scans")
    spec = copy.deepcopy(generate.sample_specs()[3])
    raw = out / "raw"
    raw.mkdir()
    truth = generate.render_pdf(spec, out / "born-digital.pdf")
    truth["inputs"] = []
    for k, (name, container, cond, opts) in enumerate(SCANS):
        generate.render_scans(out / "born-digital.pdf", raw / name, container, cond, seed=k, **opts)
        truth["inputs"].append({"file": name, "condition": cond})
    (out / "truth").mkdir()
    (out / "truth" / f"{spec.id}.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    return out, truth


def _archive(out, engine, paths, tmp_path, workers=2):
    opts = RunOptions(db_path=str(tmp_path / "a.db"), work_dir=str(tmp_path / "w"), engine=engine,
                      workers=workers)
    summary = run([str(p) for p in paths], opts)
    assert summary.count("failed") == 0, [r.error for r in summary.failed]
    return sqlite3.connect(opts.db_path)


def test_rapidocr_scans_in_every_container(scanned, tmp_path):
    out, truth = scanned
    conn = _archive(out, "rapidocr", [out / "raw"], tmp_path)
    result = evaluate(conn, out / "truth")
    assert {r["input"] for r in result["inputs"]} == {n for n, *_ in SCANS}
    for r in result["inputs"]:
        assert r["f1"] == 1.0, r["input"]
        assert r["page_cer"] < 0.03, r["input"]
        assert r["body_cer"] < 0.03, r["input"]
        assert r["meta_correct"] >= r["meta_total"] - 1, (r["input"], r["meta_wrong"])
    rows = {src.rsplit("/", 1)[-1]: (iid, pd) for iid, src, pd in
            conn.execute("SELECT id, source_path, printed_date FROM issues")}
    # the seal printed over the date did not destroy it
    assert rows["s-seal-skew"][1] == truth["issue"]["printed_date"]
    # rotation and skew were found and recorded per page, with a stored page image
    rot = conn.execute("SELECT rotation, method, dpi, image_path, confidence FROM pages WHERE issue_id = ?",
                       [rows["s-hard-rot90.tiff"][0]]).fetchall()
    assert {r[0] for r in rot} == {270} or {r[0] for r in rot} == {90}
    assert all(r[1] == "rapidocr" and r[2] and r[3] and 0 < r[4] <= 1 for r in rot)
    skew = [s for (s,) in conn.execute("SELECT skew FROM pages WHERE issue_id = ?", [rows["s-seal-skew"][0]])]
    assert all(2.0 < abs(s) < 4.0 for s in skew), skew
    # every article carries its page span and line boxes
    for boxes, ps, pe in conn.execute("SELECT boxes, page_start, page_end FROM articles"):
        pages = {b[0] for b in json.loads(boxes)}
        assert pages and min(pages) == ps and max(pages) == pe


def test_tesseract_engine_end_to_end(scanned, tmp_path):
    out, truth = scanned
    conn = _archive(out, "tesseract", [out / "raw" / "s-mild.pdf"], tmp_path, workers=1)
    result = evaluate(conn, out / "truth")
    (r,) = result["inputs"]
    assert r["f1"] >= 0.8 and r["page_cer"] < 0.08, r
    assert {m for (m,) in conn.execute("SELECT DISTINCT method FROM pages")} == {"tesseract"}
