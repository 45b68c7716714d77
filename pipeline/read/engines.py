"""OCR of scanned pages behind a narrow engine interface.

An engine (in the spirit of OCRmyPDF's plugins) is anything with ``name``,
``version`` and ``recognize(image) -> list[OcrLine]``; boxes are pixel
``(x0, top, x1, bottom)`` in the image given.  Two engines ship:

* ``RapidOcrEngine`` - the PP-OCR det/rec models the rapidocr 3.x wheel
  ships, run by :mod:`pipeline.read.ppocr` on OpenVINO or onnxruntime, no
  text-direction classifier (with rapidocr's on, upright
  lines were sometimes read upside down; page orientation is fixed by
  :func:`pipeline.read.imaging.prepare` instead);
* ``TesseractEngine`` - tesseract ``chi_sim`` via pytesseract, ``--psm 6``.

``read_page`` runs load -> prepare -> recognize and builds a
:class:`~pipeline.models.Page` in reading order with boxes in points.  It
reads a page as it comes first and looks for a quarter turn only when the
result looks wrong (few or low-confidence lines) or the projection profile
says the lines run vertically, so upright pages pay nothing for orientation.

Measured on the dev corpus (all 22 pages of each condition), page CER with
whitespace ignored: rapidocr mild 0.13%, hard 1.5%; tesseract mild 3.7%,
hard ~10-12%.  ``bench/dev_cer.py`` reproduces this.
"""
from __future__ import annotations

import functools
import os
import threading
from typing import Optional, Protocol, runtime_checkable

import cv2
import numpy as np

from pipeline.read import ppocr
from pipeline.read.ocrtext import (  # noqa: F401  (part of this module's API)
    OcrLine, _is_han, _joined, group_lines, normalize_text)


# Font size of an OCR line = height of its ink x INK_TO_EM (Han glyphs fill
# ~0.9 em); calibrated against the dev text layers (16 pt body -> ~16).
# Detector box heights vary with blur and resolution (0.65-1.0 x size), so
# they are only the fallback, scaled by SIZE_FACTOR.
INK_TO_EM = 1.1
SIZE_FACTOR = {"rapidocr": 0.95, "tesseract": 0.75}


@runtime_checkable
class OcrEngine(Protocol):
    name: str
    version: str

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        ...


# --------------------------------------------------------------------------
# Engines


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "unknown"


def _rapidocr_version() -> str:
    return _dist_version("rapidocr")


# Inference backends for rapidocr's ONNX models, fastest first. OpenVINO reads
# the same .onnx files rapidocr ships and, on the dev scans, runs detection and
# recognition in about half the CPU time of onnxruntime with the same text
# (bench/dev_cer.py --engine rapidocr-openvino / rapidocr-onnxruntime).
BACKENDS = ("openvino", "onnxruntime")
_INHERITED: list = []        # models a forked worker inherited (see RapidOcrEngine._drop)

# Detection resolution (long side, px). The detector finds text lines, it
# does not read them: detecting on a copy 1600 px long instead of 2000 cut
# detection CPU by a third with the same CER. Smaller copies lose characters
# on the real photos (bench/bench_reader.py, the 47 dev and real scan pages,
# page CER mild / hard / real): 1600 px 0.13 / 1.47 / 2.91%, 1408 px
# 0.18 / 1.43 / 3.11%, 1280 px 0.09 / 1.40 / 3.31%; and so did 136 dpi on
# the real photos (1214 px: the № of a serial number lost).
DET_SIDE = 1600

# Recognition, one line at a time, its width (at the model's 48 px height)
# padded with paper to a multiple of REC_WIDTH_STEP: the runtime then meets a
# few dozen input shapes, reuses what it prepared for each, and needs no
# memory for a batch.  Measured on 9 dev pages (OpenVINO, 1 thread): batches
# of 6 at exact widths 1.04 CPU-s and 637 MB; one line, 64 px steps 0.85 CPU-s
# and 383 MB, the same text up to 4 of 176 lines.  With the detector compiled
# for one shape at a time (ppocr.OpenVinoSession) a worker's memory is bounded:
# 729 MB at most over the 47 dev and real scan pages (four page sizes) read
# without a reload (bench/bench_reader.py); the models were reloaded every 32
# pages before.
REC_HEIGHT = 48
REC_WIDTH_STEP = 64


