"""Real OCR on small generated pages (both engines), plus the text rules."""
import re

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline.read import engines, imaging, ingest, ocr, ppocr
from pipeline.evaluate import cer_parts
from pipeline.models import PageSource

from test_imaging import bgr, render, stamp_seal

LINES = ["省机关事务管理局召开会议", "会议强调要深入学习贯彻", "2021年5月28日"]


def cer(hyp: str, ref: str) -> float:
    dist, n = cer_parts(hyp, ref)      # the project's one CER (whitespace ignored)
    return dist / max(1, n)


def text_of(lines) -> str:
    return "\n".join(l.text for l in lines)


def save(tmp_path, im, name="page.png", dpi=300):
    path = tmp_path / name
    Image.fromarray(cv2.cvtColor(im, cv2.COLOR_BGR2RGB)).save(path, dpi=(dpi, dpi))
    return PageSource(page_no=1, path=str(path), index=0, kind="image", needs_ocr=True)


@pytest.fixture(scope="module")
def page():
    return bgr(render(LINES, size=60, width=1100))


# --------------------------------------------------------------------------
# engines


def test_engine_registry():
    avail = engines.available_engines()
    assert avail[0] == "rapidocr" and "tesseract" in avail
    eng = engines.get_engine("auto")
    assert eng.name == "rapidocr" and eng is engines.get_engine("rapidocr")
    assert isinstance(eng, engines.OcrEngine) and "rapidocr" in eng.version
    assert isinstance(engines.get_engine("tesseract"), engines.OcrEngine)
    with pytest.raises(ValueError):
        engines.get_engine("nope")


@pytest.mark.parametrize("name,bound", [("rapidocr", 0.05), ("tesseract", 0.15)])
def test_engine_reads_text(page, name, bound):
    eng = engines.get_engine(name)
    lines = eng.recognize(page)
    assert cer(text_of(lines), "".join(LINES)) <= bound, text_of(lines)
    assert [l.box[1] for l in lines] == sorted(l.box[1] for l in lines)   # reading order
    for l in lines:
        assert 0.0 <= l.confidence <= 1.0 and l.box[0] < l.box[2] and l.box[1] < l.box[3]
    if name == "tesseract":
        assert not re.search(r"[\u4e00-\u9fff] [\u4e00-\u9fff]", text_of(lines))


