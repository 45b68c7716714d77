"""The real pipeline on generated bulletins: archive rows against the generator's truth."""
import json
import shutil
import sqlite3


import generator as generate
from pipeline.evaluate import evaluate
from pipeline.batch.runner import RunOptions, run


def _run(paths, tmp_path, **kw):
    opts = RunOptions(db_path=str(tmp_path / "archive.db"), work_dir=str(tmp_path / "work"), **kw)
    return run([str(p) for p in paths], opts), sqlite3.connect(opts.db_path)


def test_samples_reproduce_their_truth(samples, tmp_path):
    out, truths = samples
    summary, conn = _run([out / "raw"], tmp_path)
    assert summary.count("failed") == 0 and summary.count("loaded") == len(truths)
    result = evaluate(conn, out / "truth")
    assert len(result["inputs"]) == len(truths)
    assert result["overall"]["recall_at_10"] == 1.0     # every truth query finds its articles
    for row in result["inputs"]:
        assert row["meta_wrong"] == [], row["input"]
        assert row["f1"] == 1.0, row["input"]
        assert row["title_exact"] == row["matched"], row["input"]
        assert row["body_cer"] < 0.005, row["input"]
    # sections, subtitles and page spans exactly as printed
    for iid, src in conn.execute("SELECT id, source_path FROM issues"):
        truth = truths[src.rsplit("/", 1)[-1].split("-digital")[0]]
        rows = conn.execute("SELECT section, title, subtitle, page_start, page_end FROM articles"
                            " WHERE issue_id = ? ORDER BY seq", [iid]).fetchall()
        assert rows == [(a["section"], a["title"], a["subtitle"], a["page_start"], a["page_end"])
                        for a in truth["articles"]]


def test_rerun_skips_and_replaces(samples, tmp_path):
    out, truths = samples
    _run([out / "raw"], tmp_path)
    summary, conn = _run([out / "raw"], tmp_path)
    assert summary.count("unchanged") == len(truths)
    n = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    summary, conn = _run([out / "raw"], tmp_path, force=True)
    assert summary.count("loaded") == len(truths)
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == n  # replaced, not duplicated
    assert conn.execute("SELECT count(*) FROM issues").fetchone()[0] == len(truths)


def test_same_content_under_two_names_is_one_issue(samples, tmp_path):
    out, truths = samples
    first = sorted((out / "raw").glob("*.pdf"))[0]
    batch = tmp_path / "batch"
    batch.mkdir()
    shutil.copy(first, batch / "a.pdf")
    shutil.copy(first, batch / "copy of a.pdf")
    summary, conn = _run([batch], tmp_path)
    assert [r.status for r in summary.results] == ["loaded", "duplicate"]
    assert conn.execute("SELECT count(*) FROM issues").fetchone()[0] == 1


def _pdf_without_masthead(path):
    from reportlab.pdfgen import canvas
    generate.register_fonts()
    c = canvas.Canvas(str(path))
    c.setFont(generate.BODY, 16)
    for i, line in enumerate(["近日，某单位召开工作会议，研究部署下一阶段重点工作。",
                              "会议要求，各部门要提高认识，狠抓落实，确保各项任务按期完成。"]):
        c.drawString(80, 700 - 30 * i, line)
    c.save()


def test_bad_inputs_are_recorded_and_the_batch_goes_on(samples, tmp_path):
    import pikepdf
    out, truths = samples
    good = sorted((out / "raw").glob("*.pdf"))
    batch = tmp_path / "batch 批次"          # spaces and Chinese characters in the path
    batch.mkdir()
    shutil.copy(good[0], batch / "01-good.pdf")
    (batch / "02-empty.pdf").write_bytes(b"")
    data = good[0].read_bytes()
    (batch / "03-truncated.pdf").write_bytes(data[: len(data) // 3])
    with pikepdf.open(good[0]) as pdf:
        pdf.save(batch / "04-encrypted.pdf", encryption=pikepdf.Encryption(user="secret", owner="owner"))
    (batch / "05-lies.pdf").write_text("this is not a PDF at all\n" * 50)
    (batch / "06-header-only.pdf").write_bytes(b"%PDF-1.7\n")
    shutil.copy(good[-1], batch / "07-good.pdf")
    _pdf_without_masthead(batch / "08-no-masthead.pdf")

    summary, conn = _run([batch], tmp_path)
    status = {r.source_path.rsplit("/", 1)[-1]: r for r in summary.results}
    assert status["01-good.pdf"].status == "loaded" and status["07-good.pdf"].status == "loaded"
    assert "empty" in status["02-empty.pdf"].error
    assert "corrupt or truncated" in status["03-truncated.pdf"].error
    assert "encrypted" in status["04-encrypted.pdf"].error
    assert "not a PDF or image" in status["05-lies.pdf"].error
    assert status["06-header-only.pdf"].status == "failed"
    for r in summary.failed:
        assert "\n" not in r.error
    failures = {row[0].rsplit("/", 1)[-1] for row in conn.execute("SELECT source_path FROM failures")}
    assert failures == {"02-empty.pdf", "03-truncated.pdf", "04-encrypted.pdf", "05-lies.pdf",
                        "06-header-only.pdf"}
    # readable but no masthead: loaded, flagged, never guessed
    nm = status["08-no-masthead.pdf"]
    assert nm.status == "loaded" and "no-masthead" in nm.flags and "no-issue-no" in nm.flags
    row = conn.execute("SELECT title, issue_no, needs_review, flags FROM issues WHERE source_path LIKE '%08-no-masthead.pdf'").fetchone()
    assert row[0] is None and row[1] is None and row[2] == 1 and "no-masthead" in json.loads(row[3])

    # a second batch with only bad input leaves what was loaded untouched
    before = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    summary2, conn = _run([batch / "03-truncated.pdf"], tmp_path)
    assert summary2.count("failed") == 1
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == before


def test_cli_run_exit_status_and_summary(samples, tmp_path, capsys):
    from pipeline.cli import main
    out, truths = samples
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"")
    rc = main(["run", str(out / "raw"), str(bad), "--db", str(tmp_path / "a.db"),
               "--work-dir", str(tmp_path / "w")])
    captured = capsys.readouterr()
    assert rc == 1
    assert f"{len(truths)} loaded" in captured.out and "1 failed" in captured.out
    assert f"ERROR {bad}: empty file (0 bytes)" in captured.err


def test_new_content_at_the_same_path_replaces_the_old_issue(samples, tmp_path):
    out, truths = samples
    pdfs = sorted((out / "raw").glob("*.pdf"))
    batch = tmp_path / "batch"
    batch.mkdir()
    shutil.copy(pdfs[0], batch / "issue.pdf")
    _run([batch], tmp_path)
    shutil.copy(pdfs[1], batch / "issue.pdf")      # the archivist replaced a bad scan
    summary, conn = _run([batch], tmp_path)
    assert summary.count("loaded") == 1
    rows = conn.execute("SELECT id, title FROM issues").fetchall()
    assert len(rows) == 1 and rows[0][0] == summary.results[0].issue_id
    assert conn.execute("SELECT count(*) FROM articles WHERE issue_id != ?", [rows[0][0]]).fetchone()[0] == 0
