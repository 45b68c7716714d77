"""OCR of scanned pages behind a narrow engine interface.

An engine (in the spirit of OCRmyPDF's plugins) is anything with ``name``,
``version`` and ``recognize(image) -> list[OcrLine]``; boxes are pixel
``(x0, top, x1, bottom)`` in the image given.  Two engines ship:

* ``RapidOcrEngine`` - rapidocr 3.x with its bundled default models (PP-OCR
  det/rec, onnxruntime), text-direction classifier off (with it on, upright
  lines were sometimes read upside down; page orientation is fixed by
  :func:`pipeline.imaging.prepare` instead);
* ``TesseractEngine`` - tesseract ``chi_sim`` via pytesseract, ``--psm 6``.

``read_page`` runs load -> prepare -> recognize and builds a
:class:`~pipeline.models.Page` in reading order with boxes in points.  It
reads a page as it comes first and looks for a quarter turn only when the
result looks wrong (few or low-confidence lines) or the projection profile
says the lines run vertically, so upright pages pay nothing for orientation.

Measured on the dev corpus (all 22 pages of each condition), page CER with
whitespace ignored: rapidocr mild 0.07%, hard 1.2%; tesseract mild 3.7%,
hard ~10-12%.  ``bench/dev_cer.py`` reproduces this.
"""
from __future__ import annotations

import functools
import os
import re
import statistics
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Protocol, runtime_checkable

import cv2
import numpy as np

from . import imaging
from .models import Line, Page, PageSource

# Font size of an OCR line = height of its ink x INK_TO_EM (Han glyphs fill
# ~0.9 em); calibrated against the dev text layers (16 pt body -> ~16).
# Detector box heights vary with blur and resolution (0.65-1.0 x size), so
# they are only the fallback, scaled by SIZE_FACTOR.
INK_TO_EM = 1.1
SIZE_FACTOR = {"rapidocr": 0.95, "tesseract": 0.75}


@dataclass
class OcrLine:
    text: str
    box: tuple[float, float, float, float]   # x0, top, x1, bottom in pixels
    confidence: float = 1.0                  # 0..1


@runtime_checkable
class OcrEngine(Protocol):
    name: str
    version: str

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        ...


# --------------------------------------------------------------------------
# Text post-processing shared by the engines

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_PUNCT = "，。：；（）“”‘’、！？《》〈〉【】—…·「」『』〔〕"
_CJK = _HAN + re.escape(_CJK_PUNCT)
_HAN_RE = re.compile(f"[{_HAN}]")
_DASHES = "-－—―─‒–一ー"

_FULLWIDTH_ASCII = {chr(c): chr(c - 0xFEE0) for c in range(0xFF10, 0xFF1A)}        # ０-９
_FULLWIDTH_ASCII.update({chr(c): chr(c - 0xFEE0) for c in range(0xFF21, 0xFF3B)})   # Ａ-Ｚ
_FULLWIDTH_ASCII.update({chr(c): chr(c - 0xFEE0) for c in range(0xFF41, 0xFF5B)})   # ａ-ｚ
_FULLWIDTH_ASCII.update({"％": "%", "．": "."})
_FW_TABLE = str.maketrans(_FULLWIDTH_ASCII)
_TO_FULL = {",": "，", ":": "：", ";": "；", "(": "（", ")": "）", "!": "！", "?": "？"}


def _is_han(ch: str) -> bool:
    return bool(ch) and bool(_HAN_RE.match(ch))


def _is_cjkish(ch: str) -> bool:
    return bool(ch) and (_is_han(ch) or ch in _CJK_PUNCT)


def remove_han_spaces(text: str) -> str:
    """Drop spaces between two CJK characters (Han or full-width punctuation)."""
    return re.sub(f"(?<=[{_CJK}]) +(?=[{_CJK}])", "", text)


