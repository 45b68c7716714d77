"""Issue 13, hostile files: memory bombs under the pixel cap (a real 14100 x
14100 PNG, a PDF whose content stream inflates to hundreds of MB), a text
layer decoded through a wrong Unicode map, page folders with AppleDouble
files or a stray PDF, a multi-page TIFF with one damaged frame, and a PDF of
thousands of blank pages. Each file is built here, offline, in seconds."""
from __future__ import annotations

import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import generator as generate
import hostile_builders as hb
from hostile_common import OCR, ROOT, cli, error_lines, failures, snapshot
from pipeline.batch.runner import RunOptions, run
from pipeline.read import ingest, limits


def _children_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# --------------------------------------------------------------------------
# 4: memory bombs under the pixel cap

# this process's own peak (VmHWM): ru_maxrss would carry over the pytest
# process's peak through fork and exec
_HWM = "int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1])"
PEAK_LIMIT_MB = 1500          # one input, whatever it is


def test_memory_bombs_are_refused_in_one_line_and_the_batch_goes_on(good, archive, tmp_path):
    db, work, iid, before = archive
    batch = tmp_path / "batch"
    batch.mkdir()
    hb.png_bomb(batch / "1-rgb-14100.png", 14100, colour=True)            # 0.6 MB, 596 MB decoded
    hb.content_stream_bomb_pdf(batch / "2-stream-bomb.pdf", decoded_mb=300)   # 0.3 MB, 300 MB decoded
    shutil.copy(good["a"], batch / "3-good.pdf")
    assert (batch / "1-rgb-14100.png").stat().st_size < 1_000_000
    code = ("import resource, sys; from pipeline.cli import main; rc = main(sys.argv[1:]); "
            "print('PEAK', " + _HWM + ", file=sys.stderr); sys.exit(rc)")
    t0 = time.time()
    p = subprocess.run([sys.executable, "-c", code, "run", str(batch), "--db", str(db), "--work-dir", str(work),
                        "--engine", "tesseract"], capture_output=True, text=True, cwd=str(ROOT), timeout=300)
    assert time.time() - t0 < 120
    assert p.returncode == 1 and "Traceback" not in p.stderr, p.stderr
    assert error_lines(p.stderr) == [
        f"ERROR {batch}/1-rgb-14100.png: image of 14100x14100 px (RGB) needs 596 MB decoded, over the "
        f"{limits.MAX_DECODED_BYTES // 10**6} MB limit (decompression bomb?) [ingest]",
        f"ERROR {batch}/2-stream-bomb.pdf: page 1: content stream decodes to more than "
        f"{limits.MAX_STREAM_BYTES // 10**6} MB (decompression bomb?) [ingest]",
    ]
    assert [(Path(s).name, st) for s, st, _ in failures(db)] == [("1-rgb-14100.png", "ingest"),
                                                                   ("2-stream-bomb.pdf", "ingest")]
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM issues WHERE source_path LIKE '%3-good.pdf'").fetchone()[0] == 1
    assert snapshot(db, iid) == before
    peak_kb = int(p.stderr.split("PEAK ")[1].split()[0])
    assert peak_kb / 1024 < PEAK_LIMIT_MB, f"peak {peak_kb / 1024:.0f} MB"
    # the bombs alone: refused before decoding, so the process stays small
    # (loading a good input adds the text stack, jieba's dictionary ...)
    p = subprocess.run([sys.executable, "-c", code, "run", str(batch / "1-rgb-14100.png"),
                        str(batch / "2-stream-bomb.pdf"), "--db", str(tmp_path / "b.db"), "--work-dir",
                        str(tmp_path / "w2")], capture_output=True, text=True, cwd=str(ROOT), timeout=300)
    assert p.returncode == 1 and len(error_lines(p.stderr)) == 2
    peak_kb = int(p.stderr.split("PEAK ")[1].split()[0])
    assert peak_kb / 1024 < 400, f"peak {peak_kb / 1024:.0f} MB"


def test_stream_bomb_is_measured_in_bounded_memory(tmp_path):
    path = tmp_path / "bomb.pdf"
    hb.content_stream_bomb_pdf(path, decoded_mb=600)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.time()
    with pytest.raises(ingest.InputError, match="content stream decodes to more than"):
        ingest.pdf_pages(path)
    assert time.time() - t0 < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024      # KiB
    assert limits.inflated_size(hb.repeated_zlib(b"ab" * 1000, 7), 10**9) == 14000