def _backend_installed(backend: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(backend) is not None


def cores() -> int:
    """CPUs this process may run on: its affinity mask (a container or
    ``taskset`` may allow fewer than the machine has), else os.cpu_count()."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_threads(share: int = 1) -> int:
    """Threads for one engine (and the page clean-up beside it):
    ``BULLETIN_OCR_THREADS`` when set (a pool worker has it set by its
    executor), else the cores divided among ``share`` processes."""
    env = os.environ.get("BULLETIN_OCR_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, cores() // max(1, share))


def crop_quad(image: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The text cell ``quad`` (4 corners clockwise from top-left) cut out and
    warped to an upright rectangle; a cell 1.5x taller than wide is turned a
    quarter (vertical text reads left to right for the recogniser).

    Same geometry and interpolation as PaddleOCR's crop, so recognition is
    unchanged."""
    q = np.asarray(quad, dtype=np.float32)
    width = int(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[2] - q[3])))
    height = int(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2])))
    if width < 1 or height < 1:
        return np.zeros((0, 0) + image.shape[2:], dtype=image.dtype)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(q, target)
    out = cv2.warpPerspective(image, m, (width, height), borderMode=cv2.BORDER_REPLICATE,
                              flags=cv2.INTER_CUBIC)
    if out.shape[0] >= 1.5 * out.shape[1]:
        out = np.rot90(out)
    return out


def _bounds(quad: np.ndarray) -> tuple[float, float, float, float]:
    """The axis-aligned box ``(x0, top, x1, bottom)`` round a detector cell."""
    return (float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max()))


def rec_input(crop: np.ndarray) -> np.ndarray:
    """A line crop (grey or BGR) scaled to the recogniser's height, padded on
    the right with its own paper colour to the next REC_WIDTH_STEP (see
    there), as the BGR the recogniser takes."""
    h, w = crop.shape[:2]
    width = max(1, int(np.ceil(REC_HEIGHT * w / float(h))))
    out = cv2.resize(crop, (width, REC_HEIGHT))
    padded = int(np.ceil(width / float(REC_WIDTH_STEP))) * REC_WIDTH_STEP
    if padded > width:
        paper = [int(v) for v in np.percentile(out.reshape(REC_HEIGHT * width, -1), 90, axis=0)]
        out = cv2.copyMakeBorder(out, 0, 0, 0, padded - width, cv2.BORDER_CONSTANT, value=paper)
    return _as_bgr(out)


