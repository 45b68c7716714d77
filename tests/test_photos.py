"""Photographed pages: EXIF rotation, unknown dpi, uneven light, show-through,
two columns, a red masthead in dim light, a two-page spread.  The image
helpers are checked on small arrays; the pages are read with real OCR."""
import unicodedata
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from rapidfuzz.distance import Levenshtein

import generator
from pipeline.evaluate import cer_parts
from pipeline.models import PageSource
from pipeline.read import imaging, ingest, ocr, photo

from test_imaging import render as render_image, stamp_seal


def render(*a, **kw) -> np.ndarray:
    return np.asarray(render_image(*a, **kw).convert("RGB"))


def fold(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def cer(hyp: str, ref: str) -> float:
    dist, n = cer_parts(fold(hyp), fold(ref))
    return dist / max(1, n)


def similar(a: str, b: str) -> float:
    return Levenshtein.normalized_similarity(fold(a), fold(b))


def image_source(path, crop=None) -> PageSource:
    return PageSource(page_no=1, path=str(path), index=0, kind="image", needs_ocr=True, crop=crop)


# --------------------------------------------------------------------------
# helpers on arrays (fast)


def test_faint_show_through_is_whitened_and_text_kept():
    text = render(["会议认真传达学习文件精神"], size=48, width=900)[:, :, 0]
    back = render(["要广泛发动群众依靠群众"], size=48, width=900)[:, :, 0][:, ::-1]
    # below the printed line, the next sheet shows through: faint grey, mirrored
    faint = (255 - 0.2 * (255 - back.astype(np.float32))).astype(np.uint8)
    page = np.vstack([text, faint])
    out, share = photo.suppress_faint_ink(page, 300)
    assert share > 0
    h = text.shape[0]
    assert (out[h:] < photo.FAINT_INK).sum() < 0.05 * (page[h:] < photo.FAINT_INK).sum()
    ink = text < 128
    assert (out[:h][ink] < 128).mean() > 0.98           # printed strokes untouched
    # a page of faint text only (a light copy) is left alone
    assert photo.suppress_faint_ink(faint, 300)[1] == 0.0


def test_dpi_from_text_size():
    im = render(["会议认真传达学习文件精神"] * 6, size=60, width=1100)[:, :, 0]
    # 60 px glyphs: at a recorded 300 dpi that is a plausible 14 pt body, kept
    assert photo.dpi_from_text(im, 300, True)[0] == 300
    # a camera's 72 dpi would make it 60 pt: replaced by an estimate
    est, body = photo.dpi_from_text(im, 72, True)
    assert 250 <= est <= 330 and body == pytest.approx(photo.BODY_INK_PT, abs=0.5)
    # no dpi recorded: estimated the same way
    assert photo.dpi_from_text(im, 300, False)[0] == est
    # a scanner's recorded dpi is believed
    assert photo.dpi_from_text(im, 150, True)[0] == 150


def test_gutter_of_a_spread_only():
    left = render(["左边一页正文第一行文字"] * 5, size=40, width=700)[:, :, 0]
    right = render(["右边一页正文第一行内容"] * 5, size=40, width=700)[:, :, 0]
    spread = np.concatenate([left, right], axis=1)
    g = photo.find_gutter(spread)
    assert g is not None and 0.4 < g < 0.6
    single = render(["一页正文第一行文字很长很长的一行字"] * 12, size=40, width=1000)[:, :, 0]
    assert photo.find_gutter(single) is None
    assert photo.find_gutter(np.concatenate([left, np.full_like(right, 255)], axis=1)) is None
    # a portrait page lying on its side (landscape, gaps between its lines) is not a spread
    page = np.concatenate([left] * 3, axis=0)
    assert photo.find_gutter(cv2.rotate(page, cv2.ROTATE_90_CLOCKWISE)) is None


def test_seal_is_a_ring_a_big_red_character_is_not():
    im = render(["中"], size=260, width=400)
    red = (im[:, :, 0].astype(int) - im[:, :, 1] > 100) | (im[:, :, 0] < 128)
    ys, xs = np.nonzero(red)
    assert not imaging.ring_like(red[ys.min():ys.max() + 1, xs.min():xs.max() + 1])
    sealed = np.asarray(stamp_seal(Image.new("RGB", (400, 400), (255, 255, 255)), 200, 200, 150))
    mask = imaging.red_mask(cv2.cvtColor(sealed, cv2.COLOR_RGB2BGR)) > 0
    ys, xs = np.nonzero(mask)
    assert imaging.ring_like(mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1])


# --------------------------------------------------------------------------
# whole pages with real OCR


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return generator.write_photos(tmp_path_factory.mktemp("photos"))


def test_two_column_bulletin_photo(photos):
    folder, truth = photos["bulletin"]
    src = image_source(folder / "1.jpg")
    assert Image.open(src.path).getexif().get(274) == 6      # stored turned, EXIF says so
    pg = ocr.read_page(src, engine="rapidocr")
    texts = [l.text for l in pg.lines]
    # EXIF orientation honoured: the page is read upright, no quarter turn needed
    assert pg.rotation == 0 and pg.height > pg.width
    # dpi: the camera's 72 is replaced by one that makes the body a printed size
    assert pg.dpi > 100
    body = [l.size for l in pg.lines if any(similar(l.text, t) > 0.7 for t in truth["columns"][0])]
    assert body and 9 <= float(np.median(body)) <= 20
    # show-through is not text: every line read is one of the printed lines
    for t in texts:
        best = max(similar(t, ref) for ref in truth["lines"])
        assert best >= 0.6, (t, texts)
    # column by column, never straight across
    assert cer("".join(texts), "".join(truth["lines"])) <= 0.05, texts
    kinds = [r.kind for r in pg.regions]
    assert kinds.count("column") == 2, pg.regions
    cols = [r for r in pg.regions if r.kind == "column"]
    assert cols[0].box[2] < cols[1].box[0] and cols[0].order < cols[1].order


def test_red_masthead_photo_keeps_full_size_red_characters(photos):
    folder, truth = photos["masthead"]
    pg = ocr.read_page(image_source(folder / "1.jpg"), engine="rapidocr")
    first = pg.lines[0]
    assert first.text == truth["masthead"], [l.text for l in pg.lines]
    assert first.color == "red"
    assert cer("".join(l.text for l in pg.lines), "".join(truth["lines"])) <= 0.05


def test_two_page_spread_becomes_two_pages(photos):
    folder, truth = photos["spread"]
    doc = ingest.ingest(ingest.Candidate(Path(folder), is_folder=True))
    assert [p.page_no for p in doc.pages] == [1, 2]
    assert doc.pages[0].crop[0] == 0.0 and doc.pages[1].crop[1] == 1.0
    for src, want in zip(doc.pages, truth["pages"]):
        pg = ocr.read_page(src, engine="rapidocr")
        assert cer("".join(l.text for l in pg.lines), "".join(want)) <= 0.1, [l.text for l in pg.lines]
        assert pg.source.endswith("#left" if src.page_no == 1 else "#right")
