"""``bulletin run`` against OCRmyPDF on the same scans, in one run.

usage: python bench/bench_vs_ocrmypdf.py --ocrmypdf /path/to/venv/bin/ocrmypdf \
           [--corpus /work/shared/corpus/dev] [--pages 0] [--workers N] INPUT ...
  e.g. dev01-mild.pdf dev02-hard.pdf dev01-hard dev03-hard.tiff

The inputs (scans of the corpus, each cut to its first ``--pages`` pages,
0 = all; page-image folders and TIFFs are first made into image-only PDFs at
their own dpi) are read by

* ``bulletin run`` once over the folder holding them all, as an archivist
  runs a batch (this venv, default engine and workers, 300 dpi, no page
  images), and
* ``ocrmypdf -l chi_sim --force-ocr --sidecar`` once per file, the only way
  it runs (installed only for this benchmark, e.g. in its own venv:
  ``pip install ocrmypdf``; never a runtime dependency of the pipeline).

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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dev_cer import PAGE_NO  # noqa: E402
from pipeline.evaluate import cer_parts  # noqa: E402

# a page-number line (— 2 —) anywhere in a page's text: not in the truth text
PAGE_LINE = re.compile(rf"^\s*(?:{PAGE_NO.pattern})\s*$", re.M)


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


def image_pdf(src: Path, dst: Path, pages: int) -> int:
    """An image-only PDF of a page-image folder or a (multi-page) TIFF, at
    the images' own dpi (JPEG q95), so both tools read the same file."""
    from PIL import Image, ImageSequence
    from pipeline.read.imaging import list_page_images
    frames = []
    files = list_page_images(src) if src.is_dir() else [src]
    for f in files:
        with Image.open(f) as im:
            for fr in ImageSequence.Iterator(im):
                frames.append((fr.convert("RGB"), fr.info.get("dpi", (300, 300))[0] or 300))
    frames = frames[:pages] if pages else frames
    first, dpi = frames[0]
    first.save(dst, "PDF", resolution=float(dpi), save_all=True, quality=95,
               append_images=[f for f, _ in frames[1:]])
    return len(frames)


def cer(pages: list[str], truth: list[str]) -> float:
    """Page CER (cer_parts ignores whitespace), page-number lines left out."""
    err = n = 0
    for hyp, ref in zip(pages, truth):
        d, k = cer_parts(PAGE_LINE.sub("", hyp), PAGE_LINE.sub("", ref))
        err, n = err + d, n + k
    return err / max(1, n)


def run_bulletin(folder: Path, work: Path, workers: int, engine: str, threads: int = 0) -> tuple[dict, dict]:
    """One ``bulletin run`` over every input in ``folder`` (a batch, as an
    archivist runs it); returns the measurement and {file name: page texts}."""
    db = work / "bulletin.db"
    env = dict(os.environ, **({"BULLETIN_OCR_THREADS": str(threads)} if threads else {}))
    cmd = [sys.executable, "-m", "pipeline.cli", "run", str(folder), "--db", str(db),
           "--work-dir", str(work / "w"), "--quiet", "--no-page-images", "--dpi", "300",
           "--engine", engine]
    if workers:
        cmd += ["--workers", str(workers)]
    m = measured(cmd, env=env)
    rows = sqlite3.connect(db).execute(
        "SELECT i.source_path, p.text FROM pages p JOIN issues i ON i.id = p.issue_id "
        "ORDER BY i.source_path, p.page_no").fetchall()
    texts: dict[str, list[str]] = {}
    for src, text in rows:
        texts.setdefault(Path(src).name, []).append(text or "")
    return m, texts