def normalize_text(text: str) -> str:
    """Normalise OCR punctuation by context.

    * full-width digits/Latin -> ASCII; digits, Latin, decimals (5.6, 2.62%)
      stay as printed;
    * ASCII , : ; ! ? next to Han -> full-width (not 9:30, 1,200); ``"``
      pairs -> “ ”; 丶 -> 、; · between Han -> 、; ``.`` after Han -> 。;
      ``+`` between Han -> ＋; brackets: see ``_fix_brackets``;
    * a leading · . 。 ， 、 (a speck: Chinese lines never start with closing
      punctuation) is dropped, spaces between Han removed;
    * dashes: page numbers ``- 2 -`` / ``一 2 一`` -> ``— 2 —``; a leading run
      of two or more dash-likes (subtitle) -> ``——`` (``一一`` stays a word).
    """
    if not text:
        return text
    t = text.translate(_FW_TABLE)
    t = t.replace("丶", "、").replace("\u3000", " ")
    t = re.sub(r"\s+", " ", t).strip()
    # page number line
    m = re.fullmatch(f"[{_DASHES}~]+ ?(\\d{{1,3}}) ?[{_DASHES}~]+", t)
    if m:
        return f"— {m.group(1)} —"
    # subtitle dash run at the start / ASCII double hyphen anywhere
    # ("一一" stays: 一一对应 / 一一落实 are words, and both recognisers print
    # a real dash as —)
    t = re.sub(f"^(?=[{_DASHES}]*[^一{_HAN}])[{_DASHES}]{{2,}} ?(?=[{_HAN}])", "——", t)
    t = re.sub(r"(?<![-\w])-{2,}|[—―─]{2,}", "——", t)
    t = re.sub(r"(?<=[\u4e00-\u9fff])—(?=[\u4e00-\u9fff（“])", "——", t) if "——" not in t else t
    # decimal points mangled: 5。6 / 5. 6 -> 5.6
    t = re.sub(r"(?<=\d)[。，·] ?(?=\d)", lambda mm: "." if mm.group(0)[0] != "，" else "，", t)
    t = re.sub(r"(?<=\d)\. (?=\d)", ".", t)
    # ASCII punctuation in Chinese context -> full width
    chars = list(t)
    n = len(chars)

    def neighbour(i: int, step: int) -> str:
        j = i + step
        while 0 <= j < n and chars[j] == " ":
            j += step
        return chars[j] if 0 <= j < n else ""

    for i, ch in enumerate(chars):
        if ch in _TO_FULL:
            left, right = neighbour(i, -1), neighbour(i, 1)
            if ch == ":" and left.isdigit() and right.isdigit():
                continue                       # 9:30
            if ch == "," and left.isdigit() and right.isdigit():
                continue                       # 1,200 thousands separator
            if ch in "()":
                continue                       # see the bracket pass below
            if _is_cjkish(left) or _is_han(right):
                chars[i] = _TO_FULL[ch]
        elif ch == "." and _is_han(neighbour(i, -1)) and not neighbour(i, 1).isdigit():
            chars[i] = "。"
    t = "".join(chars)
    # brackets: a pair holding or touching Han is full width (the recognisers
    # mix ( and （ at random; bulletins print （）), as is an unpaired ASCII
    # bracket next to Han; (1) / (a) between non-Han stay ASCII.
    t = _fix_brackets(t)
    # ASCII double quotes in Chinese text -> “ ”
    if '"' in t and _HAN_RE.search(t):
        out, open_q = [], True
        for ch in t:
            if ch == '"':
                out.append("“" if open_q else "”")
                open_q = not open_q
            else:
                out.append(ch)
        t = "".join(out)
    # specks read as dots inside dates and issue numbers: 2023年.8.月 / 第.2·期
    t = re.sub(r"(?<=[年第月总]) ?[.·•]+ ?(?=\d)", "", t)
    t = re.sub(r"(?<=\d) ?[.·•]+ ?(?=[年月日期号份])", "", t)
    t = re.sub(r"(?<=\d年)。[.·•]*(?=\d{1,2}月)", "", t)
    # '+' between Han is the full-width plus of the text (基础托管＋特色课程)
    t = re.sub(f"(?<=[{_HAN}”）]) ?\\+ ?(?=[{_HAN}“（])", "＋", t)
    # 、 misread as a middle dot between two Han characters
    t = re.sub(f"(?<=[{_HAN}])[·•](?=[{_HAN}])", "、", t)
    # closing punctuation never starts a line (Chinese line-breaking rules):
    # a leading dot / stop is a speck of dirt
    t = re.sub(r"^[·•.。，、：；]+ ?(?=\S)", "", t)
    # stray specks read as dots after a stop
    t = re.sub(r"(?<=[。！？；，”])[.·•]+$", "", t)
    t = remove_han_spaces(t)
    # no space before/after full-width punctuation
    t = re.sub(r" +(?=[，。：；、！？）”])", "", t)
    t = re.sub(r"(?<=[（“：，。；、]) +", "", t)
    return t


