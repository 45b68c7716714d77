"""Archive-scale batch benchmark: born-digital and scanned inputs, 1 and 2 workers, resume.

    python bench/bench_batch.py [--digital-pages 500] [--scan-pages 40] [--scan-dpi 150]
                                [--engine auto] [--workers 1 2] [--repeat 1] [--dir PATH]

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
import statistics
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
    """Run a batch: its summary (no input may fail), wall seconds, CPU seconds."""
    r0 = usage()
    t0 = time.perf_counter()
    summary = run([str(p) for p in paths], opts)
    assert not summary.failed, [(r.source_path, r.error) for r in summary.failed]
    return summary, time.perf_counter() - t0, cpu_since(r0)


def one_config(digital_dir: Path, scan_dir: Path, opts: RunOptions) -> dict:
    """Original run (born-digital part, then scanned part) and an all-done resume,
    in this (fresh) process, so that peak memory belongs to this configuration."""
    s_d, t_d, c_d = timed([digital_dir], opts)
    s_s, t_s, c_s = timed([scan_dir], opts)
    s_r, t_r, c_r = timed([digital_dir, scan_dir], opts)
    n_inputs = len(list(digital_dir.glob("*.pdf"))) + len(list(scan_dir.glob("*.pdf")))
    assert s_r.count("unchanged") == n_inputs, s_r.to_dict()
    return {"digital_pages": s_d.pages, "digital_s": t_d, "digital_cpu": c_d,
            "scan_pages": s_s.pages, "scan_s": t_s, "scan_cpu": c_s,
            "resume_s": t_r, "resume_cpu": c_r, "inputs": n_inputs,
            "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def _steal() -> float:
    """CPU seconds the hypervisor gave to other guests so far (the ``steal``
    column of /proc/stat): on a shared VM, runs that lost more are slower."""
    try:
        with open("/proc/stat") as f:
            return int(f.readline().split()[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _spread(values: list[float]) -> str:
    values = sorted(values)
    return f"x{statistics.median(values):.2f}" + (f" ({values[0]:.2f}-{values[-1]:.2f})" if len(values) > 1 else "")


def _self_cmd(args, tmp: Path, workers: int, *extra: str) -> list[str]:
    """This script run in a fresh process for one configuration (``--one``)."""
    return [sys.executable, __file__, "--dir", str(tmp), "--engine", args.engine,
            "--scan-dpi", str(args.scan_dpi), "--one", str(workers), *extra]


def run_config(args, tmp: Path, workers: int, opts: RunOptions, digital_dir: Path, scan_dir: Path,
               rnd) -> dict:
    """One configuration in a fresh process, its figures printed."""
    shutil.rmtree(Path(opts.db_path).parent, ignore_errors=True)
    st = _steal()
    cp = subprocess.run(_self_cmd(args, tmp, workers), capture_output=True, text=True, cwd=str(ROOT))
    assert cp.returncode == 0, cp.stderr[-2000:]
    r = json.loads(cp.stdout.strip().splitlines()[-1])
    total_s = r["digital_s"] + r["scan_s"]
    print(f"\n--workers {workers}" + (f", round {rnd + 1}" if rnd is not None else "")
          + f" (load average now {os.getloadavg()[0]:.1f}; {_steal() - st:.1f} CPU-s stolen by other guests)")
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
    return r


def ceiling(args, tmp: Path) -> str:
    """The speed-up two processes reach on this machine with nothing shared:
    each part of the batch run by one worker alone, then by two independent
    copies at once (separate archives). On a shared VM two busy vCPUs can
    each run slower than one (a host core's other hyperthread, memory
    bandwidth), and ``--workers 2`` cannot beat this figure."""
    def cmd(part, tag):
        return _self_cmd(args, tmp, 1, "--part", part, "--tag", tag)

    def result(proc) -> dict:
        out, err = proc.communicate()
        assert proc.returncode == 0, err[-2000:]
        return json.loads(out.strip().splitlines()[-1])

    out = []
    for part, name in (("digital", "born-digital"), ("scan", "scanned")):
        alone = result(subprocess.Popen(cmd(part, "alone"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, cwd=str(ROOT)))
        pair = [subprocess.Popen(cmd(part, t), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 cwd=str(ROOT)) for t in ("a", "b")]
        both = [result(p) for p in pair]
        slowest = max(b["s"] for b in both)
        out.append(f"{name} x{2 * alone['s'] / slowest:.2f} (alone {alone['s']:.1f}s, CPU {alone['cpu']:.1f}s; "
                   f"two at once {slowest:.1f}s, CPU {sum(b['cpu'] for b in both) / 2:.1f}s each)")
    return "ceiling, two independent 1-worker runs at once against one alone: " + "; ".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--digital-pages", type=int, default=500)
    ap.add_argument("--scan-pages", type=int, default=40)
    ap.add_argument("--scan-dpi", type=int, default=150)
    ap.add_argument("--engine", default="auto")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds, each running every worker count in turn: on a shared machine the "
                         "speed-up is given as the median of the rounds' ratios")
    ap.add_argument("--dir", help="work folder (default: a temporary one, removed afterwards); "
                                  "inputs already there are reused")
    ap.add_argument("--ceiling", action="store_true",
                    help="also run two independent one-worker copies of each part at once, against one "
                         "alone: the speed-up two processes can reach on this machine at all")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)   # internal: run one configuration
    ap.add_argument("--part", choices=["digital", "scan"], help=argparse.SUPPRESS)
    ap.add_argument("--tag", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    tmp = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench_batch_"))
    digital_dir, scan_dir = tmp / "in" / "digital", tmp / "in" / "scans"

    def options(workers, tag=""):
        run_dir = tmp / f"run-w{workers}{tag}"
        return RunOptions(db_path=str(run_dir / "archive.db"), work_dir=str(run_dir / "work"),
                          engine=args.engine, dpi=args.scan_dpi, workers=workers)

    if args.one is not None:
        if args.part:       # one part of the batch, one worker, into its own archive
            opts = options(args.one, f"-{args.part}-{args.tag}")
            shutil.rmtree(Path(opts.db_path).parent, ignore_errors=True)
            _summary, secs, cpu = timed([digital_dir if args.part == "digital" else scan_dir], opts)
            print(json.dumps({"s": secs, "cpu": cpu}))
        else:
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
        rows: dict[int, list[dict]] = {w: [] for w in args.workers}
        for rnd in range(args.repeat):
            for workers in args.workers:
                rows[workers].append(run_config(args, tmp, workers, options(workers), digital_dir, scan_dir,
                                                rnd if args.repeat > 1 else None))
        base_w = args.workers[0]
        for w in args.workers[1:]:
            ratios = {part: sorted(b[f"{part}_s"] / r[f"{part}_s"] for b, r in zip(rows[base_w], rows[w]))
                      for part in ("digital", "scan")}
            whole = sorted((b["digital_s"] + b["scan_s"]) / (r["digital_s"] + r["scan_s"])
                           for b, r in zip(rows[base_w], rows[w]))
            print(f"speed-up {w} vs {base_w} workers" + (" (median of the rounds; range)" if args.repeat > 1 else "")
                  + ": " + ", ".join(f"{name} {_spread(v)}" for name, v in
                                     (("born-digital", ratios["digital"]), ("scanned", ratios["scan"]),
                                      ("whole", whole))))
        if args.ceiling:
            for _ in range(args.repeat):
                print(ceiling(args, tmp))
    finally:
        if not args.dir:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