def run_ocrmypdf(exe: str, pdf: Path, work: Path, workers: int) -> tuple[dict, list[str]]:
    side = work / "sidecar.txt"
    cmd = [exe, "-l", "chi_sim", "--force-ocr", "--sidecar", str(side), "-q", str(pdf),
           str(work / "ocrmypdf.pdf")]
    if workers:
        cmd[1:1] = ["-j", str(workers)]
    m = measured(cmd)
    return m, side.read_text(encoding="utf-8").split("\f")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("inputs", nargs="+", help="scans of the corpus: image-only PDFs (e.g. dev01-mild.pdf), "
                                          "page-image folders or TIFFs (made into image-only PDFs first)")
    ap.add_argument("--ocrmypdf", required=True, help="path of the ocrmypdf executable")
    ap.add_argument("--corpus", default="/work/shared/corpus/dev")
    ap.add_argument("--pages", type=int, default=0, help="first N pages of each input (default 0: all)")
    ap.add_argument("--workers", type=int, default=0,
                    help="bulletin --workers and ocrmypdf -j (default: each tool's own default)")
    ap.add_argument("--engine", default="auto", help="bulletin --engine")
    ap.add_argument("--threads", type=int, default=0,
                    help="inference threads for bulletin (BULLETIN_OCR_THREADS; default cores // workers)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of each tool, taking turns; the median run (by CPU) is reported")
    args = ap.parse_args(argv)
    corpus = Path(args.corpus)
    refs: dict[str, list[str]] = {}
    got: dict[str, dict[str, list[str]]] = {"bulletin": {}, "ocrmypdf": {}}
    tot = {t: {"cpu": 0.0, "wall": 0.0, "rss_mb": 0.0} for t in got}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        folder = tmp / "in"
        folder.mkdir()
        for name in args.inputs:
            truth = json.loads((corpus / "truth" / f"{name.split('-')[0]}.json").read_text(encoding="utf-8"))
            texts = {p["page_no"]: p["text"] for p in truth["pages"]}
            src = corpus / "inputs" / name
            if src.suffix.lower() == ".pdf":
                n = cut_pdf(src, folder / name, args.pages)
            else:
                name = src.stem + ".pdf"
                n = image_pdf(src, folder / name, args.pages)
            refs[name] = [texts[k] for k in range(1, n + 1)]
        npages = sum(len(r) for r in refs.values())
        runs: dict[str, list[dict]] = {t: [] for t in got}
        for rep in range(args.repeat):
            # the tools take turns, so a busy spell on the machine hits both
            work = tmp / f"bulletin-{rep}"
            work.mkdir()
            m, got["bulletin"] = run_bulletin(folder, work, args.workers, args.engine, args.threads)
            runs["bulletin"].append(m)
            t = {"cpu": 0.0, "wall": 0.0, "rss_mb": 0.0}
            for name in refs:
                work = tmp / f"ocrmypdf-{rep}" / name
                work.mkdir(parents=True)
                m, got["ocrmypdf"][name] = run_ocrmypdf(args.ocrmypdf, folder / name, work, args.workers)
                t["cpu"] += m["cpu"]
                t["wall"] += m["wall"]
                t["rss_mb"] = max(t["rss_mb"], m["rss_mb"])
            runs["ocrmypdf"].append(t)
            print(f"run {rep + 1}/{args.repeat}: " + ", ".join(
                f"{tool} {r[-1]['cpu'] / npages:.2f} CPU-s/page" for tool, r in runs.items()), flush=True)
        for tool, r in runs.items():     # the median run by CPU
            tot[tool] = sorted(r, key=lambda m: m["cpu"])[len(r) // 2]
    for name, ref in refs.items():
        line = f"{name:18s} {len(ref):3d} pages"
        for tool in got:
            line += f"  {tool} CER {cer((got[tool].get(name, []) + [''] * len(ref))[:len(ref)], ref) * 100:5.2f}%"
        print(line)
    all_ref = [p for r in refs.values() for p in r]
    cers = {tool: cer([p for name, r in refs.items() for p in (got[tool].get(name, []) + [""] * len(r))[:len(r)]],
                      all_ref) for tool in got}
    print(f"\nTOTAL over {npages} pages of {len(refs)} inputs "
          f"(bulletin: one run over all; ocrmypdf: one run per file; --workers {args.workers or 'default'}; "
          f"median of {args.repeat} run(s)):")
    for tool, t in tot.items():
        print(f"  {tool:9s} {t['cpu'] / npages:5.2f} CPU-s/page  {t['wall']:7.1f} s wall  "
              f"peak RSS {t['rss_mb']:5.0f} MB (largest process)  CER {cers[tool] * 100:5.2f}%")
    b, o = tot["bulletin"], tot["ocrmypdf"]
    print(f"  ratio bulletin/ocrmypdf: CPU {b['cpu'] / max(1e-9, o['cpu']):.2f}x, "
          f"wall {b['wall'] / max(1e-9, o['wall']):.2f}x, CER {cers['bulletin'] / max(1e-9, cers['ocrmypdf']):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
