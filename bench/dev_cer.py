"""Page CER of the OCR reader on the dev corpus (whitespace ignored).

usage: python bench/dev_cer.py [--engine rapidocr] [--corpus DIR] INPUT:PAGES ...
  e.g. dev01-mild.pdf:1,2  dev01-hard:3  dev02-mild.tiff:1
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.read import imaging
from pipeline.read import engines, ocr  # noqa: E402
from pipeline.evaluate import cer_parts  # noqa: E402
from pipeline.models import PageSource  # noqa: E402


PAGE_NO = re.compile(r"[—\-一]\s*\d+\s*[—\-一]")    # a page-number line (— 2 —): not in the truth text


def _cpu() -> float:
    import resource
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)      # tesseract runs as a child
    return time.process_time() + ch.ru_utime + ch.ru_stime


def squash(s: str, fold: bool = False) -> str:
    s = re.sub(r"\s+", "", s)
    if fold:
        s = unicodedata.normalize("NFKC", s).replace("—", "-")
    return s


def cer(hyp: str, ref: str, fold: bool = False) -> float:
    dist, n = cer_parts(squash(hyp, fold), squash(ref, fold))
    return dist / max(1, n)


def sources(corpus: Path, spec: str):
    name, _, pages = spec.partition(":")
    path = corpus / "inputs" / name
    if path.is_dir():
        files = imaging.list_page_images(path)
        kind, items = "image", [(f, 0) for f in files]
    elif path.suffix.lower() == ".pdf":
        kind, items = "pdf", [(path, i) for i in range(imaging.page_count(path, "pdf"))]
    else:
        kind, items = "image", [(path, i) for i in range(imaging.page_count(path, "image"))]
    wanted = [int(p) for p in pages.split(",")] if pages else range(1, len(items) + 1)
    issue = name.split("-")[0]
    truth = json.loads((corpus / "truth" / f"{issue}.json").read_text())
    texts = {p["page_no"]: p["text"] for p in truth["pages"]}
    for n in wanted:
        f, idx = items[n - 1]
        yield PageSource(page_no=n, path=str(f), index=idx, kind=kind, needs_ocr=True), texts[n]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("specs", nargs="+")
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--corpus", default="/work/shared/corpus/dev")
    ap.add_argument("--show", action="store_true")
    args = ap.parse_args(argv)
    eng = engines.get_engine(args.engine)
    tot_e = tot_n = 0
    tot_t = tot_c = 0.0
    npages = 0
    for spec in args.specs:
        for src, ref in sources(Path(args.corpus), spec):
            t, c = time.time(), _cpu()
            page = ocr.read_page(src, engine=eng)
            dt, dc = time.time() - t, _cpu() - c
            tot_c += dc
            # the page number line is not in the truth text
            hyp_cmp = "\n".join(l.text for l in page.lines if not PAGE_NO.fullmatch(l.text.strip()))
            c, cf = cer(hyp_cmp, ref), cer(hyp_cmp, ref, fold=True)
            dist, n = cer_parts(hyp_cmp, ref)
            tot_e += dist
            tot_n += n
            tot_t += dt
            npages += 1
            print(f"{spec.split(':')[0]:18s} p{src.page_no:<3d} {eng.name:9s} CER {c*100:5.2f}%  "
                  f"(folded {cf*100:5.2f}%)  {dt:5.1f}s wall {dc:5.1f}s cpu  rot {page.rotation} skew {page.skew:+.2f} "
                  f"lines {len(page.lines)} red {sum(l.color == 'red' for l in page.lines)}", flush=True)
            if args.show:
                import difflib
                for l in difflib.unified_diff(ref.split("\n"), hyp_cmp.split("\n"), lineterm="", n=0):
                    print("   ", l)
    print(f"TOTAL {eng.name}: CER {tot_e / max(1, tot_n) * 100:.2f}% over {npages} pages, "
          f"{tot_t / max(1, npages):.1f} s/page wall, {tot_c / max(1, npages):.1f} s/page CPU")


if __name__ == "__main__":
    main()
