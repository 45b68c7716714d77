"""Archive-scale batch benchmark: born-digital and scanned inputs, 1 and 2 workers, resume.

    python bench/bench_batch.py [--digital-pages 500] [--scan-pages 40] [--scan-dpi 150]
                                [--engine auto] [--workers 1 2] [--dir PATH]

Generates at least ``--digital-pages`` pages of born-digital bulletins and at
least ``--scan-pages`` pages of mild scans (image-only PDFs, ``--scan-dpi``),
then for each worker count runs the batch into a fresh archive and prints:

* throughput (pages/s) for the born-digital part, the scanned part and both;
* CPU time (this process + its workers) and the machine's load average, since
  wall-clock figures on a shared machine depend on what else runs;
* peak resident memory of the main process and of the largest worker
  (``resource.getrusage``);
* a resumed run: the same command again over the finished archive, and the
  time it spends skipping finished work as a fraction of the original run
  (target < 2%).

Workers are processes (``--workers N`` → executors.LocalExecutor): born-digital
documents are processed whole in them, scanned documents page by page.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_pipeline import make_digital, variant  # noqa: E402
from pipeline import generate  # noqa: E402
from pipeline.run import RunOptions, run  # noqa: E402


def make_scans(out: Path, min_pages: int, dpi: int) -> tuple[list[Path], int]:
    """Mild scans (image-only PDFs) of sample variants not used for the born-digital part."""
    out.mkdir(parents=True, exist_ok=True)
    specs = generate.sample_specs()
    paths, pages, k = [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        while pages < min_pages:
            spec = variant(specs[k % len(specs)], 200 + k // len(specs))   # distinct from the digital ones
            pdf = Path(tmp) / f"{spec.id}.pdf"
            truth = generate.render_pdf(spec, pdf)
            n = min(len(truth["pages"]), min_pages - pages)
            path = out / f"{k + 1:03d}-{spec.id}-mild.pdf"
            generate.render_scans(pdf, path, "pdf", "mild", dpi=dpi, pages=list(range(1, n + 1)), seed=k)
            pages += n
            paths.append(path)
            k += 1
    return paths, pages


def usage():
    return resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)


def cpu_since(r0) -> float:
    r1 = usage()
    return sum((b.ru_utime + b.ru_stime) - (a.ru_utime + a.ru_stime) for a, b in zip(r0, r1))


def timed(paths, opts: RunOptions):
    r0 = usage()
    t0 = time.perf_counter()
    summary = run([str(p) for p in paths], opts)
    return summary, time.perf_counter() - t0, cpu_since(r0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--digital-pages", type=int, default=500)
    ap.add_argument("--scan-pages", type=int, default=40)
    ap.add_argument("--scan-dpi", type=int, default=150)
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dir", help="work folder (default: a temporary one, removed afterwards)")
    args = ap.parse_args(argv)

    tmp = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_batch_"))
    try:
        t = time.perf_counter()
        digital_dir, scan_dir = tmp / "in" / "digital", tmp / "in" / "scans"
        if not (digital_dir.exists() and scan_dir.exists()):
            shutil.rmtree(tmp / "in", ignore_errors=True)
            make_digital(digital_dir, args.digital_pages)
            make_scans(scan_dir, args.scan_pages, args.scan_dpi)
        digital = sorted(digital_dir.glob("*.pdf"))
        scans = sorted(scan_dir.glob("*.pdf"))
        print(f"inputs: {len(digital)} born-digital bulletins and {len(scans)} scanned ones "
              f"(mild, {args.scan_dpi} dpi, engine {args.engine}) ready in {time.perf_counter() - t:.1f}s")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
        rows = []
        for workers in args.workers:
            run_dir = tmp / f"run-w{workers}"
            shutil.rmtree(run_dir, ignore_errors=True)
            opts = RunOptions(db_path=str(run_dir / "archive.db"), work_dir=str(run_dir / "work"),
                              engine=args.engine, dpi=args.scan_dpi, workers=workers)
            s_d, t_d, c_d = timed([digital_dir], opts)
            s_s, t_s, c_s = timed([scan_dir], opts)
            for s in (s_d, s_s):
                assert not s.failed, [(r.source_path, r.error) for r in s.failed]
            s_r, t_r, c_r = timed([digital_dir, scan_dir], opts)   # the resumed run: all done
            assert s_r.count("unchanged") == len(digital) + len(scans), s_r.to_dict()
            # the same resume through the command line: a new process pays its imports too
            t0 = time.perf_counter()
            cp = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(digital_dir), str(scan_dir),
                                 "--db", opts.db_path, "--work-dir", opts.work_dir, "--engine", args.engine,
                                 "--dpi", str(args.scan_dpi), "--workers", str(workers), "--quiet"],
                                capture_output=True, text=True, cwd=str(ROOT))
            t_cli = time.perf_counter() - t0
            assert cp.returncode == 0 and f"{len(digital) + len(scans)} unchanged" in cp.stdout, cp.stdout + cp.stderr
            rows.append((workers, s_d.pages, t_d, c_d, s_s.pages, t_s, c_s, t_r, c_r))
            total_t = t_d + t_s
            print(f"\n--workers {workers} (load average now {os.getloadavg()[0]:.1f})")
            print(f"  born-digital: {s_d.pages} pages in {t_d:.1f}s = {s_d.pages / t_d:.2f} pages/s"
                  f"  (CPU {c_d:.1f}s main + finished workers)")
            print(f"  scanned:      {s_s.pages} pages in {t_s:.1f}s = {s_s.pages / t_s:.2f} pages/s"
                  f"  (CPU {c_s:.1f}s, {t_s / max(1, s_s.pages):.2f} s/page wall)")
            print(f"  whole batch:  {s_d.pages + s_s.pages} pages in {total_t:.1f}s = "
                  f"{(s_d.pages + s_s.pages) / total_t:.2f} pages/s")
            print(f"  resumed run (all done): {t_r:.2f}s = {100 * t_r / total_t:.2f}% of the original run "
                  f"(target < 2%)")
            print(f"  resumed run via `bulletin run` in a new process: {t_cli:.2f}s = "
                  f"{100 * t_cli / total_t:.2f}% (interpreter start and imports included)")
        self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"\npeak RSS: {self_mb:.0f} MB main process, {child_mb:.0f} MB largest worker")
        if len(rows) > 1:
            base = rows[0]
            for r in rows[1:]:
                print(f"speed-up {r[0]} vs {base[0]} workers: born-digital x{base[2] / r[2]:.2f}, "
                      f"scanned x{base[5] / r[5]:.2f}, whole x{(base[2] + base[5]) / (r[2] + r[5]):.2f}")
    finally:
        if not args.dir:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
