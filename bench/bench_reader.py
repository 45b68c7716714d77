"""Where a scanned page's CPU goes, and the CER it buys: the OCR reader on
every dev and real scan page, one inference thread, in one process.

usage: BULLETIN_OCR_THREADS=1 python bench/bench_reader.py [--engine rapidocr-openvino] [--det-side PX]
           [--corpus-root /work/shared/corpus] [--sets mild,hard,real]

Prints CPU-s a page for the whole read (``read_page``) and for its parts:
loading/rasterising, clean-up (``imaging.prepare``), detection and
recognition (the engine's calls), then page CER (whitespace ignored, the
page-number line left out) per condition and per input. The figures in the
README's engine section come from this script.
"""
from __future__ import annotations

import argparse
import collections
import functools
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dev_cer import PAGE_NO, sources  # noqa: E402
from pipeline.evaluate import cer_parts  # noqa: E402
from pipeline.read import engines, imaging, ocr  # noqa: E402

INPUTS = {
    "mild": ("dev", ("dev01-mild.pdf", "dev02-mild.tiff", "dev03-mild")),
    "hard": ("dev", ("dev01-hard", "dev02-hard.pdf", "dev03-hard.tiff")),
    "real": ("real", ("real04-hard", "real05-hard", "real06-hard")),
}


def timed(owner, name: str, key: str, spent: collections.Counter) -> None:
    """Wrap ``owner.name`` so the CPU it takes adds up under ``key``."""
    f = getattr(owner, name)

    @functools.wraps(f)
    def wrapper(*a, **k):
        t = time.process_time()
        try:
            return f(*a, **k)
        finally:
            spent[key] += time.process_time() - t
    setattr(owner, name, wrapper)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", default="rapidocr-openvino")
    ap.add_argument("--corpus-root", default="/work/shared/corpus")
    ap.add_argument("--sets", default="mild,hard,real")
    ap.add_argument("--det-side", type=int, default=engines.DET_SIDE,
                    help="detection resolution, long side in px (default %(default)s)")
    args = ap.parse_args(argv)
    spent: collections.Counter = collections.Counter()
    eng = engines.get_engine(args.engine, threads=1)
    if hasattr(eng, "det_side"):
        eng.det_side = args.det_side
    timed(imaging, "prepare", "clean-up", spent)
    timed(imaging, "load_page", "load", spent)
    spied = False
    errors = collections.defaultdict(lambda: [0, 0])
    n, t0 = 0, time.process_time()
    for cond in args.sets.split(","):
        corpus, names = INPUTS[cond]
        for name in names:
            for src, ref in sources(Path(args.corpus_root) / corpus, name):
                if not spied and hasattr(eng, "engine"):     # rapidocr: time its two models
                    timed(type(eng.engine.det), "__call__", "detection", spent)
                    timed(type(eng.engine.rec), "__call__", "recognition", spent)
                    spied = True
                page = ocr.read_page(src, engine=eng)
                hyp = "\n".join(l.text for l in page.lines if not PAGE_NO.fullmatch(l.text.strip()))
                d, k = cer_parts(hyp, ref)      # whitespace ignored
                for key in (cond, name):
                    errors[key][0] += d
                    errors[key][1] += k
                n += 1
    cpu = time.process_time() - t0
    print(f"{n} pages, {args.engine}: {cpu / max(1, n):.2f} CPU-s a page; "
          + ", ".join(f"{k} {v / max(1, n):.2f}" for k, v in spent.most_common()))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for key, (d, k) in errors.items():
        print(f"  {key:18s} CER {d:5d}/{k:6d} = {d / max(1, k) * 100:5.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