def test_greyscale_png_under_the_caps_loads_in_bounded_memory(tmp_path):
    """199 Mpx greyscale (199 MB decoded) passes the caps: it is read reduced
    to RASTER_MAX_PIXELS and OCR'd in one process below PEAK_LIMIT_MB."""
    path = tmp_path / "grey-14100.png"
    hb.png_bomb(path, 14100, colour=False)
    code = ("import resource, sys; from pipeline.cli import main; rc = main(sys.argv[1:]); "
            "print('PEAK', max(" + _HWM + ", "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss), file=sys.stderr); sys.exit(rc)")
    p = subprocess.run([sys.executable, "-c", code, "run", str(path), "--db", str(tmp_path / "a.db"),
                        "--work-dir", str(tmp_path / "w"), "--engine", "tesseract", "--jsonl"],
                       capture_output=True, text=True, cwd=str(ROOT), timeout=600)
    assert p.returncode == 0, p.stderr
    peak_mb = int(p.stderr.split("PEAK ")[1].split()[0]) / 1024
    assert peak_mb < PEAK_LIMIT_MB, f"peak {peak_mb:.0f} MB"
    (w, h, dpi), = sqlite3.connect(tmp_path / "a.db").execute("SELECT width, height, dpi FROM pages").fetchall()
    assert dpi == 100             # 300 dpi (no metadata) / reduction 3


def test_decoded_size_cap_counts_channels():
    assert limits.image_too_big(14100, 14100, "L") is None
    assert "596 MB" in limits.image_too_big(14100, 14100, "RGB")
    assert limits.image_too_big(10100, 10100, "RGBA") and not limits.image_too_big(10100, 10100, "L")


# --------------------------------------------------------------------------
# 5: a text layer decoded through the wrong Unicode map


def junk_tounicode_pdf(src: Path, out: Path) -> None:
    """``src`` with every font of page 1 given a /ToUnicode that maps its codes
    onto Latin-1 letters (what a map swapped with a Latin font's gives)."""
    import pikepdf
    cmap = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Junk def "
            b"/CMapType 2 def 1 begincodespacerange <00> <FF> endcodespacerange "
            b"1 beginbfrange <00> <FF> <00C0> endbfrange endcmap CMapName currentdict /CMap "
            b"defineresource pop end end")
    with pikepdf.open(src) as pdf:
        fonts = pdf.pages[0].Resources.Font
        assert len(fonts) >= 1
        for _, f in fonts.items():
            f.ToUnicode = pdf.make_stream(cmap)
        pdf.save(out)


def test_garbled_text_layer_goes_to_ocr(good, archive, tmp_path):
    db, work, iid, before = archive
    batch = tmp_path / "batch"
    batch.mkdir()
    junk_tounicode_pdf(good["a"], batch / "junk.pdf")
    import pypdfium2 as pdfium
    text = pdfium.PdfDocument(str(batch / "junk.pdf"))[0].get_textpage().get_text_range()
    latin = sum(1 for c in text if "\u00a1" <= c <= "\u02ff") / len("".join(text.split()))
    assert latin > 0.5, text[:80]                      # the layer really is Latin-1 junk
    src = ingest.pdf_pages(batch / "junk.pdf")
    assert all(s.needs_ocr and "Latin-1" in s.reason for s in src)    # both pages use the fonts
    assert not any(s.needs_ocr for s in ingest.pdf_pages(good["a"]))
    s = run([str(batch)], RunOptions(db_path=str(db), work_dir=str(work), **OCR))
    (r,) = s.results
    assert r.status == "loaded"
    pages = sqlite3.connect(db).execute("SELECT page_no, method, text FROM pages WHERE issue_id = ?"
                                        " ORDER BY page_no", [r.issue_id]).fetchall()
    assert [m for _, m, _ in pages] == ["tesseract", "tesseract"]
    genuine = {c for c in pdfium.PdfDocument(str(good["a"]))[0].get_textpage().get_text_range()
               if "\u4e00" <= c <= "\u9fff"}
    assert len(genuine & set(pages[0][2])) > 0.6 * len(genuine), pages[0][2][:200]
    assert not any("\u00c0" <= ch <= "\u01bf" for ch in pages[0][2])
    assert snapshot(db, iid) == before


def test_latin_junk_verdict():
    ok, reason = ingest.text_layer_verdict("ßÌÓƒ·¸ÀÁÂ 机关事务ÃÄÅÆÇ ÈÉÊ管理局ËÌÍÎÏ")
    assert not ok and "Latin-1" in reason
    ok, _ = ingest.text_layer_verdict("习近平总书记指出，“绿水青山就是金山银山”。温度为25°C，面积3×4米，阿卜杜·拉希德出席。")
    assert ok


# --------------------------------------------------------------------------
# 10: page folders, damaged TIFF frames, blank pages


@pytest.fixture(scope="module")
def scans(good, tmp_path_factory):
    d = tmp_path_factory.mktemp("scans")
    generate.render_scans(good["b"], d / "folder", "png-folder", "clean", dpi=100, seed=2)
    generate.render_scans(good["b"], d / "b.tif", "tiff", "clean", dpi=100, seed=1)
    return d


