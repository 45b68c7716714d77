"""Born-digital throughput benchmark: pages per second and peak memory, one worker.

    python bench/bench_pipeline.py [--pages 200] [--workers 1] [--dir PATH] [--profile]

Generates a batch of born-digital bulletins (the sample issues with varied
ids, dates and issue numbers, so every file has its own content hash) of at
least ``--pages`` pages, runs the whole pipeline (ingest → text → layout →
segment → extract → load) into a fresh archive and prints:

* wall time and pages/s for the whole run, and the steady rate after the
  first document (which carries one-time costs: imports, the search
  normalisation table);
* peak resident memory of this process (and of worker processes) from
  ``resource.getrusage``;
* with ``--profile``, the top functions by cumulative time (serial only).

Target: >= 5 pages/s on one worker.
"""
from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime as dt
import io
import os
import pstats
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the sample generator
import generator as generate  # noqa: E402
from pipeline.batch.runner import RunOptions, run  # noqa: E402


def variant(spec, k: int):
    """The k-th variant of a sample spec: same typography, different printed content."""
    if k == 0:
        return spec
    date = (dt.date.fromisoformat(spec.date) + dt.timedelta(days=k)).isoformat()
    return dataclasses.replace(spec, id=f"{spec.id}v{k}", date=date,
                               issue_no=None if spec.issue_no is None else spec.issue_no + k,
                               total_no=None if spec.total_no is None else spec.total_no + k)


def make_digital(out: Path, min_pages: int) -> tuple[list[Path], int]:
    """Born-digital PDFs totalling at least ``min_pages`` pages."""
    out.mkdir(parents=True, exist_ok=True)
    specs = generate.sample_specs()
    paths, pages, k = [], 0, 0
    while pages < min_pages:
        spec = variant(specs[k % len(specs)], k // len(specs))
        path = out / f"{k + 1:04d}-{spec.id}.pdf"
        truth = generate.render_pdf(spec, path)
        pages += len(truth["pages"])
        paths.append(path)
        k += 1
    return paths, pages


def peak_mb() -> tuple[float, float]:
    """Peak RSS (MB) of this process and of its largest waited-for child."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def timed_run(inputs, opts: RunOptions, profile: bool = False):
    first_done = {}

    def progress(event, d):
        if event == "file" and "t" not in first_done:
            first_done["t"], first_done["pages"] = time.perf_counter(), d["pages_done"]

    prof = cProfile.Profile() if profile else None
    r0 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    summary = run([str(p) for p in inputs], opts, progress=progress)
    if prof:
        prof.disable()
    seconds = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = sum((b.ru_utime + b.ru_stime) - (a.ru_utime + a.ru_stime) for a, b in zip(r0, r1))
    steady = None
    if "t" in first_done and summary.pages > first_done["pages"]:
        steady = (summary.pages - first_done["pages"]) / (t0 + seconds - first_done["t"])
    return summary, seconds, steady, prof, cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--dir", help="work folder (default: a temporary one, removed afterwards)")
    ap.add_argument("--profile", action="store_true", help="print the top functions by cumulative time")
    args = ap.parse_args(argv)

    tmp = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    try:
        t = time.perf_counter()
        inputs, n_pages = make_digital(tmp / "in", args.pages)
        print(f"generated {len(inputs)} born-digital bulletins, {n_pages} pages "
              f"in {time.perf_counter() - t:.1f}s")
        for d in ("archive.db", "archive.db-wal", "archive.db-shm", "work"):
            p = tmp / d
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        opts = RunOptions(db_path=str(tmp / "archive.db"), work_dir=str(tmp / "work"), workers=args.workers)
        summary, seconds, steady, prof, cpu = timed_run(inputs, opts, args.profile and args.workers == 1)
        assert summary.count("loaded") == len(inputs), [r.error for r in summary.failed]
        self_mb, child_mb = peak_mb()
        print(f"workers: {args.workers}")
        print(f"pages: {summary.pages}  documents: {len(inputs)}  wall: {seconds:.1f}s")
        print(f"throughput: {summary.pages / seconds:.2f} pages/s overall"
              + (f", {steady:.2f} pages/s after the first document" if steady else ""))
        print(f"CPU time: {cpu:.1f}s -> {summary.pages / cpu:.2f} pages per CPU-second"
              f" (machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
        print(f"peak RSS: {self_mb:.0f} MB (main process)"
              + (f", {child_mb:.0f} MB (largest worker)" if args.workers > 1 else ""))
        print(f"target >= 5 pages/s: {'met' if summary.pages / seconds >= 5 else 'NOT met'}")
        if prof:
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(35)
            print(s.getvalue())
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(20)
            print(s.getvalue())
    finally:
        if not args.dir:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