class RapidOcrEngine:
    """The PP-OCR models of the rapidocr 3.x wheel (:mod:`pipeline.read.ppocr`).

    ``backend`` is the inference runtime for the models: "openvino" (default
    where the ``openvino`` package is installed) or "onnxruntime"; None picks
    the first installed of ``BACKENDS``. ``version`` names it, so pages (and
    the OCR checkpoints keyed by it) record which runtime read them."""

    name = "rapidocr"
    denoise = False          # speck removal measured to cost accuracy here
    min_dpi = 0

    def __init__(self, threads: Optional[int] = None, det_side: int = DET_SIDE,
                 text_score: float = 0.5, box_thresh: float = 0.3, pad: float = 0.3,
                 backend: Optional[str] = None):
        for task in ("det", "rec"):
            ppocr.model_path(task)      # ImportError -> engine unavailable
        if backend is None:
            backend = next((b for b in BACKENDS if _backend_installed(b)), None)
            if backend is None:
                raise ImportError("rapidocr needs openvino or onnxruntime")
        elif backend not in BACKENDS:
            raise ValueError(f"unknown rapidocr backend {backend!r}; choose from {BACKENDS}")
        elif not _backend_installed(backend):
            raise ImportError(f"{backend} is not installed")
        self.backend = backend
        self.threads = int(threads) if threads else default_threads()
        self.det_side = det_side
        self.box_thresh = box_thresh
        self.pad = pad
        self.text_score = text_score
        self.version = (f"rapidocr {_rapidocr_version()} PP-OCR default det/rec, "
                        f"{backend} {_dist_version(backend)}")
        self._eng = None
        self._pid = os.getpid()
        self._lock = threading.Lock()

    @property
    def engine(self):
        if self._eng is not None and self._pid != os.getpid():
            self._drop()    # models loaded by the parent of this forked worker
        if self._eng is None:
            with self._lock:
                if self._eng is None:
                    self._eng, self._pid = self._load(), os.getpid()
        return self._eng

    def _drop(self) -> None:
        """Let go of the loaded models. Models a forked worker inherited are
        kept referenced, never freed: releasing them waits for inference
        threads that exist only in the parent, and hangs."""
        if self._eng is not None and self._pid != os.getpid():
            _INHERITED.append(self._eng)
        self._lock, self._eng = threading.Lock(), None

    def _load(self) -> "ppocr.Models":
        if self.backend == "openvino":
            # OpenVINO's CPU properties
            ov = {"INFERENCE_NUM_THREADS": self.threads,
                  # one inference at a time per process: latency over throughput
                  "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1,
                  # no pinning: OpenVINO pins its inference thread to a core of
                  # its choosing, the same one in every worker process, so 2
                  # workers on 2 cores shared one core for inference (0.64
                  # pages/s; unpinned see bench/bench_batch.py)
                  "ENABLE_CPU_PINNING": False}
            det = ppocr.OpenVinoSession(ppocr.model_path("det"), ov, static=True, logits=True)
            rec = ppocr.OpenVinoSession(ppocr.model_path("rec"), ov, logits=True)
        else:
            det = ppocr.OrtSession(ppocr.model_path("det"), self.threads)
            rec = ppocr.OrtSession(ppocr.model_path("rec"), self.threads)
        return ppocr.Models(ppocr.Detector(det, box_thresh=self.box_thresh), ppocr.Recognizer(rec))

    def _detect(self, image: np.ndarray) -> list[np.ndarray]:
        """Text cells (4 corners, in ``image``'s pixels) found on a copy at
        most ``det_side`` px long, reduced while still grey (a third of the
        pixels of BGR)."""
        h, w = image.shape[:2]
        f = min(1.0, self.det_side / float(max(h, w)))
        small = cv2.resize(image, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else image
        return [q / f for q in self.engine.det(_as_bgr(small))]

    def _raw(self, image: np.ndarray) -> list[OcrLine]:
        """Detect on a reduced copy, recognise crops cut from the
        full-resolution image (recognition of blurred 200 dpi scans gains
        from every pixel). Grey images stay grey until each line's crop is
        scaled: a third of the pixels to resize and warp."""
        h, w = image.shape[:2]
        quads = self._detect(image)
        if not quads:
            return []
        crops, boxes = [], []
        for q in quads:
            box = _bounds(q)
            if self.pad:
                # widen the box along its baseline: end punctuation (。，、)
                # and the colon of 报： sit at the cell's edge and get clipped
                hgt = float(np.linalg.norm(q[3] - q[0]))
                vec = q[1] - q[0]
                vec = vec / max(1e-6, float(np.linalg.norm(vec))) * hgt * self.pad
                q[0] -= vec; q[3] -= vec; q[1] += vec; q[2] += vec
            q[:, 0] = np.clip(q[:, 0], 0, w - 1)
            q[:, 1] = np.clip(q[:, 1], 0, h - 1)
            crop = crop_quad(image, q)
            if crop.size == 0 or min(crop.shape[:2]) < 2:
                continue
            crops.append(rec_input(crop))
            boxes.append(tuple(min(max(v, 0.0), lim) for v, lim in zip(box, (w, h, w, h))))
        if not crops:
            return []
        return [OcrLine(txt, box, score) for box, (txt, score) in zip(boxes, self.engine.rec(crops))
                if txt.strip() and score >= self.text_score]

    def recognize(self, image: np.ndarray) -> list[OcrLine]:
        if image.ndim == 3 and image.shape[2] == 4:
            image = _as_bgr(image)
        lines = group_lines(self._raw(image))
        for ln in lines:
            ln.text = normalize_text(ln.text)
        return [ln for ln in lines if ln.text]

    # --- helpers for orientation detection
    def detect_boxes(self, image: np.ndarray) -> list[tuple[float, float, float, float]]:
        return [_bounds(q) for q in self._detect(image)]

    def rec_scores(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        if not crops:
            return []
        return self.engine.rec([rec_input(c) for c in crops])


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
        RapidOcrEngine()        # checks the models and a backend; loads nothing yet
        out.append("rapidocr")
    except ImportError:
        pass
    try:
        TesseractEngine()
        out.append("tesseract")
    except Exception:
        pass
    return out


# Names ``--engine`` takes: an engine, or rapidocr on one inference backend.
ENGINE_NAMES = ("auto", "rapidocr", *(f"rapidocr-{b}" for b in BACKENDS), "tesseract")


def _strongest() -> str:
    avail = available_engines()
    if not avail:
        raise RuntimeError("no OCR engine available (install rapidocr or tesseract chi_sim)")
    return avail[0]


def resolve_engine_name(name: str = "auto") -> str:
    """The concrete engine ``name`` stands for here: "auto" -> the strongest
    available, "rapidocr" -> "rapidocr-<first installed backend>"."""
    name = (name or "auto").lower()
    if name == "auto":
        name = _strongest()
    if name == "rapidocr":
        backend = next((b for b in BACKENDS if _backend_installed(b)), None)
        if backend is None:
            raise ImportError("rapidocr needs openvino or onnxruntime")
        name = f"rapidocr-{backend}"
    return name


def get_engine(name: str = "auto", **kwargs) -> OcrEngine:
    """'auto' (strongest available) | 'rapidocr' (fastest installed backend) |
    'rapidocr-openvino' | 'rapidocr-onnxruntime' | 'tesseract'. Instances are
    cached per process."""
    name = (name or "auto").lower()
    if name == "auto":
        name = _strongest()
    base, _, backend = name.partition("-")
    if base not in _ENGINES or (backend and base != "rapidocr"):
        raise ValueError(f"unknown OCR engine {name!r}; choose from {list(ENGINE_NAMES)}")
    if backend:
        kwargs["backend"] = backend
    key = (name, tuple(sorted(kwargs.items())))
    if key not in _CACHE:
        _CACHE[key] = _ENGINES[base](**kwargs)
    return _CACHE[key]


def cached_engines() -> list[OcrEngine]:
    """Engines this process already holds (to reuse their loaded models)."""
    return list(_CACHE.values())