def test_appledouble_and_dotfiles_do_not_reject_a_page_folder(scans, archive, tmp_path):
    db, work, iid, before = archive
    folder = tmp_path / "issue 7"
    shutil.copytree(scans / "folder", folder)
    n = len(list(folder.glob("*.png")))
    for img in list(folder.glob("*.png")):
        (folder / ("._" + img.name)).write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(64))
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(100))
    s = run([str(folder)], RunOptions(db_path=str(db), work_dir=str(work), **OCR))
    (r,) = s.results
    assert r.status == "loaded" and r.pages == n >= 2, r.error
    assert failures(db) == [] and snapshot(db, iid) == before


def test_stray_pdf_in_a_page_folder_is_reported_once_and_the_folder_is_one_issue(scans, good, archive, tmp_path):
    db, work, iid, before = archive
    top = tmp_path / "batch"
    folder = top / "issue 8"
    shutil.copytree(scans / "folder", folder)
    n = len(list(folder.glob("*.png")))
    shutil.copy(good["c"], folder / "cover letter.pdf")
    (folder / "notes.txt").write_text("scanned 2023-03-15\n")
    p = cli("run", top, "--db", db, "--work-dir", work, "--engine", "tesseract", "--dpi", "150", timeout=300)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert error_lines(p.stderr) == [
        f"ERROR {folder}/cover letter.pdf: PDF inside the folder of page images issue 8: not read "
        "(a folder of page images is one issue; move the PDF out of it) [ingest]"]
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT source_path, page_count FROM issues WHERE id != ?", [iid]).fetchall()
    assert rows == [(str(folder), n)]
    assert [Path(s).name for s, _, _ in failures(db)] == ["cover letter.pdf"]
    assert snapshot(db, iid) == before
    # a batch folder of PDFs with a scan among them is still a batch
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for k in ("a", "c"):
        shutil.copy(good[k], mixed / f"{k}.pdf")
    shutil.copy(sorted(folder.glob("*.png"))[0], mixed / "scan.png")
    cands, problems = ingest.discover([mixed])
    assert sorted(c.path.name for c in cands) == ["a.pdf", "c.pdf", "scan.png"] and not problems


def test_one_damaged_tiff_frame_keeps_the_others_and_names_the_frame(scans, archive, tmp_path):
    from PIL import Image
    db, work, iid, before = archive
    im = Image.open(scans / "b.tif")
    frames = []
    for k in (0, 1, 0):
        im.seek(k)
        frames.append(im.copy())
    path = tmp_path / "three frames.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_adobe_deflate")
    with Image.open(path) as t:
        t.seek(1)
        offset = t.tag_v2[273][0]                     # first strip of frame 2
    data = bytearray(path.read_bytes())
    data[offset + 10: offset + 3000] = random.Random(1).randbytes(2990)
    path.write_bytes(bytes(data))
    s = run([str(path)], RunOptions(db_path=str(db), work_dir=str(work), **OCR))
    (r,) = s.results
    assert r.status == "loaded" and r.pages == 3, r.error
    assert "unreadable-frame-2" in r.flags
    pages = sqlite3.connect(db).execute("SELECT page_no, method, text, engine_version, needs_review FROM pages"
                                        " WHERE issue_id = ? ORDER BY page_no", [r.issue_id]).fetchall()
    assert [m for _, m, _, _, _ in pages] == ["tesseract", "unreadable", "tesseract"]
    assert len(pages[0][2]) > 20 and len(pages[2][2]) > 20 and pages[1][2] == ""
    assert pages[1][3].startswith("frame 2 unreadable: ") and pages[1][4] == 1
    flags = sqlite3.connect(db).execute("SELECT flags, needs_review FROM issues WHERE id = ?",
                                        [r.issue_id]).fetchone()
    assert "unreadable-frame-2" in flags[0] and flags[1] == 1
    assert snapshot(db, iid) == before


def test_blank_pages_are_triaged_in_linear_time(tmp_path):
    import pikepdf

    def blank(n):
        pdf = pikepdf.new()
        for _ in range(n):
            pdf.add_blank_page(page_size=(595, 842))
        pdf.save(tmp_path / f"blank{n}.pdf")
        t0 = time.perf_counter()
        pages = ingest.pdf_pages(tmp_path / f"blank{n}.pdf")
        assert len(pages) == n and all(p.reason == "blank page" and not p.needs_ocr for p in pages)
        return time.perf_counter() - t0

    blank(20)                                        # imports and first-call costs
    small, large = blank(1000), blank(4000)
    assert large < 20 and large / small < 8         # 4x the pages: ~4x the time (16x if quadratic)
