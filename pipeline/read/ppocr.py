"""PP-OCR's text detector and line recogniser (the ONNX models the rapidocr
wheel ships), run straight on an inference backend.

rapidocr's own wrapper is not imported: it reads its 85 kB model table with
OmegaConf twice on import (0.8 CPU-s in every run, before any page is read)
and parses its configuration again for every engine it builds (two per
worker).  What it does with the models is small and is done here the same
way: DB post-processing of the detector's probability map into text cells
(contours -> minimum-area boxes -> score -> unclip by area x 1.6 / perimeter
-> box again), and greedy CTC decoding of the recogniser's output.
``tests/test_ocr.py`` checks that the cells and the text equal rapidocr's.
One addition: a 、，。；： the recogniser scored just below blank in a
character-wide gap is put back (``Recognizer.gap_punctuation``).

A backend session is anything called with one float32 NCHW batch that
returns the model's first output; :class:`OpenVinoSession` (default) and
:class:`OrtSession` (onnxruntime) are the two. A session whose ``logits`` is
true returns the scores before the models' last activation (the detector's
sigmoid, the recogniser's softmax), which are then applied only where a
figure is needed: inside the cells, at the characters kept.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from pipeline.lexicon import HAN


def models_dir() -> Path:
    """The models folder of the installed rapidocr wheel, found without
    importing rapidocr."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.origin:
        raise ImportError("rapidocr (the wheel that ships the PP-OCR models) is not installed")
    return Path(spec.origin).parent / "models"


def model_path(task: str, models: Optional[Path] = None) -> Path:
    """The bundled ``.onnx`` model for ``task`` ("det" or "rec"), e.g.
    models/PP-OCRv6_det_small.onnx: the newest version the wheel holds."""
    models = models or models_dir()
    found = sorted(models.glob(f"*_{task}_*.onnx"))
    if not found:
        raise ImportError(f"no bundled PP-OCR {task} model in {models}")
    return found[-1]


# --------------------------------------------------------------------------
# Backend sessions


class OpenVinoSession:
    """One model compiled by OpenVINO for the CPU with ``config``.

    ``static=True`` compiles it for the one input shape it last met (the
    detector).  Compiled for any shape, OpenVINO holds memory for every
    shape it has run: 360 MB more after one 1600 x 1120 page, against
    222 MB for the model compiled for that shape, at the same speed
    (0.36 CPU-s).  Pages of a batch mostly share a size, so it is compiled
    again (0.2 CPU-s, about what a new shape costs the dynamic model) only
    when the size changes, the old one let go first: a worker's memory no
    longer grows with the page sizes it meets.  The recogniser stays
    dynamic: its line widths come in REC_WIDTH_STEP steps, and a static
    compile per width (0.27 CPU-s) runs no faster.

    ``logits=True`` cuts the model's final Sigmoid or Softmax off. Profiled
    (OpenVINO perf counters, one thread): the recogniser's softmax over
    18,710 classes at every column is 7.3 of 94 ms for a 1600 px line, and
    the detector's sigmoid over the whole map 36 of 544 ms for a page,
    while the decoders need probabilities only at the ~15% of columns that
    become characters and inside the cells found."""

    def __init__(self, path, config: dict, static: bool = False, logits: bool = False):
        import openvino
        self.path, self.config, self.static = str(path), {k: str(v) for k, v in config.items()}, static
        self.core = openvino.Core()
        self.model = self.core.read_model(self.path)
        self.logits = logits and _cut_activation(self.model)
        self.shape, self.request = None, None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.request is None or (self.static and x.shape != self.shape):
            self.shape = self.request = None
            if self.static:
                self.model.reshape(list(x.shape))
            self.request = self.core.compile_model(self.model, "CPU", self.config).create_infer_request()
            self.shape = x.shape
        self.request.infer([x], share_inputs=True)      # read in place, not copied first
        return self.request.get_output_tensor().data

    def metadata(self, key: str) -> Optional[str]:
        info = self.model.get_rt_info()
        try:
            return str(info["framework"][key].value)
        except (KeyError, IndexError, AttributeError, RuntimeError):
            return None


