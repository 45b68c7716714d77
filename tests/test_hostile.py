"""Bad and hostile inputs: each one gets a clear one-line error naming the file
and the reason (and a ``failures`` row), or is read correctly, and the batch
goes on with nothing lost. Every file is built here, offline, with
pikepdf / reportlab / PIL / pypdfium2 / matplotlib or byte surgery."""
import ctypes
import glob
import json
import os
import random
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

import generator as generate

from pipeline.read import imaging, ingest
from pipeline.batch.runner import RunOptions, run

ROOT = Path(__file__).resolve().parent.parent
OCR = dict(engine="tesseract", dpi=150)     # the fast engine: OCR is incidental here
HUGE_PAGE_CAP = 4_000_000                   # raster cap during the batch (pixels)
LINES = ["近日，某单位召开工作会议，研究部署下一阶段重点工作。",
         "会议要求，各部门要提高认识，狠抓落实，确保任务按期完成。",
         "会议强调，要加强督促检查，及时通报工作进展情况。"]


def cjk_font() -> str:
    for pat in ("wqy-zenhei.tt*", "*zenhei*.tt*", "uming.tt*", "*NotoSansCJK*", "*NotoSerifCJK*"):
        hits = glob.glob(f"/usr/share/fonts/**/{pat}", recursive=True)
        if hits:
            return hits[0]
    pytest.skip("no CJK font installed")