def _fix_brackets(t: str) -> str:
    chars = list(t)
    stack: list[int] = []
    pairs: dict[int, int] = {}
    for i, ch in enumerate(chars):
        if ch in "(（":
            stack.append(i)
        elif ch in ")）":
            if stack:
                pairs[stack.pop()] = i
    matched = set(pairs) | set(pairs.values())
    for o, c in pairs.items():
        mixed = (chars[o] == "（") != (chars[c] == "）")
        inner_han = any(_is_han(ch) for ch in chars[o + 1:c])
        outer_han = (o > 0 and _is_han(chars[o - 1])) or (c + 1 < len(chars) and _is_han(chars[c + 1]))
        if mixed or inner_han or outer_han:
            chars[o], chars[c] = "（", "）"
    for i, ch in enumerate(chars):
        if i in matched or ch not in "()":
            continue
        left = chars[i - 1] if i else ""
        right = chars[i + 1] if i + 1 < len(chars) else ""
        if _is_cjkish(left) or _is_cjkish(right):
            chars[i] = "（" if ch == "(" else "）"
    return "".join(chars)


# --------------------------------------------------------------------------
# Grouping detector boxes into lines


def group_lines(items: list[OcrLine], join_gap: float = 2.5) -> list[OcrLine]:
    """Merge boxes on one text row left to right; return lines in reading order.

    Boxes whose vertical extents overlap by more than half the smaller height
    are one row.  Within a row, neighbours closer than ``join_gap`` x the row
    height are merged into one line (a space is kept where the gap is wider
    than ~0.4 height); farther pieces stay separate lines of the same row.
    """
    items = [it for it in items if it.text and it.text.strip()]
    if not items:
        return []
    items.sort(key=lambda it: ((it.box[1] + it.box[3]) / 2, it.box[0]))
    rows: list[list[OcrLine]] = []
    for it in items:
        placed = False
        for row in reversed(rows[-3:]):
            top = statistics.median(r.box[1] for r in row)
            bot = statistics.median(r.box[3] for r in row)
            ov = min(bot, it.box[3]) - max(top, it.box[1])
            hmin = min(bot - top, it.box[3] - it.box[1])
            if hmin > 0 and ov > 0.5 * hmin:
                row.append(it)
                placed = True
                break
        if not placed:
            rows.append([it])
    out: list[OcrLine] = []
    for row in rows:
        row.sort(key=lambda it: it.box[0])
        h = statistics.median(r.box[3] - r.box[1] for r in row)
        cur = [row[0]]
        for it in row[1:]:
            gap = it.box[0] - cur[-1].box[2]
            if gap <= join_gap * h:
                cur.append(it)
            else:
                out.append(_merge(cur, h))
                cur = [it]
        out.append(_merge(cur, h))
    # reading order: by row centre, then x (rows were built in y order)
    return out


def _merge(parts: list[OcrLine], h: float) -> OcrLine:
    """Detector boxes of one row: a space where the gap is wide (narrower
    between Latin/digits than between Han characters)."""
    if len(parts) == 1:
        return parts[0]
    return _joined(parts, lambda gap, cjk: gap > 0.4 * h or (gap > 0.15 * h and not cjk))


def _joined(parts: list[OcrLine], space) -> OcrLine:
    """One line from pieces in reading order; ``space(gap, both_cjk)`` decides
    whether a gap is a space. Confidence is the character-weighted mean."""
    text = parts[0].text
    for prev, it in zip(parts, parts[1:]):
        gap = it.box[0] - prev.box[2]
        cjk = _is_cjkish(text[-1:]) and _is_cjkish(it.text[:1])
        text += (" " if space(gap, cjk) else "") + it.text
    n = sum(len(p.text) for p in parts) or 1
    conf = sum(p.confidence * len(p.text) for p in parts) / n
    box = (min(p.box[0] for p in parts), min(p.box[1] for p in parts),
           max(p.box[2] for p in parts), max(p.box[3] for p in parts))
    return OcrLine(text, box, conf)


# --------------------------------------------------------------------------
# Engines


def _rapidocr_version() -> str:
    try:
        from importlib.metadata import version
        return version("rapidocr")
    except Exception:
        return "unknown"