def _cut_activation(model) -> bool:
    """Make ``model`` (an openvino.Model) return the input of its final
    Sigmoid/Softmax; False (model untouched) when it ends otherwise."""
    result = model.get_results()[0]
    last = result.input_value(0).get_node()
    if last.get_type_name() not in ("Sigmoid", "Softmax"):
        return False
    result.input(0).replace_source_output(last.input_value(0))
    model.validate_nodes_and_infer_types()
    return True


class OrtSession:
    """One model run by onnxruntime on the CPU (the fallback backend)."""

    logits = False

    def __init__(self, path, threads: int = 1):
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.log_severity_level = 4
        opts.enable_cpu_mem_arena = False
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=opts,
                                            providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input: x})[0]

    def metadata(self, key: str) -> Optional[str]:
        return self.session.get_modelmeta().custom_metadata_map.get(key)


# --------------------------------------------------------------------------
# Detection


class Detector:
    """Text cells of a BGR image: quadrilaterals (4 x 2 float32, clockwise
    from top-left, in the image's pixels), top to bottom then left to right.

    The image is scaled so its shorter side is at least ``min_side`` and
    both sides are multiples of 32 (the network's stride), normalised to
    [-1, 1] by one ``cv2.dnn.blobFromImage`` call; the probability map is
    thresholded at ``thresh``, dilated 2 x 2, and every contour whose mean
    probability reaches ``box_thresh`` becomes a cell."""

    def __init__(self, session, thresh: float = 0.3, box_thresh: float = 0.5,
                 unclip_ratio: float = 1.6, max_candidates: int = 1000, min_side: int = 736):
        self.session = session
        self.thresh, self.box_thresh = thresh, box_thresh
        self.unclip_ratio, self.max_candidates, self.min_side = unclip_ratio, max_candidates, min_side
        self.min_size = 3
        # a session returning logits is thresholded at the logit of thresh:
        # sigmoid(x) > t  <=>  x > log(t / (1 - t))
        self.logits = bool(getattr(session, "logits", False))
        self.cut = float(np.log(thresh / (1 - thresh))) if self.logits else thresh

    def input(self, image: np.ndarray) -> Optional[np.ndarray]:
        h, w = image.shape[:2]
        ratio = float(self.min_side) / min(h, w) if min(h, w) < self.min_side else 1.0
        rh, rw = (int(round(int(v * ratio) / 32) * 32) for v in (h, w))
        if rh <= 0 or rw <= 0:
            return None
        return cv2.dnn.blobFromImage(cv2.resize(image, (rw, rh)), 1 / 127.5, mean=(127.5, 127.5, 127.5))

    def __call__(self, image: np.ndarray) -> list[np.ndarray]:
        blob = self.input(image)
        if blob is None:
            return []
        score = self.session(blob)[0, 0]
        mask = cv2.dilate((score > self.cut).astype(np.uint8), np.ones((2, 2), np.uint8))
        h, w = image.shape[:2]
        return _reading_order(self.cells(score, mask, w, h))

    def cells(self, score: np.ndarray, mask: np.ndarray, dest_w: int, dest_h: int) -> list[np.ndarray]:
        height, width = mask.shape
        contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        out = []
        for contour in contours[:self.max_candidates]:
            points, side = _min_box(contour)
            if side < self.min_size or _mean_inside(score, points, self.logits) < self.box_thresh:
                continue
            points, side = _min_box(_unclip(points, self.unclip_ratio))
            if side < self.min_size + 2:
                continue
            points[:, 0] = np.clip(np.round(points[:, 0] / width * dest_w), 0, dest_w)
            points[:, 1] = np.clip(np.round(points[:, 1] / height * dest_h), 0, dest_h)
            quad = _clockwise(points.astype(np.int32))
            quad[:, 0] = np.clip(quad[:, 0], 0, dest_w - 1)     # clipped again after ordering, as
            quad[:, 1] = np.clip(quad[:, 1], 0, dest_h - 1)     # rapidocr does (ties sort alike)
            if int(np.linalg.norm(quad[0] - quad[1])) <= 3 or int(np.linalg.norm(quad[0] - quad[3])) <= 3:
                continue
            out.append(quad)
        return out


