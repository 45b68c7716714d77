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
import json
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
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the sample generator
import generator as generate  # noqa: E402
from pipeline.batch.runner import RunOptions, run  # noqa: E402


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


def one_config(digital_dir: Path, scan_dir: Path, opts: RunOptions) -> dict:
    """Original run (born-digital part, then scanned part) and an all-done resume,
    in this (fresh) process, so that peak memory belongs to this configuration."""
    s_d, t_d, c_d = timed([digital_dir], opts)
    assert not s_d.failed, [(r.source_path, r.error) for r in s_d.failed]
    s_s, t_s, c_s = timed([scan_dir], opts)
    assert not s_s.failed, [(r.source_path, r.error) for r in s_s.failed]
    s_r, t_r, c_r = timed([digital_dir, scan_dir], opts)
    n_inputs = len(list(digital_dir.glob("*.pdf"))) + len(list(scan_dir.glob("*.pdf")))
    assert s_r.count("unchanged") == n_inputs, s_r.to_dict()
    return {"digital_pages": s_d.pages, "digital_s": t_d, "digital_cpu": c_d,
            "scan_pages": s_s.pages, "scan_s": t_s, "scan_cpu": c_s,
            "resume_s": t_r, "resume_cpu": c_r, "inputs": n_inputs,
            "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--digital-pages", type=int, default=500)
    ap.add_argument("--scan-pages", type=int, default=40)
    ap.add_argument("--scan-dpi", type=int, default=150)
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dir", help="work folder (default: a temporary one, removed afterwards); "
                                  "inputs already there are reused")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)   # internal: run one configuration
    args = ap.parse_args(argv)

    tmp = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_batch_"))
    digital_dir, scan_dir = tmp / "in" / "digital", tmp / "in" / "scans"

    def options(workers):
        run_dir = tmp / f"run-w{workers}"
        return RunOptions(db_path=str(run_dir / "archive.db"), work_dir=str(run_dir / "work"),
                          engine=args.engine, dpi=args.scan_dpi, workers=workers)

    if args.one is not None:
        print(json.dumps(one_config(digital_dir, scan_dir, options(args.one))))
        return 0
    try:
        t = time.perf_counter()
        if not (tmp / "in" / "ready").exists():
            shutil.rmtree(tmp / "in", ignore_errors=True)
            make_digital(digital_dir, args.digital_pages)
            make_scans(scan_dir, args.scan_pages, args.scan_dpi)
            (tmp / "in" / "ready").touch()
        digital = sorted(digital_dir.glob("*.pdf"))
        scans = sorted(scan_dir.glob("*.pdf"))
        print(f"inputs: {len(digital)} born-digital bulletins and {len(scans)} scanned ones "
              f"(mild, {args.scan_dpi} dpi, engine {args.engine}) ready in {time.perf_counter() - t:.1f}s")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start", flush=True)
        rows = {}
        for workers in args.workers:
            opts = options(workers)
            shutil.rmtree(Path(opts.db_path).parent, ignore_errors=True)
            cmd = [sys.executable, __file__, "--dir", str(tmp), "--engine", args.engine,
                   "--scan-dpi", str(args.scan_dpi), "--one", str(workers)]
            cp = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT))
            assert cp.returncode == 0, cp.stderr[-2000:]
            r = rows[workers] = json.loads(cp.stdout.strip().splitlines()[-1])
            total_s = r["digital_s"] + r["scan_s"]
            print(f"\n--workers {workers} (load average now {os.getloadavg()[0]:.1f})")
            print(f"  born-digital: {r['digital_pages']} pages in {r['digital_s']:.1f}s = "
                  f"{r['digital_pages'] / r['digital_s']:.2f} pages/s  (CPU {r['digital_cpu']:.1f}s)")
            print(f"  scanned:      {r['scan_pages']} pages in {r['scan_s']:.1f}s = "
                  f"{r['scan_pages'] / r['scan_s']:.2f} pages/s  (CPU {r['scan_cpu']:.1f}s, "
                  f"{r['scan_s'] / max(1, r['scan_pages']):.2f} s/page wall)")
            print(f"  whole batch:  {r['digital_pages'] + r['scan_pages']} pages in {total_s:.1f}s = "
                  f"{(r['digital_pages'] + r['scan_pages']) / total_s:.2f} pages/s")
            print(f"  peak RSS: {r['rss_main_mb']:.0f} MB main process"
                  + (f", {r['rss_workers_mb']:.0f} MB largest worker" if workers > 1 else ""))
            print(f"  resumed run (all done), same process: {r['resume_s']:.2f}s = "
                  f"{100 * r['resume_s'] / total_s:.2f}% of the original run (target < 2%)")
            # the same resume through the command line: a new process pays its imports too
            t0 = time.perf_counter()
            cp = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(digital_dir), str(scan_dir),
                                 "--db", opts.db_path, "--work-dir", opts.work_dir, "--engine", args.engine,
                                 "--dpi", str(args.scan_dpi), "--workers", str(workers), "--quiet"],
                                capture_output=True, text=True, cwd=str(ROOT))
            t_cli = time.perf_counter() - t0
            line = (cp.stdout.strip().splitlines() or [cp.stderr.strip()[-300:]])[0]
            if f"{r['inputs']} unchanged" in cp.stdout:
                print(f"  resumed run, `bulletin run` in a new process: {t_cli:.2f}s = "
                      f"{100 * t_cli / total_s:.2f}% (interpreter start and imports included)", flush=True)
            else:   # stage versions on disk changed while the benchmark ran
                print(f"  `bulletin run` in a new process did not find everything done: {line!r} "
                      f"({t_cli:.1f}s; stage versions changed on disk?)", flush=True)
        if len(rows) > 1:
            base_w = args.workers[0]
            b = rows[base_w]
            for w in args.workers[1:]:
                r = rows[w]
                print(f"speed-up {w} vs {base_w} workers: born-digital x{b['digital_s'] / r['digital_s']:.2f}, "
                      f"scanned x{b['scan_s'] / r['scan_s']:.2f}, "
                      f"whole x{(b['digital_s'] + b['scan_s']) / (r['digital_s'] + r['scan_s']):.2f}")
    finally:
        if not args.dir:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