# --------------------------------------------------------------------------
# builders


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` (IHDR) with one tiny IDAT: cheap to
    write, a bomb for anyone who decodes it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def vector_text_pdf(path: Path, size=(595, 842), lines=LINES, font_size=20):
    """Chinese text drawn as filled glyph outlines: no text layer, but renderable."""
    from matplotlib.backends.backend_pdf import FigureCanvasPdf
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import PathPatch
    from matplotlib.textpath import TextPath
    w, h = size
    fig = Figure(figsize=(w / 72, h / 72))
    FigureCanvasPdf(fig)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    ax.axis("off")
    fp = FontProperties(fname=cjk_font())
    for i, line in enumerate(lines):
        tp = TextPath((60, h - 100 - 2 * font_size * i), line, size=font_size, prop=fp)
        ax.add_patch(PathPatch(tp, facecolor="black", edgecolor="none"))
    fig.savefig(path, format="pdf")


def cid_font_pdf(path: Path):
    """Text in an embedded Type0 (CIDFontType2, Identity-H) font, then /ToUnicode
    deleted: PDFium decodes it to plausible-looking garbage Han, pdfplumber to (cid:N)."""
    import pikepdf
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw
    data = Path(cjk_font()).read_bytes()
    pdf = pdfium.PdfDocument.new()
    page = pdf.new_page(595, 842)
    buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
    font = raw.FPDFText_LoadFont(pdf.raw, buf, len(data), raw.FPDF_FONT_TRUETYPE, 1)
    assert font
    for i, line in enumerate(LINES):
        obj = raw.FPDFPageObj_CreateTextObj(pdf.raw, font, 20.0)
        ws = ctypes.create_string_buffer((line + "\0").encode("utf-16-le"))
        raw.FPDFText_SetText(obj, ctypes.cast(ws, ctypes.POINTER(raw.FPDF_WCHAR)))
        raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 60, 742 - 40 * i)
        raw.FPDFPage_InsertObject(page.raw, obj)
    raw.FPDFPage_GenerateContent(page.raw)
    tmp = path.with_suffix(".tmp.pdf")
    pdf.save(str(tmp))
    pdf.close()
    with pikepdf.open(tmp) as p:
        fonts = list(p.pages[0].Resources.Font.values())
        assert fonts and fonts[0].Subtype == "/Type0" and fonts[0].Encoding == "/Identity-H"
        for f in fonts:
            del f["/ToUnicode"]
        p.save(path)
    tmp.unlink()


def jbig2_bomb_pdf(path: Path, side: int = 100_000):
    """A page drawing a JBIG2Decode image that declares side x side pixels."""
    import pikepdf
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    img = pikepdf.Stream(pdf, b"\x00" * 64)
    img.Type, img.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    img.Width = img.Height = side
    img.BitsPerComponent = 1
    img.ColorSpace, img.Filter = pikepdf.Name.DeviceGray, pikepdf.Name.JBIG2Decode
    page = pdf.pages[0]
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=img))
    page.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    pdf.save(path)


def huge_page_pdf(path: Path, side: float = 2000.0):
    """A 2000 x 2000 pt page (27.8 in square) with a box and vector text, no text layer."""
    vector_text_pdf(path, size=(side, side), lines=LINES[:1], font_size=60)


def broken_xref(data: bytes) -> bytes:
    """Every cross-reference offset and startxref made wrong (same length)."""
    i = data.rindex(b"\nxref")
    head, tail = data[:i], data[i:]
    tail = re.sub(rb"(\d{10}) (\d{5}) n", lambda m: b"%010d %s n" % (int(m.group(1)) // 2 + 7, m.group(2)),
                  tail)
    tail = re.sub(rb"startxref\s+(\d+)", lambda m: b"startxref\n" + str(int(m.group(1)) + 13).encode(), tail)
    return head + tail


def pdf_without_masthead(path: Path):
    from reportlab.pdfgen import canvas
    generate.register_fonts()
    c = canvas.Canvas(str(path))
    c.setFont(generate.BODY, 16)          # the registered CJK TrueType face
    for i, line in enumerate(LINES):
        c.drawString(80, 700 - 30 * i, line)
    c.save()


# --------------------------------------------------------------------------
# the hostile batch, run once


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    d = tmp_path_factory.mktemp("good")
    specs = {s.id: s for s in generate.sample_specs()}
    generate.render_pdf(specs["gen05"], d / "a.pdf")      # 2 pages
    generate.render_pdf(specs["gen04"], d / "b.pdf")
    generate.render_scans(d / "b.pdf", d / "scan.png", "png", "mild", dpi=120, pages=[1], seed=2)
    generate.render_scans(d / "b.pdf", d / "folder", "png-folder", "clean", dpi=100, seed=2)
    return d


@pytest.fixture(scope="module")
def hostile(good, tmp_path_factory):
    import pikepdf
    top = tmp_path_factory.mktemp("hostile")
    batch = top / "hostile 批次 inputs"          # spaces and Chinese characters in the path
    batch.mkdir()
    a, b = good / "a.pdf", good / "b.pdf"
    data = a.read_bytes()
    shutil.copy(a, batch / "01-good 好的.pdf")
    (batch / "02-empty.pdf").write_bytes(b"")
    (batch / "03-truncated.pdf").write_bytes(data[: len(data) // 3])
    with pikepdf.open(b) as pdf:
        pdf.save(batch / "04-user-password.pdf", encryption=pikepdf.Encryption(user="secret", owner="owner"))
        pdf.save(batch / "05-owner-password.pdf",
                 encryption=pikepdf.Encryption(user="", owner="owner", allow=pikepdf.Permissions(extract=False)))
    vector_text_pdf(batch / "06-vector-text.pdf")
    (batch / "07-bomb.png").write_bytes(png_header(30000, 30000))
    (batch / "08-zero.png").write_bytes(png_header(0, 0))
    from PIL import Image
    Image.new("L", (1, 1), 255).save(batch / "09-one-pixel.png")
    shutil.copy(good / "scan.png", batch / "10-png-named.pdf")
    (batch / "11-text-named.pdf").write_text("这不是PDF文件。\n" * 40, encoding="utf-8")
    folder = batch / "12-page folder"
    shutil.copytree(good / "folder", folder)
    (folder / "notes.txt").write_text("scanned by the archive office\n")
    (folder / "Thumbs.db").write_bytes(os.urandom(512))
    (folder / "readme.docx").write_bytes(b"PK\x03\x04" + os.urandom(200))
    os.symlink("13-loop-b.pdf", batch / "13-loop-a.pdf")
    os.symlink("13-loop-a.pdf", batch / "13-loop-b.pdf")
    os.symlink(".", batch / "13-loop-dir")
    (batch / "14-header-only.pdf").write_bytes(b"%PDF-1.7\n")
    (batch / "15-broken-xref.pdf").write_bytes(broken_xref(b.read_bytes()))
    with pikepdf.open(a) as pdf:
        pdf.Root.Outlines = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Outlines, Count=-99,
            First=pdf.make_indirect(pikepdf.Array([1, "garbage", None])),
            Last=pdf.make_stream(os.urandom(64))))
        pdf.save(batch / "16-broken-outline.pdf")
    with pikepdf.open(b) as pdf:
        pdf.pages[0].Contents = pdf.make_stream(random.Random(7).randbytes(3000))
        pdf.save(batch / "17-garbage-content.pdf")
    with pikepdf.open(a) as pdf:
        del pdf.pages[1].obj["/Contents"]
        pdf.save(batch / "18-no-contents.pdf")
    with pikepdf.open(b) as pdf:
        if "/Info" in pdf.trailer:
            del pdf.trailer["/Info"]
        if "/Metadata" in pdf.Root:
            del pdf.Root["/Metadata"]
        pdf.save(batch / "19-no-info.pdf")
    cid_font_pdf(batch / "20-cid-no-tounicode.pdf")
    jbig2_bomb_pdf(batch / "21-jbig2-bomb.pdf")
    pdf_without_masthead(batch / "22-no-masthead.pdf")
    huge_page_pdf(batch / "23-huge-page.pdf")

    opts = RunOptions(db_path=str(top / "archive.db"), work_dir=str(top / "work"), **OCR)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(imaging, "RASTER_MAX_PIXELS", HUGE_PAGE_CAP)
        t0 = time.time()
        summary = run([str(batch)], opts)
        seconds = time.time() - t0
    results = {Path(r.source_path).name: r for r in summary.results}
    return batch, summary, results, sqlite3.connect(opts.db_path), opts, seconds


def _r(hostile, name):
    return hostile[2][name]


def _pages(hostile, name):
    conn = hostile[3]
    return conn.execute("SELECT p.page_no, p.method, p.text, p.dpi FROM pages p JOIN issues i"
                        " ON p.issue_id = i.id WHERE i.source_path LIKE ? ORDER BY p.page_no",
                        ["%/" + name]).fetchall()


FAILS = {  # file -> words its one-line reason must hold
    "02-empty.pdf": "empty file (0 bytes)",
    "03-truncated.pdf": "corrupt or truncated PDF",
    "04-user-password.pdf": "encrypted PDF",
    "07-bomb.png": "decompression bomb",
    "08-zero.png": "",
    "09-one-pixel.png": "too small",
    "11-text-named.pdf": "not a PDF or image",
    "13-loop-a.pdf": "symlink loop",
    "13-loop-b.pdf": "symlink loop",
    "13-loop-dir": "symlink loop",
    "14-header-only.pdf": "corrupt or truncated PDF",
    "21-jbig2-bomb.pdf": "decompression bomb",
}
LOADS = ["01-good 好的.pdf", "05-owner-password.pdf", "06-vector-text.pdf", "10-png-named.pdf",
         "12-page folder", "15-broken-xref.pdf", "16-broken-outline.pdf", "18-no-contents.pdf",
         "19-no-info.pdf", "20-cid-no-tounicode.pdf", "22-no-masthead.pdf", "23-huge-page.pdf"]


def test_every_input_has_an_outcome_and_the_batch_goes_on(hostile):
    batch, summary, results, conn, opts, seconds = hostile
    assert set(results) == set(FAILS) | set(LOADS) | {"17-garbage-content.pdf"}
    for name in LOADS:
        assert results[name].status == "loaded", (name, results[name].error)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert seconds < 120


@pytest.mark.parametrize("name", sorted(FAILS))
def test_bad_input_fails_with_a_one_line_reason_and_a_failures_row(hostile, name):
    r = _r(hostile, name)
    assert r.status == "failed"
    assert FAILS[name] in r.error and r.error.strip() and "\n" not in r.error and len(r.error) < 300
    rows = hostile[3].execute("SELECT stage, error FROM failures WHERE source_path = ?",
                              [r.source_path]).fetchall()
    assert rows == [(r.stage, r.error)]


def test_one_line_errors_name_the_file_on_the_command_line(hostile, tmp_path):
    batch = hostile[0]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(batch / "02-empty.pdf"),
                        str(batch / "04-user-password.pdf"), str(batch / "07-bomb.png"),
                        "--db", str(tmp_path / "a.db"), "--work-dir", str(tmp_path / "w")],
                       capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=120)
    assert p.returncode == 1
    errors = [l for l in p.stderr.splitlines() if l.startswith("ERROR ")]
    assert errors == [
        f"ERROR {batch / '02-empty.pdf'}: empty file (0 bytes) [ingest]",
        f"ERROR {batch / '04-user-password.pdf'}: encrypted PDF (a password is required to open it) [ingest]",
        f"ERROR {batch / '07-bomb.png'}: image of 30000x30000 = 900 Mpx exceeds the 200 Mpx limit "
        f"(decompression bomb?) [ingest]",
    ]


def test_owner_password_only_pdf_loads_from_its_text_layer(hostile):
    pages = _pages(hostile, "05-owner-password.pdf")
    assert pages and all(m == "text-layer" for _, m, _, _ in pages)
    assert hostile[2]["05-owner-password.pdf"].articles > 0


def test_vector_drawn_text_goes_to_ocr_and_yields_text(hostile):
    (pno, method, text, dpi), = _pages(hostile, "06-vector-text.pdf")
    assert method == "tesseract" and dpi == OCR["dpi"]
    assert sum(ch in text for ch in "会议单位工作部署要求") >= 6, text


def test_cid_font_without_unicode_map_goes_to_ocr(hostile):
    src = ingest.pdf_pages(hostile[0] / "20-cid-no-tounicode.pdf")
    assert src[0].needs_ocr and "Unicode map" in src[0].reason
    (pno, method, text, dpi), = _pages(hostile, "20-cid-no-tounicode.pdf")
    assert method == "tesseract"
    assert sum(ch in text for ch in "会议单位工作部署要求") >= 6, text


def test_png_named_pdf_is_read_as_an_image(hostile):
    (pno, method, text, dpi), = _pages(hostile, "10-png-named.pdf")
    assert method == "tesseract" and dpi == 120 and len(text) > 20


def test_page_folder_takes_images_and_ignores_other_files(hostile, good):
    pages = _pages(hostile, "12-page folder")
    n_images = len(list((good / "folder").glob("*.png")))
    assert len(pages) == n_images >= 2 and all(m == "tesseract" for _, m, _, _ in pages)


def test_broken_structures_still_load(hostile):
    for name in ("15-broken-xref.pdf", "16-broken-outline.pdf", "19-no-info.pdf"):
        pages = _pages(hostile, name)
        assert pages and all(m == "text-layer" and t for _, m, t, _ in pages), name
    assert _pages(hostile, "16-broken-outline.pdf") == _pages(hostile, "01-good 好的.pdf")


def test_page_without_contents_is_a_blank_page(hostile):
    pages = _pages(hostile, "18-no-contents.pdf")
    assert [(p, m) for p, m, _, _ in pages] == [(1, "text-layer"), (2, "text-layer")]
    assert pages[0][2] and pages[1][2] == ""
    src = ingest.pdf_pages(hostile[0] / "18-no-contents.pdf")
    assert src[1].reason == "blank page" and not src[1].needs_ocr


def test_unparseable_content_stream_goes_to_ocr_or_fails_clearly(hostile):
    r = _r(hostile, "17-garbage-content.pdf")
    if r.status == "failed":
        assert r.error and "\n" not in r.error
    else:
        assert r.status == "loaded"
        pages = _pages(hostile, "17-garbage-content.pdf")
        assert pages[0][1] == "tesseract"           # the damaged page was OCR'd
        assert all(m == "text-layer" for _, m, _, _ in pages[1:])
        src = ingest.pdf_pages(hostile[0] / "17-garbage-content.pdf")
        assert src[0].needs_ocr and src[0].reason


def test_huge_jbig2_image_is_refused_before_decoding(hostile):
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.time()
    with pytest.raises(ingest.InputError, match="100000x100000"):
        ingest.pdf_pages(hostile[0] / "21-jbig2-bomb.pdf")
    assert time.time() - t0 < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB


def test_huge_page_is_rasterised_within_the_pixel_cap(hostile):
    (pno, method, text, dpi), = _pages(hostile, "23-huge-page.pdf")
    assert method == "tesseract"
    assert dpi < OCR["dpi"] and (2000 / 72 * dpi) ** 2 <= HUGE_PAGE_CAP
    r = _r(hostile, "23-huge-page.pdf")
    assert "reduced-dpi" in r.flags
    assert imaging.raster_dpi(595, 842, 300) == 300
    assert imaging.raster_dpi(14400, 14400, 300) == int((imaging.RASTER_MAX_PIXELS / 200 ** 2) ** 0.5)


def test_readable_document_without_masthead_is_loaded_and_flagged(hostile):
    r = _r(hostile, "22-no-masthead.pdf")
    assert r.status == "loaded" and "no-masthead" in r.flags and "no-issue-no" in r.flags
    row = hostile[3].execute("SELECT title, issue_no, needs_review, flags FROM issues"
                             " WHERE source_path LIKE '%22-no-masthead.pdf'").fetchone()
    assert row[0] is None and row[1] is None and row[2] == 1 and "no-masthead" in json.loads(row[3])
    (pno, method, text, dpi), = _pages(hostile, "22-no-masthead.pdf")
    assert method == "text-layer" and LINES[0] in text


def test_rerun_of_the_hostile_batch_changes_nothing(hostile):
    batch, summary, results, conn, opts, seconds = hostile
    before = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("issues", "articles", "pages")}
    with pytest.MonkeyPatch.context() as m:
        m.setattr(imaging, "RASTER_MAX_PIXELS", HUGE_PAGE_CAP)
        again = run([str(batch)], opts)
    assert again.count("unchanged") == len(LOADS) + (summary.count("loaded") - len(LOADS))
    assert again.count("failed") == summary.count("failed")
    after = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("issues", "articles", "pages")}
    assert after == before


# --------------------------------------------------------------------------
# unreadable files, for a real process that is subject to file permissions


def _drop_dac_capabilities():
    """preexec: remove CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding
    set, so the exec'd process (uid 0 but without those capabilities) is refused
    by the kernel on chmod 000 files exactly as an ordinary user would be."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:       # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _unprivileged():
    """subprocess keyword arguments for a process that file permissions apply to."""
    if os.geteuid() != 0:
        return {}
    # uid 65534 would be the obvious choice, but the interpreter lives under
    # /root (mode 700); a root process without the DAC capabilities is just
    # as bound by permissions.
    return {"preexec_fn": _drop_dac_capabilities}


def test_unreadable_files_and_folders(good, tmp_path):
    batch = tmp_path / "perm"
    batch.mkdir()
    shutil.copy(good / "a.pdf", batch / "1-readable.pdf")
    shutil.copy(good / "b.pdf", batch / "2-unreadable.pdf")
    (batch / "2-unreadable.pdf").chmod(0)
    locked = batch / "3-locked folder"
    locked.mkdir()
    shutil.copy(good / "b.pdf", locked / "inside.pdf")
    locked.chmod(0)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    probe = subprocess.run([sys.executable, "-c", f"open({str(batch / '2-unreadable.pdf')!r}, 'rb')"],
                           capture_output=True, env=env, **_unprivileged())
    try:
        assert probe.returncode != 0 and b"PermissionError" in probe.stderr, "permissions not enforced"
        p = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(batch), "--jsonl",
                            "--db", str(tmp_path / "a.db"), "--work-dir", str(tmp_path / "w")],
                           capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=120,
                           **_unprivileged())
    finally:
        locked.chmod(0o755)
        (batch / "2-unreadable.pdf").chmod(0o644)
    assert p.returncode == 1, p.stderr
    files = {Path(e["source_path"]).name: e for e in map(json.loads, p.stdout.splitlines())
             if e["event"] == "file"}
    assert files["1-readable.pdf"]["status"] == "loaded"
    assert files["2-unreadable.pdf"]["status"] == "failed"
    assert files["2-unreadable.pdf"]["error"] == "permission denied"
    assert files["3-locked folder"]["status"] == "failed"
    assert files["3-locked folder"]["error"] == "permission denied"
    conn = sqlite3.connect(tmp_path / "a.db")
    assert {Path(s).name for (s,) in conn.execute("SELECT source_path FROM failures")} == \
        {"2-unreadable.pdf", "3-locked folder"}
    assert conn.execute("SELECT count(*) FROM issues").fetchone()[0] == 1


def test_hostile_batch_with_two_workers_has_the_same_outcomes(hostile, tmp_path):
    """Errors and pages cross the process boundary intact: two workers give the
    serial run's outcomes and archive."""
    batch, summary, results, conn, opts, seconds = hostile
    opts2 = RunOptions(db_path=str(tmp_path / "a.db"), work_dir=str(tmp_path / "w"), workers=2, **OCR)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(imaging, "RASTER_MAX_PIXELS", HUGE_PAGE_CAP)
        again = run([str(batch)], opts2)
    outcome = lambda s: [(Path(r.source_path).name, r.status, r.stage, r.error, r.flags) for r in s.results]
    assert outcome(again) == outcome(summary)
    rows = lambda c: (c.execute("SELECT id, title, issue_no, page_count, article_count, flags, methods"
                                " FROM issues ORDER BY id").fetchall(),
                      c.execute("SELECT id, text, method, dpi FROM pages ORDER BY id").fetchall(),
                      c.execute("SELECT id, title, body FROM articles ORDER BY id").fetchall())
    assert rows(sqlite3.connect(opts2.db_path)) == rows(conn)