def _min_box(contour: np.ndarray) -> tuple[np.ndarray, float]:
    """The minimum-area rectangle around ``contour`` as 4 corners, clockwise
    from top-left (the two leftmost corners make the left side), and its
    shorter side."""
    rect = cv2.minAreaRect(contour)
    pts = sorted(list(cv2.boxPoints(rect)), key=lambda p: p[0])
    left = (pts[0], pts[1]) if pts[1][1] > pts[0][1] else (pts[1], pts[0])
    right = (pts[2], pts[3]) if pts[3][1] > pts[2][1] else (pts[3], pts[2])
    return np.array([left[0], right[0], right[1], left[1]]), min(rect[1])


def _mean_inside(score: np.ndarray, quad: np.ndarray, logits: bool = False) -> float:
    """Mean probability inside ``quad`` (the detector's "fast" box score);
    ``logits``: ``score`` holds the map before the sigmoid."""
    h, w = score.shape[:2]
    x0, y0 = (int(np.clip(np.floor(quad[:, i].min()), 0, lim - 1)) for i, lim in ((0, w), (1, h)))
    x1, y1 = (int(np.clip(np.ceil(quad[:, i].max()), 0, lim - 1)) for i, lim in ((0, w), (1, h)))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    shifted = quad - np.array([x0, y0], dtype=quad.dtype)
    cv2.fillPoly(mask, shifted.reshape(1, -1, 2).astype(np.int32), 1)
    region = score[y0:y1 + 1, x0:x1 + 1]
    if logits:
        region = 1.0 / (1.0 + cv2.exp(-region))
    return cv2.mean(region, mask)[0]


