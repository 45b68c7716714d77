"""Page image loading and clean-up (no OCR engine needed except where noted)."""
import struct
import tracemalloc
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFont

from pipeline.read import imaging, ingest, orient
from pipeline.models import PageSource

FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def render(lines, size=56, width=1500, margin=80, colours=None, bg=(255, 255, 255)):
    """A white page with ``lines`` of Chinese at ``size`` px (~13.5 pt at 300 dpi)."""
    font = ImageFont.truetype(FONT, size)
    step = int(size * 1.8)
    im = Image.new("RGB", (width, margin * 2 + step * len(lines)), bg)
    d = ImageDraw.Draw(im)
    for i, text in enumerate(lines):
        fill = (colours or {}).get(i, (0, 0, 0))
        d.text((margin, margin + i * step), text, font=font, fill=fill)
    return im


def stamp_seal(im, cx, cy, r):
    """Stamp a red seal (ring, star, text) over ``im``; ink multiplies like real
    stamp ink, so black print under it stays black."""
    seal = Image.new("RGB", im.size, (255, 255, 255))
    d = ImageDraw.Draw(seal)
    red = (225, 40, 40)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=red, width=max(4, r // 12))
    s = r // 4
    d.polygon([(cx, cy - s), (cx + s // 3, cy - s // 3), (cx + s, cy - s // 3), (cx + s // 2, cy + s // 5),
               (cx + 2 * s // 3, cy + s), (cx, cy + s // 2), (cx - 2 * s // 3, cy + s),
               (cx - s // 2, cy + s // 5), (cx - s, cy - s // 3), (cx - s // 3, cy - s // 3)], fill=red)
    d.text((cx - int(r * 0.6), cy + s + 4), "专用章", font=ImageFont.truetype(FONT, int(r * 0.38)), fill=red)
    return ImageChops.multiply(im.convert("RGB"), seal)


def bgr(im):
    return cv2.cvtColor(np.asarray(im.convert("RGB")), cv2.COLOR_RGB2BGR)


# --------------------------------------------------------------------------
# loading


def test_natural_sort_key():
    names = ["page-10.jpg", "page-2.jpg", "page-1.jpg", "Page-3.JPG", "cover.jpg", "page-002b.jpg"]
    assert sorted(names, key=imaging.natural_sort_key) == [
        "cover.jpg", "page-1.jpg", "page-2.jpg", "page-002b.jpg", "Page-3.JPG", "page-10.jpg"]


def test_list_page_images_natural_order(tmp_path):
    for n in (10, 2, 1):
        Image.new("L", (32, 32), 255).save(tmp_path / f"page-{n}.png")
    (tmp_path / "notes.txt").write_text("x")
    assert [p.name for p in imaging.list_page_images(tmp_path)] == ["page-1.png", "page-2.png", "page-10.png"]
    assert imaging.page_count(tmp_path, "image") == 3


def test_tiff_16bit_cmyk_g4_normalised(tmp_path):
    a16 = np.full((40, 60), 65535, np.uint16)
    a16[10:20, 10:50] = 0
    a16[25:30, :] = 32768
    Image.fromarray(a16).save(tmp_path / "g16.tif")
    img, dpi = imaging.load_page_image(PageSource(1, str(tmp_path / "g16.tif"), kind="image"))
    assert img.dtype == np.uint8 and img.shape == (40, 60, 3)
    assert img[0, 0].tolist() == [255, 255, 255] and img[15, 20].tolist() == [0, 0, 0]
    assert 120 <= img[27, 5, 0] <= 135
    assert dpi == 300                       # no resolution tag -> default

    cmyk = Image.new("CMYK", (50, 50), (0, 0, 0, 0))       # white paper
    ImageDraw.Draw(cmyk).rectangle((10, 10, 40, 40), fill=(0, 255, 255, 0))  # red
    cmyk.save(tmp_path / "c.tif", dpi=(200, 200))
    img, dpi = imaging.load_page_image(PageSource(1, str(tmp_path / "c.tif"), kind="image"))
    assert dpi == 200
    b, g, r = img[25, 25].tolist()
    assert r > 200 and g < 60 and b < 60
    assert img[2, 2].tolist() == [255, 255, 255]

    bil = Image.new("L", (64, 48), 255)
    ImageDraw.Draw(bil).rectangle((8, 8, 30, 30), fill=0)
    bil.convert("1").save(tmp_path / "g4.tif", compression="group4", dpi=(400, 400))
    img, dpi = imaging.load_page_image(PageSource(1, str(tmp_path / "g4.tif"), kind="image"))
    assert dpi == 400 and img.dtype == np.uint8
    assert set(np.unique(img).tolist()) <= {0, 255}
    assert img[20, 20].tolist() == [0, 0, 0] and img[40, 60].tolist() == [255, 255, 255]


def test_multiframe_tiff_streams_one_frame(tmp_path):
    frames = []
    for i in range(12):
        f = Image.new("L", (800, 1000), 255)
        ImageDraw.Draw(f).rectangle((10 + 50 * i, 10, 50 + 50 * i, 60), fill=0)
        frames.append(f)
    path = tmp_path / "multi.tiff"
    frames[0].save(path, save_all=True, append_images=frames[1:], dpi=(300, 300))
    del frames
    assert imaging.page_count(path, "image") == 12
    tracemalloc.start()
    img, dpi = imaging.load_page_image(PageSource(9, str(path), index=8, kind="image"))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert img.shape == (1000, 800, 3) and dpi == 300
    assert img[30, 30 + 50 * 8, 0] == 0 and img[30, 30, 0] == 255     # frame 9's mark only
    frame_bytes = 800 * 1000 * 3
    assert peak < 4 * frame_bytes          # one frame (gray + BGR), never the whole file
    with pytest.raises(IndexError):
        imaging.load_page_image(PageSource(13, str(path), index=12, kind="image"))


def test_pdf_page_rendered_at_dpi_or_its_scans_own(tmp_path):
    """A PDF page is rendered at the dpi asked for, a scanned page (one image,
    nothing else) at most at its scan's own resolution."""
    im = render(["测试页面"], size=40, width=600)
    path = tmp_path / "p.pdf"
    im.save(path, resolution=100)            # 600 px at 100 dpi = 432 pt wide
    assert imaging.page_count(path, "pdf") == 1
    src = ingest.pdf_pages(path)[0]                  # ingest measures the scan's dpi
    img, dpi = imaging.load_page_image(src, dpi=150)
    assert dpi == 100 and img.shape[1] == 600       # the scan's own pixels, not made-up ones
    img, dpi = imaging.load_page_image(src, dpi=72)
    assert dpi == 72 and abs(img.shape[1] - 432) <= 2 and img.dtype == np.uint8 and img.shape[2] == 3
    import generator as generate
    digital = tmp_path / "d.pdf"
    generate.render_pdf(generate.sample_specs()[0], digital)   # text, not a scan
    img, dpi = imaging.load_page_image(ingest.pdf_pages(digital)[0], dpi=150)
    assert dpi == 150 and abs(img.shape[1] - round(595.3 * 150 / 72)) <= 2


def _png_header_only(w, h):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def test_refuses_bomb_and_tiny(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(20000, 20000))        # 400 Mpx claimed
    with pytest.raises(ValueError, match="Mpx limit"):
        imaging.load_page_image(PageSource(1, str(bomb), kind="image"))
    tiny = tmp_path / "tiny.png"
    Image.new("L", (10, 40), 255).save(tiny)
    with pytest.raises(ValueError, match="too small"):
        imaging.load_page_image(PageSource(1, str(tiny), kind="image"))
    # a PDF page that would rasterise past the limit is refused too
    import generator as generate
    pdf = tmp_path / "huge.pdf"
    generate.render_pdf(generate.sample_specs()[0], pdf)      # A4 of text at 3000 dpi: 870 Mpx
    with pytest.raises(ValueError, match="Mpx limit"):
        imaging.load_page_image(PageSource(1, str(pdf), kind="pdf"), dpi=3000)
    # a scan 200 inches square at 1 dpi is read as the 200 x 200 px it holds
    scan = tmp_path / "scan.pdf"
    Image.new("L", (200, 200), 255).save(scan, resolution=1)
    img, dpi = imaging.load_page_image(ingest.pdf_pages(scan)[0], dpi=300)
    assert img.shape[:2] == (200, 200) and dpi == 1


# --------------------------------------------------------------------------
# clean-up


def test_background_normalised_on_yellow_uneven_paper():
    im = bgr(render(["省机关事务管理局召开会议", "会议强调要深入学习"], size=56))
    h, w = im.shape[:2]
    # yellowed paper, darker towards the right, plus noise
    ramp = np.linspace(1.0, 0.7, w)[None, :, None]
    paper = np.array([170, 215, 235], np.float32)[None, None, :] * ramp   # BGR yellow
    ink = im.astype(np.float32) / 255.0
    rng = np.random.default_rng(1)
    page = np.clip(paper * ink + rng.normal(0, 6, im.shape), 0, 255).astype(np.uint8)
    clean, info = imaging.prepare(page, 300)
    gray = clean
    text = im[:, :, 0] < 100
    assert np.median(gray[~text]) >= 245          # paper is white everywhere
    assert np.median(gray[text]) < 90              # ink still dark
    assert info["red_pixels"] < 50                 # yellow is not red


def test_skew_measured_and_corrected():
    im = bgr(render(["会议传达学习习近平总书记重要讲话精神"] * 6, size=48, width=1400))
    h, w = im.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 3.0, 1.0)
    skewed = cv2.warpAffine(im, m, (w, h), borderValue=(255, 255, 255))
    angle = imaging.estimate_skew(cv2.cvtColor(skewed, cv2.COLOR_BGR2GRAY), 300)
    assert abs(angle + 3.0) < 0.5
    clean, info = imaging.prepare(skewed, 300)
    assert abs(info["skew"] + 3.0) < 0.5
    assert abs(imaging.estimate_skew(clean, 300)) < 0.3
    assert imaging.estimate_skew(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY), 300) == pytest.approx(0, abs=0.2)


def test_red_seal_dropped_red_masthead_kept():
    im = render(["某某市教育局简报", "", "二〇二三年五月十日"], size=64, width=1200,
                colours={0: (220, 30, 30)})
    cx, cy, r = 520, 80 + 2 * int(64 * 1.8) + 32, 150
    page = bgr(stamp_seal(im, cx, cy, r))
    gray, red, info = imaging.separate_red(page, 300)
    assert info["red_kept"] > 0 and info["red_dropped"] > 0
    masthead = gray[80:80 + 70, 80:700]
    assert (masthead < 128).sum() > 0.5 * (page[80:150, 80:700, 2].astype(int) - page[80:150, 80:700, 1] > 100).sum()
    # the seal's own strokes (away from black text) are paper now
    ring_top = gray[cy - r - 6:cy - r + 6, cx - 20:cx + 20]
    assert ring_top.min() > 150
    # the black date strokes under the seal survive
    date_black = cv2.cvtColor(bgr(render(["", "", "二〇二三年五月十日"], size=64, width=1200)), cv2.COLOR_BGR2GRAY) < 100
    assert (gray[date_black] < 110).mean() > 0.95


def test_orientation_projection_tells_horizontal_from_vertical():
    im = cv2.cvtColor(bgr(render(["会议传达学习总书记重要讲话精神"] * 8, size=40, width=1000)), cv2.COLOR_BGR2GRAY)
    assert orient.orientation_projection(im, 300)[0] == 0
    assert orient.orientation_projection(cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE), 300)[0] == 90


def test_rotate_quadrant_round_trip():
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for deg in (0, 90, 180, 270):
        back = imaging.rotate_quadrant(imaging.rotate_quadrant(a, deg), (360 - deg) % 360)
        assert np.array_equal(back, a)


def test_pdf_colour_channels_and_dark_scanner_border(tmp_path):
    path = tmp_path / "red.pdf"
    Image.new("RGB", (100, 100), (220, 20, 20)).save(path, resolution=72)
    img, _ = imaging.load_page_image(PageSource(1, str(path), kind="pdf"), dpi=72)
    assert img[50, 50].tolist() == pytest.approx([20, 20, 220], abs=3)    # BGR
    page = bgr(render(["会议强调要深入学习"], size=56, width=1000))
    page[:, :60] = 30                          # a dark scanner edge down the left side
    clean, info = imaging.prepare(page, 300, deskew=False)
    assert info["border"] > 0.01
    assert clean[:, :50].min() > 200           # border whitened
    assert (clean[:, 100:] < 100).sum() > 1000   # text kept


def test_sparse_components_are_opencvs_with_stats():
    """Labels and per-label statistics of a mostly empty mask, counted over
    its labelled pixels, equal OpenCV's own connectedComponentsWithStats."""
    rng = np.random.default_rng(7)
    mask = np.zeros((900, 700), np.uint8)
    for _ in range(40):
        x, y = int(rng.integers(0, 690)), int(rng.integers(0, 890))
        cv2.ellipse(mask, (x, y), (int(rng.integers(1, 30)), int(rng.integers(1, 30))),
                    float(rng.integers(0, 180)), 0, 360, 255, -1)
    mask[0, :5] = mask[-3:, -1] = 255                       # at the edges too
    n, labels, stats = imaging._sparse_components(mask)
    n2, labels2, stats2, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    assert n == n2 > 20 and np.array_equal(labels, labels2)
    assert np.array_equal(stats[1:], stats2[1:].astype(np.int64))
    assert imaging._sparse_components(np.zeros((50, 60), np.uint8))[0] == 1
