"""``bulletin run`` against OCRmyPDF on the same scans, in one run.

usage: python bench/bench_vs_ocrmypdf.py --ocrmypdf /path/to/venv/bin/ocrmypdf \
           [--corpus /work/shared/corpus/dev] [--pages 4] [--workers 1] INPUT ...
  e.g. dev01-mild.pdf dev02-hard.pdf

Each input (an image-only PDF of the corpus, cut to its first ``--pages``
pages) is read by

* ``bulletin run`` (this venv, default engine, 300 dpi, no page images), and
* ``ocrmypdf -l chi_sim --force-ocr --sidecar`` (installed only for this
  benchmark, e.g. in its own venv: ``pip install ocrmypdf``; never a runtime
  dependency of the pipeline).

Printed per tool: CPU seconds a page (user + system of the process and every
child it waited for: tesseract, ghostscript, pool workers), wall time, peak
RSS of the largest process, and page CER against the truth (whitespace
ignored, page-number lines left out as in bench/dev_cer.py). On a machine
shared with other jobs, CPU-seconds and ratios are the figures to compare.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.evaluate import cer_parts  # noqa: E402

PAGE_NO = re.compile(r"^\s*[—\-一]\s*\d+\s*[—\-一]\s*$", re.M)


def measured(cmd: list[str], env=None) -> dict:
    """Run ``cmd``; its CPU (children included), wall time and peak RSS."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, ru = os.wait4(proc.pid, 0)
    wall = time.time() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[0]} failed: {err[-2000:]}")
    return {"cpu": ru.ru_utime + ru.ru_stime, "wall": wall, "rss_mb": ru.ru_maxrss / 1024.0}


def cut_pdf(src: Path, dst: Path, pages: int) -> int:
    import pikepdf
    with pikepdf.open(src) as pdf:
        out = pikepdf.new()
        n = min(pages, len(pdf.pages)) if pages else len(pdf.pages)
        for p in pdf.pages[:n]:
            out.pages.append(p)
        out.save(dst)
    return n


def squash(text: str) -> str:
    return re.sub(r"\s+", "", PAGE_NO.sub("", text))


def cer(pages: list[str], truth: list[str]) -> float:
    err = n = 0
    for hyp, ref in zip(pages, truth):
        d, k = cer_parts(squash(hyp), squash(ref))
        err, n = err + d, n + k
    return err / max(1, n)


def run_bulletin(pdf: Path, work: Path, workers: int, engine: str, threads: int = 0) -> tuple[dict, list[str]]:
    db = work / "bulletin.db"
    env = dict(os.environ, **({"BULLETIN_OCR_THREADS": str(threads)} if threads else {}))
    m = measured([sys.executable, "-m", "pipeline.cli", "run", str(pdf), "--db", str(db),
                  "--work-dir", str(work / "w"), "--quiet", "--no-page-images", "--dpi", "300",
                  "--workers", str(workers), "--engine", engine], env=env)
    rows = sqlite3.connect(db).execute("SELECT text FROM pages ORDER BY page_no").fetchall()
    return m, [r[0] or "" for r in rows]


def run_ocrmypdf(exe: str, pdf: Path, work: Path, workers: int) -> tuple[dict, list[str]]:
    side = work / "sidecar.txt"
    m = measured([exe, "-l", "chi_sim", "--force-ocr", "--sidecar", str(side), "-j", str(workers),
                  "-q", str(pdf), str(work / "ocrmypdf.pdf")])
    return m, side.read_text(encoding="utf-8").split("\f")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="image-only PDFs of the corpus (e.g. dev01-mild.pdf)")
    ap.add_argument("--ocrmypdf", required=True, help="path of the ocrmypdf executable")
    ap.add_argument("--corpus", default="/work/shared/corpus/dev")
    ap.add_argument("--pages", type=int, default=4, help="first N pages of each input (0: all)")
    ap.add_argument("--workers", type=int, default=1, help="bulletin --workers and ocrmypdf -j")
    ap.add_argument("--engine", default="auto", help="bulletin --engine")
    ap.add_argument("--threads", type=int, default=0,
                    help="inference threads for bulletin (BULLETIN_OCR_THREADS; default cores // workers)")
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    tot = {"bulletin": {"cpu": 0.0, "wall": 0.0, "rss_mb": 0.0, "err": []},
           "ocrmypdf": {"cpu": 0.0, "wall": 0.0, "rss_mb": 0.0, "err": []}}
    npages = 0
    truth_pages: list[str] = []
    got = {"bulletin": [], "ocrmypdf": []}
    for name in args.inputs:
        src = corpus / "inputs" / name
        truth = json.loads((corpus / "truth" / f"{name.split('-')[0]}.json").read_text(encoding="utf-8"))
        texts = {p["page_no"]: p["text"] for p in truth["pages"]}
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            pdf = tmp / name
            n = cut_pdf(src, pdf, args.pages)
            npages += n
            ref = [texts[k] for k in range(1, n + 1)]
            truth_pages += ref
            for tool in ("bulletin", "ocrmypdf"):
                work = tmp / tool
                work.mkdir()
                if tool == "bulletin":
                    m, pages = run_bulletin(pdf, work, args.workers, args.engine, args.threads)
                else:
                    m, pages = run_ocrmypdf(args.ocrmypdf, pdf, work, args.workers)
                pages = (pages + [""] * n)[:n]
                got[tool] += pages
                c = cer(pages, ref)
                print(f"{name:18s} {n:3d} pages  {tool:9s} {m['cpu'] / n:5.2f} CPU-s/page  "
                      f"{m['wall']:6.1f} s wall  peak RSS {m['rss_mb']:6.0f} MB  CER {c * 100:5.2f}%",
                      flush=True)
                t = tot[tool]
                t["cpu"] += m["cpu"]
                t["wall"] += m["wall"]
                t["rss_mb"] = max(t["rss_mb"], m["rss_mb"])
    print(f"\nTOTAL over {npages} pages, --workers {args.workers}:")
    for tool, t in tot.items():
        print(f"  {tool:9s} {t['cpu'] / npages:5.2f} CPU-s/page  {t['wall']:7.1f} s wall  "
              f"peak RSS {t['rss_mb']:5.0f} MB  CER {cer(got[tool], truth_pages) * 100:5.2f}%")
    b, o = tot["bulletin"], tot["ocrmypdf"]
    cb, co = cer(got["bulletin"], truth_pages), cer(got["ocrmypdf"], truth_pages)
    print(f"  ratio bulletin/ocrmypdf: CPU {b['cpu'] / max(1e-9, o['cpu']):.2f}x, "
          f"CER {cb / max(1e-9, co):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