def _unclip(quad: np.ndarray, ratio: float) -> np.ndarray:
    """``quad`` grown by area x ratio / perimeter (DB's shrunk text kernels
    back to the text's extent), round joins."""
    import pyclipper
    pts = quad.astype(np.float64)
    x, y = pts[:, 0], pts[:, 1]
    area = abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))) / 2.0
    length = float(np.sum(np.hypot(*(np.roll(pts, -1, axis=0) - pts).T)))
    offset = pyclipper.PyclipperOffset()
    offset.AddPath(quad, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
    return np.array(offset.Execute(area * ratio / length)).reshape((-1, 1, 2))


def _clockwise(pts: np.ndarray) -> np.ndarray:
    """Corners ordered top-left, top-right, bottom-right, bottom-left."""
    by_x = pts[np.argsort(pts[:, 0]), :]
    left, right = by_x[:2], by_x[2:]
    tl, bl = left[np.argsort(left[:, 1]), :]
    tr, br = right[np.argsort(right[:, 1]), :]
    return np.array([tl, tr, br, bl], dtype=np.float32)


ROW_GAP = 10    # px: cells whose tops differ less are one row, read left to right


def _reading_order(cells: list[np.ndarray]) -> list[np.ndarray]:
    if not cells:
        return []
    boxes = np.array(cells)
    by_y = np.argsort(boxes[:, 0, 1], kind="stable")
    ys = boxes[by_y, 0, 1]
    rows = np.concatenate([[0], np.cumsum(np.diff(ys) >= ROW_GAP)])
    order = by_y[np.lexsort((boxes[by_y, 0, 0], rows))]
    return [boxes[i] for i in order]


# --------------------------------------------------------------------------
# Recognition


GAP_MARKS = "、，。；："    # marks put back where greedy decoding lost them (Recognizer.gap_punctuation)
GAP_PITCHES = 1.5          # ... in a gap at least this many character pitches wide
_HAN = re.compile(f"[{HAN}]")


class Recognizer:
    """Text and confidence of line images (BGR, ``height`` px high): the
    recogniser's per-column classes decoded greedily (CTC: repeats merged,
    blanks dropped); the confidence is the mean probability of the
    characters kept. Lines narrower than ``min_width`` are padded to it (as
    the model was trained)."""

    def __init__(self, session, characters: Optional[list[str]] = None,
                 height: int = 48, min_width: int = 320):
        self.session = session
        if characters is None:
            text = session.metadata("character")
            if not text:
                raise ImportError("the recognition model carries no character list")
            characters = text.splitlines()
        self.characters = ["blank", *characters, " "]
        self.gap_marks = {i for i, c in enumerate(self.characters) if c in GAP_MARKS}
        self.height, self.min_width = height, min_width
        self.logits = bool(getattr(session, "logits", False))

    def input(self, line: np.ndarray) -> np.ndarray:
        h, w = line.shape[:2]
        ratio = w / float(h)
        width = int(self.height * max(self.min_width / float(self.height), ratio))
        resized_w = min(width, int(np.ceil(self.height * ratio)))
        if (h, w) != (self.height, resized_w):
            line = cv2.resize(line, (resized_w, self.height))
        blob = np.zeros((1, 3, self.height, width), dtype=np.float32)
        blob[0, :, :, :resized_w] = (line.astype(np.float32).transpose(2, 0, 1) / 255 - 0.5) / 0.5
        return blob

    def __call__(self, lines: list[np.ndarray]) -> list[tuple[str, float]]:
        return [self.decode(self.session(self.input(line))[0]) for line in lines]

    def decode(self, scores: np.ndarray) -> tuple[str, float]:
        """``scores``: one line's classes by column (the softmax's output, or
        the logits before it when the session returns ``logits``)."""
        idx = scores.argmax(axis=1)
        keep = idx != 0
        keep[1:] &= idx[1:] != idx[:-1]
        if not keep.any():
            return "", 0.0
        cols = np.flatnonzero(keep)
        chars = [self.characters[i] for i in idx[keep]]
        conf = [round(p, 5) for p in self._prob(scores, cols, idx[keep]).tolist()]
        for k, col, cls in reversed(self.gap_punctuation(scores, cols, chars)):
            chars.insert(k + 1, self.characters[cls])
            conf.insert(k + 1, round(float(self._prob(scores, [col], [cls])[0]), 5))
        return "".join(chars), float(np.mean(conf).round(5))

    def _prob(self, scores: np.ndarray, cols, classes) -> np.ndarray:
        """Probability of ``classes`` at ``cols``: the scores themselves, or
        their softmax (1 / sum(exp(x - x_class))) when they are logits."""
        top = scores[cols, classes]
        if self.logits:
            top = 1.0 / np.exp(scores[cols] - top[:, None]).sum(axis=1, dtype=np.float64)
        return np.asarray(top)

    def gap_punctuation(self, scores: np.ndarray, cols: np.ndarray, chars: list[str]) -> list[tuple[int, int, int]]:
        """Punctuation greedy decoding lost: (after character k, column, class).

        On faded or blurred scans the recogniser often scores a small 、，。；：
        just below blank, and greedy CTC drops it: the two Han characters
        around it then stand GAP_PITCHES or more of the line's character
        pitch apart. Where the strongest non-blank class (against blank) in
        such a gap is one of those marks, it is put back. Measured on the 47
        dev and real scan pages: 41 gaps of 1.33-1.75 pitches were spaces or
        nothing in the truth, none of them with a mark as the strongest
        class; 25 gaps held a mark the recogniser ranked first in the gap
        (24 the right one); 1.9 pitches or more held only lost marks."""
        if len(chars) < 4 or not self.gap_marks:
            return []
        is_han = [bool(_HAN.match(c)) for c in chars]
        wide = [h or c in "（）" for h, c in zip(is_han, chars)]
        steps = np.diff(cols)
        han = [k for k in range(len(steps)) if is_han[k] and is_han[k + 1]]
        if len(han) < 3:
            return []
        pitch = float(np.median(steps[han]))
        out = []
        for k in np.flatnonzero(steps >= GAP_PITCHES * pitch).tolist():
            if not (wide[k] and wide[k + 1]):
                continue
            gap = scores[cols[k] + 1:cols[k + 1]].astype(np.float32)
            if not self.logits:
                gap = np.log(np.maximum(gap, 1e-12))
            rel = gap[:, 1:] - gap[:, :1]               # every class against blank, column by column
            c, cls = np.unravel_index(int(rel.argmax()), rel.shape)
            if int(cls) + 1 in self.gap_marks:
                out.append((k, int(cols[k]) + 1 + int(c), int(cls) + 1))
        return out


@dataclass
class Models:
    """A detector and a recogniser loaded together (one engine's models)."""
    det: Detector
    rec: Recognizer