def test_openvino_detector_is_compiled_for_the_shape_it_meets(page):
    """The OpenVINO detector is compiled for one input shape at a time: the
    same page size reuses it, another size replaces it, and the text read is
    the onnxruntime backend's."""
    eng = engines.RapidOcrEngine(threads=1, backend="openvino")
    lines = eng.recognize(page)
    det = eng.engine.det.session
    assert isinstance(det, ppocr.OpenVinoSession) and det.static
    first, request = det.shape, det.request
    assert first[:2] == (1, 3) and first[2] % 32 == 0 and first[3] % 32 == 0
    assert text_of(eng.recognize(page)) == text_of(lines) and det.request is request
    wider = cv2.copyMakeBorder(page, 0, 0, 0, 400, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    assert text_of(eng.recognize(wider)) == text_of(lines)
    assert det.shape != first and det.request is not request
    ort = engines.RapidOcrEngine(threads=1, backend="onnxruntime")
    assert text_of(ort.recognize(page)) == text_of(lines)


def test_logits_sessions_decode_as_the_whole_models(page):
    """With the models' last sigmoid/softmax cut off (``logits=True``), the
    detector finds the same cells and the recogniser the same text with the
    same confidences (to rounding) as the whole models on OpenVINO."""
    cfg = {"INFERENCE_NUM_THREADS": 1}
    whole = [ppocr.OpenVinoSession(ppocr.model_path(t), cfg) for t in ("det", "rec")]
    cut = [ppocr.OpenVinoSession(ppocr.model_path(t), cfg, logits=True) for t in ("det", "rec")]
    assert not any(s.logits for s in whole) and all(s.logits for s in cut)
    ends = [s.model.get_results()[0].input_value(0).get_node().get_type_name() for s in whole + cut]
    assert ends[:2] == ["Sigmoid", "Softmax"] and not {"Sigmoid", "Softmax"} & set(ends[2:])
    h, w = page.shape[:2]
    tilted = cv2.warpAffine(page, cv2.getRotationMatrix2D((w / 2, h / 2), 3, 1.0), (w, h),
                            borderValue=(255, 255, 255))
    for img in (page, tilted):
        want = ppocr.Detector(whole[0], box_thresh=0.3)(img)
        got = ppocr.Detector(cut[0], box_thresh=0.3)(img)
        assert len(got) == len(want) >= 3 and all(np.array_equal(g, x) for g, x in zip(got, want))
        crops = [engines.rec_input(engines.crop_quad(img, q)) for q in got]
        ref, mine = ppocr.Recognizer(whole[1])(crops), ppocr.Recognizer(cut[1])(crops)
        assert [t for t, _ in mine] == [t for t, _ in ref]
        assert np.allclose([s for _, s in mine], [s for _, s in ref], atol=0.01)


def test_ppocr_cells_and_text_are_rapidocrs(page):
    """pipeline.read.ppocr runs the bundled PP-OCR models without rapidocr's
    wrapper: on the same backend (onnxruntime, rapidocr's default) its cells
    equal rapidocr's TextDetector's exactly, corner for corner and in the
    same order, and its text and confidences equal rapidocr's recogniser's
    - on a clean page, a tilted one (cells off the axes), a narrow strip
    (scaled up to the 736 px minimum side) and short lines (padded to 320).
    (Clean lines have no character-wide gaps, where this recogniser puts back
    punctuation rapidocr's would lose.)"""
    from rapidocr import RapidOCR
    rapid = RapidOCR(params={"Global.log_level": "error", "Det.box_thresh": 0.3, "Global.use_cls": False,
                             "Rec.rec_batch_num": 1})
    det = ppocr.Detector(ppocr.OrtSession(ppocr.model_path("det")), box_thresh=0.3)
    rec = ppocr.Recognizer(ppocr.OrtSession(ppocr.model_path("rec")))
    h, w = page.shape[:2]
    tilted = cv2.warpAffine(page, cv2.getRotationMatrix2D((w / 2, h / 2), 4, 1.0), (w, h),
                            borderValue=(255, 255, 255))
    strip = page[: h // 3]
    lines = 0
    for img in (page, tilted, strip):
        want = rapid._load_det_model()(img).boxes
        got = det(img)
        assert want is not None and len(got) == len(want) >= 1
        assert all(np.array_equal(g, w_) for g, w_ in zip(got, want))
        crops = [engines.rec_input(engines.crop_quad(img, q)) for q in got]
        crops += [c[:, : c.shape[1] // 4] for c in crops]           # narrower than 320 px
        ref = rapid.recognize_txt(crops)
        mine = rec(crops)
        assert [t for t, _ in mine] == list(ref.txts)
        assert np.allclose([s for _, s in mine], ref.scores, atol=1e-5)
        lines += len(crops)
    assert lines >= 12


def _ctc_scores(chars: str, classes: list[str], pitch: int = 6, weak: dict = None) -> np.ndarray:
    """Logits of a recogniser line: ``chars`` one per ``pitch`` columns ("_" a
    gap of one character), blank elsewhere; ``weak`` {column: class} scored
    just below blank there."""
    scores = np.full((pitch * len(chars) + 2, len(classes)), -5.0, dtype=np.float32)
    scores[:, 0] = 5.0
    for k, ch in enumerate(chars):
        if ch != "_":
            scores[k * pitch + 1, classes.index(ch)] = 9.0
    for col, ch in (weak or {}).items():
        scores[col, classes.index(ch)] = 4.0
    return scores


class _Logits:
    logits = True


def test_punctuation_lost_in_a_character_wide_gap_is_put_back():
    chars = list("县直各学校幼儿园局机关股室，、。了")
    rec = ppocr.Recognizer(_Logits(), characters=chars)
    classes = rec.characters
    gap = 7 * 6 + 1 + 3          # the middle of the gap after 园
    line = "县直各学校幼儿园_局机关股室"       # greedy decoding lost the ， after 园
    text, conf = rec.decode(_ctc_scores(line, classes, weak={gap: "，"}))
    assert text == "县直各学校幼儿园，局机关股室" and 0 < conf < 1
    # the strongest class in the gap is not a mark: nothing is invented
    assert rec.decode(_ctc_scores(line, classes, weak={gap: "了"}))[0] == "县直各学校幼儿园局机关股室"
    assert rec.decode(_ctc_scores(line, classes))[0] == "县直各学校幼儿园局机关股室"
    # a mark scored below blank between characters at their usual pitch stays out
    tight = _ctc_scores(line.replace("_", ""), classes, weak={7 * 6 + 4: "、"})
    assert rec.decode(tight)[0] == "县直各学校幼儿园局机关股室"
    # probabilities (a session without logits) decode alike
    probs = _ctc_scores(line, classes, weak={gap: "。"})
    probs = np.exp(probs) / np.exp(probs).sum(axis=1, keepdims=True)
    plain = ppocr.Recognizer(object(), characters=chars)
    assert plain.decode(probs)[0] == "县直各学校幼儿园。局机关股室"


def test_bullets_found_left_of_their_lines():
    """Solid blobs just left of a line become its bullet (● round, ■ square);
    a shape too far away or part of a larger one does not."""
    gray = np.full((700, 1400), 255, np.uint8)
    h, x0 = 40, 300
    lines = [engines.OcrLine(t, (x0, top, 1200, top + h), 0.95)
             for t, top in (("一是加强领导", 100), ("二是压实责任", 200), ("三是强化督查", 300),
                            ("四是完善制度", 400), ("五是注重实效", 500))]
    cv2.circle(gray, (x0 - 30, 120), 12, 0, -1)                    # ●
    cv2.rectangle(gray, (x0 - 40, 209), (x0 - 19, 230), 0, -1)     # ■ (22 px)
    gray[280:360, 100:x0 - 20] = 0                                 # a block of ink, not a bullet
    cv2.rectangle(gray, (x0 - 40, 405), (x0 - 19, 480), 0, -1)     # a bar crossing the line's strip
    cv2.circle(gray, (x0 - 160, 520), 12, 0, -1)                   # too far left of its line
    gray[200:240, 305:1190] = 0                                    # a line's own ink
    out = ocr.add_bullets(gray, lines)
    assert [l.text for l in out] == ["● 一是加强领导", "■ 二是压实责任", "三是强化督查",
                                     "四是完善制度", "五是注重实效"]
    assert out[0].box[0] == x0 - 42 and out[1].box[0] == x0 - 40      # widened to the bullet


def test_rec_input_scales_to_model_height_and_pads_with_paper():
    """Line crops reach the recogniser 48 px high, padded with their own
    paper colour to a multiple of REC_WIDTH_STEP (few input shapes)."""
    crop = np.full((70, 331, 3), (200, 220, 240), np.uint8)
    crop[20:50, 10:300] = 30                                   # the ink
    out = engines.rec_input(crop)
    assert out.shape[0] == engines.REC_HEIGHT
    assert out.shape[1] % engines.REC_WIDTH_STEP == 0
    width = int(np.ceil(engines.REC_HEIGHT * 331 / 70))        # 227: the scaled crop
    assert out.shape[1] == 256 and width < 256
    assert (out[:, width:] == (200, 220, 240)).all()           # paper, not grey
    assert out[:, :width].min() < 60                           # ink kept
    exact = np.full((48, 128, 3), 255, np.uint8)
    assert engines.rec_input(exact).shape == (48, 128, 3)      # already on a step: no padding


def test_read_page_fields_and_size_calibration(tmp_path, page):
    # 60 px glyphs at 300 dpi are 14.4 pt type
    src = save(tmp_path, page)
    pg = ocr.read_page(src, engine="rapidocr", image_dir=tmp_path / "img")
    assert pg.method == "rapidocr" and pg.engine_version and pg.dpi == 300
    h, w = page.shape[:2]
    assert pg.width == pytest.approx(w * 72 / 300, abs=0.1) and pg.height == pytest.approx(h * 72 / 300, abs=0.1)
    assert cer(text_of(pg.lines), "".join(LINES)) <= 0.05
    assert pg.lines[0].size == pytest.approx(14.4, abs=2.0)
    assert all(l.page_no == 1 and l.color == "black" for l in pg.lines)
    assert 0.8 < pg.confidence <= 1.0
    x0, top, x1, bottom = pg.lines[0].box
    assert 80 * 72 / 300 - 4 < x0 < 80 * 72 / 300 + 4          # left margin of 80 px
    assert pg.image_path and (tmp_path / "img").exists()
    small = Image.open(pg.image_path)
    assert small.format == "JPEG" and small.width == pytest.approx(w / 3, abs=2)
    assert pg.source == src.path and pg.rotation == 0


@pytest.mark.parametrize("turn,expected", [(cv2.ROTATE_90_CLOCKWISE, 90), (cv2.ROTATE_180, 180),
                                           (cv2.ROTATE_90_COUNTERCLOCKWISE, 270)])
def test_rotated_page_is_corrected(tmp_path, page, turn, expected):
    src = save(tmp_path, cv2.rotate(page, turn))
    pg = ocr.read_page(src, engine="rapidocr")
    assert pg.rotation == expected
    assert cer(text_of(pg.lines), "".join(LINES)) <= 0.08, text_of(pg.lines)


def test_skewed_page_is_deskewed_and_read(tmp_path):
    im = bgr(render(LINES + ["进一步坚定道路自信理论自信"], size=56, width=1200))
    h, w = im.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 3.0, 1.0)
    skewed = cv2.warpAffine(im, m, (w, h), borderValue=(255, 255, 255))
    pg = ocr.read_page(save(tmp_path, skewed), engine="rapidocr")
    assert abs(pg.skew + 3.0) < 0.5
    assert cer(text_of(pg.lines), "".join(LINES) + "进一步坚定道路自信理论自信") <= 0.05


def test_noisy_yellow_scan_still_reads(tmp_path, page):
    h, w = page.shape[:2]
    rng = np.random.default_rng(7)
    ramp = np.linspace(1.0, 0.75, h)[:, None, None]
    paper = np.array([165, 212, 232], np.float32)[None, None, :] * ramp
    noisy = paper * (page.astype(np.float32) / 255.0) + rng.normal(0, 10, page.shape)
    ys, xs = rng.integers(0, h, 300), rng.integers(0, w, 300)          # specks
    for y, x in zip(ys, xs):
        cv2.circle(noisy, (int(x), int(y)), int(rng.integers(1, 3)), (60, 60, 60), -1)
    noisy = np.clip(noisy, 0, 255).astype(np.uint8)
    ok, jpg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 40])
    noisy = cv2.imdecode(jpg, cv2.IMREAD_COLOR)
    pg = ocr.read_page(save(tmp_path, noisy), engine="rapidocr")
    assert cer(text_of(pg.lines), "".join(LINES)) <= 0.1, text_of(pg.lines)


def test_red_seal_over_date_and_red_masthead(tmp_path):
    lines = ["云溪县教育局简报", "县教育局办公室", "2023年5月10日"]
    im = render(lines, size=64, width=1100, colours={0: (215, 25, 30)})
    step = int(64 * 1.8)
    im = stamp_seal(im, 420, 80 + 2 * step + 30, 140)
    pg = ocr.read_page(save(tmp_path, bgr(im)), engine="rapidocr")
    texts = [l.text for l in pg.lines]
    assert any("2023年5月10日" in t.replace(" ", "") for t in texts), texts
    head = [l for l in pg.lines if "简报" in l.text]
    assert head and head[0].color == "red"
    assert cer(head[0].text, lines[0]) <= 0.15
    date = [l for l in pg.lines if "2023" in l.text][0]
    assert date.color == "black"


def test_tesseract_read_page(tmp_path, page):
    pg = ocr.read_page(save(tmp_path, page, dpi=200), engine="tesseract")
    assert pg.method == "tesseract" and pg.dpi == 200 and "tesseract" in pg.engine_version
    assert cer(text_of(pg.lines), "".join(LINES)) <= 0.15
    # boxes come back in the page's own pixels -> points at 200 dpi
    assert max(l.box[2] for l in pg.lines) <= page.shape[1] * 72 / 200 + 1


# --------------------------------------------------------------------------
# text rules


@pytest.mark.parametrize("raw,want", [
    ("会议强调,要深入学习", "会议强调，要深入学习"),
    ("编者按:今年8月15日", "编者按：今年8月15日"),
    ("上午9:30召开", "上午9:30召开"),
    ("各县(市、区）", "各县（市、区）"),
    ("(共印60份)", "（共印60份）"),
    ("见附件 (1) and (a)", "见附件 (1) and (a)"),
    ('推进"十四五"规划', "推进“十四五”规划"),
    ("下降 2.62%、人均", "下降 2.62%、人均"),
    ("增长5。6%", "增长5.6%"),
    ("－ 2 －", "— 2 —"),
    ("一 12 一", "— 12 —"),
    ("--记全国劳动模范", "——记全国劳动模范"),
    ("—一记全国劳动模范", "——记全国劳动模范"),
    ("一一对应", "一一对应"),
    ("食品留样·从业人员", "食品留样、从业人员"),
    ("监督丶定点服务", "监督、定点服务"),
    ("·情况，共发现", "情况，共发现"),
    ("基础托管+特色课程", "基础托管＋特色课程"),
    ("ＧＤＰ增长１２％", "GDP增长12%"),
    ("省 机 关 事 务", "省机关事务"),
    ("Wi-Fi 覆盖", "Wi-Fi 覆盖"),
    ("的标准<红旗>七月份", "的标准〈红旗〉七月份"),
    ("读<<人民日报>>社论", "读《人民日报》社论"),
    ("如果a<b，则c>d", "如果a<b，则c>d"),
    ("x<5 and y>3", "x<5 and y>3"),
    ("左派。一完一<抄于清华>", "左派。—完—〈抄于清华〉"),
    ("统一完一个", "统一完一个"),
])
def test_normalize_text(raw, want):
    assert engines.normalize_text(raw) == want


def test_group_lines_merges_row_left_to_right():
    parts = [engines.OcrLine("第 4 期", (520, 102, 700, 160), 0.9),
             engines.OcrLine("2021 年", (300, 100, 500, 158), 0.99),
             engines.OcrLine("下一行", (300, 200, 480, 258), 0.95),
             engines.OcrLine("远处", (1600, 101, 1700, 159), 0.95)]
    out = engines.group_lines(parts)
    assert [l.text for l in out] == ["2021 年第 4 期", "远处", "下一行"]
    assert out[0].box == (300, 100, 700, 160)


def test_scan_in_pdf_cleaned_at_its_dpi_and_read_at_300(tmp_path):
    """A 200 dpi scan inside a PDF is rendered and cleaned at 200 dpi, then
    scaled up and read as a 300 dpi page: same page size in points, the text
    read; the same scan as an image file keeps its own 200 dpi."""
    scan = render(LINES, size=40, width=1100)             # 40 px glyphs at 200 dpi: 14.4 pt
    pdf, png = tmp_path / "scan.pdf", tmp_path / "scan.png"
    scan.save(pdf, resolution=200)
    scan.save(png, dpi=(200, 200))
    src = ingest.pdf_pages(pdf)[0]
    assert src.scan_dpi == 200 and imaging.load_page(src, dpi=300)[1] == 200
    page = ocr.read_page(src, engine="rapidocr", dpi=300)
    assert page.dpi == 300
    assert abs(page.width - 1100 * 72 / 200) < 1 and abs(page.height - scan.height * 72 / 200) < 1
    got = "".join(l.text for l in page.lines).replace(" ", "")
    d, n = cer_parts(got, "".join(LINES))
    assert d / n < 0.05
    assert all(13 <= l.size <= 16 for l in page.lines)
    assert ocr.read_page(PageSource(1, str(png), kind="image"), engine="rapidocr").dpi == 200


def test_pitch_sizes_keep_a_bold_headline_one_size():
    """A long OCR line is sized by its character pitch; its box height only
    caps it where the pitch is well above what the box says (a gap inside the
    line). The two lines of a wrapped 20 pt headline, whose bold glyphs fill
    a box 0.86 of the pitch, both come out 20 pt; a body line keeps its 16 pt;
    a line whose pitch is doubled by a gap is sized by its box."""
    from pipeline.models import Line
    body = "为加强对全省公务用车管理工作的指导，进一步提升公务出"     # 26 characters
    lines = [Line("省机关事务管理局", (222.6, 215.2, 382.6, 235.2), 8, 20.0),
             Line("启动公务用车管理专项领域示范点建设", (134.2, 247.8, 472.5, 265.0), 8, 17.2),
             Line(body, (78.4, 286.8, 78.4 + 26 * 16.0, 302.8), 8, 15.8),
             Line(body, (78.4, 315.2, 78.4 + 26 * 16.0, 331.2), 8, 15.8),
             Line("云溪县教育局2023年3月15日", (78.4, 400.0, 526.0, 416.0), 8, 15.8)]
    sizes = [l.size for l in ocr.pitch_sizes(lines)]
    assert sizes[0] == pytest.approx(20.0, abs=0.1) and sizes[1] == pytest.approx(19.9, abs=0.1)
    assert sizes[2] == sizes[3] == pytest.approx(16.0, abs=0.1)
    assert sizes[4] == pytest.approx(16.0, abs=0.1)             # the box's 16 pt
    # a wrapped 22 pt headline whose box is 1.22x short of its pitch: its ink
    # height agrees with the pitch, so the second line is not cut down to 18 pt
    body = "北山县针对山高坡陡、人口分散的实际，建立"       # 20 characters
    lines = [Line("北山县“三个一”机制", (203.0, 220.0, 396.6, 246.3), 3, 24.3),
             Line("筑牢山区防汛安全防线", (188.0, 255.0, 410.6, 280.3), 3, 24.0)]
    lines += [Line(body, (78.0, 300.0 + 30 * k, 78.0 + 20 * 16.3, 322.6 + 30 * k), 3, 20.1) for k in range(4)]
    lines.append(Line("云溪县教育局2023年3月15日", (78.4, 450.0, 526.0, 472.6), 3, 20.1))
    sizes = [l.size for l in ocr.pitch_sizes(lines)]
    assert sizes[0] == pytest.approx(21.5, abs=0.1) and sizes[1] == pytest.approx(22.3, abs=0.1)
    assert sizes[2] == pytest.approx(16.3, abs=0.1) and sizes[6] < 17.5