class RapidOcrEngine:
    """rapidocr 3.x, default bundled models, direction classifier off."""

    name = "rapidocr"
    denoise = False          # speck removal measured to cost accuracy here
    min_dpi = 0

    def __init__(self, threads: Optional[int] = None, det_side: int = 2000,
                 text_score: float = 0.5, box_thresh: float = 0.3, pad: float = 0.3):
        from rapidocr import RapidOCR  # noqa: F401  (import error -> engine unavailable)
        if threads is None:
            # BULLETIN_OCR_THREADS wins; a pool worker process (one engine per
            # process) uses one thread so workers do not oversubscribe cores
            env = os.environ.get("BULLETIN_OCR_THREADS", "")
            if env.isdigit() and int(env) > 0:
                threads = int(env)
            else:
                import multiprocessing
                threads = 1 if multiprocessing.parent_process() is not None else None
        self.threads = threads
        self.det_side = det_side
        self.box_thresh = box_thresh
        self.pad = pad
        self.text_score = text_score
        self.version = f"rapidocr {_rapidocr_version()} PP-OCR default det/rec"
        self._eng = None
        self._lock = threading.Lock()

    @property
    def engine(self):
        if self._eng is None:
            with self._lock:
                if self._eng is None:
                    from rapidocr import RapidOCR
                    params = {
                        "Global.use_cls": False,
                        "Global.log_level": "error",
                        "Global.max_side_len": max(2000, self.det_side),
                        "Global.text_score": self.text_score,
                        "Det.box_thresh": self.box_thresh,
                    }
                    if self.threads:
                        params["EngineConfig.onnxruntime.intra_op_num_threads"] = int(self.threads)
                        params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
                    self._eng = RapidOCR(params=params)
        return self._eng

    def _raw(self, image: np.ndarray) -> list[OcrLine]:
        """Detect on a copy at most ``det_side`` px long, recognise crops cut
        from the full-resolution image (detection does not need 300 dpi,
        recognition of blurred 200 dpi scans gains from every pixel)."""
        from rapidocr.utils.process_img import get_rotate_crop_image
        h, w = image.shape[:2]
        f = min(1.0, self.det_side / float(max(h, w)))
        small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else image
        det = self.engine(small, use_det=True, use_cls=False, use_rec=False)
        quads = getattr(det, "boxes", None)
        if quads is None or len(quads) == 0:
            return []
        crops, boxes = [], []
        for quad in quads:
            q = np.asarray(quad, dtype=np.float32) / f
            box = (float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max()))
            if self.pad:
                # widen the box along its baseline: end punctuation (。，、)
                # and the colon of 报： sit at the cell's edge and get clipped
                hgt = float(np.linalg.norm(q[3] - q[0]))
                vec = q[1] - q[0]
                vec = vec / max(1e-6, float(np.linalg.norm(vec))) * hgt * self.pad
                q[0] -= vec; q[3] -= vec; q[1] += vec; q[2] += vec
            q[:, 0] = np.clip(q[:, 0], 0, w - 1)
            q[:, 1] = np.clip(q[:, 1], 0, h - 1)
            crop = get_rotate_crop_image(image, q.copy())
            if crop.size == 0 or min(crop.shape[:2]) < 2:
                continue
            crops.append(crop)
            boxes.append(tuple(min(max(v, 0.0), lim) for v, lim in zip(box, (w, h, w, h))))
        if not crops:
            return []
        rec = self.engine.recognize_txt(crops)
        out = []
        for box, txt, score in zip(boxes, rec.txts or (), rec.scores or ()):
            if not str(txt).strip() or float(score) < self.text_score:
                continue
            out.append(OcrLine(str(txt), box, float(score)))
        return out

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        image = _as_bgr(image)
        lines = group_lines(self._raw(image))
        for ln in lines:
            ln.text = normalize_text(ln.text)
        return [ln for ln in lines if ln.text]

    # --- helpers for orientation detection
    def detect_boxes(self, image: np.ndarray) -> list[tuple[float, float, float, float]]:
        res = self.engine(_as_bgr(image), use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(res, "boxes", None)
        if boxes is None:
            return []
        out = []
        for q in boxes:
            q = np.asarray(q, dtype=float)
            out.append((float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max())))
        return out

    def rec_scores(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        if not crops:
            return []
        res = self.engine.recognize_txt([_as_bgr(c) for c in crops])
        return list(zip(res.txts or (), res.scores or ()))


class TesseractEngine:
    """tesseract chi_sim via pytesseract image_to_data, psm 6, one thread."""

    name = "tesseract"
    denoise = False          # speck removal measured to cost accuracy (nibbles strokes)
    min_dpi = 300            # chi_sim is trained on ~300 dpi text: upscale lower scans

    def __init__(self, lang: str = "chi_sim", psm: int = 6, threads: int = 1):
        import pytesseract
        os.environ["OMP_THREAD_LIMIT"] = "1"
        self._pt = pytesseract
        self.lang = lang
        self.psm = psm
        try:
            v = str(pytesseract.get_tesseract_version())
        except Exception as exc:  # binary missing
            raise ImportError(f"tesseract not available: {exc}") from exc
        if lang not in pytesseract.get_languages(config=""):
            raise ImportError(f"tesseract language {lang} not installed")
        self.version = f"tesseract {v} {lang} psm {psm}"

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        data = self._pt.image_to_data(
            gray, lang=self.lang,
            config=f"--psm {self.psm} -c preserve_interword_spaces=1",
            output_type=self._pt.Output.DICT)
        groups: dict[tuple, list[OcrLine]] = {}
        order: list[tuple] = []
        for i, word in enumerate(data["text"]):
            word = (word or "").strip()
            conf = float(data["conf"][i])
            if not word or conf < 0:
                continue
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            if key not in groups:
                groups[key] = []
                order.append(key)
            x, y, w, h = data["left"][i], data["top"][i], data["width"][i], data["height"][i]
            groups[key].append(OcrLine(word, (float(x), float(y), float(x + w), float(y + h)),
                                       max(0.0, min(1.0, conf / 100.0))))
        raw: list[OcrLine] = []
        for key in order:
            words = sorted(groups[key], key=lambda it: it.box[0])
            words = _trim_edge_junk(words)
            if not words:
                continue
            hs = sorted(w.box[3] - w.box[1] for w in words)
            h = max(hs[len(hs) // 2], 1.0)
            # split at wide gaps: specks in the margins join tesseract's lines
            piece = [words[0]]
            for wd in words[1:]:
                if wd.box[0] - piece[-1].box[2] > 2.5 * h:
                    raw.append(_merge_words(piece, h))
                    piece = [wd]
                else:
                    piece.append(wd)
            raw.append(_merge_words(piece, h))
        # psm 6 keeps the page's line order; still regroup so pieces of one
        # printed row (rare with psm 6) are merged and order is top-down.
        lines = group_lines(raw)
        for ln in lines:
            ln.text = normalize_text(ln.text)
        return [ln for ln in lines if ln.text and _has_content(ln)]


_JUNK = set("“”‘’\"'，,。.、：:；;·-—_~`|<>")


def _trim_edge_junk(words: list[OcrLine]) -> list[OcrLine]:
    """Drop low-confidence punctuation-only words at either end of a line
    (specks and rule fragments read as quotes and commas)."""
    def junk(w: OcrLine) -> bool:
        return w.confidence < 0.6 and all(ch in _JUNK for ch in w.text)
    while words and junk(words[0]):
        words = words[1:]
    while words and junk(words[-1]) and not (len(words) > 1 and words[-1].text in "。，、；：" and words[-1].confidence >= 0.3):
        words = words[:-1]
    return words


def _has_content(ln: OcrLine) -> bool:
    # tesseract reads speckles/rules as isolated symbols with low confidence
    t = ln.text.strip()
    if len(t) <= 2 and ln.confidence < 0.5 and not any(_is_han(ch) for ch in t):
        return False
    if len(t) <= 3 and ln.confidence < 0.35:
        return False
    return True


def _merge_words(words: list[OcrLine], h: float) -> OcrLine:
    """Tesseract words of one line: Han characters close up unless far apart."""
    return _joined(words, lambda gap, cjk: gap > 0.6 * h if cjk else gap > 0.2 * h)


def _as_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


# --------------------------------------------------------------------------
# Engine registry

_ENGINES = {"rapidocr": RapidOcrEngine, "tesseract": TesseractEngine}
_CACHE: dict[tuple, OcrEngine] = {}


@functools.lru_cache(maxsize=1)
def _available() -> tuple[str, ...]:
    return tuple(_probe_engines())


def available_engines() -> list[str]:
    """Engines that can run here, strongest first (probed once per process)."""
    return list(_available())


def _probe_engines() -> list[str]:
    out = []
    try:
        import rapidocr  # noqa: F401
        import onnxruntime  # noqa: F401
        out.append("rapidocr")
    except ImportError:
        pass
    try:
        TesseractEngine()
        out.append("tesseract")
    except Exception:
        pass
    return out


def get_engine(name: str = "auto", **kwargs) -> OcrEngine:
    """'rapidocr' | 'tesseract' | 'auto' (strongest available). Instances are cached."""
    name = (name or "auto").lower()
    if name == "auto":
        avail = available_engines()
        if not avail:
            raise RuntimeError("no OCR engine available (install rapidocr or tesseract chi_sim)")
        name = avail[0]
    if name not in _ENGINES:
        raise ValueError(f"unknown OCR engine {name!r}; choose from {sorted(_ENGINES)} or 'auto'")
    key = (name, tuple(sorted(kwargs.items())))
    if key not in _CACHE:
        _CACHE[key] = _ENGINES[name](**kwargs)
    return _CACHE[key]


# --------------------------------------------------------------------------
# Orientation with the rapidocr models (used by imaging.prepare)


def rapidocr_orientation(gray: np.ndarray, dpi: int) -> Optional[int]:
    """Counter-clockwise quarter turns (degrees) that make ``gray`` upright.

    Detector boxes tell horizontal from vertical lines (on a page turned by
    90 deg, lines become tall boxes); recognition confidence of the widest
    lines read both ways tells up from down.  None when nothing was detected.
    """
    # reuse a rapidocr engine this process already holds (e.g. a worker's
    # one-thread engine) rather than loading a second copy of the models
    eng = next((e for e in _CACHE.values() if isinstance(e, RapidOcrEngine)), None)
    if eng is None:
        try:
            eng = get_engine("rapidocr")
        except Exception:
            return None
    h, w = gray.shape[:2]
    f = min(1.0, 1280.0 / max(h, w))
    small = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else gray
    boxes = eng.detect_boxes(small)
    if not boxes:
        return None
    tall = sum(1 for b in boxes if (b[3] - b[1]) > 1.5 * (b[2] - b[0]))
    wide = sum(1 for b in boxes if (b[2] - b[0]) > 1.5 * (b[3] - b[1]))
    base = 90 if tall > wide else 0
    # sample crops from the full-resolution page
    img = imaging.rotate_quadrant(gray, base)
    if base:
        sh, sw = small.shape[:2]
        # boxes rotate with the page (counter-clockwise 90): (x, y) -> (y, W - x)
        boxes = [(b[1], sw - b[2], b[3], sw - b[0]) for b in boxes]
    boxes = [b for b in boxes if (b[2] - b[0]) > 2.0 * (b[3] - b[1])]
    boxes.sort(key=lambda b: -(b[2] - b[0]))
    crops = []
    for b in boxes[:8]:
        x0, y0, x1, y1 = (int(round(v / f)) for v in b)
        c = img[max(0, y0):y1, max(0, x0):x1]
        if c.size and c.shape[0] >= 8:
            crops.append(c)
    if not crops:
        return base
    up = eng.rec_scores(crops)
    down = eng.rec_scores([cv2.rotate(c, cv2.ROTATE_180) for c in crops])
    s_up = sum(s * max(1, len(t)) for t, s in up) / max(1, sum(max(1, len(t)) for t, _ in up))
    s_dn = sum(s * max(1, len(t)) for t, s in down) / max(1, sum(max(1, len(t)) for t, _ in down))
    return base if s_up >= s_dn else (base + 180) % 360


# --------------------------------------------------------------------------
# Bullets and missed lines

BULLETS = "●◆■▲★"


def add_bullets(gray: np.ndarray, lines: list[OcrLine]) -> list[OcrLine]:
    """Put back list bullets (● ◆ ■) that detectors skip.

    A bullet is a solid blob about half a line high, vertically centred on a
    line and just left of it, outside every recognised box.  Its shape (fill
    of its bounding box) tells ● (~0.79) from ■ (~1) and ◆ (~0.5).
    """
    if not lines:
        return lines
    hs = sorted(l.box[3] - l.box[1] for l in lines)
    line_h = hs[len(hs) // 2]
    if line_h < 6:
        return lines
    ink = (gray < 128).astype(np.uint8)
    n, labels, stats, cents = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return lines
    cand = []
    for lab in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[lab])
        if not (0.3 * line_h <= h <= 0.9 * line_h and 0.3 * line_h <= w <= 0.9 * line_h):
            continue
        if not 0.75 <= w / float(h) <= 1.33:
            continue
        fill = area / float(w * h)
        if fill < 0.42:
            continue
        comp = (labels[y:y + h, x:x + w] == lab).astype(np.uint8)
        cnts, _ = cv2.findContours(comp, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        hull = cv2.convexHull(max(cnts, key=cv2.contourArea))
        solidity = area / max(1.0, cv2.contourArea(hull))
        if solidity < 0.9:
            continue
        sym = "■" if fill > 0.9 else ("●" if fill > 0.66 else "◆")
        cand.append((x, y, x + w, y + h, sym))
    if not cand:
        return lines
    out = []
    for ln in lines:
        x0, top, x1, bottom = ln.box
        if ln.text[:1] in BULLETS:
            ln.text = ln.text[0] + " " + ln.text[1:].lstrip()
            out.append(ln)
            continue
        hit = None
        for c in cand:
            cx0, cy0, cx1, cy1, sym = c
            cy = (cy0 + cy1) / 2
            if top <= cy <= bottom and (cx0 + cx1) / 2 <= x0 + 0.25 * line_h \
                    and cx1 < x0 + 0.8 * line_h and x0 - cx1 < 2.5 * line_h:
                if hit is None or c[2] > hit[2]:
                    hit = c
        if hit is not None:
            cand.remove(hit)
            text = ln.text
            if text[:1] in "·•.。○O0" and len(text) > 1:   # the part of the bullet that was read
                text = text[1:].lstrip()
            ln = OcrLine(f"{hit[4]} {text}", (float(hit[0]), min(top, float(hit[1])), x1,
                                                 max(bottom, float(hit[3]))), ln.confidence)
        out.append(ln)
    return out


# --------------------------------------------------------------------------
# The page reader


def read_page(source: PageSource, engine="auto", dpi: int = 300,
              image_dir: Optional[Path] = None) -> Page:
    """OCR one page: load -> prepare -> recognize -> ``models.Page`` in points."""
    eng = engine if not isinstance(engine, str) else get_engine(engine)
    image, dpi_used = imaging.load_page_image(source, dpi=dpi)
    # Most pages are upright: read first, and only look for the page's
    # orientation when the result looks wrong (few/low-confidence lines or
    # tall detector boxes).  A turned page is then prepared and read again.
    denoise = bool(getattr(eng, "denoise", False))
    clean, info = imaging.prepare(image, dpi_used, orient=False, denoise=denoise)
    ocr_lines = _recognize(eng, clean, dpi_used)
    gray = cv2.cvtColor(clean, cv2.COLOR_BGR2GRAY)
    if _suspect_orientation(ocr_lines) or imaging.orientation_projection(gray, dpi_used)[0] == 90:
        rot, method = imaging.detect_orientation(gray, dpi_used)
        if rot:
            clean, info = imaging.prepare(image, dpi_used, orient=lambda g, d: rot, denoise=denoise)
            info["orientation_method"] = method
            ocr_lines = _recognize(eng, clean, dpi_used)
    del image
    red = info.get("red_mask")
    gray = cv2.cvtColor(clean, cv2.COLOR_BGR2GRAY)
    ocr_lines = add_bullets(gray, ocr_lines)
    k = 72.0 / dpi_used
    factor = SIZE_FACTOR.get(getattr(eng, "name", ""), 1.0)
    lines: list[Line] = []
    for ol in ocr_lines:
        x0, top, x1, bottom = ol.box
        color = "black"
        if red is not None:
            color = _line_colour(gray, red, ol.box)
        lines.append(Line(
            text=ol.text,
            box=(round(x0 * k, 2), round(top * k, 2), round(x1 * k, 2), round(bottom * k, 2)),
            page_no=source.page_no,
            size=round(ink_height(gray, ol.box) * k * INK_TO_EM, 1) or round((bottom - top) * k * factor, 1),
            color=color,
            confidence=round(float(ol.confidence), 4),
        ))
    h, w = clean.shape[:2]
    page = Page(
        page_no=source.page_no,
        width=round(w * k, 2),
        height=round(h * k, 2),
        lines=lines,
        method=getattr(eng, "name", "ocr"),
        confidence=round(sum(l.confidence for l in lines) / len(lines), 4) if lines else 0.0,
        engine_version=getattr(eng, "version", ""),
        dpi=int(dpi_used),
        rotation=int(info.get("rotation", 0)),
        skew=float(info.get("skew", 0.0)),
        source=page_source_label(source),
    )
    if image_dir is not None:
        page.image_path = str(save_page_image(clean, ocr_lines, dpi_used, Path(image_dir),
                                              f"page-{source.page_no:03d}.jpg", red))
    return page


def _recognize(eng, clean: np.ndarray, dpi: int) -> list[OcrLine]:
    """Run the engine, upscaling first for engines that want a minimum dpi."""
    min_dpi = int(getattr(eng, "min_dpi", 0) or 0)
    if min_dpi and dpi < min_dpi * 0.9:
        f = min_dpi / float(dpi)
        up = cv2.resize(clean, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
        # low-dpi scans are the noisy ones: a median on the upscaled page takes
        # the edge off JPEG noise and specks (tesseract on dev hard scans,
        # 7 pages: none 14%, 3x3 10.8%, 5x5 9.3% CER; 400 dpi was worse)
        up = cv2.medianBlur(up, 5)
        lines = eng.recognize(up)
        for ln in lines:
            ln.box = tuple(v / f for v in ln.box)
        return lines
    return eng.recognize(clean)


def _suspect_orientation(lines: list[OcrLine]) -> bool:
    chars = sum(len(l.text) for l in lines)
    if chars < 10:
        return True
    conf = sum(l.confidence * len(l.text) for l in lines) / chars
    tall = sum(1 for l in lines if (l.box[3] - l.box[1]) > 1.5 * (l.box[2] - l.box[0]))
    return conf < 0.85 or tall > max(2, len(lines) // 3)


def page_source_label(source: PageSource) -> str:
    """``file#page=N`` for PDF pages, ``file#frame=N`` for frames after the first
    of a multi-frame image, else the file (N is 1-based)."""
    if source.kind == "pdf" or str(source.path).lower().endswith(".pdf"):
        return f"{source.path}#page={source.index + 1}"
    if source.index:
        return f"{source.path}#frame={source.index + 1}"
    if str(source.path).lower().endswith((".tif", ".tiff")):
        return f"{source.path}#frame=1"
    return str(source.path)


def ink_height(gray: np.ndarray, box) -> float:
    """Height in px of the ink band of a line: rows of the box holding a fair
    share of its ink (ignores a neighbour's descenders and specks)."""
    x0, top, x1, bottom = (int(round(v)) for v in box)
    x0, top = max(0, x0), max(0, top)
    sub = gray[top:bottom, x0:x1] < 140
    if sub.size == 0:
        return 0.0
    rows = sub.sum(axis=1).astype(np.float32)
    if rows.max() <= 0:
        return 0.0
    on = rows >= max(2.0, 0.06 * float(rows.max()))
    # runs of inked rows, bridging small gaps; keep the run with most ink
    # (a neighbour line's descenders or specks form separate small runs)
    gap = max(1, int(0.08 * len(rows)))
    runs: list[list[int]] = []
    for i in np.where(on)[0]:
        if runs and i - runs[-1][1] <= gap:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    if not runs:
        return 0.0
    a, b = max(runs, key=lambda r: float(rows[r[0]:r[1] + 1].sum()))
    return float(b - a + 1)


def _line_colour(gray: np.ndarray, red: np.ndarray, box) -> str:
    x0, top, x1, bottom = (int(round(v)) for v in box)
    x0, top = max(0, x0), max(0, top)
    sub_ink = gray[top:bottom, x0:x1] < 150
    sub_red = red[top:bottom, x0:x1] > 0
    ink = int(np.count_nonzero(sub_ink | sub_red))
    if ink == 0:
        return "black"
    return "red" if np.count_nonzero(sub_red) > 0.5 * ink else "black"


def save_page_image(clean: np.ndarray, lines: list[OcrLine], dpi: int, image_dir: Path,
                    name: str, red: Optional[np.ndarray] = None, target_dpi: int = 100) -> Path:
    """Store a small JPEG of the cleaned page (~100 dpi) with line boxes drawn."""
    image_dir.mkdir(parents=True, exist_ok=True)
    f = min(1.0, target_dpi / float(dpi))
    small = cv2.resize(clean, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else clean.copy()
    if small.ndim == 2:
        small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
    for ln in lines:
        x0, top, x1, bottom = (int(round(v * f)) for v in ln.box)
        colour = (0, 160, 0) if ln.confidence >= 0.8 else (0, 140, 255)
        cv2.rectangle(small, (x0, top), (x1, bottom), colour, 1)
    path = image_dir / name
    cv2.imwrite(str(path), small, [cv2.IMWRITE_JPEG_QUALITY, 70])
    return path
